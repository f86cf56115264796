//! The parties of live-stream commerce (Order 117) and what platforms see
//! (Order 45; CONTRACT §6.6–6.7), as regulators and platforms use them.

use chrono::{Months, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn today() -> chrono::NaiveDate {
    livecredit::domain::registry::today_cst(Utc::now())
}

fn anchor_id(n: usize) -> String {
    resident_id(&format!("11010119900101{n:03}"))
}

async fn bind(app: &TestApp, token: &str, anchor: &str, party: &str, relation: &str) -> Reply {
    app.post(
        format!("/v1/subjects/{anchor}/relations"),
        token,
        json!({"related_subject_id": party, "relation": relation, "from": "2026-01-01"}),
    )
    .await
}

async fn end_relation(app: &TestApp, token: &str, subject: &str, relation: &str) -> Reply {
    let path = format!("/v1/subjects/{subject}/relations/{relation}");
    app.call(Method::DELETE, path, Some(token), None).await
}

async fn anchors_of_listed_mcns_screen_review_naming_the_mcn(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    let mcn = |name: &str, code: &str| json!({"kind": "mcn", "name": name, "uscc": uscc(code)});
    let first = app
        .create_subject(&a, mcn("星火传媒", "91330100MA00MCN01"))
        .await;
    let second = app
        .create_subject(&a, mcn("流量文化", "91330100MA00MCN02"))
        .await;
    // 1,000 anchors, 30 of them working for the two MCNs.
    let mut anchors = Vec::new();
    for n in 0..1000 {
        let anchor = app
            .create_subject(
                &a,
                json!({"kind": "anchor", "name": format!("主播{n}"), "id_number": anchor_id(n)}),
            )
            .await;
        let party = match n {
            0..20 => Some((&first, "employed_by")),
            20..30 => Some((&second, "contracted_with")),
            _ => None,
        };
        if let Some((party, relation)) = party {
            let r = bind(&app, &a, &anchor, party, relation).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            assert_eq!(r.body["current"], true);
        }
        anchors.push(anchor);
    }
    // Found by name alone too: an anchor whose MCN is listed.
    let named = app
        .create_subject(&a, json!({"kind": "anchor", "name": "欧阳娜娜"}))
        .await;
    let r = bind(&app, &a, &named, &first, "contracted_with").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // A platform watching one of the first MCN's anchors hears of its listing.
    let watched = app
        .post(
            "/v1/watchlist",
            &platform,
            json!({"subject_id": anchors[3]}),
        )
        .await;
    assert_eq!(watched.status, 201, "{:?}", watched.body);
    let first_listing = app.list_subject(&a, &b, &first).await;
    app.list_subject(&a, &b, &second).await;

    let items: Vec<Value> = (0..50)
        .map(|n| json!({"id_number": anchor_id(n)}))
        .collect();
    let batch = app
        .post("/v1/screening/batch", &platform, json!({"items": items}))
        .await;
    assert_eq!(batch.status, 200, "{:?}", batch.body);
    let results = batch.body["results"].as_array().unwrap();
    for (n, result) in results.iter().enumerate() {
        let m = &result["matches"][0];
        match n {
            0..30 => {
                assert_eq!(result["decision"], "review", "anchor {n}: {result}");
                let (party, relation, name) = if n < 20 {
                    (&first, "employed_by", "星火传媒")
                } else {
                    (&second, "contracted_with", "流量文化")
                };
                let related = &m["related_listings"][0];
                assert_eq!(related["subject_id"], party.as_str());
                assert_eq!(related["name"], name);
                assert_eq!(related["kind"], "mcn");
                assert_eq!(related["relation"], relation);
                assert!(m["active_listings"].as_array().unwrap().is_empty());
            }
            _ => {
                assert_eq!(result["decision"], "clear", "anchor {n}: {result}");
                assert!(m["related_listings"].as_array().unwrap().is_empty());
            }
        }
    }
    let by_name = app
        .post("/v1/screening", &platform, json!({"name": "Ouyang Nana"}))
        .await;
    assert_eq!(by_name.body["decision"], "review", "{:?}", by_name.body);
    assert_eq!(by_name.body["matches"][0]["subject_id"], named.as_str());
    assert_eq!(
        by_name.body["matches"][0]["related_listings"][0]["subject_id"],
        first.as_str()
    );
    let stranger = app
        .post("/v1/screening", &platform, json!({"name": "主播999"}))
        .await;
    assert_eq!(stranger.body["decision"], "clear", "{:?}", stranger.body);
    let events = app.get("/v1/events", &platform).await;
    let related: Vec<&Value> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "related.listing_published")
        .collect();
    assert_eq!(related.len(), 1, "{:?}", events.body);
    assert_eq!(related[0]["subject_id"], anchors[3].as_str());
    assert_eq!(related[0]["data"]["related_subject_id"], first.as_str());
    assert_eq!(related[0]["data"]["relation"], "employed_by");
    assert_eq!(
        related[0]["data"]["listing"]["listing_id"],
        first_listing.as_str()
    );

    // The relation ends: the anchor screens clear again; the history stays.
    let relations = app
        .get(format!("/v1/subjects/{}/relations", anchors[0]), &a)
        .await;
    assert_eq!(relations.status, 200, "{:?}", relations.body);
    let relation = relations.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = end_relation(&app, &a, &anchors[0], &relation).await;
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    assert_eq!(ended.body["to"], today().to_string());
    assert_eq!(ended.body["current"], false);
    let again = end_relation(&app, &a, &anchors[0], &relation).await;
    assert_problem(&again, 409);
    let single = app
        .post(
            "/v1/screening",
            &platform,
            json!({"id_number": anchor_id(0)}),
        )
        .await;
    assert_eq!(single.body["decision"], "clear", "{:?}", single.body);
    let history = app
        .get(format!("/v1/subjects/{}/relations", anchors[0]), &a)
        .await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(history.body["items"][0]["related_name"], "星火传媒");
}
both_backends!(
    anchors_of_listed_mcns_screen_review_naming_the_mcn,
    anchors_of_listed_mcns_screen_review_naming_the_mcn
);

async fn relations_and_kinds_are_checked(app: TestApp) {
    let (_, a) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    let operator = app
        .create_subject(&a, json!({"kind": "room_operator", "name": "好物直播间", "uscc": uscc("91330100MA00RM001")}))
        .await;
    let merchant = app
        .create_subject(
            &a,
            json!({"kind": "merchant", "name": "某某食品", "uscc": uscc("91330100MA00MT001")}),
        )
        .await;
    let anchor = app
        .create_subject(
            &a,
            json!({"kind": "anchor", "name": "李四", "id_number": anchor_id(7)}),
        )
        .await;
    // An MCN is a business: a USCC, never a resident ID.
    assert_invalid_field(
        &app.post(
            "/v1/subjects",
            &a,
            json!({"kind": "mcn", "name": "某机构", "id_number": anchor_id(8)}),
        )
        .await,
        "id_number",
    );
    let room = app
        .post(
            format!("/v1/subjects/{operator}/relations"),
            &a,
            json!({"related_subject_id": merchant, "relation": "operates_room_for", "from": "2026-03-01"}),
        )
        .await;
    assert_eq!(room.status, 201, "{:?}", room.body);
    assert_eq!(room.body["related_kind"], "merchant");
    assert_problem(
        &bind(&app, &a, &operator, &merchant, "operates_room_for").await,
        409,
    );
    assert_invalid_field(
        &bind(&app, &a, &merchant, &anchor, "employed_by").await,
        "relation",
    );
    assert_invalid_field(
        &bind(&app, &a, &anchor, &anchor, "employed_by").await,
        "related_subject_id",
    );
    assert_invalid_field(
        &bind(&app, &a, &anchor, &operator, "operates_room_for").await,
        "relation",
    );
    let backwards = app
        .post(
            format!("/v1/subjects/{anchor}/relations"),
            &a,
            json!({"related_subject_id": operator, "relation": "employed_by",
                "from": "2026-03-01", "to": "2026-02-01"}),
        )
        .await;
    assert_invalid_field(&backwards, "to");
    let future = app
        .post(
            format!("/v1/subjects/{anchor}/relations"),
            &a,
            json!({"related_subject_id": operator, "relation": "employed_by", "from": "2999-01-01"}),
        )
        .await;
    assert_invalid_field(&future, "from");
    assert_invalid_field(
        &bind(
            &app,
            &a,
            &anchor,
            "00000000-0000-7000-8000-000000000000",
            "employed_by",
        )
        .await,
        "related_subject_id",
    );
    assert_problem(
        &bind(&app, &platform, &anchor, &operator, "employed_by").await,
        403,
    );
    assert_problem(
        &app.get(format!("/v1/subjects/{anchor}/relations"), &platform)
            .await,
        403,
    );
    assert_problem(
        &app.get(
            "/v1/subjects/00000000-0000-7000-8000-000000000000/relations",
            &a,
        )
        .await,
        404,
    );
    // A violation names the business that shares the responsibility.
    let violation = app
        .post(
            format!("/v1/subjects/{anchor}/violations"),
            &a,
            json!({"category": "data_fraud", "severity": "general", "description": "刷单",
                "related_subject_ids": [operator]}),
        )
        .await;
    assert_eq!(violation.status, 201, "{:?}", violation.body);
    assert_eq!(violation.body["related_subject_ids"], json!([operator]));
    assert_invalid_field(
        &app.post(
            format!("/v1/subjects/{anchor}/violations"),
            &a,
            json!({"category": "data_fraud", "severity": "general", "description": "刷单",
                "related_subject_ids": [anchor]}),
        )
        .await,
        "related_subject_ids[0]",
    );
}
both_backends!(
    relations_and_kinds_are_checked,
    relations_and_kinds_are_checked
);

async fn screen_id(app: &TestApp, platform: &str, n: usize) -> Value {
    let r = app
        .post(
            "/v1/screening",
            platform,
            json!({"id_number": anchor_id(n)}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn platforms_see_penalties_only_while_they_are_published(app: TestApp) {
    let (_, a) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    let four_months_ago = today() - Months::new(4);
    let two_months_ago = today() - Months::new(2);
    let subject =
        |n: usize, name: &str| json!({"kind": "anchor", "name": name, "id_number": anchor_id(n)});

    // A criticism four months old: past its three months (Order 45 art. 13).
    let old = app.create_subject(&a, subject(1, "王五")).await;
    let violation = app
        .record_violation(
            &a,
            &old,
            json!({"category": "false_advertising", "severity": "serious", "description": "夸大功效",
                "decided_on": four_months_ago, "penalty_kinds": ["criticism"]}),
        )
        .await;
    let r = screen_id(&app, &platform, 1).await;
    assert_eq!(r["decision"], "clear", "{r}");
    assert_eq!(r["matches"][0]["subject_id"], old.as_str());
    assert_eq!(r["matches"][0]["score"], Value::Null, "{r}");
    assert_eq!(r["matches"][0]["band"], Value::Null);
    assert_eq!(r["matches"][0]["violations"], 0);
    // The regulator still sees it, and it still costs points in their score.
    let seen = app.get(format!("/v1/violations/{violation}"), &a).await;
    assert_eq!(seen.status, 200);
    let score = app.get(format!("/v1/subjects/{old}/score"), &a).await;
    assert!(
        score.body["score"].as_f64().unwrap() < 100.0,
        "{:?}",
        score.body
    );

    // The same two months old is still published.
    let recent = app.create_subject(&a, subject(2, "赵六")).await;
    app.record_violation(
        &a,
        &recent,
        json!({"category": "false_advertising", "severity": "serious", "description": "夸大功效",
            "decided_on": two_months_ago, "penalty_kinds": ["criticism"]}),
    )
    .await;
    let r = screen_id(&app, &platform, 2).await;
    let m = &r["matches"][0];
    assert!(m["score"].as_f64().unwrap() < 100.0, "{r}");
    assert_eq!(m["violations"], 1);
    assert!(m["band"].is_string());

    // A warning alone is never published (art. 2).
    let warned = app.create_subject(&a, subject(3, "钱七")).await;
    app.record_violation(
        &a,
        &warned,
        json!({"category": "other", "severity": "minor", "description": "未亮照",
            "penalty_kinds": ["warning"]}),
    )
    .await;
    assert_eq!(
        screen_id(&app, &platform, 3).await["matches"][0]["score"],
        Value::Null
    );

    // Three serious fines beyond the lower-fine bound: band C or D shows, review.
    let heavy = app.create_subject(&a, subject(4, "孙八")).await;
    for _ in 0..3 {
        app.record_violation(
            &a,
            &heavy,
            json!({"category": "price_fraud", "severity": "serious", "description": "虚构原价",
                "decided_on": two_months_ago, "penalty_kinds": ["fine"], "fine_cents": 5_000_000}),
        )
        .await;
    }
    let r = screen_id(&app, &platform, 4).await;
    assert_eq!(r["decision"], "review", "{r}");
    assert_eq!(r["matches"][0]["violations"], 3);
}
both_backends!(
    platforms_see_penalties_only_while_they_are_published,
    platforms_see_penalties_only_while_they_are_published
);

async fn a_period_ending_is_seen_by_upkeep_and_told_to_watchers(app: TestApp) {
    let (_, a) = app.user_with_role("regulator").await;
    let (_, platform) = app.user_with_role("platform").await;
    let subject = app
        .create_subject(
            &a,
            json!({"kind": "anchor", "name": "周九", "id_number": anchor_id(9)}),
        )
        .await;
    let watched = app
        .post("/v1/watchlist", &platform, json!({"subject_id": subject}))
        .await;
    assert_eq!(watched.status, 201, "{:?}", watched.body);
    let violation = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "false_advertising", "severity": "general", "description": "夸大功效",
                "decided_on": today() - Months::new(2), "penalty_kinds": ["criticism"]}),
        )
        .await;
    let shown = screen_id(&app, &platform, 9).await;
    assert!(shown["matches"][0]["score"].is_number(), "{shown}");
    let band = shown["matches"][0]["band"].clone();

    // A day past its three months, as if the days had gone by: the stored
    // values are a day old, and the daily upkeep brings them up to date.
    let decided = today() - Months::new(3) - chrono::Days::new(1);
    app.execute_sql(&format!(
        "UPDATE violations SET decided_on = '{decided}' WHERE id = '{violation}'"
    ));
    app.execute_sql(&format!(
        "UPDATE subjects SET score_as_of = '2000-01-01' WHERE id = '{subject}'"
    ));
    livecredit::jobs::run_once(&app.db())
        .await
        .expect("upkeep ran");
    // The upkeep ran through a pool of its own, as another instance's would:
    // the server's screening index learns of it from the change stream.
    tokio::time::sleep(STALENESS).await;
    let hidden = screen_id(&app, &platform, 9).await;
    assert_eq!(hidden["matches"][0]["score"], Value::Null, "{hidden}");
    assert_eq!(hidden["decision"], "clear");
    let events = app.get("/v1/events", &platform).await;
    let changes: Vec<&Value> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "score.band_changed")
        .collect();
    let last = changes.last().expect("a band change");
    assert_eq!(last["data"]["from"], band, "{:?}", events.body);
    assert_eq!(last["data"]["to"], Value::Null);
    assert_eq!(last["data"]["score"], Value::Null);
    // The regulator still sees the penalty and its points.
    let score = app.get(format!("/v1/subjects/{subject}/score"), &a).await;
    assert_eq!(score.body["contributions"].as_array().unwrap().len(), 1);
}
both_backends!(
    a_period_ending_is_seen_by_upkeep_and_told_to_watchers,
    a_period_ending_is_seen_by_upkeep_and_told_to_watchers
);
