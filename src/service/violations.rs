//! Violations: recorded by regulators, append-only, revocable with a reason.
//! Each change brings the subject's stored score up to date and may move the
//! listing procedure (a system proposal, a revocation) in the same transaction.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::page::{Page, PageRequest};
use super::{listings, new_id, roles, scores, Actor, Problems, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::events;
use crate::db::registry::{self as store, Evidence, Violation};
use crate::db::typed::Json;
use crate::db::{accounts, scores as score_store, DbConn};
use crate::domain::grounds;
use crate::domain::penalties::{self, PenaltyKind};
use crate::domain::registry::{
    check_effective_date, check_uri, clean_media_type, clean_sha256, clean_text, today_cst,
    ViolationStatus, MAX_EVIDENCE, MAX_TEXT_CHARS,
};
use crate::domain::scoring::{Category, Severity};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceItem {
    // The patterns allow the white space the server trims (Unicode White_Space
    // but the control characters, which no body may hold).
    /// SHA-256 of the evidence file (the file itself is kept elsewhere).
    #[schema(
        pattern = r"^[ \t\r\n\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[0-9A-Fa-f]{64}[ \t\r\n\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub sha256: String,
    /// e.g. `video/mp4`.
    #[schema(
        max_length = 127,
        pattern = r"^[ \t\r\n\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+[ \t\r\n\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub media_type: String,
    /// Blank is the same as absent.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Where the file is kept, e.g. `https://…` or `s3://…`.
    #[schema(
        max_length = 2000,
        pattern = r"^[ \t\r\n\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001F\u007F-\u009F]+[ \t\r\n\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordViolation {
    pub category: Category,
    pub severity: Severity,
    /// Date of the penalty decision (China Standard Time); default today; never in the future.
    /// Not given for a pending penalty.
    pub decided_on: Option<NaiveDate>,
    /// The penalty was notified but not yet decided: it counts nowhere until
    /// `POST /v1/violations/{id}/decide` or the listing decision takes its decision.
    #[serde(default)]
    pub pending: bool,
    /// The kinds of administrative penalty imposed (or, while pending, intended).
    #[serde(default)]
    pub penalty_kinds: Vec<PenaltyKind>,
    /// The end of a practice ban (required with `practice_ban`) or of a business restriction.
    pub ban_until: Option<NaiveDate>,
    /// The Order 44 ground the act falls under: a `code` of `GET /v1/reference/listing-grounds`.
    pub listing_ground: Option<String>,
    #[schema(min_length = 1, max_length = 5000)]
    pub description: String,
    /// Number of the penalty decision, e.g. `杭市监处罚〔2026〕123号`.
    #[schema(max_length = 100)]
    pub decision_no: Option<String>,
    /// Fine in fen (1/100 yuan).
    #[schema(minimum = 0)]
    pub fine_cents: Option<i64>,
    #[schema(max_length = 2000)]
    pub legal_basis: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub evidence: Vec<EvidenceItem>,
    /// The MCN, employer or live-room operator that shares the responsibility
    /// for the act (Order 117): subject ids, not the subject's own.
    #[serde(default)]
    #[schema(max_items = 10, value_type = Vec<uuid::Uuid>)]
    pub related_subject_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecidePenalty {
    /// Number of the penalty decision.
    pub decision_no: String,
    /// Default today; never in the future, not before the day the penalty was recorded.
    pub decided_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeViolation {
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// When the decision was annulled; default today; not before `decided_on`, never in the future.
    pub revoked_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorityView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationHistoryEntry {
    /// `recorded`, `decided` (a pending penalty's decision) or `revoked`.
    pub action: String,
    pub actor_user_id: String,
    pub effective_on: NaiveDate,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationView {
    pub id: String,
    pub subject_id: String,
    pub category: Category,
    pub severity: Severity,
    /// Null while the penalty is pending.
    pub decided_on: Option<NaiveDate>,
    pub description: String,
    pub decision_no: Option<String>,
    pub fine_cents: Option<i64>,
    pub legal_basis: Option<String>,
    pub penalty_kinds: Vec<PenaltyKind>,
    /// Some kind is a heavier penalty in the sense of Order 44 art. 2 (read-only).
    pub heavier_penalty: bool,
    pub ban_until: Option<NaiveDate>,
    pub listing_ground: Option<String>,
    pub evidence: Vec<EvidenceItem>,
    /// `pending`, `effective` or `revoked`.
    pub status: ViolationStatus,
    /// User id of the regulator who recorded it.
    pub recorded_by: String,
    /// The bureau that imposed the penalty (the recording regulator's organization).
    pub authority: AuthorityView,
    pub recorded_at: DateTime<Utc>,
    pub revoked_on: Option<NaiveDate>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    /// Credit repair was approved for the listing this penalty grounded (Order 107): it no
    /// longer counts in what platforms and the public see. Regulators keep seeing it.
    pub repaired: bool,
    pub repaired_on: Option<NaiveDate>,
    /// The parties sharing the responsibility (Order 117).
    pub related_subject_ids: Vec<String>,
    pub history: Vec<ViolationHistoryEntry>,
}

/// The views of violations with their evidence and authorities: a fixed
/// number of queries however many there are.
pub fn views(conn: &mut DbConn, rows: Vec<Violation>) -> ServiceResult<Vec<ViolationView>> {
    let ids: Vec<&str> = rows.iter().map(|v| v.id.as_str()).collect();
    let evidence = store::evidence_of(conn, &ids)?;
    let mut authority_ids: Vec<&str> = rows.iter().map(|v| v.authority_id.as_str()).collect();
    authority_ids.sort_unstable();
    authority_ids.dedup();
    let authorities = accounts::organizations_by_ids(conn, &authority_ids)?;
    Ok(rows
        .into_iter()
        .map(|v| {
            let authority = authorities
                .iter()
                .find(|o| o.id == v.authority_id)
                .map_or_else(
                    || AuthorityView {
                        id: v.authority_id.clone(),
                        name: String::new(),
                    },
                    |o| AuthorityView {
                        id: o.id.clone(),
                        name: o.name.clone(),
                    },
                );
            let recorded_on = today_cst(v.recorded_at.and_utc());
            let mut history = vec![ViolationHistoryEntry {
                action: "recorded".into(),
                actor_user_id: v.recorded_by.clone(),
                effective_on: match (v.decided_at, v.decided_on) {
                    (None, Some(decided_on)) => decided_on,
                    _ => recorded_on,
                },
                at: v.recorded_at.and_utc(),
                reason: None,
            }];
            if let (Some(on), Some(at), Some(by)) = (v.decided_on, v.decided_at, &v.decided_by) {
                history.push(ViolationHistoryEntry {
                    action: "decided".into(),
                    actor_user_id: by.clone(),
                    effective_on: on,
                    at: at.and_utc(),
                    reason: v.decision_no.clone(),
                });
            }
            if let (Some(on), Some(at), Some(by)) = (v.revoked_on, v.revoked_at, &v.revoked_by) {
                history.push(ViolationHistoryEntry {
                    action: "revoked".into(),
                    actor_user_id: by.clone(),
                    effective_on: on,
                    at: at.and_utc(),
                    reason: v.revocation_reason.clone(),
                });
            }
            ViolationView {
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
                status: v.status,
                id: v.id,
                subject_id: v.subject_id,
                category: v.category,
                severity: v.severity,
                decided_on: v.decided_on,
                description: v.description,
                decision_no: v.decision_no,
                fine_cents: v.fine_cents,
                legal_basis: v.legal_basis,
                penalty_kinds: v.penalty_kinds.0,
                heavier_penalty: v.heavier_penalty,
                ban_until: v.ban_until,
                listing_ground: v.listing_ground,
                recorded_by: v.recorded_by,
                authority,
                recorded_at: v.recorded_at.and_utc(),
                revoked_on: v.revoked_on,
                revoked_at: v.revoked_at.map(|t| t.and_utc()),
                revocation_reason: v.revocation_reason,
                repaired: v.repaired_on.is_some(),
                related_subject_ids: v.related_subject_ids.0,
                repaired_on: v.repaired_on,
                history,
            }
        })
        .collect())
}

/// The violation, or 404.
pub fn find(conn: &mut DbConn, id: &str) -> ServiceResult<Violation> {
    store::find_violation(conn, id)?.ok_or_else(|| ServiceError::not_found("no such violation"))
}

fn view(conn: &mut DbConn, id: &str) -> ServiceResult<ViolationView> {
    let v = find(conn, id)?;
    views(conn, vec![v])?
        .pop()
        .ok_or_else(|| ServiceError::not_found("no such violation"))
}

fn optional_text(
    value: Option<String>,
    field: &str,
    max: usize,
    problems: &mut Problems,
) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    problems.check(field, clean_text(&value, max))
}

/// Checks and normalises evidence items, naming each bad field.
pub fn clean_evidence(items: Vec<EvidenceItem>, problems: &mut Problems) -> Vec<EvidenceItem> {
    if items.len() > MAX_EVIDENCE {
        problems.add("evidence", format!("at most {MAX_EVIDENCE} items"));
        return Vec::new();
    }
    let mut clean = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let field = |name: &str| format!("evidence[{i}].{name}");
        let sha256 = problems.check(field("sha256"), clean_sha256(&item.sha256));
        let media_type = problems.check(field("media_type"), clean_media_type(&item.media_type));
        let description = optional_text(item.description, &field("description"), 1000, problems);
        let uri = match item.uri.as_deref().map(check_uri) {
            Some(result) => problems.check(field("uri"), result),
            None => None,
        };
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

/// The evidence rows of a violation, in the order given.
pub fn evidence_rows(violation_id: &str, items: &[EvidenceItem]) -> Vec<Evidence> {
    items
        .iter()
        .enumerate()
        .map(|(i, e)| Evidence {
            violation_id: violation_id.to_owned(),
            position: i as i32,
            sha256: e.sha256.clone(),
            media_type: e.media_type.clone(),
            description: e.description.clone(),
            uri: e.uri.clone(),
        })
        .collect()
}

/// A violation row as recorded, by `recorded_by` of `authority_id`:
/// effective when `decided_on` is given, else pending.
pub struct NewViolation {
    pub id: String,
    pub subject_id: String,
    pub category: Category,
    pub severity: Severity,
    /// `None` records a pending penalty.
    pub decided_on: Option<NaiveDate>,
    pub description: String,
    pub decision_no: Option<String>,
    pub fine_cents: Option<i64>,
    pub legal_basis: Option<String>,
    pub penalty_kinds: Vec<PenaltyKind>,
    pub ban_until: Option<NaiveDate>,
    pub listing_ground: Option<String>,
    pub recorded_by: String,
    pub authority_id: String,
    pub recorded_at: NaiveDateTime,
    pub related_subject_ids: Vec<String>,
}

impl NewViolation {
    pub fn into_row(self) -> Violation {
        Violation {
            id: self.id,
            subject_id: self.subject_id,
            category: self.category,
            severity: self.severity,
            status: if self.decided_on.is_some() {
                ViolationStatus::Effective
            } else {
                ViolationStatus::Pending
            },
            decided_on: self.decided_on,
            description: self.description,
            decision_no: self.decision_no,
            fine_cents: self.fine_cents,
            legal_basis: self.legal_basis,
            heavier_penalty: penalties::heavier_penalty(&self.penalty_kinds),
            penalty_kinds: Json(self.penalty_kinds),
            ban_until: self.ban_until,
            listing_ground: self.listing_ground,
            recorded_by: self.recorded_by,
            authority_id: self.authority_id,
            recorded_at: self.recorded_at,
            revoked_on: None,
            revoked_at: None,
            revoked_by: None,
            revocation_reason: None,
            decided_at: None,
            decided_by: None,
            repaired_on: None,
            related_subject_ids: Json(self.related_subject_ids),
        }
    }
}

/// Checks the penalty's kinds, its end date and its ground, naming each bad field.
fn check_penalty_fields(
    kinds: &[PenaltyKind],
    ban_until: Option<NaiveDate>,
    decided_on: Option<NaiveDate>,
    ground: Option<&str>,
    problems: &mut Problems,
) {
    if let Err(e) = penalties::check_penalty(kinds, ban_until, decided_on) {
        let field = match e {
            penalties::PenaltyError::Duplicate(_) => "penalty_kinds",
            _ => "ban_until",
        };
        problems.add(field, e.to_string());
    }
    if let Some(code) = ground {
        if grounds::ground(code).is_none() {
            problems.add(
                "listing_ground",
                format!("`{code}` is no ground of Order 44 art. 5–11; see GET /v1/reference/listing-grounds"),
            );
        }
    }
}

/// The outbox event of a violation change.
pub fn violation_event(event_type: &'static str, v: &Violation) -> events::NewEvent {
    events::NewEvent {
        event_type,
        subject_id: v.subject_id.clone(),
        listing_id: None,
        data: json!({"violation_id": v.id, "category": v.category, "severity": v.severity,
            "decided_on": v.decided_on, "status": v.status}),
    }
}

/// The parties named as sharing the responsibility: at most 10 registered
/// businesses (an MCN, an employer, a live-room operator, a merchant), not
/// the subject itself, each once.
fn related_parties(
    conn: &mut DbConn,
    subject_id: &str,
    given: &[String],
    problems: &mut Problems,
) -> ServiceResult<Vec<String>> {
    const FIELD: &str = "related_subject_ids";
    if given.len() > 10 {
        problems.add(FIELD, "at most 10 related parties");
        return Ok(Vec::new());
    }
    let wanted: Vec<String> = given
        .iter()
        .filter_map(|raw| super::canonical_id(raw))
        .collect();
    let found = crate::db::registry::find_subjects(conn, &wanted)?;
    let mut ids: Vec<String> = Vec::with_capacity(given.len());
    for (i, raw) in given.iter().enumerate() {
        let field = format!("{FIELD}[{i}]");
        let id = super::canonical_id(raw);
        let party = found.iter().find(|s| Some(&s.id) == id.as_ref());
        match (id, party) {
            (None, _) | (Some(_), None) => problems.add(field, "no such subject"),
            (Some(id), _) if id == subject_id => problems.add(field, "is the subject itself"),
            (Some(id), _) if ids.contains(&id) => problems.add(field, "is given twice"),
            (Some(_), Some(s)) if s.kind.is_person() => problems.add(
                field,
                "must be a business (an MCN, employer, live-room operator or merchant)",
            ),
            (Some(id), Some(_)) => ids.push(id),
        }
    }
    Ok(ids)
}

/// Records a violation of a subject; the subject's score follows, and the
/// system proposes a listing when the rules say so.
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    subject_id: &str,
    input: RecordViolation,
) -> ServiceResult<ViolationView> {
    let official = actor.staff(roles::REGULATORS)?;
    let now = Utc::now();
    let today = super::today();
    let id = new_id();
    let mut problems = Problems::new();
    let decided_on = match (input.pending, input.decided_on) {
        (true, Some(_)) => {
            problems.add("decided_on", "a pending penalty has no decision date yet");
            None
        }
        (true, None) => None,
        (false, given) => {
            let decided_on = given.unwrap_or(today);
            problems.check("decided_on", check_effective_date(decided_on, today, None));
            Some(decided_on)
        }
    };
    let description = problems
        .check(
            "description",
            clean_text(&input.description, MAX_TEXT_CHARS),
        )
        .unwrap_or_default();
    let decision_no = optional_text(input.decision_no, "decision_no", 100, &mut problems);
    let legal_basis = optional_text(input.legal_basis, "legal_basis", 2000, &mut problems);
    if input.fine_cents.is_some_and(|f| f < 0) {
        problems.add("fine_cents", "must not be negative");
    }
    let listing_ground = input
        .listing_ground
        .map(|g| g.trim().to_owned())
        .filter(|g| !g.is_empty());
    check_penalty_fields(
        &input.penalty_kinds,
        input.ban_until,
        decided_on,
        listing_ground.as_deref(),
        &mut problems,
    );
    let evidence = evidence_rows(&id, &clean_evidence(input.evidence, &mut problems));
    let related_subject_ids =
        related_parties(conn, subject_id, &input.related_subject_ids, &mut problems)?;
    problems.finish(())?;
    let violation = NewViolation {
        id,
        subject_id: subject_id.to_owned(),
        category: input.category,
        severity: input.severity,
        decided_on,
        description,
        decision_no,
        fine_cents: input.fine_cents,
        legal_basis,
        penalty_kinds: input.penalty_kinds,
        ban_until: input.ban_until,
        listing_ground,
        recorded_by: official.id.clone(),
        authority_id: official.organization_id.clone(),
        recorded_at: now.naive_utc(),
        related_subject_ids,
    }
    .into_row();
    // The subject's lock orders concurrent changes to its score.
    if !score_store::lock_subject(conn, subject_id)? {
        return Err(ServiceError::not_found("no such subject"));
    }
    // One penalty is one violation: recorded twice (a form sent again, a
    // second official entering the same paper) it would count twice in the
    // score, as a repeat offence. One decision may punish several acts, of
    // other categories: those are violations of their own.
    if let Some(existing) = store::same_violation(conn, &violation)? {
        return Err(ServiceError::conflict_with(
            format!(
                "this penalty (decision {}, {}) is already recorded for this subject",
                violation.decision_no.as_deref().unwrap_or_default(),
                violation.category.as_str()
            ),
            [("violation_id", json!(existing))],
        ));
    }
    store::insert_violation(conn, &violation, &evidence)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "violation.recorded",
            target_type: "violation",
            target_id: &violation.id,
            details: json!({
                "subject_id": violation.subject_id, "category": violation.category,
                "severity": violation.severity, "decided_on": violation.decided_on,
                "status": violation.status, "decision_no": violation.decision_no,
                "fine_cents": violation.fine_cents, "penalty_kinds": violation.penalty_kinds.0,
                "ban_until": violation.ban_until, "listing_ground": violation.listing_ground,
                "evidence_sha256": evidence.iter().map(|e| e.sha256.as_str()).collect::<Vec<_>>(),
                "related_subject_ids": violation.related_subject_ids.0,
            }),
        },
    )?;
    if violation.status == ViolationStatus::Effective {
        took_effect(conn, &violation, today)?;
    } else {
        listings::propose_after_violation(conn, &violation, today)?;
    }
    view(conn, &violation.id)
}

/// A penalty that took effect (recorded decided, or its decision entered):
/// it is announced to watchers, counts in the score from now on, and may
/// lead to a system proposal or a review flag. Call with the subject locked.
pub fn took_effect(
    conn: &mut DbConn,
    violation: &Violation,
    today: NaiveDate,
) -> ServiceResult<()> {
    events::emit_all(
        conn,
        vec![violation_event(events::VIOLATION_RECORDED, violation)],
    )?;
    scores::refresh(conn, &violation.subject_id, today)?;
    listings::propose_after_violation(conn, violation, today)?;
    Ok(())
}

/// The violation locked for a change by an official of its authority: only
/// the bureau that imposed the penalty records its decision or annulment.
fn lock_for_authority(
    conn: &mut DbConn,
    official: &super::Staff,
    id: &str,
) -> ServiceResult<Violation> {
    let v = find(conn, id)?;
    score_store::lock_subject(conn, &v.subject_id)?;
    let v = find(conn, id)?;
    if v.authority_id != official.organization_id {
        return Err(ServiceError::forbidden(
            "only officials of the bureau that imposed the penalty act on it (Order 44 art. 13)",
        ));
    }
    Ok(v)
}

/// Enters the decision of a pending penalty: it becomes effective and counts
/// from now on.
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: DecidePenalty,
) -> ServiceResult<ViolationView> {
    let official = actor.staff(roles::REGULATORS)?;
    let decision_no =
        clean_text(&input.decision_no, 100).map_err(|m| ServiceError::invalid("decision_no", m))?;
    let now = Utc::now();
    let today = super::today();
    let mut v = lock_for_authority(conn, official, id)?;
    if v.status != ViolationStatus::Pending {
        return Err(ServiceError::conflict_with(
            format!("the penalty is {}, not pending", v.status),
            [("current_status", v.status.as_str().into())],
        ));
    }
    let decided_on = input.decided_on.unwrap_or(today);
    let recorded_on = today_cst(v.recorded_at.and_utc());
    check_effective_date(decided_on, today, Some(recorded_on))
        .map_err(|m| ServiceError::invalid("decided_on", m))?;
    penalties::check_penalty(&v.penalty_kinds.0, v.ban_until, Some(decided_on))
        .map_err(|e| ServiceError::invalid("decided_on", e.to_string()))?;
    v.decide(&decision_no, decided_on, now.naive_utc(), &official.id);
    decide_pending(conn, actor, &v, "violation.decided")?;
    took_effect(conn, &v, today)?;
    view(conn, &v.id)
}

/// Stores a pending penalty's decision (made with [`Violation::decide`]) with
/// its audit entry. The caller announces it ([`took_effect`]).
pub fn decide_pending(
    conn: &mut DbConn,
    actor: &Actor,
    v: &Violation,
    audit_action: &str,
) -> ServiceResult<()> {
    if !store::save_decision(conn, v)? {
        return Err(ServiceError::conflict("the penalty is no longer pending"));
    }
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: audit_action,
            target_type: "violation",
            target_id: &v.id,
            details: json!({"subject_id": v.subject_id, "decision_no": v.decision_no,
                "decided_on": v.decided_on}),
        },
    )?;
    Ok(())
}

/// A subject's violations, revoked ones included, in recording order.
pub fn list_of_subject(
    conn: &mut DbConn,
    actor: &Actor,
    subject_id: &str,
    page: &PageRequest,
) -> ServiceResult<Page<ViolationView>> {
    actor.require_reader_of(subject_id)?;
    super::subjects::find(conn, subject_id)?;
    let rows = store::violations_of_subject(conn, subject_id, page.after.as_deref(), page.fetch())?;
    let page = page.page(rows, |v| v.id.clone());
    Ok(Page {
        items: views(conn, page.items)?,
        next_cursor: page.next_cursor,
    })
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<ViolationView> {
    let violation = find(conn, id)?;
    actor.require_reader_of(&violation.subject_id)?;
    view(conn, id)
}

/// Revokes a violation (its decision annulled on reconsideration or in
/// court): the score follows, and listings resting on it may fall.
pub fn revoke(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: RevokeViolation,
) -> ServiceResult<ViolationView> {
    let official = actor.staff(roles::REGULATORS)?;
    let reason = clean_text(&input.reason, 2000).map_err(|m| ServiceError::invalid("reason", m))?;
    let now = Utc::now();
    let today = super::today();
    let revoked_on = input.revoked_on.unwrap_or(today);
    let mut v = lock_for_authority(conn, official, id)?;
    if v.status == ViolationStatus::Revoked {
        return Err(ServiceError::conflict("the violation is already revoked"));
    }
    let earliest = v
        .decided_on
        .unwrap_or_else(|| today_cst(v.recorded_at.and_utc()));
    check_effective_date(revoked_on, today, Some(earliest))
        .map_err(|m| ServiceError::invalid("revoked_on", m))?;
    let was_pending = v.status == ViolationStatus::Pending;
    v.revoke(revoked_on, now.naive_utc(), &official.id, &reason);
    store::save_revocation(conn, &v)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "violation.revoked",
            target_type: "violation",
            target_id: &v.id,
            details: json!({"subject_id": v.subject_id, "revoked_on": revoked_on, "reason": reason}),
        },
    )?;
    if !was_pending {
        // A pending penalty was never announced nor counted.
        events::emit_all(conn, vec![violation_event(events::VIOLATION_REVOKED, &v)])?;
        scores::refresh(conn, &v.subject_id, today)?;
    }
    listings::revoke_after_violation(conn, &v, today)?;
    view(conn, &v.id)
}
