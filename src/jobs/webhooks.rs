//! Webhook deliveries: events of watched subjects become delivery rows (so
//! they survive restarts), and a worker sends each, signed, retrying with
//! exponential backoff and jitter until a 2xx or 24 hours. A delivery is
//! claimed before it is sent, so no two workers — in one instance or many —
//! send the same one at the same time.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::db::watch::Webhook;
use crate::db::{write_tx, Db};
use crate::domain::network;
use crate::service::watch::{self, Attempt, Claimed, WebhookPolicy};
use crate::service::{new_id, ServiceResult};

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
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Turns new events of each webhook's watched subjects into delivery rows
/// (blocking: call it off the async threads).
pub fn dispatch(db: &Db) -> ServiceResult<usize> {
    let mut conn = db.conn()?;
    let mut created = 0;
    for hook in watch::active_webhooks(&mut conn)? {
        created += write_tx(&mut conn, |conn| -> ServiceResult<usize> {
            Ok(watch::dispatch_webhook(conn, &hook)?)
        })?;
    }
    Ok(created)
}

/// Resolves the webhook's host and judges every address it resolves to, as
/// at registration (`watch::refuse_target`): a name can move to another
/// address after it was registered.
async fn refusal(url: &url::Url, policy: WebhookPolicy) -> Option<String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match url.host() {
        None => return Some("the URL names no host".into()),
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => match tokio::net::lookup_host((name, port)).await {
            Ok(found) => found.map(|a| a.ip()).collect(),
            Err(e) => return Some(format!("cannot resolve the host: {e}")),
        },
    };
    if addresses.is_empty() {
        return Some("the host resolves to no address".into());
    }
    addresses.into_iter().find_map(|ip| {
        watch::refuse_target(ip, port, policy)
            .map(|why| format!("refused ({ip}): the webhook URL {why}"))
    })
}

/// The delivery client's resolver: the addresses it connects to are the ones
/// judged, so a name that answers a global address to the check above and a
/// private one to the connection (DNS rebinding) is still refused.
struct GlobalOnlyResolver;

impl reqwest::dns::Resolve for GlobalOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(verdict) = found
                .iter()
                .map(|a| network::classify(a.ip()))
                .find(|v| !v.global)
            {
                return Err(format!(
                    "refused: {host} now resolves to an address that is not globally reachable ({verdict})"
                )
                .into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

async fn send(
    client: &reqwest::Client,
    hook: &Webhook,
    body: String,
    event_id: &str,
    policy: WebhookPolicy,
) -> Attempt {
    let url = match url::Url::parse(&hook.url) {
        Ok(url) => url,
        Err(e) => return Attempt::Failed(None, format!("bad URL: {e}")),
    };
    if let Some(why) = refusal(&url, policy).await {
        return Attempt::Failed(None, why);
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
        Err(e) => Attempt::Failed(None, format!("request failed: {}", crate::infra::chain(&e))),
    }
}

/// Sends the deliveries that are due; returns how many were attempted.
pub async fn deliver_due(
    db: &Db,
    client: &reqwest::Client,
    policy: WebhookPolicy,
) -> ServiceResult<usize> {
    let now = Utc::now().naive_utc();
    let due = db
        .run(move |conn| watch::due_deliveries(conn, now, 50))
        .await?;
    let mut attempted = 0;
    for delivery in due {
        let token = new_id();
        let until = now + chrono::Duration::seconds(CLAIM_SECONDS);
        let claim_token = token.clone();
        let claimed = db
            .write(move |conn| watch::claim_delivery(conn, delivery, &claim_token, now, until))
            .await?;
        let Some(Claimed {
            mut delivery,
            webhook,
            event,
        }) = claimed
        else {
            continue;
        };
        attempted += 1;
        let active = webhook.as_ref().is_some_and(|h| h.active);
        let attempt = match (&webhook, event) {
            (Some(hook), Some(event)) if hook.active => {
                let body = serde_json::to_string(&event).unwrap_or_default();
                send(client, hook, body, &delivery.event_id, policy).await
            }
            (Some(hook), None) if hook.active => {
                Attempt::Failed(None, "the event is no longer kept".into())
            }
            _ => Attempt::Failed(None, "the webhook was deleted".into()),
        };
        let finished_at = Utc::now().naive_utc();
        let retry_in = backoff(delivery.attempts + 1);
        watch::record_attempt(
            &mut delivery,
            attempt,
            active,
            finished_at,
            retry_in,
            GIVE_UP_AFTER,
        );
        db.write(move |conn| watch::finish_attempt(conn, &delivery, &token))
            .await?;
    }
    Ok(attempted)
}

/// Starts the dispatcher and delivery loop (once a second) on the current runtime.
pub fn spawn(db: Db, policy: WebhookPolicy) {
    actix_web::rt::spawn(async move {
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if !policy.allow_private {
            builder = builder.dns_resolver(Arc::new(GlobalOnlyResolver));
        }
        let client = match builder.build() {
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
                Ok(Err(e)) => super::log_failure("webhook dispatch", e),
                Err(e) => super::log_failure("webhook dispatch", e),
                Ok(Ok(_)) => {}
            }
            if let Err(e) = deliver_due(&db, &client, policy).await {
                super::log_failure("webhook delivery", e);
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

    #[tokio::test]
    async fn every_resolved_address_is_judged_before_a_delivery() {
        let service: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let strict = WebhookPolicy {
            allow_private: false,
            service,
        };
        let lenient = WebhookPolicy {
            allow_private: true,
            service,
        };
        let url = |s: &str| url::Url::parse(s).unwrap();
        for refused in [
            "http://[::127.0.0.1]:9000/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://198.18.0.1/",
            "http://localhost:9000/",
        ] {
            let why = refusal(&url(refused), strict).await;
            assert!(
                why.as_deref().is_some_and(|w| w.starts_with("refused (")),
                "{refused}: {why:?}"
            );
        }
        assert_eq!(refusal(&url("http://8.8.8.8/"), strict).await, None);
        // Test systems may deliver to loopback, never to this service.
        assert_eq!(refusal(&url("http://127.0.0.1:9000/"), lenient).await, None);
        let why = refusal(&url("http://localhost:8080/"), lenient).await;
        assert!(
            why.as_deref()
                .is_some_and(|w| w.ends_with("must not point at this service")),
            "{why:?}"
        );
    }

    #[test]
    fn backoff_starts_within_a_minute_and_grows() {
        let first = backoff(1).num_milliseconds();
        assert!((4000..=6000).contains(&first), "{first}");
        assert!(backoff(3).num_seconds() >= 36);
        assert!(backoff(20).num_seconds() <= 3600 * 12 / 10);
    }
}
