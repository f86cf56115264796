//! Users (admin): create, list, change role, disable.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::{page_of, PageParams};
use crate::audit::{self, Actor, Event};
use crate::auth::{password, Admin};
use crate::db::accounts::{self, User};
use crate::db::{Db, DbConn};
use crate::domain::accounts::{check_password, Email, OrganizationKind, Role};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::page_type;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub role: Role,
    pub organization_id: String,
    pub display_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub role: Option<Role>,
    /// A disabled user's tokens stop working at once.
    pub disabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub organization_id: String,
    pub display_name: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role.parse().unwrap_or(Role::Auditor),
            organization_id: u.organization_id,
            display_name: u.display_name,
            disabled: u.disabled,
            created_at: u.created_at.and_utc(),
        }
    }
}

page_type!(UserPage, UserView);

/// A user checked against the policy, ready to be hashed and stored.
pub struct NewUser {
    pub email: Email,
    pub password: String,
    pub role: Role,
    pub organization_id: String,
    pub display_name: Option<String>,
}

impl NewUser {
    pub fn parse(
        email: &str,
        password: String,
        role: Role,
        organization_id: String,
        display_name: Option<String>,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let email = Email::parse(email)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok();
        if let Err(m) = check_password(&password) {
            errors.push(FieldError::new("password", m));
        }
        let display_name = display_name
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if display_name
            .as_ref()
            .is_some_and(|d| d.chars().count() > 100)
        {
            errors.push(FieldError::new(
                "display_name",
                "must be at most 100 characters",
            ));
        }
        match email {
            Some(email) if errors.is_empty() => Ok(Self {
                email,
                password,
                role,
                organization_id,
                display_name,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }

    /// Hashes the password. Blocking: call from `web::block`.
    pub fn into_user(self) -> anyhow::Result<User> {
        let now = Utc::now().naive_utc();
        Ok(User {
            id: uuid::Uuid::now_v7().to_string(),
            email: self.email.into_string(),
            password_hash: password::hash(&self.password)?,
            role: self.role.as_str().into(),
            organization_id: self.organization_id,
            display_name: self.display_name,
            disabled: false,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Stores a user after checking the organization and e-mail (in a transaction).
pub fn insert_checked(conn: &mut DbConn, user: &User) -> ApiResult<()> {
    let org = accounts::find_organization(conn, &user.organization_id)?
        .ok_or_else(|| ApiError::invalid("organization_id", "no such organization"))?;
    let role: Role = user
        .role
        .parse()
        .map_err(|m: String| ApiError::invalid("role", m))?;
    let kind: OrganizationKind = org
        .kind
        .parse()
        .map_err(|m: String| ApiError::Internal(anyhow::anyhow!(m)))?;
    if !role.may_belong_to(kind) {
        return Err(ApiError::invalid(
            "role",
            format!("a {role} cannot belong to a {} organization", kind.as_str()),
        ));
    }
    if let Some(existing) = accounts::find_user_by_email(conn, &user.email)? {
        return Err(ApiError::conflict_with(
            "a user with this e-mail exists",
            [("existing_user_id", existing.id.into())],
        ));
    }
    accounts::insert_user(conn, user)?;
    Ok(())
}

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
    let b = body.0;
    let new = NewUser::parse(
        &b.email,
        b.password,
        b.role,
        b.organization_id,
        b.display_name,
    )?;
    let user = web::block(move || new.into_user()).await??;
    let actor = Actor::user(&admin.id, &admin.organization_id);
    idempotency::create(&db, &admin, key, fingerprint, move |conn| {
        insert_checked(conn, &user)?;
        audit::append(
            conn,
            &actor,
            Event {
                action: "user.created",
                target_type: "user",
                target_id: &user.id,
                details: json!({"email": user.email, "role": user.role, "organization_id": user.organization_id}),
            },
        )?;
        serde_json::to_value(UserView::from(user)).map_err(|e| ApiError::Internal(e.into()))
    })
    .await
}

/// List users.
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
    _admin: Admin,
    page: web::Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<UserPage>> {
    let (limit, after) = (page.limit()?, page.after()?);
    let rows = db
        .run(move |conn| Ok(accounts::list_users(conn, after.as_deref(), limit + 1)?))
        .await?;
    let (rows, next_cursor) = page_of(rows, limit, |u| u.id.clone());
    Ok(web::Json(UserPage {
        items: rows.into_iter().map(UserView::from).collect(),
        next_cursor,
    }))
}

/// Change a user's role or disable them; either ends their sessions at once.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", operation_id = "updateUser",
    params(("id" = String, Path, description = "User id")),
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
    id: web::Path<String>,
    body: ApiJson<UpdateUser>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<UserView>> {
    let id = id.into_inner();
    let change = body.0;
    if change.role.is_none() && change.disabled.is_none() {
        return Err(ApiError::invalid("body", "give role, disabled or both"));
    }
    let user = db
        .write(move |conn| {
            let user = accounts::find_user(conn, &id)?
                .ok_or_else(|| ApiError::not_found("no such user"))?;
            if user.id == admin.id
                && (change.disabled == Some(true) || change.role.is_some_and(|r| r != Role::Admin))
            {
                return Err(ApiError::conflict(
                    "an admin cannot disable or demote themselves",
                ));
            }
            let role = change
                .role
                .map(|r| r.as_str().to_owned())
                .unwrap_or(user.role.clone());
            if role != user.role {
                let org =
                    accounts::find_organization(conn, &user.organization_id)?.ok_or_else(|| {
                        ApiError::Internal(anyhow::anyhow!("user without organization"))
                    })?;
                let kind: OrganizationKind = org
                    .kind
                    .parse()
                    .map_err(|m: String| ApiError::Internal(anyhow::anyhow!(m)))?;
                let new_role: Role = role
                    .parse()
                    .map_err(|m: String| ApiError::invalid("role", m))?;
                if !new_role.may_belong_to(kind) {
                    return Err(ApiError::invalid(
                        "role",
                        format!(
                            "a {new_role} cannot belong to a {} organization",
                            kind.as_str()
                        ),
                    ));
                }
            }
            let disabled = change.disabled.unwrap_or(user.disabled);
            let now = Utc::now().naive_utc();
            accounts::update_user_role_and_state(conn, &user.id, &role, disabled, now)?;
            audit::append(
                conn,
                &Actor::user(&admin.id, &admin.organization_id),
                Event {
                    action: "user.updated",
                    target_type: "user",
                    target_id: &user.id,
                    details: json!({
                        "role": {"from": user.role, "to": role},
                        "disabled": {"from": user.disabled, "to": disabled},
                    }),
                },
            )?;
            if disabled != user.disabled || role != user.role {
                // Access tokens die on their next use (the extractor re-reads
                // the user); refresh tokens die here.
                accounts::revoke_user_refresh_tokens(conn, &user.id, now)?;
            }
            accounts::find_user(conn, &user.id)?.ok_or_else(|| ApiError::not_found("no such user"))
        })
        .await?;
    Ok(web::Json(UserView::from(user)))
}
