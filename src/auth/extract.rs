//! Authentication and roles as extractors: a handler's signature says who may call it.
//!
//! A middleware checks the token of every request that carries one against
//! its user as the instance's cache holds them (`service::index::Live`:
//! kept current from the change stream, never older than
//! `index::MAX_STALENESS`; a primary-key lookup when the cache has no fresh
//! copy), so disabling a user or changing their role takes effect within a
//! second on every instance, not when tokens expire;
//! and since such a change moves the user's token epoch on, the tokens
//! issued before it stay dead even if the change is undone.

use std::future::{ready, Ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{http::header, web, FromRequest, HttpMessage, HttpRequest};
use chrono::Utc;

use super::tokens::TokenService;
use crate::db::accounts::User;
use crate::db::replicas::WritePosition;
use crate::db::{Db, ReadDb};
use crate::domain::accounts::Role;
use crate::error::ApiError;
use crate::service::index::Live;
use crate::service::{accounts, portal, Actor, Party, ServiceResult, Staff};

/// The caller, as the database knows them now.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub organization_id: String,
    pub display_name: Option<String>,
    /// With read replicas: where this user's last write ended on the
    /// primary. Their reads are served only by replicas past it.
    pub read_after: Option<i64>,
}

impl CurrentUser {
    /// The caller as the use cases see them.
    pub fn actor(&self) -> Actor {
        Actor::user(&self.id, &self.organization_id, self.role)
    }
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Who a valid token speaks for: a user, or a listed subject signed in to
/// the portal with their notice's access code (role `subject`).
#[derive(Debug, Clone)]
pub enum Caller {
    Staff(CurrentUser),
    Subject(Party),
}

impl Caller {
    /// The caller as the use cases see them.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Staff(user) => user.actor(),
            Caller::Subject(party) => Actor::Subject(party.clone()),
        }
    }
}

async fn authenticate(req: &HttpRequest, token: String) -> Result<Caller, ApiError> {
    let unauthorized = || ApiError::unauthorized("a valid bearer access token is required");
    let tokens = req
        .app_data::<web::Data<TokenService>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("TokenService not registered")))?;
    let db = req
        .app_data::<web::Data<Db>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("Db not registered")))?
        .clone();
    let claims = tokens.verify(&token, Utc::now()).ok_or_else(unauthorized)?;
    if claims.role == portal::SUBJECT_ROLE {
        let party = db
            .run(move |conn| portal::token_holder(conn, &claims))
            .await?;
        return party.map(Caller::Subject).ok_or_else(unauthorized);
    }
    let replicas = db.replicas().is_some();
    let live = req.app_data::<web::Data<Live>>().cloned();
    // Without replicas a token's holder comes from the cache the change
    // stream keeps current (`service::index`): no round trip.
    if let Some(live) = live.as_ref().filter(|_| !replicas) {
        if let Some((staff, user)) = live
            .token_holder(&claims.sub)
            .filter(|(_, user)| accounts::holds(user, &claims))
        {
            return Ok(Caller::Staff(staff_user(staff, user, None)));
        }
    }
    let holder = db
        .run(move |conn| -> ServiceResult<_> {
            let Some((staff, user)) = accounts::token_holder(conn, &claims)? else {
                return Ok(None);
            };
            let read_after = match replicas {
                true => WritePosition::of(conn, &user.id)?,
                false => None,
            };
            Ok(Some((staff, user, read_after)))
        })
        .await?;
    let (staff, user, read_after) = holder.ok_or_else(unauthorized)?;
    if let Some(live) = live {
        live.remember_token_holder((staff.clone(), user.clone()));
    }
    Ok(Caller::Staff(staff_user(staff, user, read_after)))
}

fn staff_user(staff: Staff, user: User, read_after: Option<i64>) -> CurrentUser {
    CurrentUser {
        id: staff.id,
        email: user.email,
        role: staff.role,
        organization_id: staff.organization_id,
        display_name: user.display_name,
        read_after,
    }
}

/// Why a request's token was not accepted, kept in the request's extensions.
#[derive(Debug, Clone)]
enum AuthFailure {
    Unauthorized,
    Unavailable,
    Internal,
}

/// The outcome of checking a request's bearer token.
#[derive(Debug, Clone)]
struct AuthOutcome(Result<Caller, AuthFailure>);

/// Middleware: checks the bearer token (if any) before any extractor runs,
/// so that 401 and 403 always win over body errors — actix polls a
/// handler's extractors together, and the quickest error would otherwise win.
pub async fn authenticate_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(token) = bearer_token(req.request()) {
        let outcome = authenticate(req.request(), token)
            .await
            .map_err(|e| match e {
                ApiError::Unavailable(_) => AuthFailure::Unavailable,
                ApiError::Unauthorized(_) => AuthFailure::Unauthorized,
                other => {
                    tracing::error!(error = %crate::infra::chain(&other), "authentication failed");
                    AuthFailure::Internal
                }
            });
        req.extensions_mut().insert(AuthOutcome(outcome));
    }
    let res = next.call(req).await?;
    remember_write(&res).await;
    Ok(res)
}

/// With read replicas, records where a user's successful write ended on the
/// primary, so that their next reads wait for a replica that has it (or use
/// the primary). Screening is left out: its only writes are its own records,
/// which are read from the primary.
async fn remember_write<B>(res: &ServiceResponse<B>) {
    let req = res.request();
    let Some(db) = req.app_data::<web::Data<Db>>() else {
        return;
    };
    let read_only = matches!(
        *req.method(),
        actix_web::http::Method::GET
            | actix_web::http::Method::HEAD
            | actix_web::http::Method::OPTIONS
    );
    let screening = req
        .match_pattern()
        .is_some_and(|p| p.starts_with("/v1/screening"));
    if db.replicas().is_none() || read_only || screening || !res.status().is_success() {
        return;
    }
    let Some(AuthOutcome(Ok(Caller::Staff(user)))) = req.extensions().get::<AuthOutcome>().cloned()
    else {
        return;
    };
    if let Err(e) = db
        .run(move |conn| -> ServiceResult<()> { Ok(WritePosition::remember(conn, &user.id)?) })
        .await
    {
        tracing::warn!(error = %crate::infra::chain(&e), "could not record the write position; this user's next reads may lag behind their write");
    }
}

/// A read handle for routes that replicas may serve (public reads and
/// screening): it honours the caller's last write (see [`CurrentUser::read_after`]).
impl FromRequest for ReadDb {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let after = match req.extensions().get::<AuthOutcome>() {
            Some(AuthOutcome(Ok(Caller::Staff(user)))) => user.read_after,
            _ => None,
        };
        ready(
            req.app_data::<web::Data<Db>>()
                .map(|db| db.reader(after))
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("Db not registered"))),
        )
    }
}

fn caller(req: &HttpRequest) -> Result<Caller, ApiError> {
    match req.extensions().get::<AuthOutcome>() {
        Some(AuthOutcome(Ok(caller))) => Ok(caller.clone()),
        Some(AuthOutcome(Err(AuthFailure::Unavailable))) => Err(ApiError::unavailable()),
        Some(AuthOutcome(Err(AuthFailure::Internal))) => {
            Err(ApiError::Internal(anyhow::anyhow!("authentication failed")))
        }
        _ => Err(ApiError::unauthorized(
            "a valid bearer access token is required",
        )),
    }
}

/// A signed-in user; a subject signed in to the portal is refused (403).
fn current_user(req: &HttpRequest) -> Result<CurrentUser, ApiError> {
    match caller(req)? {
        Caller::Staff(user) => Ok(user),
        Caller::Subject(_) => Err(ApiError::forbidden(
            "a subject signed in to the portal reads and acts on their own records only",
        )),
    }
}

/// A user holding one of `roles`, or a subject in the portal (the use case
/// keeps them to their own records).
fn staff_or_party(req: &HttpRequest, roles: &[Role]) -> Result<Caller, ApiError> {
    match caller(req)? {
        Caller::Staff(user) if !roles.contains(&user.role) => Err(ApiError::forbidden(format!(
            "the {} role may not do this",
            user.role
        ))),
        caller => Ok(caller),
    }
}

/// Those who read the registry (admins, regulators, auditors), or the
/// subject the record is about, signed in to the portal.
#[derive(Debug, Clone)]
pub struct ReaderOrParty(pub Caller);

impl FromRequest for ReaderOrParty {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(staff_or_party(req, Reader::ROLES).map(ReaderOrParty))
    }
}

/// A regulator, or the listed subject acting in the portal on their own listing.
#[derive(Debug, Clone)]
pub struct RegulatorOrParty(pub Caller);

impl FromRequest for RegulatorOrParty {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(staff_or_party(req, Regulator::ROLES).map(RegulatorOrParty))
    }
}

/// Any signed-in user, whatever the role.
#[derive(Debug, Clone)]
pub struct Authenticated(pub CurrentUser);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_user(req).map(Authenticated))
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident: $($role:ident)|+) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub CurrentUser);

        impl $name {
            pub const ROLES: &'static [Role] = &[$(Role::$role),+];
        }

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(current_user(req).and_then(|user| {
                    if Self::ROLES.contains(&user.role) {
                        Ok($name(user))
                    } else {
                        Err(ApiError::forbidden(format!("the {} role may not do this", user.role)))
                    }
                }))
            }
        }
    };
}

role_extractor!(
    /// Administrators: organizations and users.
    Admin: Admin
);
role_extractor!(
    /// Regulators: the registry's writers.
    Regulator: Regulator
);
role_extractor!(
    /// Platforms: screening, watchlist, webhooks, events.
    Platform: Platform
);
role_extractor!(
    /// Those who read the registry itself: admins, regulators, auditors.
    Reader: Admin | Regulator | Auditor
);
role_extractor!(
    /// Those who read the audit log: auditors and admins.
    AuditReader: Admin | Auditor
);
role_extractor!(
    /// Those who read everything, organizations and users included: admins and auditors.
    Overseer: Admin | Auditor
);
role_extractor!(
    /// Those who read platforms' records: a platform its own organization's,
    /// admins and auditors every organization's (the service draws the line).
    PlatformRecordReader: Admin | Platform | Auditor
);
