//! Violations: recorded by regulators, append-only, revocable with a reason.

use actix_web::{get, post, web, HttpResponse};

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::PageParams;
use super::params::{Id, Query};
use crate::auth::{ReaderOrParty, Regulator};
use crate::db::Db;
use crate::error::ApiResult;
use crate::page_type;
use crate::service::violations::{
    self, DecidePenalty, RecordViolation, RevokeViolation, ViolationView,
};

page_type!(ViolationPage, ViolationView);

/// Record a violation of a subject.
#[utoipa::path(post, path = "/v1/subjects/{id}/violations", tag = "violations", operation_id = "recordViolation",
    params(("id" = uuid::Uuid, Path, description = "Subject id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = RecordViolation, security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded; `status` is `effective`, or `pending` for a penalty not yet decided", body = ViolationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/subjects/{id}/violations")]
pub async fn record_violation(
    Regulator(user): Regulator,
    subject_id: Id,
    key: IdempotencyKey,
    body: ApiJson<RecordViolation>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let (actor, subject_id, input) = (user.actor(), subject_id.into_inner(), body.0);
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        violations::record(conn, &actor, &subject_id, input)
    })
    .await
}

/// A subject's violations, revoked ones included.
#[utoipa::path(get, path = "/v1/subjects/{id}/violations", tag = "violations", operation_id = "listSubjectViolations",
    params(("id" = uuid::Uuid, Path, description = "Subject id"), PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, in recording order", body = ViolationPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/subjects/{id}/violations")]
pub async fn list_violations(
    ReaderOrParty(caller): ReaderOrParty,
    subject_id: Id,
    page: Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ViolationPage>> {
    let (actor, subject_id, page) = (caller.actor(), subject_id.into_inner(), page.request()?);
    let page = db
        .run(move |conn| violations::list_of_subject(conn, &actor, &subject_id, &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// One violation with its history.
#[utoipa::path(get, path = "/v1/violations/{id}", tag = "violations", operation_id = "getViolation",
    params(("id" = uuid::Uuid, Path, description = "Violation id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The violation", body = ViolationView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/violations/{id}")]
pub async fn get_violation(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ViolationView>> {
    let (actor, id) = (caller.actor(), id.into_inner());
    Ok(web::Json(
        db.run(move |conn| violations::get(conn, &actor, &id))
            .await?,
    ))
}

/// Revoke a violation (decision annulled on reconsideration or in court).
#[utoipa::path(post, path = "/v1/violations/{id}/revoke", tag = "violations", operation_id = "revokeViolation",
    params(("id" = uuid::Uuid, Path, description = "Violation id")),
    request_body = RevokeViolation, security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = ViolationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/violations/{id}/revoke")]
pub async fn revoke_violation(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<RevokeViolation>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ViolationView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| violations::revoke(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// Enter the decision of a pending penalty: it becomes effective and counts from now on.
#[utoipa::path(post, path = "/v1/violations/{id}/decide", tag = "violations", operation_id = "decidePenalty",
    params(("id" = String, Path, description = "Violation id")),
    request_body = DecidePenalty, security(("bearer" = [])),
    responses(
        (status = 200, description = "Effective", body = ViolationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/violations/{id}/decide")]
pub async fn decide_penalty(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<DecidePenalty>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ViolationView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| violations::decide(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}
