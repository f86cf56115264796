//! The blacklist procedure: propose, notice, objections, decision, credit
//! repair, reinstatement, revocation and expiry — each step a rule of
//! `domain::procedure`, stored here with its history, audit entry, outbox
//! event and list version.
//!
//! [`materialize`] is the one place a step becomes rows: the use cases below
//! and demo-data's bulk loader both build their rows with it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::page::{Page, PageRequest};
use super::violations::{clean_evidence, EvidenceItem};
use super::{new_id, roles, Actor, Problems, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::events::{self, NewEvent};
use crate::db::listings::{
    self as store, HistoryEntry, Listing, ListingSearch, Objection, RepairApplication,
};
use crate::db::registry::{self, Violation};
use crate::db::scores::BandChange;
use crate::db::typed::Maybe;
use crate::db::{publication, DbConn};
use crate::domain::calendar::Calendar;
use crate::domain::procedure::{
    self, Action, DecisionOutcome, ListingFacts, ProcedureError, RepairOutcome, Status, Transition,
    OBJECTION_WORKING_DAYS,
};
use crate::domain::registry::{clean_text, ViolationStatus, MAX_TEXT_CHARS};
use crate::domain::scoring::{Band, ScoreReport, Severity};

/// The legal basis named on listings the system proposes.
pub const LISTING_REGULATION: &str =
    "《市场监督管理严重违法失信名单管理办法》(SAMR Order No. 44, 2021)";

// ---- inputs ----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeListing {
    #[schema(format = Uuid)]
    pub subject_id: String,
    /// Effective violations of this subject the listing rests on.
    #[schema(min_items = 1, max_items = 100, value_type = Vec<uuid::Uuid>)]
    pub violation_ids: Vec<String>,
    /// The facts and reasons, as the notice will state them.
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub legal_basis: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServeNotice {
    /// Default today; not before the basis decisions, never in the future.
    pub served_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LodgeObjection {
    /// The party's statement of its case.
    #[schema(min_length = 1, max_length = 5000)]
    pub statement: String,
    /// Default today; the deadline day itself is still inside the window.
    pub received_on: Option<NaiveDate>,
    #[serde(default)]
    pub hearing_requested: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideListing {
    pub outcome: DecisionOutcomeInput,
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    /// Default today; must be after the objection deadline.
    pub decided_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcomeInput {
    List,
    NotList,
}

impl From<DecisionOutcomeInput> for DecisionOutcome {
    fn from(o: DecisionOutcomeInput) -> Self {
        match o {
            DecisionOutcomeInput::List => DecisionOutcome::List,
            DecisionOutcomeInput::NotList => DecisionOutcome::NotList,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRepair {
    /// How the penalty was carried out and the harm remedied.
    #[schema(min_length = 1, max_length = 5000)]
    pub statement: String,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub evidence: Vec<EvidenceItem>,
    /// Default today; not before `listed_on` + 1 year.
    pub applied_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRepair {
    pub outcome: RepairOutcomeInput,
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    pub decided_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RepairOutcomeInput {
    Approve,
    Reject,
}

impl From<RepairOutcomeInput> for RepairOutcome {
    fn from(o: RepairOutcomeInput) -> Self {
        match o {
            RepairOutcomeInput::Approve => RepairOutcome::Approve,
            RepairOutcomeInput::Reject => RepairOutcome::Reject,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reinstate {
    /// Why the repair is found false.
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    /// Default today; the three-year period restarts from this date.
    pub reinstated_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeListing {
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

// ---- views ----

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryView {
    /// `propose`, `notice`, `objection`, `decision`, `repair`, `repair_decision`, `reinstate`, `revoke`, `expire`.
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Status,
    /// Null for the system.
    pub actor_user_id: Option<String>,
    pub effective_on: NaiveDate,
    /// When it was entered.
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: String,
    pub listing_id: String,
    pub statement: String,
    pub received_on: NaiveDate,
    pub hearing_requested: bool,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepairApplicationView {
    pub id: String,
    pub listing_id: String,
    pub statement: String,
    pub evidence: Vec<EvidenceItem>,
    pub applied_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// Null while pending; `approve` or `reject`.
    pub outcome: Option<String>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingView {
    pub id: String,
    pub subject_id: String,
    /// As of now: a listing past `expires_on` is `expired`.
    pub status: Status,
    pub reason: String,
    pub legal_basis: String,
    pub violation_ids: Vec<String>,
    /// Null when the system proposed it.
    pub proposed_by: Option<String>,
    pub noticed_by: Option<String>,
    pub served_on: Option<NaiveDate>,
    /// Last day for objections: served_on + 5 working days.
    pub objection_deadline: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub removed_on: Option<NaiveDate>,
    /// `credit_repair` when removed.
    pub removal_reason: Option<String>,
    pub revoked_on: Option<NaiveDate>,
    pub revocation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<HistoryView>,
    pub objections: Vec<ObjectionView>,
    pub repair_applications: Vec<RepairApplicationView>,
}

fn objection_view(o: Objection) -> ObjectionView {
    ObjectionView {
        id: o.id,
        listing_id: o.listing_id,
        statement: o.statement,
        received_on: o.received_on,
        hearing_requested: o.hearing_requested,
        recorded_by: o.recorded_by,
        recorded_at: o.recorded_at.and_utc(),
    }
}

fn repair_view(r: RepairApplication) -> ServiceResult<RepairApplicationView> {
    let evidence = serde_json::from_str(&r.evidence).map_err(|e| {
        ServiceError::internal(format!(
            "repair application {}: stored evidence is not the JSON written: {e}",
            r.id
        ))
    })?;
    Ok(RepairApplicationView {
        evidence,
        id: r.id,
        listing_id: r.listing_id,
        statement: r.statement,
        applied_on: r.applied_on,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at.and_utc(),
        outcome: r.outcome.0.map(|o| o.as_str().to_owned()),
        decided_by: r.decided_by,
        decided_on: r.decided_on,
        decision_reason: r.decision_reason,
    })
}

fn history_view(h: HistoryEntry) -> HistoryView {
    HistoryView {
        action: h.action.as_str().to_owned(),
        from_status: h.from_status.0,
        to_status: h.to_status,
        actor_user_id: h.actor_user_id,
        effective_on: h.effective_on,
        at: h.at.and_utc(),
        reason: h.reason,
    }
}

/// The full views of listings as of `today`: a fixed number of queries
/// however many listings there are.
pub fn views(
    conn: &mut DbConn,
    listings: Vec<Listing>,
    today: NaiveDate,
) -> ServiceResult<Vec<ListingView>> {
    let ids: Vec<&str> = listings.iter().map(|l| l.id.as_str()).collect();
    let basis = store::basis_of(conn, &ids)?;
    let history = store::history_of(conn, &ids)?;
    let objections = store::objections_of(conn, &ids)?;
    let repairs = store::repairs_of(conn, &ids)?;
    listings
        .into_iter()
        .map(|l| {
            let of = |listing_id: &str| listing_id == l.id;
            Ok(ListingView {
                status: procedure::effective_status(l.status, l.expires_on, today),
                violation_ids: basis
                    .iter()
                    .filter(|b| of(&b.listing_id))
                    .map(|b| b.violation_id.clone())
                    .collect(),
                history: history
                    .iter()
                    .filter(|h| of(&h.listing_id))
                    .cloned()
                    .map(history_view)
                    .collect(),
                objections: objections
                    .iter()
                    .filter(|o| of(&o.listing_id))
                    .cloned()
                    .map(objection_view)
                    .collect(),
                repair_applications: repairs
                    .iter()
                    .filter(|r| of(&r.listing_id))
                    .cloned()
                    .map(repair_view)
                    .collect::<ServiceResult<_>>()?,
                id: l.id,
                subject_id: l.subject_id,
                reason: l.reason,
                legal_basis: l.legal_basis,
                proposed_by: l.proposed_by,
                noticed_by: l.noticed_by,
                served_on: l.served_on,
                objection_deadline: l.objection_deadline,
                decided_by: l.decided_by,
                decided_on: l.decided_on,
                decision_reason: l.decision_reason,
                listed_on: l.listed_on,
                expires_on: l.expires_on,
                removed_on: l.removed_on,
                removal_reason: l.removal_reason.0.map(|r| r.as_str().to_owned()),
                revoked_on: l.revoked_on,
                revocation_reason: l.revocation_reason,
                created_at: l.created_at.and_utc(),
                updated_at: l.updated_at.and_utc(),
            })
        })
        .collect()
}

fn view(conn: &mut DbConn, listing: Listing, today: NaiveDate) -> ServiceResult<ListingView> {
    views(conn, vec![listing], today)?
        .pop()
        .ok_or_else(|| ServiceError::internal("a listing's view went missing"))
}

// ---- a step as rows ----

/// Who takes a step, why and when (the moment it is entered).
#[derive(Debug, Clone, Copy)]
pub struct StepBy<'a> {
    /// `None` for the system.
    pub user_id: Option<&'a str>,
    pub organization_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub at: NaiveDateTime,
}

/// Every row one step of the procedure writes besides the listing itself.
#[derive(Debug, Clone)]
pub struct StepRows {
    pub history: HistoryEntry,
    /// The public change or watcher event, when the step makes one.
    pub event: Option<NewEvent>,
    /// How much the public list's version counter moves.
    pub version_delta: i64,
    /// The audit entry's action and details.
    pub audit_action: String,
    pub audit_details: Value,
}

/// Where a stored listing stands on the public list on `day`: (visible,
/// ended but its expiry not yet recorded).
fn public_state(listing: &Listing, day: NaiveDate) -> (bool, bool) {
    let visible = procedure::in_force(listing.status, listing.expires_on, day);
    (visible, listing.status == Status::Listed && !visible)
}

/// Applies an allowed transition to a listing and builds every row the step
/// writes: history, outbox event, list-version change and audit entry.
/// `today` is the day the step is judged on (for the public list's state).
pub fn materialize(
    listing: &mut Listing,
    t: &Transition,
    by: StepBy<'_>,
    history_id: String,
    today: NaiveDate,
) -> StepRows {
    let before = listing.clone();
    let set = &t.set;
    listing.status = t.to;
    set.noticed_by.apply_to(&mut listing.noticed_by);
    set.served_on.apply_to(&mut listing.served_on);
    set.objection_deadline
        .apply_to(&mut listing.objection_deadline);
    set.decided_by.apply_to(&mut listing.decided_by);
    set.decided_on.apply_to(&mut listing.decided_on);
    set.listed_on.apply_to(&mut listing.listed_on);
    set.expires_on.apply_to(&mut listing.expires_on);
    set.pending_repair_applied_on
        .apply_to(&mut listing.pending_repair_applied_on);
    set.removed_on.apply_to(&mut listing.removed_on);
    set.removal_reason.apply_to(&mut listing.removal_reason.0);
    set.revoked_on.apply_to(&mut listing.revoked_on);
    set.revocation_reason
        .apply_to(&mut listing.revocation_reason);
    if t.action == Action::Decide {
        listing.decision_reason = by.reason.map(str::to_owned);
        // The deciding official's organization is the authority the public list names.
        if let Some(org) = by.organization_id {
            listing.authority_id = Some(org.to_owned());
        }
    }
    listing.updated_at = by.at.max(before.updated_at);

    let (visible_before, pending_before) = public_state(&before, today);
    let (visible_after, pending_after) = public_state(listing, today);
    // version = counter + pending expiries: move the counter so that the
    // version grows by one exactly when the visible list changes.
    let version_delta = i64::from(visible_before != visible_after)
        - (i64::from(pending_after) - i64::from(pending_before));
    let event_type = match (t.action, t.to) {
        (_, Status::Listed) if t.from != Status::Listed => Some(events::LISTING_PUBLISHED),
        (Action::Expire, _) => Some(events::LISTING_EXPIRED),
        (_, Status::Removed) => Some(events::LISTING_REMOVED),
        (_, Status::Revoked) if matches!(t.from, Status::Listed | Status::Removed) => {
            Some(events::LISTING_REVOKED)
        }
        _ => None,
    };
    let event = event_type.map(|event_type| NewEvent {
        event_type,
        subject_id: listing.subject_id.clone(),
        listing_id: Some(listing.id.clone()),
        data: json!({"listing_id": listing.id, "status": listing.status, "listed_on": listing.listed_on,
            "expires_on": listing.expires_on, "effective_on": t.effective_on}),
    });
    StepRows {
        history: HistoryEntry {
            id: history_id,
            listing_id: listing.id.clone(),
            action: t.action,
            from_status: Maybe(Some(t.from)),
            to_status: t.to,
            actor_user_id: by.user_id.map(str::to_owned),
            effective_on: t.effective_on,
            at: by.at,
            reason: by.reason.map(str::to_owned),
        },
        event,
        version_delta,
        audit_action: format!("listing.{}", t.action.as_str()),
        audit_details: json!({
            "subject_id": listing.subject_id, "from": t.from.as_str(), "to": t.to.as_str(),
            "effective_on": t.effective_on, "reason": by.reason,
        }),
    }
}

/// A new proposal with its first history entry and audit details.
#[allow(clippy::too_many_arguments)]
pub fn materialize_proposal(
    listing_id: String,
    subject_id: &str,
    violation_ids: &[String],
    reason: &str,
    legal_basis: &str,
    by: StepBy<'_>,
    history_id: String,
    proposed_on: NaiveDate,
) -> (Listing, StepRows) {
    let listing = Listing::proposed(
        listing_id,
        subject_id,
        reason.to_owned(),
        legal_basis.to_owned(),
        by.user_id.map(str::to_owned),
        by.organization_id.map(str::to_owned),
        by.at,
    );
    let rows = StepRows {
        history: HistoryEntry {
            id: history_id,
            listing_id: listing.id.clone(),
            action: Action::Propose,
            from_status: Maybe(None),
            to_status: listing.status,
            actor_user_id: by.user_id.map(str::to_owned),
            effective_on: proposed_on,
            at: by.at,
            reason: Some(reason.to_owned()),
        },
        event: None,
        version_delta: 0,
        audit_action: "listing.propose".into(),
        audit_details: json!({"subject_id": subject_id, "violation_ids": violation_ids,
            "reason": reason, "legal_basis": legal_basis, "by_system": by.user_id.is_none()}),
    };
    (listing, rows)
}

/// An objection as recorded.
pub fn objection_row(
    listing_id: &str,
    statement: String,
    received_on: NaiveDate,
    hearing_requested: bool,
    recorded_by: &str,
    recorded_at: NaiveDateTime,
) -> Objection {
    Objection {
        id: new_id(),
        listing_id: listing_id.to_owned(),
        statement,
        received_on,
        hearing_requested,
        recorded_by: recorded_by.to_owned(),
        recorded_at,
    }
}

/// A credit repair application as recorded (pending until decided).
pub fn repair_row(
    listing_id: &str,
    statement: String,
    evidence: &[EvidenceItem],
    applied_on: NaiveDate,
    recorded_by: &str,
    recorded_at: NaiveDateTime,
) -> RepairApplication {
    RepairApplication {
        id: new_id(),
        listing_id: listing_id.to_owned(),
        statement,
        evidence: serde_json::Value::from(
            evidence
                .iter()
                .map(|e| {
                    json!({"sha256": e.sha256, "media_type": e.media_type,
                    "description": e.description, "uri": e.uri})
                })
                .collect::<Vec<_>>(),
        )
        .to_string(),
        applied_on,
        recorded_by: recorded_by.to_owned(),
        recorded_at,
        outcome: Maybe(None),
        decided_by: None,
        decided_on: None,
        decision_reason: None,
    }
}

/// Closes a repair application with the decision taken on it.
pub fn decide_repair_row(
    application: &mut RepairApplication,
    outcome: RepairOutcome,
    official: &str,
    decided_on: NaiveDate,
    reason: &str,
) {
    application.outcome = Maybe(Some(outcome));
    application.decided_by = Some(official.to_owned());
    application.decided_on = Some(decided_on);
    application.decision_reason = Some(reason.to_owned());
}

/// Writes a step's rows: history, audit entry, outbox event, list version.
fn store_step(
    conn: &mut DbConn,
    actor: &Actor,
    listing_id: &str,
    rows: StepRows,
) -> ServiceResult<()> {
    store::insert_history(conn, vec![rows.history])?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: &rows.audit_action,
            target_type: "listing",
            target_id: listing_id,
            details: rows.audit_details,
        },
    )?;
    if let Some(event) = rows.event {
        events::emit_all(conn, vec![event])?;
    }
    publication::bump(conn, rows.version_delta)?;
    Ok(())
}

// ---- the steps ----

/// The listing, or 404.
pub fn find(conn: &mut DbConn, id: &str) -> ServiceResult<Listing> {
    store::find(conn, id)?.ok_or_else(|| ServiceError::not_found("no such listing"))
}

/// What the procedure needs to know about a stored listing.
fn facts_of(conn: &mut DbConn, listing: &Listing) -> ServiceResult<ListingFacts> {
    Ok(ListingFacts {
        status: listing.status,
        proposed_by: listing.proposed_by.clone(),
        noticed_by: listing.noticed_by.clone(),
        served_on: listing.served_on,
        objection_deadline: listing.objection_deadline,
        listed_on: listing.listed_on,
        expires_on: listing.expires_on,
        pending_repair_applied_on: listing.pending_repair_applied_on,
        removed_on: listing.removed_on,
        basis_latest_decided_on: store::basis_latest_decided_on(conn, &listing.id)?
            .unwrap_or(NaiveDate::MIN),
    })
}

type Rule<'a> = Box<dyn FnOnce(&ListingFacts) -> Result<Transition, ProcedureError> + 'a>;

/// Performs one step on a listing: locks it, asks the rules, saves the new
/// state with its rows. A listing published already past its end (a
/// back-dated decision or reinstatement) has its expiry recorded at once.
fn transition(
    conn: &mut DbConn,
    listing_id: &str,
    actor: &Actor,
    reason: Option<&str>,
    today: NaiveDate,
    rule: Rule<'_>,
) -> ServiceResult<Listing> {
    if !store::lock(conn, listing_id)? {
        return Err(ServiceError::not_found("no such listing"));
    }
    let mut listing = find(conn, listing_id)?;
    let facts = facts_of(conn, &listing)?;
    let t = rule(&facts)?;
    let before = listing.status;
    let by = StepBy {
        user_id: actor.user_id(),
        organization_id: actor.organization_id(),
        reason,
        at: Utc::now().naive_utc(),
    };
    let rows = materialize(&mut listing, &t, by, new_id(), today);
    store::save(conn, &listing)?;
    if before != listing.status {
        registry::sync_listed_flag(conn, &listing.subject_id)?;
    }
    store_step(conn, actor, &listing.id, rows)?;
    if listing.status == Status::Listed
        && procedure::effective_status(listing.status, listing.expires_on, today) == Status::Expired
    {
        return transition(
            conn,
            listing_id,
            &Actor::System,
            None,
            today,
            Box::new(|facts| procedure::expire(facts, "system", today)),
        );
    }
    Ok(listing)
}

/// Runs one step as `actor` (a regulator) and answers with the listing's view.
fn step(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    reason: Option<&str>,
    rule: impl FnOnce(&ListingFacts, &str, NaiveDate) -> Result<Transition, ProcedureError>,
) -> ServiceResult<ListingView> {
    let official = actor.staff(roles::REGULATORS)?.id.clone();
    let today = super::today();
    let listing = transition(
        conn,
        id,
        actor,
        reason,
        today,
        Box::new(|facts| rule(facts, &official, today)),
    )?;
    view(conn, listing, today)
}

fn text(field: &str, raw: &str, max: usize) -> ServiceResult<String> {
    clean_text(raw, max).map_err(|m| ServiceError::invalid(field, m))
}

/// Creates a `proposed` listing resting on `violation_ids` (already checked).
fn propose_checked(
    conn: &mut DbConn,
    actor: &Actor,
    subject_id: &str,
    violation_ids: &[String],
    reason: &str,
    legal_basis: &str,
    today: NaiveDate,
) -> ServiceResult<Listing> {
    let by = StepBy {
        user_id: actor.user_id(),
        organization_id: actor.organization_id(),
        reason: Some(reason),
        at: Utc::now().naive_utc(),
    };
    let (listing, rows) = materialize_proposal(
        new_id(),
        subject_id,
        violation_ids,
        reason,
        legal_basis,
        by,
        new_id(),
        today,
    );
    store::insert(conn, &listing, violation_ids)?;
    store_step(conn, actor, &listing.id, rows)?;
    Ok(listing)
}

/// Proposes a listing on effective violations of the subject.
pub fn propose(
    conn: &mut DbConn,
    actor: &Actor,
    input: ProposeListing,
) -> ServiceResult<ListingView> {
    actor.require(roles::REGULATORS)?;
    let mut problems = Problems::new();
    let reason = problems
        .check("reason", clean_text(&input.reason, MAX_TEXT_CHARS))
        .unwrap_or_default();
    let legal_basis = problems
        .check("legal_basis", clean_text(&input.legal_basis, 2000))
        .unwrap_or_default();
    let mut violation_ids = input.violation_ids;
    violation_ids.sort();
    violation_ids.dedup();
    if violation_ids.is_empty() || violation_ids.len() > 100 {
        problems.add("violation_ids", "name 1 to 100 violations");
    }
    problems.finish(())?;
    let today = super::today();
    registry::find_subject(conn, &input.subject_id)?
        .ok_or_else(|| ServiceError::invalid("subject_id", "no such subject"))?;
    let basis = registry::violations_by_ids(conn, &violation_ids)?;
    for (i, id) in violation_ids.iter().enumerate() {
        let field = format!("violation_ids[{i}]");
        match basis.iter().find(|v| v.id == *id) {
            Some(v) if v.subject_id != input.subject_id => {
                return Err(ServiceError::invalid(field, "belongs to another subject"))
            }
            Some(v) if v.status != ViolationStatus::Effective => {
                return Err(ServiceError::invalid(field, "is revoked"))
            }
            Some(_) => {}
            None => return Err(ServiceError::invalid(field, "no such violation")),
        }
    }
    let listing = propose_checked(
        conn,
        actor,
        &input.subject_id,
        &violation_ids,
        &reason,
        &legal_basis,
        today,
    )?;
    view(conn, listing, today)
}

/// After a violation is recorded (subject locked, score refreshed): the
/// system proposes a listing when the violation is especially serious or
/// brought the subject to band D — unless the subject already has an open
/// proposal or a listing in force.
pub fn propose_after_violation(
    conn: &mut DbConn,
    violation: &Violation,
    report: &ScoreReport,
    change: Option<BandChange>,
    today: NaiveDate,
) -> ServiceResult<Option<Listing>> {
    let especially =
        violation.severity == Severity::EspeciallySerious && violation.decided_on <= today;
    let fell_to_d = change.is_some_and(|c| c.to == Band::D);
    if !especially && !fell_to_d {
        return Ok(None);
    }
    let busy = store::open_or_listed(conn, &violation.subject_id)?
        .iter()
        .any(|l| l.status != Status::Listed || procedure::in_force(l.status, l.expires_on, today));
    if busy {
        return Ok(None);
    }
    let mut basis: Vec<String> = Vec::new();
    let mut reasons = Vec::new();
    if especially {
        basis.push(violation.id.clone());
        reasons.push("情节特别严重的违法行为 (an especially serious violation)".to_owned());
    }
    if fell_to_d {
        basis.extend(
            report
                .contributions
                .iter()
                .filter(|c| c.points > 0.0)
                .map(|c| c.violation_id.clone()),
        );
        reasons.push(format!(
            "信用评分降至 D 级 (credit score fell to band D: {:.1})",
            report.score_rounded()
        ));
    }
    basis.sort();
    basis.dedup();
    let reason = format!(
        "系统自动提议 (proposed by the system): {}",
        reasons.join("; ")
    );
    propose_checked(
        conn,
        &Actor::System,
        &violation.subject_id,
        &basis,
        &reason,
        LISTING_REGULATION,
        today,
    )
    .map(Some)
}

/// After a violation is revoked (subject locked): every listing whose basis
/// violations are now all revoked is revoked too. Returns those listings.
pub fn revoke_after_violation(
    conn: &mut DbConn,
    violation: &Violation,
    today: NaiveDate,
) -> ServiceResult<Vec<Listing>> {
    let mut revoked = Vec::new();
    for listing_id in store::listings_of_violation(conn, &violation.id)? {
        if store::effective_basis_count(conn, &listing_id)? > 0 {
            continue;
        }
        let reason = "依据的违法行为均已撤销 (every violation the listing rests on was revoked)";
        let outcome = transition(
            conn,
            &listing_id,
            &Actor::System,
            Some(reason),
            today,
            Box::new(|facts| procedure::revoke(facts, reason, "system", today)),
        );
        match outcome {
            Ok(listing) => revoked.push(listing),
            // Already final (not listed, expired, revoked): nothing to undo.
            Err(ServiceError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(revoked)
}

/// Serves the notice: the party is told the facts, reasons and legal basis,
/// and may object for 5 working days.
pub fn serve_notice(
    conn: &mut DbConn,
    actor: &Actor,
    calendar: &Calendar,
    id: &str,
    input: ServeNotice,
) -> ServiceResult<ListingView> {
    step(conn, actor, id, None, |facts, server, today| {
        let served_on = input.served_on.unwrap_or(today);
        let deadline = calendar.add_working_days(served_on, OBJECTION_WORKING_DAYS);
        procedure::notice(facts, served_on, deadline, server, today)
    })
}

/// Records the party's objection (a statement of its case, or a hearing request).
pub fn lodge_objection(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: LodgeObjection,
) -> ServiceResult<ObjectionView> {
    let recorder = actor.staff(roles::REGULATORS)?.id.clone();
    let statement = text("statement", &input.statement, MAX_TEXT_CHARS)?;
    let today = super::today();
    let received_on = input.received_on.unwrap_or(today);
    let reason = if input.hearing_requested {
        "objection with a hearing request"
    } else {
        "objection"
    };
    let listing = transition(
        conn,
        id,
        actor,
        Some(reason),
        today,
        Box::new(|facts| procedure::object(facts, received_on, &recorder, today)),
    )?;
    let objection = objection_row(
        &listing.id,
        statement,
        received_on,
        input.hearing_requested,
        &recorder,
        Utc::now().naive_utc(),
    );
    store::insert_objection(conn, &objection)?;
    Ok(objection_view(objection))
}

/// Decides to list or not, after the objection window, by a second official.
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: DecideListing,
) -> ServiceResult<ListingView> {
    let reason = text("reason", &input.reason, MAX_TEXT_CHARS)?;
    let outcome = DecisionOutcome::from(input.outcome);
    step(conn, actor, id, Some(&reason), |facts, decider, today| {
        procedure::decide(
            facts,
            outcome,
            input.decided_on.unwrap_or(today),
            decider,
            today,
        )
    })
}

/// Applies for credit repair (early removal), from one year after listing.
pub fn apply_for_repair(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: ApplyRepair,
) -> ServiceResult<RepairApplicationView> {
    let applicant = actor.staff(roles::REGULATORS)?.id.clone();
    let mut problems = Problems::new();
    let statement = problems
        .check("statement", clean_text(&input.statement, MAX_TEXT_CHARS))
        .unwrap_or_default();
    let evidence = clean_evidence(input.evidence, &mut problems);
    problems.finish(())?;
    let today = super::today();
    let applied_on = input.applied_on.unwrap_or(today);
    let listing = transition(
        conn,
        id,
        actor,
        Some("credit repair application"),
        today,
        Box::new(|facts| procedure::apply_repair(facts, applied_on, &applicant, today)),
    )?;
    let application = repair_row(
        &listing.id,
        statement,
        &evidence,
        applied_on,
        &applicant,
        Utc::now().naive_utc(),
    );
    store::insert_repair(conn, &application)?;
    repair_view(application)
}

/// Approves (→ `removed`) or rejects the pending credit repair application.
pub fn decide_repair(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: DecideRepair,
) -> ServiceResult<ListingView> {
    let official = actor.staff(roles::REGULATORS)?.id.clone();
    let reason = text("reason", &input.reason, MAX_TEXT_CHARS)?;
    let outcome = RepairOutcome::from(input.outcome);
    let today = super::today();
    let decided_on = input.decided_on.unwrap_or(today);
    let listing = transition(
        conn,
        id,
        actor,
        Some(&reason),
        today,
        Box::new(|facts| procedure::decide_repair(facts, outcome, decided_on, &official, today)),
    )?;
    if let Some(mut pending) = store::repairs_of(conn, &[listing.id.as_str()])?
        .into_iter()
        .rev()
        .find(|r| r.outcome.is_none())
    {
        decide_repair_row(&mut pending, outcome, &official, decided_on, &reason);
        store::save_repair(conn, &pending)?;
    }
    view(conn, listing, today)
}

/// Reinstates a removed listing whose repair rested on false statements;
/// the period restarts.
pub fn reinstate(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: Reinstate,
) -> ServiceResult<ListingView> {
    let reason = text("reason", &input.reason, MAX_TEXT_CHARS)?;
    step(conn, actor, id, Some(&reason), |facts, official, today| {
        procedure::reinstate(facts, input.reinstated_on.unwrap_or(today), official, today)
    })
}

/// Revokes a listing (the penalty it rests on was annulled).
pub fn revoke(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: RevokeListing,
) -> ServiceResult<ListingView> {
    let reason = text("reason", &input.reason, MAX_TEXT_CHARS)?;
    step(conn, actor, id, Some(&reason), |facts, official, today| {
        procedure::revoke(facts, &reason, official, today)
    })
}

/// Records the expiry of a listing whose period has ended. Idempotent: the
/// row lock and the state check let only one instance record it.
pub fn expire_due(conn: &mut DbConn, id: &str, today: NaiveDate) -> ServiceResult<Option<Listing>> {
    match transition(
        conn,
        id,
        &Actor::System,
        None,
        today,
        Box::new(|facts| procedure::expire(facts, "system", today)),
    ) {
        Ok(listing) => Ok(Some(listing)),
        Err(ServiceError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The filters of a listing search.
#[derive(Debug, Clone, Default)]
pub struct ListingFilter {
    pub status: Option<Status>,
    pub subject_id: Option<String>,
}

/// Searches listings, oldest first; statuses as they stand today.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: ListingFilter,
    page: &PageRequest,
) -> ServiceResult<Page<ListingView>> {
    actor.require(roles::READERS)?;
    let today = super::today();
    let subject_id =
        match filter.subject_id {
            Some(id) => Some(super::canonical_id(&id).ok_or_else(|| {
                ServiceError::invalid("subject_id", "must be a subject id (a UUID)")
            })?),
            None => None,
        };
    let search = ListingSearch {
        subject_id,
        status: filter.status,
    };
    let rows = store::search(conn, &search, today, page.after.as_deref(), page.fetch())?;
    let page = page.page(rows, |l| l.id.clone());
    Ok(Page {
        items: views(conn, page.items, today)?,
        next_cursor: page.next_cursor,
    })
}

/// One listing with its history, objections and repair applications.
pub fn get(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<ListingView> {
    actor.require(roles::READERS)?;
    let listing = find(conn, id)?;
    view(conn, listing, super::today())
}
