//! Users: admins create, change role, disable; admins and auditors list.

use actix_web::{get, patch, post, web, HttpResponse};

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::PageParams;
use super::params::{Id, Query};
use crate::auth::{Admin, Overseer};
use crate::db::Db;
use crate::error::ApiResult;
use crate::page_type;
use crate::service::accounts::{self, CreateUser, UpdateUser, UserView};

page_type!(UserPage, UserView);

/// Create a user.
#[utoipa::path(post, path = "/v1/users", tag = "users", operation_id = "createUser",
    request_body = CreateUser, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/users")]
pub async fn create_user(
    Admin(admin): Admin,
    key: IdempotencyKey,
    body: ApiJson<CreateUser>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    // The password is part of the body: only its hash reaches the fingerprint.
    let fingerprint = body.fingerprint();
    let input = body.0;
    let user = web::block(move || input.into_user()).await??;
    let actor = admin.actor();
    idempotency::create(&db, &admin, key, fingerprint, move |conn| {
        accounts::create_user(conn, &actor, &user, None)
    })
    .await
}

/// List users (admins and auditors).
#[utoipa::path(get, path = "/v1/users", tag = "users", operation_id = "listUsers",
    params(PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = UserPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/users")]
pub async fn list_users(
    Overseer(user): Overseer,
    page: Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<UserPage>> {
    let (actor, page) = (user.actor(), page.request()?);
    let page = db
        .run(move |conn| accounts::list_users(conn, &actor, &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// Change a user's role or disable them; either ends their sessions at once.
///
/// For good: the user's token epoch moves on, so access tokens issued before
/// the change stay refused even when the change is undone. Their refresh
/// tokens are revoked.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", operation_id = "updateUser",
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = UpdateUser, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[patch("/v1/users/{id}")]
pub async fn update_user(
    Admin(admin): Admin,
    id: Id,
    body: ApiJson<UpdateUser>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<UserView>> {
    let (actor, id, change) = (admin.actor(), id.into_inner(), body.0);
    let user = db
        .write(move |conn| accounts::update_user(conn, &actor, &id, change))
        .await?;
    Ok(web::Json(user))
}
