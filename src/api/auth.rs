//! Login, token refresh, logout and `GET /v1/me`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};

use super::json::ApiJson;
use crate::auth::address::client_address;
use crate::auth::password::DecoyHash;
use crate::auth::tokens::TokenService;
use crate::auth::Authenticated;
use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiResult;
use crate::service::accounts::{self, LoginRequest, RefreshRequest, TokenPair, UserView};

/// Log in with e-mail and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 422, response = crate::api::Unprocessable),
        (status = 429, response = crate::api::TooManyRequests),
    ))]
#[post("/v1/auth/login")]
pub async fn login(
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
    db: web::Data<Db>,
    tokens: web::Data<TokenService>,
    decoy: web::Data<DecoyHash>,
    settings: web::Data<Settings>,
) -> ApiResult<web::Json<TokenPair>> {
    let address = client_address(&req, &settings.trusted_proxies);
    let pair = accounts::login(&db, &tokens, &decoy.0, body.0, &address).await?;
    Ok(web::Json(pair))
}

/// Exchange a refresh token for a new pair (the old one stops working).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", operation_id = "refreshToken",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    body: ApiJson<RefreshRequest>,
    db: web::Data<Db>,
    tokens: web::Data<TokenService>,
) -> ApiResult<web::Json<TokenPair>> {
    let pair = accounts::refresh(&db, &tokens, &body.0.refresh_token).await?;
    Ok(web::Json(pair))
}

/// Log out: the given refresh token (and its family) stops working.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", operation_id = "logout",
    request_body = RefreshRequest, security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/auth/logout")]
pub async fn logout(
    Authenticated(caller): Authenticated,
    body: ApiJson<RefreshRequest>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let (actor, token) = (caller.actor(), body.0.refresh_token);
    db.write(move |conn| accounts::logout(conn, &actor, &token))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "auth", operation_id = "getMe", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, response = crate::api::Unauthorized),
    ))]
#[get("/v1/me")]
pub async fn me(
    Authenticated(caller): Authenticated,
    db: web::Data<Db>,
) -> ApiResult<web::Json<UserView>> {
    let actor = caller.actor();
    Ok(web::Json(
        db.run(move |conn| accounts::me(conn, &actor)).await?,
    ))
}
