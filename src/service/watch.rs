//! A platform's watchlist, its event feed, and its webhooks with their
//! deliveries. A platform sees only its own organization's: another's ids
//! are simply not found. Admins and auditors read every organization's
//! (never a webhook's secret); only the platform writes.

use std::net::{IpAddr, SocketAddr};

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use url::Host;

use super::page::{Page, PageRequest};
use super::{new_id, roles, Actor, Problems, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::events::{self, StoredEvent};
use crate::db::watch::{self as store, Delivery, DeliveryStatus, Watch, Webhook};
use crate::db::{registry, DbConn, DbError};
use crate::domain::network;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddWatch {
    /// A subject id from a screening answer.
    #[schema(format = Uuid)]
    pub subject_id: String,
    /// The platform's own reference (e.g. its anchor id).
    #[schema(max_length = 200)]
    pub external_ref: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WatchView {
    pub id: String,
    /// The watching platform.
    pub organization_id: String,
    pub subject_id: String,
    pub external_ref: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Watch> for WatchView {
    fn from(w: Watch) -> Self {
        Self {
            id: w.id,
            organization_id: w.organization_id,
            subject_id: w.subject_id,
            external_ref: w.external_ref,
            created_at: w.created_at.and_utc(),
        }
    }
}

/// An event as feeds and webhooks carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub seq: i64,
    /// `violation.recorded`, `violation.revoked`, `listing.published`, `listing.removed`,
    /// `listing.expired`, `listing.revoked`, `score.band_changed` or
    /// `related.listing_published` (a current related party of the watched subject was listed).
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub subject_id: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

impl EventView {
    pub fn of(e: StoredEvent) -> ServiceResult<Self> {
        let data = serde_json::from_str(&e.data).map_err(|err| {
            ServiceError::internal(format!("event {}: stored data is not JSON: {err}", e.seq))
        })?;
        Ok(Self {
            data,
            id: e.id,
            seq: e.seq,
            event_type: e.event_type,
            occurred_at: e.occurred_at.and_utc(),
            subject_id: e.subject_id,
        })
    }
}

/// Watches a subject.
pub fn add(conn: &mut DbConn, actor: &Actor, input: AddWatch) -> ServiceResult<WatchView> {
    let platform = actor.staff(roles::PLATFORMS)?;
    let external_ref = input
        .external_ref
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if external_ref
        .as_ref()
        .is_some_and(|r| r.chars().count() > 200 || r.chars().any(char::is_control))
    {
        return Err(ServiceError::invalid(
            "external_ref",
            "must be at most 200 characters without control characters",
        ));
    }
    registry::find_subject(conn, &input.subject_id)?
        .ok_or_else(|| ServiceError::invalid("subject_id", "no such subject"))?;
    if let Some(existing) =
        store::find_watch_of_subject(conn, &platform.organization_id, &input.subject_id)?
    {
        return Err(ServiceError::conflict_with(
            "this subject is already watched",
            [("existing_watch_id", existing.id.into())],
        ));
    }
    let watch = Watch {
        id: new_id(),
        organization_id: platform.organization_id.clone(),
        subject_id: input.subject_id,
        external_ref,
        created_by: platform.id.clone(),
        created_at: Utc::now().naive_utc(),
        since_seq: events::head(conn)?,
    };
    store::insert_watch(conn, &watch)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "watch.added",
            target_type: "watch",
            target_id: &watch.id,
            details: json!({"subject_id": watch.subject_id}),
        },
    )?;
    Ok(watch.into())
}

/// Watches, oldest first: a platform's own; for admins and auditors every
/// platform's, or those of `organization_id`.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    organization_id: Option<&str>,
    page: &PageRequest,
) -> ServiceResult<Page<WatchView>> {
    let scope = actor.platform_records(organization_id)?;
    let rows = store::list_watches(
        conn,
        scope.organization(),
        page.after.as_deref(),
        page.fetch(),
    )?;
    Ok(page.page(rows, |w| w.id.clone()).map(WatchView::from))
}

pub fn remove(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<()> {
    let platform = actor.staff(roles::PLATFORMS)?;
    if !store::delete_watch(conn, &platform.organization_id, id)? {
        return Err(ServiceError::not_found("no such watch"));
    }
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "watch.removed",
            target_type: "watch",
            target_id: id,
            details: json!({}),
        },
    )?;
    Ok(())
}

/// Events of watched subjects after `after`, in commit order, and the
/// cursor to resume from: a platform's feed; for admins and auditors the
/// feed of `organization_id`, or every event some platform's feed carries.
/// The head is read first: every event up to it has committed, so a cursor
/// moved to it skips nothing.
pub fn feed(
    conn: &mut DbConn,
    actor: &Actor,
    organization_id: Option<&str>,
    after: i64,
    limit: i64,
) -> ServiceResult<(Vec<EventView>, i64)> {
    let scope = actor.platform_records(organization_id)?;
    let head = events::head(conn)?;
    let items = store::watched_events(conn, scope.organization(), after, head, limit)?;
    let next = if items.len() as i64 >= limit {
        items.last().map_or(after, |e| e.seq)
    } else {
        head.max(after)
    };
    let items = items
        .into_iter()
        .map(EventView::of)
        .collect::<ServiceResult<_>>()?;
    Ok((items, next))
}

// ---- webhooks ----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://…` (or `http://…`); loopback and private addresses only when the operator allows them.
    #[schema(pattern = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\s]+")]
    pub url: String,
    /// Event types to send; default all.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    /// The platform that registered it.
    pub organization_id: String,
    pub url: String,
    /// Empty: all types.
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The HMAC key of `X-Livecredit-Signature`: shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookView {
    fn new(w: Webhook, show_secret: bool) -> Self {
        Self {
            events: serde_json::from_str(&w.event_types).unwrap_or_default(),
            secret: show_secret.then_some(w.secret),
            id: w.id,
            organization_id: w.organization_id,
            url: w.url,
            created_at: w.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    /// `pending`, `delivered` or `failed` (given up after 24 hours).
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.and_utc(),
            delivered_at: d.delivered_at.map(|t| t.and_utc()),
            created_at: d.created_at.and_utc(),
        }
    }
}

/// Why a webhook may not be sent to `ip` on `port`, if it may not: never to
/// this service itself (whatever the operator allows: a webhook must not
/// become a way to call livecredit's own API), and only to an address the
/// IANA registries mark globally reachable unless the operator allows
/// others (`LIVECREDIT_WEBHOOK_ALLOW_PRIVATE`, for test systems). An IPv6
/// address that carries an IPv4 address is judged by that address too
/// (`domain::network`). Used at registration and before every delivery.
pub fn refuse_target(ip: IpAddr, port: u16, policy: WebhookPolicy) -> Option<String> {
    let verdict = network::classify(ip);
    let service = policy.service;
    let points_here = port == service.port()
        && verdict
            .destinations()
            .any(|d| d.is_loopback() || d.is_unspecified() || d == service.ip());
    if points_here {
        return Some("must not point at this service".into());
    }
    if !policy.allow_private && !verdict.global {
        return Some(format!(
            "must not point at an address that is not globally reachable ({verdict})"
        ));
    }
    None
}

/// Checks a webhook URL when it is registered: http(s) only, no credentials,
/// not this service itself, and no address that is not globally reachable
/// unless allowed. A name is only judged by its form here (`localhost`);
/// what it resolves to is judged before every delivery.
pub fn check_url(raw: &str, allow_private: bool, service: SocketAddr) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL: {e}"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("must be an http:// or https:// URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let policy = WebhookPolicy {
        allow_private,
        service,
    };
    let refusal = match url.host() {
        None => return Err("must name a host".into()),
        Some(Host::Ipv4(ip)) => refuse_target(IpAddr::V4(ip), port, policy),
        Some(Host::Ipv6(ip)) => refuse_target(IpAddr::V6(ip), port, policy),
        Some(Host::Domain(name)) => {
            // RFC 6761: `localhost` and every name under it are this machine.
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let local_name = name == "localhost" || name.ends_with(".localhost");
            if local_name && port == service.port() {
                Some("must not point at this service".into())
            } else if local_name && !allow_private {
                Some("must not point at a loopback address (localhost)".into())
            } else {
                None
            }
        }
    };
    if let Some(why) = refusal {
        return Err(why);
    }
    if raw.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    Ok(url)
}

/// Where webhooks may point: addresses that are not globally reachable only
/// when the operator allows them, and never at this service itself.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPolicy {
    pub allow_private: bool,
    pub service: SocketAddr,
}

/// Registers a webhook; the answer holds its secret, once.
pub fn create_webhook(
    conn: &mut DbConn,
    actor: &Actor,
    policy: WebhookPolicy,
    input: CreateWebhook,
) -> ServiceResult<WebhookView> {
    let platform = actor.staff(roles::PLATFORMS)?;
    let mut problems = Problems::new();
    let url = problems.check(
        "url",
        check_url(&input.url, policy.allow_private, policy.service),
    );
    let mut types = input.events;
    types.sort();
    types.dedup();
    for (i, t) in types.iter().enumerate() {
        if !events::ALL_TYPES.contains(&t.as_str()) {
            problems.add(
                format!("events[{i}]"),
                format!("must be one of {}", events::ALL_TYPES.join(", ")),
            );
        }
    }
    let url = problems
        .finish(url)?
        .ok_or_else(|| ServiceError::invalid("url", "missing"))?;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let webhook = Webhook {
        id: new_id(),
        organization_id: platform.organization_id.clone(),
        url: url.to_string(),
        secret: format!(
            "whsec_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        ),
        event_types: json!(types).to_string(),
        created_by: platform.id.clone(),
        created_at: Utc::now().naive_utc(),
        active: true,
        // Only events from now on: not the subjects' whole history.
        last_dispatched_seq: events::head(conn)?,
    };
    store::insert_webhook(conn, &webhook)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "webhook.created",
            target_type: "webhook",
            target_id: &webhook.id,
            details: json!({"url": webhook.url, "events": types}),
        },
    )?;
    Ok(WebhookView::new(webhook, true))
}

/// Active webhooks, never with their secrets: a platform's own; for admins
/// and auditors every platform's, or those of `organization_id`.
pub fn webhooks(
    conn: &mut DbConn,
    actor: &Actor,
    organization_id: Option<&str>,
) -> ServiceResult<Vec<WebhookView>> {
    let scope = actor.platform_records(organization_id)?;
    Ok(store::list_webhooks(conn, scope.organization())?
        .into_iter()
        .map(|w| WebhookView::new(w, false))
        .collect())
}

/// Stops a webhook (its pending deliveries are dropped).
pub fn delete_webhook(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<()> {
    let platform = actor.staff(roles::PLATFORMS)?;
    if !store::deactivate_webhook(conn, &platform.organization_id, id)? {
        return Err(ServiceError::not_found("no such webhook"));
    }
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "webhook.deleted",
            target_type: "webhook",
            target_id: id,
            details: json!({}),
        },
    )?;
    Ok(())
}

/// A webhook's delivery history, oldest first: of a platform's own
/// webhook (another's is a 404); admins and auditors, of any.
pub fn deliveries(
    conn: &mut DbConn,
    actor: &Actor,
    webhook_id: &str,
    page: &PageRequest,
) -> ServiceResult<Page<DeliveryView>> {
    let scope = actor.platform_records(None)?;
    store::find_webhook(conn, scope.organization(), webhook_id)?
        .ok_or_else(|| ServiceError::not_found("no such webhook"))?;
    let rows = store::deliveries_of(conn, webhook_id, page.after.as_deref(), page.fetch())?;
    Ok(page.page(rows, |d| d.id.clone()).map(DeliveryView::from))
}

// ---- delivery bookkeeping (for the delivery worker) ----

/// A new pending delivery of an event to a webhook.
fn delivery_row(webhook_id: &str, event: &StoredEvent, now: NaiveDateTime) -> Delivery {
    Delivery {
        id: new_id(),
        webhook_id: webhook_id.to_owned(),
        event_id: event.id.clone(),
        event_seq: event.seq,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        claimed_until: None,
        claim_token: None,
        last_status_code: None,
        last_error: None,
        created_at: now,
        delivered_at: None,
    }
}

/// Turns the new events of one webhook's watched subjects into delivery
/// rows (inside a transaction, with the webhook's row locked); returns how many.
pub fn dispatch_webhook(conn: &mut DbConn, hook: &Webhook) -> Result<usize, DbError> {
    let Some(cursor) = store::lock_webhook(conn, &hook.id)? else {
        return Ok(0);
    };
    let head = events::head(conn)?;
    let wanted: Vec<String> = serde_json::from_str(&hook.event_types).unwrap_or_default();
    let mut rows = Vec::new();
    let mut last = cursor;
    loop {
        let page = store::watched_events(conn, Some(&hook.organization_id), last, head, 1000)?;
        let done = page.len() < 1000;
        for e in page {
            last = e.seq;
            if wanted.is_empty() || wanted.contains(&e.event_type) {
                rows.push(delivery_row(&hook.id, &e, Utc::now().naive_utc()));
            }
        }
        if done {
            break;
        }
    }
    let created = rows.len();
    store::insert_deliveries(conn, rows)?;
    store::set_dispatch_cursor(conn, &hook.id, head.max(last))?;
    Ok(created)
}

/// Every webhook that is still active (for the dispatcher).
pub fn active_webhooks(conn: &mut DbConn) -> ServiceResult<Vec<Webhook>> {
    Ok(store::active_webhooks(conn)?)
}

/// Pending deliveries whose time has come and that no live claim holds.
pub fn due_deliveries(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> ServiceResult<Vec<Delivery>> {
    Ok(store::due_deliveries(conn, now, limit)?)
}

/// A delivery claimed for one attempt, with its webhook and event (either
/// may be gone: a deleted webhook, a purged event).
pub struct Claimed {
    pub delivery: Delivery,
    pub webhook: Option<Webhook>,
    pub event: Option<EventView>,
}

/// Claims a delivery until `until` for the worker holding `token`; `None`
/// when another worker holds it.
pub fn claim_delivery(
    conn: &mut DbConn,
    delivery: Delivery,
    token: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> ServiceResult<Option<Claimed>> {
    if !store::claim_delivery(conn, &delivery.id, token, now, until)? {
        return Ok(None);
    }
    let webhook = store::webhook_by_id(conn, &delivery.webhook_id)?;
    let event = store::event_by_id(conn, &delivery.event_id)?
        .map(EventView::of)
        .transpose()?;
    Ok(Some(Claimed {
        delivery,
        webhook,
        event,
    }))
}

/// What one attempt to deliver came to.
pub enum Attempt {
    Delivered(u16),
    Failed(Option<u16>, String),
}

/// Records an attempt on the delivery: delivered, retried after `backoff`,
/// or given up (`give_up_after` since it was created, or its webhook gone).
pub fn record_attempt(
    delivery: &mut Delivery,
    attempt: Attempt,
    webhook_active: bool,
    finished_at: NaiveDateTime,
    backoff: chrono::Duration,
    give_up_after: chrono::Duration,
) {
    delivery.attempts += 1;
    match attempt {
        Attempt::Delivered(code) => {
            delivery.status = DeliveryStatus::Delivered;
            delivery.last_status_code = Some(i32::from(code));
            delivery.last_error = None;
            delivery.delivered_at = Some(finished_at);
        }
        Attempt::Failed(code, error) => {
            delivery.last_status_code = code.map(i32::from);
            delivery.last_error = Some(error);
            let next = finished_at + backoff;
            if !webhook_active || next - delivery.created_at > give_up_after {
                delivery.status = DeliveryStatus::Failed;
            } else {
                delivery.next_attempt_at = next;
            }
        }
    }
}

/// Stores an attempt's outcome, if the claim is still the worker's.
pub fn finish_attempt(conn: &mut DbConn, delivery: &Delivery, token: &str) -> ServiceResult<bool> {
    Ok(store::finish_attempt(conn, delivery, token)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let me: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(check_url("https://hooks.example.com/livecredit", false, me).is_ok());
        assert!(check_url("ftp://hooks.example.com/", false, me).is_err());
        assert!(check_url("file:///etc/passwd", true, me).is_err());
        assert!(check_url("http://127.0.0.1:9000/", false, me).is_err());
        assert!(check_url("http://127.0.0.1:9000/", true, me).is_ok());
        assert!(check_url("http://127.0.0.1:8080/v1/me", true, me).is_err());
        assert!(check_url("http://localhost:8080/", true, me).is_err());
        assert!(check_url("http://LOCALHOST.:9000/", false, me).is_err());
        assert!(check_url("http://api.localhost:9000/", false, me).is_err());
        assert!(check_url("http://10.1.2.3/", false, me).is_err());
        assert!(check_url("http://[::1]:9000/", false, me).is_err());
        assert!(check_url("http://user:pw@example.com/", false, me).is_err());
        assert!(check_url("http://8.8.8.8/", false, me).is_ok());
        assert!(check_url("http://[2606:4700::1111]/", false, me).is_ok());
    }

    #[test]
    fn the_reproductions_of_issue_14_are_refused() {
        let me: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        for url in [
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://198.18.0.1/",
            "http://198.19.255.255/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
            "http://[64:ff9b:1::808:808]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            "http://224.0.0.1/",
            "http://0.0.0.0/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://192.0.2.1/",
        ] {
            let refused = check_url(url, false, me);
            assert!(refused.is_err(), "{url} was accepted");
        }
        // Allowed for test systems, except where they reach this service:
        // through the IPv4 address they carry too.
        assert!(check_url("http://[::127.0.0.1]:9000/", true, me).is_ok());
        for url in [
            "http://[::127.0.0.1]:8080/",
            "http://[::ffff:127.0.0.1]:8080/",
            "http://[64:ff9b::7f00:1]:8080/",
            "http://[2002:7f00:1::]:8080/",
            "http://[2001:0:808:808::80ff:fffe]:8080/",
            "http://[::]:8080/",
            "http://127.9.9.9:8080/",
        ] {
            assert_eq!(
                check_url(url, true, me).unwrap_err(),
                "must not point at this service",
                "{url}"
            );
        }
        // Globally reachable IPv4 behind the IPv6 forms is fine.
        for url in [
            "http://[::ffff:8.8.8.8]/",
            "http://[64:ff9b::808:808]/",
            "http://[2002:808:808::1]/",
        ] {
            assert!(check_url(url, false, me).is_ok(), "{url}");
        }
        let why = check_url("http://198.18.0.1/", false, me).unwrap_err();
        assert!(why.contains("Benchmarking (RFC 2544)"), "{why}");
    }
}
