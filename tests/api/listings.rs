use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn today() -> chrono::NaiveDate {
    livecredit::domain::registry::today_cst(chrono::Utc::now())
}

/// A subject with one violation that carries a listing (an aggravated fine
/// for false advertising, Order 44 art. 9 item 5) decided on `decided_on`;
/// returns (subject, violation).
async fn subject_with_violation(
    app: &TestApp,
    reg: &str,
    name: &str,
    decided_on: &str,
) -> (String, String) {
    let subject = app
        .create_subject(reg, json!({"kind": "anchor", "name": name}))
        .await;
    let violation = app
        .record_violation(
            reg,
            &subject,
            json!({"category": "false_advertising", "severity": "serious",
            "decided_on": decided_on, "description": "虚假宣传",
            "penalty_kinds": ["fine_aggravated"], "listing_ground": "art9.5"}),
        )
        .await;
    (subject, violation)
}

async fn propose(app: &TestApp, reg: &str, subject: &str, violations: &[&str]) -> Value {
    let r = app
        .post("/v1/listings", reg, json!({"subject_id": subject, "violation_ids": violations,
            "reason": "多次虚假宣传", "legal_basis": "《市场监督管理严重违法失信名单管理办法》第二条"}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["status"], "proposed");
    r.body
}

fn actions(listing: &Value) -> Vec<String> {
    listing["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_procedure_runs_notice_objection_decision_and_expiry(app: TestApp) {
    let ((a_id, a), (b_id, b)) = app.two_officials().await;
    let (subject, violation) = subject_with_violation(&app, &a, "韩十六", "2023-01-05").await;
    let listing = propose(&app, &a, &subject, &[&violation]).await;
    let id = listing["id"].as_str().unwrap().to_owned();
    assert_eq!(listing["proposed_by"], a_id.as_str());
    assert_eq!(listing["violation_ids"], json!([violation]));

    // Not yet noticed: no decision, no objection, with the allowed steps named.
    let early = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r"}),
        )
        .await;
    assert_problem(&early, 409);
    assert_eq!(early.body["current_status"], "proposed");
    assert_eq!(early.body["allowed_actions"], json!(["notice", "revoke"]));
    assert!(early.body["detail"]
        .as_str()
        .unwrap()
        .contains("allowed: notice, revoke"));

    // Served before the basis decision: refused, naming the field.
    let before = app
        .post(
            format!("/v1/listings/{id}/notice"),
            &a,
            json!({"served_on": "2023-01-04"}),
        )
        .await;
    assert_invalid_field(&before, "served_on");
    // Served on a Friday (2023 is outside the built-in calendar: weekends only).
    let noticed = app
        .post(
            format!("/v1/listings/{id}/notice"),
            &a,
            json!({"served_on": "2023-01-06"}),
        )
        .await;
    assert_eq!(noticed.status, 200, "{:?}", noticed.body);
    assert_eq!(noticed.body["status"], "noticed");
    assert_eq!(noticed.body["objection_deadline"], "2023-01-13");
    assert_eq!(noticed.body["noticed_by"], a_id.as_str());

    let on_deadline = app
        .post(format!("/v1/listings/{id}/objections"), &a, json!({"statement": "我方已整改", "received_on": "2023-01-13", "hearing_requested": true}))
        .await;
    assert_eq!(on_deadline.status, 201, "{:?}", on_deadline.body);
    assert_eq!(on_deadline.body["hearing_requested"], true);
    assert!(on_deadline.body["id"].is_string());
    let late = app
        .post(
            format!("/v1/listings/{id}/objections"),
            &a,
            json!({"statement": "迟到", "received_on": "2023-01-16"}),
        )
        .await;
    assert_problem(&late, 409);

    // The hearing asked for stops the decision until it is held.
    let waiting = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": "2023-01-16"}),
        )
        .await;
    assert_problem(&waiting, 409);
    assert_eq!(waiting.body["hearing_pending"], true);
    let held = app
        .post(
            format!("/v1/listings/{id}/hearing"),
            &b,
            json!({"held_on": "2023-01-16", "summary": "当事人到场陈述"}),
        )
        .await;
    assert_eq!(held.status, 200, "{:?}", held.body);
    assert_eq!(held.body["hearing_status"], "held");

    // Two officials: the proposer may not decide.
    let own = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &a,
            json!({"outcome": "list", "reason": "r", "decided_on": "2023-01-16"}),
        )
        .await;
    assert_problem(&own, 403);
    let inside = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": "2023-01-13"}),
        )
        .await;
    assert_problem(&inside, 409);
    let decided = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "异议不成立", "decided_on": "2023-01-16"}),
        )
        .await;
    assert_eq!(decided.status, 200, "{:?}", decided.body);
    assert_eq!(decided.body["listed_on"], "2023-01-16");
    assert_eq!(decided.body["expires_on"], "2026-01-16");
    assert_eq!(decided.body["decided_by"], b_id.as_str());
    assert_eq!(decided.body["decision_reason"], "异议不成立");
    // Three years are over: expired in the decision's own answer already,
    // and the expiry is recorded with it, by the system, dated the day after
    // the last day in force (民法典 art. 201–202: the period ends on the anniversary).
    assert_eq!(decided.body["status"], "expired");
    assert_eq!(
        actions(&decided.body),
        [
            "propose",
            "notice",
            "objection",
            "hearing",
            "decision",
            "expire"
        ]
    );
    let expiry = &decided.body["history"][5];
    assert!(expiry["actor_user_id"].is_null());
    assert_eq!(expiry["effective_on"], "2026-01-17");
    let h = &decided.body["history"][4];
    assert_eq!(
        (h["from_status"].as_str(), h["to_status"].as_str()),
        (Some("noticed"), Some("listed"))
    );
    assert_eq!(h["effective_on"], "2023-01-16");
    assert_eq!(decided.body["objections"][0]["statement"], "我方已整改");

    let expired = app
        .get(
            format!("/v1/listings?status=expired&subject_id={subject}"),
            &a,
        )
        .await;
    assert_eq!(expired.body["items"].as_array().unwrap().len(), 1);
    assert!(app
        .get(
            format!("/v1/listings?status=listed&subject_id={subject}"),
            &a
        )
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // An expired listing takes no more steps.
    assert_problem(
        &app.post(
            format!("/v1/listings/{id}/revoke"),
            &a,
            json!({"reason": "x"}),
        )
        .await,
        409,
    );

    // The background job finds nothing more to record.
    let db = app.db();
    livecredit::jobs::run_once(&db).await.unwrap();
    let after = app.get(format!("/v1/listings/{id}"), &a).await;
    assert_eq!(
        actions(&after.body),
        [
            "propose",
            "notice",
            "objection",
            "hearing",
            "decision",
            "expire"
        ]
    );
    assert_eq!(after.body["status"], "expired");
    let audit = app
        .get(format!("/v1/audit?target_id={id}"), &app.admin_token)
        .await;
    let audited: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        audited,
        [
            "listing.propose",
            "listing.notice",
            "listing.objection",
            "listing.hearing",
            "listing.decision",
            "listing.expire"
        ]
    );
}
both_backends!(
    the_procedure_runs_notice_objection_decision_and_expiry,
    the_procedure_runs_notice_objection_decision_and_expiry
);

async fn a_friday_notice_keeps_the_window_open_over_the_weekend(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (subject, violation) = subject_with_violation(&app, &a, "杨十七", "2026-11-20").await;
    let id = propose(&app, &a, &subject, &[&violation]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let noticed = app
        .post(
            format!("/v1/listings/{id}/notice"),
            &a,
            json!({"served_on": "2026-11-27"}),
        )
        .await;
    assert_eq!(
        noticed.body["objection_deadline"], "2026-12-04",
        "{:?}",
        noticed.body
    );
    // Before the window closes, no decision can be taken.
    if today() <= chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap() {
        let r = app
            .post(
                format!("/v1/listings/{id}/decision"),
                &b,
                json!({"outcome": "list", "reason": "r"}),
            )
            .await;
        assert_problem(&r, 409);
    }
    let future = app
        .post(
            format!("/v1/listings/{id}/objections"),
            &a,
            json!({"statement": "s", "received_on": today().succ_opt().unwrap()}),
        )
        .await;
    assert_invalid_field(&future, "received_on");

    // A notice across the National Day holidays (built-in 2026 calendar).
    let (subject, violation) = subject_with_violation(&app, &a, "朱十八", "2026-09-01").await;
    let id = propose(&app, &a, &subject, &[&violation]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let noticed = app
        .post(
            format!("/v1/listings/{id}/notice"),
            &a,
            json!({"served_on": "2026-09-24"}),
        )
        .await;
    assert_eq!(noticed.body["objection_deadline"], "2026-10-09");
    let r = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "not_list", "reason": "证据不足", "decided_on": "2026-10-12"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "not_listed");
    assert!(r.body["listed_on"].is_null());
}
both_backends!(
    a_friday_notice_keeps_the_window_open_over_the_weekend,
    a_friday_notice_keeps_the_window_open_over_the_weekend
);

async fn credit_repair_after_a_year_and_reinstatement_restart_the_period(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (subject, violation) = subject_with_violation(&app, &a, "秦十九", "2024-06-03").await;
    let id = propose(&app, &a, &subject, &[&violation]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        format!("/v1/listings/{id}/notice"),
        &a,
        json!({"served_on": "2024-06-03"}),
    )
    .await;
    let listed = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": "2024-06-11"}),
        )
        .await;
    assert_eq!(listed.body["status"], "listed", "{:?}", listed.body);
    assert_eq!(listed.body["expires_on"], "2027-06-11");

    let wrong_state = app
        .post(
            format!("/v1/listings/{id}/reinstate"),
            &a,
            json!({"reason": "r"}),
        )
        .await;
    assert_problem(&wrong_state, 409);
    assert_eq!(wrong_state.body["current_status"], "listed");
    let apply = |applied_on: &str| {
        json!({"statement": "已缴纳罚款并赔偿消费者", "applied_on": applied_on,
            "commitment": {"text": "本人承诺诚信经营", "signed_on": "2025-06-10"},
            "penalty_fulfilled": true, "harm_removed": true,
            "evidence": [{"sha256": "a".repeat(64), "media_type": "application/pdf"}]})
    };
    let too_early = app
        .post(
            format!("/v1/listings/{id}/repairs"),
            &a,
            apply("2025-06-11"),
        )
        .await;
    assert_problem(&too_early, 409);
    assert_eq!(too_early.body["too_early"]["earliest"], "2025-06-12");
    let applied = app
        .post(
            format!("/v1/listings/{id}/repairs"),
            &a,
            apply("2025-06-12"),
        )
        .await;
    assert_eq!(applied.status, 201, "{:?}", applied.body);
    assert_eq!(applied.body["status"], "submitted");
    assert_eq!(applied.body["channel"], "in_person");
    assert_eq!(applied.body["evidence"][0]["media_type"], "application/pdf");
    let repair = applied.body["id"].as_str().unwrap().to_owned();
    let again = app
        .post(
            format!("/v1/listings/{id}/repairs"),
            &a,
            apply("2025-06-13"),
        )
        .await;
    assert_problem(&again, 409);
    assert!(again.body.get("repair_open").is_some(), "{:?}", again.body);

    let accepted = app
        .post(
            format!("/v1/repairs/{repair}/acceptance"),
            &b,
            json!({"outcome": "accept", "accepted_on": "2025-06-13"}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);
    let (_, head) = app.head_of(&a).await;
    let approved = app
        .post(
            format!("/v1/repairs/{repair}/decision"),
            &head,
            json!({"outcome": "approve", "reason": "整改到位", "decided_on": "2025-07-01"}),
        )
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    let listing = app.get(format!("/v1/listings/{id}"), &a).await.body;
    assert_eq!(listing["status"], "removed");
    assert_eq!(listing["removal_reason"], "credit_repair");
    assert_eq!(listing["removed_on"], "2025-07-01");
    assert_eq!(listing["repairs"][0]["status"], "approved");
    assert_problem(
        &app.post(
            format!("/v1/repairs/{repair}/decision"),
            &head,
            json!({"outcome": "approve", "reason": "r"}),
        )
        .await,
        409,
    );

    let reinstated = app
        .post(
            format!("/v1/listings/{id}/reinstate"),
            &b,
            json!({"reason": "修复材料系伪造", "reinstated_on": "2025-09-01"}),
        )
        .await;
    assert_eq!(reinstated.status, 200, "{:?}", reinstated.body);
    assert_eq!(reinstated.body["status"], "listed");
    assert_eq!(reinstated.body["listed_on"], "2025-09-01");
    assert_eq!(reinstated.body["expires_on"], "2028-09-01");
    // A repair found false bars new applications for 3 years (Order 107 art. 23 ¶2).
    assert_eq!(reinstated.body["repair_barred_until"], "2028-09-01");

    let revoked = app
        .post(
            format!("/v1/listings/{id}/revoke"),
            &a,
            json!({"reason": "处罚决定被撤销"}),
        )
        .await;
    assert_eq!(revoked.body["status"], "revoked");
    assert_eq!(
        actions(&revoked.body),
        [
            "propose",
            "notice",
            "decision",
            "repair",
            "repair_decision",
            "reinstate",
            "revoke"
        ]
    );
    assert_problem(
        &app.post(
            format!("/v1/listings/{id}/revoke"),
            &a,
            json!({"reason": "again"}),
        )
        .await,
        409,
    );
}
both_backends!(
    credit_repair_after_a_year_and_reinstatement_restart_the_period,
    credit_repair_after_a_year_and_reinstatement_restart_the_period
);

async fn revoking_every_basis_violation_revokes_the_listing(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (subject, first) = subject_with_violation(&app, &a, "尤二十", "2025-03-03").await;
    let second = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "price_fraud", "severity": "serious",
            "decided_on": "2025-03-04", "description": "d",
            "penalty_kinds": ["fine_aggravated", "confiscation"], "listing_ground": "art9.3"}),
        )
        .await;
    let id = propose(&app, &a, &subject, &[&first, &second]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        format!("/v1/listings/{id}/notice"),
        &a,
        json!({"served_on": "2025-03-10"}),
    )
    .await;
    let listed = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": "2025-03-20"}),
        )
        .await;
    assert_eq!(listed.body["status"], "listed", "{:?}", listed.body);

    app.post(
        format!("/v1/violations/{first}/revoke"),
        &a,
        json!({"reason": "复议撤销"}),
    )
    .await;
    assert_eq!(
        app.get(format!("/v1/listings/{id}"), &a).await.body["status"],
        "listed"
    );
    app.post(
        format!("/v1/violations/{second}/revoke"),
        &a,
        json!({"reason": "法院撤销"}),
    )
    .await;
    let after = app.get(format!("/v1/listings/{id}"), &a).await;
    assert_eq!(after.body["status"], "revoked");
    let last = after.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "revoke");
    assert!(last["actor_user_id"].is_null());

    // Proposals must rest on standing violations of the same subject.
    let other = app
        .create_subject(&a, json!({"kind": "anchor", "name": "许二一"}))
        .await;
    let r = app.post("/v1/listings", &a, json!({"subject_id": other, "violation_ids": [second], "reason": "r", "legal_basis": "l"})).await;
    assert_invalid_field(&r, "violation_ids");
    assert!(r.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("belongs to another subject"));
    let r = app.post("/v1/listings", &a, json!({"subject_id": subject, "violation_ids": [first], "reason": "r", "legal_basis": "l"})).await;
    assert_invalid_field(&r, "violation_ids");
    assert!(r.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("is revoked"));
    let r = app
        .post(
            "/v1/listings",
            &a,
            json!({"subject_id": subject, "violation_ids": [], "reason": "r", "legal_basis": "l"}),
        )
        .await;
    assert_invalid_field(&r, "violation_ids");
    let r = app.post("/v1/listings", &a, json!({"subject_id": "nope", "violation_ids": ["x"], "reason": "r", "legal_basis": "l"})).await;
    assert_invalid_field(&r, "subject_id");
    assert_problem(&app.get("/v1/listings/nope", &a).await, 404);
}
both_backends!(
    revoking_every_basis_violation_revokes_the_listing,
    revoking_every_basis_violation_revokes_the_listing
);

async fn the_system_proposes_and_two_officials_still_decide(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let subject = app
        .create_subject(&a, json!({"kind": "merchant", "name": "何氏商行"}))
        .await;
    let grave = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "substandard_product", "severity": "especially_serious",
            "decided_on": "2026-10-08", "description": "销售假冒伪劣商品",
            "penalty_kinds": ["fine_aggravated", "license_revoked"], "listing_ground": "art7.2"}),
        )
        .await;
    let proposals = app
        .get(format!("/v1/listings?subject_id={subject}"), &a)
        .await;
    let items = proposals.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", proposals.body);
    let listing = &items[0];
    assert_eq!(listing["status"], "proposed");
    assert!(listing["proposed_by"].is_null());
    assert_eq!(listing["violation_ids"], json!([grave]));
    let id = listing["id"].as_str().unwrap().to_owned();
    // One open proposal at most.
    app.record_violation(&a, &subject, json!({"category": "other", "severity": "especially_serious", "decided_on": "2026-10-09", "description": "d",
        "penalty_kinds": ["business_restricted"], "listing_ground": "art9.6"})).await;
    assert_eq!(
        app.get(format!("/v1/listings?subject_id={subject}"), &a)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    app.post(
        format!("/v1/listings/{id}/notice"),
        &a,
        json!({"served_on": "2026-10-12"}),
    )
    .await;
    let own = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &a,
            json!({"outcome": "list", "reason": "r", "decided_on": "2026-10-20"}),
        )
        .await;
    assert_problem(&own, 403);
    let ok = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": "2026-10-20"}),
        )
        .await;
    assert_eq!(ok.body["status"], "listed", "{:?}", ok.body);

    // Falling to band D proposes nothing: a score is no legal ground. It raises a
    // review flag for a regulator (two serious off-platform deals today cost 18 + 27 points).
    let anchor = app
        .create_subject(&a, json!({"kind": "anchor", "name": "吕二二"}))
        .await;
    let deal = json!({"category": "off_platform_transaction", "severity": "serious", "description": "诱导私下交易"});
    app.record_violation(&a, &anchor, deal.clone()).await;
    assert!(app
        .get(format!("/v1/listings?subject_id={anchor}"), &a)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        app.get(format!("/v1/subjects/{anchor}"), &a).await.body["band"],
        "B"
    );
    app.record_violation(&a, &anchor, deal).await;
    let subject_view = app.get(format!("/v1/subjects/{anchor}"), &a).await;
    assert_eq!(subject_view.body["band"], "D");
    assert_eq!(subject_view.body["score"], 55.0);
    let proposed = app
        .get(format!("/v1/listings?subject_id={anchor}"), &a)
        .await;
    assert!(proposed.body["items"].as_array().unwrap().is_empty());
    let flags = app.get("/v1/review-flags?status=open", &a).await;
    let flag = flags.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject_id"] == anchor.as_str())
        .expect("a review flag")
        .clone();
    assert_eq!(flag["score"], 55.0);
}
both_backends!(
    the_system_proposes_and_two_officials_still_decide,
    the_system_proposes_and_two_officials_still_decide
);
