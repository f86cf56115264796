//! The registry's own upkeep, run by the background jobs: what is due, and
//! what may be forgotten (the retention rules of docs/OPERATIONS.md).

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::accounts::THROTTLE_WINDOW_SECONDS;
use super::ServiceResult;
use crate::db::{accounts, changes, idempotency, listings, scores, screening, watch, DbConn};
use crate::domain::screening::SCREENING_RECORD_DAYS;

/// Ended webhook deliveries are kept this long, for the platform to look
/// up (`GET /v1/webhooks/{id}/deliveries`) and the operator to alert on.
pub const DELIVERY_RETENTION: Duration = Duration::days(30);

/// A screening record is kept a day beyond its retention in days: three
/// calendar years are 1,096 days when they hold a 29 February, and the
/// clocks of the instances need not agree to the second.
const SCREENING_GRACE: Duration = Duration::days(1);

/// How long the records whose period the operator chooses are kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Days a screening record is kept (`LIVECREDIT_SCREENING_RETENTION_DAYS`); 0: for ever.
    pub screening_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            screening_days: SCREENING_RECORD_DAYS,
        }
    }
}

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

/// Forgets login-throttle counters whose window has passed; returns how many.
pub fn purge_login_throttle(conn: &mut DbConn, now: NaiveDateTime) -> ServiceResult<usize> {
    Ok(accounts::purge_login_throttle(
        conn,
        now - Duration::seconds(THROTTLE_WINDOW_SECONDS),
    )?)
}

/// Forgets refresh tokens past use: expired, or of a revoked family.
pub fn purge_refresh_tokens(conn: &mut DbConn, now: NaiveDateTime) -> ServiceResult<usize> {
    Ok(accounts::purge_dead_refresh_tokens(conn, now)?)
}

/// Forgets up to `limit` webhook deliveries that ended (delivered or given
/// up) more than [`DELIVERY_RETENTION`] ago; returns how many.
pub fn purge_webhook_deliveries(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> ServiceResult<usize> {
    Ok(watch::purge_ended_deliveries(
        conn,
        now - DELIVERY_RETENTION,
        limit,
    )?)
}

/// The change stream is kept this long: an instance that has not followed
/// it for a day finds a gap and rebuilds what it keeps in memory.
pub const CHANGE_RETENTION: Duration = Duration::days(1);

/// Forgets up to `limit` entries of the change stream past their retention.
pub fn purge_changes(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> ServiceResult<usize> {
    Ok(changes::purge_before(conn, now - CHANGE_RETENTION, limit)?)
}

/// Forgets up to `limit` screening records older than the retention; their
/// audit entries stay. Returns how many.
pub fn purge_screenings(
    conn: &mut DbConn,
    now: NaiveDateTime,
    retention: &Retention,
    limit: i64,
) -> ServiceResult<usize> {
    if retention.screening_days == 0 {
        return Ok(0);
    }
    let cutoff = now - Duration::days(i64::from(retention.screening_days)) - SCREENING_GRACE;
    Ok(screening::purge_screenings_before(conn, cutoff, limit)?)
}
