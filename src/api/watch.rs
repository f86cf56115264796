//! A platform's watchlist, its event feed, and its webhooks, over HTTP;
//! admins and auditors read every platform's.

use std::net::SocketAddr;

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::{OrganizationFilter, PageParams};
use super::params::{Id, Query};
use crate::auth::{Platform, PlatformRecordReader};
use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiResult;
use crate::page_type;
use crate::service::page::{decode_seq_cursor, encode_cursor};
use crate::service::watch::{
    self, AddWatch, CreateWebhook, DeliveryView, EventView, WatchView, WebhookPolicy, WebhookView,
};

/// The address this server listens on (webhooks may not point at it).
#[derive(Debug, Clone, Copy)]
pub struct ServiceAddress(pub SocketAddr);

page_type!(WatchPage, WatchView);
page_type!(DeliveryPage, DeliveryView);

#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeed {
    pub items: Vec<EventView>,
    /// Always present: pass it back to resume; `items` is empty when caught up.
    pub next_cursor: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
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
    let (actor, input) = (user.actor(), body.0);
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        watch::add(conn, &actor, input)
    })
    .await
}

/// The watchlist, oldest first.
///
/// A platform sees its own organization's. Admins and auditors read every
/// platform's, or one platform's with `organization_id`.
#[utoipa::path(get, path = "/v1/watchlist", tag = "watchlist", operation_id = "listWatches",
    params(PageParams, OrganizationFilter), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = WatchPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/watchlist")]
pub async fn list_watches(
    PlatformRecordReader(user): PlatformRecordReader,
    page: Query<PageParams>,
    filter: Query<OrganizationFilter>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<WatchPage>> {
    let (actor, page) = (user.actor(), page.request()?);
    let organization = filter.into_inner().organization_id;
    let page = db
        .run(move |conn| watch::list(conn, &actor, organization.as_deref(), &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// Stop watching.
#[utoipa::path(delete, path = "/v1/watchlist/{id}", tag = "watchlist", operation_id = "removeWatch",
    params(("id" = uuid::Uuid, Path, description = "Watch id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[delete("/v1/watchlist/{id}")]
pub async fn remove_watch(
    Platform(user): Platform,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (user.actor(), id.into_inner());
    db.write(move |conn| watch::remove(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Events of the watched subjects, in commit order.
///
/// A platform reads its own feed. Admins and auditors read one platform's
/// feed with `organization_id`, or without it every event some platform's
/// feed carries (each once).
#[utoipa::path(get, path = "/v1/events", tag = "watchlist", operation_id = "listEvents",
    params(PageParams, OrganizationFilter), security(("bearer" = [])),
    responses(
        (status = 200, description = "Events after the cursor", body = EventFeed),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/events")]
pub async fn list_events(
    PlatformRecordReader(user): PlatformRecordReader,
    page: Query<PageParams>,
    filter: Query<OrganizationFilter>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<EventFeed>> {
    let limit = page.request()?.limit;
    let after = decode_seq_cursor(page.cursor.as_deref())?;
    let actor = user.actor();
    let organization = filter.into_inner().organization_id;
    let (items, next) = db
        .run(move |conn| watch::feed(conn, &actor, organization.as_deref(), after, limit))
        .await?;
    Ok(web::Json(EventFeed {
        items,
        next_cursor: encode_cursor(&next.to_string()),
    }))
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
    let (actor, input) = (user.actor(), body.0);
    let policy = WebhookPolicy {
        allow_private: settings.webhook_allow_private,
        service: address.0,
    };
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        watch::create_webhook(conn, &actor, policy, input)
    })
    .await
}

/// Active webhooks, never with their secrets.
///
/// A platform sees its own organization's. Admins and auditors read every
/// platform's, or one platform's with `organization_id`.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    params(OrganizationFilter), security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhooks", body = WebhookList),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/webhooks")]
pub async fn list_webhooks(
    PlatformRecordReader(user): PlatformRecordReader,
    filter: web::Query<OrganizationFilter>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<WebhookList>> {
    let actor = user.actor();
    let organization = filter.into_inner().organization_id;
    let items = db
        .run(move |conn| watch::webhooks(conn, &actor, organization.as_deref()))
        .await?;
    Ok(web::Json(WebhookList { items }))
}

/// Stop a webhook (its pending deliveries are dropped).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", operation_id = "deleteWebhook",
    params(("id" = uuid::Uuid, Path, description = "Webhook id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Stopped"),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[delete("/v1/webhooks/{id}")]
pub async fn delete_webhook(
    Platform(user): Platform,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (user.actor(), id.into_inner());
    db.write(move |conn| watch::delete_webhook(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's delivery history.
///
/// A platform sees its own webhooks' (another's is a 404); admins and
/// auditors read any.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "listDeliveries",
    params(("id" = uuid::Uuid, Path, description = "Webhook id"), PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, oldest first", body = DeliveryPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    PlatformRecordReader(user): PlatformRecordReader,
    id: Id,
    page: Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<DeliveryPage>> {
    let (actor, id, page) = (user.actor(), id.into_inner(), page.request()?);
    let page = db
        .run(move |conn| watch::deliveries(conn, &actor, &id, &page))
        .await?;
    Ok(web::Json(page.into()))
}
