use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

fn today() -> chrono::NaiveDate {
    livecredit::domain::registry::today_cst(chrono::Utc::now())
}

async fn violations_are_recorded_read_and_revoked_never_edited(app: TestApp) {
    let (reg_id, reg) = app.user_with_role("regulator").await;
    let subject = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "孙八"}))
        .await;
    let evidence = json!([{"sha256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "media_type": "video/mp4", "description": "直播回放", "uri": "https://evidence.example.cn/1.mp4"}]);
    let r = app
        .post(
            &format!("/v1/subjects/{subject}/violations"),
            &reg,
            json!({"category": "price_fraud", "severity": "serious", "decided_on": "2026-03-01",
                "description": "虚构原价", "decision_no": "杭市监处罚〔2026〕12号", "fine_cents": 5_000_000,
                "legal_basis": "《价格法》第十四条", "evidence": evidence}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let v = r.body.clone();
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["status"], "effective");
    assert_eq!(v["recorded_by"], reg_id.as_str());
    assert!(v["authority"]["name"]
        .as_str()
        .unwrap()
        .starts_with("regulator org"));
    assert!(v["recorded_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        v["evidence"][0]["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(v["fine_cents"], 5_000_000);
    assert_eq!(v["history"].as_array().unwrap().len(), 1);

    // decided_on defaults to today (CST) and may not be in the future.
    let todays = app
        .post(
            &format!("/v1/subjects/{subject}/violations"),
            &reg,
            json!({"category": "other", "severity": "minor", "description": "d"}),
        )
        .await;
    assert_eq!(todays.body["decided_on"], today().to_string());
    let tomorrow = today().succ_opt().unwrap().to_string();
    let future = app.post(&format!("/v1/subjects/{subject}/violations"), &reg, json!({"category": "other", "severity": "minor", "description": "d", "decided_on": tomorrow})).await;
    assert_invalid_field(&future, "decided_on");
    let post = |body: serde_json::Value| {
        app.post(format!("/v1/subjects/{subject}/violations"), &reg, body)
    };
    assert_invalid_field(
        &post(json!({"category": "lying", "severity": "minor", "description": "d"})).await,
        "category",
    );
    assert_invalid_field(
        &post(json!({"category": "other", "severity": "mild", "description": "d"})).await,
        "severity",
    );
    assert_invalid_field(
        &post(json!({"category": "other", "severity": "minor", "description": " "})).await,
        "description",
    );
    assert_invalid_field(
        &post(
            json!({"category": "other", "severity": "minor", "description": "d", "fine_cents": -1}),
        )
        .await,
        "fine_cents",
    );
    assert_invalid_field(&post(json!({"category": "other", "severity": "minor", "description": "d", "decided_on": "2026-02-30"})).await, "decided_on");
    assert_invalid_field(
        &post(json!({"category": "other", "severity": "minor", "description": "d", "evidence": [{"sha256": "x", "media_type": "video/mp4"}]})).await,
        "evidence[0].sha256",
    );
    assert_problem(
        &app.post(
            "/v1/subjects/nope/violations",
            &reg,
            json!({"category": "other", "severity": "minor", "description": "d"}),
        )
        .await,
        404,
    );

    let list = app
        .get(
            &format!("/v1/subjects/{subject}/violations"),
            &app.admin_token,
        )
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);

    // Revocation is the only change; it keeps the record readable with its history.
    let early = app
        .post(
            &format!("/v1/violations/{id}/revoke"),
            &reg,
            json!({"reason": "复议撤销", "revoked_on": "2026-02-01"}),
        )
        .await;
    assert_invalid_field(&early, "revoked_on");
    assert_invalid_field(
        &app.post(
            &format!("/v1/violations/{id}/revoke"),
            &reg,
            json!({"reason": ""}),
        )
        .await,
        "reason",
    );
    let revoked = app
        .post(
            &format!("/v1/violations/{id}/revoke"),
            &reg,
            json!({"reason": "复议撤销", "revoked_on": "2026-04-01"}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body["status"], "revoked");
    assert_eq!(revoked.body["revoked_on"], "2026-04-01");
    let history = revoked.body["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["action"], "revoked");
    assert_eq!(history[1]["reason"], "复议撤销");
    assert_problem(
        &app.post(
            &format!("/v1/violations/{id}/revoke"),
            &reg,
            json!({"reason": "again"}),
        )
        .await,
        409,
    );
    let read = app
        .get(&format!("/v1/violations/{id}"), &app.admin_token)
        .await;
    assert_eq!(read.body["status"], "revoked");
    assert_eq!(read.body["description"], "虚构原价");
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        let r = app
            .call(
                method.clone(),
                &format!("/v1/violations/{id}"),
                Some(&reg),
                Some(json!({"description": "edited"})),
            )
            .await;
        // Never edited: the path takes GET only (405 with Allow since issue 14; a 404 before).
        assert_problem(&r, 405);
        assert_eq!(r.headers["allow"], "GET");
    }
    assert_eq!(
        app.get(&format!("/v1/violations/{id}"), &reg).await.body["description"],
        "虚构原价"
    );
}
both_backends!(
    violations_are_recorded_read_and_revoked_never_edited,
    violations_are_recorded_read_and_revoked_never_edited
);

async fn idempotency_keys_replay_the_first_response(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let send = |key: &'static str, name: &'static str| {
        app.client
            .post(app.url("/v1/subjects"))
            .bearer_auth(&reg)
            .header("Idempotency-Key", key)
            .json(&json!({"kind": "anchor", "name": name}))
            .send()
    };
    let first = send("key-1", "周九").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = send("key-1", "周九").await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again, first);
    // Same key, other body: 409. Same body, other key: a new record.
    assert_eq!(send("key-1", "吴十").await.unwrap().status(), 409);
    let other: serde_json::Value = send("key-2", "周九").await.unwrap().json().await.unwrap();
    assert_ne!(other["id"], first["id"]);
    // Key order and spacing do not make another body.
    let reordered = app
        .client
        .post(app.url("/v1/subjects"))
        .bearer_auth(&reg)
        .header("Idempotency-Key", "key-1")
        .header("content-type", "application/json")
        .body(r#"{ "name": "周九",  "kind": "anchor" }"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reordered.status(), 201);

    // Keys are per user: another regulator's key-1 is theirs.
    let (_, reg2) = app.user_with_role("regulator").await;
    let theirs = app
        .client
        .post(app.url("/v1/subjects"))
        .bearer_auth(&reg2)
        .header("Idempotency-Key", "key-1")
        .json(&json!({"kind": "anchor", "name": "吴十"}))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 201);

    // Concurrent requests with one key make one record.
    let racers = (0..8).map(|_| send("race", "郑十一"));
    let replies = futures_util::future::join_all(racers).await;
    let mut ids = Vec::new();
    for reply in replies {
        let reply = reply.unwrap();
        assert_eq!(reply.status(), 201);
        let body: serde_json::Value = reply.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one record for one key: {ids:?}");
    let named = app
        .get(
            &format!("/v1/subjects?q={}", crate::subjects::urlencoding("郑十一")),
            &reg,
        )
        .await;
    assert_eq!(named.body["items"].as_array().unwrap().len(), 1);
}
both_backends!(
    idempotency_keys_replay_the_first_response,
    idempotency_keys_replay_the_first_response
);

both_backends!(
    a_penalty_decision_is_recorded_once,
    a_penalty_decision_is_recorded_once_impl
);

/// One penalty is one violation: the same penalty for the same subject
/// again (same bureau, decision number, date and category: a form sent
/// twice, a colleague entering the same paper) is a 409 naming the
/// violation on record, and it does not count twice in the score; another
/// act punished by the same decision is recorded; once the first is revoked,
/// it may be recorded anew.
async fn a_penalty_decision_is_recorded_once_impl(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let subject = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "周重复"}))
        .await;
    let body = json!({"category": "false_advertising", "severity": "serious",
        "decided_on": "2026-11-20", "description": "夸大宣传",
        "decision_no": "西湖市监罚〔2026〕102号"});
    let first = app.record_violation(&reg, &subject, body.clone()).await;
    let score = app.get(format!("/v1/subjects/{subject}"), &reg).await.body["score"].clone();

    let again = app
        .post(
            format!("/v1/subjects/{subject}/violations"),
            &reg,
            body.clone(),
        )
        .await;
    assert_problem(&again, 409);
    assert_eq!(again.body["violation_id"], first.as_str());
    assert_eq!(
        app.get(format!("/v1/subjects/{subject}"), &reg).await.body["score"],
        score
    );
    // Another act punished by the same decision is a violation of its own.
    let mut other_act = body.clone();
    other_act["category"] = json!("price_fraud");
    app.record_violation(&reg, &subject, other_act).await;
    // Another subject may carry the same number (one decision, two parties).
    let other = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "吴同案"}))
        .await;
    app.record_violation(&reg, &other, body.clone()).await;

    let revoked = app
        .post(
            format!("/v1/violations/{first}/revoke"),
            &reg,
            json!({"reason": "录入重复"}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    app.record_violation(&reg, &subject, body).await;
}
