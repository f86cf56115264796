use crate::both_backends;
use crate::helpers::*;

async fn health_readiness_metrics_and_request_ids(app: TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    let expected = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(ready["database"], expected);

    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-123");
    assert_eq!(echoed.headers()["x-content-type-options"], "nosniff");
    assert!(echoed.headers().get("server").is_none());
    let generated = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id\twith tab")
        .send()
        .await
        .unwrap();
    assert_ne!(generated.headers()["x-request-id"], "bad id\twith tab");

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "livecredit_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("livecredit_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("livecredit_db_pool_connections{state=\"open\"}"));

    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let redirect = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(redirect.status().is_redirection());
    let spec: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
}
both_backends!(
    health_readiness_metrics_and_request_ids,
    health_readiness_metrics_and_request_ids
);

/// With the database gone the service answers 503 with Retry-After, not 500.
#[actix_web::test]
async fn database_loss_is_a_503() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    app.pg().unwrap().drop_now();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().contains_key("retry-after"));
    let me = app.get("/v1/me", &app.admin_token).await;
    assert_problem(&me, 503);
    assert!(me.headers.contains_key("retry-after"));
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[actix_web::test]
async fn an_instance_with_another_pepper_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = livecredit::config::DatabaseUrl::Sqlite(dir.path().join("shared.db"));
    let first = crate::helpers::settings_for(url.clone(), dir.path());
    livecredit::app::Application::build(first.clone())
        .await
        .expect("the first instance starts");
    // A second instance with the same settings starts too.
    livecredit::app::Application::build(first.clone())
        .await
        .expect("the same pepper is accepted");
    let mut other = first;
    other.id_pepper =
        livecredit::config::Secret::new(b"another-pepper-of-at-least-32-bytes!!!".to_vec());
    let error = match livecredit::app::Application::build(other).await {
        Ok(_) => panic!("an instance with another pepper started"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("LIVECREDIT_ID_PEPPER"), "{error}");
}
