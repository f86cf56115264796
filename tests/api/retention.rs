//! Retention (docs/OPERATIONS.md): upkeep forgets login-throttle counters
//! past their window, dead refresh tokens, webhook deliveries 30 days after
//! they ended and screening records after their retention; the young stay,
//! and the audit chain, never purged, still verifies.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use livecredit::db::schema::{login_throttle, refresh_tokens, screenings};
use livecredit::db::DbConn;
use livecredit::jobs::upkeep::run_with;
use livecredit::service::upkeep::Retention;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// A timestamp `days` ago, as both backends take it in SQL.
fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days))
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn minutes_ago(minutes: i64) -> String {
    (Utc::now() - Duration::minutes(minutes))
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

async fn run_upkeep(app: &TestApp) {
    livecredit::jobs::run_once(&app.db())
        .await
        .expect("upkeep ran");
}

async fn assert_chain_valid(app: &TestApp) -> i64 {
    let verdict = app.get("/v1/audit/verify", &app.admin_token).await;
    assert_eq!(verdict.status, 200, "{:?}", verdict.body);
    assert_eq!(verdict.body["valid"], true, "{:?}", verdict.body);
    verdict.body["entries"].as_i64().unwrap()
}

fn throttle_keys(app: &TestApp) -> Vec<String> {
    let db = app.db();
    let mut pooled = db.conn().unwrap();
    let conn: &mut DbConn = &mut pooled;
    login_throttle::table
        .select(login_throttle::throttle_key)
        .order(login_throttle::throttle_key)
        .load(conn)
        .unwrap()
}

async fn login_throttle_rows_go_after_their_window(app: TestApp) {
    for email in ["stale@livecredit.test", "fresh@livecredit.test"] {
        assert_eq!(app.try_login(email, "wrong password 123").await.status, 401);
    }
    let keys = throttle_keys(&app);
    assert!(keys.contains(&"account:stale@livecredit.test".to_owned()));
    // The window is 15 minutes: 16 minutes old is past it, 14 is not.
    app.execute_sql(&format!(
        "UPDATE login_throttle SET window_started_at = '{}' WHERE throttle_key = 'account:stale@livecredit.test'",
        minutes_ago(16)
    ));
    app.execute_sql(&format!(
        "UPDATE login_throttle SET window_started_at = '{}' WHERE throttle_key = 'account:fresh@livecredit.test'",
        minutes_ago(14)
    ));
    run_upkeep(&app).await;
    let keys = throttle_keys(&app);
    assert!(
        !keys.contains(&"account:stale@livecredit.test".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"account:fresh@livecredit.test".to_owned()),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.starts_with("address:")), "{keys:?}");
    assert_chain_valid(&app).await;
}
both_backends!(
    login_throttle_rows_go_after_their_window,
    login_throttle_rows_go_after_their_window
);

/// Which of these refresh tokens are still stored.
fn stored_tokens(app: &TestApp, tokens: &[&str]) -> Vec<bool> {
    let db = app.db();
    let mut pooled = db.conn().unwrap();
    let conn: &mut DbConn = &mut pooled;
    let hashes: Vec<String> = tokens
        .iter()
        .map(|t| livecredit::auth::tokens::refresh_token_hash(t))
        .collect();
    let found: Vec<String> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq_any(&hashes))
        .select(refresh_tokens::token_hash)
        .load(conn)
        .unwrap();
    hashes.iter().map(|h| found.contains(h)).collect()
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.call(
        reqwest::Method::POST,
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

async fn dead_refresh_tokens_go_and_reuse_detection_stays(app: TestApp) {
    let email = "tokens@livecredit.test";
    let org = app.create_org("Tokens org", "consumer_association").await;
    let r = app
        .post(
            "/v1/users",
            &app.admin_token,
            json!({"email": email, "password": PASSWORD, "role": "auditor", "organization_id": org}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // A family that goes on: its first token spent, the second live.
    let first = app.login(email, PASSWORD).await;
    let spent = first["refresh_token"].as_str().unwrap().to_owned();
    let next = refresh(&app, &spent).await;
    assert_eq!(next.status, 200);
    let live = next.body["refresh_token"].as_str().unwrap().to_owned();
    // A family ended by logout (revoked).
    let second = app.login(email, PASSWORD).await;
    let revoked = second["refresh_token"].as_str().unwrap().to_owned();
    let out = app
        .post(
            "/v1/auth/logout",
            second["access_token"].as_str().unwrap(),
            json!({"refresh_token": revoked}),
        )
        .await;
    assert_eq!(out.status, 204, "{:?}", out.body);
    // A family whose last token has expired.
    let third = app.login(email, PASSWORD).await;
    let expired = third["refresh_token"].as_str().unwrap().to_owned();
    app.execute_sql(&format!(
        "UPDATE refresh_tokens SET expires_at = '{}' WHERE token_hash = '{}'",
        ago(1),
        livecredit::auth::tokens::refresh_token_hash(&expired)
    ));

    let all = [
        spent.as_str(),
        live.as_str(),
        revoked.as_str(),
        expired.as_str(),
    ];
    assert_eq!(stored_tokens(&app, &all), [true, true, true, true]);
    run_upkeep(&app).await;
    assert_eq!(
        stored_tokens(&app, &all),
        [true, true, false, false],
        "spent-in-a-living-family and live stay; revoked and expired go"
    );

    // The purged ones are refused as before; the spent one still gives the
    // theft away: presenting it ends its family, the live token included.
    assert_problem(&refresh(&app, &revoked).await, 401);
    assert_problem(&refresh(&app, &expired).await, 401);
    assert_problem(&refresh(&app, &spent).await, 401);
    assert_problem(&refresh(&app, &live).await, 401);
    // Now the whole family is revoked, and goes at the next round.
    run_upkeep(&app).await;
    assert_eq!(stored_tokens(&app, &all), [false, false, false, false]);
    // Logging in still works.
    let again = app.login(email, PASSWORD).await;
    assert_eq!(
        refresh(&app, again["refresh_token"].as_str().unwrap())
            .await
            .status,
        200
    );
    assert_chain_valid(&app).await;
}
both_backends!(
    dead_refresh_tokens_go_and_reuse_detection_stays,
    dead_refresh_tokens_go_and_reuse_detection_stays
);

/// The ids of a webhook's deliveries, as its platform lists them.
async fn delivery_ids(app: &TestApp, platform: &str, webhook: &str) -> Vec<String> {
    let r = app
        .get(format!("/v1/webhooks/{webhook}/deliveries"), platform)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut ids: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn webhook_deliveries_go_30_days_after_they_ended(app: TestApp) {
    let (_, platform) = app.user_with_role("platform").await;
    let created = app
        .post(
            "/v1/webhooks",
            &platform,
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let webhook = created.body["id"].as_str().unwrap().to_owned();
    // (id, status, last attempt due, delivered at)
    let rows = [
        ("d-delivered-old", "delivered", ago(32), Some(ago(31))),
        ("d-delivered-young", "delivered", ago(30), Some(ago(29))),
        ("d-failed-old", "failed", ago(31), None),
        ("d-failed-young", "failed", ago(29), None),
    ];
    for (n, (id, status, due, delivered)) in rows.iter().enumerate() {
        let delivered = delivered
            .as_ref()
            .map_or("NULL".to_owned(), |t| format!("'{t}'"));
        app.execute_sql(&format!(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_seq, status, attempts, \
             next_attempt_at, created_at, delivered_at) VALUES ('{id}', '{webhook}', 'event-{n}', {n}, \
             '{status}', 3, '{due}', '{created}', {delivered})",
            created = ago(33),
        ));
    }
    assert_eq!(delivery_ids(&app, &platform, &webhook).await.len(), 4);
    run_upkeep(&app).await;
    assert_eq!(
        delivery_ids(&app, &platform, &webhook).await,
        ["d-delivered-young", "d-failed-young"],
        "deliveries ended more than 30 days ago go"
    );
    assert_chain_valid(&app).await;
}
both_backends!(
    webhook_deliveries_go_30_days_after_they_ended,
    webhook_deliveries_go_30_days_after_they_ended
);

/// The audit entries of screenings.
async fn screening_entries(app: &TestApp) -> Vec<Value> {
    let r = app
        .get(
            "/v1/audit?action=screening.performed&limit=500",
            &app.admin_token,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

async fn screening_records_go_after_three_years_and_their_audit_stays(app: TestApp) {
    let (_, platform) = app.user_with_role("platform").await;
    let id_number = resident_id("11010519491231002");
    let mut ids = Vec::new();
    for body in [
        json!({"name": "张三丰"}),
        json!({"id_number": id_number}),
        json!({"accounts": [{"platform": "douyin", "handle": "zsf_live"}]}),
    ] {
        let r = app.post("/v1/screening", &platform, body).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.push(r.body["screening_id"].as_str().unwrap().to_owned());
    }
    let (old, edge, young) = (&ids[0], &ids[1], &ids[2]);
    // 1095 days and a day of grace: 1097 days old goes, 1095 stays.
    app.execute_sql(&format!(
        "UPDATE screenings SET screened_at = '{}' WHERE id = '{old}'",
        ago(1097)
    ));
    app.execute_sql(&format!(
        "UPDATE screenings SET screened_at = '{}' WHERE id = '{edge}'",
        ago(1095)
    ));
    let entries_before = screening_entries(&app).await;
    assert_eq!(entries_before.len(), 3);
    // The entries hold a keyed fingerprint of the query, never the query.
    for entry in &entries_before {
        let details = entry["details"].to_string();
        assert!(
            entry["details"]["query_fingerprint"].is_string(),
            "{details}"
        );
        for personal in ["张三丰", &id_number[..], "zsf_live", "douyin:"] {
            assert!(!details.contains(personal), "{personal} in {details}");
        }
    }
    let chain_before = assert_chain_valid(&app).await;

    // Retention 0 keeps every record.
    run_with(&app.db(), &Retention { screening_days: 0 })
        .await
        .unwrap();
    assert_eq!(
        app.get(format!("/v1/screenings/{old}"), &platform)
            .await
            .status,
        200
    );

    run_upkeep(&app).await;
    assert_problem(
        &app.get(format!("/v1/screenings/{old}"), &platform).await,
        404,
    );
    for kept in [edge, young] {
        assert_eq!(
            app.get(format!("/v1/screenings/{kept}"), &platform)
                .await
                .status,
            200
        );
    }
    let listed = app.get("/v1/screenings", &platform).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    {
        let db = app.db();
        let mut pooled = db.conn().unwrap();
        let conn: &mut DbConn = &mut pooled;
        let left: i64 = screenings::table.count().get_result(conn).unwrap();
        assert_eq!(left, 2);
    }

    // The audit log keeps every entry, the purged record's included, and verifies.
    let entries_after = screening_entries(&app).await;
    assert_eq!(entries_after, entries_before);
    assert!(entries_after.iter().any(|e| e["target_id"] == old.as_str()));
    assert!(assert_chain_valid(&app).await >= chain_before);
}
both_backends!(
    screening_records_go_after_three_years_and_their_audit_stays,
    screening_records_go_after_three_years_and_their_audit_stays
);
