//! The listing procedure: the states a blacklist entry goes through and the guards on each step.
//!
//! ```text
//! proposed ──notice──▶ noticed ──decision(list)─────▶ listed ──expire──────────────▶ expired
//!                         │    └─decision(not_list)─▶ not_listed
//!                         └─objection (stays noticed)  listed ──repair_decision(approve)──▶ removed
//!                                                      removed ──reinstate──▶ listed (period restarts)
//! proposed | noticed | listed | removed ──revoke──▶ revoked
//! ```
//!
//! Everything here is pure: no clock, no calendar, no storage. The caller passes `today`, the
//! stored [`ListingFacts`] and the action's inputs; each action function answers with the
//! [`Transition`] to store, or a [`ProcedureError`] whose [`ProcedureError::kind`] says which HTTP
//! problem it is (409 for order-of-state problems, 403 for the two-officials rule, 422 for a
//! bad date naming its field).
//!
//! Decisions recorded here:
//! - **Expiry is computed on read.** A `listed` listing whose `expires_on` has come
//!   (`today >= expires_on`) is `expired` in every answer at once ([`effective_status`]), and
//!   every action judges the *effective* state. The background job's [`expire`] then stores it.
//! - **Revoke** is allowed from `proposed`, `noticed`, `listed` and `removed`: when the penalty
//!   the listing rests on is annulled, the listing is void whatever stage it reached, and a
//!   removed entry still sits in the archive as a listing that happened. It is not allowed from
//!   `not_listed`, `expired` or `revoked`: nothing is left that could be voided.
//! - **Two officials:** the decider must not be the proposer; for a system proposal (no
//!   proposer) the decider must not be the official who served the notice. Official ids are
//!   compared exactly.
//! - **Working days** stay outside this module: the caller computes the objection deadline
//!   (served_on + 5 working days) with its calendar and passes it to [`notice`].
//! - **Objections** do not change the state; the caller records each one. Any number may be
//!   lodged inside the window.
//! - **Reinstatement** clears `removed_on`/`removal_reason` on the listing row; the history stays
//!   in the event log written from each [`Transition`].

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Years a listing lasts from its decision (or its reinstatement).
pub const LISTING_YEARS: u32 = 3;
/// Years after `listed_on` before the party may apply for credit repair.
pub const REPAIR_AFTER_YEARS: u32 = 1;
/// Working days a party has to object after being served notice.
pub const OBJECTION_WORKING_DAYS: u32 = 5;

pub use crate::UnknownName;

/// Where a listing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Proposed by an official or by the system; the party has not been told yet.
    Proposed,
    /// The party has been served notice; the objection window runs until the deadline.
    Noticed,
    /// On the blacklist and published.
    Listed,
    /// Decided not to list. Final.
    NotListed,
    /// The listing period ended by itself. Final.
    Expired,
    /// Removed early by credit repair; no longer published, kept in the archive.
    Removed,
    /// Voided because the penalty it rested on was annulled. Final.
    Revoked,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Proposed,
        Status::Noticed,
        Status::Listed,
        Status::NotListed,
        Status::Expired,
        Status::Removed,
        Status::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Noticed => "noticed",
            Status::Listed => "listed",
            Status::NotListed => "not_listed",
            Status::Expired => "expired",
            Status::Removed => "removed",
            Status::Revoked => "revoked",
        }
    }

    /// Whether no action leads out of this state.
    pub fn is_final(self) -> bool {
        allowed_actions(self).is_empty()
    }

    /// Whether an entry in this state is shown on the public list.
    pub fn is_published(self) -> bool {
        self == Status::Listed
    }
}

/// A step of the procedure. The names (`as_str`, serde) are the ones the API and the event log use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "propose")]
    Propose,
    #[serde(rename = "notice")]
    Notice,
    #[serde(rename = "objection")]
    Object,
    #[serde(rename = "decision")]
    Decide,
    #[serde(rename = "repair")]
    ApplyRepair,
    #[serde(rename = "repair_decision")]
    DecideRepair,
    #[serde(rename = "reinstate")]
    Reinstate,
    #[serde(rename = "revoke")]
    Revoke,
    #[serde(rename = "expire")]
    Expire,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Propose,
        Action::Notice,
        Action::Object,
        Action::Decide,
        Action::ApplyRepair,
        Action::DecideRepair,
        Action::Reinstate,
        Action::Revoke,
        Action::Expire,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Propose => "propose",
            Action::Notice => "notice",
            Action::Object => "objection",
            Action::Decide => "decision",
            Action::ApplyRepair => "repair",
            Action::DecideRepair => "repair_decision",
            Action::Reinstate => "reinstate",
            Action::Revoke => "revoke",
            Action::Expire => "expire",
        }
    }

    /// The verb for "cannot {verb} a listing in state …".
    pub fn verb(self) -> &'static str {
        match self {
            Action::Propose => "propose",
            Action::Notice => "serve notice on",
            Action::Object => "object to",
            Action::Decide => "decide",
            Action::ApplyRepair => "apply for credit repair of",
            Action::DecideRepair => "decide credit repair of",
            Action::Reinstate => "reinstate",
            Action::Revoke => "revoke",
            Action::Expire => "expire",
        }
    }
}

crate::named_values!(Status, "status");
crate::named_values!(Action, "action");
crate::named_values!(DecisionOutcome, "decision outcome");
crate::named_values!(RepairOutcome, "repair outcome");
crate::named_values!(RemovalReason, "removal reason");

/// The actions the graph allows from `status`, judged on the state alone (an action may still
/// fail its guards). `propose` creates a listing and is allowed from no state.
pub fn allowed_actions(status: Status) -> &'static [Action] {
    match status {
        Status::Proposed => &[Action::Notice, Action::Revoke],
        Status::Noticed => &[Action::Object, Action::Decide, Action::Revoke],
        Status::Listed => &[
            Action::ApplyRepair,
            Action::DecideRepair,
            Action::Revoke,
            Action::Expire,
        ],
        Status::Removed => &[Action::Reinstate, Action::Revoke],
        Status::NotListed | Status::Expired | Status::Revoked => &[],
    }
}

/// The state to show: a `listed` listing whose `expires_on` has come (`today >= expires_on`) is
/// `expired`; every other state is shown as stored. A `listed` row without `expires_on` cannot
/// expire (it would be inconsistent; the action functions report it).
pub fn effective_status(stored: Status, expires_on: Option<NaiveDate>, today: NaiveDate) -> Status {
    match (stored, expires_on) {
        (Status::Listed, Some(expires_on)) if period_ended(expires_on, today) => Status::Expired,
        _ => stored,
    }
}

/// Whether a listing period ending at `expires_on` is over on `day`.
pub fn period_ended(expires_on: NaiveDate, day: NaiveDate) -> bool {
    day >= expires_on
}

/// Whether a listing stored in `stored` with `expires_on` is published and in
/// force on `day`: the one definition every answer uses (the data layer's
/// `in_force_on` is its SQL twin).
pub fn in_force(stored: Status, expires_on: Option<NaiveDate>, day: NaiveDate) -> bool {
    stored == Status::Listed && expires_on.is_some_and(|e| !period_ended(e, day))
}

/// The same calendar date `n` years later; 29 February maps to 28 February in a common year.
/// Saturates at [`NaiveDate::MAX`] past chrono's range.
pub fn add_years(date: NaiveDate, n: u32) -> NaiveDate {
    let Some(year) = i32::try_from(n)
        .ok()
        .and_then(|n| date.year().checked_add(n))
    else {
        return NaiveDate::MAX;
    };
    date.with_year(year)
        .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28))
        .unwrap_or(NaiveDate::MAX)
}

/// The outcome of the listing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    List,
    NotList,
}

impl DecisionOutcome {
    pub const ALL: [DecisionOutcome; 2] = [DecisionOutcome::List, DecisionOutcome::NotList];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionOutcome::List => "list",
            DecisionOutcome::NotList => "not_list",
        }
    }
}

/// The outcome of a credit repair application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairOutcome {
    Approve,
    Reject,
}

impl RepairOutcome {
    pub const ALL: [RepairOutcome; 2] = [RepairOutcome::Approve, RepairOutcome::Reject];

    pub fn as_str(self) -> &'static str {
        match self {
            RepairOutcome::Approve => "approve",
            RepairOutcome::Reject => "reject",
        }
    }
}

/// Why a listing was removed before its period ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    CreditRepair,
}

impl RemovalReason {
    pub const ALL: [RemovalReason; 1] = [RemovalReason::CreditRepair];

    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::CreditRepair => "credit_repair",
        }
    }
}

/// What the procedure needs to know about a stored listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingFacts {
    /// The stored state (not yet corrected for expiry; see [`ListingFacts::effective_status`]).
    pub status: Status,
    /// The official who proposed it; `None` for a system proposal.
    pub proposed_by: Option<String>,
    /// The official who served the notice.
    pub noticed_by: Option<String>,
    pub served_on: Option<NaiveDate>,
    /// The last day of the objection window (served_on + 5 working days, computed by the caller).
    pub objection_deadline: Option<NaiveDate>,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    /// `applied_on` of the credit repair application awaiting a decision, if any.
    pub pending_repair_applied_on: Option<NaiveDate>,
    pub removed_on: Option<NaiveDate>,
    /// The latest `decided_on` among the violations the listing rests on.
    pub basis_latest_decided_on: NaiveDate,
}

impl ListingFacts {
    /// A freshly proposed listing.
    pub fn proposed(proposed_by: Option<String>, basis_latest_decided_on: NaiveDate) -> Self {
        ListingFacts {
            status: Status::Proposed,
            proposed_by,
            noticed_by: None,
            served_on: None,
            objection_deadline: None,
            listed_on: None,
            expires_on: None,
            pending_repair_applied_on: None,
            removed_on: None,
            basis_latest_decided_on,
        }
    }

    /// The state to show and to judge actions by on `today`.
    pub fn effective_status(&self, today: NaiveDate) -> Status {
        effective_status(self.status, self.expires_on, today)
    }

    /// Applies a transition to these facts (fields the facts do not hold are ignored).
    pub fn apply(&mut self, transition: &Transition) {
        let set = &transition.set;
        self.status = transition.to;
        set.noticed_by.apply_to(&mut self.noticed_by);
        set.served_on.apply_to(&mut self.served_on);
        set.objection_deadline
            .apply_to(&mut self.objection_deadline);
        set.listed_on.apply_to(&mut self.listed_on);
        set.expires_on.apply_to(&mut self.expires_on);
        set.pending_repair_applied_on
            .apply_to(&mut self.pending_repair_applied_on);
        set.removed_on.apply_to(&mut self.removed_on);
    }
}

/// A change to one stored column.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Update<T> {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Write this value.
    Set(T),
    /// Write NULL.
    Clear,
}

impl<T> Update<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Update::Keep)
    }

    /// As a diesel-style changeset value: `None` leaves the column, `Some(v)` writes `v`.
    pub fn into_changeset(self) -> Option<Option<T>> {
        match self {
            Update::Keep => None,
            Update::Set(v) => Some(Some(v)),
            Update::Clear => Some(None),
        }
    }
}

impl<T: Clone> Update<T> {
    /// Applies the change to a nullable value.
    pub fn apply_to(&self, target: &mut Option<T>) {
        match self {
            Update::Keep => {}
            Update::Set(v) => *target = Some(v.clone()),
            Update::Clear => *target = None,
        }
    }
}

/// The columns a transition writes. Fields left at [`Update::Keep`] are not touched.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListingChanges {
    pub noticed_by: Update<String>,
    pub served_on: Update<NaiveDate>,
    pub objection_deadline: Update<NaiveDate>,
    /// The official who made the listing decision.
    pub decided_by: Update<String>,
    /// The day of the listing decision.
    pub decided_on: Update<NaiveDate>,
    pub listed_on: Update<NaiveDate>,
    pub expires_on: Update<NaiveDate>,
    pub pending_repair_applied_on: Update<NaiveDate>,
    pub removed_on: Update<NaiveDate>,
    pub removal_reason: Update<RemovalReason>,
    pub revoked_on: Update<NaiveDate>,
    pub revocation_reason: Update<String>,
}

/// What an allowed action does to a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub action: Action,
    /// The effective state before (for `expire`, the stored `listed`).
    pub from: Status,
    pub to: Status,
    /// The day the step took legal effect (served, received, decided, …).
    pub effective_on: NaiveDate,
    /// Who took the step.
    pub by: String,
    pub set: ListingChanges,
}

/// How a [`ProcedureError`] maps onto an HTTP problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 409: the step does not fit the listing's state or its dates in the procedure.
    Conflict,
    /// 403: the two-officials rule.
    Forbidden,
    /// 422: the named input is invalid on its own terms.
    Validation { field: &'static str },
    /// 500: the stored listing contradicts its own state.
    Internal,
}

impl ErrorKind {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Conflict => 409,
            ErrorKind::Forbidden => 403,
            ErrorKind::Validation { .. } => 422,
            ErrorKind::Internal => 500,
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProcedureError {
    #[error("cannot {} a listing in state `{current}`; allowed: {}", .action.verb(), action_list(.allowed))]
    NotAllowed {
        action: Action,
        current: Status,
        allowed: Vec<Action>,
    },
    #[error("the listing must be decided by an official other than the one who proposed it (for a system proposal, other than the one who served the notice)")]
    TwoOfficials,
    #[error("`{field}` must not be after today")]
    DateInFuture { field: &'static str },
    #[error("`{field}` must not be before {earliest}")]
    DateTooEarly {
        field: &'static str,
        earliest: NaiveDate,
    },
    #[error("the objection window closed on {deadline}")]
    AfterDeadline { deadline: NaiveDate },
    #[error(
        "the listing cannot be decided until the objection window has closed (last day {deadline})"
    )]
    DecisionInsideWindow { deadline: NaiveDate },
    #[error("credit repair can be applied for from {earliest}")]
    RepairTooEarly { earliest: NaiveDate },
    #[error("a credit repair application is already pending")]
    RepairPending,
    #[error("there is no pending credit repair application")]
    NoPendingRepair,
    #[error("the listing does not expire until {expires_on}")]
    NotYetExpired { expires_on: NaiveDate },
    #[error("`{field}` is required")]
    Required { field: &'static str },
    #[error("the stored listing in state `{status}` lacks `{field}`")]
    InconsistentFacts { status: Status, field: &'static str },
}

impl ProcedureError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProcedureError::NotAllowed { .. }
            | ProcedureError::AfterDeadline { .. }
            | ProcedureError::DecisionInsideWindow { .. }
            | ProcedureError::RepairTooEarly { .. }
            | ProcedureError::RepairPending
            | ProcedureError::NoPendingRepair
            | ProcedureError::NotYetExpired { .. } => ErrorKind::Conflict,
            ProcedureError::TwoOfficials => ErrorKind::Forbidden,
            ProcedureError::DateInFuture { field }
            | ProcedureError::DateTooEarly { field, .. }
            | ProcedureError::Required { field } => ErrorKind::Validation { field },
            ProcedureError::InconsistentFacts { .. } => ErrorKind::Internal,
        }
    }
}

fn action_list(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "none".to_owned();
    }
    actions
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_allowed(action: Action, current: Status) -> ProcedureError {
    ProcedureError::NotAllowed {
        action,
        current,
        allowed: allowed_actions(current).to_vec(),
    }
}

/// The effective state, if `action` is allowed from it.
fn require(
    facts: &ListingFacts,
    action: Action,
    today: NaiveDate,
) -> Result<Status, ProcedureError> {
    let current = facts.effective_status(today);
    if allowed_actions(current).contains(&action) {
        Ok(current)
    } else {
        Err(not_allowed(action, current))
    }
}

fn present<T: Clone>(
    value: &Option<T>,
    status: Status,
    field: &'static str,
) -> Result<T, ProcedureError> {
    value
        .clone()
        .ok_or(ProcedureError::InconsistentFacts { status, field })
}

fn not_future(
    date: NaiveDate,
    today: NaiveDate,
    field: &'static str,
) -> Result<(), ProcedureError> {
    if date > today {
        Err(ProcedureError::DateInFuture { field })
    } else {
        Ok(())
    }
}

fn not_before(
    date: NaiveDate,
    earliest: NaiveDate,
    field: &'static str,
) -> Result<(), ProcedureError> {
    if date < earliest {
        Err(ProcedureError::DateTooEarly { field, earliest })
    } else {
        Ok(())
    }
}

/// `notice`: `proposed → noticed`. `served_on` lies between the latest basis decision and today;
/// `objection_deadline` (served_on + 5 working days, computed by the caller) lies after it.
pub fn notice(
    facts: &ListingFacts,
    served_on: NaiveDate,
    objection_deadline: NaiveDate,
    server: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Notice, today)?;
    not_future(served_on, today, "served_on")?;
    not_before(served_on, facts.basis_latest_decided_on, "served_on")?;
    if objection_deadline <= served_on {
        return Err(ProcedureError::DateTooEarly {
            field: "objection_deadline",
            earliest: served_on.succ_opt().unwrap_or(NaiveDate::MAX),
        });
    }
    Ok(Transition {
        action: Action::Notice,
        from,
        to: Status::Noticed,
        effective_on: served_on,
        by: server.to_owned(),
        set: ListingChanges {
            noticed_by: Update::Set(server.to_owned()),
            served_on: Update::Set(served_on),
            objection_deadline: Update::Set(objection_deadline),
            ..ListingChanges::default()
        },
    })
}

/// `objection`: `noticed → noticed`. Received from `served_on` through `objection_deadline`
/// inclusive (the deadline day itself is inside the window), and not after today.
pub fn object(
    facts: &ListingFacts,
    received_on: NaiveDate,
    recorded_by: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Object, today)?;
    let served_on = present(&facts.served_on, from, "served_on")?;
    let deadline = present(&facts.objection_deadline, from, "objection_deadline")?;
    not_future(received_on, today, "received_on")?;
    not_before(received_on, served_on, "received_on")?;
    if received_on > deadline {
        return Err(ProcedureError::AfterDeadline { deadline });
    }
    Ok(Transition {
        action: Action::Object,
        from,
        to: Status::Noticed,
        effective_on: received_on,
        by: recorded_by.to_owned(),
        set: ListingChanges::default(),
    })
}

/// `decision`: `noticed → listed | not_listed`, by a second official, after the objection
/// window has closed. Listing runs from `decided_on` for [`LISTING_YEARS`].
pub fn decide(
    facts: &ListingFacts,
    outcome: DecisionOutcome,
    decided_on: NaiveDate,
    decider: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Decide, today)?;
    let served_on = present(&facts.served_on, from, "served_on")?;
    let deadline = present(&facts.objection_deadline, from, "objection_deadline")?;
    let first_official = match &facts.proposed_by {
        Some(proposer) => proposer.clone(),
        None => present(&facts.noticed_by, from, "noticed_by")?,
    };
    if decider == first_official {
        return Err(ProcedureError::TwoOfficials);
    }
    not_future(decided_on, today, "decided_on")?;
    not_before(decided_on, served_on, "decided_on")?;
    if decided_on <= deadline {
        return Err(ProcedureError::DecisionInsideWindow { deadline });
    }
    let mut set = ListingChanges {
        decided_by: Update::Set(decider.to_owned()),
        decided_on: Update::Set(decided_on),
        ..ListingChanges::default()
    };
    let to = match outcome {
        DecisionOutcome::List => {
            set.listed_on = Update::Set(decided_on);
            set.expires_on = Update::Set(add_years(decided_on, LISTING_YEARS));
            Status::Listed
        }
        DecisionOutcome::NotList => Status::NotListed,
    };
    Ok(Transition {
        action: Action::Decide,
        from,
        to,
        effective_on: decided_on,
        by: decider.to_owned(),
        set,
    })
}

/// `repair`: a credit repair application on a listing that is listed on `today` (not expired),
/// from `listed_on` + [`REPAIR_AFTER_YEARS`] on, one pending at a time. The state stays `listed`.
pub fn apply_repair(
    facts: &ListingFacts,
    applied_on: NaiveDate,
    applicant: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::ApplyRepair, today)?;
    if facts.pending_repair_applied_on.is_some() {
        return Err(ProcedureError::RepairPending);
    }
    let listed_on = present(&facts.listed_on, from, "listed_on")?;
    not_future(applied_on, today, "applied_on")?;
    let earliest = add_years(listed_on, REPAIR_AFTER_YEARS);
    if applied_on < earliest {
        return Err(ProcedureError::RepairTooEarly { earliest });
    }
    Ok(Transition {
        action: Action::ApplyRepair,
        from,
        to: Status::Listed,
        effective_on: applied_on,
        by: applicant.to_owned(),
        set: ListingChanges {
            pending_repair_applied_on: Update::Set(applied_on),
            ..ListingChanges::default()
        },
    })
}

/// `repair_decision`: closes the pending application. `approve` → `removed` (reason
/// `credit_repair`, removed on `decided_on`); `reject` → stays `listed`.
pub fn decide_repair(
    facts: &ListingFacts,
    outcome: RepairOutcome,
    decided_on: NaiveDate,
    official: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::DecideRepair, today)?;
    let applied_on = facts
        .pending_repair_applied_on
        .ok_or(ProcedureError::NoPendingRepair)?;
    not_future(decided_on, today, "decided_on")?;
    not_before(decided_on, applied_on, "decided_on")?;
    let mut set = ListingChanges {
        pending_repair_applied_on: Update::Clear,
        ..ListingChanges::default()
    };
    let to = match outcome {
        RepairOutcome::Approve => {
            set.removed_on = Update::Set(decided_on);
            set.removal_reason = Update::Set(RemovalReason::CreditRepair);
            Status::Removed
        }
        RepairOutcome::Reject => Status::Listed,
    };
    Ok(Transition {
        action: Action::DecideRepair,
        from,
        to,
        effective_on: decided_on,
        by: official.to_owned(),
        set,
    })
}

/// `reinstate`: `removed → listed` when the repair turns out to rest on false statements. The
/// period restarts: `listed_on = reinstated_on`, `expires_on` [`LISTING_YEARS`] later.
pub fn reinstate(
    facts: &ListingFacts,
    reinstated_on: NaiveDate,
    official: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Reinstate, today)?;
    not_future(reinstated_on, today, "reinstated_on")?;
    if let Some(removed_on) = facts.removed_on {
        not_before(reinstated_on, removed_on, "reinstated_on")?;
    }
    Ok(Transition {
        action: Action::Reinstate,
        from,
        to: Status::Listed,
        effective_on: reinstated_on,
        by: official.to_owned(),
        set: ListingChanges {
            listed_on: Update::Set(reinstated_on),
            expires_on: Update::Set(add_years(reinstated_on, LISTING_YEARS)),
            removed_on: Update::Clear,
            removal_reason: Update::Clear,
            ..ListingChanges::default()
        },
    })
}

/// `revoke`: `proposed | noticed | listed | removed → revoked`, effective today, with a reason
/// (typically: every violation the listing rests on has been revoked).
pub fn revoke(
    facts: &ListingFacts,
    reason: &str,
    official: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Revoke, today)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ProcedureError::Required { field: "reason" });
    }
    Ok(Transition {
        action: Action::Revoke,
        from,
        to: Status::Revoked,
        effective_on: today,
        by: official.to_owned(),
        set: ListingChanges {
            revoked_on: Update::Set(today),
            revocation_reason: Update::Set(reason.to_owned()),
            pending_repair_applied_on: Update::Clear,
            ..ListingChanges::default()
        },
    })
}

/// `expire`: stores what [`effective_status`] already shows, for the background job. Needs a
/// stored `listed` whose `expires_on` has come (`today >= expires_on`); takes effect on
/// `expires_on`. A pending repair application lapses with the listing.
pub fn expire(
    facts: &ListingFacts,
    actor: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    if facts.status != Status::Listed {
        return Err(not_allowed(Action::Expire, facts.effective_status(today)));
    }
    let expires_on = present(&facts.expires_on, Status::Listed, "expires_on")?;
    if !period_ended(expires_on, today) {
        return Err(ProcedureError::NotYetExpired { expires_on });
    }
    Ok(Transition {
        action: Action::Expire,
        from: Status::Listed,
        to: Status::Expired,
        effective_on: expires_on,
        by: actor.to_owned(),
        set: ListingChanges {
            pending_repair_applied_on: Update::Clear,
            ..ListingChanges::default()
        },
    })
}

/// One action with its inputs, for callers that dispatch on the action name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    Notice {
        served_on: NaiveDate,
        objection_deadline: NaiveDate,
    },
    #[serde(rename = "objection")]
    Object {
        received_on: NaiveDate,
    },
    #[serde(rename = "decision")]
    Decide {
        outcome: DecisionOutcome,
        decided_on: NaiveDate,
    },
    #[serde(rename = "repair")]
    ApplyRepair {
        applied_on: NaiveDate,
    },
    #[serde(rename = "repair_decision")]
    DecideRepair {
        outcome: RepairOutcome,
        decided_on: NaiveDate,
    },
    Reinstate {
        reinstated_on: NaiveDate,
    },
    Revoke {
        reason: String,
    },
    Expire,
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::Notice { .. } => Action::Notice,
            Command::Object { .. } => Action::Object,
            Command::Decide { .. } => Action::Decide,
            Command::ApplyRepair { .. } => Action::ApplyRepair,
            Command::DecideRepair { .. } => Action::DecideRepair,
            Command::Reinstate { .. } => Action::Reinstate,
            Command::Revoke { .. } => Action::Revoke,
            Command::Expire => Action::Expire,
        }
    }
}

/// Runs `command` through its action function.
pub fn perform(
    facts: &ListingFacts,
    command: &Command,
    actor: &str,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    match command {
        Command::Notice {
            served_on,
            objection_deadline,
        } => notice(facts, *served_on, *objection_deadline, actor, today),
        Command::Object { received_on } => object(facts, *received_on, actor, today),
        Command::Decide {
            outcome,
            decided_on,
        } => decide(facts, *outcome, *decided_on, actor, today),
        Command::ApplyRepair { applied_on } => apply_repair(facts, *applied_on, actor, today),
        Command::DecideRepair {
            outcome,
            decided_on,
        } => decide_repair(facts, *outcome, *decided_on, actor, today),
        Command::Reinstate { reinstated_on } => reinstate(facts, *reinstated_on, actor, today),
        Command::Revoke { reason } => revoke(facts, reason, actor, today),
        Command::Expire => expire(facts, actor, today),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Days;
    use proptest::prelude::*;
    use serde::de::value::{Error as ValueError, StrDeserializer};
    use serde::de::IntoDeserializer;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn basis() -> NaiveDate {
        d(2024, 1, 10)
    }
    fn served() -> NaiveDate {
        d(2024, 1, 15)
    }
    fn deadline() -> NaiveDate {
        d(2024, 1, 22)
    }
    fn listed() -> NaiveDate {
        d(2024, 2, 1)
    }
    fn expires() -> NaiveDate {
        d(2027, 2, 1)
    }
    fn removed() -> NaiveDate {
        d(2025, 3, 1)
    }
    fn today() -> NaiveDate {
        d(2025, 6, 1)
    }

    /// Every edge of the graph: (from, action, to).
    const EDGES: &[(Status, Action, Status)] = &[
        (Status::Proposed, Action::Notice, Status::Noticed),
        (Status::Proposed, Action::Revoke, Status::Revoked),
        (Status::Noticed, Action::Object, Status::Noticed),
        (Status::Noticed, Action::Decide, Status::Listed),
        (Status::Noticed, Action::Decide, Status::NotListed),
        (Status::Noticed, Action::Revoke, Status::Revoked),
        (Status::Listed, Action::ApplyRepair, Status::Listed),
        (Status::Listed, Action::DecideRepair, Status::Removed),
        (Status::Listed, Action::DecideRepair, Status::Listed),
        (Status::Listed, Action::Revoke, Status::Revoked),
        (Status::Listed, Action::Expire, Status::Expired),
        (Status::Removed, Action::Reinstate, Status::Listed),
        (Status::Removed, Action::Revoke, Status::Revoked),
    ];

    fn in_graph(from: Status, action: Action, to: Status) -> bool {
        EDGES.contains(&(from, action, to))
    }

    /// A consistent listing stored in `status` (proposed by alice, noticed by bob).
    fn facts_in(status: Status) -> ListingFacts {
        let mut f = ListingFacts::proposed(Some("alice".into()), basis());
        f.status = status;
        if status == Status::Proposed {
            return f;
        }
        f.noticed_by = Some("bob".into());
        f.served_on = Some(served());
        f.objection_deadline = Some(deadline());
        if matches!(status, Status::Listed | Status::Expired | Status::Removed) {
            f.listed_on = Some(listed());
            f.expires_on = Some(expires());
        }
        if status == Status::Removed {
            f.removed_on = Some(removed());
        }
        f
    }

    /// A command (and the day to run it) that passes every guard where the graph allows it.
    fn happy(action: Action) -> (Command, NaiveDate) {
        let command = match action {
            Action::Propose => unreachable!("propose has no command"),
            Action::Notice => Command::Notice {
                served_on: d(2025, 5, 20),
                objection_deadline: d(2025, 5, 27),
            },
            Action::Object => Command::Object {
                received_on: deadline(),
            },
            Action::Decide => Command::Decide {
                outcome: DecisionOutcome::List,
                decided_on: listed(),
            },
            Action::ApplyRepair => Command::ApplyRepair {
                applied_on: d(2025, 3, 1),
            },
            Action::DecideRepair => Command::DecideRepair {
                outcome: RepairOutcome::Approve,
                decided_on: d(2025, 4, 1),
            },
            Action::Reinstate => Command::Reinstate {
                reinstated_on: d(2025, 5, 1),
            },
            Action::Revoke => Command::Revoke {
                reason: "penalty annulled on review".into(),
            },
            Action::Expire => Command::Expire,
        };
        let today = if action == Action::Expire {
            expires()
        } else {
            today()
        };
        (command, today)
    }

    #[test]
    fn every_status_action_pair() {
        for status in Status::ALL {
            for action in Action::ALL {
                let allowed = allowed_actions(status);
                if action == Action::Propose {
                    assert!(!allowed.contains(&action), "propose is never a step");
                    continue;
                }
                let mut facts = facts_in(status);
                if action == Action::DecideRepair {
                    facts.pending_repair_applied_on = Some(d(2025, 3, 1));
                }
                let (command, today) = happy(action);
                assert_eq!(command.action(), action);
                let result = perform(&facts, &command, "carol", today);
                if allowed.contains(&action) {
                    let t = result.unwrap_or_else(|e| panic!("{status} {action}: {e}"));
                    assert_eq!(t.action, action);
                    assert_eq!(t.from, status);
                    assert!(
                        in_graph(t.from, t.action, t.to),
                        "{status} {action} {}",
                        t.to
                    );
                } else {
                    let err = result.expect_err("not allowed");
                    assert_eq!(
                        err,
                        ProcedureError::NotAllowed {
                            action,
                            current: status,
                            allowed: allowed.to_vec(),
                        },
                        "{status} {action}"
                    );
                    assert_eq!(err.kind(), ErrorKind::Conflict);
                }
            }
        }
    }

    #[test]
    fn allowed_actions_are_exactly_the_graph_edges() {
        for status in Status::ALL {
            let mut from_edges: Vec<Action> = EDGES
                .iter()
                .filter(|(from, _, _)| *from == status)
                .map(|(_, a, _)| *a)
                .collect();
            from_edges.dedup();
            assert_eq!(allowed_actions(status), from_edges.as_slice(), "{status}");
            assert_eq!(status.is_final(), from_edges.is_empty());
        }
    }

    #[test]
    fn not_allowed_message_names_state_and_allowed_actions() {
        let err = decide(
            &facts_in(Status::Proposed),
            DecisionOutcome::List,
            listed(),
            "carol",
            today(),
        )
        .expect_err("not allowed");
        assert_eq!(
            err.to_string(),
            "cannot decide a listing in state `proposed`; allowed: notice, revoke"
        );
        let err = revoke(&facts_in(Status::Expired), "x", "carol", today()).expect_err("final");
        assert_eq!(
            err.to_string(),
            "cannot revoke a listing in state `expired`; allowed: none"
        );
    }

    #[test]
    fn notice_guards() {
        let f = facts_in(Status::Proposed);
        let t = notice(&f, served(), deadline(), "bob", today()).expect("ok");
        assert_eq!(t.to, Status::Noticed);
        assert_eq!(t.effective_on, served());
        assert_eq!(t.set.noticed_by, Update::Set("bob".into()));
        assert_eq!(t.set.objection_deadline, Update::Set(deadline()));
        // Served on the day the last basis violation was decided: fine; the day before: not.
        assert!(notice(&f, basis(), d(2024, 1, 17), "bob", today()).is_ok());
        let err = notice(&f, d(2024, 1, 9), deadline(), "bob", today()).expect_err("early");
        assert_eq!(
            err,
            ProcedureError::DateTooEarly {
                field: "served_on",
                earliest: basis()
            }
        );
        assert_eq!(err.kind(), ErrorKind::Validation { field: "served_on" });
        // Served today: fine; tomorrow: not.
        assert!(notice(&f, today(), d(2025, 6, 9), "bob", today()).is_ok());
        let err = notice(&f, d(2025, 6, 2), d(2025, 6, 9), "bob", today()).expect_err("future");
        assert_eq!(err, ProcedureError::DateInFuture { field: "served_on" });
        assert_eq!(err.kind().http_status(), 422);
        // The deadline lies after the service.
        let err = notice(&f, served(), served(), "bob", today()).expect_err("deadline");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "objection_deadline"
            }
        );
    }

    #[test]
    fn objection_window_includes_the_deadline_day() {
        let f = facts_in(Status::Noticed);
        let t = object(&f, deadline(), "bob", today()).expect("deadline day is inside");
        assert_eq!((t.from, t.to), (Status::Noticed, Status::Noticed));
        assert_eq!(t.effective_on, deadline());
        assert!(object(&f, served(), "bob", today()).is_ok());
        let err = object(&f, d(2024, 1, 23), "bob", today()).expect_err("late");
        assert_eq!(
            err,
            ProcedureError::AfterDeadline {
                deadline: deadline()
            }
        );
        assert_eq!(err.kind(), ErrorKind::Conflict);
        let err = object(&f, d(2024, 1, 14), "bob", today()).expect_err("before service");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "received_on"
            }
        );
        let err = object(&f, d(2024, 1, 20), "bob", d(2024, 1, 19)).expect_err("future");
        assert_eq!(
            err,
            ProcedureError::DateInFuture {
                field: "received_on"
            }
        );
    }

    #[test]
    fn decision_waits_for_the_window_to_close() {
        let f = facts_in(Status::Noticed);
        let err = decide(&f, DecisionOutcome::List, deadline(), "carol", today())
            .expect_err("inside window");
        assert_eq!(
            err,
            ProcedureError::DecisionInsideWindow {
                deadline: deadline()
            }
        );
        assert_eq!(err.kind().http_status(), 409);
        let next = d(2024, 1, 23);
        let t = decide(&f, DecisionOutcome::List, next, "carol", today()).expect("day after");
        assert_eq!(t.to, Status::Listed);
        assert_eq!(t.set.listed_on, Update::Set(next));
        assert_eq!(t.set.expires_on, Update::Set(d(2027, 1, 23)));
        assert_eq!(t.set.decided_by, Update::Set("carol".into()));
        let t = decide(&f, DecisionOutcome::NotList, next, "carol", today()).expect("not list");
        assert_eq!(t.to, Status::NotListed);
        assert!(t.set.listed_on.is_keep() && t.set.expires_on.is_keep());
        let err = decide(
            &f,
            DecisionOutcome::List,
            today().succ_opt().expect("d"),
            "carol",
            today(),
        )
        .expect_err("future");
        assert_eq!(
            err,
            ProcedureError::DateInFuture {
                field: "decided_on"
            }
        );
        let err = decide(&f, DecisionOutcome::List, d(2024, 1, 1), "carol", today())
            .expect_err("before service");
        assert_eq!(
            err,
            ProcedureError::DateTooEarly {
                field: "decided_on",
                earliest: served()
            }
        );
    }

    #[test]
    fn leap_day_listing_expires_on_28_february() {
        let mut f = facts_in(Status::Noticed);
        f.served_on = Some(d(2028, 2, 10));
        f.objection_deadline = Some(d(2028, 2, 17));
        let t = decide(
            &f,
            DecisionOutcome::List,
            d(2028, 2, 29),
            "carol",
            d(2028, 3, 1),
        )
        .expect("ok");
        assert_eq!(t.set.listed_on, Update::Set(d(2028, 2, 29)));
        assert_eq!(t.set.expires_on, Update::Set(d(2031, 2, 28)));
    }

    #[test]
    fn two_officials() {
        // Proposed by alice, noticed by bob.
        let f = facts_in(Status::Noticed);
        let err =
            decide(&f, DecisionOutcome::List, listed(), "alice", today()).expect_err("proposer");
        assert_eq!(err, ProcedureError::TwoOfficials);
        assert_eq!(err.kind(), ErrorKind::Forbidden);
        assert_eq!(err.kind().http_status(), 403);
        assert!(decide(&f, DecisionOutcome::List, listed(), "bob", today()).is_ok());
        // A system proposal: the notice server stands in for the proposer.
        let mut sys = f.clone();
        sys.proposed_by = None;
        let err = decide(&sys, DecisionOutcome::NotList, listed(), "bob", today())
            .expect_err("notice server");
        assert_eq!(err, ProcedureError::TwoOfficials);
        assert!(decide(&sys, DecisionOutcome::NotList, listed(), "carol", today()).is_ok());
        assert!(decide(&sys, DecisionOutcome::NotList, listed(), "alice", today()).is_ok());
        // The state is judged first: deciding a proposed listing is a conflict, not forbidden.
        let err = decide(
            &facts_in(Status::Proposed),
            DecisionOutcome::List,
            listed(),
            "alice",
            today(),
        )
        .expect_err("state");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn repair_from_one_year_after_listing() {
        let f = facts_in(Status::Listed);
        let earliest = d(2025, 2, 1);
        let t = apply_repair(&f, earliest, "party", today()).expect("exactly one year");
        assert_eq!((t.from, t.to), (Status::Listed, Status::Listed));
        assert_eq!(t.set.pending_repair_applied_on, Update::Set(earliest));
        let err = apply_repair(&f, d(2025, 1, 31), "party", today()).expect_err("day before");
        assert_eq!(err, ProcedureError::RepairTooEarly { earliest });
        assert_eq!(err.kind(), ErrorKind::Conflict);
        let err = apply_repair(&f, d(2025, 6, 2), "party", today()).expect_err("future");
        assert_eq!(
            err,
            ProcedureError::DateInFuture {
                field: "applied_on"
            }
        );

        let mut leap = f.clone();
        leap.listed_on = Some(d(2028, 2, 29));
        leap.expires_on = Some(d(2031, 2, 28));
        let now = d(2029, 6, 1);
        assert!(apply_repair(&leap, d(2029, 2, 28), "party", now).is_ok());
        assert_eq!(
            apply_repair(&leap, d(2029, 2, 27), "party", now).expect_err("early"),
            ProcedureError::RepairTooEarly {
                earliest: d(2029, 2, 28)
            }
        );
    }

    #[test]
    fn one_pending_repair_at_a_time() {
        let mut f = facts_in(Status::Listed);
        assert_eq!(
            decide_repair(&f, RepairOutcome::Approve, today(), "carol", today())
                .expect_err("none pending"),
            ProcedureError::NoPendingRepair
        );
        let t = apply_repair(&f, d(2025, 3, 1), "party", today()).expect("apply");
        f.apply(&t);
        assert_eq!(f.pending_repair_applied_on, Some(d(2025, 3, 1)));
        let err = apply_repair(&f, d(2025, 3, 2), "party", today()).expect_err("pending");
        assert_eq!(err, ProcedureError::RepairPending);
        assert_eq!(err.kind(), ErrorKind::Conflict);

        let err = decide_repair(&f, RepairOutcome::Reject, d(2025, 2, 28), "carol", today())
            .expect_err("before application");
        assert_eq!(
            err,
            ProcedureError::DateTooEarly {
                field: "decided_on",
                earliest: d(2025, 3, 1)
            }
        );
        let t = decide_repair(&f, RepairOutcome::Reject, d(2025, 3, 1), "carol", today())
            .expect("reject");
        assert_eq!((t.from, t.to), (Status::Listed, Status::Listed));
        assert_eq!(t.set.pending_repair_applied_on, Update::Clear);
        let mut rejected = f.clone();
        rejected.apply(&t);
        assert_eq!(rejected.pending_repair_applied_on, None);
        assert!(apply_repair(&rejected, d(2025, 4, 1), "party", today()).is_ok());

        let t = decide_repair(&f, RepairOutcome::Approve, d(2025, 4, 1), "carol", today())
            .expect("approve");
        assert_eq!(t.to, Status::Removed);
        assert_eq!(t.set.removed_on, Update::Set(d(2025, 4, 1)));
        assert_eq!(
            t.set.removal_reason,
            Update::Set(RemovalReason::CreditRepair)
        );
        assert_eq!(RemovalReason::CreditRepair.as_str(), "credit_repair");
        f.apply(&t);
        assert_eq!(f.status, Status::Removed);
        assert!(!f.status.is_published());
    }

    #[test]
    fn reinstatement_restarts_the_period() {
        let mut f = facts_in(Status::Removed);
        let on = d(2026, 1, 10);
        let t = reinstate(&f, on, "carol", d(2026, 1, 12)).expect("reinstate");
        assert_eq!((t.from, t.to), (Status::Removed, Status::Listed));
        assert_eq!(t.set.listed_on, Update::Set(on));
        assert_eq!(t.set.expires_on, Update::Set(d(2029, 1, 10)));
        assert_eq!(t.set.removed_on, Update::Clear);
        assert_eq!(t.set.removal_reason, Update::Clear);
        f.apply(&t);
        assert_eq!(f.status, Status::Listed);
        assert_eq!(f.listed_on, Some(on));
        assert_eq!(f.expires_on, Some(d(2029, 1, 10)));
        assert_eq!(f.removed_on, None);
        // The old expiry day has no effect any more.
        assert_eq!(f.effective_status(expires()), Status::Listed);
        // Repair again only a year after the new start.
        assert_eq!(
            apply_repair(&f, d(2026, 6, 1), "party", d(2026, 6, 1)).expect_err("early"),
            ProcedureError::RepairTooEarly {
                earliest: d(2027, 1, 10)
            }
        );

        let f = facts_in(Status::Removed);
        let err = reinstate(&f, d(2025, 2, 28), "carol", today()).expect_err("before removal");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "reinstated_on"
            }
        );
        let err = reinstate(&f, d(2025, 6, 2), "carol", today()).expect_err("future");
        assert_eq!(
            err,
            ProcedureError::DateInFuture {
                field: "reinstated_on"
            }
        );
    }

    #[test]
    fn expiry_on_the_expires_on_day() {
        let f = facts_in(Status::Listed);
        let day_before = d(2027, 1, 31);
        assert_eq!(
            effective_status(Status::Listed, Some(expires()), day_before),
            Status::Listed
        );
        assert_eq!(
            effective_status(Status::Listed, Some(expires()), expires()),
            Status::Expired
        );
        assert_eq!(
            effective_status(Status::Removed, Some(expires()), expires()),
            Status::Removed
        );
        assert_eq!(
            effective_status(Status::Listed, None, expires()),
            Status::Listed
        );
        assert_eq!(
            expire(&f, "system", day_before).expect_err("not yet"),
            ProcedureError::NotYetExpired {
                expires_on: expires()
            }
        );
        let t = expire(&f, "system", d(2027, 3, 1)).expect("expire");
        assert_eq!((t.from, t.to), (Status::Listed, Status::Expired));
        assert_eq!(t.effective_on, expires());
        assert!(!Status::Expired.is_published());
        // Every answer sees it expired at once, before the job runs.
        let err = apply_repair(&f, expires(), "party", expires()).expect_err("expired");
        assert_eq!(
            err,
            ProcedureError::NotAllowed {
                action: Action::ApplyRepair,
                current: Status::Expired,
                allowed: vec![],
            }
        );
        assert!(revoke(&f, "annulled", "carol", expires()).is_err());
        // Already stored as expired.
        let err = expire(&facts_in(Status::Expired), "system", expires()).expect_err("done");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn pending_repair_lapses_with_expiry() {
        let mut f = facts_in(Status::Listed);
        f.pending_repair_applied_on = Some(d(2026, 12, 1));
        let t = expire(&f, "system", expires()).expect("expire");
        f.apply(&t);
        assert_eq!(f.pending_repair_applied_on, None);
    }

    #[test]
    fn revoke_from_every_live_stage() {
        for status in [
            Status::Proposed,
            Status::Noticed,
            Status::Listed,
            Status::Removed,
        ] {
            let t = revoke(&facts_in(status), "  penalty annulled  ", "carol", today())
                .expect("revoke");
            assert_eq!((t.from, t.to), (status, Status::Revoked));
            assert_eq!(t.effective_on, today());
            assert_eq!(
                t.set.revocation_reason,
                Update::Set("penalty annulled".into())
            );
        }
        for status in [Status::NotListed, Status::Expired, Status::Revoked] {
            assert!(revoke(&facts_in(status), "x", "carol", today()).is_err());
        }
        let err = revoke(&facts_in(Status::Listed), "  ", "carol", today()).expect_err("empty");
        assert_eq!(err.kind(), ErrorKind::Validation { field: "reason" });
    }

    #[test]
    fn inconsistent_facts_are_internal_errors() {
        let mut f = facts_in(Status::Noticed);
        f.objection_deadline = None;
        let err = object(&f, served(), "bob", today()).expect_err("inconsistent");
        assert_eq!(
            err,
            ProcedureError::InconsistentFacts {
                status: Status::Noticed,
                field: "objection_deadline"
            }
        );
        assert_eq!(err.kind().http_status(), 500);
        let mut f = facts_in(Status::Listed);
        f.expires_on = None;
        assert_eq!(
            expire(&f, "system", today()).expect_err("no expiry").kind(),
            ErrorKind::Internal
        );
    }

    #[test]
    fn add_years_keeps_the_calendar_date() {
        assert_eq!(add_years(d(2024, 2, 1), 3), d(2027, 2, 1));
        assert_eq!(add_years(d(2028, 2, 29), 3), d(2031, 2, 28));
        assert_eq!(add_years(d(2028, 2, 29), 1), d(2029, 2, 28));
        assert_eq!(add_years(d(2024, 2, 29), 4), d(2028, 2, 29));
        assert_eq!(add_years(d(2024, 12, 31), 0), d(2024, 12, 31));
        assert_eq!(add_years(d(2024, 1, 1), u32::MAX), NaiveDate::MAX);
        assert_eq!(add_years(d(2024, 1, 1), 1_000_000), NaiveDate::MAX);
    }

    fn de<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, ValueError> {
        let deserializer: StrDeserializer<'_, ValueError> = s.into_deserializer();
        T::deserialize(deserializer)
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(de::<Status>(s.as_str()).expect("serde"), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
            assert_eq!(de::<Action>(a.as_str()).expect("serde"), a);
        }
        assert_eq!(Status::NotListed.as_str(), "not_listed");
        assert_eq!(Action::Object.as_str(), "objection");
        assert_eq!(Action::ApplyRepair.as_str(), "repair");
        assert_eq!(Action::DecideRepair.as_str(), "repair_decision");
        let err = "listd".parse::<Status>().expect_err("unknown");
        assert_eq!(err.to_string(), "unknown status `listd`");
        assert!("object".parse::<Action>().is_err());
        assert_eq!(
            de::<DecisionOutcome>("not_list").expect("serde"),
            DecisionOutcome::NotList
        );
        assert_eq!(DecisionOutcome::NotList.as_str(), "not_list");
        assert_eq!(
            de::<RepairOutcome>("approve").expect("serde"),
            RepairOutcome::Approve
        );
        assert_eq!(RepairOutcome::Reject.as_str(), "reject");
    }

    #[test]
    fn update_changeset() {
        assert_eq!(Update::<u8>::Keep.into_changeset(), None);
        assert_eq!(Update::Set(1u8).into_changeset(), Some(Some(1)));
        assert_eq!(Update::<u8>::Clear.into_changeset(), Some(None));
        assert!(Update::<u8>::default().is_keep());
    }

    fn check_invariants(f: &ListingFacts) -> Result<(), TestCaseError> {
        match f.status {
            Status::Listed => {
                let listed_on = f
                    .listed_on
                    .ok_or_else(|| TestCaseError::fail("listed_on"))?;
                let expires_on = f
                    .expires_on
                    .ok_or_else(|| TestCaseError::fail("expires_on"))?;
                prop_assert_eq!(expires_on, add_years(listed_on, LISTING_YEARS));
            }
            Status::Noticed => {
                prop_assert!(f.noticed_by.is_some());
                let served_on = f
                    .served_on
                    .ok_or_else(|| TestCaseError::fail("served_on"))?;
                let deadline = f
                    .objection_deadline
                    .ok_or_else(|| TestCaseError::fail("deadline"))?;
                prop_assert!(served_on >= f.basis_latest_decided_on);
                prop_assert!(deadline > served_on);
            }
            Status::Removed => {
                prop_assert!(f.removed_on.is_some() && f.listed_on.is_some());
            }
            Status::Expired => prop_assert!(f.expires_on.is_some()),
            Status::Proposed | Status::NotListed | Status::Revoked => {}
        }
        if f.pending_repair_applied_on.is_some() {
            prop_assert_eq!(f.status, Status::Listed);
        }
        Ok(())
    }

    #[derive(Debug, Clone)]
    struct Step {
        /// Pick among the actions the current state allows (revoke aside), or any action.
        guided: bool,
        kind: u8,
        advance: u16,
        back: u8,
        window: u8,
        yes: bool,
        who: usize,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            prop::bool::weighted(0.8),
            0u8..8,
            prop_oneof![0u16..15, 0u16..400],
            0u8..20,
            1u8..10,
            any::<bool>(),
            0usize..3,
        )
            .prop_map(|(guided, kind, advance, back, window, yes, who)| Step {
                guided,
                kind,
                advance,
                back,
                window,
                yes,
                who,
            })
    }

    fn command_for(s: &Step, action: Action, date: NaiveDate) -> Command {
        match action {
            Action::Notice => Command::Notice {
                served_on: date,
                objection_deadline: date + Days::new(u64::from(s.window)),
            },
            Action::Object => Command::Object { received_on: date },
            Action::Decide => Command::Decide {
                outcome: if s.yes {
                    DecisionOutcome::List
                } else {
                    DecisionOutcome::NotList
                },
                decided_on: date,
            },
            Action::ApplyRepair => Command::ApplyRepair { applied_on: date },
            Action::DecideRepair => Command::DecideRepair {
                outcome: if s.yes {
                    RepairOutcome::Approve
                } else {
                    RepairOutcome::Reject
                },
                decided_on: date,
            },
            Action::Reinstate => Command::Reinstate {
                reinstated_on: date,
            },
            Action::Revoke => Command::Revoke {
                reason: "annulled".into(),
            },
            Action::Propose | Action::Expire => Command::Expire,
        }
    }

    fn pick_action(s: &Step, facts: &ListingFacts, today: NaiveDate) -> Action {
        let steps: Vec<Action> = allowed_actions(facts.effective_status(today))
            .iter()
            .copied()
            .filter(|a| *a != Action::Revoke)
            .collect();
        if s.guided
            && facts.status == Status::Listed
            && facts.effective_status(today) == Status::Expired
        {
            Action::Expire
        } else if s.guided && !steps.is_empty() {
            steps[usize::from(s.kind) % steps.len()]
        } else {
            Action::ALL[1 + usize::from(s.kind)]
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn random_sequences_stay_in_the_graph(
            system in any::<bool>(),
            steps in proptest::collection::vec(step(), 0..40),
        ) {
            let officials = ["alice", "bob", "carol"];
            let basis = d(2024, 1, 1);
            let mut today = basis;
            let mut facts =
                ListingFacts::proposed((!system).then(|| "alice".to_owned()), basis);
            for s in steps {
                today = today + Days::new(u64::from(s.advance));
                let date = today - Days::new(u64::from(s.back));
                let command = command_for(&s, pick_action(&s, &facts, today), date);
                let before = facts.effective_status(today);
                match perform(&facts, &command, officials[s.who], today) {
                    Ok(t) => {
                        prop_assert!(in_graph(t.from, t.action, t.to), "{:?}", t);
                        let expected_from = if t.action == Action::Expire { facts.status } else { before };
                        prop_assert_eq!(t.from, expected_from);
                        prop_assert!(t.effective_on <= today);
                        facts.apply(&t);
                        check_invariants(&facts)?;
                    }
                    Err(ProcedureError::NotAllowed { action, current, allowed }) => {
                        prop_assert_eq!(current, before);
                        prop_assert_eq!(allowed.as_slice(), allowed_actions(current));
                        prop_assert!(!allowed.contains(&action));
                    }
                    Err(e) => {
                        // Guards fire only where the graph would allow the step.
                        let status = if command.action() == Action::Expire { facts.status } else { before };
                        prop_assert!(allowed_actions(status).contains(&command.action()), "{}", e);
                    }
                }
            }
        }

        #[test]
        fn add_years_properties(days in 0u32..200_000, n in 0u32..100) {
            let date = d(1900, 1, 1) + Days::new(u64::from(days));
            let later = add_years(date, n);
            prop_assert_eq!(i64::from(later.year()), i64::from(date.year()) + i64::from(n));
            prop_assert_eq!(later.month(), date.month());
            if date.month() == 2 && date.day() == 29 && later.with_day(29).is_none() {
                prop_assert_eq!(later.day(), 28);
            } else {
                prop_assert_eq!(later.day(), date.day());
            }
        }
    }
}
