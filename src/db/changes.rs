//! The change stream: one row per change to what screening answers about a
//! subject, or to who a user is, written in the transaction of the change.
//! Every instance follows it to keep its screening index and its
//! cache of token holders current (`service::index`).
//!
//! Writes are recorded here, at the bottom, by the functions that make them
//! (a subject's row, names, accounts, listings' status, relations, shared
//! score; a user's role or state), so that no new use case can forget to.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;

use super::schema::{change_head, changes};
use super::DbConn;

/// What changed: a subject (key: its id) …
pub const SUBJECT: &str = "subject";
/// … a user (key: their id) …
pub const USER: &str = "user";
/// … or everything (a bulk load, a re-keying): followers start again.
pub const EVERYTHING: &str = "everything";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = changes)]
pub struct Change {
    pub seq: i64,
    pub kind: String,
    pub key: String,
    pub changed_at: NaiveDateTime,
}

thread_local! {
    /// The write transaction running on this thread has recorded a change.
    static TOUCHED: Cell<bool> = const { Cell::new(false) };
    /// The last write transaction on this thread committed a change.
    static COMMITTED: Cell<bool> = const { Cell::new(false) };
}

/// Called by `write_tx` when its outermost transaction has ended.
pub(super) fn transaction_ended(committed: bool) {
    let touched = TOUCHED.with(|t| t.replace(false));
    COMMITTED.with(|c| c.set(touched && committed));
}

/// Whether the write transaction that just ended on this thread committed a
/// change (asked once, by `Db::write`).
pub(super) fn take_committed() -> bool {
    COMMITTED.with(|c| c.replace(false))
}

/// Write transactions of one pool (one instance) that committed changes:
/// when the count moves, that instance's followers look at the stream
/// before their next answer, so an instance reads its own writes at once
/// and other instances within their polling interval.
#[derive(Debug, Clone, Default)]
pub struct LocalCommits(Arc<AtomicU64>);

impl LocalCommits {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub(super) fn add(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Records that the things `keys` name (of `kind`) changed. Sequence numbers
/// come from the head row, whose lock the transaction holds until it
/// commits: a later number is never visible before an earlier one.
pub fn touch<S: AsRef<str>>(conn: &mut DbConn, kind: &str, keys: &[S]) -> QueryResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    TOUCHED.with(|t| t.set(true));
    let count = keys.len() as i64;
    let last: i64 = diesel::update(change_head::table.find(1))
        .set(change_head::seq.eq(change_head::seq + count))
        .returning(change_head::seq)
        .get_result(conn)?;
    let at = Utc::now().naive_utc().trunc_subsecs(6);
    let rows: Vec<Change> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| Change {
            seq: last - count + 1 + i as i64,
            kind: kind.to_owned(),
            key: key.as_ref().to_owned(),
            changed_at: at,
        })
        .collect();
    // 4 columns: 1,000 rows stay far below PostgreSQL's bind-parameter limit.
    for chunk in rows.chunks(1000) {
        crate::insert_rows!(conn, changes::table, chunk.to_vec())?;
    }
    Ok(())
}

/// Records that one subject changed.
pub fn subject(conn: &mut DbConn, subject_id: &str) -> QueryResult<()> {
    touch(conn, SUBJECT, &[subject_id])
}

/// The last sequence number written.
pub fn head(conn: &mut DbConn) -> QueryResult<i64> {
    change_head::table
        .find(1)
        .select(change_head::seq)
        .first(conn)
}

/// Up to `limit` changes after `seq`, in order.
pub fn after(conn: &mut DbConn, seq: i64, limit: i64) -> QueryResult<Vec<Change>> {
    changes::table
        .filter(changes::seq.gt(seq))
        .order(changes::seq)
        .limit(limit)
        .select(Change::as_select())
        .load(conn)
}

/// Forgets up to `limit` changes made before `cutoff` (a follower that far
/// behind finds a gap and starts again). Returns how many.
pub fn purge_before(conn: &mut DbConn, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let old: Vec<i64> = changes::table
        .filter(changes::changed_at.lt(cutoff))
        .order(changes::seq)
        .select(changes::seq)
        .limit(limit)
        .load(conn)?;
    if old.is_empty() {
        return Ok(0);
    }
    diesel::delete(changes::table.filter(changes::seq.eq_any(&old))).execute(conn)
}
