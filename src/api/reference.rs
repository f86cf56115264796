//! Reference data read from the law: the grounds a listing may rest on
//! (SAMR Order 44 art. 5–11) and the measures a listing brings (art. 15).
//! Public: no login needed.

use actix_web::{get, web};

use crate::domain::grounds::{self, ListingGround, Measure};

/// The grounds of Order 44 art. 5–11, item by item (`code` is what a violation's `listing_ground` names).
#[utoipa::path(get, path = "/v1/reference/listing-grounds", tag = "reference", operation_id = "listListingGrounds",
    security(()),
    responses((status = 200, description = "Every ground, in the order of the text", body = [ListingGround])))]
#[get("/v1/reference/listing-grounds")]
pub async fn listing_grounds() -> web::Json<&'static [ListingGround]> {
    web::Json(grounds::listing_grounds())
}

/// The management measures of Order 44 art. 15 (`code` is what a decision's `measures` names).
#[utoipa::path(get, path = "/v1/reference/measures", tag = "reference", operation_id = "listMeasures",
    security(()),
    responses((status = 200, description = "Every measure, in the order of the text", body = [Measure])))]
#[get("/v1/reference/measures")]
pub async fn measures() -> web::Json<&'static [Measure]> {
    web::Json(grounds::measures())
}
