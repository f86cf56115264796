//! Lookups for screening, and the rows it writes: screening records,
//! watchlists, webhooks and their deliveries.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    listings, screenings, subject_accounts, subject_name_keys, subject_names, subjects, watchlist,
    webhook_deliveries, webhooks,
};
use super::DbConn;

/// Subjects holding any of these resident-ID hashes, as (hash, subject id).
pub fn by_id_number_hashes(
    conn: &mut DbConn,
    hashes: &[String],
) -> QueryResult<Vec<(String, String)>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<String>, String)> = subjects::table
        .filter(subjects::id_number_hash.eq_any(hashes))
        .select((subjects::id_number_hash, subjects::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(h, id)| h.map(|h| (h, id)))
        .collect())
}

/// Subjects holding any of these USCCs, as (uscc, subject id).
pub fn by_usccs(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<(String, String)>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<String>, String)> = subjects::table
        .filter(subjects::uscc.eq_any(codes))
        .select((subjects::uscc, subjects::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(u, id)| u.map(|u| (u, id)))
        .collect())
}

/// Subjects owning any of these account keys, as (key, subject id).
pub fn by_account_keys(conn: &mut DbConn, keys: &[String]) -> QueryResult<Vec<(String, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    subject_accounts::table
        .filter(subject_accounts::account_key.eq_any(keys))
        .select((subject_accounts::account_key, subject_accounts::subject_id))
        .load(conn)
}

/// Name-key rows equal to any of the given keys of a kind, of subjects with
/// a listing in status `listed`: (subject id, kind, key). Only those matter
/// to a name-only match; of a million subjects, one or two in a hundred.
pub fn listed_name_key_hits(
    conn: &mut DbConn,
    kind: &str,
    keys: &[String],
    limit: i64,
) -> QueryResult<Vec<(String, String, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // The bare flag (no bound value) lets both planners use the partial
    // index of flagged keys; whether a listing is in force today is checked
    // with the subject's listings afterwards.
    subject_name_keys::table
        .filter(subject_name_keys::listed)
        .filter(subject_name_keys::key_kind.eq(kind))
        .filter(subject_name_keys::name_key.eq_any(keys))
        .limit(limit)
        .select((
            subject_name_keys::subject_id,
            subject_name_keys::key_kind,
            subject_name_keys::name_key,
        ))
        .load(conn)
}

/// Every name and alias of these subjects: (subject id, position, name).
pub fn names_of(
    conn: &mut DbConn,
    subject_ids: &[String],
) -> QueryResult<Vec<(String, i32, String)>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    subject_names::table
        .filter(subject_names::subject_id.eq_any(subject_ids))
        .select((
            subject_names::subject_id,
            subject_names::position,
            subject_names::name,
        ))
        .load(conn)
}

/// What screening shows of a subject.
#[derive(Debug, Clone, Queryable)]
pub struct SubjectSummary {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub score: f64,
    pub band: String,
}

pub fn summaries(conn: &mut DbConn, subject_ids: &[String]) -> QueryResult<Vec<SubjectSummary>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    subjects::table
        .filter(subjects::id.eq_any(subject_ids))
        .select((
            subjects::id,
            subjects::name,
            subjects::kind,
            subjects::score,
            subjects::band,
        ))
        .load(conn)
}

/// An active listing as screening shows it.
#[derive(Debug, Clone, Queryable)]
pub struct ActiveListing {
    pub subject_id: String,
    pub listing_id: String,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub reason: String,
}

pub fn active_listings(
    conn: &mut DbConn,
    subject_ids: &[String],
    today: NaiveDate,
) -> QueryResult<Vec<ActiveListing>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Sorted here, not in SQL: an ORDER BY on the listing id tempts SQLite's
    // planner into the (status, id) index, which walks every listed row.
    let mut rows: Vec<ActiveListing> = listings::table
        .filter(listings::subject_id.eq_any(subject_ids))
        .filter(listings::status.eq("listed"))
        .filter(listings::expires_on.gt(today))
        .select((
            listings::subject_id,
            listings::id,
            listings::listed_on,
            listings::expires_on,
            listings::reason,
        ))
        .load(conn)?;
    rows.sort_by(|a, b| a.listing_id.cmp(&b.listing_id));
    Ok(rows)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = screenings, treat_none_as_default_value = false)]
pub struct ScreeningRecord {
    pub id: String,
    pub batch_id: Option<String>,
    pub position: i32,
    pub organization_id: String,
    pub user_id: String,
    pub screened_at: NaiveDateTime,
    pub query_fingerprint: String,
    pub decision: String,
    pub list_version: i64,
    /// JSON array of the matched subjects' ids.
    pub matched_subject_ids: String,
}

pub fn insert_screenings(conn: &mut DbConn, rows: &[ScreeningRecord]) -> QueryResult<()> {
    // 10 columns: 1,000 rows stay far below PostgreSQL's 65,535 bind parameters.
    for chunk in rows.chunks(1000) {
        crate::insert_rows!(conn, screenings::table, chunk)?;
    }
    Ok(())
}

pub fn find_screening(
    conn: &mut DbConn,
    organization_id: &str,
    id: &str,
) -> QueryResult<Option<ScreeningRecord>> {
    screenings::table
        .filter(screenings::id.eq(id))
        .filter(screenings::organization_id.eq(organization_id))
        .select(ScreeningRecord::as_select())
        .first(conn)
        .optional()
}

pub fn list_screenings(
    conn: &mut DbConn,
    organization_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ScreeningRecord>> {
    let mut query = screenings::table
        .filter(screenings::organization_id.eq(organization_id.to_owned()))
        .order(screenings::id)
        .limit(limit)
        .select(ScreeningRecord::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(screenings::id.gt(after.to_owned()));
    }
    query.load(conn)
}

// ---- watchlist ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = watchlist, treat_none_as_default_value = false)]
pub struct Watch {
    pub id: String,
    pub organization_id: String,
    pub subject_id: String,
    pub external_ref: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub since_seq: i64,
}

pub fn find_watch_of_subject(
    conn: &mut DbConn,
    organization_id: &str,
    subject_id: &str,
) -> QueryResult<Option<Watch>> {
    watchlist::table
        .filter(watchlist::organization_id.eq(organization_id))
        .filter(watchlist::subject_id.eq(subject_id))
        .select(Watch::as_select())
        .first(conn)
        .optional()
}

pub fn insert_watch(conn: &mut DbConn, watch: &Watch) -> QueryResult<()> {
    diesel::insert_into(watchlist::table)
        .values(watch)
        .execute(conn)
        .map(drop)
}

pub fn list_watches(
    conn: &mut DbConn,
    organization_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Watch>> {
    let mut query = watchlist::table
        .filter(watchlist::organization_id.eq(organization_id.to_owned()))
        .order(watchlist::id)
        .limit(limit)
        .select(Watch::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(watchlist::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Deletes an organization's watch; false when it has no such watch.
pub fn delete_watch(conn: &mut DbConn, organization_id: &str, id: &str) -> QueryResult<bool> {
    let deleted = diesel::delete(
        watchlist::table
            .filter(watchlist::id.eq(id))
            .filter(watchlist::organization_id.eq(organization_id)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

// ---- webhooks ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks, treat_none_as_default_value = false)]
pub struct Webhook {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    pub secret: String,
    pub event_types: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub active: bool,
    pub last_dispatched_seq: i64,
}

pub fn insert_webhook(conn: &mut DbConn, webhook: &Webhook) -> QueryResult<()> {
    diesel::insert_into(webhooks::table)
        .values(webhook)
        .execute(conn)
        .map(drop)
}

pub fn find_webhook(
    conn: &mut DbConn,
    organization_id: &str,
    id: &str,
) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::organization_id.eq(organization_id))
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

pub fn list_webhooks(conn: &mut DbConn, organization_id: &str) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .filter(webhooks::organization_id.eq(organization_id))
        .filter(webhooks::active.eq(true))
        .order(webhooks::id)
        .select(Webhook::as_select())
        .load(conn)
}

pub fn deactivate_webhook(conn: &mut DbConn, organization_id: &str, id: &str) -> QueryResult<bool> {
    let changed = diesel::update(
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::organization_id.eq(organization_id)),
    )
    .set(webhooks::active.eq(false))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn active_webhooks(conn: &mut DbConn) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .filter(webhooks::active.eq(true))
        .select(Webhook::as_select())
        .load(conn)
}

/// Locks a webhook's row; returns its dispatch cursor.
pub fn lock_webhook(conn: &mut DbConn, id: &str) -> QueryResult<Option<i64>> {
    diesel::update(webhooks::table.find(id))
        .set(webhooks::last_dispatched_seq.eq(webhooks::last_dispatched_seq))
        .execute(conn)?;
    webhooks::table
        .find(id)
        .select(webhooks::last_dispatched_seq)
        .first(conn)
        .optional()
}

pub fn set_dispatch_cursor(conn: &mut DbConn, id: &str, seq: i64) -> QueryResult<()> {
    diesel::update(webhooks::table.find(id))
        .set(webhooks::last_dispatched_seq.eq(seq))
        .execute(conn)
        .map(drop)
}

/// Events for an organization's watched subjects after `after`: (seq, event id, type).
pub fn watched_events(
    conn: &mut DbConn,
    organization_id: &str,
    after: i64,
    up_to: i64,
    limit: i64,
) -> QueryResult<Vec<crate::events::StoredEvent>> {
    use super::schema::events;
    events::table
        .inner_join(watchlist::table.on(watchlist::subject_id.eq(events::subject_id)))
        .filter(watchlist::organization_id.eq(organization_id))
        .filter(events::seq.gt(watchlist::since_seq))
        .filter(events::seq.gt(after))
        .filter(events::seq.le(up_to))
        .order(events::seq)
        .limit(limit)
        .select(crate::events::StoredEvent::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_seq: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub claim_token: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn insert_deliveries(conn: &mut DbConn, rows: &[Delivery]) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        crate::insert_rows!(conn, webhook_deliveries::table, chunk)?;
    }
    Ok(())
}

/// Pending deliveries whose time has come and that no live claim holds.
pub fn due_deliveries(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::claimed_until
                .is_null()
                .or(webhook_deliveries::claimed_until.lt(now)),
        )
        .order(webhook_deliveries::next_attempt_at)
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)
}

/// Claims a delivery until `until`, unless another worker holds it; true when claimed.
pub fn claim_delivery(
    conn: &mut DbConn,
    id: &str,
    token: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let claimed = diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(
                webhook_deliveries::claimed_until
                    .is_null()
                    .or(webhook_deliveries::claimed_until.lt(now)),
            ),
    )
    .set((
        webhook_deliveries::claimed_until.eq(until),
        webhook_deliveries::claim_token.eq(token),
    ))
    .execute(conn)?;
    Ok(claimed == 1)
}

/// Records an attempt's outcome, if the claim is still ours.
pub fn finish_attempt(conn: &mut DbConn, delivery: &Delivery, token: &str) -> QueryResult<bool> {
    let changed = diesel::update(
        webhook_deliveries::table
            .find(&delivery.id)
            .filter(webhook_deliveries::claim_token.eq(token)),
    )
    .set((
        webhook_deliveries::status.eq(&delivery.status),
        webhook_deliveries::attempts.eq(delivery.attempts),
        webhook_deliveries::next_attempt_at.eq(delivery.next_attempt_at),
        webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::claim_token.eq(None::<String>),
        webhook_deliveries::last_status_code.eq(delivery.last_status_code),
        webhook_deliveries::last_error.eq(&delivery.last_error),
        webhook_deliveries::delivered_at.eq(delivery.delivered_at),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn deliveries_of(
    conn: &mut DbConn,
    webhook_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id.to_owned()))
        .order(webhook_deliveries::id)
        .limit(limit)
        .select(Delivery::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhook_deliveries::id.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn webhook_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

pub fn event_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<crate::events::StoredEvent>> {
    use super::schema::events;
    events::table
        .filter(events::id.eq(id))
        .select(crate::events::StoredEvent::as_select())
        .first(conn)
        .optional()
}
