//! Background work: a failure is logged with the database's own message,
//! not a generic one.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn an_upkeep_failure_is_logged_with_its_cause(app: TestApp) {
    // Break the database under the running service: upkeep's first query fails.
    app.execute_sql("ALTER TABLE listings RENAME TO listings_gone");
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    livecredit::jobs::upkeep::tick(&app.db()).await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("background task failed"), "{log}");
    assert!(log.contains("upkeep"), "{log}");
    let database_says = match app.backend {
        Backend::Sqlite => "no such table: listings",
        // The log quotes the message, so its own quotes come escaped.
        Backend::Postgres => "relation \\\"listings\\\" does not exist",
    };
    assert!(
        log.contains(database_says),
        "the log should hold the database's own message ({database_says}): {log}"
    );
    assert!(
        !log.contains("it has been logged"),
        "the generic client message is no cause: {log}"
    );
}
both_backends!(
    an_upkeep_failure_is_logged_with_its_cause,
    an_upkeep_failure_is_logged_with_its_cause
);

/// A 5xx that does happen names its request: the problem carries the
/// request id (the caller's `X-Request-Id`, or a generated one), which the
/// error's log line carries too (`ApiError::error_response`), with the cause.
async fn a_server_error_names_its_request(app: TestApp) {
    let (_, regulator) = app.user_with_role("regulator").await;
    app.execute_sql("ALTER TABLE listings RENAME TO listings_gone");
    let res = app
        .client
        .get(app.url("/v1/listings"))
        .bearer_auth(&regulator)
        .header("x-request-id", "trace-500")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["x-request-id"], "trace-500");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["request_id"], "trace-500", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.contains("listings"),
        "the cause goes to the log, not to the client: {detail}"
    );
}
both_backends!(
    a_server_error_names_its_request,
    a_server_error_names_its_request
);
