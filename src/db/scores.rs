//! Scoring policies kept as data, and the score kept current on each subject.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use super::registry::{self, Violation};
use super::schema::{scoring_policies, subjects};
use super::DbConn;
use crate::domain::scoring::{self, Band, ScoreReport, ScoringPolicy, ViolationFacts};

/// The active policy: the highest active version stored, else version 1.
pub fn active_policy(conn: &mut DbConn) -> QueryResult<ScoringPolicy> {
    let stored: Option<String> = scoring_policies::table
        .filter(scoring_policies::active.eq(true))
        .order(scoring_policies::version.desc())
        .select(scoring_policies::document)
        .first(conn)
        .optional()?;
    Ok(stored
        .and_then(|doc| serde_json::from_str::<ScoringPolicy>(&doc).ok())
        .filter(|p| p.validate().is_ok())
        .unwrap_or_else(ScoringPolicy::v1))
}

/// Stores version 1 when no policy is stored yet, so the policy in force is
/// always a record in the database.
pub fn ensure_default_policy(conn: &mut DbConn) -> QueryResult<()> {
    let any: i64 = scoring_policies::table.count().get_result(conn)?;
    if any == 0 {
        add_policy(conn, &ScoringPolicy::v1())?;
    }
    Ok(())
}

/// Adds a policy version and makes it the active one.
pub fn add_policy(conn: &mut DbConn, policy: &ScoringPolicy) -> QueryResult<()> {
    let document = serde_json::to_string(policy)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::insert_into(scoring_policies::table)
        .values((
            scoring_policies::version.eq(policy.version),
            scoring_policies::document.eq(document),
            scoring_policies::active.eq(true),
            scoring_policies::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

pub fn facts(violations: &[Violation]) -> Vec<ViolationFacts> {
    violations
        .iter()
        .filter_map(|v| {
            Some(ViolationFacts {
                id: v.id.clone(),
                category: v.category.parse().ok()?,
                severity: v.severity.parse().ok()?,
                decided_on: v.decided_on,
                recorded_at: v.recorded_at,
                revoked_on: v.revoked_on,
            })
        })
        .collect()
}

/// The subject's score at `as_of`, computed from its whole history.
pub fn compute(
    conn: &mut DbConn,
    policy: &ScoringPolicy,
    subject_id: &str,
    as_of: NaiveDate,
) -> QueryResult<ScoreReport> {
    let violations = registry::all_violations_of_subject(conn, subject_id)?;
    Ok(scoring::score(policy, &facts(&violations), as_of))
}

/// Takes the subject's row lock (PostgreSQL) or the write lock (SQLite) so
/// that concurrent changes to one subject's violations are scored in turn.
/// Returns false when there is no such subject.
pub fn lock_subject(conn: &mut DbConn, subject_id: &str) -> QueryResult<bool> {
    let updated = diesel::update(subjects::table.find(subject_id))
        .set(subjects::updated_at.eq(subjects::updated_at))
        .execute(conn)?;
    Ok(updated == 1)
}

/// A change of stored band, for the callers that react to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandChange {
    pub from: Band,
    pub to: Band,
}

/// Recomputes and stores the subject's current score; call with the subject
/// locked, in the transaction that changed its violations.
pub fn refresh(
    conn: &mut DbConn,
    subject_id: &str,
    today: NaiveDate,
) -> QueryResult<(ScoreReport, Option<BandChange>)> {
    let policy = active_policy(conn)?;
    let report = compute(conn, &policy, subject_id, today)?;
    let before: String = subjects::table
        .find(subject_id)
        .select(subjects::band)
        .first(conn)?;
    diesel::update(subjects::table.find(subject_id))
        .set((
            subjects::score.eq(report.score),
            subjects::band.eq(report.band.as_str()),
            subjects::score_as_of.eq(today),
            subjects::policy_version.eq(report.policy_version),
        ))
        .execute(conn)?;
    let change = before
        .parse::<Band>()
        .ok()
        .filter(|b| *b != report.band)
        .map(|from| BandChange {
            from,
            to: report.band,
        });
    Ok((report, change))
}

/// Subjects whose stored score is older than `today` and below the maximum
/// (decay can only raise those), oldest first.
pub fn stale_subjects(conn: &mut DbConn, today: NaiveDate, limit: i64) -> QueryResult<Vec<String>> {
    subjects::table
        .filter(subjects::score.lt(scoring::MAX_SCORE))
        .filter(subjects::score_as_of.lt(today))
        .order(subjects::score_as_of)
        .limit(limit)
        .select(subjects::id)
        .load(conn)
}
