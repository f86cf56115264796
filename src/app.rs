//! Builds the server: database, shared state, routes. Binds before it runs,
//! so `127.0.0.1:0` works and the chosen address can be reported.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Condition, Next};
use actix_web::{web, App, HttpServer, ResponseError};
use anyhow::Context;
use chrono::Datelike;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::public::SnapshotCache;
use crate::api::watch::ServiceAddress;
use crate::api::{self, json};
use crate::auth::address::client_ip;
use crate::auth::password::DecoyHash;
use crate::auth::{password, TokenService};
use crate::config::Settings;
use crate::db::Db;
use crate::domain::calendar::Calendar;
use crate::error::ApiError;
use crate::infra::evidence::EvidenceStore;
use crate::service;
use crate::service::publication::PublicLimits;
use crate::service::screening::ScreeningLimits;
use crate::signing::KeyStore;
use crate::telemetry::{self, Metrics};

pub struct Application {
    address: SocketAddr,
    server: Server,
}

impl Application {
    /// Opens the database, runs migrations, creates the first admin when
    /// configured, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::open(&settings.database_url, settings.db_pool_size)?.with_replicas(
            &settings.database_read_urls,
            settings.db_pool_size,
            settings.read_max_lag,
        );
        let migrated = {
            let db = db.clone();
            web::block(move || db.migrate()).await??
        };
        tracing::info!(
            backend = db.backend(),
            migrations_applied = migrated,
            "database ready"
        );
        {
            let (db, pepper) = (db.clone(), settings.id_pepper.clone());
            web::block(move || -> anyhow::Result<()> {
                let mut conn = db.conn()?;
                crate::db::check_pepper(&mut conn, pepper.bytes())
            })
            .await??;
        }
        {
            // Keys stored by an older version of the name and handle rules
            // would miss in screening: bring them up to date before serving.
            let db = db.clone();
            web::block(move || -> anyhow::Result<()> {
                let mut conn = db.conn()?;
                service::subjects::rekey_stored_keys(&mut conn)
                    .context("re-keying the stored names and accounts")?;
                Ok(())
            })
            .await??;
        }
        bootstrap_admin(&db, &settings).await?;

        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let address = listener.local_addr()?;
        let service_address = web::Data::new(ServiceAddress(address));
        let decoy = web::block(password::decoy_hash).await?;

        let db = web::Data::new(db);
        let tokens = web::Data::new(TokenService::new(&settings.jwt_secret)?);
        let metrics = web::Data::new(Metrics::new()?);
        let decoy = web::Data::new(DecoyHash(decoy));
        let calendar = web::Data::new(load_calendar(&settings)?);
        let keys = KeyStore::new(&settings.data_dir, settings.signing_key.clone());
        keys.current().context("loading the snapshot signing key")?;
        let keys = web::Data::new(keys);
        let snapshots = web::Data::new(SnapshotCache::default());
        let evidence = web::Data::new(EvidenceStore::open(&settings.evidence_dir).with_context(
            || {
                format!(
                    "opening the evidence store {}",
                    settings.evidence_dir.display()
                )
            },
        )?);
        let settings = web::Data::new(settings);
        crate::jobs::upkeep::spawn(
            db.get_ref().clone(),
            settings.upkeep_every,
            service::upkeep::Retention {
                screening_days: settings.screening_retention_days,
            },
        );
        db.spawn_replica_monitor();
        if !settings.database_read_urls.is_empty() {
            let labels: Vec<String> = settings
                .database_read_urls
                .iter()
                .map(|u| u.label())
                .collect();
            tracing::info!(replicas = ?labels, max_lag_ms = settings.read_max_lag.as_millis() as u64,
                "public reads and screening go to the read replicas while they keep up");
        }
        crate::jobs::webhooks::spawn(
            db.get_ref().clone(),
            service::watch::WebhookPolicy {
                allow_private: settings.webhook_allow_private,
                service: address,
            },
        );
        let writer = web::Data::new(
            service::screening::start_writer(db.get_ref().clone())
                .context("starting the screening recorder")?,
        );
        let live = service::index::Live::new(db.get_ref().clone());
        live.spawn();
        let live = web::Data::new(live);
        let limiter = web::Data::new(ScreeningLimits::new(settings.rate_limit_per_org));
        let public_limits = web::Data::new(PublicLimits::new(
            settings.public_rate_limit,
            settings.public_id_queries_per_hour,
        ));
        spawn_limit_sweeper(limiter.clone(), public_limits.clone());

        let cors_origins = settings.cors_origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(from_fn(crate::auth::extract::authenticate_request))
                .wrap(from_fn(public_rate_limit))
                .wrap(from_fn(docs_policy))
                .wrap(from_fn(telemetry::observe))
                .app_data(db.clone())
                .app_data(tokens.clone())
                .app_data(metrics.clone())
                .app_data(decoy.clone())
                .app_data(settings.clone())
                .app_data(calendar.clone())
                .app_data(keys.clone())
                .app_data(snapshots.clone())
                .app_data(evidence.clone())
                .app_data(service_address.clone())
                .app_data(writer.clone())
                .app_data(live.clone())
                .app_data(limiter.clone())
                .app_data(public_limits.clone())
                .app_data(json::query_config())
                .app_data(json::path_config())
                .configure(api::routes)
                .configure(crate::web::routes)
                .service(web::redirect("/docs", "/docs/"))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .url("/openapi.json", api::ApiDoc::openapi())
                        // No badge fetched from validator.swagger.io: the page works offline.
                        .config(utoipa_swagger_ui::Config::default().validator_url("none")),
                )
                .default_service(web::to(api::not_found))
        })
        .listen(listener)?
        .client_request_timeout(Duration::from_secs(10))
        .client_disconnect_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(30))
        .max_connection_rate(256)
        .shutdown_timeout(30)
        .run();
        Ok(Self { address, server })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until SIGINT or SIGTERM; requests in flight are finished first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tracing::info!("listening on http://{}", self.address);
        self.server.await
    }
}

/// What the Swagger UI at `/docs` may load: its own scripts, styles and
/// images (and the data: images its stylesheet holds), and `/openapi.json`
/// and the API through "Try it out"; nothing from elsewhere, no inline
/// script. Inline styles are allowed: Swagger UI sets them as it renders
/// (refused, the browser reports violations), and without script they
/// cannot run anything.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Sets the Content-Security-Policy of the API docs page and its files.
async fn docs_policy(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let docs = req.path() == "/docs" || req.path().starts_with("/docs/");
    let mut res = next.call(req).await?;
    if docs {
        res.headers_mut().insert(
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            actix_web::http::header::HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
        );
    }
    Ok(res)
}

/// Public endpoints and the public web page, counted per client address
/// before anything else runs (metrics and security headers still apply);
/// the web page answers its 429 as an HTML page, the API as a problem.
async fn public_rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let path = req.path();
    let web_page = path == "/" || path.starts_with("/entries/");
    if web_page || path.starts_with("/v1/public/") {
        let limits = req.app_data::<web::Data<PublicLimits>>();
        let settings = req.app_data::<web::Data<Settings>>();
        if let (Some(limits), Some(settings)) = (limits, settings) {
            let client = client_ip(req.request(), &settings.trusted_proxies);
            if let Err(refused) = limits.admit(client) {
                let e = ApiError::from(refused);
                let response = if web_page {
                    crate::web::error_response(&e)
                } else {
                    e.error_response()
                };
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Keyed limiters hold a little state per address or organization; this
/// drops what has gone idle, once a minute, so memory stays bounded by the
/// clients of the last hour at most (the longest limit's window).
fn spawn_limit_sweeper(screening: web::Data<ScreeningLimits>, public: web::Data<PublicLimits>) {
    actix_web::rt::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(60));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            screening.retain_recent();
            public.retain_recent();
        }
    });
}

/// The OpenAPI document of the server's routes, as served at `/openapi.json`.
pub fn openapi_json() -> String {
    api::openapi_json()
}

/// The working-day calendar: the operator's file when configured, else the
/// built-in one. Years it does not cover count weekends only (logged).
pub fn load_calendar(settings: &Settings) -> anyhow::Result<Calendar> {
    let calendar = match &settings.calendar_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading LIVECREDIT_CALENDAR {}", path.display()))?;
            Calendar::from_toml_str(&text)
                .with_context(|| format!("LIVECREDIT_CALENDAR {}", path.display()))?
        }
        None => Calendar::builtin().context("the built-in calendar")?,
    };
    let this_year = service::today().year();
    for year in calendar.uncovered_years(this_year, this_year + 1) {
        tracing::warn!(year, "the working-day calendar does not cover {year}: only weekends count as days off; set LIVECREDIT_CALENDAR to a file with that year's holidays");
    }
    Ok(calendar)
}

/// Cross-origin access for the configured browser origins only; with none
/// configured the middleware is off and browsers may not read across origins.
fn cors(origins: &[String]) -> actix_cors::Cors {
    origins
        .iter()
        .fold(actix_cors::Cors::default(), |cors, origin| {
            cors.allowed_origin(origin)
        })
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "idempotency-key",
            "if-none-match",
        ])
        .expose_headers(["etag", "x-request-id", "retry-after"])
        .max_age(3600)
}

/// Creates the first admin from `LIVECREDIT_ADMIN_EMAIL`/`_PASSWORD` when no admin exists.
async fn bootstrap_admin(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    let (Some(email), Some(password)) = (
        settings.admin_email.clone(),
        settings.admin_password.clone(),
    ) else {
        return Ok(());
    };
    let db = db.clone();
    let created = web::block(move || {
        service::accounts::bootstrap_admin(&db, &email, &password, "LIVECREDIT_ADMIN_EMAIL")
            .map(|created| (created, email))
    })
    .await?;
    match created {
        Ok((true, email)) => tracing::info!(email = %email, "created the first admin"),
        Ok((false, _)) => {}
        Err(service::ServiceError::Invalid(errors)) => {
            let field = errors.first().map_or("", |e| e.field.as_str());
            let message = errors.first().map_or("", |e| e.message.as_str());
            let variable = if field == "email" {
                "LIVECREDIT_ADMIN_EMAIL"
            } else {
                "LIVECREDIT_ADMIN_PASSWORD"
            };
            anyhow::bail!("{variable} {message}");
        }
        Err(e) => return Err(anyhow::Error::new(e).context("creating the first admin")),
    }
    Ok(())
}
