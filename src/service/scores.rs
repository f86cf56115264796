//! The explainable credit score: computed from a subject's violations under
//! the active policy, kept current on the subject row, explained on request.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{Actor, ServiceResult};
use crate::db::scores::{self as store, BandChange};
use crate::db::{events, DbConn};
use crate::domain::scoring::{round_half_away_from_zero, Band, Category, ScoreReport, Severity};

/// One counted violation and how many points it costs.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

#[derive(Debug, Clone, Serialize, ToSchema)]
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

/// A subject's score at `as_of` (default today), with one row per counted violation.
pub fn explain(
    conn: &mut DbConn,
    actor: &Actor,
    subject_id: &str,
    as_of: Option<NaiveDate>,
) -> ServiceResult<ScoreView> {
    actor.require_reader_of(subject_id)?;
    super::subjects::find(conn, subject_id)?;
    let as_of = as_of.unwrap_or_else(super::today);
    let policy = store::active_policy(conn)?;
    let report = store::compute(conn, &policy, subject_id, as_of)?;
    Ok(ScoreView::new(subject_id.to_owned(), report))
}

/// Brings the subject's stored score up to date (call with the subject
/// locked, in the transaction that changed its violations). A fall to band D
/// raises a review flag for the regulators; a change of the band platforms
/// see is an event for their watchlists (`score.band_changed`, with the
/// shared score: Order 45 periods, no repaired penalty).
pub fn refresh(
    conn: &mut DbConn,
    subject_id: &str,
    today: NaiveDate,
) -> ServiceResult<(ScoreReport, Option<BandChange>)> {
    let refreshed = store::refresh(conn, subject_id, today)?;
    let report = refreshed.report;
    if refreshed.band_change.is_some_and(|c| c.to == Band::D) {
        super::review::raise(conn, subject_id, &report, today)?;
    }
    if let Some(change) = refreshed.shared_change {
        let score = refreshed
            .shared
            .score
            .map(|s| round_half_away_from_zero(s, 1));
        events::emit_all(
            conn,
            vec![events::NewEvent {
                event_type: events::SCORE_BAND_CHANGED,
                subject_id: subject_id.to_owned(),
                listing_id: None,
                data: json!({"from": change.from.map(Band::as_str),
                    "to": change.to.map(Band::as_str),
                    "score": score, "violations": refreshed.shared.violations,
                    "as_of": today, "policy_version": report.policy_version}),
            }],
        )?;
    }
    Ok((report, refreshed.band_change))
}

/// Refreshes one subject whose stored score is stale (decay only raises
/// scores, so a day's passing can move a band). For upkeep.
pub fn refresh_stale(conn: &mut DbConn, subject_id: &str, today: NaiveDate) -> ServiceResult<()> {
    if store::lock_subject(conn, subject_id)? {
        refresh(conn, subject_id, today)?;
    }
    Ok(())
}
