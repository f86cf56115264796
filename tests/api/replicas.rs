//! Read replicas, in process: PostgreSQL only. A real streaming replica is
//! tested by `scripts/replica.py`; here the "replica" is either the primary's
//! own database (a server that is not a standby reports its own position) or
//! an address where nothing listens.

use livecredit::db::replicas;
use serde_json::json;

use crate::helpers::*;

/// Polls `/metrics` until a line starts with `prefix`; returns that line's value.
async fn metric(app: &TestApp, prefix: &str) -> Option<f64> {
    for _ in 0..50 {
        let text = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if let Some(line) = text.lines().find(|l| l.starts_with(prefix)) {
            return line.rsplit(' ').next().and_then(|v| v.parse().ok());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

#[actix_web::test]
async fn public_reads_and_screening_go_to_a_replica_that_has_the_readers_writes() {
    let Some(app) = spawn_app_with(Backend::Postgres, |s| {
        s.database_read_urls = vec![s.database_url.clone()];
    })
    .await
    else {
        return;
    };
    let label = app.database_url.label();
    let up = format!("livecredit_replica_up{{replica=\"{label}\"}}");
    for _ in 0..50 {
        if metric(&app, &up).await == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(&app, &up).await,
        Some(1.0),
        "the monitor never saw the replica"
    );

    let ((regulator_id, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    let (subject, listing) = app
        .publish_listing(&a, &b, json!({"kind": "anchor", "name": "复制测试"}))
        .await;

    // The regulator's writes left a position their next reads must honour.
    let db = app.db();
    let position = {
        let mut conn = db.conn().unwrap();
        replicas::WritePosition::of(&mut conn, &regulator_id).unwrap()
    };
    assert!(position.is_some_and(|p| p > 0), "{position:?}");

    let served = format!("livecredit_replica_routed_reads_total{{server=\"{label}\"}}");
    let primary = "livecredit_replica_routed_reads_total{server=\"primary\"}";
    let count = |name: String| {
        let app = &app;
        async move { metric(app, &name).await.unwrap_or(0.0) }
    };
    // A public read the database answers (searches come from the
    // instance's screening index): the entry's page.
    let search = format!("/entries/{listing}");

    // The platform has written nothing: the replica serves it. (A name is
    // answered from the instance's screening index; an identifier the index
    // does not hold is looked up in the database, here on the replica.)
    let before = count(served.clone()).await;
    let r = app
        .post(
            "/v1/screening",
            &platform,
            json!({"name": "复制测试", "uscc": uscc("91350100M000100Y4")}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["matches"][0]["subject_id"], subject.as_str());
    assert!(r.body["list_version"].as_i64().unwrap() >= 1);
    assert_eq!(count(served.clone()).await, before + 1.0);

    // A write the replica has not replayed yet (a position far ahead of
    // it): the primary serves the regulator, who sees their listing.
    app.execute_sql(&format!(
        "UPDATE write_positions SET lsn = 9223372036854775000 WHERE user_id = '{regulator_id}'"
    ));
    let (before, primary_before) = (count(served.clone()).await, count(primary.into()).await);
    let r = app.get(&search, &a).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body.to_string().contains("复制测试"), "{:?}", r.body);
    assert_eq!(count(primary.into()).await, primary_before + 1.0);
    assert_eq!(count(served.clone()).await, before);

    // Once the replica has replayed the write, it serves the regulator too.
    app.execute_sql(&format!(
        "UPDATE write_positions SET lsn = 1 WHERE user_id = '{regulator_id}'"
    ));
    let r = app.get(&search, &a).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body.to_string().contains("复制测试"), "{:?}", r.body);
    assert_eq!(count(served.clone()).await, before + 1.0);
}

#[actix_web::test]
async fn a_replica_that_does_not_answer_costs_no_request_an_error() {
    let Some(app) = spawn_app_with(Backend::Postgres, |s| {
        s.database_read_urls = vec![livecredit::config::DatabaseUrl::Postgres(
            "postgres://postgres@127.0.0.1:1/nowhere".into(),
        )];
    })
    .await
    else {
        return;
    };
    let ((_, a), (_, b)) = app.two_officials().await;
    let (_, platform) = app.user_with_role("platform").await;
    app.publish_listing(&a, &b, json!({"kind": "anchor", "name": "备用测试"}))
        .await;
    // An identifier the screening index does not hold is looked up in the
    // database: that read falls back to the primary.
    let unknown = uscc("91350100M000100Y4");
    for _ in 0..3 {
        let r = app
            .post(
                "/v1/screening",
                &platform,
                json!({"name": "备用测试", "uscc": unknown}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(
            r.body["decision"], "review",
            "a name-only match to a listed subject"
        );
        let r = app
            .call(reqwest::Method::GET, "/v1/public/changes", None, None)
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let down = "livecredit_replica_up{replica=\"127.0.0.1:1/nowhere\"}";
    assert_eq!(metric(&app, down).await, Some(0.0));
    let primary = metric(
        &app,
        "livecredit_replica_routed_reads_total{server=\"primary\"}",
    )
    .await
    .unwrap_or(0.0);
    assert!(primary >= 6.0, "the primary served {primary} reads");
}
