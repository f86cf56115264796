//! Credit repair under SAMR Order 107 over HTTP (CONTRACT §6.4), and the
//! subject's portal session (§6.5).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::json::ApiJson;
use super::pagination::PageParams;
use super::params::{Id, Query};
use crate::auth::address::client_address;
use crate::auth::tokens::TokenService;
use crate::auth::{ReaderOrParty, Regulator, RegulatorOrParty};
use crate::config::Settings;
use crate::db::Db;
use crate::domain::calendar::Calendar;
use crate::domain::repairs::RepairStatus;
use crate::error::{ApiError, ApiResult};
use crate::page_type;
use crate::service::portal::{self, PortalSession, PortalSignIn};
use crate::service::repairs::{
    self, AnswerRepair, ApplyForRepair, DecideRepair, ExtendRepair, RepairFilter, RepairView,
    SupplementRepair,
};

page_type!(RepairPage, RepairView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RepairQuery {
    pub status: Option<RepairStatus>,
    /// The deciding authority.
    #[param(value_type = Option<uuid::Uuid>)]
    pub organization_id: Option<String>,
    /// Page size: default 50; above 500 is treated as 500.
    #[param(minimum = 1)]
    #[serde(default, deserialize_with = "crate::api::params::whole_number")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Apply for credit repair: online by the subject in the portal, or in person, recorded by a
/// regulator of the listing's authority. Refusals name their condition: `too_early`,
/// `ban_in_force`, `new_heavier_penalty`, `repair_barred_until`, `repair_open`.
#[utoipa::path(post, path = "/v1/listings/{id}/repairs", tag = "repairs", operation_id = "applyForRepair",
    params(("id" = uuid::Uuid, Path, description = "Listing id")),
    request_body = ApplyForRepair, security(("bearer" = [])),
    responses(
        (status = 201, description = "Received: to be accepted by `acceptance_due_by`", body = RepairView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/repairs")]
pub async fn apply_for_repair(
    RegulatorOrParty(caller): RegulatorOrParty,
    id: Id,
    body: ApiJson<ApplyForRepair>,
    db: web::Data<Db>,
    calendar: web::Data<Calendar>,
) -> ApiResult<HttpResponse> {
    let (actor, id, input) = (caller.actor(), id.into_inner(), body.0);
    let calendar = calendar.clone();
    let view = db
        .write(move |conn| repairs::apply(conn, &actor, &calendar, &id, input))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The repairs queue, oldest first, with deadlines and overdue flags; a subject sees their own.
#[utoipa::path(get, path = "/v1/repairs", tag = "repairs", operation_id = "listRepairs",
    params(RepairQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = RepairPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/repairs")]
pub async fn list_repairs(
    ReaderOrParty(caller): ReaderOrParty,
    query: Query<RepairQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<RepairPage>> {
    let q = query.into_inner();
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let filter = RepairFilter {
        status: q.status,
        organization_id: q.organization_id,
    };
    let actor = caller.actor();
    let page = db
        .run(move |conn| repairs::list(conn, &actor, filter, &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// One repair application.
#[utoipa::path(get, path = "/v1/repairs/{id}", tag = "repairs", operation_id = "getRepair",
    params(("id" = uuid::Uuid, Path, description = "Repair id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The application", body = RepairView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/repairs/{id}")]
pub async fn get_repair(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<web::Json<RepairView>> {
    let (actor, id) = (caller.actor(), id.into_inner());
    Ok(web::Json(
        db.run(move |conn| repairs::get(conn, &actor, &id)).await?,
    ))
}

/// Accept a received application, ask once for everything missing, or refuse to accept (the
/// head of the bureau, with written reasons).
#[utoipa::path(post, path = "/v1/repairs/{id}/acceptance", tag = "repairs", operation_id = "answerRepair",
    params(("id" = uuid::Uuid, Path, description = "Repair id")),
    request_body = AnswerRepair, security(("bearer" = [])),
    responses(
        (status = 200, description = "Answered", body = RepairView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/repairs/{id}/acceptance")]
pub async fn answer_repair(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<AnswerRepair>,
    db: web::Data<Db>,
    calendar: web::Data<Calendar>,
) -> ApiResult<web::Json<RepairView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let calendar = calendar.clone();
    Ok(web::Json(
        db.write(move |conn| repairs::answer(conn, &actor, &calendar, &id, input))
            .await?,
    ))
}

/// Answer the supplement request: the application is received again today.
#[utoipa::path(post, path = "/v1/repairs/{id}/supplement", tag = "repairs", operation_id = "supplementRepair",
    params(("id" = uuid::Uuid, Path, description = "Repair id")),
    request_body = SupplementRepair, security(("bearer" = [])),
    responses(
        (status = 200, description = "Received again: to be accepted by `acceptance_due_by`", body = RepairView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/repairs/{id}/supplement")]
pub async fn supplement_repair(
    RegulatorOrParty(caller): RegulatorOrParty,
    id: Id,
    body: ApiJson<SupplementRepair>,
    db: web::Data<Db>,
    calendar: web::Data<Calendar>,
) -> ApiResult<web::Json<RepairView>> {
    let (actor, id, input) = (caller.actor(), id.into_inner(), body.0);
    let calendar = calendar.clone();
    Ok(web::Json(
        db.write(move |conn| repairs::supplement(conn, &actor, &calendar, &id, input))
            .await?,
    ))
}

/// Decide an accepted application (the head of the bureau, or the official they empower):
/// approval removes the listing and marks its basis penalties repaired.
#[utoipa::path(post, path = "/v1/repairs/{id}/decision", tag = "repairs", operation_id = "decideRepair",
    params(("id" = uuid::Uuid, Path, description = "Repair id")),
    request_body = DecideRepair, security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided", body = RepairView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/repairs/{id}/decision")]
pub async fn decide_repair(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<DecideRepair>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<RepairView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    Ok(web::Json(
        db.write(move |conn| repairs::decide(conn, &actor, &id, input))
            .await?,
    ))
}

/// Extend the decision deadline once by 10 working days (the head of the bureau).
#[utoipa::path(post, path = "/v1/repairs/{id}/extension", tag = "repairs", operation_id = "extendRepair",
    params(("id" = uuid::Uuid, Path, description = "Repair id")),
    request_body = ExtendRepair, security(("bearer" = [])),
    responses(
        (status = 200, description = "Extended: a new `decision_due_by`", body = RepairView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/repairs/{id}/extension")]
pub async fn extend_repair(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<ExtendRepair>,
    db: web::Data<Db>,
    calendar: web::Data<Calendar>,
) -> ApiResult<web::Json<RepairView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let calendar = calendar.clone();
    Ok(web::Json(
        db.write(move |conn| repairs::extend(conn, &actor, &calendar, &id, input))
            .await?,
    ))
}

/// The written decision on an application (approval, rejection, or refusal to accept), as a
/// printable page. Serving it is logged.
#[utoipa::path(get, path = "/v1/repairs/{id}/documents/decision", tag = "repairs", operation_id = "getRepairDecision",
    params(("id" = uuid::Uuid, Path, description = "Repair id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document", content_type = "text/html", body = String),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/repairs/{id}/documents/decision")]
pub async fn get_repair_decision(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (caller.actor(), id.into_inner());
    let document = db
        .write(move |conn| repairs::decision_document(conn, &actor, &id))
        .await?;
    let page = crate::web::documents::render_repair_decision(&document)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering a document: {e}")))?;
    Ok(crate::web::html(StatusCode::OK, page))
}

/// Sign in to the portal with the notice's number and its access code: a bearer token with
/// role `subject`, for the subject's own records. Five wrong codes for one notice within
/// 15 minutes answer 429.
#[utoipa::path(post, path = "/v1/portal/session", tag = "portal", operation_id = "portalSignIn",
    request_body = PortalSignIn,
    responses(
        (status = 200, description = "Signed in", body = PortalSession),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[post("/v1/portal/session")]
pub async fn portal_sign_in(
    req: HttpRequest,
    body: ApiJson<PortalSignIn>,
    db: web::Data<Db>,
    tokens: web::Data<TokenService>,
    settings: web::Data<Settings>,
) -> ApiResult<HttpResponse> {
    let address = client_address(&req, &settings.trusted_proxies);
    let session = portal::sign_in(&db, &tokens, body.0, &address).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(session))
}
