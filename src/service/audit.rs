//! The hash-chained audit log, for auditors and admins: read it, verify it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::page::{decode_cursor, Page, PageRequest};
use super::{roles, Actor, ServiceError, ServiceResult};
use crate::db::audit::{self as store, Entry, Filter, Verification};
use crate::db::DbConn;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<String>,
    pub actor_organization_id: Option<String>,
    /// A listed subject acting in the portal (then no user).
    pub actor_subject_id: Option<String>,
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
            actor_subject_id: e.actor_subject_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// One page of the log, oldest first. The cursor is the last `seq` seen.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &Filter,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> ServiceResult<Page<AuditEntryView>> {
    actor.require(roles::AUDIT_READERS)?;
    for (field, value) in [
        ("action", &filter.action),
        ("target_type", &filter.target_type),
        // Mostly ids, but a lock-out names the e-mail address it concerns.
        ("target_id", &filter.target_id),
    ] {
        if let Some(value) = value {
            super::check_query_text(field, value, 254)?;
        }
    }
    let mut filter = filter.clone();
    if let Some(actor) = &filter.actor {
        filter.actor = Some(
            super::canonical_id(actor)
                .ok_or_else(|| ServiceError::invalid("actor", "must be a user id (a UUID)"))?,
        );
    }
    let page = PageRequest::parse(limit, None)?;
    let after = match cursor.map(decode_cursor).transpose()? {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            ServiceError::invalid("cursor", "is not a cursor this service handed out")
        })?),
        None => None,
    };
    let rows = store::list(conn, &filter, after, page.fetch())?;
    Ok(page
        .page(rows, |e| e.seq.to_string())
        .map(AuditEntryView::from))
}

/// Recomputes the hash chain and reports whether it holds.
pub fn verify(conn: &mut DbConn, actor: &Actor) -> ServiceResult<Verification> {
    actor.require(roles::AUDIT_READERS)?;
    Ok(store::verify(conn)?)
}
