//! The blacklist procedure over HTTP: propose, notice, objections,
//! decision, credit repair, reinstatement, revocation.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::PageParams;
use super::params::{Id, Query};
use crate::auth::{Caller, Reader, ReaderOrParty, Regulator, RegulatorOrParty};
use crate::db::Db;
use crate::domain::calendar::Calendar;
use crate::domain::procedure::Status;
use crate::error::{ApiError, ApiResult};
use crate::page_type;
use crate::service::documents::{self, DocumentKind};
use crate::service::listings::{
    self, DecideListing, GiveConsent, ListingFilter, ListingView, LodgeObjection, NoticeServed,
    ObjectionView, ProposeListing, RecordHearing, Reinstate, RevokeListing, ServeNotice,
    WithdrawHearing,
};
use crate::service::portal::{self, AccessCodeIssued};

page_type!(ListingPage, ListingView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingQuery {
    pub status: Option<Status>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub subject_id: Option<String>,
    /// Page size: default 50; above 500 is treated as 500.
    #[param(minimum = 1)]
    #[serde(default, deserialize_with = "crate::api::params::whole_number")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Propose a listing.
#[utoipa::path(post, path = "/v1/listings", tag = "listings", operation_id = "proposeListing",
    request_body = ProposeListing, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Proposed", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings")]
pub async fn propose_listing(
    Regulator(user): Regulator,
    key: IdempotencyKey,
    body: ApiJson<ProposeListing>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let (actor, input) = (user.actor(), body.0);
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        listings::propose(conn, &actor, input)
    })
    .await
}

/// Search listings.
#[utoipa::path(get, path = "/v1/listings", tag = "listings", operation_id = "listListings",
    params(ListingQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = ListingPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/listings")]
pub async fn list_listings(
    Reader(user): Reader,
    query: Query<ListingQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingPage>> {
    let q = query.into_inner();
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let filter = ListingFilter {
        status: q.status,
        subject_id: q.subject_id,
    };
    let actor = user.actor();
    let page = db
        .run(move |conn| listings::list(conn, &actor, filter, &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// One listing with its history, objections and repair applications.
#[utoipa::path(get, path = "/v1/listings/{id}", tag = "listings", operation_id = "getListing",
    params(("id" = uuid::Uuid, Path, description = "Listing id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The listing", body = ListingView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/listings/{id}")]
pub async fn get_listing(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let (actor, id) = (caller.actor(), id.into_inner());
    Ok(web::Json(
        db.run(move |conn| listings::get(conn, &actor, &id)).await?,
    ))
}

/// Serve the notice: the party is told the facts, reasons and legal basis.
#[utoipa::path(post, path = "/v1/listings/{id}/notice", tag = "listings", operation_id = "serveNotice",
    params(("id" = uuid::Uuid, Path, description = "Listing id")),
    request_body = ServeNotice, security(("bearer" = [])),
    responses(
        (status = 200, description = "Noticed: `notice_no` and `objection_deadline` set; the subject's one-time `access_code` is in this response only", body = NoticeServed),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/notice")]
pub async fn serve_notice(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<ServeNotice>,
    db: web::Data<Db>,
    calendar: web::Data<Calendar>,
) -> ApiResult<HttpResponse> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let calendar = calendar.clone();
    let served = db
        .write(move |conn| listings::serve_notice(conn, &actor, &calendar, &id, input))
        .await?;
    // The access code is a secret shown once: no cache keeps it.
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(served))
}

/// Decide to list or not: after the objection window and any requested hearing, by an official
/// of the authority other than the proposer, with the parent bureau's consent for a city or
/// county bureau. Refusals name their condition (`hearing_pending`, `consent_required`,
/// `no_intent_proven`).
#[utoipa::path(post, path = "/v1/listings/{id}/decision", tag = "listings", operation_id = "decideListing",
    params(("id" = uuid::Uuid, Path, description = "Listing id")),
    request_body = DecideListing, security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided: `listed` (published at once, with `decision_no`; pending basis penalties now effective) or `not_listed`", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/decision")]
pub async fn decide_listing(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<DecideListing>,
    db: web::Data<Db>,
    calendar: web::Data<Calendar>,
) -> ApiResult<web::Json<ListingView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let calendar = calendar.clone();
    let view = db
        .write(move |conn| listings::decide(conn, &actor, &calendar, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// Record that the requested hearing was held; the decision may then go ahead.
#[utoipa::path(post, path = "/v1/listings/{id}/hearing", tag = "listings", operation_id = "recordHearing",
    params(("id" = String, Path, description = "Listing id")),
    request_body = RecordHearing, security(("bearer" = [])),
    responses(
        (status = 200, description = "`hearing_status` is `held`", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/hearing")]
pub async fn record_hearing(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<RecordHearing>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| listings::record_hearing(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// Record that the party withdrew its hearing request.
#[utoipa::path(post, path = "/v1/listings/{id}/hearing/withdrawal", tag = "listings", operation_id = "withdrawHearing",
    params(("id" = String, Path, description = "Listing id")),
    request_body = WithdrawHearing, security(("bearer" = [])),
    responses(
        (status = 200, description = "`hearing_status` is `withdrawn`", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/hearing/withdrawal")]
pub async fn withdraw_hearing(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<WithdrawHearing>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| listings::withdraw_hearing(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// The parent bureau agrees or disagrees to a city or county bureau's listing (Order 44 art. 22).
#[utoipa::path(post, path = "/v1/listings/{id}/consent", tag = "listings", operation_id = "giveConsent",
    params(("id" = String, Path, description = "Listing id")),
    request_body = GiveConsent, security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded in `consents`; the latest answer counts", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/consent")]
pub async fn give_consent(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<GiveConsent>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| listings::give_consent(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// A document of the procedure as served, printable HTML (Chinese, A4): `notice` or `decision`.
#[utoipa::path(get, path = "/v1/listings/{id}/documents/{kind}", tag = "listings", operation_id = "getListingDocument",
    params(("id" = String, Path, description = "Listing id"),
        ("kind" = String, Path, description = "`notice` or `decision`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document", content_type = "text/html", body = String),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/listings/{id}/documents/{kind}")]
pub async fn get_document(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    req: HttpRequest,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let kind: DocumentKind = req.match_info().get("kind").unwrap_or("").parse()?;
    let actor = caller.actor();
    let document = db
        .write(move |conn| documents::get(conn, &actor, &id, kind))
        .await?;
    let page = crate::web::documents::render(&document)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering a document: {e}")))?;
    Ok(crate::web::html(StatusCode::OK, page))
}

/// Reinstate a removed listing whose repair was obtained by false statements; the period restarts.
#[utoipa::path(post, path = "/v1/listings/{id}/reinstate", tag = "listings", operation_id = "reinstateListing",
    params(("id" = uuid::Uuid, Path, description = "Listing id")),
    request_body = Reinstate, security(("bearer" = [])),
    responses(
        (status = 200, description = "Listed again with a new `expires_on`", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/reinstate")]
pub async fn reinstate_listing(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<Reinstate>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| listings::reinstate(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// Revoke a listing (the underlying penalty was annulled).
#[utoipa::path(post, path = "/v1/listings/{id}/revoke", tag = "listings", operation_id = "revokeListing",
    params(("id" = uuid::Uuid, Path, description = "Listing id")),
    request_body = RevokeListing, security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/revoke")]
pub async fn revoke_listing(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<RevokeListing>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ListingView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| listings::revoke(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// Record the party's objection (statement of its case, or a hearing request): by a regulator of
/// the authority, or by the subject in the portal (received today).
#[utoipa::path(post, path = "/v1/listings/{id}/objections", tag = "listings", operation_id = "lodgeObjection",
    params(("id" = uuid::Uuid, Path, description = "Listing id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = LodgeObjection, security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = ObjectionView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/listings/{id}/objections")]
pub async fn lodge_objection(
    RegulatorOrParty(caller): RegulatorOrParty,
    id: Id,
    key: IdempotencyKey,
    body: ApiJson<LodgeObjection>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let (actor, id, input) = (caller.actor(), id.into_inner(), body.0);
    let lodge =
        move |conn: &mut crate::db::DbConn| listings::lodge_objection(conn, &actor, &id, input);
    match caller {
        Caller::Staff(user) => idempotency::create(&db, &user, key, fingerprint, lodge).await,
        // The party's statement is lodged once a day at most in practice; the
        // portal's form carries its own CSRF token instead of a key.
        Caller::Subject(_) => Ok(HttpResponse::Created().json(db.write(lodge).await?)),
    }
}

/// Issue a new access code for a served notice (the party lost it, or it leaked): the code
/// before it no longer signs in, and the portal sessions it opened end. Audited.
#[utoipa::path(post, path = "/v1/listings/{id}/access-code", tag = "portal", operation_id = "reissueAccessCode",
    params(("id" = uuid::Uuid, Path, description = "Listing id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new code, shown only in this response", body = AccessCodeIssued),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
    ))]
#[post("/v1/listings/{id}/access-code")]
pub async fn reissue_access_code(
    Regulator(user): Regulator,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (user.actor(), id.into_inner());
    let issued = db
        .write(move |conn| portal::reissue_code(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(issued))
}
