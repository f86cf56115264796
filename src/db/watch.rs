//! A platform's watchlist, its webhooks and their deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::events::StoredEvent;
use super::schema::{events, watchlist, webhook_deliveries, webhooks};
use super::DbConn;

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet delivered; retried until a 2xx or 24 hours.
    Pending,
    Delivered,
    /// Given up after 24 hours of failures.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

crate::domain::named_values!(DeliveryStatus, "delivery status");

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

/// One page of watches in id order, of one organization or (`None`) of all.
pub fn list_watches(
    conn: &mut DbConn,
    organization_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Watch>> {
    let mut query = watchlist::table
        .order(watchlist::id)
        .limit(limit)
        .select(Watch::as_select())
        .into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(watchlist::organization_id.eq(org.to_owned()));
    }
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

/// A webhook, of one organization or (`None`) of any.
pub fn find_webhook(
    conn: &mut DbConn,
    organization_id: Option<&str>,
    id: &str,
) -> QueryResult<Option<Webhook>> {
    let mut query = webhooks::table
        .filter(webhooks::id.eq(id.to_owned()))
        .select(Webhook::as_select())
        .into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(webhooks::organization_id.eq(org.to_owned()));
    }
    query.first(conn).optional()
}

/// Active webhooks in id order, of one organization or (`None`) of all.
pub fn list_webhooks(
    conn: &mut DbConn,
    organization_id: Option<&str>,
) -> QueryResult<Vec<Webhook>> {
    let mut query = webhooks::table
        .filter(webhooks::active.eq(true))
        .order(webhooks::id)
        .select(Webhook::as_select())
        .into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(webhooks::organization_id.eq(org.to_owned()));
    }
    query.load(conn)
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

/// Events in (`after`, `up_to`] that an organization's feed carries (of the
/// subjects it watches, from when it began to), or with `None` that some
/// organization's feed carries, each once.
pub fn watched_events(
    conn: &mut DbConn,
    organization_id: Option<&str>,
    after: i64,
    up_to: i64,
    limit: i64,
) -> QueryResult<Vec<StoredEvent>> {
    let Some(org) = organization_id else {
        return events::table
            .filter(diesel::dsl::exists(
                watchlist::table
                    .filter(watchlist::subject_id.eq(events::subject_id))
                    .filter(watchlist::since_seq.lt(events::seq)),
            ))
            .filter(events::seq.gt(after))
            .filter(events::seq.le(up_to))
            .order(events::seq)
            .limit(limit)
            .select(StoredEvent::as_select())
            .load(conn);
    };
    events::table
        .inner_join(watchlist::table.on(watchlist::subject_id.eq(events::subject_id)))
        .filter(watchlist::organization_id.eq(org))
        .filter(events::seq.gt(watchlist::since_seq))
        .filter(events::seq.gt(after))
        .filter(events::seq.le(up_to))
        .order(events::seq)
        .limit(limit)
        .select(StoredEvent::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_seq: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub claim_token: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn insert_deliveries(conn: &mut DbConn, rows: Vec<Delivery>) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        crate::insert_rows!(conn, webhook_deliveries::table, chunk.to_vec())?;
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
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
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
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
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
        webhook_deliveries::status.eq(delivery.status.as_str()),
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

pub fn event_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<StoredEvent>> {
    events::table
        .filter(events::id.eq(id))
        .select(StoredEvent::as_select())
        .first(conn)
        .optional()
}

// ---- retention ----

/// Forgets up to `limit` deliveries that ended before `cutoff`: delivered
/// then, or given up after an attempt due then (a failed delivery's
/// `next_attempt_at` is its last attempt). Pending ones are never touched.
/// Bounded by the (status, next_attempt_at) index: a delivered row's last
/// attempt was due before it was delivered.
pub fn purge_ended_deliveries(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<usize> {
    let delivered = webhook_deliveries::status
        .eq(DeliveryStatus::Delivered.as_str())
        .and(webhook_deliveries::delivered_at.lt(cutoff));
    let failed = webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str());
    let ended: Vec<String> = webhook_deliveries::table
        .filter(webhook_deliveries::next_attempt_at.lt(cutoff))
        .filter(delivered.or(failed))
        .select(webhook_deliveries::id)
        .limit(limit)
        .load(conn)?;
    if ended.is_empty() {
        return Ok(0);
    }
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ended)))
        .execute(conn)
}
