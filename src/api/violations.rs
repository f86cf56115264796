//! Violations: recorded by regulators, append-only, revocable with a reason.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::idempotency::{self, IdempotencyKey};
use super::json::ApiJson;
use super::pagination::{page_of, PageParams};
use crate::audit::{self, Actor, Event};
use crate::auth::{Reader, Regulator};
use crate::db::accounts;
use crate::db::registry::{self, Evidence, Violation};
use crate::db::{scores, Db, DbConn};
use crate::domain::registry::{
    check_effective_date, check_uri, clean_media_type, clean_sha256, clean_text, today_cst,
    ViolationStatus, MAX_EVIDENCE, MAX_TEXT_CHARS,
};
use crate::domain::scoring::{Category, Severity};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::page_type;
use crate::workflows;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceItem {
    /// SHA-256 of the evidence file (the file itself is kept elsewhere).
    pub sha256: String,
    /// e.g. `video/mp4`.
    pub media_type: String,
    pub description: Option<String>,
    /// Where the file is kept, e.g. `https://…` or `s3://…`.
    pub uri: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordViolation {
    pub category: Category,
    pub severity: Severity,
    /// Date of the penalty decision (China Standard Time); default today; never in the future.
    pub decided_on: Option<NaiveDate>,
    pub description: String,
    /// Number of the penalty decision, e.g. `杭市监处罚〔2026〕123号`.
    pub decision_no: Option<String>,
    /// Fine in fen (1/100 yuan).
    #[schema(minimum = 0)]
    pub fine_cents: Option<i64>,
    pub legal_basis: Option<String>,
    #[serde(default)]
    pub evidence: Vec<EvidenceItem>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeViolation {
    pub reason: String,
    /// When the decision was annulled; default today; not before `decided_on`, never in the future.
    pub revoked_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorityView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationHistoryEntry {
    /// `recorded` or `revoked`.
    pub action: String,
    pub actor_user_id: String,
    pub effective_on: NaiveDate,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationView {
    pub id: String,
    pub subject_id: String,
    #[schema(value_type = Category)]
    pub category: String,
    #[schema(value_type = Severity)]
    pub severity: String,
    pub decided_on: NaiveDate,
    pub description: String,
    pub decision_no: Option<String>,
    pub fine_cents: Option<i64>,
    pub legal_basis: Option<String>,
    pub evidence: Vec<EvidenceItem>,
    pub status: ViolationStatus,
    /// User id of the regulator who recorded it.
    pub recorded_by: String,
    /// The recording regulator's organization.
    pub authority: AuthorityView,
    pub recorded_at: DateTime<Utc>,
    pub revoked_on: Option<NaiveDate>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub history: Vec<ViolationHistoryEntry>,
}

page_type!(ViolationPage, ViolationView);

/// Builds the views of violations with their evidence and authorities (one query each).
fn views(conn: &mut DbConn, rows: Vec<Violation>) -> ApiResult<Vec<ViolationView>> {
    let ids: Vec<&str> = rows.iter().map(|v| v.id.as_str()).collect();
    let evidence = registry::evidence_of(conn, &ids)?;
    let mut views = Vec::with_capacity(rows.len());
    for v in rows {
        let authority = accounts::find_organization(conn, &v.authority_id)?
            .map(|o| AuthorityView {
                id: o.id,
                name: o.name,
            })
            .unwrap_or(AuthorityView {
                id: v.authority_id.clone(),
                name: String::new(),
            });
        let mut history = vec![ViolationHistoryEntry {
            action: "recorded".into(),
            actor_user_id: v.recorded_by.clone(),
            effective_on: v.decided_on,
            at: v.recorded_at.and_utc(),
            reason: None,
        }];
        if let (Some(on), Some(at), Some(by)) = (v.revoked_on, v.revoked_at, &v.revoked_by) {
            history.push(ViolationHistoryEntry {
                action: "revoked".into(),
                actor_user_id: by.clone(),
                effective_on: on,
                at: at.and_utc(),
                reason: v.revocation_reason.clone(),
            });
        }
        views.push(ViolationView {
            evidence: evidence
                .iter()
                .filter(|e| e.violation_id == v.id)
                .map(|e| EvidenceItem {
                    sha256: e.sha256.clone(),
                    media_type: e.media_type.clone(),
                    description: e.description.clone(),
                    uri: e.uri.clone(),
                })
                .collect(),
            status: if v.status == "revoked" {
                ViolationStatus::Revoked
            } else {
                ViolationStatus::Effective
            },
            id: v.id,
            subject_id: v.subject_id,
            category: v.category,
            severity: v.severity,
            decided_on: v.decided_on,
            description: v.description,
            decision_no: v.decision_no,
            fine_cents: v.fine_cents,
            legal_basis: v.legal_basis,
            recorded_by: v.recorded_by,
            authority,
            recorded_at: v.recorded_at.and_utc(),
            revoked_on: v.revoked_on,
            revoked_at: v.revoked_at.map(|t| t.and_utc()),
            revocation_reason: v.revocation_reason,
            history,
        });
    }
    Ok(views)
}

pub fn load_view(conn: &mut DbConn, id: &str) -> ApiResult<ViolationView> {
    let v = registry::find_violation(conn, id)?
        .ok_or_else(|| ApiError::not_found("no such violation"))?;
    views(conn, vec![v])?
        .pop()
        .ok_or_else(|| ApiError::not_found("no such violation"))
}

fn optional_text(
    value: Option<String>,
    field: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    clean_text(&value, max)
        .map_err(|m| errors.push(FieldError::new(field, m)))
        .ok()
}

/// Checks and normalises evidence items, naming each bad field.
pub fn clean_evidence(items: Vec<EvidenceItem>, errors: &mut Vec<FieldError>) -> Vec<EvidenceItem> {
    if items.len() > MAX_EVIDENCE {
        errors.push(FieldError::new(
            "evidence",
            format!("at most {MAX_EVIDENCE} items"),
        ));
        return Vec::new();
    }
    let mut clean = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let field = |name: &str| format!("evidence[{i}].{name}");
        let sha256 = clean_sha256(&item.sha256)
            .map_err(|m| errors.push(FieldError::new(field("sha256"), m)))
            .ok();
        let media_type = clean_media_type(&item.media_type)
            .map_err(|m| errors.push(FieldError::new(field("media_type"), m)))
            .ok();
        let description = optional_text(item.description, &field("description"), 1000, errors);
        let uri = item
            .uri
            .as_deref()
            .map(check_uri)
            .transpose()
            .map_err(|m| errors.push(FieldError::new(field("uri"), m)))
            .ok()
            .flatten();
        if let (Some(sha256), Some(media_type)) = (sha256, media_type) {
            clean.push(EvidenceItem {
                sha256,
                media_type,
                description,
                uri,
            });
        }
    }
    clean
}

/// Record a violation of a subject.
#[utoipa::path(post, path = "/v1/subjects/{id}/violations", tag = "violations", operation_id = "recordViolation",
    params(("id" = String, Path, description = "Subject id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    request_body = RecordViolation, security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded; `status` is `effective`", body = ViolationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/subjects/{id}/violations")]
pub async fn record_violation(
    Regulator(user): Regulator,
    subject_id: web::Path<String>,
    key: IdempotencyKey,
    body: ApiJson<RecordViolation>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let fingerprint = body.fingerprint();
    let b = body.0;
    let now = Utc::now();
    let today = today_cst(now);
    let id = uuid::Uuid::now_v7().to_string();
    let mut errors = Vec::new();
    let decided_on = b.decided_on.unwrap_or(today);
    if let Err(m) = check_effective_date(decided_on, today, None) {
        errors.push(FieldError::new("decided_on", m));
    }
    let description = clean_text(&b.description, MAX_TEXT_CHARS)
        .map_err(|m| errors.push(FieldError::new("description", m)))
        .unwrap_or_default();
    let decision_no = optional_text(b.decision_no, "decision_no", 100, &mut errors);
    let legal_basis = optional_text(b.legal_basis, "legal_basis", 2000, &mut errors);
    if b.fine_cents.is_some_and(|f| f < 0) {
        errors.push(FieldError::new("fine_cents", "must not be negative"));
    }
    let evidence: Vec<Evidence> = clean_evidence(b.evidence, &mut errors)
        .into_iter()
        .enumerate()
        .map(|(i, e)| Evidence {
            violation_id: id.clone(),
            position: i as i32,
            sha256: e.sha256,
            media_type: e.media_type,
            description: e.description,
            uri: e.uri,
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let violation = Violation {
        id,
        subject_id: subject_id.into_inner(),
        category: b.category.as_str().into(),
        severity: b.severity.as_str().into(),
        decided_on,
        description,
        decision_no,
        fine_cents: b.fine_cents,
        legal_basis,
        status: ViolationStatus::Effective.as_str().into(),
        recorded_by: user.id.clone(),
        authority_id: user.organization_id.clone(),
        recorded_at: now.naive_utc(),
        revoked_on: None,
        revoked_at: None,
        revoked_by: None,
        revocation_reason: None,
    };
    let actor = Actor::user(&user.id, &user.organization_id);
    idempotency::create(&db, &user, key, fingerprint, move |conn| {
        // The subject's lock orders concurrent changes to its score.
        if !scores::lock_subject(conn, &violation.subject_id)? {
            return Err(ApiError::not_found("no such subject"));
        }
        registry::insert_violation(conn, &violation, &evidence)?;
        audit::append(
            conn,
            &actor,
            Event {
                action: "violation.recorded",
                target_type: "violation",
                target_id: &violation.id,
                details: json!({
                    "subject_id": violation.subject_id, "category": violation.category,
                    "severity": violation.severity, "decided_on": violation.decided_on,
                    "decision_no": violation.decision_no, "fine_cents": violation.fine_cents,
                    "evidence_sha256": evidence.iter().map(|e| e.sha256.as_str()).collect::<Vec<_>>(),
                }),
            },
        )?;
        workflows::after_violation_recorded(conn, &violation, today)?;
        serde_json::to_value(load_view(conn, &violation.id)?).map_err(|e| ApiError::Internal(e.into()))
    })
    .await
}

/// A subject's violations, revoked ones included.
#[utoipa::path(get, path = "/v1/subjects/{id}/violations", tag = "violations", operation_id = "listSubjectViolations",
    params(("id" = String, Path, description = "Subject id"), PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, in recording order", body = ViolationPage),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[get("/v1/subjects/{id}/violations")]
pub async fn list_violations(
    _reader: Reader,
    subject_id: web::Path<String>,
    page: web::Query<PageParams>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ViolationPage>> {
    let (limit, after) = (page.limit()?, page.after()?);
    let subject_id = subject_id.into_inner();
    let (items, next_cursor) = db
        .run(move |conn| {
            registry::find_subject(conn, &subject_id)?
                .ok_or_else(|| ApiError::not_found("no such subject"))?;
            let rows =
                registry::violations_of_subject(conn, &subject_id, after.as_deref(), limit + 1)?;
            let (rows, next) = page_of(rows, limit, |v| v.id.clone());
            Ok((views(conn, rows)?, next))
        })
        .await?;
    Ok(web::Json(ViolationPage { items, next_cursor }))
}

/// One violation with its history.
#[utoipa::path(get, path = "/v1/violations/{id}", tag = "violations", operation_id = "getViolation",
    params(("id" = String, Path, description = "Violation id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The violation", body = ViolationView),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
    ))]
#[get("/v1/violations/{id}")]
pub async fn get_violation(
    _reader: Reader,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ViolationView>> {
    let id = id.into_inner();
    Ok(web::Json(db.run(move |conn| load_view(conn, &id)).await?))
}

/// Revoke a violation (decision annulled on reconsideration or in court).
#[utoipa::path(post, path = "/v1/violations/{id}/revoke", tag = "violations", operation_id = "revokeViolation",
    params(("id" = String, Path, description = "Violation id")),
    request_body = RevokeViolation, security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = ViolationView),
        (status = 400, response = crate::api::BadRequest),
        (status = 401, response = crate::api::Unauthorized),
        (status = 403, response = crate::api::Forbidden),
        (status = 404, response = crate::api::NotFound),
        (status = 409, response = crate::api::Conflict),
        (status = 422, response = crate::api::Unprocessable),
    ))]
#[post("/v1/violations/{id}/revoke")]
pub async fn revoke_violation(
    Regulator(user): Regulator,
    id: web::Path<String>,
    body: ApiJson<RevokeViolation>,
    db: web::Data<Db>,
) -> ApiResult<web::Json<ViolationView>> {
    let id = id.into_inner();
    let b = body.0;
    let reason = clean_text(&b.reason, 2000).map_err(|m| ApiError::invalid("reason", m))?;
    let now = Utc::now();
    let today = today_cst(now);
    let revoked_on = b.revoked_on.unwrap_or(today);
    let actor = Actor::user(&user.id, &user.organization_id);
    let view = db
        .write(move |conn| {
            let v = registry::find_violation(conn, &id)?.ok_or_else(|| ApiError::not_found("no such violation"))?;
            scores::lock_subject(conn, &v.subject_id)?;
            let v = registry::find_violation(conn, &id)?.ok_or_else(|| ApiError::not_found("no such violation"))?;
            if v.status == ViolationStatus::Revoked.as_str() {
                return Err(ApiError::conflict("the violation is already revoked"));
            }
            check_effective_date(revoked_on, today, Some(v.decided_on)).map_err(|m| ApiError::invalid("revoked_on", m))?;
            registry::revoke_violation(conn, &id, revoked_on, &user.id, &reason, now.naive_utc())?;
            audit::append(
                conn,
                &actor,
                Event {
                    action: "violation.revoked",
                    target_type: "violation",
                    target_id: &id,
                    details: json!({"subject_id": v.subject_id, "revoked_on": revoked_on, "reason": reason}),
                },
            )?;
            workflows::after_violation_revoked(conn, &v, today)?;
            load_view(conn, &id)
        })
        .await?;
    Ok(web::Json(view))
}
