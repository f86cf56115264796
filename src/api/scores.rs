//! The explainable credit score of a subject.

use actix_web::{get, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Reader;
use crate::db::{registry, scores, Db};
use crate::domain::registry::today_cst;
use crate::domain::scoring::{round_half_away_from_zero, Band, Category, ScoreReport, Severity};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScoreQuery {
    /// The date to evaluate at (China Standard Time); default today.
    pub as_of: Option<NaiveDate>,
}

/// One counted violation and how many points it costs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionView {
    pub violation_id: String,
    pub category: Category,
    pub severity: Severity,
    pub decided_on: NaiveDate,
    /// Days from `decided_on` to `as_of`.
    pub age_days: i64,
    /// Counting violations of the same category in the 365 days up to this one, this one included.
    pub repeat_count: u32,
    pub base: f64,
    pub category_factor: f64,
    pub repeat_factor: f64,
    /// Rounded to 4 decimals for display (points use the exact value).
    pub decay_factor: f64,
    /// Rounded to 2 decimals.
    pub points: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreView {
    pub subject_id: String,
    pub as_of: NaiveDate,
    /// 0–100, one decimal.
    pub score: f64,
    /// From the unrounded score: A ≥ 90, B ≥ 75, C ≥ 60, D below.
    pub band: Band,
    pub policy_version: i32,
    pub contributions: Vec<ContributionView>,
}

impl ScoreView {
    pub fn new(subject_id: String, report: ScoreReport) -> Self {
        Self {
            subject_id,
            as_of: report.as_of,
            score: report.score_rounded(),
            band: report.band,
            policy_version: report.policy_version,
            contributions: report
                .contributions
                .iter()
                .map(|c| ContributionView {
                    violation_id: c.violation_id.clone(),
                    category: c.category,
                    severity: c.severity,
                    decided_on: c.decided_on,
                    age_days: c.age_days,
                    repeat_count: c.repeat_count,
                    base: c.base,
                    category_factor: c.category_factor,
                    repeat_factor: c.repeat_factor,
                    decay_factor: round_half_away_from_zero(c.decay_factor, 4),
                    points: c.points_rounded(),
                })
                .collect(),
        }
    }
}

/// A subject's score at a date, with one row per counted violation.
#[utoipa::path(get, path = "/v1/subjects/{id}/score", tag = "subjects", operation_id = "getSubjectScore",
    params(("id" = String, Path, description = "Subject id"), ScoreQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "The score, band and contributions", body = ScoreView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/subjects/{id}/score")]
pub async fn get_score(
    _reader: Reader,
    id: web::Path<String>,
    query: web::Query<ScoreQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ScoreView>> {
    let id = id.into_inner();
    let as_of = query.as_of.unwrap_or_else(|| today_cst(Utc::now()));
    let report = db
        .run(move |conn| {
            registry::find_subject(conn, &id)?
                .ok_or_else(|| ApiError::not_found("no such subject"))?;
            let policy = scores::active_policy(conn)?;
            Ok((id.clone(), scores::compute(conn, &policy, &id, as_of)?))
        })
        .await?;
    Ok(web::Json(ScoreView::new(report.0, report.1)))
}
