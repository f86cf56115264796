//! The outbox of events, written in the same transaction as the change each
//! reports, and read back as feeds (the public change feed, a platform's
//! events) and webhook deliveries.

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde_json::Value;

use super::schema::{audit_head, events};
use super::DbConn;

pub const VIOLATION_RECORDED: &str = "violation.recorded";
pub const VIOLATION_REVOKED: &str = "violation.revoked";
pub const LISTING_PUBLISHED: &str = "listing.published";
pub const LISTING_REMOVED: &str = "listing.removed";
pub const LISTING_EXPIRED: &str = "listing.expired";
pub const LISTING_REVOKED: &str = "listing.revoked";
pub const SCORE_BAND_CHANGED: &str = "score.band_changed";
/// A current related party of the subject (its MCN, employer …) was listed.
pub const RELATED_LISTING_PUBLISHED: &str = "related.listing_published";

/// The events of the public change feed.
pub const PUBLIC_TYPES: [&str; 4] = [
    LISTING_PUBLISHED,
    LISTING_EXPIRED,
    LISTING_REMOVED,
    LISTING_REVOKED,
];

/// Every event type, as platforms may filter webhooks by them.
pub const ALL_TYPES: [&str; 8] = [
    VIOLATION_RECORDED,
    VIOLATION_REVOKED,
    LISTING_PUBLISHED,
    LISTING_REMOVED,
    LISTING_EXPIRED,
    LISTING_REVOKED,
    SCORE_BAND_CHANGED,
    RELATED_LISTING_PUBLISHED,
];

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub subject_id: String,
    pub listing_id: Option<String>,
    pub occurred_at: NaiveDateTime,
    pub data: String,
}

/// Writes one event. Its sequence number comes from the audit head row, so
/// the transaction holds that row's lock until it commits: a later number is
/// never visible before an earlier one.
pub fn emit(
    conn: &mut DbConn,
    event_type: &str,
    subject_id: &str,
    listing_id: Option<&str>,
    data: Value,
) -> QueryResult<StoredEvent> {
    let seq = take_seqs(conn, 1)?;
    let event = StoredEvent {
        seq,
        id: uuid::Uuid::now_v7().to_string(),
        event_type: event_type.to_owned(),
        subject_id: subject_id.to_owned(),
        listing_id: listing_id.map(str::to_owned),
        occurred_at: Utc::now().naive_utc().trunc_subsecs(6),
        data: data.to_string(),
    };
    diesel::insert_into(events::table)
        .values(&event)
        .execute(conn)?;
    Ok(event)
}

/// Takes the next `count` event sequence numbers from the audit head row
/// and returns the last; the row's lock is held until the transaction ends.
fn take_seqs(conn: &mut DbConn, count: i64) -> QueryResult<i64> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::event_seq.eq(audit_head::event_seq + count))
        .returning(audit_head::event_seq)
        .get_result(conn)
}

/// An event to write with [`emit_all`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: &'static str,
    pub subject_id: String,
    pub listing_id: Option<String>,
    pub data: Value,
}

/// Writes many events in order, for bulk loaders: one allocation of
/// sequence numbers from the audit head row (as [`emit`] does, so the
/// transaction holds that row's lock until it commits) and multi-row
/// inserts. Returns how many were written.
pub fn emit_all(conn: &mut DbConn, batch: Vec<NewEvent>) -> QueryResult<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let count = batch.len() as i64;
    let last = take_seqs(conn, count)?;
    let occurred_at = Utc::now().naive_utc().trunc_subsecs(6);
    let rows: Vec<StoredEvent> = batch
        .into_iter()
        .zip(last - count + 1..)
        .map(|(e, seq)| StoredEvent {
            seq,
            id: uuid::Uuid::now_v7().to_string(),
            event_type: e.event_type.to_owned(),
            subject_id: e.subject_id,
            listing_id: e.listing_id,
            occurred_at,
            data: e.data.to_string(),
        })
        .collect();
    for chunk in rows.chunks(1000) {
        crate::insert_rows!(conn, events::table, chunk)?;
    }
    Ok(rows.len())
}

/// Events after `after_seq`, oldest first, of the given types.
pub fn after(
    conn: &mut DbConn,
    after_seq: i64,
    types: &[&str],
    limit: i64,
) -> QueryResult<Vec<StoredEvent>> {
    events::table
        .filter(events::seq.gt(after_seq))
        .filter(events::event_type.eq_any(types))
        .order(events::seq)
        .limit(limit)
        .select(StoredEvent::as_select())
        .load(conn)
}

/// The highest sequence number handed out so far.
pub fn head(conn: &mut DbConn) -> QueryResult<i64> {
    audit_head::table
        .find(1)
        .select(audit_head::event_seq)
        .first(conn)
}
