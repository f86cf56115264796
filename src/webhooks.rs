//! Webhook deliveries: events of watched subjects become delivery rows (so
//! they survive restarts), and a worker sends each, signed, retrying with
//! exponential backoff and jitter until a 2xx or 24 hours. A delivery is
//! claimed before it is sent, so no two workers — in one instance or many —
//! send the same one at the same time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::db::screening::{self as repo, Delivery, Webhook};
use crate::db::{write_tx, Db};
use crate::error::ApiResult;
use crate::events::{self, EventView};

/// How long a delivery keeps being retried.
pub const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// The first retry comes after about this many seconds (±20%), then ×3 each time, at most an hour.
const FIRST_RETRY_SECONDS: f64 = 5.0;
const MAX_RETRY_SECONDS: f64 = 3600.0;
/// How long a worker's claim on a delivery lasts.
const CLAIM_SECONDS: i64 = 60;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The delay before retry number `attempt` (1 for the first retry), with jitter.
pub fn backoff(attempt: i32) -> chrono::Duration {
    let base = (FIRST_RETRY_SECONDS * 3f64.powi(attempt.max(1) - 1)).min(MAX_RETRY_SECONDS);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    chrono::Duration::milliseconds((base * jitter * 1000.0) as i64)
}

/// `sha256=<hex HMAC-SHA256 of the body keyed with the secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether an address is one a webhook may not reach unless private
/// targets are allowed: loopback, private, link-local, unspecified, multicast.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Checks a webhook URL when it is registered: http(s) only, no credentials,
/// not this service itself, and no private address unless allowed.
pub fn check_url(raw: &str, allow_private: bool, service: SocketAddr) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL: {e}"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("must be an http:// or https:// URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let host = url.host_str().ok_or("must name a host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let host_ip: Option<IpAddr> = host.trim_matches(['[', ']']).parse().ok();
    let local_name = host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost");
    let points_here = port == service.port()
        && (local_name
            || host_ip
                .is_some_and(|ip| ip.is_loopback() || ip.is_unspecified() || ip == service.ip()));
    if points_here {
        return Err("must not point at this service".into());
    }
    if !allow_private && (local_name || host_ip.is_some_and(is_private)) {
        return Err("must not point at a loopback or private address".into());
    }
    if raw.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    Ok(url)
}

/// Turns new events of each webhook's watched subjects into delivery rows.
pub fn dispatch(db: &Db) -> ApiResult<usize> {
    let mut conn = db.conn()?;
    let hooks = repo::active_webhooks(&mut conn)?;
    let mut created = 0;
    for hook in hooks {
        created += write_tx(&mut conn, |conn| -> ApiResult<usize> {
            let Some(cursor) = repo::lock_webhook(conn, &hook.id)? else {
                return Ok(0);
            };
            let head = events::head(conn)?;
            let wanted: Vec<String> = serde_json::from_str(&hook.event_types).unwrap_or_default();
            let mut rows = Vec::new();
            let mut last = cursor;
            loop {
                let page = repo::watched_events(conn, &hook.organization_id, last, head, 1000)?;
                let done = page.len() < 1000;
                for e in page {
                    last = e.seq;
                    if wanted.is_empty() || wanted.contains(&e.event_type) {
                        let now = Utc::now().naive_utc();
                        rows.push(Delivery {
                            id: uuid::Uuid::now_v7().to_string(),
                            webhook_id: hook.id.clone(),
                            event_id: e.id,
                            event_seq: e.seq,
                            status: "pending".into(),
                            attempts: 0,
                            next_attempt_at: now,
                            claimed_until: None,
                            claim_token: None,
                            last_status_code: None,
                            last_error: None,
                            created_at: now,
                            delivered_at: None,
                        });
                    }
                }
                if done {
                    break;
                }
            }
            repo::insert_deliveries(conn, &rows)?;
            repo::set_dispatch_cursor(conn, &hook.id, head.max(last))?;
            Ok(rows.len())
        })?;
    }
    Ok(created)
}

/// What one attempt came to.
enum Attempt {
    Delivered(u16),
    Failed(Option<u16>, String),
}

async fn send(
    client: &reqwest::Client,
    hook: &Webhook,
    body: String,
    event_id: &str,
    allow_private: bool,
) -> Attempt {
    let url = match url::Url::parse(&hook.url) {
        Ok(url) => url,
        Err(e) => return Attempt::Failed(None, format!("bad URL: {e}")),
    };
    // Resolve now, not only at registration: a name can move to a private address.
    if !allow_private {
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let resolved: Result<Vec<SocketAddr>, _> =
            tokio::net::lookup_host(format!("{host}:{port}"))
                .await
                .map(Iterator::collect);
        match resolved {
            Ok(addrs) if addrs.iter().any(|a| is_private(a.ip())) => {
                return Attempt::Failed(
                    None,
                    "refused: the host resolves to a private address".into(),
                );
            }
            Ok(_) => {}
            Err(e) => return Attempt::Failed(None, format!("cannot resolve the host: {e}")),
        }
    }
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "x-livecredit-signature",
            signature(&hook.secret, body.as_bytes()),
        )
        .header("x-livecredit-event-id", event_id)
        .body(body)
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => Attempt::Delivered(r.status().as_u16()),
        Ok(r) => Attempt::Failed(
            Some(r.status().as_u16()),
            format!("answered {}", r.status()),
        ),
        Err(e) => Attempt::Failed(None, format!("request failed: {e}")),
    }
}

/// Sends the deliveries that are due; returns how many were attempted.
pub async fn deliver_due(
    db: &Db,
    client: &reqwest::Client,
    allow_private: bool,
) -> ApiResult<usize> {
    let now = Utc::now().naive_utc();
    let due = db
        .run(move |conn| Ok(repo::due_deliveries(conn, now, 50)?))
        .await?;
    let mut attempted = 0;
    for delivery in due {
        let token = uuid::Uuid::now_v7().to_string();
        let until = now + chrono::Duration::seconds(CLAIM_SECONDS);
        let (claim_id, claim_token) = (delivery.id.clone(), token.clone());
        let claimed = db
            .run(move |conn| {
                if !repo::claim_delivery(conn, &claim_id, &claim_token, now, until)? {
                    return Ok(None);
                }
                let hook = repo::webhook_by_id(conn, &delivery.webhook_id)?;
                let event = repo::event_by_id(conn, &delivery.event_id)?;
                Ok(Some((delivery, hook, event)))
            })
            .await?;
        let Some((mut delivery, hook, event)) = claimed else {
            continue;
        };
        attempted += 1;
        let attempt = match (&hook, event) {
            (Some(hook), Some(event)) if hook.active => {
                let body = serde_json::to_string(&EventView::from(event)).unwrap_or_default();
                send(client, hook, body, &delivery.event_id, allow_private).await
            }
            _ => Attempt::Failed(None, "the webhook was deleted".into()),
        };
        let finished_at = Utc::now().naive_utc();
        delivery.attempts += 1;
        match attempt {
            Attempt::Delivered(code) => {
                delivery.status = "delivered".into();
                delivery.last_status_code = Some(i32::from(code));
                delivery.last_error = None;
                delivery.delivered_at = Some(finished_at);
            }
            Attempt::Failed(code, error) => {
                delivery.last_status_code = code.map(i32::from);
                delivery.last_error = Some(error);
                let next: NaiveDateTime = finished_at + backoff(delivery.attempts);
                let deleted = hook.as_ref().is_none_or(|h| !h.active);
                if deleted || next - delivery.created_at > GIVE_UP_AFTER {
                    delivery.status = "failed".into();
                } else {
                    delivery.next_attempt_at = next;
                }
            }
        }
        db.run(move |conn| Ok(repo::finish_attempt(conn, &delivery, &token)?))
            .await?;
    }
    Ok(attempted)
}

/// Starts the dispatcher and delivery loop (once a second) on the current runtime.
pub fn spawn(db: Db, allow_private: bool) {
    actix_web::rt::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are not delivered");
                return;
            }
        };
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let dispatch_db = db.clone();
            match actix_web::web::block(move || dispatch(&dispatch_db)).await {
                Ok(Err(e)) => {
                    tracing::warn!(error = %e.problem().detail, "webhook dispatch failed; will retry")
                }
                Err(e) => tracing::warn!(error = %e, "webhook dispatch failed; will retry"),
                Ok(Ok(_)) => {}
            }
            if let Err(e) = deliver_due(&db, &client, allow_private).await {
                tracing::warn!(error = %e.problem().detail, "webhook delivery round failed; will retry");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        let expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(signature("Jefe", b"what do ya want for nothing?"), expected);
    }

    #[test]
    fn backoff_starts_within_a_minute_and_grows() {
        let first = backoff(1).num_milliseconds();
        assert!((4000..=6000).contains(&first), "{first}");
        assert!(backoff(3).num_seconds() >= 36);
        assert!(backoff(20).num_seconds() <= 3600 * 12 / 10);
    }

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
        assert!(check_url("http://10.1.2.3/", false, me).is_err());
        assert!(check_url("http://[::1]:9000/", false, me).is_err());
        assert!(check_url("http://user:pw@example.com/", false, me).is_err());
        assert!(is_private("192.168.1.1".parse().unwrap()));
        assert!(!is_private("8.8.8.8".parse().unwrap()));
        assert!(is_private("::ffff:10.0.0.1".parse().unwrap()));
    }
}
