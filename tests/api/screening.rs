//! Screening, watchlists, events and webhooks, as platforms use them.

use std::sync::{Arc, Mutex};

use hmac::{KeyInit, Mac};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

async fn listed(app: &TestApp, a: &str, b: &str, subject: Value) -> (String, String) {
    app.publish_listing(a, b, subject).await
}

async fn screen(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/v1/screening", token, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn matched(result: &Value) -> Vec<String> {
    result["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn decisions_follow_the_contract(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    let id_number = resident_id("11010119900101123");
    let code = uscc("91110101MA00QQQQ1");
    let (anchor, listing) = listed(
        &app,
        &a,
        &b,
        json!({"kind": "anchor", "name": "张伟", "aliases": ["伟哥"], "id_number": id_number,
        "accounts": [{"platform": "douyin", "handle": "zhangwei666"}]}),
    )
    .await;
    let (merchant, _) = listed(
        &app,
        &a,
        &b,
        json!({"kind": "merchant", "name": "好物严选旗舰店", "uscc": code}),
    )
    .await;

    // Identifiers of a listed subject: hit, confidence 1, with the listing.
    let hit = screen(&app, &platform, json!({"id_number": id_number})).await;
    assert_eq!(hit["decision"], "hit");
    assert_eq!(matched(&hit), vec![anchor.clone()]);
    let m = &hit["matches"][0];
    assert_eq!(m["matched_on"], json!(["id_number"]));
    assert_eq!(m["confidence"], 1.0);
    assert_eq!(m["active_listings"][0]["listing_id"], listing.as_str());
    assert_eq!(m["active_listings"][0]["expires_on"], "2029-06-09");
    assert!(m["score"].as_f64().unwrap() < 100.0);
    assert!(hit["screening_id"].is_string() && hit["list_version"].as_i64().unwrap() >= 2);
    assert_eq!(
        screen(&app, &platform, json!({"uscc": code.to_lowercase()})).await["decision"],
        "hit"
    );
    let by_account = screen(
        &app,
        &platform,
        json!({"accounts": [{"platform": "douyin", "handle": "@ZhangWei666"}]}),
    )
    .await;
    assert_eq!(by_account["decision"], "hit");
    assert_eq!(by_account["matches"][0]["matched_on"], json!(["account"]));
    let both = screen(
        &app,
        &platform,
        json!({"id_number": id_number, "name": "张伟"}),
    )
    .await;
    assert_eq!(
        both["matches"][0]["matched_on"],
        json!(["id_number", "name"])
    );
    assert_eq!(
        matched(&screen(&app, &platform, json!({"uscc": code})).await),
        vec![merchant.clone()]
    );

    // A name alone: review, across scripts, spellings, case and width.
    for name in [
        "张伟",
        "張偉",
        "Zhang Wei",
        "zhangwei",
        "ZHANG  WEI",
        "zhāng wěi",
        "Ｚｈａｎｇ　Ｗｅｉ",
        "张\u{200b}伟",
    ] {
        let r = screen(&app, &platform, json!({"name": name})).await;
        assert_eq!(r["decision"], "review", "{name}: {r}");
        assert_eq!(matched(&r), vec![anchor.clone()], "{name}");
        assert_eq!(r["matches"][0]["matched_on"], json!(["name"]));
        assert!(r["matches"][0]["confidence"].as_f64().unwrap() >= 0.85);
    }
    let alias = screen(&app, &platform, json!({"name": "伟哥"})).await;
    assert_eq!(alias["matches"][0]["matched_on"], json!(["alias"]));
    for other in ["张卫东", "李伟", "王芳"] {
        assert_eq!(
            screen(&app, &platform, json!({"name": other})).await["decision"],
            "clear",
            "{other}"
        );
    }

    // Identifiers of an unlisted subject: review in band C or D, clear otherwise.
    let low = app.create_subject(&a, json!({"kind": "anchor", "name": "低分", "id_number": resident_id("11010119900101456")})).await;
    for _ in 0..3 {
        app.record_violation(
            &a,
            &low,
            json!({"category": "price_fraud", "severity": "serious", "description": "d"}),
        )
        .await;
    }
    let band = app.get(format!("/v1/subjects/{low}"), &a).await.body["band"].clone();
    assert!(band == "C" || band == "D", "{band}");
    assert_eq!(
        screen(
            &app,
            &platform,
            json!({"id_number": resident_id("11010119900101456")})
        )
        .await["decision"],
        "review"
    );
    let fine = app.create_subject(&a, json!({"kind": "anchor", "name": "守法", "id_number": resident_id("11010119900101789")})).await;
    let clear = screen(
        &app,
        &platform,
        json!({"id_number": resident_id("11010119900101789")}),
    )
    .await;
    assert_eq!(clear["decision"], "clear");
    assert_eq!(matched(&clear), vec![fine]);
    assert_eq!(
        screen(&app, &platform, json!({"name": "查无此人"})).await["decision"],
        "clear"
    );

    assert_invalid_field(
        &app.post("/v1/screening", &platform, json!({})).await,
        "body",
    );
    assert_invalid_field(
        &app.post("/v1/screening", &platform, json!({"id_number": "123"}))
            .await,
        "id_number",
    );
    assert_problem(
        &app.post("/v1/screening", &a, json!({"name": "张伟"})).await,
        403,
    );

    // Renaming a listed subject keeps its new name screenable; once the
    // listing is revoked, a name alone no longer matches it.
    let r = app
        .patch(
            format!("/v1/subjects/{anchor}"),
            &a,
            json!({"aliases": ["伟哥", "张大伟"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let renamed = screen(&app, &platform, json!({"name": "张大伟"})).await;
    assert_eq!(renamed["decision"], "review", "{renamed}");
    assert_eq!(renamed["matches"][0]["matched_on"], json!(["alias"]));
    let r = app
        .post(
            format!("/v1/listings/{listing}/revoke"),
            &a,
            json!({"reason": "决定被撤销"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let after = screen(&app, &platform, json!({"name": "张伟"})).await;
    assert_eq!(after["decision"], "clear", "{after}");
    assert!(matched(&after).is_empty(), "{after}");
}
both_backends!(decisions_follow_the_contract, decisions_follow_the_contract);

async fn batches_keep_order_and_equal_single_calls(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    let id_number = resident_id("31010119880808123");
    listed(
        &app,
        &a,
        &b,
        json!({"kind": "anchor", "name": "单田芳", "id_number": id_number}),
    )
    .await;
    let items = vec![
        json!({"name": "Shan Tianfang"}),
        json!({"id_number": id_number}),
        json!({"name": "路人甲"}),
        json!({"name": "單田芳", "accounts": [{"platform": "kuaishou", "handle": "nobody"}]}),
    ];
    let batch = app
        .post("/v1/screening/batch", &platform, json!({"items": items}))
        .await;
    assert_eq!(batch.status, 200, "{:?}", batch.body);
    let results = batch.body["results"].as_array().unwrap();
    let decisions: Vec<&str> = results
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["review", "hit", "clear", "review"]);
    for (item, result) in items.iter().zip(results) {
        let single = screen(&app, &platform, item.clone()).await;
        assert_eq!(single["decision"], result["decision"]);
        assert_eq!(matched(&single), matched(result));
        assert_ne!(single["screening_id"], result["screening_id"]);
    }
    let too_many: Vec<Value> = (0..1001).map(|_| json!({"name": "x"})).collect();
    assert_invalid_field(
        &app.post("/v1/screening/batch", &platform, json!({"items": too_many}))
            .await,
        "items",
    );
    let bad = app
        .post(
            "/v1/screening/batch",
            &platform,
            json!({"items": [{"name": "ok"}, {"uscc": "bad"}]}),
        )
        .await;
    assert_invalid_field(&bad, "items[1].uscc");

    // Every item is recorded, for this organization only, and audited.
    let history = app.get("/v1/screenings?limit=500", &platform).await;
    let records = history.body["items"].as_array().unwrap();
    assert_eq!(records.len(), 8);
    assert!(records
        .iter()
        .all(|r| r["query_fingerprint"].as_str().unwrap().len() == 64));
    assert!(!history.body.to_string().contains(&id_number));
    let one = records[1]["screening_id"].as_str().unwrap();
    assert_eq!(
        app.get(format!("/v1/screenings/{one}"), &platform)
            .await
            .status,
        200
    );
    let (_, rival) = app.user_with_role("platform").await;
    assert_problem(&app.get(format!("/v1/screenings/{one}"), &rival).await, 404);
    assert!(app.get("/v1/screenings", &rival).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let audit = app
        .get(
            "/v1/audit?action=screening.performed&limit=500",
            &app.admin_token,
        )
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 8);
    assert!(!audit.body.to_string().contains(&id_number));
    assert_eq!(
        app.get("/v1/audit/verify", &app.admin_token).await.body["valid"],
        true
    );
}
both_backends!(
    batches_keep_order_and_equal_single_calls,
    batches_keep_order_and_equal_single_calls
);

#[actix_web::test]
async fn each_organization_has_its_own_rate_limit() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.rate_limit_per_org = 2)
        .await
        .unwrap();
    let (_, platform) = app.user_with_role("platform").await;
    let (_, other) = app.user_with_role("platform").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.post("/v1/screening", &platform, json!({"name": "张三"}))
                .await,
        );
    }
    let limited = statuses
        .iter()
        .find(|r| r.status == 429)
        .expect("a burst of 6 at 2/s is limited");
    assert_problem(limited, 429);
    assert!(
        limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        app.post("/v1/screening", &other, json!({"name": "张三"}))
            .await
            .status,
        200,
        "another organization is not starved"
    );
    let big: Vec<Value> = (0..10).map(|_| json!({"name": "x"})).collect();
    assert_problem(
        &app.post("/v1/screening/batch", &other, json!({"items": big}))
            .await,
        429,
    );
}

async fn watchlists_and_events_are_per_organization(app: TestApp) {
    let (_, a) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    let (_, rival) = app.user_with_role("platform").await;
    let id_number = resident_id("32010219950505111");
    let subject = app
        .create_subject(
            &a,
            json!({"kind": "anchor", "name": "被关注", "id_number": id_number}),
        )
        .await;

    let added = app
        .post(
            "/v1/watchlist",
            &platform,
            json!({"subject_id": subject, "external_ref": "anchor-42"}),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let watch = added.body["id"].as_str().unwrap().to_owned();
    assert_problem(
        &app.post("/v1/watchlist", &platform, json!({"subject_id": subject}))
            .await,
        409,
    );
    assert_invalid_field(
        &app.post("/v1/watchlist", &platform, json!({"subject_id": "nope"}))
            .await,
        "subject_id",
    );
    // The rival watches by identifier at screening time.
    let watched = screen(&app, &rival, json!({"id_number": id_number, "watch": true})).await;
    assert_eq!(matched(&watched), vec![subject.clone()]);
    assert_eq!(
        app.get("/v1/watchlist", &rival).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let (_, cursor) = (
        app.get("/v1/events", &platform).await.body["items"].clone(),
        app.get("/v1/events", &platform).await.body["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let violation = app.record_violation(&a, &subject, json!({"category": "price_fraud", "severity": "especially_serious", "description": "d"})).await;
    let events = app
        .get(format!("/v1/events?cursor={cursor}"), &platform)
        .await;
    let items = events.body["items"].as_array().unwrap();
    let types: Vec<&str> = items.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"violation.recorded"), "{types:?}");
    assert!(types.contains(&"score.band_changed"), "{types:?}");
    let recorded = items
        .iter()
        .find(|e| e["type"] == "violation.recorded")
        .unwrap();
    assert_eq!(recorded["subject_id"], subject.as_str());
    assert_eq!(recorded["data"]["violation_id"], violation.as_str());
    assert!(
        recorded["id"].is_string()
            && recorded["seq"].is_i64()
            && recorded["occurred_at"].is_string()
    );
    let next = events.body["next_cursor"].as_str().unwrap();
    assert!(app
        .get(format!("/v1/events?cursor={next}"), &platform)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // Someone watching nothing sees nothing.
    let (_, bystander) = app.user_with_role("platform").await;
    assert!(app.get("/v1/events", &bystander).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());

    // Another organization's watch is not found, not forbidden.
    assert_problem(
        &app.call(
            reqwest::Method::DELETE,
            format!("/v1/watchlist/{watch}"),
            Some(&rival),
            None,
        )
        .await,
        404,
    );
    let removed = app
        .call(
            reqwest::Method::DELETE,
            format!("/v1/watchlist/{watch}"),
            Some(&platform),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    assert!(app.get("/v1/watchlist", &platform).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
}
both_backends!(
    watchlists_and_events_are_per_organization,
    watchlists_and_events_are_per_organization
);

/// A local receiver that fails the first delivery and accepts the rest.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, String, String)>>>) {
    let seen: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let state = seen.clone();
    let server = actix_web::HttpServer::new(move || {
        let state = state.clone();
        actix_web::App::new().default_service(actix_web::web::to(
            move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                let state = state.clone();
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned()
                    };
                    let mut seen = state.lock().unwrap();
                    seen.push((
                        header("x-livecredit-signature"),
                        header("x-livecredit-event-id"),
                        String::from_utf8_lossy(&body).into_owned(),
                    ));
                    if seen.len() == 1 {
                        actix_web::HttpResponse::InternalServerError().finish()
                    } else {
                        actix_web::HttpResponse::Ok().finish()
                    }
                }
            },
        ))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let address = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    (format!("http://{address}/hook"), seen)
}

async fn webhooks_are_signed_retried_and_recorded(app: TestApp) {
    let (_, a) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    let (_, rival) = app.user_with_role("platform").await;
    let subject = app
        .create_subject(&a, json!({"kind": "anchor", "name": "推送"}))
        .await;
    app.post("/v1/watchlist", &platform, json!({"subject_id": subject}))
        .await;
    let (url, seen) = receiver().await;

    let own = format!("{}/v1/me", app.address);
    assert_invalid_field(
        &app.post("/v1/webhooks", &platform, json!({"url": own}))
            .await,
        "url",
    );
    assert_invalid_field(
        &app.post(
            "/v1/webhooks",
            &platform,
            json!({"url": "ftp://example.com/x"}),
        )
        .await,
        "url",
    );
    assert_invalid_field(
        &app.post(
            "/v1/webhooks",
            &platform,
            json!({"url": url, "events": ["listing.nothing"]}),
        )
        .await,
        "events[0]",
    );
    let created = app
        .post(
            "/v1/webhooks",
            &platform,
            json!({"url": url, "events": ["violation.recorded"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let hook = created.body["id"].as_str().unwrap().to_owned();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let listed = app.get("/v1/webhooks", &platform).await;
    assert_eq!(listed.body["items"][0]["id"], hook.as_str());
    assert!(
        listed.body["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );

    let violation = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "other", "severity": "minor", "description": "d"}),
        )
        .await;
    // First attempt fails (500); the retry comes within seconds.
    let mut deliveries = Value::Null;
    for _ in 0..60 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
        deliveries = app
            .get(format!("/v1/webhooks/{hook}/deliveries"), &platform)
            .await
            .body;
        if deliveries["items"][0]["status"] == "delivered" {
            break;
        }
    }
    let delivery = &deliveries["items"][0];
    assert_eq!(delivery["status"], "delivered", "{deliveries}");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["last_status_code"], 200);
    assert_eq!(
        deliveries["items"].as_array().unwrap().len(),
        1,
        "only the chosen event type"
    );

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let (signature, event_id, body) = &requests[1];
    assert_eq!(
        &requests[0].1, event_id,
        "a retry carries the same event id"
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    assert_eq!(
        signature,
        &format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "violation.recorded");
    assert_eq!(event["id"], event_id.as_str());
    assert_eq!(event["subject_id"], subject.as_str());
    assert_eq!(event["data"]["violation_id"], violation.as_str());

    assert_problem(
        &app.get(format!("/v1/webhooks/{hook}/deliveries"), &rival)
            .await,
        404,
    );
    assert_problem(
        &app.call(
            reqwest::Method::DELETE,
            format!("/v1/webhooks/{hook}"),
            Some(&rival),
            None,
        )
        .await,
        404,
    );
    assert_eq!(
        app.call(
            reqwest::Method::DELETE,
            format!("/v1/webhooks/{hook}"),
            Some(&platform),
            None
        )
        .await
        .status,
        204
    );
    assert!(app.get("/v1/webhooks", &platform).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
}
both_backends!(
    webhooks_are_signed_retried_and_recorded,
    webhooks_are_signed_retried_and_recorded
);

/// Two instances on one database: a listing published through one is in the
/// other's screening answers, and a user disabled through one is cut off by
/// the other, once the documented interval has passed — and at once on the
/// instance that made the change.
async fn a_second_instance_follows_within_a_second(app: TestApp) {
    let other = app.second_instance().await;
    let ((_, a), (_, b)) = app.two_officials().await;
    let (platform_id, platform) = app.user_with_role("platform").await;
    let query = json!({"name": "双实例测试"});
    assert_eq!(
        screen(&other, &platform, query.clone()).await["decision"],
        "clear"
    );
    assert_eq!(other.get("/v1/me", &platform).await.status, 200);

    let (subject, _) = listed(
        &app,
        &a,
        &b,
        json!({"kind": "anchor", "name": "双实例测试"}),
    )
    .await;
    let here = screen(&app, &platform, query.clone()).await;
    assert_eq!(
        here["decision"], "review",
        "the writing instance at once: {here}"
    );
    tokio::time::sleep(STALENESS).await;
    let there = screen(&other, &platform, query).await;
    assert_eq!(there["decision"], "review", "{there}");
    assert_eq!(matched(&there), vec![subject.as_str()]);
    assert_eq!(there["list_version"], here["list_version"]);

    let r = app
        .patch(
            &format!("/v1/users/{platform_id}"),
            &app.admin_token,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_problem(&app.get("/v1/me", &platform).await, 401);
    tokio::time::sleep(STALENESS).await;
    assert_problem(&other.get("/v1/me", &platform).await, 401);
    assert_problem(
        &other
            .post("/v1/screening", &platform, json!({"name": "双实例测试"}))
            .await,
        401,
    );
}
both_backends!(
    a_second_instance_follows_within_a_second,
    a_second_instance_follows_within_a_second
);

/// While listings are published one after another, every answer (on the
/// instance that publishes and on another) shows exactly the listings of the
/// list version it names: never a mix of two versions.
async fn answers_never_mix_list_versions(app: TestApp) {
    const LISTINGS: usize = 8;
    let other = app.second_instance().await;
    let ((_, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    let query = json!({"name": "版本一致测试"});
    let start = screen(&app, &platform, query.clone()).await;
    assert_eq!(start["decision"], "clear");
    let v0 = start["list_version"].as_i64().unwrap();

    let done = std::sync::atomic::AtomicBool::new(false);
    let publish = async {
        for _ in 0..LISTINGS {
            listed(
                &app,
                &a,
                &b,
                json!({"kind": "anchor", "name": "版本一致测试"}),
            )
            .await;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let ((), here, there) = tokio::join!(
        publish,
        versions_seen(&app, &platform, &query, &done, v0),
        versions_seen(&other, &platform, &query, &done, v0)
    );
    assert!(here >= 3 && there >= 3);
    let now = screen(&app, &platform, query.clone()).await;
    assert_eq!(
        now["list_version"].as_i64().unwrap(),
        v0 + LISTINGS as i64,
        "{now}"
    );
    tokio::time::sleep(STALENESS).await;
    let end = screen(&other, &platform, query).await;
    assert_eq!(
        end["list_version"].as_i64().unwrap(),
        v0 + LISTINGS as i64,
        "{end}"
    );
}

/// Screens `query` on `on` until `done` (and at least three times),
/// checking that each answer shows as many listings as its version says have
/// been published since `v0`. Returns how many answers it checked.
async fn versions_seen(
    on: &TestApp,
    platform: &str,
    query: &Value,
    done: &std::sync::atomic::AtomicBool,
    v0: i64,
) -> usize {
    let mut answers = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) || answers < 3 {
        let r = on.post("/v1/screening", platform, query.clone()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let version = r.body["list_version"].as_i64().unwrap();
        let listed = r.body["matches"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| !m["active_listings"].as_array().unwrap().is_empty())
            .count() as i64;
        assert_eq!(
            listed,
            version - v0,
            "{}: an answer at version {version} shows the listings published since {v0}: {:?}",
            on.address,
            r.body
        );
        answers += 1;
    }
    answers
}
both_backends!(
    answers_never_mix_list_versions,
    answers_never_mix_list_versions
);
