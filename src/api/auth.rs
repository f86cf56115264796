//! Login, token refresh, logout and `GET /v1/me`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::users::UserView;
use std::net::IpAddr;

use crate::audit::{self, Actor, Event};
use crate::auth::password;
use crate::auth::tokens::{self, TokenService, ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_DAYS};
use crate::auth::Authenticated;
use crate::config::Settings;
use crate::db::accounts::{self, RefreshToken, User};
use crate::db::{write_tx, Db, DbConn};
use crate::error::{ApiError, ApiResult};

/// Failed logins allowed per account, and per client address, in one window.
pub const MAX_FAILURES_PER_ACCOUNT: i32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i32 = 20;
pub const THROTTLE_WINDOW_SECONDS: i64 = 15 * 60;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: exchange it at `/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    pub user: UserView,
}

fn wrong_credentials() -> ApiError {
    ApiError::unauthorized("wrong e-mail or password")
}

fn client_address(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> String {
    // The peer address, unless the peer is a proxy the operator trusts: then
    // the address that proxy saw (the last X-Forwarded-For entry). A client
    // could forge earlier entries, never the one its proxy appended.
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    if trusted_proxies.contains(&peer) {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(client) = forwarded {
            return client.to_string();
        }
    }
    peer.to_string()
}

/// Seconds until `key` may try again, if it is throttled now.
fn throttled_for(conn: &mut DbConn, key: &str, max: i32) -> ApiResult<Option<u64>> {
    let now = Utc::now().naive_utc();
    Ok(
        accounts::throttle_state(conn, key)?.and_then(|(failures, started)| {
            let ends = started + Duration::seconds(THROTTLE_WINDOW_SECONDS);
            (failures >= max && ends > now).then(|| (ends - now).num_seconds().max(1) as u64)
        }),
    )
}

fn issue_pair(
    conn: &mut DbConn,
    tokens: &TokenService,
    user: &User,
    family_id: Option<String>,
) -> ApiResult<TokenPair> {
    let now = Utc::now();
    let access_token = tokens.issue(&user.id, &user.role, &user.organization_id, now)?;
    let refresh_token = tokens::new_refresh_token();
    accounts::insert_refresh_token(
        conn,
        &RefreshToken {
            id: uuid::Uuid::now_v7().to_string(),
            family_id: family_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            user_id: user.id.clone(),
            token_hash: tokens::refresh_token_hash(&refresh_token),
            issued_at: now.naive_utc(),
            expires_at: (now + Duration::days(REFRESH_TOKEN_DAYS)).naive_utc(),
            used_at: None,
            revoked_at: None,
        },
    )?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token,
        user: UserView::from(user.clone()),
    })
}

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
    let LoginRequest { email, password } = body.0;
    let email = email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let address_key = format!(
        "address:{}",
        client_address(&req, &settings.trusted_proxies)
    );

    let (user, retry) = {
        let (account_key, address_key, email) =
            (account_key.clone(), address_key.clone(), email.clone());
        db.run(move |conn| {
            let retry = throttled_for(conn, &account_key, MAX_FAILURES_PER_ACCOUNT)?
                .max(throttled_for(conn, &address_key, MAX_FAILURES_PER_ADDRESS)?);
            Ok((accounts::find_user_by_email(conn, &email)?, retry))
        })
        .await?
    };
    if let Some(retry_after_secs) = retry {
        return Err(ApiError::TooManyRequests {
            detail: "too many failed logins; wait before trying again".into(),
            retry_after_secs,
        });
    }

    // Verify even for an unknown e-mail so both cases take the same time.
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| decoy.0.clone());
    let password_ok = web::block(move || password::verify(&password, &phc)).await?;
    let user = user.filter(|u| password_ok && !u.disabled);

    let tokens = tokens.clone();
    let address = client_address(&req, &settings.trusted_proxies);
    db.run(move |conn| {
        let now = Utc::now().naive_utc();
        let cutoff = now - Duration::seconds(THROTTLE_WINDOW_SECONDS);
        match user {
            None => {
                accounts::record_login_failure(conn, &account_key, now, cutoff)?;
                accounts::record_login_failure(conn, &address_key, now, cutoff)?;
                write_tx(conn, |conn| {
                    audit::append(
                        conn,
                        &Actor::system(),
                        Event {
                            action: "auth.login_failed",
                            target_type: "account",
                            target_id: &email,
                            details: json!({"address": address}),
                        },
                    )
                })?;
                Err(wrong_credentials())
            }
            Some(user) => {
                accounts::clear_login_failures(conn, &account_key)?;
                write_tx(conn, |conn| {
                    let pair = issue_pair(conn, &tokens, &user, None)?;
                    audit::append(
                        conn,
                        &Actor::user(&user.id, &user.organization_id),
                        Event {
                            action: "auth.login",
                            target_type: "user",
                            target_id: &user.id,
                            details: json!({"address": address}),
                        },
                    )?;
                    Ok(pair)
                })
            }
        }
    })
    .await
    .map(web::Json)
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
    let hash = tokens::refresh_token_hash(body.0.refresh_token.trim());
    let invalid =
        || ApiError::unauthorized("the refresh token is invalid, expired or already used");
    let tokens = tokens.clone();
    // Reuse detection must survive the 401, so the family revocation commits
    // in its own transaction rather than being rolled back with the error.
    let outcome = db
        .run(move |conn| {
            write_tx(
                conn,
                |conn| -> ApiResult<Result<TokenPair, Option<String>>> {
                    let now = Utc::now().naive_utc();
                    let Some(stored) = accounts::find_refresh_token_by_hash(conn, &hash)? else {
                        return Ok(Err(None));
                    };
                    if stored.revoked_at.is_some() || stored.expires_at <= now {
                        return Ok(Err(None));
                    }
                    if !accounts::spend_refresh_token(conn, &stored.id, now)? {
                        // Spent before: someone holds a copy. End the whole family.
                        return Ok(Err(Some(stored.family_id)));
                    }
                    match accounts::find_user(conn, &stored.user_id)? {
                        Some(user) if !user.disabled => Ok(Ok(issue_pair(
                            conn,
                            &tokens,
                            &user,
                            Some(stored.family_id),
                        )?)),
                        _ => Ok(Err(None)),
                    }
                },
            )
        })
        .await?;
    match outcome {
        Ok(pair) => Ok(web::Json(pair)),
        Err(reused_family) => {
            if let Some(family) = reused_family {
                tracing::warn!(family = %family, "refresh token reused; revoking its family");
                db.run(move |conn| {
                    Ok(accounts::revoke_refresh_family(
                        conn,
                        &family,
                        Utc::now().naive_utc(),
                    )?)
                })
                .await?;
            }
            Err(invalid())
        }
    }
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
    let hash = tokens::refresh_token_hash(body.0.refresh_token.trim());
    db.write(move |conn| {
        // A token of someone else's is left alone; the answer is the same.
        if let Some(stored) = accounts::find_refresh_token_by_hash(conn, &hash)? {
            if stored.user_id == caller.id {
                accounts::revoke_refresh_family(conn, &stored.family_id, Utc::now().naive_utc())?;
                audit::append(
                    conn,
                    &Actor::user(&caller.id, &caller.organization_id),
                    Event {
                        action: "auth.logout",
                        target_type: "user",
                        target_id: &caller.id,
                        details: json!({"family_id": stored.family_id}),
                    },
                )?;
            }
        }
        Ok(())
    })
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
    let user = db
        .run(move |conn| {
            accounts::find_user(conn, &caller.id)?
                .ok_or_else(|| ApiError::unauthorized("user no longer exists"))
        })
        .await?;
    Ok(web::Json(UserView::from(user)))
}

/// The decoy password hash, made once at start (see [`password::decoy_hash`]).
pub struct DecoyHash(pub String);
