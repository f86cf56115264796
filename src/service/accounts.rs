//! Organizations, users, and signing in: login with its throttle, token
//! refresh and logout, the first admin, and who a token belongs to now.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::page::{Page, PageRequest};
use super::{new_id, roles, Actor, Problems, ServiceError, ServiceResult, Staff};
use crate::auth::password;
use crate::auth::tokens::{self, TokenService, ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_DAYS};
use crate::db::accounts::{self as store, Organization, RefreshToken, User};
use crate::db::audit::{self, AuditActor, Event};
use crate::db::typed::Maybe;
use crate::db::{write_tx, Db, DbConn};
use crate::domain::accounts::{
    check_hierarchy, check_password, Email, OrganizationKind, OrganizationLevel, Role,
};
use crate::domain::registry::check_region_code;

/// Name of the organization that holds bootstrap administrators.
pub const SYSTEM_ORGANIZATION: &str = "livecredit system administration";

/// Failed logins allowed per account, and per client address, in one window.
pub const MAX_FAILURES_PER_ACCOUNT: i32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i32 = 20;
pub const THROTTLE_WINDOW_SECONDS: i64 = 15 * 60;

// ---- organizations ----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    /// Unique, e.g. `杭州市市场监督管理局`.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: OrganizationKind,
    /// Administrative division code (GB/T 2260), six digits.
    #[schema(pattern = r"^([0-9]{6})?$")]
    pub region_code: Option<String>,
    /// Regulators only: where the bureau stands (`national`, `provincial`, `city`, `county`).
    pub level: Option<OrganizationLevel>,
    /// Regulators only: the next-higher bureau, required for `city` and `county` bureaus (its
    /// consent is needed for their listings, Order 44 art. 22).
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
    pub kind: OrganizationKind,
    pub region_code: Option<String>,
    /// Regulators: the bureau's level; null when not recorded.
    pub level: Option<OrganizationLevel>,
    /// Regulators: the next-higher bureau.
    pub parent_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            kind: o.kind,
            region_code: o.region_code,
            level: o.level.0,
            parent_id: o.parent_id,
            created_at: o.created_at.and_utc(),
        }
    }
}

/// Checks a regulator's level and parent against the hierarchy; other kinds
/// of organization have neither.
fn check_place(
    conn: &mut DbConn,
    kind: OrganizationKind,
    level: Option<OrganizationLevel>,
    parent_id: Option<&str>,
) -> ServiceResult<()> {
    if kind != OrganizationKind::Regulator {
        if level.is_some() {
            return Err(ServiceError::invalid(
                "level",
                "only regulators have a level",
            ));
        }
        if parent_id.is_some() {
            return Err(ServiceError::invalid(
                "parent_id",
                "only regulators have a parent bureau",
            ));
        }
        return Ok(());
    }
    let parent = match parent_id {
        Some(id) => Some(
            store::find_organization(conn, id)?
                .ok_or_else(|| ServiceError::invalid("parent_id", "no such organization"))?,
        ),
        None => None,
    };
    let Some(level) = level else {
        if parent.is_some() {
            return Err(ServiceError::invalid(
                "level",
                "give the level of a bureau that has a parent",
            ));
        }
        return Ok(());
    };
    let parent_level = match &parent {
        Some(p) if p.kind != OrganizationKind::Regulator => {
            return Err(ServiceError::invalid(
                "parent_id",
                "the parent must be a regulator",
            ))
        }
        Some(p) => Some(p.level.0.ok_or_else(|| {
            ServiceError::invalid("parent_id", "the parent bureau has no level recorded")
        })?),
        None => None,
    };
    check_hierarchy(level, parent_level).map_err(|m| ServiceError::invalid("parent_id", m))
}

impl CreateOrganization {
    fn parse(self) -> ServiceResult<Organization> {
        let mut problems = Problems::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            problems.add(
                "name",
                "must be 1 to 200 characters without control characters",
            );
        }
        let region_code = self
            .region_code
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if let Some(code) = &region_code {
            problems.check("region_code", check_region_code(code));
        }
        let parent_id = self
            .parent_id
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        problems.finish(Organization {
            id: new_id(),
            name,
            kind: self.kind,
            region_code,
            created_at: Utc::now().naive_utc(),
            level: Maybe(self.level),
            parent_id,
        })
    }
}

/// Stores an organization with its audit entry; the name must be new.
fn insert_organization(
    conn: &mut DbConn,
    actor: &Actor,
    org: &Organization,
    via: Option<&str>,
) -> ServiceResult<()> {
    if let Some(existing) = store::find_organization_by_name(conn, &org.name)? {
        return Err(ServiceError::conflict_with(
            "an organization with this name exists",
            [("existing_organization_id", existing.id.into())],
        ));
    }
    store::insert_organization(conn, org)?;
    let mut details = json!({"name": org.name, "kind": org.kind, "region_code": org.region_code,
        "level": org.level.0, "parent_id": org.parent_id});
    if let Some(via) = via {
        details["via"] = json!(via);
    }
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "organization.created",
            target_type: "organization",
            target_id: &org.id,
            details,
        },
    )?;
    Ok(())
}

pub fn create_organization(
    conn: &mut DbConn,
    actor: &Actor,
    input: CreateOrganization,
) -> ServiceResult<OrganizationView> {
    actor.require(roles::ADMINS)?;
    let org = input.parse()?;
    check_place(conn, org.kind, org.level.0, org.parent_id.as_deref())?;
    insert_organization(conn, actor, &org, None)?;
    Ok(org.into())
}

/// Every organization, oldest first: admins and auditors read them.
pub fn list_organizations(
    conn: &mut DbConn,
    actor: &Actor,
    page: &PageRequest,
) -> ServiceResult<Page<OrganizationView>> {
    actor.require(roles::OVERSEERS)?;
    let rows = store::list_organizations(conn, page.after.as_deref(), page.fetch())?;
    Ok(page
        .page(rows, |o| o.id.clone())
        .map(OrganizationView::from))
}

/// One organization, for anyone on the staff (authorities are named on the
/// public list anyway).
pub fn get_organization(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
) -> ServiceResult<OrganizationView> {
    actor.require(roles::READERS)?;
    store::find_organization(conn, id)?
        .map(OrganizationView::from)
        .ok_or_else(|| ServiceError::not_found("no such organization"))
}

/// Finds or creates the organization that holds system administrators.
pub fn system_organization(conn: &mut DbConn) -> ServiceResult<String> {
    if let Some(org) = store::find_organization_by_name(conn, SYSTEM_ORGANIZATION)? {
        return Ok(org.id);
    }
    let org = Organization {
        id: new_id(),
        name: SYSTEM_ORGANIZATION.into(),
        kind: OrganizationKind::Regulator,
        region_code: None,
        created_at: Utc::now().naive_utc(),
        level: Maybe(None),
        parent_id: None,
    };
    insert_organization(conn, &Actor::System, &org, Some("system"))?;
    Ok(org.id)
}

/// Where a new organization stands: its kind, region and, for regulators,
/// level and parent bureau.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub kind: OrganizationKind,
    pub region_code: Option<&'a str>,
    pub level: Option<OrganizationLevel>,
    pub parent_id: Option<&'a str>,
}

/// Finds an organization by name, or creates it (for tools that set up
/// known organizations, such as demo-data); returns it and whether it is new.
pub fn ensure_organization(
    conn: &mut DbConn,
    name: &str,
    place: Place<'_>,
    via: &str,
) -> ServiceResult<(Organization, bool)> {
    if let Some(org) = store::find_organization_by_name(conn, name)? {
        return Ok((org, false));
    }
    check_place(conn, place.kind, place.level, place.parent_id)?;
    let org = Organization {
        id: new_id(),
        name: name.to_owned(),
        kind: place.kind,
        region_code: place.region_code.map(str::to_owned),
        created_at: Utc::now().naive_utc(),
        level: Maybe(place.level),
        parent_id: place.parent_id.map(str::to_owned),
    };
    insert_organization(conn, &Actor::System, &org, Some(via))?;
    Ok((org, true))
}

// ---- users ----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 12 to 1,024 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    pub role: Role,
    #[schema(format = Uuid)]
    pub organization_id: String,
    #[schema(max_length = 100)]
    pub display_name: Option<String>,
    /// Regulators only: the head of the bureau (负责人) or the official they empower to approve
    /// in their place (credit repair decisions). Default false.
    #[serde(default)]
    pub can_approve: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateUser {
    // Absent means unchanged; null is refused, as the document says, rather
    // than read as absent (`{"role": null}` would be a change of nothing).
    #[serde(default, deserialize_with = "super::present")]
    #[schema(nullable = false)]
    pub role: Option<Role>,
    /// A disabled user's tokens stop working at once.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(nullable = false)]
    pub disabled: Option<bool>,
    /// Regulators only (see `CreateUser.can_approve`).
    pub can_approve: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub organization_id: String,
    pub display_name: Option<String>,
    pub disabled: bool,
    /// The head of the bureau or the official empowered to approve in their place.
    pub can_approve: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role,
            organization_id: u.organization_id,
            display_name: u.display_name,
            disabled: u.disabled,
            can_approve: u.can_approve,
            created_at: u.created_at.and_utc(),
        }
    }
}

impl CreateUser {
    /// Checks the input against the policy and hashes the password.
    /// Blocking (Argon2): call it off the async threads.
    pub fn into_user(self) -> ServiceResult<User> {
        let mut problems = Problems::new();
        let email = problems.check("email", Email::parse(&self.email));
        problems.check("password", check_password(&self.password));
        let display_name = self
            .display_name
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if display_name
            .as_ref()
            .is_some_and(|d| d.chars().count() > 100 || d.chars().any(char::is_control))
        {
            problems.add(
                "display_name",
                "must be at most 100 characters without control characters",
            );
        }
        let email = problems.finish(email)?.ok_or_else(|| {
            ServiceError::internal("an e-mail address that failed to parse was not reported")
        })?;
        let hash = password::hash(&self.password).map_err(ServiceError::Internal)?;
        let mut user = new_user(&email, hash, self.role, self.organization_id, display_name);
        user.can_approve = self.can_approve;
        Ok(user)
    }
}

/// A user row as created: enabled, with an Argon2 hash of the password.
pub fn new_user(
    email: &Email,
    password_hash: String,
    role: Role,
    organization_id: String,
    display_name: Option<String>,
) -> User {
    let now = Utc::now().naive_utc();
    User {
        id: new_id(),
        email: email.as_str().to_owned(),
        password_hash,
        role,
        organization_id,
        display_name,
        disabled: false,
        created_at: now,
        updated_at: now,
        token_epoch: 0,
        can_approve: false,
    }
}

/// Only a regulator approves.
fn check_can_approve(role: Role, can_approve: bool) -> ServiceResult<()> {
    if can_approve && role != Role::Regulator {
        return Err(ServiceError::invalid(
            "can_approve",
            "only a regulator may approve (the head of a bureau or the official they empower)",
        ));
    }
    Ok(())
}

/// Stores a user (prepared by [`CreateUser::into_user`]) after checking its
/// organization and e-mail, with its audit entry. `via` says how it came
/// (`cli`, `demo-data`, the admin variable) when not through an admin.
pub fn create_user(
    conn: &mut DbConn,
    actor: &Actor,
    user: &User,
    via: Option<&str>,
) -> ServiceResult<UserView> {
    actor.require(roles::ADMINS)?;
    check_can_approve(user.role, user.can_approve)?;
    let org = store::find_organization(conn, &user.organization_id)?
        .ok_or_else(|| ServiceError::invalid("organization_id", "no such organization"))?;
    if !user.role.may_belong_to(org.kind) {
        return Err(ServiceError::invalid(
            "role",
            format!(
                "a {} cannot belong to a {} organization",
                user.role,
                org.kind.as_str()
            ),
        ));
    }
    if let Some(existing) = store::find_user_by_email(conn, &user.email)? {
        return Err(ServiceError::conflict_with(
            "a user with this e-mail exists",
            [("existing_user_id", existing.id.into())],
        ));
    }
    store::insert_user(conn, user)?;
    let mut details = json!({"email": user.email, "role": user.role,
        "organization_id": user.organization_id, "can_approve": user.can_approve});
    if let Some(via) = via {
        details["via"] = json!(via);
    }
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "user.created",
            target_type: "user",
            target_id: &user.id,
            details,
        },
    )?;
    Ok(user.clone().into())
}

/// Every user, oldest first: admins and auditors read them (who may act
/// for which organization is part of what an auditor checks).
pub fn list_users(
    conn: &mut DbConn,
    actor: &Actor,
    page: &PageRequest,
) -> ServiceResult<Page<UserView>> {
    actor.require(roles::OVERSEERS)?;
    let rows = store::list_users(conn, page.after.as_deref(), page.fetch())?;
    Ok(page.page(rows, |u| u.id.clone()).map(UserView::from))
}

/// Changes a user's role or disables them; either ends their sessions at once.
pub fn update_user(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    change: UpdateUser,
) -> ServiceResult<UserView> {
    let admin = actor.staff(roles::ADMINS)?;
    if change.role.is_none() && change.disabled.is_none() && change.can_approve.is_none() {
        return Err(ServiceError::invalid(
            "body",
            "give role, disabled, can_approve or several",
        ));
    }
    let user =
        store::find_user(conn, id)?.ok_or_else(|| ServiceError::not_found("no such user"))?;
    if user.id == admin.id
        && (change.disabled == Some(true) || change.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ServiceError::conflict(
            "an admin cannot disable or demote themselves",
        ));
    }
    let role = change.role.unwrap_or(user.role);
    if role != user.role {
        let org = store::find_organization(conn, &user.organization_id)?
            .ok_or_else(|| ServiceError::internal("user without organization"))?;
        if !role.may_belong_to(org.kind) {
            return Err(ServiceError::invalid(
                "role",
                format!(
                    "a {role} cannot belong to a {} organization",
                    org.kind.as_str()
                ),
            ));
        }
    }
    let disabled = change.disabled.unwrap_or(user.disabled);
    let changed = disabled != user.disabled || role != user.role;
    // A regulator moved to another role loses the approval with the role.
    let can_approve = change
        .can_approve
        .unwrap_or(user.can_approve && role == Role::Regulator);
    check_can_approve(role, can_approve)?;
    let now = Utc::now().naive_utc();
    // A new token epoch ends every access token issued before, for good:
    // undoing the change later does not bring them back.
    store::update_user_role_and_state(conn, &user.id, role, disabled, changed, can_approve, now)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "user.updated",
            target_type: "user",
            target_id: &user.id,
            details: json!({
                "role": {"from": user.role, "to": role},
                "disabled": {"from": user.disabled, "to": disabled},
                "can_approve": {"from": user.can_approve, "to": can_approve},
            }),
        },
    )?;
    if changed {
        // Access tokens die by the epoch above; refresh tokens die here.
        store::revoke_user_refresh_tokens(conn, &user.id, now)?;
    }
    store::find_user(conn, &user.id)?
        .map(UserView::from)
        .ok_or_else(|| ServiceError::not_found("no such user"))
}

/// Creates the first admin (in the system organization) unless an admin
/// exists; returns whether one was created. The password is hashed here:
/// blocking, call it off the async threads.
pub fn bootstrap_admin(db: &Db, email: &str, password: &str, via: &str) -> ServiceResult<bool> {
    let email = Email::parse(email).map_err(|m| ServiceError::invalid("email", m))?;
    check_password(password).map_err(|m| ServiceError::invalid("password", m))?;
    let mut conn = db.conn()?;
    if store::any_admin_exists(&mut conn)? {
        return Ok(false);
    }
    let hash = password::hash(password).map_err(ServiceError::Internal)?;
    write_tx(&mut conn, |conn| -> ServiceResult<bool> {
        if store::any_admin_exists(conn)? {
            return Ok(false);
        }
        let user = new_user(
            &email,
            hash,
            Role::Admin,
            system_organization(conn)?,
            Some("Administrator".into()),
        );
        create_user(conn, &Actor::System, &user, Some(via))?;
        Ok(true)
    })
}

// ---- signing in ----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
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

fn wrong_credentials() -> ServiceError {
    ServiceError::unauthorized("wrong e-mail or password")
}

/// Seconds until `key` may try again, if it is throttled now.
pub(super) fn throttled_for(conn: &mut DbConn, key: &str, max: i32) -> ServiceResult<Option<u64>> {
    let now = Utc::now().naive_utc();
    Ok(
        store::throttle_state(conn, key)?.and_then(|(failures, started)| {
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
) -> ServiceResult<TokenPair> {
    let now = Utc::now();
    let access_token = access_token(tokens, user, now)?;
    let refresh_token = tokens::new_refresh_token();
    store::insert_refresh_token(
        conn,
        &RefreshToken {
            id: new_id(),
            family_id: family_id.unwrap_or_else(new_id),
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

/// Checks e-mail and password, throttled per account and per client
/// address, and issues a token pair. Wrong e-mail and wrong password answer
/// alike, and take the same time (`decoy` is verified for an unknown e-mail).
pub async fn login(
    db: &Db,
    tokens: &TokenService,
    decoy: &str,
    credentials: LoginRequest,
    address: &str,
) -> ServiceResult<TokenPair> {
    let LoginRequest { email, password } = credentials;
    let email = email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let address_key = format!("address:{address}");
    let (user, retry) = {
        let (account_key, address_key, email) =
            (account_key.clone(), address_key.clone(), email.clone());
        db.run(move |conn| -> ServiceResult<_> {
            let retry = throttled_for(conn, &account_key, MAX_FAILURES_PER_ACCOUNT)?
                .max(throttled_for(conn, &address_key, MAX_FAILURES_PER_ADDRESS)?);
            Ok((store::find_user_by_email(conn, &email)?, retry))
        })
        .await?
    };
    if let Some(retry_after_secs) = retry {
        return Err(ServiceError::RateLimited {
            detail: "too many failed logins; wait before trying again".into(),
            retry_after_secs,
        });
    }
    let phc = user
        .as_ref()
        .map_or_else(|| decoy.to_owned(), |u| u.password_hash.clone());
    let password_ok = actix_web::web::block(move || password::verify(&password, &phc))
        .await
        .map_err(|e| ServiceError::internal(format!("password check did not finish: {e}")))?;
    let user = user.filter(|u| password_ok && !u.disabled);
    let tokens = tokens.clone();
    let address = address.to_owned();
    db.run(move |conn| {
        let now = Utc::now().naive_utc();
        let cutoff = now - Duration::seconds(THROTTLE_WINDOW_SECONDS);
        match user {
            None => {
                write_tx(conn, |conn| -> ServiceResult<i64> {
                    store::record_login_failure(conn, &account_key, now, cutoff)?;
                    store::record_login_failure(conn, &address_key, now, cutoff)?;
                    Ok(audit::append(
                        conn,
                        &AuditActor::default(),
                        Event {
                            action: "auth.login_failed",
                            target_type: "account",
                            target_id: &email,
                            details: json!({"address": address}),
                        },
                    )?)
                })?;
                Err(wrong_credentials())
            }
            Some(user) => write_tx(conn, |conn| {
                store::clear_login_failures(conn, &account_key)?;
                let pair = issue_pair(conn, &tokens, &user, None)?;
                audit::append(
                    conn,
                    &AuditActor {
                        user_id: Some(user.id.clone()),
                        organization_id: Some(user.organization_id.clone()),
                        subject_id: None,
                    },
                    Event {
                        action: "auth.login",
                        target_type: "user",
                        target_id: &user.id,
                        details: json!({"address": address}),
                    },
                )?;
                Ok(pair)
            }),
        }
    })
    .await
}

/// Exchanges a refresh token for a new pair; the old one stops working, and
/// the reuse of a spent one ends its whole family.
pub async fn refresh(
    db: &Db,
    tokens: &TokenService,
    refresh_token: &str,
) -> ServiceResult<TokenPair> {
    let hash = tokens::refresh_token_hash(refresh_token.trim());
    let tokens = tokens.clone();
    // Reuse detection must survive the 401, so the family revocation commits
    // in its own transaction rather than being rolled back with the error.
    let outcome = db
        .run(move |conn| {
            write_tx(
                conn,
                |conn| -> ServiceResult<Result<TokenPair, Option<String>>> {
                    let now = Utc::now().naive_utc();
                    let Some(stored) = store::find_refresh_token_by_hash(conn, &hash)? else {
                        return Ok(Err(None));
                    };
                    if stored.revoked_at.is_some() || stored.expires_at <= now {
                        return Ok(Err(None));
                    }
                    if !store::spend_refresh_token(conn, &stored.id, now)? {
                        // Spent before: someone holds a copy. End the whole family.
                        return Ok(Err(Some(stored.family_id)));
                    }
                    match store::find_user(conn, &stored.user_id)? {
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
        Ok(pair) => Ok(pair),
        Err(reused_family) => {
            if let Some(family) = reused_family {
                tracing::warn!(family = %family, "refresh token reused; revoking its family");
                db.run(move |conn| -> ServiceResult<usize> {
                    Ok(store::revoke_refresh_family(
                        conn,
                        &family,
                        Utc::now().naive_utc(),
                    )?)
                })
                .await?;
            }
            Err(ServiceError::unauthorized(
                "the refresh token is invalid, expired or already used",
            ))
        }
    }
}

/// Ends the login the refresh token belongs to, if it is the caller's (a
/// token of someone else's is left alone; the answer is the same).
pub fn logout(conn: &mut DbConn, actor: &Actor, refresh_token: &str) -> ServiceResult<()> {
    let Some(user_id) = actor.user_id() else {
        return Ok(());
    };
    let hash = tokens::refresh_token_hash(refresh_token.trim());
    if let Some(stored) = store::find_refresh_token_by_hash(conn, &hash)? {
        if stored.user_id == user_id {
            store::revoke_refresh_family(conn, &stored.family_id, Utc::now().naive_utc())?;
            audit::append(
                conn,
                &actor.audit(),
                Event {
                    action: "auth.logout",
                    target_type: "user",
                    target_id: user_id,
                    details: json!({"family_id": stored.family_id}),
                },
            )?;
        }
    }
    Ok(())
}

/// The signed-in user as stored now.
pub fn me(conn: &mut DbConn, actor: &Actor) -> ServiceResult<UserView> {
    let id = actor
        .user_id()
        .ok_or_else(|| ServiceError::unauthorized("not signed in"))?;
    store::find_user(conn, id)?
        .map(UserView::from)
        .ok_or_else(|| ServiceError::unauthorized("user no longer exists"))
}

/// Who a verified token belongs to now: the user as stored, if they exist,
/// are not disabled, still hold the role and organization the token was
/// issued for, and the token is of their current epoch (one issued before
/// a change of role or a disabling stays dead even once it is undone).
/// Anything else is `None` (the token no longer counts).
pub fn token_holder(
    conn: &mut DbConn,
    claims: &tokens::Claims,
) -> ServiceResult<Option<(Staff, User)>> {
    let Some(user) = store::find_user(conn, &claims.sub)? else {
        return Ok(None);
    };
    if !holds(&user, claims) {
        return Ok(None);
    }
    let staff = Staff {
        id: user.id.clone(),
        organization_id: user.organization_id.clone(),
        role: user.role,
    };
    Ok(Some((staff, user)))
}

/// Whether `user`, as stored, still holds what the token claims: enabled,
/// in the token's epoch, with its role and organization.
pub fn holds(user: &User, claims: &tokens::Claims) -> bool {
    !user.disabled
        && user.token_epoch == claims.epoch
        && user.role.as_str() == claims.role
        && user.organization_id == claims.org
}

/// A fresh access token for `user` as the database knows them now (their
/// role, organization and token epoch).
pub fn access_token(
    tokens: &TokenService,
    user: &User,
    now: chrono::DateTime<Utc>,
) -> ServiceResult<String> {
    tokens
        .issue(
            &user.id,
            user.role.as_str(),
            &user.organization_id,
            user.token_epoch,
            now,
        )
        .map_err(ServiceError::Internal)
}
