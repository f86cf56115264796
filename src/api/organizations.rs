//! Organizations: regulators, platforms and consumer associations (admin).

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::{page_of, PageParams};
use crate::audit::{self, Actor, Event};
use crate::auth::Admin;
use crate::db::accounts::{self, Organization};
use crate::db::Db;
use crate::domain::accounts::OrganizationKind;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::page_type;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    /// Unique, e.g. `杭州市市场监督管理局`.
    pub name: String,
    pub kind: OrganizationKind,
    /// Administrative division code (GB/T 2260), six digits.
    pub region_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
    pub kind: OrganizationKind,
    pub region_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            kind: o.kind.parse().unwrap_or(OrganizationKind::Regulator),
            region_code: o.region_code,
            created_at: o.created_at.and_utc(),
        }
    }
}

page_type!(OrganizationPage, OrganizationView);

impl CreateOrganization {
    fn validate(self) -> Result<Organization, ApiError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        let region_code = self
            .region_code
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if let Some(code) = &region_code {
            if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(FieldError::new(
                    "region_code",
                    "must be a six-digit division code",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Organization {
            id: uuid::Uuid::now_v7().to_string(),
            name,
            kind: self.kind.as_str().into(),
            region_code,
            created_at: Utc::now().naive_utc(),
        })
    }
}

/// Create an organization.
#[utoipa::path(post, path = "/v1/organizations", tag = "organizations", operation_id = "createOrganization",
    request_body = CreateOrganization, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, description = "Created", body = OrganizationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/organizations")]
pub async fn create_organization(
    Admin(admin): Admin,
    key: IdempotencyKey,
    body: ApiJson<CreateOrganization>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let org = body.0.validate()?;
    let actor = Actor::user(&admin.id, &admin.organization_id);
    idempotency::create(&db, &admin, key, fingerprint, move |conn| {
        if let Some(existing) = accounts::find_organization_by_name(conn, &org.name)? {
            return Err(ApiError::conflict_with(
                "an organization with this name exists",
                [("existing_organization_id", existing.id.into())],
            ));
        }
        accounts::insert_organization(conn, &org)?;
        audit::append(
            conn,
            &actor,
            Event {
                action: "organization.created",
                target_type: "organization",
                target_id: &org.id,
                details: json!({"name": org.name, "kind": org.kind, "region_code": org.region_code}),
            },
        )?;
        serde_json::to_value(OrganizationView::from(org)).map_err(|e| ApiError::Internal(e.into()))
    })
    .await
}

/// List organizations.
#[utoipa::path(get, path = "/v1/organizations", tag = "organizations", operation_id = "listOrganizations",
    params(PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = OrganizationPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/organizations")]
pub async fn list_organizations(
    _admin: Admin,
    page: web::Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<OrganizationPage>> {
    let (limit, after) = (page.limit()?, page.after()?);
    let rows = db
        .run(move |conn| {
            Ok(accounts::list_organizations(
                conn,
                after.as_deref(),
                limit + 1,
            )?)
        })
        .await?;
    let (rows, next_cursor) = page_of(rows, limit, |o| o.id.clone());
    Ok(web::Json(OrganizationPage {
        items: rows.into_iter().map(OrganizationView::from).collect(),
        next_cursor,
    }))
}
