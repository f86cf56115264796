//! The published blacklist: list, export, snapshot, keys and change feed.

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

async fn publish(app: &TestApp, a: &str, b: &str, subject: Value) -> (String, String) {
    app.publish_listing(a, b, subject).await
}

async fn public_get(app: &TestApp, path: &str) -> Reply {
    app.call(Method::GET, path, None, None).await
}

async fn search(app: &TestApp, q: &str) -> Vec<String> {
    let path = format!("/v1/public/blacklist?q={}", crate::subjects::urlencoding(q));
    listing_ids(&public_get(app, &path).await.body)
}

fn listing_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["listing_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn changes_after(app: &TestApp, cursor: &str) -> (Vec<(String, String)>, String) {
    let path = if cursor.is_empty() {
        "/v1/public/changes".to_owned()
    } else {
        format!("/v1/public/changes?cursor={cursor}")
    };
    let r = public_get(app, &path).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let items = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_owned(),
                c["listing_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (items, r.body["next_cursor"].as_str().unwrap().to_owned())
}

async fn snapshot_version(app: &TestApp) -> i64 {
    public_get(app, "/v1/public/snapshot").await.body["version"]
        .as_i64()
        .unwrap()
}

async fn export_lines(app: &TestApp, format: &str) -> Vec<String> {
    let text = app
        .client
        .get(app.url(&format!("/v1/public/blacklist/export?format={format}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

async fn entries_appear_and_disappear_everywhere(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let v0 = snapshot_version(&app).await;
    let (_, cursor0) = changes_after(&app, "").await;

    let id_number = resident_id("33010619920202567");
    let (listed_subject, listed) = publish(
        &app,
        &a,
        &b,
        json!({"kind": "anchor", "name": "张伟", "aliases": ["伟哥直播"], "id_number": id_number,
        "accounts": [{"platform": "douyin", "handle": "zhangwei_live"}]}),
    )
    .await;
    let list = public_get(&app, "/v1/public/blacklist").await;
    assert_eq!(listing_ids(&list.body), vec![listed.clone()]);
    let entry = &list.body["items"][0];
    let keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "authority",
            "decision_no",
            "expires_on",
            "legal_basis",
            "listed_on",
            "listing_id",
            "reason",
            "subject"
        ]
    );
    let subject_keys: Vec<&str> = entry["subject"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        subject_keys,
        ["accounts", "id_number_masked", "kind", "name"]
    );
    assert_eq!(
        entry["subject"]["id_number_masked"],
        format!("3301**********{}", &id_number[14..])
    );
    assert_eq!(entry["listed_on"], "2026-06-09");
    assert_eq!(entry["expires_on"], "2029-06-09");
    assert!(entry["authority"].as_str().unwrap().starts_with("bureau "));
    assert!(entry["decision_no"].as_str().unwrap().contains("〔2026〕"));
    assert!(!list.body.to_string().contains(&id_number));

    let v1 = snapshot_version(&app).await;
    assert_eq!(v1, v0 + 1);
    assert_eq!(export_lines(&app, "ndjson").await.len(), 1);
    let csv = export_lines(&app, "csv").await;
    assert_eq!(csv[0], "listing_id,name,kind,id_number_masked,uscc,accounts,reason,legal_basis,authority,listed_on,expires_on,decision_no");
    assert!(csv[1].starts_with(&format!("{listed},张伟,anchor,")));
    let (changes, cursor1) = changes_after(&app, &cursor0).await;
    assert_eq!(
        changes,
        vec![("listing.published".to_owned(), listed.clone())]
    );

    // Writes that leave the public list alone leave the version alone.
    let (_, other) = app.user_with_role("regulator").await;
    let unlisted = app
        .create_subject(&other, json!({"kind": "anchor", "name": "路人"}))
        .await;
    app.record_violation(
        &other,
        &unlisted,
        json!({"category": "other", "severity": "minor", "description": "d"}),
    )
    .await;
    assert_eq!(snapshot_version(&app).await, v1);
    assert!(changes_after(&app, &cursor1).await.0.is_empty());

    // Expiry: on its day the entry is gone at once and the version moves; recording it later does not move it again.
    app.execute_sql(&format!(
        "UPDATE listings SET expires_on = '2026-06-10' WHERE id = '{listed}'"
    ));
    app.touch_subjects(&[&listed_subject]).await;
    assert!(listing_ids(&public_get(&app, "/v1/public/blacklist").await.body).is_empty());
    assert!(export_lines(&app, "ndjson").await.is_empty());
    let v2 = snapshot_version(&app).await;
    assert_eq!(v2, v1 + 1);
    livecredit::jobs::run_once(&app.db()).await.unwrap();
    assert_eq!(snapshot_version(&app).await, v2);
    let (changes, cursor2) = changes_after(&app, &cursor1).await;
    assert_eq!(
        changes,
        vec![("listing.expired".to_owned(), listed.clone())]
    );

    // Credit repair removes, revocation revokes: gone, one event each, in order.
    let (_, repaired) = publish(
        &app,
        &a,
        &b,
        json!({"kind": "merchant", "name": "某某旗舰店", "uscc": uscc("91330100MA2B00001")}),
    )
    .await;
    let (_, revoked) = publish(&app, &a, &b, json!({"kind": "anchor", "name": "李娜"})).await;
    assert_eq!(
        listing_ids(&public_get(&app, "/v1/public/blacklist").await.body),
        vec![repaired.clone(), revoked.clone()]
    );
    let v3 = snapshot_version(&app).await;
    assert_eq!(v3, v2 + 2);
    app.execute_sql(&format!(
        "UPDATE listings SET listed_on = '2025-01-02' WHERE id = '{repaired}'"
    ));
    let repair = app.approved_repair(&a, &repaired).await;
    assert_eq!(repair["status"], "approved", "{repair:?}");
    app.post(
        format!("/v1/listings/{revoked}/revoke"),
        &a,
        json!({"reason": "处罚被撤销"}),
    )
    .await;
    assert!(listing_ids(&public_get(&app, "/v1/public/blacklist").await.body).is_empty());
    assert_eq!(snapshot_version(&app).await, v3 + 2);
    let (changes, _) = changes_after(&app, &cursor2).await;
    assert_eq!(
        changes,
        vec![
            ("listing.published".to_owned(), repaired.clone()),
            ("listing.published".to_owned(), revoked.clone()),
            ("listing.removed".to_owned(), repaired.clone()),
            ("listing.revoked".to_owned(), revoked.clone()),
        ]
    );
    // Removed entries stay in the archive for regulators.
    assert_eq!(
        app.get(format!("/v1/listings/{repaired}"), &a).await.body["status"],
        "removed"
    );
}
both_backends!(
    entries_appear_and_disappear_everywhere,
    entries_appear_and_disappear_everywhere
);

async fn entries_are_found_by_every_form_of_name_and_identifier(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let id_number = resident_id("44010619850505123");
    let code = uscc("91440101MA59ABCDE");
    let (_, anchor) = publish(
        &app,
        &a,
        &b,
        json!({"kind": "anchor", "name": "刘德华", "aliases": ["华仔"], "id_number": id_number,
        "accounts": [{"platform": "kuaishou", "handle": "LiuDeHua_Official"}]}),
    )
    .await;
    let (_, merchant) = publish(
        &app,
        &a,
        &b,
        json!({"kind": "merchant", "name": "广州好货商贸有限公司", "uscc": code}),
    )
    .await;
    for q in [
        "刘德华",
        "劉德華",
        "德华",
        "华仔",
        "Liu Dehua",
        "liudehua",
        "LIU DE HUA",
        "liú dé huá",
        "liu2 de2 hua2",
        "@liudehua_official",
    ] {
        assert_eq!(search(&app, q).await, vec![anchor.clone()], "{q}");
    }
    assert_eq!(search(&app, &id_number).await, vec![anchor.clone()]);
    assert_eq!(
        search(&app, &id_number.to_lowercase()).await,
        vec![anchor.clone()]
    );
    assert_eq!(search(&app, &code).await, vec![merchant.clone()]);
    assert_eq!(search(&app, "好货").await, vec![merchant.clone()]);
    // Text of several pairs is looked up by its rarest pair, then checked whole.
    assert_eq!(search(&app, "好货商贸有限").await, vec![merchant.clone()]);
    assert!(search(&app, "好货有限").await.is_empty());
    assert!(search(&app, "张学友").await.is_empty());
    assert!(search(&app, "%").await.is_empty());
    let merchants = public_get(&app, "/v1/public/blacklist?kind=merchant").await;
    assert_eq!(listing_ids(&merchants.body), vec![merchant.clone()]);
    assert_eq!(merchants.body["items"][0]["subject"]["uscc"], code.as_str());
    assert!(merchants.body["items"][0]["subject"]
        .get("id_number_masked")
        .is_none());
    let paged = public_get(&app, "/v1/public/blacklist?limit=1").await;
    assert_eq!(listing_ids(&paged.body), vec![anchor.clone()]);
    let next = paged.body["next_cursor"].as_str().unwrap();
    assert_eq!(
        listing_ids(
            &public_get(&app, &format!("/v1/public/blacklist?limit=1&cursor={next}"))
                .await
                .body
        ),
        vec![merchant]
    );
}
both_backends!(
    entries_are_found_by_every_form_of_name_and_identifier,
    entries_are_found_by_every_form_of_name_and_identifier
);

async fn exports_stream_csv_and_ndjson_with_conditional_requests(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    publish(&app, &a, &b, json!({"kind": "merchant", "name": "他说\"最低价\", 其实不是", "uscc": uscc("91310101MA1FPX001")})).await;
    let res = app
        .client
        .get(app.url("/v1/public/blacklist/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let last_modified = res.headers()["last-modified"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    assert!(body.contains("\"他说\"\"最低价\"\", 其实不是\""), "{body}");
    assert!(body.ends_with("\r\n"));

    let again = app
        .client
        .get(app.url("/v1/public/blacklist/export?format=csv"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let since = app
        .client
        .get(app.url("/v1/public/blacklist/export?format=csv"))
        .header("if-modified-since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(since.status(), 304);
    let ndjson = app
        .client
        .get(app.url("/v1/public/blacklist/export"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ndjson.status(),
        200,
        "another format is another representation"
    );
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let line: Value =
        serde_json::from_str(ndjson.text().await.unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(line["subject"]["kind"], "merchant");

    publish(&app, &a, &b, json!({"kind": "anchor", "name": "新增"})).await;
    let changed = app
        .client
        .get(app.url("/v1/public/blacklist/export?format=csv"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert_problem(
        &public_get(&app, "/v1/public/blacklist/export?format=xml").await,
        422,
    );
}
both_backends!(
    exports_stream_csv_and_ndjson_with_conditional_requests,
    exports_stream_csv_and_ndjson_with_conditional_requests
);

/// Verifies with `ring`, an Ed25519 implementation independent of the one that signs.
fn verify_snapshot(snapshot: &Value, keys: &Value) {
    let key_id = snapshot["key_id"].as_str().unwrap();
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id)
        .expect("signing key listed");
    assert_eq!(key["algorithm"], "Ed25519");
    let public = base64::engine::general_purpose::STANDARD
        .decode(key["public_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(public.len(), 32);
    let signature = base64::engine::general_purpose::STANDARD
        .decode(snapshot["signature"].as_str().unwrap())
        .unwrap();
    let mut unsigned = snapshot.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    // RFC 8785 for this document: sorted keys, no whitespace (serde_json's map is ordered).
    let message = serde_json::to_string(&unsigned).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
        .verify(message.as_bytes(), &signature)
        .expect("snapshot signature verifies");
    let mut tampered = unsigned.clone();
    tampered["version"] = json!(snapshot["version"].as_i64().unwrap() + 1);
    assert!(
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
            .verify(
                serde_json::to_string(&tampered).unwrap().as_bytes(),
                &signature
            )
            .is_err()
    );
}

async fn snapshots_are_signed_and_versioned(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let empty = app
        .client
        .get(app.url("/v1/public/snapshot"))
        .send()
        .await
        .unwrap();
    let etag = empty.headers()["etag"].to_str().unwrap().to_owned();
    let raw = empty.text().await.unwrap();
    let empty: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        raw,
        serde_json::to_string(&empty).unwrap(),
        "served in canonical form"
    );
    assert!(empty["entries"].as_array().unwrap().is_empty());
    let keys = public_get(&app, "/v1/public/keys").await.body;
    assert_eq!(keys["keys"][0]["status"], "current");
    verify_snapshot(&empty, &keys);
    let cached = app
        .client
        .get(app.url("/v1/public/snapshot"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    publish(&app, &a, &b, json!({"kind": "anchor", "name": "王五", "accounts": [{"platform": "taobao", "handle": "wangwu"}]})).await;
    let one = public_get(&app, "/v1/public/snapshot").await.body;
    assert_eq!(
        one["version"].as_i64().unwrap(),
        empty["version"].as_i64().unwrap() + 1
    );
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
    assert_eq!(
        one["entries"][0]["subject"]["accounts"][0]["handle"],
        "wangwu"
    );
    verify_snapshot(&one, &keys);
    // A new version is a new document; the same version is the same document.
    assert_eq!(public_get(&app, "/v1/public/snapshot").await.body, one);
}
both_backends!(
    snapshots_are_signed_and_versioned,
    snapshots_are_signed_and_versioned
);

async fn the_change_feed_never_skips_or_repeats_under_concurrency(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    // Prepare noticed listings, then decide them all at once while a reader polls.
    let mut ids = Vec::new();
    for i in 0..12 {
        let subject = app
            .create_subject(&a, json!({"kind": "anchor", "name": format!("并发{i}")}))
            .await;
        let v = app.record_violation(&a, &subject, json!({"category": "other", "severity": "general", "decided_on": "2026-06-01", "description": "d",
            "penalty_kinds": ["fine_aggravated"], "listing_ground": "art9.6"})).await;
        let l = app.post("/v1/listings", &a, json!({"subject_id": subject, "violation_ids": [v], "reason": "r", "legal_basis": "l"})).await;
        let id = l.body["id"].as_str().unwrap().to_owned();
        app.post(
            format!("/v1/listings/{id}/notice"),
            &a,
            json!({"served_on": "2026-06-01"}),
        )
        .await;
        ids.push(id);
    }
    let (_, start) = changes_after(&app, "").await;
    let decisions = futures_util::future::join_all(ids.iter().map(|id| {
        app.post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": "2026-06-09"}),
        )
    }));
    let reader = async {
        let mut seen = Vec::new();
        let mut cursor = start.clone();
        for _ in 0..40 {
            let (items, next) = changes_after(&app, &cursor).await;
            seen.extend(items);
            cursor = next;
            if seen.len() >= 12 {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        seen
    };
    let (replies, mut seen) = futures_util::future::join(decisions, reader).await;
    for r in replies {
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    // Whatever the reader missed while the writes ran, it gets now, once.
    let mut cursor = start;
    let mut all = Vec::new();
    loop {
        let (items, next) = changes_after(&app, &cursor).await;
        if items.is_empty() {
            break;
        }
        all.extend(items);
        cursor = next;
    }
    assert_eq!(all.len(), 12);
    let mut unique: Vec<_> = all.iter().map(|(_, id)| id.clone()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 12);
    seen.dedup();
    assert!(
        seen.len() <= 12 && all.starts_with(&seen),
        "the live reader saw a prefix: {seen:?}"
    );
    assert_problem(&public_get(&app, "/v1/public/changes?cursor=!!").await, 422);
}
both_backends!(
    the_change_feed_never_skips_or_repeats_under_concurrency,
    the_change_feed_never_skips_or_repeats_under_concurrency
);
