//! A platform's watchlist, its event feed, and its webhooks. Everything here
//! is scoped to the caller's organization: another's ids are simply not found.

use std::net::SocketAddr;

use actix_web::{delete, get, post, web, HttpResponse};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::{encode_cursor, page_of, PageParams};
use super::public::parse_seq_cursor;
use crate::audit::{self, Actor, Event};
use crate::auth::Platform;
use crate::config::Settings;
use crate::db::screening::{self as repo, Delivery, Watch, Webhook};
use crate::db::{registry, Db};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::{self, EventView};
use crate::page_type;
use crate::webhooks;

/// The address this server listens on (webhooks may not point at it).
#[derive(Debug, Clone, Copy)]
pub struct ServiceAddress(pub SocketAddr);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddWatch {
    /// A subject id from a screening answer.
    pub subject_id: String,
    /// The platform's own reference (e.g. its anchor id).
    pub external_ref: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WatchView {
    pub id: String,
    pub subject_id: String,
    pub external_ref: Option<String>,
    pub created_at: DateTime<Utc>,
}

page_type!(WatchPage, WatchView);

impl From<Watch> for WatchView {
    fn from(w: Watch) -> Self {
        Self {
            id: w.id,
            subject_id: w.subject_id,
            external_ref: w.external_ref,
            created_at: w.created_at.and_utc(),
        }
    }
}

/// Watch a subject.
#[utoipa::path(post, path = "/v1/watchlist", tag = "watchlist", operation_id = "addWatch",
    request_body = AddWatch, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Watching", body = WatchView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/watchlist")]
pub async fn add_watch(
    Platform(user): Platform,
    key: IdempotencyKey,
    body: ApiJson<AddWatch>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let b = body.0;
    let external_ref = b
        .external_ref
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if external_ref
        .as_ref()
        .is_some_and(|r| r.chars().count() > 200)
    {
        return Err(ApiError::invalid(
            "external_ref",
            "must be at most 200 characters",
        ));
    }
    let actor = Actor::user(&user.id, &user.organization_id);
    let (org, by) = (user.organization_id.clone(), user.id.clone());
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        registry::find_subject(conn, &b.subject_id)?
            .ok_or_else(|| ApiError::invalid("subject_id", "no such subject"))?;
        if let Some(existing) = repo::find_watch_of_subject(conn, &org, &b.subject_id)? {
            return Err(ApiError::conflict_with(
                "this subject is already watched",
                [("existing_watch_id", existing.id.into())],
            ));
        }
        let watch = Watch {
            id: uuid::Uuid::now_v7().to_string(),
            organization_id: org,
            subject_id: b.subject_id,
            external_ref,
            created_by: by,
            created_at: Utc::now().naive_utc(),
            since_seq: events::head(conn)?,
        };
        repo::insert_watch(conn, &watch)?;
        audit::append(
            conn,
            &actor,
            Event {
                action: "watch.added",
                target_type: "watch",
                target_id: &watch.id,
                details: json!({"subject_id": watch.subject_id}),
            },
        )?;
        serde_json::to_value(WatchView::from(watch)).map_err(|e| ApiError::Internal(e.into()))
    })
    .await
}

/// This organization's watchlist.
#[utoipa::path(get, path = "/v1/watchlist", tag = "watchlist", operation_id = "listWatches",
    params(PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = WatchPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/watchlist")]
pub async fn list_watches(
    Platform(user): Platform,
    page: web::Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<WatchPage>> {
    let (limit, after) = (page.limit()?, page.after()?);
    let rows = db
        .run(move |conn| {
            Ok(repo::list_watches(
                conn,
                &user.organization_id,
                after.as_deref(),
                limit + 1,
            )?)
        })
        .await?;
    let (rows, next_cursor) = page_of(rows, limit, |w| w.id.clone());
    Ok(web::Json(WatchPage {
        items: rows.into_iter().map(WatchView::from).collect(),
        next_cursor,
    }))
}

/// Stop watching.
#[utoipa::path(delete, path = "/v1/watchlist/{id}", tag = "watchlist", operation_id = "removeWatch",
    params(("id" = String, Path, description = "Watch id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[delete("/v1/watchlist/{id}")]
pub async fn remove_watch(
    Platform(user): Platform,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.write(move |conn| {
        if !repo::delete_watch(conn, &user.organization_id, &id)? {
            return Err(ApiError::not_found("no such watch"));
        }
        audit::append(
            conn,
            &Actor::user(&user.id, &user.organization_id),
            Event {
                action: "watch.removed",
                target_type: "watch",
                target_id: &id,
                details: json!({}),
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeed {
    pub items: Vec<EventView>,
    /// Always present: pass it back to resume; `items` is empty when caught up.
    pub next_cursor: String,
}

/// Events of the watched subjects, in commit order.
#[utoipa::path(get, path = "/v1/events", tag = "watchlist", operation_id = "listEvents",
    params(PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "Events after the cursor", body = EventFeed),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/events")]
pub async fn list_events(
    Platform(user): Platform,
    page: web::Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<EventFeed>> {
    let limit = page.limit()?;
    let after = parse_seq_cursor(page.cursor.as_deref())?;
    let (items, next) = db
        .run(move |conn| {
            // Read the head first: every event up to it has committed.
            let head = events::head(conn)?;
            let items = repo::watched_events(conn, &user.organization_id, after, head, limit)?;
            let next = if items.len() as i64 >= limit {
                items.last().map_or(after, |e| e.seq)
            } else {
                head.max(after)
            };
            Ok((items, next))
        })
        .await?;
    Ok(web::Json(EventFeed {
        items: items.into_iter().map(EventView::from).collect(),
        next_cursor: encode_cursor(&next.to_string()),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://…` (or `http://…`); loopback and private addresses only when the operator allows them.
    pub url: String,
    /// Event types to send; default all.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
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
            url: w.url,
            created_at: w.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
}

/// Register a webhook; the answer holds its secret, once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", operation_id = "createWebhook",
    request_body = CreateWebhook, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Registered", body = WebhookView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/webhooks")]
pub async fn create_webhook(
    Platform(user): Platform,
    key: IdempotencyKey,
    body: ApiJson<CreateWebhook>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    address: web::Data<ServiceAddress>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let b = body.0;
    let mut errors = Vec::new();
    let url = webhooks::check_url(&b.url, settings.webhook_allow_private, address.0)
        .map_err(|m| errors.push(FieldError::new("url", m)))
        .ok();
    let mut types = b.events;
    types.sort();
    types.dedup();
    for (i, t) in types.iter().enumerate() {
        if !events::ALL_TYPES.contains(&t.as_str()) {
            errors.push(FieldError::new(
                format!("events[{i}]"),
                format!("must be one of {}", events::ALL_TYPES.join(", ")),
            ));
        }
    }
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let webhook = Webhook {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: user.organization_id.clone(),
        url: url.to_string(),
        secret: format!(
            "whsec_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        ),
        event_types: serde_json::to_string(&types).unwrap_or_else(|_| "[]".into()),
        created_by: user.id.clone(),
        created_at: Utc::now().naive_utc(),
        active: true,
        last_dispatched_seq: 0,
    };
    let actor = Actor::user(&user.id, &user.organization_id);
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        // Only events from now on: not the subjects' whole history.
        let webhook = Webhook {
            last_dispatched_seq: events::head(conn)?,
            ..webhook
        };
        repo::insert_webhook(conn, &webhook)?;
        audit::append(
            conn,
            &actor,
            Event {
                action: "webhook.created",
                target_type: "webhook",
                target_id: &webhook.id,
                details: json!({"url": webhook.url, "events": types}),
            },
        )?;
        serde_json::to_value(WebhookView::new(webhook, true))
            .map_err(|e| ApiError::Internal(e.into()))
    })
    .await
}

/// This organization's webhooks (without secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhooks", body = WebhookList),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
    ))]
#[get("/v1/webhooks")]
pub async fn list_webhooks(
    Platform(user): Platform,
    db: web::Data<Db>,
) -> ApiResult<web::Json<WebhookList>> {
    let hooks = db
        .run(move |conn| Ok(repo::list_webhooks(conn, &user.organization_id)?))
        .await?;
    Ok(web::Json(WebhookList {
        items: hooks
            .into_iter()
            .map(|w| WebhookView::new(w, false))
            .collect(),
    }))
}

/// Stop a webhook (its pending deliveries are dropped).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(("id" = String, Path, description = "Webhook id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Stopped"),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[delete("/v1/webhooks/{id}")]
pub async fn delete_webhook(
    Platform(user): Platform,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.write(move |conn| {
        if !repo::deactivate_webhook(conn, &user.organization_id, &id)? {
            return Err(ApiError::not_found("no such webhook"));
        }
        audit::append(
            conn,
            &Actor::user(&user.id, &user.organization_id),
            Event {
                action: "webhook.deleted",
                target_type: "webhook",
                target_id: &id,
                details: json!({}),
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
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

page_type!(DeliveryPage, DeliveryView);

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.and_utc(),
            delivered_at: d.delivered_at.map(|t| t.and_utc()),
            created_at: d.created_at.and_utc(),
        }
    }
}

/// A webhook's delivery history.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "listDeliveries",
    params(("id" = String, Path, description = "Webhook id"), PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = DeliveryPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    Platform(user): Platform,
    id: web::Path<String>,
    page: web::Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<DeliveryPage>> {
    let (limit, after) = (page.limit()?, page.after()?);
    let id = id.into_inner();
    let rows = db
        .run(move |conn| {
            repo::find_webhook(conn, &user.organization_id, &id)?
                .ok_or_else(|| ApiError::not_found("no such webhook"))?;
            Ok(repo::deliveries_of(conn, &id, after.as_deref(), limit + 1)?)
        })
        .await?;
    let (rows, next_cursor) = page_of(rows, limit, |d| d.id.clone());
    Ok(web::Json(DeliveryPage {
        items: rows.into_iter().map(DeliveryView::from).collect(),
        next_cursor,
    }))
}
