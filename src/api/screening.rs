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
use crate::service::Actor;

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
    instance: Instance,
) -> ApiResult<web::Json<ScreeningResult>> {
    let items = std::slice::from_ref(&body.0);
    let mut results = screen(&user.actor(), items, false, instance).await?;
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
    instance: Instance,
) -> ApiResult<web::Json<BatchResult>> {
    let results = screen(&user.actor(), &body.0.items, true, instance).await?;
    Ok(web::Json(BatchResult { results }))
}

/// What both screening doors take of the instance: reads, the recorder,
/// the index, the per-organization limits and the settings (the pepper).
type Instance = (
    ReadDb,
    web::Data<RecordWriter>,
    web::Data<Live>,
    web::Data<ScreeningLimits>,
    web::Data<Settings>,
);

async fn screen(
    actor: &Actor,
    items: &[ScreeningRequest],
    batch: bool,
    (db, writer, live, limits, settings): Instance,
) -> ApiResult<Vec<ScreeningResult>> {
    let screener = Screener {
        live: &live,
        db: &db,
        writer: &writer,
    };
    let pepper = settings.id_pepper.bytes();
    Ok(screening::screen_items(&screener, &limits, actor, pepper, items, batch).await?)
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
