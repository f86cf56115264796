//! The blacklist procedure: propose, notice, objections, decision, credit
//! repair, reinstatement, revocation and expiry — each step a rule of
//! `domain::procedure`, stored here with its history, audit entry, outbox
//! event and list version.
//!
//! [`materialize`] is the one place a step becomes rows: the use cases below
//! and demo-data's bulk loader both build their rows with it.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::documents::{self, DocumentKind};
use super::page::{Page, PageRequest};
use super::repairs::RepairView;
use super::violations;
use super::{new_id, roles, Actor, Party, Problems, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::events::{self, NewEvent};
use crate::db::listings::{
    self as store, ConsentRecord, HistoryEntry, Listing, ListingSearch, Objection,
};
use crate::db::registry::{self, Violation};
use crate::db::repairs::{self as repair_store, PortalCode};
use crate::db::typed::{Json, Maybe};
use crate::db::{accounts, publication, scores, DbConn};
use crate::domain::access::{access_code_from, normalize_access_code, ACCESS_CODE_BYTES};
use crate::domain::calendar::Calendar;
use crate::domain::grounds::{self, BasisPenalty};
use crate::domain::procedure::{
    self, Action, Consent, ConsentOutcome, Considerations, Decision, DecisionOutcome,
    HearingStatus, ListingFacts, Official, ProcedureError, Status, Transition,
    OBJECTION_WORKING_DAYS, PUBLICATION_WORKING_DAYS,
};
use crate::domain::registry::{clean_text, ViolationStatus, MAX_TEXT_CHARS};
use crate::domain::repairs::Channel;
use crate::domain::scoring::Severity;

/// The legal basis named on listings the system proposes.
pub const LISTING_REGULATION: &str =
    "《市场监督管理严重违法失信名单管理办法》(SAMR Order No. 44, 2021)";

// ---- inputs ----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeListing {
    #[schema(format = Uuid)]
    pub subject_id: String,
    /// Penalties of this subject the listing rests on (pending or effective), all imposed by the
    /// proposer's bureau; each must carry a heavier penalty and a `listing_ground` (Order 44
    /// art. 2, 5–11; art. 11 needs no heavier penalty).
    #[schema(min_items = 1, max_items = 100, value_type = Vec<uuid::Uuid>)]
    pub violation_ids: Vec<String>,
    /// The facts and reasons, as the notice will state them.
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub legal_basis: String,
    /// What the bureau weighed (Order 44 art. 12 ¶1), each factor optional free text.
    #[serde(default)]
    pub considerations: Considerations,
    /// The party proved it had no intent (art. 12 ¶2): the only decision left is `not_list`.
    #[serde(default)]
    pub no_intent_proven: bool,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServeNotice {
    /// Default today; not before a basis penalty already decided, never in the future. It may
    /// come before a pending penalty is decided (Order 44 art. 13).
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
    /// The party asks for a hearing: the decision waits until it is held or withdrawn.
    #[serde(default)]
    pub hearing_requested: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordHearing {
    /// The day the hearing was held; not before the notice, never in the future.
    pub held_on: NaiveDate,
    /// What was heard (the hearing record's summary).
    pub summary: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawHearing {
    /// The day the withdrawal was received; default today.
    pub received_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiveConsent {
    pub outcome: ConsentOutcome,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideListing {
    pub outcome: DecisionOutcomeInput,
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
    /// Default today; after the objection deadline; equal to `penalty_decided_on` when given.
    pub decided_on: Option<NaiveDate>,
    /// `list` only: codes of `GET /v1/reference/measures` (Order 44 art. 15); default all.
    pub measures: Option<Vec<String>>,
    /// `list` only: the listing decision's number; generated per authority and year unless given.
    pub decision_no: Option<String>,
    /// `list` only: the penalty decision taken with it. Required while a basis penalty is
    /// pending, which then becomes effective with this number and date.
    pub penalty_decision_no: Option<String>,
    pub penalty_decided_on: Option<NaiveDate>,
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
    /// `propose`, `notice`, `objection`, `hearing`, `hearing_withdrawal`, `consent`, `decision`,
    /// `repair`, `repair_decision`, `reinstate`, `revoke`, `expire`.
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
    /// The official who recorded it; null when the party lodged it in the portal.
    pub recorded_by: Option<String>,
    pub recorded_at: DateTime<Utc>,
    /// `online` (the party, in the portal) or `in_person`.
    pub channel: Channel,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    pub id: String,
    /// The parent bureau that answered.
    pub organization_id: String,
    pub outcome: ConsentOutcome,
    pub reason: String,
    pub given_by: String,
    pub given_on: NaiveDate,
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
    /// The bureau that imposed the basis penalties and acts on the listing (null only for
    /// records made before authorities were kept).
    pub authority_id: Option<String>,
    /// Null when the system proposed it.
    pub proposed_by: Option<String>,
    /// What the bureau weighed (Order 44 art. 12 ¶1).
    pub considerations: Considerations,
    /// The party proved it had no intent (art. 12 ¶2): only `not_list` may be decided.
    pub no_intent_proven: bool,
    pub noticed_by: Option<String>,
    pub served_on: Option<NaiveDate>,
    /// The notice's number (告知书文号), set when it is served.
    pub notice_no: Option<String>,
    /// Last day for objections: served_on + 5 working days.
    pub objection_deadline: Option<NaiveDate>,
    /// `requested` stops the decision until `held` or `withdrawn`; null when none was asked for.
    pub hearing_status: Option<HearingStatus>,
    /// The parent bureau's answers (city and county authorities, Order 44 art. 22), oldest first;
    /// the latest counts.
    pub consents: Vec<ConsentView>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
    /// The listing decision's number (列入决定书文号).
    pub decision_no: Option<String>,
    /// Codes of the Order 44 art. 15 measures the decision applies.
    pub measures: Vec<String>,
    /// The day the entry was published (the decision, unless something held it).
    pub published_on: Option<NaiveDate>,
    /// The decision + 20 working days (Order 44 art. 14 ¶1).
    pub publication_due_by: Option<NaiveDate>,
    pub listed_on: Option<NaiveDate>,
    /// The last day in force: the anniversary of `listed_on` three years on, or the later end of
    /// a practice ban or business restriction (Order 44 art. 21). Expired from the next day.
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
    /// Credit repair applications (`GET /v1/repairs/{id}` for one), oldest first.
    pub repairs: Vec<RepairView>,
    /// A repair found false bars new applications through this day (Order 107 art. 23 ¶2).
    pub repair_barred_until: Option<NaiveDate>,
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
        channel: o.channel,
    }
}

fn consent_view(c: ConsentRecord) -> ConsentView {
    ConsentView {
        id: c.id,
        organization_id: c.organization_id,
        outcome: c.outcome,
        reason: c.reason,
        given_by: c.given_by,
        given_on: c.given_on,
    }
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
    let repairs = repair_store::of_listings(conn, &ids)?;
    let consents = store::consents_of(conn, &ids)?;
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
                repairs: repairs
                    .iter()
                    .filter(|r| of(&r.listing_id))
                    .cloned()
                    .map(|r| super::repairs::view(r, today))
                    .collect(),
                repair_barred_until: l.repair_barred_until,
                consents: consents
                    .iter()
                    .filter(|c| of(&c.listing_id))
                    .cloned()
                    .map(consent_view)
                    .collect(),
                id: l.id,
                subject_id: l.subject_id,
                reason: l.reason,
                legal_basis: l.legal_basis,
                authority_id: l.authority_id,
                proposed_by: l.proposed_by,
                considerations: l.considerations.0,
                no_intent_proven: l.no_intent_proven,
                noticed_by: l.noticed_by,
                served_on: l.served_on,
                notice_no: l.notice_no,
                objection_deadline: l.objection_deadline,
                hearing_status: l.hearing_status.0,
                decided_by: l.decided_by,
                decided_on: l.decided_on,
                decision_reason: l.decision_reason,
                decision_no: l.decision_no,
                measures: l.measures.0,
                published_on: l.published_on,
                publication_due_by: l.publication_due_by,
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
    set.hearing_status.apply_to(&mut listing.hearing_status.0);
    set.decided_by.apply_to(&mut listing.decided_by);
    set.decided_on.apply_to(&mut listing.decided_on);
    set.listed_on.apply_to(&mut listing.listed_on);
    set.expires_on.apply_to(&mut listing.expires_on);
    set.published_on.apply_to(&mut listing.published_on);
    set.publication_due_by
        .apply_to(&mut listing.publication_due_by);
    set.pending_repair_applied_on
        .apply_to(&mut listing.pending_repair_applied_on);
    set.removed_on.apply_to(&mut listing.removed_on);
    set.removal_reason.apply_to(&mut listing.removal_reason.0);
    set.revoked_on.apply_to(&mut listing.revoked_on);
    set.revocation_reason
        .apply_to(&mut listing.revocation_reason);
    set.repair_barred_until
        .apply_to(&mut listing.repair_barred_until);
    if t.action == Action::Decide {
        listing.decision_reason = by.reason.map(str::to_owned);
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
            "expires_on": listing.expires_on, "effective_on": t.effective_on,
            "decision_no": listing.decision_no}),
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

/// What a proposal states: the subject, the penalties it rests on (already
/// checked), the bureau that imposed them, the reasons and what was weighed.
#[derive(Debug, Clone)]
pub struct Proposal<'a> {
    pub subject_id: &'a str,
    pub violation_ids: &'a [String],
    pub authority_id: &'a str,
    pub reason: &'a str,
    pub legal_basis: &'a str,
    pub considerations: Considerations,
    pub no_intent_proven: bool,
}

/// A new proposal with its first history entry and audit details.
pub fn materialize_proposal(
    listing_id: String,
    proposal: Proposal<'_>,
    by: StepBy<'_>,
    history_id: String,
    proposed_on: NaiveDate,
) -> (Listing, StepRows) {
    let Proposal {
        subject_id,
        violation_ids,
        authority_id,
        reason,
        legal_basis,
        considerations,
        no_intent_proven,
    } = proposal;
    let mut listing = Listing::proposed(
        listing_id,
        subject_id,
        reason.to_owned(),
        legal_basis.to_owned(),
        by.user_id.map(str::to_owned),
        Some(authority_id.to_owned()),
        by.at,
    );
    listing.considerations = Json(considerations);
    listing.no_intent_proven = no_intent_proven;
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
            "authority_id": authority_id, "reason": reason, "legal_basis": legal_basis,
            "considerations": listing.considerations.0, "no_intent_proven": no_intent_proven,
            "by_system": by.user_id.is_none()}),
    };
    (listing, rows)
}

/// An objection as recorded.
/// `recorded_by` is the official who recorded it; `None` when the party
/// lodged it in the portal.
pub fn objection_row(
    listing_id: &str,
    statement: String,
    received_on: NaiveDate,
    hearing_requested: bool,
    recorded_by: Option<&str>,
    recorded_at: NaiveDateTime,
) -> Objection {
    Objection {
        id: new_id(),
        listing_id: listing_id.to_owned(),
        statement,
        received_on,
        hearing_requested,
        recorded_by: recorded_by.map(str::to_owned),
        recorded_at,
        channel: if recorded_by.is_some() {
            Channel::InPerson
        } else {
            Channel::Online
        },
    }
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
        let related = related_events(conn, &event)?;
        events::emit_all(conn, std::iter::once(event).chain(related).collect())?;
    }
    publication::bump(conn, rows.version_delta)?;
    Ok(())
}

/// A listing published is news for the watchers of everyone bound to the
/// listed party today (an MCN's anchors, a merchant's room operators: Order
/// 117): one `related.listing_published` event per bound subject.
fn related_events(conn: &mut DbConn, event: &NewEvent) -> ServiceResult<Vec<NewEvent>> {
    if event.event_type != events::LISTING_PUBLISHED {
        return Ok(Vec::new());
    }
    let bound = crate::db::relations::holding_to(conn, &event.subject_id, super::today())?;
    Ok(bound
        .into_iter()
        .map(|r| NewEvent {
            event_type: events::RELATED_LISTING_PUBLISHED,
            subject_id: r.subject_id,
            listing_id: event.listing_id.clone(),
            data: json!({"related_subject_id": event.subject_id, "relation": r.relation.as_str(),
                "listing": event.data}),
        })
        .collect())
}

// ---- the steps ----

/// The listing, or 404.
pub fn find(conn: &mut DbConn, id: &str) -> ServiceResult<Listing> {
    store::find(conn, id)?.ok_or_else(|| ServiceError::not_found("no such listing"))
}

/// Whether the authority's decision to list needs its parent bureau's
/// consent (Order 44 art. 22), and the latest answer given.
fn consent_of(conn: &mut DbConn, listing: &Listing) -> ServiceResult<Consent> {
    let Some(authority_id) = &listing.authority_id else {
        return Ok(Consent::NotNeeded);
    };
    let authority = accounts::find_organization(conn, authority_id)?
        .ok_or_else(|| ServiceError::internal("a listing's authority does not exist"))?;
    let needs = authority.level.0.is_some_and(|l| l.needs_parent_consent());
    if !needs {
        return Ok(Consent::NotNeeded);
    }
    let given = store::consents_of(conn, &[listing.id.as_str()])?
        .last()
        .map(|c| c.outcome);
    Ok(Consent::Needed {
        // A city or county bureau always has its parent (domain::accounts::check_hierarchy).
        parent_id: authority.parent_id.unwrap_or_default(),
        given,
    })
}

/// What the procedure needs to know about a stored listing.
fn facts_of(conn: &mut DbConn, listing: &Listing) -> ServiceResult<ListingFacts> {
    let (basis_pending, restriction_until) = store::basis_state(conn, &listing.id)?;
    // A heavier penalty decided after the listing, other than those it rests
    // on (a pending one is decided with the listing), is new.
    let new_heavier_penalty = match listing.listed_on {
        Some(listed_on) => {
            let basis = store::basis_violation_ids(conn, &listing.id)?;
            registry::heavier_decided_after(conn, &listing.subject_id, listed_on, &basis)?
        }
        None => None,
    };
    Ok(ListingFacts {
        status: listing.status,
        authority_id: listing.authority_id.clone(),
        proposed_by: listing.proposed_by.clone(),
        noticed_by: listing.noticed_by.clone(),
        served_on: listing.served_on,
        objection_deadline: listing.objection_deadline,
        hearing: listing.hearing_status.0,
        consent: consent_of(conn, listing)?,
        no_intent_proven: listing.no_intent_proven,
        listed_on: listing.listed_on,
        expires_on: listing.expires_on,
        pending_repair_applied_on: listing.pending_repair_applied_on,
        removed_on: listing.removed_on,
        basis_latest_decided_on: store::basis_latest_decided_on(conn, &listing.id)?
            .unwrap_or(NaiveDate::MIN),
        basis_pending,
        restriction_until,
        repair_barred_until: listing.repair_barred_until,
        new_heavier_penalty,
    })
}

pub(super) type Rule<'a> =
    Box<dyn FnOnce(&ListingFacts) -> Result<Transition, ProcedureError> + 'a>;

/// What a step writes besides the transition itself (a document number, the
/// access code's hash, …), run on the listing before it is saved.
pub(super) type Amend<'a> =
    Box<dyn FnOnce(&mut DbConn, &mut Listing, &Transition) -> ServiceResult<()> + 'a>;

/// Performs one step on a listing: locks it, asks the rules, saves the new
/// state with its rows. A listing published already past its end (a
/// back-dated decision or reinstatement) has its expiry recorded at once.
pub(super) fn transition(
    conn: &mut DbConn,
    listing_id: &str,
    actor: &Actor,
    reason: Option<&str>,
    today: NaiveDate,
    rule: Rule<'_>,
    amend: Option<Amend<'_>>,
) -> ServiceResult<Listing> {
    if !store::lock(conn, listing_id)? {
        return Err(ServiceError::not_found("no such listing"));
    }
    let mut listing = find(conn, listing_id)?;
    let facts = facts_of(conn, &listing)?;
    let t = rule(&facts)?;
    let by = StepBy {
        user_id: actor.user_id(),
        organization_id: actor.organization_id(),
        reason,
        at: Utc::now().naive_utc(),
    };
    if let Some(amend) = amend {
        amend(conn, &mut listing, &t)?;
    }
    let rows = materialize(&mut listing, &t, by, new_id(), today);
    // Saving records the change for the screening index, which reloads the
    // subjects bound to this one when its listed state changes.
    store::save(conn, &listing)?;
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
            None,
        );
    }
    Ok(listing)
}

/// The acting official as the procedure sees them.
fn official(actor: &Actor) -> ServiceResult<(String, String)> {
    let staff = actor.staff(roles::REGULATORS)?;
    Ok((staff.id.clone(), staff.organization_id.clone()))
}

/// Runs one step as `actor` (a regulator) and answers with the listing's view.
fn step(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    reason: Option<&str>,
    rule: impl FnOnce(&ListingFacts, &Official<'_>, NaiveDate) -> Result<Transition, ProcedureError>,
) -> ServiceResult<ListingView> {
    let (user_id, organization_id) = official(actor)?;
    let today = super::today();
    let official = Official {
        id: &user_id,
        organization_id: &organization_id,
    };
    let listing = transition(
        conn,
        id,
        actor,
        reason,
        today,
        Box::new(|facts| rule(facts, &official, today)),
        None,
    )?;
    view(conn, listing, today)
}

fn text(field: &str, raw: &str, max: usize) -> ServiceResult<String> {
    clean_text(raw, max).map_err(|m| ServiceError::invalid(field, m))
}

/// Creates a `proposed` listing (its basis already checked).
fn propose_checked(
    conn: &mut DbConn,
    actor: &Actor,
    proposal: Proposal<'_>,
    today: NaiveDate,
) -> ServiceResult<Listing> {
    let by = StepBy {
        user_id: actor.user_id(),
        organization_id: actor.organization_id(),
        reason: Some(proposal.reason),
        at: Utc::now().naive_utc(),
    };
    let violation_ids = proposal.violation_ids;
    let (listing, rows) = materialize_proposal(new_id(), proposal, by, new_id(), today);
    store::insert(conn, &listing, violation_ids)?;
    store_step(conn, actor, &listing.id, rows)?;
    Ok(listing)
}

/// Checks the penalties a listing is to rest on (Order 44 art. 2, 5–11,
/// 13 ¶2): each is the subject's, not revoked, carries the listing (a heavier
/// penalty and a ground), and all were imposed by one bureau, which it
/// answers with. A bad basis is a 422 naming `violation_ids`.
pub fn check_basis(
    conn: &mut DbConn,
    subject_id: &str,
    violation_ids: &[String],
) -> ServiceResult<String> {
    let basis = registry::violations_by_ids(conn, violation_ids)?;
    let mut problems = Vec::new();
    for id in violation_ids {
        match basis.iter().find(|v| v.id == *id) {
            None => problems.push(format!("{id}: no such violation")),
            Some(v) if v.subject_id != subject_id => {
                problems.push(format!("{id}: belongs to another subject"))
            }
            Some(v) if v.status == ViolationStatus::Revoked => {
                problems.push(format!("{id}: is revoked"))
            }
            Some(v) => {
                if let Err(e) =
                    grounds::may_carry_listing(v.heavier_penalty, v.listing_ground.as_deref())
                {
                    problems.push(format!("{id}: {e}"));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::invalid(
            "violation_ids",
            format!(
                "a listing rests only on heavier penalties for acts Order 44 art. 5–11 name: {}",
                problems.join("; ")
            ),
        ));
    }
    let mut authorities: Vec<&str> = basis.iter().map(|v| v.authority_id.as_str()).collect();
    authorities.sort_unstable();
    authorities.dedup();
    match authorities.as_slice() {
        [one] => Ok((*one).to_owned()),
        _ => Err(ServiceError::invalid(
            "violation_ids",
            "the penalties were imposed by different bureaus: each bureau lists on its own penalties (Order 44 art. 13)",
        )),
    }
}

/// Proposes a listing on penalties of the subject imposed by the proposer's bureau.
pub fn propose(
    conn: &mut DbConn,
    actor: &Actor,
    input: ProposeListing,
) -> ServiceResult<ListingView> {
    let (_, organization_id) = official(actor)?;
    let mut problems = Problems::new();
    let reason = problems
        .check("reason", clean_text(&input.reason, MAX_TEXT_CHARS))
        .unwrap_or_default();
    let legal_basis = problems
        .check("legal_basis", clean_text(&input.legal_basis, 2000))
        .unwrap_or_default();
    let considerations = clean_considerations(input.considerations, &mut problems);
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
    let authority_id = check_basis(conn, &input.subject_id, &violation_ids)?;
    if authority_id != organization_id {
        return Err(ProcedureError::NotTheAuthority.into());
    }
    let listing = propose_checked(
        conn,
        actor,
        Proposal {
            subject_id: &input.subject_id,
            violation_ids: &violation_ids,
            authority_id: &authority_id,
            reason: &reason,
            legal_basis: &legal_basis,
            considerations,
            no_intent_proven: input.no_intent_proven,
        },
        today,
    )?;
    view(conn, listing, today)
}

/// Trims each factor; an empty one is left out; each at most 2000 characters.
fn clean_considerations(c: Considerations, problems: &mut Problems) -> Considerations {
    let mut clean = |field: &str, value: Option<String>| {
        let value = value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())?;
        problems.check(format!("considerations.{field}"), clean_text(&value, 2000))
    };
    Considerations {
        intent: clean("intent", c.intent),
        frequency: clean("frequency", c.frequency),
        duration: clean("duration", c.duration),
        penalty_type: clean("penalty_type", c.penalty_type),
        amount: clean("amount", c.amount),
        goods_value: clean("goods_value", c.goods_value),
        harm: clean("harm", c.harm),
        property_loss: clean("property_loss", c.property_loss),
        social_impact: clean("social_impact", c.social_impact),
    }
}

/// After a penalty was recorded or took effect (subject locked, score
/// refreshed when it counts): the system proposes a listing when the
/// penalty is especially serious, heavier and names a ground — unless the
/// subject already has an open proposal or a listing in force. A score is
/// no legal ground: band D raises a review flag instead (`service::review`).
pub fn propose_after_violation(
    conn: &mut DbConn,
    violation: &Violation,
    today: NaiveDate,
) -> ServiceResult<Option<Listing>> {
    let lawful = violation.severity == Severity::EspeciallySerious
        && violation.status != ViolationStatus::Revoked
        && violation.decided_on.is_none_or(|d| d <= today)
        && grounds::may_carry_listing(
            violation.heavier_penalty,
            violation.listing_ground.as_deref(),
        )
        .is_ok();
    if !lawful {
        return Ok(None);
    }
    let busy = store::open_or_listed(conn, &violation.subject_id)?
        .iter()
        .any(|l| l.status != Status::Listed || procedure::in_force(l.status, l.expires_on, today));
    if busy {
        return Ok(None);
    }
    let basis = [violation.id.clone()];
    let reason = "系统自动提议 (proposed by the system): 情节特别严重的违法行为，受到较重行政处罚 (an especially serious violation with a heavier penalty)";
    propose_checked(
        conn,
        &Actor::System,
        Proposal {
            subject_id: &violation.subject_id,
            violation_ids: &basis,
            authority_id: &violation.authority_id,
            reason,
            legal_basis: LISTING_REGULATION,
            considerations: Considerations::default(),
            no_intent_proven: false,
        },
        today,
    )
    .map(Some)
}

/// After a penalty is revoked (subject locked): every listing it supported
/// whose remaining penalties no longer carry it is revoked (Order 44
/// art. 19). Returns those listings.
pub fn revoke_after_violation(
    conn: &mut DbConn,
    violation: &Violation,
    today: NaiveDate,
) -> ServiceResult<Vec<Listing>> {
    let mut revoked = Vec::new();
    for listing_id in store::listings_of_violation(conn, &violation.id)? {
        let basis: Vec<BasisPenalty> = store::basis_penalties(conn, &listing_id)?
            .into_iter()
            .map(|(heavier_penalty, ground, status)| BasisPenalty {
                heavier_penalty,
                ground,
                revoked: status == ViolationStatus::Revoked.as_str(),
            })
            .collect();
        if grounds::basis_still_lawful(&basis) {
            continue;
        }
        let reason = "依据的行政处罚已撤销，余下的处罚不足以列入 (the penalties that carried the listing were annulled; Order 44 art. 19)";
        let outcome = transition(
            conn,
            &listing_id,
            &Actor::System,
            Some(reason),
            today,
            Box::new(|facts| procedure::revoke(facts, reason, None, today)),
            None,
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

/// A served notice: the listing, with the subject's access code shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeServed {
    #[serde(flatten)]
    pub listing: ListingView,
    /// The subject's one-time access code for the portal (with `notice_no`): shown only in this
    /// response, stored only as a hash. Hand it to the party with the notice.
    pub access_code: String,
}

/// A document number of an authority: `{authority}{mark}〔{year}〕{n}号`.
fn document_number(
    conn: &mut DbConn,
    authority_id: &str,
    kind: DocumentKind,
    on: NaiveDate,
) -> ServiceResult<String> {
    let authority = accounts::find_organization(conn, authority_id)?
        .ok_or_else(|| ServiceError::internal("a listing's authority does not exist"))?;
    let n = store::next_document_number(conn, authority_id, kind.as_str(), on.year())?;
    Ok(format!(
        "{}{}〔{}〕{}号",
        authority.name,
        kind.mark(),
        on.year(),
        n
    ))
}

/// A fresh access code and the hash kept of it.
pub fn new_access_code() -> (String, String) {
    let mut bytes = [0u8; ACCESS_CODE_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let code = access_code_from(bytes);
    let hash = hash_access_code(&code);
    (code, hash)
}

/// Stores a listing's access code (its hash), ending the sessions signed in
/// with the one before.
pub fn put_access_code(
    conn: &mut DbConn,
    listing_id: &str,
    hash: String,
    issued_by: Option<&str>,
) -> ServiceResult<i32> {
    let epoch = repair_store::code_of(conn, listing_id)?.map_or(1, |c| c.epoch + 1);
    repair_store::put_code(
        conn,
        &PortalCode {
            listing_id: listing_id.to_owned(),
            code_hash: hash,
            epoch,
            issued_at: Utc::now().naive_utc(),
            issued_by: issued_by.map(str::to_owned),
        },
    )?;
    Ok(epoch)
}

/// The hash stored of an access code, as typed or as issued.
pub fn hash_access_code(code: &str) -> String {
    let plain = normalize_access_code(code).unwrap_or_default();
    hex::encode(Sha256::digest(plain.as_bytes()))
}

/// Serves the notice: the party is told the facts, reasons, legal basis and
/// the measures proposed, and may state its case or ask for a hearing for 5
/// working days. The notice gets its number and the party an access code.
pub fn serve_notice(
    conn: &mut DbConn,
    actor: &Actor,
    calendar: &Calendar,
    id: &str,
    input: ServeNotice,
) -> ServiceResult<NoticeServed> {
    let (user_id, organization_id) = official(actor)?;
    let today = super::today();
    let served_on = input.served_on.unwrap_or(today);
    let deadline = calendar.add_working_days(served_on, OBJECTION_WORKING_DAYS);
    let server = Official {
        id: &user_id,
        organization_id: &organization_id,
    };
    let (code, hash) = new_access_code();
    let issued_by = user_id.clone();
    let listing = transition(
        conn,
        id,
        actor,
        None,
        today,
        Box::new(|facts| procedure::notice(facts, served_on, deadline, &server, today)),
        Some(Box::new(|conn, listing, _| {
            let authority = listing
                .authority_id
                .clone()
                .unwrap_or_else(|| organization_id.clone());
            let number = document_number(conn, &authority, DocumentKind::Notice, served_on)?;
            listing.notice_no = Some(number);
            Ok(())
        })),
    )?;
    put_access_code(conn, &listing.id, hash, Some(&issued_by))?;
    documents::store_notice(conn, &listing)?;
    Ok(NoticeServed {
        listing: view(conn, listing, today)?,
        access_code: code,
    })
}

/// Records the party's objection: a statement of its case, and perhaps a
/// request for a hearing, which stops the decision until it is closed.
pub fn lodge_objection(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: LodgeObjection,
) -> ServiceResult<ObjectionView> {
    let statement = text("statement", &input.statement, MAX_TEXT_CHARS)?;
    let today = super::today();
    // The party lodges its own statement today, in the portal; an official
    // records one received on any day of the window.
    let official = match actor {
        Actor::Subject(party) => {
            own_listing(conn, party, id)?;
            if input.received_on.is_some_and(|d| d != today) {
                return Err(ServiceError::invalid(
                    "received_on",
                    "a statement lodged in the portal is received today",
                ));
            }
            None
        }
        _ => Some(official(actor)?),
    };
    let received_on = input.received_on.unwrap_or(today);
    let reason = if input.hearing_requested {
        "objection with a hearing request"
    } else {
        "objection"
    };
    let recorder = official.as_ref().map(|(id, organization_id)| Official {
        id,
        organization_id,
    });
    let listing = transition(
        conn,
        id,
        actor,
        Some(reason),
        today,
        Box::new(|facts| {
            procedure::object(
                facts,
                received_on,
                input.hearing_requested,
                recorder.as_ref(),
                today,
            )
        }),
        None,
    )?;
    let objection = objection_row(
        &listing.id,
        statement,
        received_on,
        input.hearing_requested,
        official.as_ref().map(|(id, _)| id.as_str()),
        Utc::now().naive_utc(),
    );
    store::insert_objection(conn, &objection)?;
    Ok(objection_view(objection))
}

/// A listing of the party's own, or 404 (another subject's listing does not
/// exist for them).
pub fn own_listing(conn: &mut DbConn, party: &Party, id: &str) -> ServiceResult<Listing> {
    let listing = find(conn, id)?;
    if listing.subject_id != party.subject_id {
        return Err(ServiceError::not_found("no such listing"));
    }
    Ok(listing)
}

/// Records that the requested hearing was held (its record's summary kept in
/// the history): the decision may go ahead.
pub fn record_hearing(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: RecordHearing,
) -> ServiceResult<ListingView> {
    let summary = text("summary", &input.summary, MAX_TEXT_CHARS)?;
    step(conn, actor, id, Some(&summary), |facts, official, today| {
        procedure::close_hearing(facts, true, input.held_on, official, today)
    })
}

/// Records that the party withdrew its hearing request.
pub fn withdraw_hearing(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: WithdrawHearing,
) -> ServiceResult<ListingView> {
    step(
        conn,
        actor,
        id,
        Some("hearing request withdrawn"),
        |facts, official, today| {
            let received_on = input.received_on.unwrap_or(today);
            procedure::close_hearing(facts, false, received_on, official, today)
        },
    )
}

/// The parent bureau agrees or disagrees to a city or county bureau's
/// listing before it is decided (Order 44 art. 22); the latest answer counts.
pub fn give_consent(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    input: GiveConsent,
) -> ServiceResult<ListingView> {
    let (user_id, organization_id) = official(actor)?;
    let reason = text("reason", &input.reason, MAX_TEXT_CHARS)?;
    let today = super::today();
    let consenter = Official {
        id: &user_id,
        organization_id: &organization_id,
    };
    let listing = transition(
        conn,
        id,
        actor,
        Some(&reason),
        today,
        Box::new(|facts| procedure::consent(facts, input.outcome, &consenter, today)),
        None,
    )?;
    store::insert_consent(
        conn,
        &ConsentRecord {
            id: new_id(),
            listing_id: listing.id.clone(),
            organization_id: organization_id.clone(),
            outcome: input.outcome,
            reason: reason.clone(),
            given_by: user_id.clone(),
            given_on: today,
            given_at: Utc::now().naive_utc(),
        },
    )?;
    view(conn, listing, today)
}

/// The measures of a decision to list: the codes given (each of art. 15,
/// once), or all of them.
fn check_measures(given: Option<Vec<String>>) -> ServiceResult<Vec<String>> {
    let all = || grounds::measures().iter().map(|m| m.code.clone()).collect();
    let Some(mut codes) = given else {
        return Ok(all());
    };
    let mut problems = Problems::new();
    for (i, code) in codes.iter().enumerate() {
        if grounds::measure(code).is_none() {
            problems.add(
                format!("measures[{i}]"),
                format!(
                    "`{code}` is no measure of Order 44 art. 15; see GET /v1/reference/measures"
                ),
            );
        }
    }
    problems.finish(())?;
    // In the order of the text, once each.
    codes.sort_by_key(|c| grounds::measures().iter().position(|m| m.code == *c));
    codes.dedup();
    if codes.is_empty() {
        return Err(ServiceError::invalid(
            "measures",
            "a decision to list applies at least one measure of art. 15",
        ));
    }
    Ok(codes)
}

/// Decides to list or not, after the objection window and any requested
/// hearing, by a second official of the authority (with the parent bureau's
/// consent for a city or county bureau). A decision to list takes the
/// penalty decision with it when a basis penalty is pending: those penalties
/// become effective in the same transaction. The decision document is stored.
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    calendar: &Calendar,
    id: &str,
    input: DecideListing,
) -> ServiceResult<ListingView> {
    let (user_id, organization_id) = official(actor)?;
    let mut problems = Problems::new();
    let reason = problems
        .check("reason", clean_text(&input.reason, MAX_TEXT_CHARS))
        .unwrap_or_default();
    let optional = |field: &str, value: Option<String>, problems: &mut Problems| {
        let value = value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())?;
        problems.check(field.to_owned(), clean_text(&value, 100))
    };
    let decision_no = optional("decision_no", input.decision_no, &mut problems);
    let penalty_decision_no = optional(
        "penalty_decision_no",
        input.penalty_decision_no,
        &mut problems,
    );
    problems.finish(())?;
    let outcome = DecisionOutcome::from(input.outcome);
    let list = outcome == DecisionOutcome::List;
    let measures = if list {
        check_measures(input.measures)?
    } else {
        Vec::new()
    };
    let today = super::today();
    let decided_on = input.decided_on.unwrap_or(today);
    let decision = Decision {
        outcome,
        decided_on,
        penalty_decided_on: input.penalty_decided_on,
        penalty_decision_no_given: penalty_decision_no.is_some(),
        publication_due_by: calendar.add_working_days(decided_on, PUBLICATION_WORKING_DAYS),
    };
    // The subject before the listing: the order every change to a subject's
    // penalties takes (violations::record, revoke).
    let subject_id = find(conn, id)?.subject_id;
    scores::lock_subject(conn, &subject_id)?;
    let decider = Official {
        id: &user_id,
        organization_id: &organization_id,
    };
    let listing = transition(
        conn,
        id,
        actor,
        Some(&reason),
        today,
        Box::new(|facts| procedure::decide(facts, &decision, &decider, today)),
        Some(Box::new(|conn, listing, t| {
            if t.to != Status::Listed {
                return Ok(());
            }
            let authority = listing
                .authority_id
                .clone()
                .unwrap_or_else(|| organization_id.clone());
            listing.decision_no = Some(match decision_no {
                Some(given) => given,
                None => document_number(conn, &authority, DocumentKind::Decision, decided_on)?,
            });
            listing.measures = Json(measures);
            Ok(())
        })),
    )?;
    if listing.status == Status::Listed || listing.status == Status::Expired {
        if let (Some(number), Some(on)) = (&penalty_decision_no, input.penalty_decided_on) {
            let basis = store::basis_violation_ids(conn, &listing.id)?;
            for mut v in registry::violations_by_ids(conn, &basis)? {
                if v.status != ViolationStatus::Pending {
                    continue;
                }
                v.decide(number, on, Utc::now().naive_utc(), &user_id);
                violations::decide_pending(conn, actor, &v, "violation.decided_with_listing")?;
                violations::took_effect(conn, &v, today)?;
            }
        }
        documents::store_decision(conn, &listing, penalty_decision_no.as_deref())?;
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
    // Lock order: the subject (its score) before the listing.
    let listing = find(conn, id)?;
    scores::lock_subject(conn, &listing.subject_id)?;
    let view = step(conn, actor, id, Some(&reason), |facts, official, today| {
        procedure::reinstate(facts, input.reinstated_on.unwrap_or(today), official, today)
    })?;
    // The repair was false: its penalties are published and shared again.
    super::repairs::undo_repaired(conn, &listing, super::today())?;
    Ok(view)
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
        procedure::revoke(facts, &reason, Some(official), today)
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
        None,
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

/// One listing with its history, objections, consents and repair
/// applications: for staff who read the registry, and for its subject.
pub fn get(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<ListingView> {
    let listing = find(conn, id)?;
    actor.require_reader_of(&listing.subject_id)?;
    view(conn, listing, super::today())
}
