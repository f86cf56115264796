//! The audit log, for auditors and admins.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::pagination::{decode_cursor, page_of, PageParams};
use crate::audit::{self, Entry, Filter, Verification};
use crate::auth::AuditReader;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::page_type;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<String>,
    pub actor_organization_id: Option<String>,
    /// e.g. `subject.created`, `violation.revoked`, `auth.login_failed`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What changed (never secrets or full ID numbers).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<Entry> for AuditEntryView {
    fn from(e: Entry) -> Self {
        Self {
            details: serde_json::from_str(&e.details)
                .unwrap_or(serde_json::Value::String(e.details)),
            seq: e.seq,
            at: e.at.and_utc(),
            actor_user_id: e.actor_user_id,
            actor_organization_id: e.actor_organization_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

page_type!(AuditPage, AuditEntryView);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub action: Option<String>,
    /// Actor user id.
    pub actor: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    #[param(minimum = 1)]
    pub limit: Option<i64>,
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
    _reader: AuditReader,
    query: web::Query<AuditQuery>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<AuditPage>> {
    let q = query.into_inner();
    let limit = PageParams {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let after =
        match q.cursor.as_deref().map(decode_cursor).transpose()? {
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                ApiError::invalid("cursor", "is not a cursor this service handed out")
            })?),
            None => None,
        };
    let filter = Filter {
        action: q.action,
        actor: q.actor,
        target_type: q.target_type,
        target_id: q.target_id,
    };
    let rows = db
        .run(move |conn| Ok(audit::list(conn, &filter, after, limit + 1)?))
        .await?;
    let (rows, next_cursor) = page_of(rows, limit, |e| e.seq.to_string());
    Ok(web::Json(AuditPage {
        items: rows.into_iter().map(AuditEntryView::from).collect(),
        next_cursor,
    }))
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
    _reader: AuditReader,
    db: web::Data<Db>,
) -> ApiResult<web::Json<Verification>> {
    Ok(web::Json(db.run(|conn| Ok(audit::verify(conn)?)).await?))
}
