//! The explainable credit score of a subject.

use actix_web::{get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::params::{Id, Query};
use crate::auth::ReaderOrParty;
use crate::db::Db;
use crate::error::ApiResult;
use crate::service::scores::{self, ScoreView};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScoreQuery {
    /// The date to evaluate at (China Standard Time); default today.
    pub as_of: Option<NaiveDate>,
}

/// A subject's score at a date, with one row per counted violation.
#[utoipa::path(get, path = "/v1/subjects/{id}/score", tag = "subjects", operation_id = "getSubjectScore",
    params(("id" = uuid::Uuid, Path, description = "Subject id"), ScoreQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "The score, band and contributions", body = ScoreView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/subjects/{id}/score")]
pub async fn get_score(
    ReaderOrParty(caller): ReaderOrParty,
    id: Id,
    query: Query<ScoreQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ScoreView>> {
    let (actor, id, as_of) = (caller.actor(), id.into_inner(), query.as_of);
    Ok(web::Json(
        db.run(move |conn| scores::explain(conn, &actor, &id, as_of))
            .await?,
    ))
}
