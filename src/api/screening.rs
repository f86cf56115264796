//! Screening for platforms over HTTP: one subject or a batch of up to 1,000,
//! each answer recorded before it is given.

use actix_web::{get, post, web};

use super::json::ApiJson;
use super::pagination::{OrganizationFilter, PageParams};
use super::params::{Id, Query};
use crate::auth::{Platform, PlatformRecordReader};
use crate::config::Settings;
use crate::db::{Db, ReadDb};
use crate::error::{ApiError, ApiResult};
use crate::page_type;
use crate::service::index::Live;
use crate::service::screening::{
    self, BatchRequest, BatchResult, RecordWriter, Screener, ScreeningLimits, ScreeningRecordView,
    ScreeningRequest, ScreeningResult,
};

page_type!(ScreeningRecordPage, ScreeningRecordView);

/// Screen one anchor or merchant.
#[utoipa::path(post, path = "/v1/screening", tag = "screening", operation_id = "screen",
    request_body = ScreeningRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The decision and the matches, recorded", body = ScreeningResult),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[post("/v1/screening")]
pub async fn screen_one(
    Platform(user): Platform,
    body: ApiJson<ScreeningRequest>,
    db: ReadDb,
    writer: web::Data<RecordWriter>,
    live: web::Data<Live>,
    limiter: web::Data<ScreeningLimits>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<ScreeningResult>> {
    let (actor, pepper) = (user.actor(), settings.id_pepper.bytes());
    let items = std::slice::from_ref(&body.0);
    let mut results = screening::screen_items(
        &Screener {
            live: &live,
            db: &db,
            writer: &writer,
        },
        &limiter,
        &actor,
        pepper,
        items,
        false,
    )
    .await?;
    results
        .pop()
        .map(web::Json)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no screening result")))
}

/// Screen up to 1,000 items; results in the order of the items.
#[utoipa::path(post, path = "/v1/screening/batch", tag = "screening", operation_id = "screenBatch",
    request_body = BatchRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per item, in order, all recorded", body = BatchResult),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[post("/v1/screening/batch")]
pub async fn screen_batch(
    Platform(user): Platform,
    body: ApiJson<BatchRequest>,
    db: ReadDb,
    writer: web::Data<RecordWriter>,
    live: web::Data<Live>,
    limiter: web::Data<ScreeningLimits>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<BatchResult>> {
    let (actor, pepper) = (user.actor(), settings.id_pepper.bytes());
    let results = screening::screen_items(
        &Screener {
            live: &live,
            db: &db,
            writer: &writer,
        },
        &limiter,
        &actor,
        pepper,
        &body.0.items,
        true,
    )
    .await?;
    Ok(web::Json(BatchResult { results }))
}

/// Screening history, oldest first.
///
/// A platform sees its own organization's. Admins and auditors read every
/// platform's, or one platform's with `organization_id`: how a regulator
/// checks that platforms screened before onboarding (Order 117).
#[utoipa::path(get, path = "/v1/screenings", tag = "screening", operation_id = "listScreenings",
    params(PageParams, OrganizationFilter), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = ScreeningRecordPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/screenings")]
pub async fn list_screenings(
    PlatformRecordReader(user): PlatformRecordReader,
    page: Query<PageParams>,
    filter: Query<OrganizationFilter>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ScreeningRecordPage>> {
    let (actor, page) = (user.actor(), page.request()?);
    let organization = filter.into_inner().organization_id;
    let page = db
        .run(move |conn| screening::history(conn, &actor, organization.as_deref(), &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// One screening record.
///
/// A platform sees its own organization's (another's is a 404); admins and
/// auditors read any.
#[utoipa::path(get, path = "/v1/screenings/{id}", tag = "screening", operation_id = "getScreening",
    params(("id" = uuid::Uuid, Path, description = "Screening id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The record", body = ScreeningRecordView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/screenings/{id}")]
pub async fn get_screening(
    PlatformRecordReader(user): PlatformRecordReader,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ScreeningRecordView>> {
    let (actor, id) = (user.actor(), id.into_inner());
    Ok(web::Json(
        db.run(move |conn| screening::record(conn, &actor, &id))
            .await?,
    ))
}
