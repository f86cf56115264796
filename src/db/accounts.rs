//! Organizations, users, refresh tokens and login throttling.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{login_throttle, organizations, refresh_tokens, users};
use super::typed::name_row;
use super::typed::Maybe;
use super::{DbConn, DbResult};
use crate::domain::accounts::{OrganizationKind, OrganizationLevel, Role};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, treat_none_as_default_value = false)]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: OrganizationKind,
    pub region_code: Option<String>,
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Option<String>, serialize_as = Option<String>)]
    pub level: Maybe<OrganizationLevel>,
    /// The next-higher bureau (regulators).
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub role: Role,
    pub organization_id: String,
    pub display_name: Option<String>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Access tokens carry the epoch they were issued in; only the current one counts.
    pub token_epoch: i64,
    /// The head of the bureau (负责人) or the official empowered to approve in their place.
    pub can_approve: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, treat_none_as_default_value = false)]
pub struct RefreshToken {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub token_hash: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

// ---- organizations ----

pub fn insert_organization(conn: &mut DbConn, org: &Organization) -> QueryResult<()> {
    diesel::insert_into(organizations::table)
        .values(org.clone())
        .execute(conn)
        .map(drop)
}

pub fn find_organization(conn: &mut DbConn, id: &str) -> DbResult<Option<Organization>> {
    let found = organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .optional();
    name_row(conn, "organizations", found)
}

/// The organizations with these ids (one query).
pub fn organizations_by_ids(conn: &mut DbConn, ids: &[&str]) -> DbResult<Vec<Organization>> {
    let found = organizations::table
        .filter(organizations::id.eq_any(ids))
        .select(Organization::as_select())
        .load(conn);
    name_row(conn, "organizations", found)
}

pub fn find_organization_by_name(conn: &mut DbConn, name: &str) -> DbResult<Option<Organization>> {
    let found = organizations::table
        .filter(organizations::name.eq(name))
        .select(Organization::as_select())
        .first(conn)
        .optional();
    name_row(conn, "organizations", found)
}

/// One page in id order (ids are UUIDv7, so this is creation order).
pub fn list_organizations(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<Organization>> {
    let mut query = organizations::table
        .select(Organization::as_select())
        .order(organizations::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(organizations::id.gt(after.to_owned()));
    }
    let found = query.load(conn);
    name_row(conn, "organizations", found)
}

// ---- users ----

pub fn insert_user(conn: &mut DbConn, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user.clone())
        .execute(conn)
        .map(drop)
}

pub fn find_user(conn: &mut DbConn, id: &str) -> DbResult<Option<User>> {
    let found = users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional();
    name_row(conn, "users", found)
}

pub fn find_user_by_email(conn: &mut DbConn, email: &str) -> DbResult<Option<User>> {
    let found = users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional();
    name_row(conn, "users", found)
}

pub fn list_users(conn: &mut DbConn, after: Option<&str>, limit: i64) -> DbResult<Vec<User>> {
    let mut query = users::table
        .select(User::as_select())
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.to_owned()));
    }
    let found = query.load(conn);
    name_row(conn, "users", found)
}

pub fn any_admin_exists(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq(Role::Admin.as_str())),
    ))
    .get_result(conn)
}

/// Sets role and state; with `new_epoch`, also moves the token epoch on so
/// that every access token issued before stops counting.
pub fn update_user_role_and_state(
    conn: &mut DbConn,
    id: &str,
    role: Role,
    disabled: bool,
    new_epoch: bool,
    can_approve: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let step = i64::from(new_epoch);
    let updated = diesel::update(users::table.find(id))
        .set((
            users::role.eq(role.as_str()),
            users::disabled.eq(disabled),
            users::token_epoch.eq(users::token_epoch + step),
            users::can_approve.eq(can_approve),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    super::changes::touch(conn, super::changes::USER, &[id])?;
    Ok(updated)
}

// ---- refresh tokens ----

pub fn insert_refresh_token(conn: &mut DbConn, token: &RefreshToken) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(token)
        .execute(conn)
        .map(drop)
}

pub fn find_refresh_token_by_hash(
    conn: &mut DbConn,
    hash: &str,
) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()
}

/// Marks a token spent, but only if it is still live; returns whether this
/// call was the one that spent it (two concurrent refreshes: one wins).
pub fn spend_refresh_token(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn revoke_refresh_family(
    conn: &mut DbConn,
    family_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

pub fn revoke_user_refresh_tokens(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

// ---- login throttling ----

/// Failures counted for `key` in the window that started at the returned time.
pub fn throttle_state(conn: &mut DbConn, key: &str) -> QueryResult<Option<(i32, NaiveDateTime)>> {
    login_throttle::table
        .find(key)
        .select((login_throttle::failures, login_throttle::window_started_at))
        .first(conn)
        .optional()
}

/// Counts one failure; a window older than `window_start_cutoff` starts over.
pub fn record_login_failure(
    conn: &mut DbConn,
    key: &str,
    now: NaiveDateTime,
    window_start_cutoff: NaiveDateTime,
) -> QueryResult<()> {
    // Without a portable upsert: update, else insert, else (lost a race) update.
    let bump = |conn: &mut DbConn| -> QueryResult<usize> {
        diesel::update(login_throttle::table.find(key))
            .set(login_throttle::failures.eq(login_throttle::failures + 1))
            .execute(conn)
    };
    let restarted = diesel::update(
        login_throttle::table
            .find(key)
            .filter(login_throttle::window_started_at.lt(window_start_cutoff)),
    )
    .set((
        login_throttle::failures.eq(1),
        login_throttle::window_started_at.eq(now),
    ))
    .execute(conn)?;
    if restarted == 1 || bump(conn)? == 1 {
        return Ok(());
    }
    let inserted = diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::throttle_key.eq(key),
            login_throttle::failures.eq(1),
            login_throttle::window_started_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => bump(conn).map(drop),
        other => other.map(drop),
    }
}

pub fn clear_login_failures(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .map(drop)
}

// ---- retention ----

/// Forgets throttle rows whose window started before `window_start_cutoff`:
/// such a row counts for nothing (the next failure starts a new window).
pub fn purge_login_throttle(
    conn: &mut DbConn,
    window_start_cutoff: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        login_throttle::table.filter(login_throttle::window_started_at.lt(window_start_cutoff)),
    )
    .execute(conn)
}

/// Forgets refresh tokens that can neither be used nor reveal anything:
/// expired ones (refused before reuse is checked) and revoked ones (a
/// revocation ends the whole family). A spent token of a living family
/// stays until it expires: presenting it again is what exposes a stolen copy.
pub fn purge_dead_refresh_tokens(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        refresh_tokens::table.filter(
            refresh_tokens::expires_at
                .lt(now)
                .or(refresh_tokens::revoked_at.lt(now)),
        ),
    )
    .execute(conn)
}
