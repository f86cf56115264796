//! Review flags: subjects whose score fell to band D, for a regulator to
//! clear or turn into a proposal (a score is no legal ground for listing).

use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::json::ApiJson;
use super::pagination::PageParams;
use super::params::{Id, Query};
use crate::auth::{Reader, Regulator};
use crate::db::Db;
use crate::domain::registry::ReviewFlagStatus;
use crate::error::ApiResult;
use crate::page_type;
use crate::service::listings::ListingView;
use crate::service::review::{self, ClearFlag, ConvertFlag, ReviewFlagView};

page_type!(ReviewFlagPage, ReviewFlagView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewFlagQuery {
    /// `open`, `cleared` or `converted`.
    pub status: Option<ReviewFlagStatus>,
    #[param(minimum = 1)]
    #[serde(default, deserialize_with = "crate::api::params::whole_number")]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Review flags, oldest first.
#[utoipa::path(get, path = "/v1/review-flags", tag = "listings", operation_id = "listReviewFlags",
    params(ReviewFlagQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ReviewFlagPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/review-flags")]
pub async fn list_review_flags(
    Reader(user): Reader,
    query: Query<ReviewFlagQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ReviewFlagPage>> {
    let q = query.into_inner();
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request()?;
    let actor = user.actor();
    let page = db
        .run(move |conn| review::list(conn, &actor, q.status, &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// Clear a flag: no penalty of the subject is a ground for listing.
#[utoipa::path(post, path = "/v1/review-flags/{id}/clear", tag = "listings", operation_id = "clearReviewFlag",
    params(("id" = String, Path, description = "Review flag id")),
    request_body = ClearFlag, security(("bearer" = [])),
    responses(
        (status = 200, description = "Cleared", body = ReviewFlagView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/review-flags/{id}/clear")]
pub async fn clear_review_flag(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<ClearFlag>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ReviewFlagView>> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| review::clear(conn, &actor, &id, input))
        .await?;
    Ok(web::Json(view))
}

/// Turn a flag into a proposal on penalties that carry a listing (every rule of a proposal applies).
#[utoipa::path(post, path = "/v1/review-flags/{id}/conversion", tag = "listings", operation_id = "convertReviewFlag",
    params(("id" = String, Path, description = "Review flag id")),
    request_body = ConvertFlag, security(("bearer" = [])),
    responses(
        (status = 201, description = "The proposal", body = ListingView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/review-flags/{id}/conversion")]
pub async fn convert_review_flag(
    Regulator(user): Regulator,
    id: Id,
    body: ApiJson<ConvertFlag>,
    db: web::Data<Db>,
) -> ApiResult<actix_web::HttpResponse> {
    let (actor, id, input) = (user.actor(), id.into_inner(), body.0);
    let view = db
        .write(move |conn| review::convert(conn, &actor, &id, input))
        .await?;
    Ok(actix_web::HttpResponse::Created().json(view))
}
