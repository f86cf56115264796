//! Scoring policies kept as data, and the score kept current on each subject.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use super::registry::{self, Violation};
use super::schema::{scoring_policies, subjects};
use super::{DbConn, DbResult};
use crate::domain::exposure::{self, Penalty};
use crate::domain::registry::SubjectKind;
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
pub fn facts<'a>(violations: impl IntoIterator<Item = &'a Violation>) -> Vec<ViolationFacts> {
    violations
        .into_iter()
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

/// The violations platforms may be shown on `day`: decided, unrepaired and
/// inside their publication period (Order 45 art. 2, 13; `domain::exposure`).
pub fn shared_facts(
    violations: &[Violation],
    kind: SubjectKind,
    day: NaiveDate,
) -> Vec<ViolationFacts> {
    facts(violations.iter().filter(|v| {
        v.decided_on.is_some_and(|decided_on| {
            exposure::shared_on(
                &Penalty {
                    kinds: &v.penalty_kinds,
                    fine_cents: v.fine_cents,
                    decided_on,
                    restriction_until: v.ban_until,
                },
                kind,
                day,
            )
        })
    }))
}

/// What platforms may see of a subject's score: computed from the shared
/// violations alone; no score when none counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shared {
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub violations: i32,
}

impl Shared {
    pub fn of(policy: &ScoringPolicy, facts: &[ViolationFacts], day: NaiveDate) -> Shared {
        let report = scoring::score(policy, facts, day);
        let violations = i32::try_from(report.contributions.len()).unwrap_or(i32::MAX);
        match violations {
            0 => Shared {
                score: None,
                band: None,
                violations,
            },
            _ => Shared {
                score: Some(report.score),
                band: Some(report.band),
                violations,
            },
        }
    }
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

/// A change of the band platforms see (`None`: no score shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedBandChange {
    pub from: Option<Band>,
    pub to: Option<Band>,
}

/// What a refresh found: the full score (regulators' views) and its band
/// change, and what platforms may see and its band change.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub report: ScoreReport,
    pub band_change: Option<BandChange>,
    pub shared: Shared,
    pub shared_change: Option<SharedBandChange>,
}

/// Recomputes and stores the subject's current score and what platforms may
/// see of it; call with the subject locked, in the transaction that changed
/// its violations.
pub fn refresh(conn: &mut DbConn, subject_id: &str, today: NaiveDate) -> DbResult<Refreshed> {
    let policy = active_policy(conn)?;
    let subject =
        registry::find_subject(conn, subject_id)?.ok_or(diesel::result::Error::NotFound)?;
    let (kind, before, shared_before) = (subject.kind, subject.band, subject.shared_band.0);
    let violations = registry::all_violations_of_subject(conn, subject_id)?;
    let report = scoring::score(&policy, &facts(&violations), today);
    let shared = Shared::of(&policy, &shared_facts(&violations, kind, today), today);
    diesel::update(subjects::table.find(subject_id))
        .set((
            subjects::score.eq(report.score),
            subjects::band.eq(report.band.as_str()),
            subjects::score_as_of.eq(today),
            subjects::policy_version.eq(report.policy_version),
            subjects::shared_score.eq(shared.score),
            subjects::shared_band.eq(shared.band.map(Band::as_str)),
            subjects::shared_violations.eq(shared.violations),
        ))
        .execute(conn)?;
    let shared_now = (shared.score, shared.band, shared.violations);
    if (
        subject.shared_score,
        subject.shared_band.0,
        subject.shared_violations,
    ) != shared_now
    {
        super::changes::subject(conn, subject_id)?;
    }
    let band_change = (before != report.band).then_some(BandChange {
        from: before,
        to: report.band,
    });
    let shared_change = (shared_before != shared.band).then_some(SharedBandChange {
        from: shared_before,
        to: shared.band,
    });
    Ok(Refreshed {
        report,
        band_change,
        shared,
        shared_change,
    })
}

/// Subjects whose stored score is older than `today` and that a day's
/// passing can change: below the maximum (decay only raises those), or with
/// penalties platforms are shown (their publication periods end); oldest first.
pub fn stale_subjects(conn: &mut DbConn, today: NaiveDate, limit: i64) -> QueryResult<Vec<String>> {
    subjects::table
        .filter(
            subjects::score
                .lt(scoring::MAX_SCORE)
                .or(subjects::shared_violations.gt(0)),
        )
        .filter(subjects::score_as_of.lt(today))
        .order(subjects::score_as_of)
        .limit(limit)
        .select(subjects::id)
        .load(conn)
}
