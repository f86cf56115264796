//! The audit log, for auditors and admins.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::params::Query;
use crate::auth::AuditReader;
use crate::db::audit::{Filter, Verification};
use crate::db::Db;
use crate::error::ApiResult;
use crate::page_type;
use crate::service::audit::{self, AuditEntryView};

page_type!(AuditPage, AuditEntryView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `subject.created`.
    #[param(max_length = 254)]
    pub action: Option<String>,
    /// Actor user id.
    #[param(value_type = Option<uuid::Uuid>)]
    pub actor: Option<String>,
    /// e.g. `subject`.
    #[param(max_length = 254)]
    pub target_type: Option<String>,
    /// Usually an id; a login lock-out names the e-mail address.
    #[param(max_length = 254)]
    pub target_id: Option<String>,
    /// Page size: default 50; above 500 is treated as 500.
    #[param(minimum = 1)]
    #[serde(default, deserialize_with = "crate::api::params::whole_number")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Read the audit log, oldest first.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", operation_id = "listAudit",
    params(AuditQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, in sequence order", body = AuditPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/audit")]
pub async fn list_audit(
    AuditReader(user): AuditReader,
    query: Query<AuditQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<AuditPage>> {
    let q = query.into_inner();
    let filter = Filter {
        action: q.action,
        actor: q.actor,
        target_type: q.target_type,
        target_id: q.target_id,
    };
    let actor = user.actor();
    let page = db
        .run(move |conn| audit::list(conn, &actor, &filter, q.limit, q.cursor.as_deref()))
        .await?;
    Ok(web::Json(page.into()))
}

/// Recompute the hash chain and report whether it holds.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", operation_id = "verifyAudit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The verdict; `first_bad_seq` names the first entry that does not hold", body = Verification),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
    ))]
#[get("/v1/audit/verify")]
pub async fn verify_audit(
    AuditReader(user): AuditReader,
    db: web::Data<Db>,
) -> ApiResult<web::Json<Verification>> {
    let actor = user.actor();
    Ok(web::Json(
        db.run(move |conn| audit::verify(conn, &actor)).await?,
    ))
}
