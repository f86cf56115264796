//! The registry's own upkeep, run by the background jobs: what is due, and
//! what may be forgotten.

use chrono::{NaiveDate, NaiveDateTime};

use super::ServiceResult;
use crate::db::{idempotency, listings, scores, DbConn};

/// Listings whose period has ended but whose expiry is not yet recorded.
pub fn due_expiries(conn: &mut DbConn, today: NaiveDate, limit: i64) -> ServiceResult<Vec<String>> {
    Ok(listings::due_for_expiry(conn, today, limit)?)
}

/// Subjects whose stored score is older than today and below the maximum
/// (decay can only raise those), oldest first.
pub fn stale_scores(conn: &mut DbConn, today: NaiveDate, limit: i64) -> ServiceResult<Vec<String>> {
    Ok(scores::stale_subjects(conn, today, limit)?)
}

/// Lets SQLite refresh stale planner statistics (no-op on PostgreSQL).
pub fn optimize(conn: &mut DbConn) -> ServiceResult<()> {
    Ok(crate::db::optimize(conn)?)
}

/// Forgets idempotency keys past their retention; returns how many.
pub fn purge_idempotency_keys(conn: &mut DbConn, now: NaiveDateTime) -> ServiceResult<usize> {
    Ok(idempotency::purge_before(
        conn,
        now - idempotency::RETENTION,
    )?)
}
