//! Organizations: regulators, platforms and consumer associations (admin).

use actix_web::{get, post, web, HttpResponse};

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::PageParams;
use super::params::{Id, Query};
use crate::auth::{Admin, Overseer, Reader};
use crate::db::Db;
use crate::error::ApiResult;
use crate::page_type;
use crate::service::accounts::{self, CreateOrganization, OrganizationView};

page_type!(OrganizationPage, OrganizationView);

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
    let (actor, input) = (admin.actor(), body.0);
    idempotency::create(&db, &admin, key, fingerprint, move |conn| {
        accounts::create_organization(conn, &actor, input)
    })
    .await
}

/// List organizations (admins and auditors).
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
    Overseer(user): Overseer,
    page: Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<OrganizationPage>> {
    let (actor, page) = (user.actor(), page.request()?);
    let page = db
        .run(move |conn| accounts::list_organizations(conn, &actor, &page))
        .await?;
    Ok(web::Json(page.into()))
}

/// One organization (with a regulator's level and parent bureau).
#[utoipa::path(get, path = "/v1/organizations/{id}", tag = "organizations", operation_id = "getOrganization",
    params(("id" = String, Path, description = "Organization id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization", body = OrganizationView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/organizations/{id}")]
pub async fn get_organization(
    Reader(user): Reader,
    id: Id,
    db: web::Data<Db>,
) -> ApiResult<web::Json<OrganizationView>> {
    let (actor, id) = (user.actor(), id.into_inner());
    Ok(web::Json(
        db.run(move |conn| accounts::get_organization(conn, &actor, &id))
            .await?,
    ))
}
