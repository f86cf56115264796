//! The score policy v1, factor by factor, with hand-computed expectations.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn close(actual: &Value, expected: f64) {
    let a = actual.as_f64().unwrap_or(f64::NAN);
    assert!(
        (a - expected).abs() < 1e-9,
        "expected {expected}, got {actual}"
    );
}

async fn score_at(app: &TestApp, token: &str, subject: &str, as_of: &str) -> Value {
    let r = app
        .get(format!("/v1/subjects/{subject}/score?as_of={as_of}"), token)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn record(
    app: &TestApp,
    token: &str,
    subject: &str,
    category: &str,
    severity: &str,
    decided_on: &str,
) -> String {
    app.record_violation(token, subject, json!({"category": category, "severity": severity, "decided_on": decided_on, "description": "d"}))
        .await
}

async fn base_and_category_factors(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    // Base by severity, age 0 (decay 1), category "other" (factor 1).
    for (severity, base) in [
        ("minor", 1.0),
        ("general", 4.0),
        ("serious", 12.0),
        ("especially_serious", 30.0),
    ] {
        let subject = app
            .create_subject(
                &reg,
                json!({"kind": "anchor", "name": format!("base {severity}")}),
            )
            .await;
        record(&app, &reg, &subject, "other", severity, "2025-05-05").await;
        let s = score_at(&app, &reg, &subject, "2025-05-05").await;
        close(&s["contributions"][0]["base"], base);
        close(&s["contributions"][0]["points"], base);
        close(&s["score"], 100.0 - base);
        assert_eq!(s["policy_version"], 1);
    }
    // One general violation per category on one subject: no repeats, so
    // points are 4 × factor: 4 × (1.0 + 1.2 + 1.5 + 1.2 + 1.2 + 1.0 + 1.0) = 32.4.
    let subject = app
        .create_subject(&reg, json!({"kind": "merchant", "name": "各类违法"}))
        .await;
    let factors = [
        ("false_advertising", 1.0),
        ("price_fraud", 1.2),
        ("off_platform_transaction", 1.5),
        ("data_fraud", 1.2),
        ("substandard_product", 1.2),
        ("after_sales_refusal", 1.0),
        ("other", 1.0),
    ];
    for (category, _) in factors {
        record(&app, &reg, &subject, category, "general", "2025-05-05").await;
    }
    let s = score_at(&app, &reg, &subject, "2025-05-05").await;
    for (category, factor) in factors {
        let row = s["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["category"] == category)
            .unwrap();
        close(&row["category_factor"], factor);
        close(&row["repeat_factor"], 1.0);
        close(&row["points"], 4.0 * factor);
    }
    close(&s["score"], 67.6);
    assert_eq!(s["band"], "C");
}
both_backends!(base_and_category_factors, base_and_category_factors);

async fn repeat_and_decay_factors(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let subject = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "屡犯"}))
        .await;
    // Five price-fraud violations within a year: repeat 1, 1.5, 2, 2.5, 2.5 (capped).
    for date in [
        "2025-01-01",
        "2025-03-01",
        "2025-06-01",
        "2025-09-01",
        "2025-12-31",
    ] {
        record(&app, &reg, &subject, "price_fraud", "general", date).await;
    }
    let s = score_at(&app, &reg, &subject, "2025-12-31").await;
    let rows = s["contributions"].as_array().unwrap();
    let repeat: Vec<f64> = rows
        .iter()
        .map(|c| c["repeat_factor"].as_f64().unwrap())
        .collect();
    assert_eq!(repeat, [1.0, 1.5, 2.0, 2.5, 2.5]);
    // Ages 364, 305, 213, 121 and 0 days in a 365-day window.
    let ages = [364.0, 305.0, 213.0, 121.0, 0.0];
    let mut total = 0.0;
    for (i, age) in ages.iter().enumerate() {
        let decay: f64 = 1.0 - age / 365.0;
        close(&rows[i]["age_days"], *age);
        let points = 4.0 * 1.2 * repeat[i] * decay;
        total += points;
        close(&rows[i]["points"], (points * 100.0).round() / 100.0);
    }
    close(&s["score"], ((100.0 - total) * 10.0).round() / 10.0);

    // The 365-day lookback: day 365 still counts, day 366 does not.
    let edge = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "边界"}))
        .await;
    record(&app, &reg, &edge, "data_fraud", "serious", "2024-01-01").await;
    record(&app, &reg, &edge, "data_fraud", "serious", "2024-12-31").await; // 365 days later (2024 is a leap year: 366 days long)
    record(&app, &reg, &edge, "data_fraud", "serious", "2026-01-02").await; // 367 days after 2024-12-31
    let s = score_at(&app, &reg, &edge, "2026-01-02").await;
    let repeat: Vec<f64> = s["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["repeat_factor"].as_f64().unwrap())
        .collect();
    assert_eq!(repeat, [1.0, 1.5, 1.0]);

    // Decay: a minor violation is gone after 90 days, a general one halves at 182.5.
    let decay = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "衰减"}))
        .await;
    record(&app, &reg, &decay, "other", "minor", "2025-01-01").await;
    close(
        &score_at(&app, &reg, &decay, "2025-01-01").await["score"],
        99.0,
    );
    let half = score_at(&app, &reg, &decay, "2025-02-15").await; // 45 of 90 days
    close(&half["contributions"][0]["decay_factor"], 0.5);
    close(&half["score"], 99.5);
    let gone = score_at(&app, &reg, &decay, "2025-04-01").await; // 90 days
    close(&gone["score"], 100.0);
    assert_eq!(
        gone["contributions"].as_array().unwrap().len(),
        1,
        "counted, with 0 points"
    );
    close(&gone["contributions"][0]["points"], 0.0);
    // Before its decision it does not count at all.
    assert!(
        score_at(&app, &reg, &decay, "2024-12-31").await["contributions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
both_backends!(repeat_and_decay_factors, repeat_and_decay_factors);

async fn revocation_counts_from_its_date_and_the_stored_score_matches(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let subject = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "撤销"}))
        .await;
    let v = record(&app, &reg, &subject, "price_fraud", "serious", "2025-01-10").await;
    app.post(
        format!("/v1/violations/{v}/revoke"),
        &reg,
        json!({"reason": "复议撤销", "revoked_on": "2025-02-01"}),
    )
    .await;
    assert_eq!(
        score_at(&app, &reg, &subject, "2025-01-31").await["contributions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        score_at(&app, &reg, &subject, "2025-02-01").await["contributions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    close(
        &score_at(&app, &reg, &subject, "2025-02-01").await["score"],
        100.0,
    );

    // Bands at their thresholds: 10 points → 90 is A; 10.1 → B.
    let a = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "门槛"}))
        .await;
    for _ in 0..1 {
        record(&app, &reg, &a, "other", "general", "2025-05-05").await;
    }
    record(
        &app,
        &reg,
        &a,
        "after_sales_refusal",
        "general",
        "2025-05-05",
    )
    .await;
    record(&app, &reg, &a, "false_advertising", "minor", "2025-05-05").await;
    record(&app, &reg, &a, "data_fraud", "minor", "2025-05-05").await;
    let s = score_at(&app, &reg, &a, "2025-05-05").await; // 4 + 4 + 1 + 1.2 = 10.2
    close(&s["score"], 89.8);
    assert_eq!(s["band"], "B");

    // Concurrent writes on one subject: the stored score equals a recomputation.
    let busy = app
        .create_subject(&reg, json!({"kind": "merchant", "name": "并发"}))
        .await;
    let writes = (0..20).map(|i| {
        let category = ["price_fraud", "data_fraud", "other", "false_advertising"][i % 4];
        app.post(
            format!("/v1/subjects/{busy}/violations"),
            &reg,
            json!({"category": category, "severity": "minor", "description": "d"}),
        )
    });
    for r in futures_util::future::join_all(writes).await {
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let stored = app.get(format!("/v1/subjects/{busy}"), &reg).await;
    let today = livecredit::domain::registry::today_cst(chrono::Utc::now()).to_string();
    let fresh = score_at(&app, &reg, &busy, &today).await;
    assert_eq!(stored.body["score"], fresh["score"]);
    assert_eq!(stored.body["band"], fresh["band"]);
    assert_eq!(stored.body["score_as_of"], today.as_str());
    assert_eq!(fresh["contributions"].as_array().unwrap().len(), 20);
    assert_problem(
        &app.get(format!("/v1/subjects/{busy}/score?as_of=yesterday"), &reg)
            .await,
        422,
    );
    assert_problem(&app.get("/v1/subjects/nope/score", &reg).await, 404);
}
both_backends!(
    revocation_counts_from_its_date_and_the_stored_score_matches,
    revocation_counts_from_its_date_and_the_stored_score_matches
);
