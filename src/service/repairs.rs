//! Credit repair as SAMR Order 107 has it (CONTRACT §6.4): an application
//! made online by the listed party in the portal or recorded in person by a
//! regulator of the authority; accepted within 2 working days or answered
//! once with everything missing; decided within 7 working days of acceptance
//! (once extendable by 10) by the head of the bureau or the official they
//! empower; approval removes the listing and marks its basis penalties
//! repaired, so that they stop being published and shared.
//!
//! Whether an application may be made at all is the listing's question
//! (`procedure::apply_repair`, the named refusals); the application's own
//! steps are `domain::repairs`.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::listings::{self, transition};
use super::page::{Page, PageRequest};
use super::violations::{clean_evidence, EvidenceItem};
use super::{new_id, roles, scores, Actor, Problems, ServiceError, ServiceResult, Staff};
use crate::db::audit::{self, Event};
use crate::db::listings::{self as listing_store, Listing};
use crate::db::repairs::{self as store, Repair, RepairSearch};
use crate::db::typed::Json;
use crate::db::{accounts, registry, scores as score_store, DbConn};
use crate::domain::calendar::Calendar;
use crate::domain::procedure::{self, Official, RepairOutcome};
use crate::domain::registry::{clean_text, MAX_TEXT_CHARS};
use crate::domain::repairs::{
    self as rules, AcceptanceOutcome, Approver, Channel, RepairDecisionOutcome, RepairFacts,
    RepairStatus, ACCEPTANCE_WORKING_DAYS, DECISION_WORKING_DAYS, EXTENSION_WORKING_DAYS,
};

/// Longest item named in a supplement request, and how many may be named.
pub const MAX_MISSING_CHARS: usize = 500;
const MAX_MISSING_ITEMS: usize = 50;

// ---- inputs ----

/// The signed credit commitment (信用承诺书, Order 107 art. 14 ¶2 (3)).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// The commitment as signed.
    #[schema(min_length = 1, max_length = 5000)]
    pub text: String,
    pub signed_on: NaiveDate,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyForRepair {
    /// How the penalty was carried out, the wrong corrected and the harm remedied.
    #[schema(min_length = 1, max_length = 5000)]
    pub statement: String,
    pub commitment: Commitment,
    /// The party carried out the penalty's obligations (Order 107 art. 13 ¶1): must be true.
    pub penalty_fulfilled: bool,
    /// The party corrected the violation and removed its harm (art. 13 ¶1): must be true.
    pub harm_removed: bool,
    /// Files uploaded with `POST /v1/evidence`, or kept elsewhere.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub evidence: Vec<EvidenceItem>,
    /// `online` (the subject, in the portal) or `in_person` (recorded by a regulator); defaults
    /// to the actor's.
    pub channel: Option<Channel>,
    /// Default today; a subject applies today. After the first anniversary of publication.
    pub applied_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRepair {
    pub outcome: AcceptanceOutcome,
    /// Everything missing, at once (`supplement` only).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub missing: Vec<String>,
    /// Required to refuse (the written reasons); kept for the others.
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: Option<String>,
    /// Default today; not before the application was received.
    pub accepted_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementRepair {
    /// The answer to what was asked for.
    #[schema(min_length = 1, max_length = 5000)]
    pub statement: String,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub evidence: Vec<EvidenceItem>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRepair {
    pub outcome: RepairDecisionOutcome,
    /// The reasons: served to the party as the decision document.
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    /// Default today; not before acceptance.
    pub decided_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRepair {
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

// ---- the view ----

/// A credit repair application and where it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepairView {
    pub id: String,
    pub listing_id: String,
    pub subject_id: String,
    /// The bureau that decides (the listing's authority).
    pub authority_id: Option<String>,
    pub status: RepairStatus,
    pub channel: Channel,
    pub statement: String,
    pub commitment_text: String,
    pub commitment_signed_on: NaiveDate,
    pub penalty_fulfilled: bool,
    pub harm_removed: bool,
    pub evidence: Vec<serde_json::Value>,
    /// The day the application, or its supplement, was received.
    pub applied_on: NaiveDate,
    /// Received + 2 working days (Order 107 art. 14 ¶4).
    pub acceptance_due_by: Option<NaiveDate>,
    /// Still to be answered after `acceptance_due_by`.
    pub acceptance_overdue: bool,
    /// The official who recorded an in-person application.
    pub recorded_by: Option<String>,
    /// What the supplement request asked for.
    pub missing: Vec<String>,
    pub supplement_requested_on: Option<NaiveDate>,
    pub supplemented_on: Option<NaiveDate>,
    pub supplement_statement: Option<String>,
    pub accepted_on: Option<NaiveDate>,
    pub accepted_by: Option<String>,
    pub acceptance_reason: Option<String>,
    /// Accepted + 7 working days, + 10 more when extended (Order 107 art. 16).
    pub decision_due_by: Option<NaiveDate>,
    /// Still undecided after `decision_due_by`.
    pub decision_overdue: bool,
    pub extended_on: Option<NaiveDate>,
    pub extension_reason: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
}

/// The view of a stored application as of `today`.
pub fn view(r: Repair, today: NaiveDate) -> RepairView {
    let acceptance_overdue =
        r.status == RepairStatus::Submitted && r.acceptance_due_by.is_some_and(|due| today > due);
    let decision_overdue =
        r.status == RepairStatus::Accepted && r.decision_due_by.is_some_and(|due| today > due);
    RepairView {
        id: r.id,
        listing_id: r.listing_id,
        subject_id: r.subject_id,
        authority_id: r.authority_id,
        status: r.status,
        channel: r.channel,
        statement: r.statement,
        commitment_text: r.commitment_text,
        commitment_signed_on: r.commitment_signed_on,
        penalty_fulfilled: r.penalty_fulfilled,
        harm_removed: r.harm_removed,
        evidence: r.evidence.0,
        applied_on: r.applied_on,
        acceptance_due_by: r.acceptance_due_by,
        acceptance_overdue,
        recorded_by: r.recorded_by,
        missing: r.missing.0,
        supplement_requested_on: r.supplement_requested_on,
        supplemented_on: r.supplemented_on,
        supplement_statement: r.supplement_statement,
        accepted_on: r.accepted_on,
        accepted_by: r.accepted_by,
        acceptance_reason: r.acceptance_reason,
        decision_due_by: r.decision_due_by,
        decision_overdue,
        extended_on: r.extended_on,
        extension_reason: r.extension_reason,
        decided_on: r.decided_on,
        decided_by: r.decided_by,
        decision_reason: r.decision_reason,
    }
}

fn facts(r: &Repair) -> RepairFacts {
    RepairFacts {
        status: r.status,
        supplement_requested: r.supplement_requested_on.is_some(),
        extended: r.extended_on.is_some(),
        applied_on: r.applied_on,
        accepted_on: r.accepted_on,
    }
}

fn text(field: &str, raw: &str) -> ServiceResult<String> {
    clean_text(raw, MAX_TEXT_CHARS).map_err(|m| ServiceError::invalid(field, m))
}

fn evidence_json(items: Vec<EvidenceItem>) -> Vec<serde_json::Value> {
    items
        .into_iter()
        .map(|item| serde_json::to_value(item).unwrap_or_default())
        .collect()
}

// ---- the steps ----

/// The application, or 404 (to a subject, another subject's too).
fn find_for(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<Repair> {
    let repair = super::canonical_id(id)
        .map(|id| store::find(conn, &id))
        .transpose()?
        .flatten()
        .ok_or_else(|| ServiceError::not_found("no such repair application"))?;
    actor.require_reader_of(&repair.subject_id)?;
    Ok(repair)
}

/// The application locked for a step, or 404.
fn lock(conn: &mut DbConn, id: &str) -> ServiceResult<Repair> {
    let id = super::canonical_id(id)
        .ok_or_else(|| ServiceError::not_found("no such repair application"))?;
    if !store::lock(conn, &id)? {
        return Err(ServiceError::not_found("no such repair application"));
    }
    store::find(conn, &id)?.ok_or_else(|| ServiceError::not_found("no such repair application"))
}

/// The official acting on an application: a regulator of its authority, and
/// whether they may approve (the head of the bureau or the official they empower).
fn official_of(
    conn: &mut DbConn,
    actor: &Actor,
    repair: &Repair,
) -> ServiceResult<(Staff, Approver)> {
    let staff = actor.staff(roles::REGULATORS)?.clone();
    if repair.authority_id.as_deref() != Some(staff.organization_id.as_str()) {
        return Err(ServiceError::forbidden(
            "only officials of the listing's authority act on its repair (Order 107 art. 12)",
        ));
    }
    let can_approve = accounts::find_user(conn, &staff.id)?.is_some_and(|u| u.can_approve);
    Ok((staff, Approver { can_approve }))
}

fn record(conn: &mut DbConn, actor: &Actor, action: &str, r: &Repair) -> ServiceResult<()> {
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action,
            target_type: "repair",
            target_id: &r.id,
            details: json!({"listing_id": r.listing_id, "subject_id": r.subject_id,
                "status": r.status.as_str(), "channel": r.channel.as_str()}),
        },
    )?;
    Ok(())
}

/// An application for credit repair: online by the subject in the portal
/// (today), or in person, recorded by a regulator of the listing's authority.
pub fn apply(
    conn: &mut DbConn,
    actor: &Actor,
    calendar: &Calendar,
    listing_id: &str,
    input: ApplyForRepair,
) -> ServiceResult<RepairView> {
    let today = super::today();
    let (channel, staff) = match actor {
        Actor::Subject(party) => {
            listings::own_listing(conn, party, listing_id)?;
            (Channel::Online, None)
        }
        _ => (
            Channel::InPerson,
            Some(actor.staff(roles::REGULATORS)?.clone()),
        ),
    };
    let mut problems = Problems::new();
    if input.channel.is_some_and(|c| c != channel) {
        problems.add(
            "channel",
            match channel {
                Channel::Online => "a subject applies online, in the portal",
                Channel::InPerson => "an official records an application made in person",
            },
        );
    }
    if channel == Channel::Online && input.applied_on.is_some_and(|d| d != today) {
        problems.add(
            "applied_on",
            "an application made in the portal is received today",
        );
    }
    let statement = problems.check("statement", clean_text(&input.statement, MAX_TEXT_CHARS));
    let commitment = problems.check(
        "commitment.text",
        clean_text(&input.commitment.text, MAX_TEXT_CHARS),
    );
    if input.commitment.signed_on > today {
        problems.add("commitment.signed_on", "must not be after today");
    }
    for (field, given) in [
        ("penalty_fulfilled", input.penalty_fulfilled),
        ("harm_removed", input.harm_removed),
    ] {
        if !given {
            problems.add(
                field,
                "must be true: repair needs the penalty carried out and the harm removed (Order 107 art. 13)",
            );
        }
    }
    let evidence = clean_evidence(input.evidence, &mut problems);
    let (statement, commitment) = problems.finish((statement, commitment))?;
    let (statement, commitment) = (
        statement.unwrap_or_default(),
        commitment.unwrap_or_default(),
    );
    let applied_on = input.applied_on.unwrap_or(today);

    let official = staff.as_ref().map(|s| Official {
        id: &s.id,
        organization_id: &s.organization_id,
    });
    let listing = transition(
        conn,
        listing_id,
        actor,
        Some("credit repair application"),
        today,
        Box::new(|facts| procedure::apply_repair(facts, applied_on, official.as_ref(), today)),
        None,
    )?;
    let now = Utc::now().naive_utc();
    let repair = Repair {
        id: new_id(),
        listing_id: listing.id.clone(),
        subject_id: listing.subject_id.clone(),
        authority_id: listing.authority_id.clone(),
        status: RepairStatus::Submitted,
        channel,
        statement,
        commitment_text: commitment,
        commitment_signed_on: input.commitment.signed_on,
        penalty_fulfilled: true,
        harm_removed: true,
        evidence: Json(evidence_json(evidence)),
        applied_on,
        acceptance_due_by: Some(calendar.add_working_days(applied_on, ACCEPTANCE_WORKING_DAYS)),
        recorded_by: staff.map(|s| s.id),
        recorded_at: now,
        missing: Json(Vec::new()),
        supplement_requested_on: None,
        supplemented_on: None,
        supplement_statement: None,
        accepted_on: None,
        accepted_by: None,
        acceptance_reason: None,
        decision_due_by: None,
        extended_on: None,
        extended_by: None,
        extension_reason: None,
        decided_on: None,
        decided_by: None,
        decision_reason: None,
        updated_at: now,
    };
    store::insert(conn, &repair)?;
    record(conn, actor, "repair.apply", &repair)?;
    Ok(view(repair, today))
}

/// The answer to a received application: accept (the decision is due in 7
/// working days), ask once for everything missing, or refuse to accept (by
/// the head, with written reasons; the listing's repair is closed).
pub fn answer(
    conn: &mut DbConn,
    actor: &Actor,
    calendar: &Calendar,
    id: &str,
    input: AnswerRepair,
) -> ServiceResult<RepairView> {
    let today = super::today();
    let mut problems = Problems::new();
    let reason = match input.reason.as_deref() {
        Some(r) => problems.check("reason", clean_text(r, MAX_TEXT_CHARS)),
        None if input.outcome == AcceptanceOutcome::Refuse => {
            problems.add(
                "reason",
                "a refusal states its reasons in writing (Order 107 art. 14 ¶4)",
            );
            None
        }
        None => None,
    };
    if input.outcome != AcceptanceOutcome::Supplement && !input.missing.is_empty() {
        problems.add("missing", "only a supplement request lists what is missing");
    }
    if input.missing.len() > MAX_MISSING_ITEMS {
        problems.add("missing", format!("at most {MAX_MISSING_ITEMS} items"));
    }
    let missing: Vec<String> = input
        .missing
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            problems.check(format!("missing[{i}]"), clean_text(m, MAX_MISSING_CHARS))
        })
        .collect();
    problems.finish(())?;

    let mut repair = lock(conn, id)?;
    let (staff, approver) = official_of(conn, actor, &repair)?;
    let on = input.accepted_on.unwrap_or(today);
    let status = rules::answer(
        &facts(&repair),
        input.outcome,
        &missing,
        approver,
        on,
        today,
    )?;
    repair.status = status;
    repair.accepted_by = Some(staff.id.clone());
    repair.acceptance_reason = reason.clone();
    match status {
        RepairStatus::Accepted => {
            repair.accepted_on = Some(on);
            repair.decision_due_by = Some(calendar.add_working_days(on, DECISION_WORKING_DAYS));
        }
        RepairStatus::SupplementRequested => {
            repair.supplement_requested_on = Some(on);
            repair.missing = Json(missing);
        }
        _ => {
            // Refused: the listing's repair closes, the listing stays listed.
            repair.decided_on = Some(on);
            repair.decided_by = Some(staff.id.clone());
            repair.decision_reason = reason.clone();
            close_on_listing(
                conn,
                actor,
                &staff,
                &repair,
                RepairOutcome::Reject,
                on,
                reason.as_deref(),
            )?;
        }
    }
    repair.updated_at = Utc::now().naive_utc();
    store::save(conn, &repair)?;
    let action = match status {
        RepairStatus::Accepted => "repair.accept",
        RepairStatus::SupplementRequested => "repair.request_supplement",
        _ => "repair.refuse",
    };
    record(conn, actor, action, &repair)?;
    Ok(view(repair, today))
}

/// The applicant's answer to a supplement request: the application is
/// received again today, to be accepted within 2 working days.
pub fn supplement(
    conn: &mut DbConn,
    actor: &Actor,
    calendar: &Calendar,
    id: &str,
    input: SupplementRepair,
) -> ServiceResult<RepairView> {
    let today = super::today();
    let mut problems = Problems::new();
    let statement = problems.check("statement", clean_text(&input.statement, MAX_TEXT_CHARS));
    let evidence = clean_evidence(input.evidence, &mut problems);
    let statement = problems.finish(statement)?.unwrap_or_default();
    let mut repair = lock(conn, id)?;
    match actor {
        Actor::Subject(party) if party.subject_id == repair.subject_id => {}
        Actor::Subject(_) => return Err(ServiceError::not_found("no such repair application")),
        _ => {
            official_of(conn, actor, &repair)?;
        }
    }
    repair.status = rules::supplement(&facts(&repair))?;
    repair.supplemented_on = Some(today);
    repair.supplement_statement = Some(statement);
    repair.evidence.0.extend(evidence_json(evidence));
    repair.applied_on = today;
    repair.acceptance_due_by = Some(calendar.add_working_days(today, ACCEPTANCE_WORKING_DAYS));
    repair.updated_at = Utc::now().naive_utc();
    store::save(conn, &repair)?;
    record(conn, actor, "repair.supplement", &repair)?;
    Ok(view(repair, today))
}

/// The decision on an accepted application, by the head of the bureau:
/// approval removes the listing and marks its basis penalties repaired (they
/// stop counting in what platforms and the public see); rejection keeps the
/// listing and is served as a written decision.
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: DecideRepair,
) -> ServiceResult<RepairView> {
    let today = super::today();
    let reason = text("reason", &input.reason)?;
    // Lock order: the subject (its score), the application, the listing.
    let subject_id = find_for(conn, actor, id)?.subject_id;
    score_store::lock_subject(conn, &subject_id)?;
    let mut repair = lock(conn, id)?;
    let (staff, approver) = official_of(conn, actor, &repair)?;
    let on = input.decided_on.unwrap_or(today);
    repair.status = rules::decide(&facts(&repair), input.outcome, approver, on, today)?;
    let outcome = match input.outcome {
        RepairDecisionOutcome::Approve => RepairOutcome::Approve,
        RepairDecisionOutcome::Reject => RepairOutcome::Reject,
    };
    let listing = close_on_listing(conn, actor, &staff, &repair, outcome, on, Some(&reason))?;
    if outcome == RepairOutcome::Approve {
        let basis = listing_store::basis_violation_ids(conn, &listing.id)?;
        registry::mark_repaired(conn, &basis, on)?;
        scores::refresh(conn, &listing.subject_id, today)?;
    }
    repair.decided_on = Some(on);
    repair.decided_by = Some(staff.id);
    repair.decision_reason = Some(reason);
    repair.updated_at = Utc::now().naive_utc();
    store::save(conn, &repair)?;
    let action = match outcome {
        RepairOutcome::Approve => "repair.approve",
        RepairOutcome::Reject => "repair.reject",
    };
    record(conn, actor, action, &repair)?;
    Ok(view(repair, today))
}

/// Closes the listing's open repair (approved: removed; otherwise listed still).
fn close_on_listing(
    conn: &mut DbConn,
    actor: &Actor,
    staff: &Staff,
    repair: &Repair,
    outcome: RepairOutcome,
    on: NaiveDate,
    reason: Option<&str>,
) -> ServiceResult<Listing> {
    let today = super::today();
    let official = Official {
        id: &staff.id,
        organization_id: &staff.organization_id,
    };
    transition(
        conn,
        &repair.listing_id,
        actor,
        reason,
        today,
        Box::new(|facts| procedure::decide_repair(facts, outcome, on, &official, today)),
        None,
    )
}

/// One extension of the decision deadline by 10 working days, by the head.
pub fn extend(
    conn: &mut DbConn,
    actor: &Actor,
    calendar: &Calendar,
    id: &str,
    input: ExtendRepair,
) -> ServiceResult<RepairView> {
    let today = super::today();
    let reason = text("reason", &input.reason)?;
    let mut repair = lock(conn, id)?;
    let (staff, approver) = official_of(conn, actor, &repair)?;
    rules::extend(&facts(&repair), approver)?;
    let due = repair.decision_due_by.ok_or_else(|| {
        ServiceError::internal("an accepted application has no decision deadline")
    })?;
    repair.decision_due_by = Some(calendar.add_working_days(due, EXTENSION_WORKING_DAYS));
    repair.extended_on = Some(today);
    repair.extended_by = Some(staff.id);
    repair.extension_reason = Some(reason);
    repair.updated_at = Utc::now().naive_utc();
    store::save(conn, &repair)?;
    record(conn, actor, "repair.extend", &repair)?;
    Ok(view(repair, today))
}

/// When a repair is found false, the listing is reinstated (`listings::reinstate`) and
/// its basis penalties count again.
pub fn undo_repaired(conn: &mut DbConn, listing: &Listing, today: NaiveDate) -> ServiceResult<()> {
    let basis = listing_store::basis_violation_ids(conn, &listing.id)?;
    registry::unmark_repaired(conn, &basis)?;
    scores::refresh(conn, &listing.subject_id, today)?;
    Ok(())
}

/// The filters of the repairs queue.
#[derive(Debug, Clone, Default)]
pub struct RepairFilter {
    pub status: Option<RepairStatus>,
    /// The deciding authority (default for a regulator: their own bureau).
    pub organization_id: Option<String>,
}

/// The queue, oldest first: staff who read the registry see every
/// authority's (or the one named); a subject sees their own applications.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: RepairFilter,
    page: &PageRequest,
) -> ServiceResult<Page<RepairView>> {
    let mut search = RepairSearch {
        status: filter.status,
        ..RepairSearch::default()
    };
    match actor {
        Actor::Subject(party) => search.subject_id = Some(party.subject_id.clone()),
        _ => {
            actor.require(roles::READERS)?;
            if let Some(org) = filter.organization_id.filter(|o| !o.is_empty()) {
                search.authority_id = Some(super::canonical_id(&org).ok_or_else(|| {
                    ServiceError::invalid("organization_id", "is not an organization id")
                })?);
            }
        }
    }
    let today = super::today();
    let rows = store::search(conn, &search, page.after.as_deref(), page.fetch())?;
    Ok(page.page(rows, |r| r.id.clone()).map(|r| view(r, today)))
}

/// One application: for staff who read the registry, and for its applicant.
pub fn get(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<RepairView> {
    Ok(view(find_for(conn, actor, id)?, super::today()))
}

/// What the decision document on an application states (Order 107 art. 17:
/// a decision not to repair, or not to accept, gives its reasons in writing).
#[derive(Debug, Clone, Serialize)]
pub struct RepairDecisionDocument {
    pub repair_id: String,
    pub listing_id: String,
    pub authority: String,
    pub party_name: String,
    pub status: RepairStatus,
    pub applied_on: NaiveDate,
    pub decided_on: NaiveDate,
    pub reason: String,
    /// Where the listing's decision stands: its number.
    pub decision_no: Option<String>,
    pub reconsideration_days: u32,
    pub lawsuit_months: u32,
}

/// The written decision on a decided or refused application. Serving it is
/// logged in the audit chain.
pub fn decision_document(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
) -> ServiceResult<RepairDecisionDocument> {
    let repair = find_for(conn, actor, id)?;
    let (Some(decided_on), Some(reason)) = (repair.decided_on, repair.decision_reason.clone())
    else {
        return Err(ServiceError::not_found(
            "no decision has been taken on this application yet",
        ));
    };
    let listing = listings::find(conn, &repair.listing_id)?;
    let authority = match &repair.authority_id {
        Some(id) => accounts::find_organization(conn, id)?.map(|o| o.name),
        None => None,
    }
    .unwrap_or_default();
    let party_name = registry::find_subject(conn, &repair.subject_id)?
        .map(|s| s.name)
        .unwrap_or_default();
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "document.serve",
            target_type: "repair",
            target_id: &repair.id,
            details: json!({"document": "repair_decision", "listing_id": repair.listing_id}),
        },
    )?;
    Ok(RepairDecisionDocument {
        repair_id: repair.id,
        listing_id: repair.listing_id,
        authority,
        party_name,
        status: repair.status,
        applied_on: repair.applied_on,
        decided_on,
        reason,
        decision_no: listing.decision_no,
        reconsideration_days: procedure::RECONSIDERATION_DAYS,
        lawsuit_months: procedure::LAWSUIT_MONTHS,
    })
}
