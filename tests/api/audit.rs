use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn every_write_is_chained_and_verifiable(app: TestApp) {
    let (reg_id, reg) = app.user_with_role("regulator").await;
    let subject = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "冯十二"}))
        .await;
    let violation = app
        .record_violation(
            &reg,
            &subject,
            json!({"category": "data_fraud", "severity": "general", "description": "刷单"}),
        )
        .await;
    app.post(
        &format!("/v1/violations/{violation}/revoke"),
        &reg,
        json!({"reason": "撤销"}),
    )
    .await;
    assert_problem(
        &app.try_login("nobody@livecredit.test", "wrong password!!")
            .await,
        401,
    );

    let log = app.get("/v1/audit?limit=500", &app.admin_token).await;
    assert_eq!(log.status, 200);
    let items = log.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "organization.created",
        "user.created",
        "auth.login",
        "subject.created",
        "violation.recorded",
        "violation.revoked",
        "auth.login_failed",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    for (i, e) in items.iter().enumerate() {
        assert_eq!(e["seq"], i as i64 + 1);
        if i > 0 {
            assert_eq!(e["prev_hash"], items[i - 1]["hash"]);
        }
    }
    let recorded = items
        .iter()
        .find(|e| e["action"] == "violation.recorded")
        .unwrap();
    assert_eq!(recorded["actor_user_id"], reg_id.as_str());
    assert_eq!(recorded["target_id"], violation.as_str());
    assert_eq!(recorded["details"]["subject_id"], subject.as_str());

    let filtered = app
        .get(
            &format!("/v1/audit?actor={reg_id}&action=violation.revoked"),
            &app.admin_token,
        )
        .await;
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 1);
    let (_, auditor) = app.user_with_role("auditor").await;
    let verdict = app.get("/v1/audit/verify", &auditor).await;
    assert_eq!(verdict.status, 200);
    assert_eq!(verdict.body["valid"], true);
    assert_eq!(
        verdict.body["entries"],
        items.len() as i64 + 3,
        "{:?}",
        verdict.body
    );
    assert!(verdict.body.get("first_bad_seq").is_none());
    assert_problem(&app.get("/v1/audit?cursor=bad!", &auditor).await, 422);
}
both_backends!(
    every_write_is_chained_and_verifiable,
    every_write_is_chained_and_verifiable
);

async fn concurrent_writers_leave_one_unbroken_chain(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let subject = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "陈十三"}))
        .await;
    let writers = (0..50).map(|i| {
        let body = json!({"category": "false_advertising", "severity": "minor", "description": format!("第{i}次")});
        app.post(format!("/v1/subjects/{subject}/violations"), &reg, body)
    });
    for reply in futures_util::future::join_all(writers).await {
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    let verdict = app.get("/v1/audit/verify", &app.admin_token).await;
    assert_eq!(verdict.body["valid"], true, "{:?}", verdict.body);
    let recorded = app
        .get(
            "/v1/audit?action=violation.recorded&limit=500",
            &app.admin_token,
        )
        .await;
    assert_eq!(recorded.body["items"].as_array().unwrap().len(), 50);
}
both_backends!(
    concurrent_writers_leave_one_unbroken_chain,
    concurrent_writers_leave_one_unbroken_chain
);

async fn tampering_is_detected_at_the_edited_entry(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    app.create_subject(&reg, json!({"kind": "anchor", "name": "卫十四"}))
        .await;
    let before = app.get("/v1/audit/verify", &app.admin_token).await;
    assert_eq!(before.body["valid"], true);
    let entry = app
        .get("/v1/audit?action=subject.created", &app.admin_token)
        .await
        .body["items"][0]
        .clone();
    let seq = entry["seq"].as_i64().unwrap();
    assert_eq!(
        app.execute_sql(&format!(
            "UPDATE audit_log SET details = '{{\"name\":\"someone else\"}}' WHERE seq = {seq}"
        )),
        1
    );
    let after = app.get("/v1/audit/verify", &app.admin_token).await;
    assert_eq!(after.body["valid"], false);
    assert_eq!(after.body["first_bad_seq"], seq);
    assert_eq!(after.body["entries"], seq - 1);

    // The command line agrees and exits non-zero.
    let url = match &app.database_url {
        livecredit::config::DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        livecredit::config::DatabaseUrl::Postgres(u) => u.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args(["audit", "verify"])
        .env("LIVECREDIT_DATABASE_URL", url)
        .env("LIVECREDIT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("broken at entry {seq}")),
        "{stderr}"
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["first_bad_seq"], seq);

    // Deleting the newest entry is caught by the head row.
    app.execute_sql(&format!(
        "UPDATE audit_log SET details = '{}' WHERE seq = {seq}",
        entry["details"].to_string().replace('\'', "''")
    ));
    let restored = app.get("/v1/audit/verify", &app.admin_token).await;
    assert_eq!(restored.body["valid"], true, "{:?}", restored.body);
    let last = restored.body["entries"].as_i64().unwrap();
    app.execute_sql(&format!("DELETE FROM audit_log WHERE seq = {last}"));
    let truncated = app.get("/v1/audit/verify", &app.admin_token).await;
    assert_eq!(truncated.body["valid"], false);
}
both_backends!(
    tampering_is_detected_at_the_edited_entry,
    tampering_is_detected_at_the_edited_entry
);

/// Runs the real binary with debug logs, registers an anchor, and greps the
/// responses, the log and the database for the full resident ID.
#[actix_web::test]
async fn full_resident_ids_never_leave_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("leak.db");
    let log_path = dir.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .env(
            "LIVECREDIT_DATABASE_URL",
            format!("sqlite://{}", db_path.display()),
        )
        .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
        .env("LIVECREDIT_BIND", "127.0.0.1:0")
        .env("LIVECREDIT_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("LIVECREDIT_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "trace")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log_file = log_path.clone();
    std::thread::spawn(move || {
        let mut log = std::fs::File::create(log_file).unwrap();
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            use std::io::Write;
            writeln!(log, "{line}").unwrap();
            if !sent {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    tx.send(rest.split_whitespace().next().unwrap_or("").to_owned())
                        .unwrap();
                    sent = true;
                }
            }
        }
    });
    let address = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("server started");
    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = login["access_token"].as_str().unwrap();
    let org: serde_json::Value = client
        .post(format!("{base}/v1/organizations"))
        .bearer_auth(admin)
        .json(&json!({"name": "监管局", "kind": "regulator"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client
        .post(format!("{base}/v1/users"))
        .bearer_auth(admin)
        .json(&json!({"email": "reg@livecredit.test", "password": PASSWORD, "role": "regulator", "organization_id": org["id"]}))
        .send()
        .await
        .unwrap();
    let reg: serde_json::Value = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "reg@livecredit.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reg = reg["access_token"].as_str().unwrap();

    let full = resident_id("51010719850615321");
    let mut bodies = Vec::new();
    for (method, path, body) in [
        (
            "POST",
            "/v1/subjects",
            Some(json!({"kind": "anchor", "name": "蒋十五", "id_number": full})),
        ),
        (
            "POST",
            "/v1/subjects",
            Some(json!({"kind": "anchor", "name": "重复", "id_number": full})),
        ),
        ("GET", &*format!("/v1/subjects?q={full}"), None),
        (
            "POST",
            "/v1/subjects",
            Some(json!({"kind": "merchant", "name": "错", "id_number": full})),
        ),
    ] {
        let req = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(reg);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        bodies.push(req.send().await.unwrap().text().await.unwrap());
    }
    let subject_id = serde_json::from_str::<serde_json::Value>(&bodies[0]).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    bodies.push(
        client
            .get(format!("{base}/v1/subjects/{subject_id}"))
            .bearer_auth(reg)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    bodies.push(
        client
            .get(format!("{base}/v1/audit?limit=500"))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(
        bodies[2].contains(&subject_id),
        "search by full ID finds the subject"
    );
    let _ = server.kill();
    let _ = server.wait();
    std::thread::sleep(std::time::Duration::from_millis(200));

    for body in &bodies {
        assert!(
            !body.contains(&full),
            "a response holds the full ID: {body}"
        );
    }
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("listening on"));
    assert!(!log.contains(&full), "the log holds the full ID");
    let mut db_bytes = std::fs::read(&db_path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("leak.db-wal")) {
        db_bytes.extend(wal);
    }
    let needle = full.as_bytes();
    assert!(
        !db_bytes.windows(needle.len()).any(|w| w == needle),
        "the database holds the full ID"
    );
}
