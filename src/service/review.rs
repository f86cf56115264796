//! Review flags: a subject whose score fell to band D is brought to a
//! regulator's attention. A score adds up penalties of every weight and is
//! no legal ground for listing (Order 44 art. 2, 5–11): the regulator looks
//! at the penalties and either clears the flag or turns it into a proposal,
//! which must then meet every rule a proposal meets.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::listings::{self, ListingView, ProposeListing};
use super::page::{Page, PageRequest};
use super::{new_id, roles, Actor, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::listings::{self as store, ReviewFlag};
use crate::db::DbConn;
use crate::domain::procedure::Considerations;
use crate::domain::registry::{clean_text, ReviewFlagStatus, MAX_TEXT_CHARS};
use crate::domain::scoring::ScoreReport;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewFlagView {
    pub id: String,
    pub subject_id: String,
    /// The day the score fell to band D.
    pub raised_on: NaiveDate,
    pub score: f64,
    /// `open`, `cleared` or `converted` (into the proposal `listing_id`).
    pub status: ReviewFlagStatus,
    pub reason: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub listing_id: Option<String>,
}

impl From<ReviewFlag> for ReviewFlagView {
    fn from(f: ReviewFlag) -> Self {
        Self {
            id: f.id,
            subject_id: f.subject_id,
            raised_on: f.raised_on,
            score: f.score,
            status: f.status,
            reason: f.reason,
            resolved_by: f.resolved_by,
            resolved_at: f.resolved_at.map(|t| t.and_utc()),
            resolution: f.resolution,
            listing_id: f.listing_id,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearFlag {
    /// Why no listing is proposed.
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertFlag {
    /// The penalties the proposal rests on: each must carry a listing on its own.
    pub violation_ids: Vec<String>,
    pub reason: String,
    pub legal_basis: String,
    #[serde(default)]
    pub considerations: Considerations,
    #[serde(default)]
    pub no_intent_proven: bool,
}

/// Raises a flag on a subject that fell to band D, unless one is open
/// already. Call with the subject locked, after its score was refreshed.
pub fn raise(
    conn: &mut DbConn,
    subject_id: &str,
    report: &ScoreReport,
    today: NaiveDate,
) -> ServiceResult<()> {
    if store::open_review_flag(conn, subject_id)?.is_some() {
        return Ok(());
    }
    let flag = ReviewFlag {
        id: new_id(),
        subject_id: subject_id.to_owned(),
        raised_on: today,
        score: report.score_rounded(),
        status: ReviewFlagStatus::Open,
        reason: format!(
            "信用评分降至 D 级，请审查是否有依法列入的情形 (credit score fell to band D: {:.1}; review whether any penalty is a ground for listing)",
            report.score_rounded()
        ),
        resolved_by: None,
        resolved_at: None,
        resolution: None,
        listing_id: None,
        created_at: Utc::now().naive_utc(),
    };
    store::insert_review_flag(conn, &flag)?;
    audit::append(
        conn,
        &Actor::System.audit(),
        Event {
            action: "review_flag.raised",
            target_type: "review_flag",
            target_id: &flag.id,
            details: json!({"subject_id": subject_id, "score": flag.score}),
        },
    )?;
    Ok(())
}

/// Flags, oldest first, optionally of one status.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    status: Option<ReviewFlagStatus>,
    page: &PageRequest,
) -> ServiceResult<Page<ReviewFlagView>> {
    actor.require(roles::READERS)?;
    let rows = store::review_flags(conn, status, page.after.as_deref(), page.fetch())?;
    Ok(page.page(rows, |f| f.id.clone()).map(ReviewFlagView::from))
}

/// The open flag, or why it cannot be resolved.
fn open_flag(conn: &mut DbConn, id: &str) -> ServiceResult<ReviewFlag> {
    let flag = store::find_review_flag(conn, id)?
        .ok_or_else(|| ServiceError::not_found("no such review flag"))?;
    if flag.status != ReviewFlagStatus::Open {
        return Err(ServiceError::conflict_with(
            format!("the flag is already {}", flag.status),
            [("current_status", flag.status.as_str().into())],
        ));
    }
    Ok(flag)
}

fn resolve(
    conn: &mut DbConn,
    actor: &Actor,
    mut flag: ReviewFlag,
    status: ReviewFlagStatus,
    resolution: String,
    listing_id: Option<String>,
) -> ServiceResult<ReviewFlagView> {
    flag.status = status;
    flag.resolved_by = actor.user_id().map(str::to_owned);
    flag.resolved_at = Some(Utc::now().naive_utc());
    flag.resolution = Some(resolution);
    flag.listing_id = listing_id;
    store::save_review_flag(conn, &flag)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: match status {
                ReviewFlagStatus::Converted => "review_flag.converted",
                _ => "review_flag.cleared",
            },
            target_type: "review_flag",
            target_id: &flag.id,
            details: json!({"subject_id": flag.subject_id, "resolution": flag.resolution,
                "listing_id": flag.listing_id}),
        },
    )?;
    Ok(flag.into())
}

/// Clears a flag: the regulator found no ground for a listing.
pub fn clear(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: ClearFlag,
) -> ServiceResult<ReviewFlagView> {
    actor.staff(roles::REGULATORS)?;
    let reason = clean_text(&input.reason, MAX_TEXT_CHARS)
        .map_err(|m| ServiceError::invalid("reason", m))?;
    let flag = open_flag(conn, id)?;
    resolve(conn, actor, flag, ReviewFlagStatus::Cleared, reason, None)
}

/// Turns a flag into a proposal on penalties that carry a listing; the
/// proposal meets every rule of `listings::propose`.
pub fn convert(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: ConvertFlag,
) -> ServiceResult<ListingView> {
    actor.staff(roles::REGULATORS)?;
    let flag = open_flag(conn, id)?;
    let listing = listings::propose(
        conn,
        actor,
        ProposeListing {
            subject_id: flag.subject_id.clone(),
            violation_ids: input.violation_ids,
            reason: input.reason,
            legal_basis: input.legal_basis,
            considerations: input.considerations,
            no_intent_proven: input.no_intent_proven,
        },
    )?;
    resolve(
        conn,
        actor,
        flag,
        ReviewFlagStatus::Converted,
        "converted into a proposal".into(),
        Some(listing.id.clone()),
    )?;
    Ok(listing)
}
