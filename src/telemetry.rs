//! Logs, request ids, metrics and the headers every response carries.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tracing::Instrument;

use crate::db::replicas::Replicas;

/// Sets up `tracing` from `RUST_LOG` (default `info`); JSON lines when
/// `LIVECREDIT_LOG_FORMAT=json`.
pub fn init_logging() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LIVECREDIT_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Logs go to stderr: stdout is for what a command prints (ids, JSON).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // A second call (tests starting several servers) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Prometheus metrics of one server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    replica_up: IntGaugeVec,
    replica_lag: GaugeVec,
    reads: IntCounterVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "livecredit_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "livecredit_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "livecredit_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )?;
        let replica_up = IntGaugeVec::new(
            Opts::new(
                "livecredit_replica_up",
                "1 when the read replica answered the last check",
            ),
            &["replica"],
        )?;
        let replica_lag = GaugeVec::new(
            Opts::new(
                "livecredit_replica_lag_seconds",
                "How far the read replica is behind the primary",
            ),
            &["replica"],
        )?;
        let reads = IntCounterVec::new(
            Opts::new(
                "livecredit_replica_routed_reads_total",
                "Replica-eligible reads (public, screening) by the server that served them",
            ),
            &["server"],
        )?;
        registry.register(Box::new(replica_up.clone()))?;
        registry.register(Box::new(replica_lag.clone()))?;
        registry.register(Box::new(reads.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
            replica_up,
            replica_lag,
            reads,
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    pub fn render(&self, pool: &diesel::r2d2::State, replicas: Option<&Replicas>) -> String {
        if let Some(replicas) = replicas {
            let (members, primary_reads) = replicas.report();
            let mut counted = vec![("primary", primary_reads)];
            for (label, state, reads) in members {
                self.replica_up
                    .with_label_values(&[label])
                    .set(i64::from(state.up));
                self.replica_lag
                    .with_label_values(&[label])
                    .set(state.lag.as_secs_f64());
                counted.push((label, reads));
            }
            for (server, total) in counted {
                let counter = self.reads.with_label_values(&[server]);
                counter.inc_by(total.saturating_sub(counter.get()));
            }
        }
        self.pool
            .with_label_values(&["open"])
            .set(i64::from(pool.connections));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle_connections));
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

tokio::task_local! {
    /// The id of the request being handled, for error answers and log lines
    /// made where the request itself is out of reach.
    static CURRENT_REQUEST: String;
}

/// The id of the request this task is handling, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST.try_with(Clone::clone).ok()
}

/// Per request: an id (taken from `X-Request-Id` when sane, else new) in the
/// log span and echoed back; metrics by matched route; security headers.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().as_str().to_owned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let mut res = CURRENT_REQUEST
        .scope(id.clone(), next.call(req).instrument(span.clone()))
        .await?;
    let status = res.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, status, elapsed);
    }
    span.in_scope(|| tracing::info!(status, ms = elapsed * 1000.0, "handled"));
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::middleware::from_fn;
    use actix_web::{test, web, App};

    use crate::error::ApiError;

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

    async fn failing() -> Result<&'static str, ApiError> {
        Err(ApiError::Internal(
            anyhow::anyhow!("relation \"listings\" does not exist").context("loading a listing"),
        ))
    }

    #[actix_web::test]
    async fn a_500_names_its_request_and_the_log_line_with_that_id_holds_the_cause() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(from_fn(super::observe))
                .route("/fail", web::get().to(failing)),
        )
        .await;
        for sent in [Some("req-500-check"), None] {
            let mut req = test::TestRequest::get().uri("/fail");
            if let Some(id) = sent {
                req = req.insert_header(("x-request-id", id));
            }
            let res = test::call_service(&app, req.to_request()).await;
            assert_eq!(res.status(), 500);
            let id = res
                .headers()
                .get("x-request-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if let Some(sent) = sent {
                assert_eq!(id, sent);
            }
            let body: serde_json::Value = test::read_body_json(res).await;
            assert_eq!(body["request_id"], id.as_str(), "{body}");
            assert!(
                !body.to_string().contains("listings"),
                "no cause to the client: {body}"
            );
            let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            let line = log
                .lines()
                .find(|l| l.contains("internal error") && l.contains(&id))
                .unwrap_or_else(|| panic!("no log line for {id}: {log}"));
            assert!(
                line.contains("relation \\\"listings\\\" does not exist"),
                "{line}"
            );
            assert!(line.contains("loading a listing"), "{line}");
        }
    }
}
