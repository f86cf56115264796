//! Operations endpoints: health, readiness, metrics. No authentication.

use actix_web::{get, http::header, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Db};
use crate::error::{ApiError, ApiResult};
use crate::telemetry::Metrics;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: String,
    /// `sqlite` or `postgres` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// Process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "health",
    responses((status = 200, description = "The process is running", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok".into(),
        database: None,
    })
}

/// Database reachable.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readiness",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ))]
#[get("/readyz")]
pub async fn readyz(db: web::Data<Db>) -> ApiResult<web::Json<Health>> {
    let backend = db.backend();
    let up = db
        .run(|conn| Ok::<_, ApiError>(db::ping(conn)))
        .await
        .unwrap_or(false);
    if !up {
        return Err(ApiError::unavailable());
    }
    Ok(web::Json(Health {
        status: "ok".into(),
        database: Some(backend.into()),
    }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>, db: web::Data<Db>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(metrics.render(&db.pool_state(), db.replicas().map(|r| r.as_ref())))
}
