//! Issue 14, item 8: the webhook address guard (the IANA special-purpose
//! registries, embedded IPv4 unwrapped, at registration and at delivery) and
//! screening evasion by look-alike letters and full-width handles, with the
//! re-keying of what was stored before.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// The four webhook addresses of the issue: IPv4-compatible loopback,
/// NAT64 loopback, 6to4 loopback, and the benchmarking range.
const REPRODUCTIONS: [&str; 4] = [
    "http://[::127.0.0.1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://198.18.0.1/hook",
];

/// A server whose webhooks may only reach globally reachable addresses (the
/// other tests allow loopback, for their receivers).
async fn strict_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| s.webhook_allow_private = false).await
}

async fn webhooks_to_non_global_addresses_are_refused(app: TestApp) {
    let (_, platform) = app.user_with_role("platform").await;
    for url in REPRODUCTIONS {
        let r = app
            .post("/v1/webhooks", &platform, json!({"url": url}))
            .await;
        assert_invalid_field(&r, "url");
    }
    let r = app
        .post(
            "/v1/webhooks",
            &platform,
            json!({"url": "http://[::ffff:8.8.8.8]/hook"}),
        )
        .await;
    assert_eq!(
        r.status, 201,
        "a global IPv4 behind an IPv6 form: {:?}",
        r.body
    );
}

#[actix_web::test]
async fn webhooks_to_non_global_addresses_are_refused_sqlite() {
    if let Some(app) = strict_app(Backend::Sqlite).await {
        webhooks_to_non_global_addresses_are_refused(app).await;
    }
}

#[actix_web::test]
async fn webhooks_to_non_global_addresses_are_refused_postgres() {
    if let Some(app) = strict_app(Backend::Postgres).await {
        webhooks_to_non_global_addresses_are_refused(app).await;
    }
}

/// A webhook whose address changed after registration (as a name that moves
/// to another address would) is refused at delivery, and nothing is sent.
async fn deliveries_to_non_global_addresses_are_refused(app: TestApp) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_, a) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    let subject = app
        .create_subject(&a, json!({"kind": "anchor", "name": "推送"}))
        .await;
    app.post("/v1/watchlist", &platform, json!({"subject_id": subject}))
        .await;
    let mut hooks = Vec::new();
    for moved_to in [
        format!("http://[::127.0.0.1]:{port}/hook"),
        format!("http://localhost:{port}/hook"),
    ] {
        let created = app
            .post(
                "/v1/webhooks",
                &platform,
                json!({"url": "https://hooks.example.com/livecredit"}),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let hook = created.body["id"].as_str().unwrap().to_owned();
        app.execute_sql(&format!(
            "UPDATE webhooks SET url = '{moved_to}' WHERE id = '{hook}'"
        ));
        hooks.push(hook);
    }
    app.record_violation(
        &a,
        &subject,
        json!({"category": "other", "severity": "minor", "description": "d"}),
    )
    .await;
    for hook in hooks {
        let mut delivery = Value::Null;
        for _ in 0..40 {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(250)).await;
            delivery = app
                .get(format!("/v1/webhooks/{hook}/deliveries"), &platform)
                .await
                .body["items"][0]
                .clone();
            if delivery["attempts"].as_i64().unwrap_or(0) > 0 {
                break;
            }
        }
        let error = delivery["last_error"].as_str().unwrap_or_default();
        assert!(error.starts_with("refused ("), "{delivery}");
        assert!(
            error.contains("127.0.0.1") || error.contains("::1"),
            "{error}"
        );
        assert_eq!(delivery["status"], "pending", "retried later: {delivery}");
    }
    assert!(
        listener.accept().is_err(),
        "nothing may connect to the loopback receiver"
    );
}

#[actix_web::test]
async fn deliveries_to_non_global_addresses_are_refused_sqlite() {
    if let Some(app) = strict_app(Backend::Sqlite).await {
        deliveries_to_non_global_addresses_are_refused(app).await;
    }
}

#[actix_web::test]
async fn deliveries_to_non_global_addresses_are_refused_postgres() {
    if let Some(app) = strict_app(Backend::Postgres).await {
        deliveries_to_non_global_addresses_are_refused(app).await;
    }
}

async fn screen(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/v1/screening", token, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn matched(result: &Value) -> Vec<&str> {
    result["matches"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["subject_id"].as_str()).collect())
        .unwrap_or_default()
}

async fn lookalike_letters_and_full_width_handles_do_not_evade(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    let (anchor, _) = app
        .publish_listing(
            &a,
            &b,
            json!({"kind": "anchor", "name": "Zhao Qingping",
                "accounts": [{"platform": "douyin", "handle": "dy8227087997"}]}),
        )
        .await;

    for name in [
        "Zhao Qingping",
        "Zh\u{43e}o Qingping",
        "ZH\u{410}O QINGPING",
    ] {
        let r = screen(&app, &platform, json!({"name": name})).await;
        assert_eq!(r["decision"], "review", "{name}: {r}");
        assert_eq!(matched(&r), vec![anchor.as_str()], "{name}");
    }
    for handle in [
        "dy8227087997",
        "ｄｙ8227087997",
        "＠ＤＹ８２２７０８７９９７",
    ] {
        let r = screen(
            &app,
            &platform,
            json!({"accounts": [{"platform": "douyin", "handle": handle}]}),
        )
        .await;
        assert_eq!(r["decision"], "hit", "{handle}: {r}");
        assert_eq!(matched(&r), vec![anchor.as_str()], "{handle}");
    }
    // The stored side folds too: a subject registered with a full-width
    // handle is the same account, and its look-alike name the same name.
    let dup = app
        .post(
            "/v1/subjects",
            &a,
            json!({"kind": "anchor", "name": "Zh\u{43e}o Qingping",
                "accounts": [{"platform": "douyin", "handle": "ＤＹ8227087997"}]}),
        )
        .await;
    assert_problem(&dup, 409);
    assert_eq!(dup.body["existing_subject_id"], anchor.as_str());
    // The public search finds the listing by the full-width handle too.
    let public = app
        .client
        .get(app.url("/v1/public/blacklist?q=%EF%BD%84%EF%BD%998227087997"))
        .send()
        .await
        .unwrap();
    let public: Value = public.json().await.unwrap();
    assert_eq!(
        public["items"].as_array().map(Vec::len),
        Some(1),
        "{public}"
    );
}
both_backends!(
    lookalike_letters_and_full_width_handles_do_not_evade,
    lookalike_letters_and_full_width_handles_do_not_evade
);

/// Keys stored by the old rules are computed again when a new version
/// starts: once, idempotently, and a handle that now folds onto another
/// subject's account does not stop the start.
async fn stored_keys_are_rekeyed_at_start(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    // Registered with a Cyrillic а for the a.
    let (listed, _) = app
        .publish_listing(
            &a,
            &b,
            json!({"kind": "anchor", "name": "Zh\u{430}o Qingping",
                "accounts": [{"platform": "douyin", "handle": "dy8227087997"}]}),
        )
        .await;
    let twin = app
        .create_subject(
            &a,
            json!({"kind": "anchor", "name": "同名",
                "accounts": [{"platform": "douyin", "handle": "twin"},
                             {"platform": "kuaishou", "handle": "keepme"}]}),
        )
        .await;
    // What the old rules stored: the name keys without folding, handles
    // lower-cased but not width-folded; and no versions recorded.
    app.execute_sql(&format!(
        "UPDATE subject_name_keys SET name_key = name_key || '-old' WHERE subject_id = '{listed}'"
    ));
    app.execute_sql(&format!(
        "UPDATE subject_accounts SET account_key = 'douyin:ｄｙ8227087997', handle = 'ｄｙ8227087997' \
         WHERE subject_id = '{listed}'"
    ));
    app.execute_sql(&format!(
        "UPDATE subject_accounts SET account_key = 'douyin:ｄｙ８２２７０８７９９７', \
         handle = 'ｄｙ８２２７０８７９９７' WHERE subject_id = '{twin}' AND account_key = 'douyin:twin'"
    ));
    app.execute_sql(
        "DELETE FROM deployment_checks WHERE name IN ('name_keys_version', 'account_keys_version')",
    );
    // (Screening no longer reads the stored name keys: its in-memory index
    // computes them from the names with the rules in force, so the stale
    // keys cannot make it miss. Subject search still reads them.)
    let stale = app.get("/v1/subjects?q=Zhao%20Qingping", &a).await;
    assert_eq!(stale.status, 200, "{:?}", stale.body);
    assert!(
        !stale.body["items"].to_string().contains(listed.as_str()),
        "the stale keys miss: {:?}",
        stale.body
    );

    // A new instance starts on the same database.
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(app.database_url.clone(), dir.path());
    livecredit::app::Application::build(settings.clone())
        .await
        .expect("the start re-keys and goes on");

    let found = app.get("/v1/subjects?q=Zhao%20Qingping", &a).await;
    assert!(
        found.body["items"].to_string().contains(listed.as_str()),
        "re-keyed, the search finds it: {:?}",
        found.body
    );
    let name = screen(&app, &platform, json!({"name": "Zhao Qingping"})).await;
    assert_eq!(name["decision"], "review", "{name}");
    assert_eq!(matched(&name), vec![listed.as_str()]);
    let handle = screen(
        &app,
        &platform,
        json!({"accounts": [{"platform": "douyin", "handle": "dy8227087997"}]}),
    )
    .await;
    assert_eq!(handle["decision"], "hit", "{handle}");
    assert_eq!(matched(&handle), vec![listed.as_str()]);
    // The first registered subject keeps the account; the twin loses that
    // one (audited) and keeps its other.
    let twin_view = app.get(format!("/v1/subjects/{twin}"), &a).await;
    assert_eq!(
        twin_view.body["accounts"],
        json!([{"platform": "kuaishou", "handle": "keepme"}]),
        "{:?}",
        twin_view.body
    );
    let audit = app
        .get("/v1/audit?action=subject.account_removed", &app.admin_token)
        .await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let entries = audit.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{:?}", audit.body);
    assert_eq!(entries[0]["target_id"], twin.as_str());
    assert_eq!(entries[0]["details"]["kept_by_subject_id"], listed.as_str());

    // Once: the versions are recorded, and a second start changes nothing.
    let mut conn = app.db().conn().unwrap();
    assert_eq!(
        livecredit::service::subjects::rekey_stored_keys(&mut conn).unwrap(),
        None
    );
    let rekeyed = app
        .get("/v1/audit?action=registry.rekeyed", &app.admin_token)
        .await;
    assert_eq!(
        rekeyed.body["items"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        rekeyed.body
    );
    // Idempotent even when asked again: nothing differs any more.
    app.execute_sql("DELETE FROM deployment_checks WHERE name = 'name_keys_version'");
    let again = livecredit::service::subjects::rekey_stored_keys(&mut conn)
        .unwrap()
        .expect("ran again");
    assert_eq!(again.names_rekeyed, 0);
    assert_eq!(again.accounts_rekeyed + again.accounts_merged, 0);
}
both_backends!(
    stored_keys_are_rekeyed_at_start,
    stored_keys_are_rekeyed_at_start
);
