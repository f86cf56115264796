//! Scoring policies kept as data, and the score kept current on each subject.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use super::registry::{self, Violation};
use super::schema::{scoring_policies, subjects};
use super::{DbConn, DbResult};
use crate::domain::scoring::{self, Band, ScoreReport, ScoringPolicy, ViolationFacts};

/// The active policy: the highest active version stored (version 1 until a
/// first one is stored at migration). A stored document that does not parse
/// or validate is an error naming its version, never a silent fallback.
pub fn active_policy(conn: &mut DbConn) -> DbResult<ScoringPolicy> {
    let stored: Option<(i32, String)> = scoring_policies::table
        .filter(scoring_policies::active.eq(true))
        .order(scoring_policies::version.desc())
        .select((scoring_policies::version, scoring_policies::document))
        .first(conn)
        .optional()?;
    let Some((version, document)) = stored else {
        return Ok(ScoringPolicy::v1());
    };
    serde_json::from_str::<ScoringPolicy>(&document)
        .map_err(|e| e.to_string())
        .and_then(|p| p.validate().map(|()| p).map_err(|e| e.to_string()))
        .map_err(|detail| super::DbError::Corrupt {
            table: "scoring_policies",
            row: version.to_string(),
            detail,
        })
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

/// What scoring needs to know of each violation decided. A pending penalty
/// counts in no score until it is decided, and a repaired one no longer
/// counts (Order 107 art. 2: repaired information stops being used).
pub fn facts(violations: &[Violation]) -> Vec<ViolationFacts> {
    violations
        .iter()
        .filter(|v| v.repaired_on.is_none())
        .filter_map(|v| {
            Some(ViolationFacts {
                id: v.id.clone(),
                category: v.category,
                severity: v.severity,
                decided_on: v.decided_on?,
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
) -> DbResult<ScoreReport> {
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
) -> DbResult<(ScoreReport, Option<BandChange>)> {
    let policy = active_policy(conn)?;
    let report = compute(conn, &policy, subject_id, today)?;
    let before: Band = subjects::table
        .find(subject_id)
        .select(subjects::band)
        .first::<String>(conn)?
        .parse()
        .map_err(|e: crate::domain::UnknownName| super::DbError::Corrupt {
            table: "subjects",
            row: subject_id.to_owned(),
            detail: format!("column band: {e}"),
        })?;
    diesel::update(subjects::table.find(subject_id))
        .set((
            subjects::score.eq(report.score),
            subjects::band.eq(report.band.as_str()),
            subjects::score_as_of.eq(today),
            subjects::policy_version.eq(report.policy_version),
        ))
        .execute(conn)?;
    let change = (before != report.band).then_some(BandChange {
        from: before,
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
