//! The listing procedure: the states a blacklist entry goes through and the guards on each step,
//! as SAMR Order 44 (2021), the Administrative Penalty Law (行政处罚法) and the Civil Code's rules
//! on periods (民法典 art. 201–202) require them. `docs/procedure.md` cites the article of each rule.
//!
//! ```text
//! proposed ──notice──▶ noticed ──decision(list)─────▶ listed ──expire──────────────▶ expired
//!    │                    │    └─decision(not_list)─▶ not_listed
//!    │                    ├─objection, hearing,      listed ──repair_decision(approve)──▶ removed
//!    │                    │ hearing withdrawal,      removed ──reinstate──▶ listed (period restarts)
//!    │                    │ consent (stay noticed)
//! proposed | noticed | listed | removed ──revoke──▶ revoked
//! ```
//!
//! Everything here is pure: no clock, no calendar, no storage. The caller passes `today`, the
//! stored [`ListingFacts`], the acting [`Official`] and the action's inputs; each action function
//! answers with the [`Transition`] to store, or a [`ProcedureError`] whose
//! [`ProcedureError::kind`] says which problem it is (409 for order-of-state problems, 403 for
//! who may act, 422 for a bad input naming its field).
//!
//! Decisions recorded here:
//! - **The period, counted as the Civil Code counts it.** Three years run from the day after
//!   `listed_on` and end on the anniversary date, `expires_on` (民法典 art. 201–202; 29 February
//!   → 28 February). The entry is in force through `expires_on` and `expired` from the next day,
//!   in every answer at once ([`effective_status`]); the background job's [`expire`] then stores
//!   it. A practice ban or business restriction running longer sets `expires_on` to its end
//!   (Order 44 art. 21).
//! - **Who acts.** Only officials of the authority — the bureau that imposed the penalty — take a
//!   step (Order 44 art. 13 ¶2); the decider is not the proposer (nor, for a system proposal, the
//!   official who served the notice), an internal control of the registry; a city or county
//!   bureau's decision to list needs the prior consent of the bureau one level up (Order 44
//!   art. 22), given by an official of that bureau.
//! - **With the penalty procedure** (Order 44 art. 13): the notice may come before the penalty
//!   decision, and the decision to list takes the penalty decision with it when a basis
//!   penalty is still pending; the decision is then dated the day of the penalty decision.
//! - **Hearings** (行政处罚法 art. 63–65): a requested hearing stops the decision until it is
//!   held or withdrawn.
//! - **No intent proven** (Order 44 art. 12 ¶2): the only decision left is `not_list`.
//! - **Revoke** is allowed from `proposed`, `noticed`, `listed` and `removed`: when the penalty
//!   the listing rests on is annulled, the listing is void whatever stage it reached.
//! - **Working days** stay outside this module: the caller computes the objection deadline
//!   (served_on + 5 working days) with its calendar and passes it to [`notice`].

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Years a listing lasts from its decision (or its reinstatement) (Order 44 art. 21).
pub const LISTING_YEARS: u32 = 3;
/// Years after `listed_on` before the party may apply for credit repair.
pub const REPAIR_AFTER_YEARS: u32 = 1;
/// Working days a party has to state its case or ask for a hearing after being served notice
/// (SAMR's penalty procedure rule, art. 57 ¶2; 行政处罚法 art. 64 (1) with art. 85).
pub const OBJECTION_WORKING_DAYS: u32 = 5;
/// Working days from the decision by which the entry must be published (Order 44 art. 14 ¶1).
pub const PUBLICATION_WORKING_DAYS: u32 = 20;
/// Days the party has to apply for administrative reconsideration of the decision
/// (行政复议法 art. 20 ¶1: 六十日).
pub const RECONSIDERATION_DAYS: u32 = 60;
/// Months the party has to bring an administrative lawsuit against the decision
/// (行政诉讼法 art. 46 ¶1: 六个月).
pub const LAWSUIT_MONTHS: u32 = 6;

pub use crate::UnknownName;

/// Who took a step the listed party took itself (a statement or a repair application made
/// through the portal), as a [`Transition`] names it.
pub const PARTY: &str = "party";

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
    #[serde(rename = "hearing")]
    Hearing,
    #[serde(rename = "hearing_withdrawal")]
    HearingWithdrawal,
    #[serde(rename = "consent")]
    Consent,
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
    pub const ALL: [Action; 12] = [
        Action::Propose,
        Action::Notice,
        Action::Object,
        Action::Hearing,
        Action::HearingWithdrawal,
        Action::Consent,
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
            Action::Hearing => "hearing",
            Action::HearingWithdrawal => "hearing_withdrawal",
            Action::Consent => "consent",
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
            Action::Hearing => "record a hearing on",
            Action::HearingWithdrawal => "record the withdrawal of a hearing request on",
            Action::Consent => "give consent to",
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
crate::named_values!(HearingStatus, "hearing status");
crate::named_values!(ConsentOutcome, "consent outcome");

/// The actions the graph allows from `status`, judged on the state alone (an action may still
/// fail its guards). `propose` creates a listing and is allowed from no state.
pub fn allowed_actions(status: Status) -> &'static [Action] {
    match status {
        Status::Proposed => &[Action::Notice, Action::Revoke],
        Status::Noticed => &[
            Action::Object,
            Action::Hearing,
            Action::HearingWithdrawal,
            Action::Consent,
            Action::Decide,
            Action::Revoke,
        ],
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

/// The state to show: a `listed` listing whose period has ended (the day after `expires_on`) is
/// `expired`; every other state is shown as stored. A `listed` row without `expires_on` cannot
/// expire (it would be inconsistent; the action functions report it).
pub fn effective_status(stored: Status, expires_on: Option<NaiveDate>, today: NaiveDate) -> Status {
    match (stored, expires_on) {
        (Status::Listed, Some(expires_on)) if period_ended(expires_on, today) => Status::Expired,
        _ => stored,
    }
}

/// Whether a listing period whose last day is `expires_on` is over on `day`: the entry is in
/// force through its last day (民法典 art. 202: the corresponding day is the last day).
pub fn period_ended(expires_on: NaiveDate, day: NaiveDate) -> bool {
    day > expires_on
}

/// Whether a listing stored in `stored` with `expires_on` is published and in
/// force on `day`: the one definition every answer uses (the data layer's
/// `in_force_on` is its SQL twin).
pub fn in_force(stored: Status, expires_on: Option<NaiveDate>, day: NaiveDate) -> bool {
    stored == Status::Listed && expires_on.is_some_and(|e| !period_ended(e, day))
}

/// The same calendar date `n` years later; 29 February maps to 28 February in a common year
/// (民法典 art. 202: without a corresponding day, the last day of that month).
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

/// The last day of a listing decided (or reinstated) on `from`: the anniversary `LISTING_YEARS`
/// later (民法典 art. 201–202), or the end of a practice ban or business restriction of a basis
/// penalty when that comes later (Order 44 art. 21).
pub fn listing_ends_on(from: NaiveDate, restriction_until: Option<NaiveDate>) -> NaiveDate {
    let anniversary = add_years(from, LISTING_YEARS);
    restriction_until.map_or(anniversary, |until| until.max(anniversary))
}

/// The first day credit repair may be applied for: the day after the first anniversary of
/// `listed_on` (a year "满一年后" has passed only once its last day has).
pub fn repair_opens_on(listed_on: NaiveDate) -> NaiveDate {
    let anniversary = add_years(listed_on, REPAIR_AFTER_YEARS);
    anniversary
        .checked_add_days(Days::new(1))
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

/// Where the party's hearing stands (行政处罚法 art. 63–65).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HearingStatus {
    /// The party asked for a hearing: no decision until it is held or withdrawn.
    Requested,
    Held,
    Withdrawn,
}

impl HearingStatus {
    pub const ALL: [HearingStatus; 3] = [
        HearingStatus::Requested,
        HearingStatus::Held,
        HearingStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HearingStatus::Requested => "requested",
            HearingStatus::Held => "held",
            HearingStatus::Withdrawn => "withdrawn",
        }
    }
}

/// The parent bureau's answer to a request for consent (Order 44 art. 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentOutcome {
    Agree,
    Disagree,
}

impl ConsentOutcome {
    pub const ALL: [ConsentOutcome; 2] = [ConsentOutcome::Agree, ConsentOutcome::Disagree];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentOutcome::Agree => "agree",
            ConsentOutcome::Disagree => "disagree",
        }
    }
}

/// What the bureau weighed in proposing a listing: the factors of Order 44 art. 12 ¶1, each a
/// free-text note (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Considerations {
    /// 主观恶意.
    pub intent: Option<String>,
    /// 违法频次.
    pub frequency: Option<String>,
    /// 持续时间.
    pub duration: Option<String>,
    /// 处罚类型.
    pub penalty_type: Option<String>,
    /// 罚没款数额.
    pub amount: Option<String>,
    /// 产品货值金额.
    pub goods_value: Option<String>,
    /// 对人民群众生命健康的危害.
    pub harm: Option<String>,
    /// 财产损失.
    pub property_loss: Option<String>,
    /// 社会影响.
    pub social_impact: Option<String>,
}

impl Considerations {
    /// The factors with their labels, for documents and audit.
    pub fn factors(&self) -> [(&'static str, &'static str, Option<&str>); 9] {
        [
            ("intent", "主观恶意", self.intent.as_deref()),
            ("frequency", "违法频次", self.frequency.as_deref()),
            ("duration", "持续时间", self.duration.as_deref()),
            ("penalty_type", "处罚类型", self.penalty_type.as_deref()),
            ("amount", "罚没款数额", self.amount.as_deref()),
            ("goods_value", "产品货值金额", self.goods_value.as_deref()),
            ("harm", "对人民群众生命健康的危害", self.harm.as_deref()),
            ("property_loss", "财产损失", self.property_loss.as_deref()),
            ("social_impact", "社会影响", self.social_impact.as_deref()),
        ]
    }
}

/// An official taking a step: who, and of which bureau.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Official<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
}

/// Whether the authority's decision to list needs its parent bureau's consent
/// (Order 44 art. 22: county-level and city-level bureaus).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Consent {
    /// A provincial or national bureau decides alone.
    #[default]
    NotNeeded,
    /// A city or county bureau: the parent bureau `parent_id` must agree before the decision.
    Needed {
        parent_id: String,
        /// The parent's latest answer, if it gave one.
        given: Option<ConsentOutcome>,
    },
}

/// What the procedure needs to know about a stored listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingFacts {
    /// The stored state (not yet corrected for expiry; see [`ListingFacts::effective_status`]).
    pub status: Status,
    /// The bureau that imposed the basis penalties and acts on the listing; `None` only for
    /// records made before authorities were kept, on which the authority rule cannot be judged.
    pub authority_id: Option<String>,
    /// The official who proposed it; `None` for a system proposal.
    pub proposed_by: Option<String>,
    /// The official who served the notice.
    pub noticed_by: Option<String>,
    pub served_on: Option<NaiveDate>,
    /// The last day of the objection window (served_on + 5 working days, computed by the caller).
    pub objection_deadline: Option<NaiveDate>,
    pub hearing: Option<HearingStatus>,
    pub consent: Consent,
    /// The party proved it had no intent (Order 44 art. 12 ¶2): the only decision is `not_list`.
    pub no_intent_proven: bool,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    /// `applied_on` of the credit repair application awaiting a decision, if any.
    pub pending_repair_applied_on: Option<NaiveDate>,
    pub removed_on: Option<NaiveDate>,
    /// The latest `decided_on` among the basis violations already decided.
    pub basis_latest_decided_on: NaiveDate,
    /// Some basis penalty is still pending: the decision to list must take its decision.
    pub basis_pending: bool,
    /// The latest end of a practice ban or business restriction among the basis penalties.
    pub restriction_until: Option<NaiveDate>,
    /// A repair was found false: no application through this day (Order 107 art. 23 ¶2).
    pub repair_barred_until: Option<NaiveDate>,
    /// A heavier penalty of the party decided after it was listed, if any (Order 107 art. 13 ¶1).
    pub new_heavier_penalty: Option<String>,
}

impl ListingFacts {
    /// A freshly proposed listing.
    pub fn proposed(proposed_by: Option<String>, basis_latest_decided_on: NaiveDate) -> Self {
        ListingFacts {
            status: Status::Proposed,
            authority_id: None,
            proposed_by,
            noticed_by: None,
            served_on: None,
            objection_deadline: None,
            hearing: None,
            consent: Consent::NotNeeded,
            no_intent_proven: false,
            listed_on: None,
            expires_on: None,
            pending_repair_applied_on: None,
            removed_on: None,
            basis_latest_decided_on,
            basis_pending: false,
            restriction_until: None,
            repair_barred_until: None,
            new_heavier_penalty: None,
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
        set.hearing_status.apply_to(&mut self.hearing);
        set.listed_on.apply_to(&mut self.listed_on);
        set.expires_on.apply_to(&mut self.expires_on);
        set.pending_repair_applied_on
            .apply_to(&mut self.pending_repair_applied_on);
        set.removed_on.apply_to(&mut self.removed_on);
        set.repair_barred_until
            .apply_to(&mut self.repair_barred_until);
        if set.penalty_decided_on.is_set() {
            self.basis_pending = false;
        }
        if let (Consent::Needed { given, .. }, Some(outcome)) = (&mut self.consent, set.consent) {
            *given = Some(outcome);
        }
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

    pub fn is_set(&self) -> bool {
        matches!(self, Update::Set(_))
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
    pub hearing_status: Update<HearingStatus>,
    /// The parent bureau's answer (stored with the consent record; the facts keep the latest).
    pub consent: Option<ConsentOutcome>,
    /// The official who made the listing decision.
    pub decided_by: Update<String>,
    /// The day of the listing decision.
    pub decided_on: Update<NaiveDate>,
    /// The day of the penalty decision the listing decision took with it (pending basis).
    pub penalty_decided_on: Update<NaiveDate>,
    pub listed_on: Update<NaiveDate>,
    pub expires_on: Update<NaiveDate>,
    /// The day the entry is published: the decision to list (Order 44 art. 14).
    pub published_on: Update<NaiveDate>,
    pub publication_due_by: Update<NaiveDate>,
    pub pending_repair_applied_on: Update<NaiveDate>,
    pub removed_on: Update<NaiveDate>,
    pub removal_reason: Update<RemovalReason>,
    pub revoked_on: Update<NaiveDate>,
    pub revocation_reason: Update<String>,
    /// A repair found false bars new applications through this day.
    pub repair_barred_until: Update<NaiveDate>,
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

/// How a [`ProcedureError`] maps onto a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 409: the step does not fit the listing's state or its dates in the procedure.
    Conflict,
    /// 409 naming the condition that refused the step (`hearing_pending`, `consent_required`, …).
    Refused { condition: &'static str },
    /// 403: who may act.
    Forbidden,
    /// 422: the named input is invalid on its own terms.
    Validation { field: &'static str },
    /// 500: the stored listing contradicts its own state.
    Internal,
}

impl ErrorKind {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Conflict | ErrorKind::Refused { .. } => 409,
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
    #[error("only officials of the authority that imposed the penalty act on this listing (Order 44 art. 13)")]
    NotTheAuthority,
    #[error("the consent must come from the parent bureau of the authority (Order 44 art. 22)")]
    NotTheParent,
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
    #[error("the party asked for a hearing: the listing cannot be decided until the hearing is held or the request withdrawn (行政处罚法 art. 63–65)")]
    HearingPending,
    #[error("no hearing was requested, or it was already held or withdrawn")]
    NoHearingRequested,
    #[error("a city or county bureau's decision to list needs the prior consent of its parent bureau (Order 44 art. 22)")]
    ConsentRequired { parent_id: String },
    #[error("this authority decides without a parent bureau's consent (Order 44 art. 22 applies to county and city bureaus)")]
    ConsentNotNeeded,
    #[error("the party proved it had no intent: the listing may only be decided not to list (Order 44 art. 12 ¶2)")]
    NoIntentProven,
    #[error("`{field}` is required: a basis penalty is still pending, and the decision to list is taken together with the penalty decision (Order 44 art. 13)")]
    PenaltyDecisionRequired { field: &'static str },
    #[error("the decision to list is taken together with the penalty decision: `decided_on` must be the penalty decision's date ({penalty_decided_on})")]
    NotWithThePenalty { penalty_decided_on: NaiveDate },
    #[error("credit repair can be applied for from {earliest}, once the entry has been published a full year (Order 107 art. 13 ¶1)")]
    RepairTooEarly { earliest: NaiveDate },
    #[error("another credit repair application of this listing is still open")]
    RepairPending,
    #[error("a restriction imposed with the penalty runs through {until}: no early removal before it ends (Order 107 art. 13 ¶2)")]
    BanInForce { until: NaiveDate },
    #[error(
        "the party received another heavier penalty after being listed (Order 107 art. 13 ¶1 (3))"
    )]
    NewHeavierPenalty { violation_id: String },
    #[error("a repair of this listing was found false: no application before {until} has passed (Order 107 art. 23 ¶2)")]
    RepairBarred { until: NaiveDate },
    #[error("there is no pending credit repair application")]
    NoPendingRepair,
    #[error("the listing is in force through {expires_on}")]
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
            | ProcedureError::NoHearingRequested
            | ProcedureError::ConsentNotNeeded
            | ProcedureError::NoPendingRepair
            | ProcedureError::NotYetExpired { .. } => ErrorKind::Conflict,
            ProcedureError::HearingPending => ErrorKind::Refused {
                condition: "hearing_pending",
            },
            ProcedureError::ConsentRequired { .. } => ErrorKind::Refused {
                condition: "consent_required",
            },
            ProcedureError::NoIntentProven => ErrorKind::Refused {
                condition: "no_intent_proven",
            },
            ProcedureError::RepairTooEarly { .. } => ErrorKind::Refused {
                condition: "too_early",
            },
            ProcedureError::RepairPending => ErrorKind::Refused {
                condition: "repair_open",
            },
            ProcedureError::BanInForce { .. } => ErrorKind::Refused {
                condition: "ban_in_force",
            },
            ProcedureError::NewHeavierPenalty { .. } => ErrorKind::Refused {
                condition: "new_heavier_penalty",
            },
            ProcedureError::RepairBarred { .. } => ErrorKind::Refused {
                condition: "repair_barred_until",
            },
            ProcedureError::NotTheAuthority
            | ProcedureError::NotTheParent
            | ProcedureError::TwoOfficials => ErrorKind::Forbidden,
            ProcedureError::DateInFuture { field }
            | ProcedureError::DateTooEarly { field, .. }
            | ProcedureError::Required { field }
            | ProcedureError::PenaltyDecisionRequired { field } => ErrorKind::Validation { field },
            ProcedureError::NotWithThePenalty { .. } => ErrorKind::Validation {
                field: "decided_on",
            },
            ProcedureError::InconsistentFacts { .. } => ErrorKind::Internal,
        }
    }
}

impl ProcedureError {
    /// For a refusal ([`ErrorKind::Refused`]): what the client needs to know about the condition,
    /// the value of the problem member named after it (`true` when there is nothing more to say).
    pub fn refusal_value(&self) -> serde_json::Value {
        match self {
            ProcedureError::ConsentRequired { parent_id } => {
                serde_json::json!({ "parent_organization_id": parent_id })
            }
            ProcedureError::RepairTooEarly { earliest } => {
                serde_json::json!({ "earliest": earliest })
            }
            ProcedureError::BanInForce { until } => serde_json::json!({ "until": until }),
            ProcedureError::NewHeavierPenalty { violation_id } => {
                serde_json::json!({ "violation_id": violation_id })
            }
            ProcedureError::RepairBarred { until } => serde_json::Value::from(until.to_string()),
            _ => serde_json::Value::Bool(true),
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

/// Only officials of the listing's authority act on it (Order 44 art. 13 ¶2). A listing kept
/// without an authority (records from before authorities were kept) cannot be judged and is
/// left to any official.
fn require_authority(facts: &ListingFacts, official: &Official<'_>) -> Result<(), ProcedureError> {
    match &facts.authority_id {
        Some(authority) if authority != official.organization_id => {
            Err(ProcedureError::NotTheAuthority)
        }
        _ => Ok(()),
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

/// `notice`: `proposed → noticed`, by an official of the authority. The notice may be served
/// before a pending penalty is decided (Order 44 art. 13: notice runs with the penalty
/// procedure), but not before a basis penalty already decided. `objection_deadline` (served_on
/// + 5 working days, computed by the caller) lies after it.
pub fn notice(
    facts: &ListingFacts,
    served_on: NaiveDate,
    objection_deadline: NaiveDate,
    server: &Official<'_>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Notice, today)?;
    require_authority(facts, server)?;
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
        by: server.id.to_owned(),
        set: ListingChanges {
            noticed_by: Update::Set(server.id.to_owned()),
            served_on: Update::Set(served_on),
            objection_deadline: Update::Set(objection_deadline),
            ..ListingChanges::default()
        },
    })
}

/// `objection`: `noticed → noticed`. Received from `served_on` through `objection_deadline`
/// inclusive (the deadline day itself is inside the window), and not after today. A request for
/// a hearing sets the hearing to `requested`, which stops the decision.
pub fn object(
    facts: &ListingFacts,
    received_on: NaiveDate,
    hearing_requested: bool,
    recorder: Option<&Official<'_>>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Object, today)?;
    if let Some(official) = recorder {
        require_authority(facts, official)?;
    }
    let served_on = present(&facts.served_on, from, "served_on")?;
    let deadline = present(&facts.objection_deadline, from, "objection_deadline")?;
    not_future(received_on, today, "received_on")?;
    not_before(received_on, served_on, "received_on")?;
    if received_on > deadline {
        return Err(ProcedureError::AfterDeadline { deadline });
    }
    let set = ListingChanges {
        hearing_status: if hearing_requested {
            Update::Set(HearingStatus::Requested)
        } else {
            Update::Keep
        },
        ..ListingChanges::default()
    };
    Ok(Transition {
        action: Action::Object,
        from,
        to: Status::Noticed,
        effective_on: received_on,
        by: recorder.map_or(PARTY, |o| o.id).to_owned(),
        set,
    })
}

/// `hearing` / `hearing_withdrawal`: `noticed → noticed`, closing a requested hearing: held on
/// `on` (行政处罚法 art. 64), or the request withdrawn (received on `on`). Either lets the
/// decision go ahead (art. 65: on the hearing record).
pub fn close_hearing(
    facts: &ListingFacts,
    held: bool,
    on: NaiveDate,
    recorder: &Official<'_>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let action = if held {
        Action::Hearing
    } else {
        Action::HearingWithdrawal
    };
    let from = require(facts, action, today)?;
    require_authority(facts, recorder)?;
    if facts.hearing != Some(HearingStatus::Requested) {
        return Err(ProcedureError::NoHearingRequested);
    }
    let field = if held { "held_on" } else { "received_on" };
    let served_on = present(&facts.served_on, from, "served_on")?;
    not_future(on, today, field)?;
    not_before(on, served_on, field)?;
    Ok(Transition {
        action,
        from,
        to: Status::Noticed,
        effective_on: on,
        by: recorder.id.to_owned(),
        set: ListingChanges {
            hearing_status: Update::Set(if held {
                HearingStatus::Held
            } else {
                HearingStatus::Withdrawn
            }),
            ..ListingChanges::default()
        },
    })
}

/// `consent`: the parent bureau of a city or county authority agrees or disagrees to the listing
/// before it is decided (Order 44 art. 22). The state stays as it is; the latest answer counts.
pub fn consent(
    facts: &ListingFacts,
    outcome: ConsentOutcome,
    consenter: &Official<'_>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Consent, today)?;
    let Consent::Needed { parent_id, .. } = &facts.consent else {
        return Err(ProcedureError::ConsentNotNeeded);
    };
    if parent_id != consenter.organization_id {
        return Err(ProcedureError::NotTheParent);
    }
    Ok(Transition {
        action: Action::Consent,
        from,
        to: from,
        effective_on: today,
        by: consenter.id.to_owned(),
        set: ListingChanges {
            consent: Some(outcome),
            ..ListingChanges::default()
        },
    })
}

/// Who may take the listing decision: an official of the authority (Order 44 art. 13 ¶2) who
/// is not its first official — the proposer or, for a system proposal, the official who served
/// the notice (the decision is taken by a second official). `decide` applies it; the console
/// asks it beforehand, to say who may decide and why the viewer may not.
pub fn may_decide(
    authority_id: Option<&str>,
    first_official: Option<&str>,
    decider: &Official<'_>,
) -> Result<(), ProcedureError> {
    if authority_id.is_some_and(|a| a != decider.organization_id) {
        return Err(ProcedureError::NotTheAuthority);
    }
    if first_official == Some(decider.id) {
        return Err(ProcedureError::TwoOfficials);
    }
    Ok(())
}

/// The inputs of the listing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub outcome: DecisionOutcome,
    pub decided_on: NaiveDate,
    /// The penalty decision taken together with it, when a basis penalty is pending: its date,
    /// and whether its number was given.
    pub penalty_decided_on: Option<NaiveDate>,
    pub penalty_decision_no_given: bool,
    /// `decided_on` + 20 working days (Order 44 art. 14 ¶1), computed by the caller's calendar.
    pub publication_due_by: NaiveDate,
}

/// `decision`: `noticed → listed | not_listed`, by a second official of the authority, after the
/// objection window has closed and any requested hearing has been held or withdrawn. To list,
/// a city or county authority needs its parent's consent, and a pending basis penalty is decided
/// with it (the listing dated the day of the penalty decision). The listing is in force from
/// `decided_on` through [`listing_ends_on`].
pub fn decide(
    facts: &ListingFacts,
    decision: &Decision,
    decider: &Official<'_>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Decide, today)?;
    let served_on = present(&facts.served_on, from, "served_on")?;
    let deadline = present(&facts.objection_deadline, from, "objection_deadline")?;
    if facts.proposed_by.is_none() {
        present(&facts.noticed_by, from, "noticed_by")?;
    }
    may_decide(
        facts.authority_id.as_deref(),
        facts.proposed_by.as_deref().or(facts.noticed_by.as_deref()),
        decider,
    )?;
    let list = decision.outcome == DecisionOutcome::List;
    if list && facts.no_intent_proven {
        return Err(ProcedureError::NoIntentProven);
    }
    if facts.hearing == Some(HearingStatus::Requested) {
        return Err(ProcedureError::HearingPending);
    }
    let decided_on = decision.decided_on;
    not_future(decided_on, today, "decided_on")?;
    not_before(decided_on, served_on, "decided_on")?;
    if decided_on <= deadline {
        return Err(ProcedureError::DecisionInsideWindow { deadline });
    }
    if list {
        if let Consent::Needed { given, parent_id } = &facts.consent {
            if *given != Some(ConsentOutcome::Agree) {
                return Err(ProcedureError::ConsentRequired {
                    parent_id: parent_id.clone(),
                });
            }
        }
    }
    let mut set = ListingChanges {
        decided_by: Update::Set(decider.id.to_owned()),
        decided_on: Update::Set(decided_on),
        ..ListingChanges::default()
    };
    if list && facts.basis_pending {
        if !decision.penalty_decision_no_given {
            return Err(ProcedureError::PenaltyDecisionRequired {
                field: "penalty_decision_no",
            });
        }
        let Some(penalty_decided_on) = decision.penalty_decided_on else {
            return Err(ProcedureError::PenaltyDecisionRequired {
                field: "penalty_decided_on",
            });
        };
        if penalty_decided_on != decided_on {
            return Err(ProcedureError::NotWithThePenalty { penalty_decided_on });
        }
        set.penalty_decided_on = Update::Set(penalty_decided_on);
    } else if let Some(penalty_decided_on) = decision.penalty_decided_on {
        // Given without a pending penalty: it must still agree with the decision's date.
        if list && penalty_decided_on != decided_on {
            return Err(ProcedureError::NotWithThePenalty { penalty_decided_on });
        }
    }
    let to = match decision.outcome {
        DecisionOutcome::List => {
            set.listed_on = Update::Set(decided_on);
            set.expires_on = Update::Set(listing_ends_on(decided_on, facts.restriction_until));
            set.published_on = Update::Set(decided_on);
            set.publication_due_by = Update::Set(decision.publication_due_by);
            Status::Listed
        }
        DecisionOutcome::NotList => Status::NotListed,
    };
    Ok(Transition {
        action: Action::Decide,
        from,
        to,
        effective_on: decided_on,
        by: decider.id.to_owned(),
        set,
    })
}

/// `repair`: a credit repair application on a listing that is listed on `today` (not expired),
/// by the party online (`applicant` `None`) or recorded in person by an official of the
/// authority. Refused, each by its named condition, while another application is open
/// (`repair_open`), before the day after the first anniversary of publication (`too_early`,
/// Order 107 art. 13 ¶1), while a restriction imposed with a basis penalty runs
/// (`ban_in_force`, art. 13 ¶2), after a new heavier penalty (`new_heavier_penalty`,
/// art. 13 ¶1 (3)), and within three years of a repair found false (`repair_barred_until`,
/// art. 23 ¶2). The state stays `listed`.
pub fn apply_repair(
    facts: &ListingFacts,
    applied_on: NaiveDate,
    applicant: Option<&Official<'_>>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::ApplyRepair, today)?;
    if let Some(official) = applicant {
        require_authority(facts, official)?;
    }
    if facts.pending_repair_applied_on.is_some() {
        return Err(ProcedureError::RepairPending);
    }
    let listed_on = present(&facts.listed_on, from, "listed_on")?;
    not_future(applied_on, today, "applied_on")?;
    let earliest = repair_opens_on(listed_on);
    if applied_on < earliest {
        return Err(ProcedureError::RepairTooEarly { earliest });
    }
    if let Some(until) = facts.restriction_until.filter(|until| *until >= applied_on) {
        return Err(ProcedureError::BanInForce { until });
    }
    if let Some(violation_id) = &facts.new_heavier_penalty {
        return Err(ProcedureError::NewHeavierPenalty {
            violation_id: violation_id.clone(),
        });
    }
    if let Some(until) = facts
        .repair_barred_until
        .filter(|until| applied_on <= *until)
    {
        return Err(ProcedureError::RepairBarred { until });
    }
    Ok(Transition {
        action: Action::ApplyRepair,
        from,
        to: Status::Listed,
        effective_on: applied_on,
        by: applicant.map_or(PARTY, |o| o.id).to_owned(),
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
    official: &Official<'_>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::DecideRepair, today)?;
    require_authority(facts, official)?;
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
        by: official.id.to_owned(),
        set,
    })
}

/// `reinstate`: `removed → listed` when the repair turns out to rest on false statements. The
/// period restarts: `listed_on = reinstated_on`, in force through the new anniversary
/// (Order 107 art. 23).
pub fn reinstate(
    facts: &ListingFacts,
    reinstated_on: NaiveDate,
    official: &Official<'_>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Reinstate, today)?;
    require_authority(facts, official)?;
    not_future(reinstated_on, today, "reinstated_on")?;
    if let Some(removed_on) = facts.removed_on {
        not_before(reinstated_on, removed_on, "reinstated_on")?;
    }
    Ok(Transition {
        action: Action::Reinstate,
        from,
        to: Status::Listed,
        effective_on: reinstated_on,
        by: official.id.to_owned(),
        set: ListingChanges {
            listed_on: Update::Set(reinstated_on),
            expires_on: Update::Set(listing_ends_on(reinstated_on, facts.restriction_until)),
            repair_barred_until: Update::Set(add_years(
                reinstated_on,
                crate::repairs::FALSE_REPAIR_BAR_YEARS,
            )),
            removed_on: Update::Clear,
            removal_reason: Update::Clear,
            ..ListingChanges::default()
        },
    })
}

/// `revoke`: `proposed | noticed | listed | removed → revoked`, effective today, with a reason
/// (typically: the penalties the listing rests on were annulled, Order 44 art. 19). By an official
/// of the authority, or by the system (`None`) when the basis falls away.
pub fn revoke(
    facts: &ListingFacts,
    reason: &str,
    official: Option<&Official<'_>>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    let from = require(facts, Action::Revoke, today)?;
    if let Some(official) = official {
        require_authority(facts, official)?;
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ProcedureError::Required { field: "reason" });
    }
    Ok(Transition {
        action: Action::Revoke,
        from,
        to: Status::Revoked,
        effective_on: today,
        by: official.map_or("system", |o| o.id).to_owned(),
        set: ListingChanges {
            revoked_on: Update::Set(today),
            revocation_reason: Update::Set(reason.to_owned()),
            pending_repair_applied_on: Update::Clear,
            ..ListingChanges::default()
        },
    })
}

/// `expire`: stores what [`effective_status`] already shows, for the background job. Needs a
/// stored `listed` whose period has ended (the day after `expires_on`); takes effect on that
/// day. A pending repair application lapses with the listing.
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
        effective_on: expires_on.succ_opt().unwrap_or(expires_on),
        by: actor.to_owned(),
        set: ListingChanges {
            pending_repair_applied_on: Update::Clear,
            ..ListingChanges::default()
        },
    })
}

/// One action with its inputs, for callers that dispatch on the action name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Notice {
        served_on: NaiveDate,
        objection_deadline: NaiveDate,
    },
    Object {
        received_on: NaiveDate,
        hearing_requested: bool,
    },
    Hearing {
        held_on: NaiveDate,
    },
    HearingWithdrawal {
        received_on: NaiveDate,
    },
    Consent {
        outcome: ConsentOutcome,
    },
    Decide(Decision),
    ApplyRepair {
        applied_on: NaiveDate,
    },
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
            Command::Hearing { .. } => Action::Hearing,
            Command::HearingWithdrawal { .. } => Action::HearingWithdrawal,
            Command::Consent { .. } => Action::Consent,
            Command::Decide(_) => Action::Decide,
            Command::ApplyRepair { .. } => Action::ApplyRepair,
            Command::DecideRepair { .. } => Action::DecideRepair,
            Command::Reinstate { .. } => Action::Reinstate,
            Command::Revoke { .. } => Action::Revoke,
            Command::Expire => Action::Expire,
        }
    }
}

/// Runs `command` through its action function, taken by `official`.
pub fn perform(
    facts: &ListingFacts,
    command: &Command,
    official: &Official<'_>,
    today: NaiveDate,
) -> Result<Transition, ProcedureError> {
    match command {
        Command::Notice {
            served_on,
            objection_deadline,
        } => notice(facts, *served_on, *objection_deadline, official, today),
        Command::Object {
            received_on,
            hearing_requested,
        } => object(
            facts,
            *received_on,
            *hearing_requested,
            Some(official),
            today,
        ),
        Command::Hearing { held_on } => close_hearing(facts, true, *held_on, official, today),
        Command::HearingWithdrawal { received_on } => {
            close_hearing(facts, false, *received_on, official, today)
        }
        Command::Consent { outcome } => consent(facts, *outcome, official, today),
        Command::Decide(decision) => decide(facts, decision, official, today),
        Command::ApplyRepair { applied_on } => {
            apply_repair(facts, *applied_on, Some(official), today)
        }
        Command::DecideRepair {
            outcome,
            decided_on,
        } => decide_repair(facts, *outcome, *decided_on, official, today),
        Command::Reinstate { reinstated_on } => reinstate(facts, *reinstated_on, official, today),
        Command::Revoke { reason } => revoke(facts, reason, Some(official), today),
        Command::Expire => expire(facts, official.id, today),
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
    /// The first day a listing of `listed()` is no longer in force.
    fn expired() -> NaiveDate {
        d(2027, 2, 2)
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
        (Status::Noticed, Action::Hearing, Status::Noticed),
        (Status::Noticed, Action::HearingWithdrawal, Status::Noticed),
        (Status::Noticed, Action::Consent, Status::Noticed),
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

    /// An official of the authority, `bureau`.
    fn o(id: &str) -> Official<'_> {
        Official {
            id,
            organization_id: "bureau",
        }
    }

    /// A consistent listing of the authority `bureau` stored in `status` (proposed by alice,
    /// noticed by bob).
    fn facts_in(status: Status) -> ListingFacts {
        let mut f = ListingFacts::proposed(Some("alice".into()), basis());
        f.authority_id = Some("bureau".into());
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
                hearing_requested: false,
            },
            Action::Hearing => Command::Hearing {
                held_on: deadline(),
            },
            Action::HearingWithdrawal => Command::HearingWithdrawal {
                received_on: deadline(),
            },
            Action::Consent => Command::Consent {
                outcome: ConsentOutcome::Agree,
            },
            Action::Decide => Command::Decide(list(listed())),
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
            expired()
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
                if matches!(action, Action::Hearing | Action::HearingWithdrawal) {
                    facts.hearing = Some(HearingStatus::Requested);
                }
                let official = if action == Action::Consent {
                    facts.consent = Consent::Needed {
                        parent_id: "province".into(),
                        given: None,
                    };
                    Official {
                        id: "pat",
                        organization_id: "province",
                    }
                } else {
                    o("carol")
                };
                let (command, today) = happy(action);
                assert_eq!(command.action(), action);
                let result = perform(&facts, &command, &official, today);
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

    fn list(on: NaiveDate) -> Decision {
        Decision {
            outcome: DecisionOutcome::List,
            decided_on: on,
            penalty_decided_on: None,
            penalty_decision_no_given: false,
            publication_due_by: on + Days::new(28),
        }
    }

    fn not_list(on: NaiveDate) -> Decision {
        Decision {
            outcome: DecisionOutcome::NotList,
            ..list(on)
        }
    }

    #[test]
    fn not_allowed_message_names_state_and_allowed_actions() {
        let err = decide(
            &facts_in(Status::Proposed),
            &list(listed()),
            &o("carol"),
            today(),
        )
        .expect_err("not allowed");
        assert_eq!(
            err.to_string(),
            "cannot decide a listing in state `proposed`; allowed: notice, revoke"
        );
        let err =
            revoke(&facts_in(Status::Expired), "x", Some(&o("carol")), today()).expect_err("final");
        assert_eq!(
            err.to_string(),
            "cannot revoke a listing in state `expired`; allowed: none"
        );
    }

    #[test]
    fn notice_guards() {
        let f = facts_in(Status::Proposed);
        let t = notice(&f, served(), deadline(), &o("bob"), today()).expect("ok");
        assert_eq!(t.to, Status::Noticed);
        assert_eq!(t.effective_on, served());
        assert_eq!(t.set.noticed_by, Update::Set("bob".into()));
        assert_eq!(t.set.objection_deadline, Update::Set(deadline()));
        // Served on the day the last basis violation was decided: fine; the day before: not.
        assert!(notice(&f, basis(), d(2024, 1, 17), &o("bob"), today()).is_ok());
        let err = notice(&f, d(2024, 1, 9), deadline(), &o("bob"), today()).expect_err("early");
        assert_eq!(
            err,
            ProcedureError::DateTooEarly {
                field: "served_on",
                earliest: basis()
            }
        );
        assert_eq!(err.kind(), ErrorKind::Validation { field: "served_on" });
        // Served today: fine; tomorrow: not.
        assert!(notice(&f, today(), d(2025, 6, 9), &o("bob"), today()).is_ok());
        let err = notice(&f, d(2025, 6, 2), d(2025, 6, 9), &o("bob"), today()).expect_err("future");
        assert_eq!(err, ProcedureError::DateInFuture { field: "served_on" });
        assert_eq!(err.kind().http_status(), 422);
        // The deadline lies after the service.
        let err = notice(&f, served(), served(), &o("bob"), today()).expect_err("deadline");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "objection_deadline"
            }
        );
    }

    #[test]
    fn notice_runs_with_the_penalty_procedure() {
        // No basis penalty decided yet: the notice may come first (Order 44 art. 13).
        let mut f = facts_in(Status::Proposed);
        f.basis_pending = true;
        f.basis_latest_decided_on = NaiveDate::MIN;
        assert!(notice(&f, d(2023, 6, 1), d(2023, 6, 8), &o("bob"), today()).is_ok());
    }

    #[test]
    fn only_the_authority_acts() {
        let stranger = Official {
            id: "eve",
            organization_id: "other bureau",
        };
        let err = notice(
            &facts_in(Status::Proposed),
            served(),
            deadline(),
            &stranger,
            today(),
        )
        .expect_err("another bureau");
        assert_eq!(err, ProcedureError::NotTheAuthority);
        assert_eq!(err.kind(), ErrorKind::Forbidden);
        let noticed = facts_in(Status::Noticed);
        for command in [
            Command::Object {
                received_on: deadline(),
                hearing_requested: false,
            },
            Command::Decide(list(listed())),
            Command::Revoke {
                reason: "annulled".into(),
            },
        ] {
            assert_eq!(
                perform(&noticed, &command, &stranger, today()).expect_err("another bureau"),
                ProcedureError::NotTheAuthority
            );
        }
        // The system (no official) revokes when the basis falls away.
        assert!(revoke(&noticed, "annulled", None, today()).is_ok());
        // Records from before authorities were kept cannot be judged: any official.
        let mut legacy = facts_in(Status::Noticed);
        legacy.authority_id = None;
        assert!(decide(&legacy, &list(listed()), &stranger, today()).is_ok());
    }

    #[test]
    fn objection_window_includes_the_deadline_day() {
        let f = facts_in(Status::Noticed);
        let t = object(&f, deadline(), false, Some(&o("bob")), today())
            .expect("deadline day is inside");
        assert_eq!((t.from, t.to), (Status::Noticed, Status::Noticed));
        assert_eq!(t.effective_on, deadline());
        assert!(t.set.hearing_status.is_keep());
        assert!(object(&f, served(), false, Some(&o("bob")), today()).is_ok());
        let err = object(&f, d(2024, 1, 23), false, Some(&o("bob")), today()).expect_err("late");
        assert_eq!(
            err,
            ProcedureError::AfterDeadline {
                deadline: deadline()
            }
        );
        assert_eq!(err.kind(), ErrorKind::Conflict);
        let err = object(&f, d(2024, 1, 14), false, Some(&o("bob")), today()).expect_err("early");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "received_on"
            }
        );
        let err =
            object(&f, d(2024, 1, 20), false, Some(&o("bob")), d(2024, 1, 19)).expect_err("future");
        assert_eq!(
            err,
            ProcedureError::DateInFuture {
                field: "received_on"
            }
        );
    }

    #[test]
    fn a_requested_hearing_stops_the_decision() {
        let mut f = facts_in(Status::Noticed);
        let t = object(&f, deadline(), true, Some(&o("bob")), today()).expect("hearing requested");
        assert_eq!(t.set.hearing_status, Update::Set(HearingStatus::Requested));
        f.apply(&t);
        let err = decide(&f, &list(listed()), &o("carol"), today()).expect_err("pending");
        assert_eq!(err, ProcedureError::HearingPending);
        assert_eq!(
            err.kind(),
            ErrorKind::Refused {
                condition: "hearing_pending"
            }
        );
        assert_eq!(err.kind().http_status(), 409);
        // not_list is refused too: the decision waits for the hearing either way.
        assert!(decide(&f, &not_list(listed()), &o("carol"), today()).is_err());
        // Held: the decision goes ahead.
        let mut held = f.clone();
        let t = close_hearing(&held, true, d(2024, 1, 25), &o("bob"), today()).expect("held");
        assert_eq!(t.action, Action::Hearing);
        assert_eq!(t.set.hearing_status, Update::Set(HearingStatus::Held));
        held.apply(&t);
        assert!(decide(&held, &list(listed()), &o("carol"), today()).is_ok());
        // Withdrawn: likewise.
        let mut withdrawn = f.clone();
        let t = close_hearing(&withdrawn, false, d(2024, 1, 24), &o("bob"), today()).expect("w");
        assert_eq!(t.action, Action::HearingWithdrawal);
        withdrawn.apply(&t);
        assert_eq!(withdrawn.hearing, Some(HearingStatus::Withdrawn));
        assert!(decide(&withdrawn, &list(listed()), &o("carol"), today()).is_ok());
        // Nothing to close twice, or without a request.
        assert_eq!(
            close_hearing(&held, true, d(2024, 1, 26), &o("bob"), today()).expect_err("twice"),
            ProcedureError::NoHearingRequested
        );
        assert_eq!(
            close_hearing(
                &facts_in(Status::Noticed),
                true,
                deadline(),
                &o("bob"),
                today()
            )
            .expect_err("none"),
            ProcedureError::NoHearingRequested
        );
        let err = close_hearing(&f, true, d(2024, 1, 14), &o("bob"), today()).expect_err("early");
        assert_eq!(err.kind(), ErrorKind::Validation { field: "held_on" });
    }

    #[test]
    fn city_and_county_bureaus_need_their_parents_consent() {
        let mut f = facts_in(Status::Noticed);
        f.consent = Consent::Needed {
            parent_id: "city".into(),
            given: None,
        };
        let err = decide(&f, &list(listed()), &o("carol"), today()).expect_err("no consent");
        assert_eq!(
            err,
            ProcedureError::ConsentRequired {
                parent_id: "city".into()
            }
        );
        assert_eq!(
            err.refusal_value(),
            serde_json::json!({"parent_organization_id": "city"})
        );
        assert_eq!(
            err.kind(),
            ErrorKind::Refused {
                condition: "consent_required"
            }
        );
        // Not listing needs no consent.
        assert!(decide(&f, &not_list(listed()), &o("carol"), today()).is_ok());
        // Only the parent answers.
        assert_eq!(
            consent(&f, ConsentOutcome::Agree, &o("bob"), today()).expect_err("own bureau"),
            ProcedureError::NotTheParent
        );
        let parent = Official {
            id: "pat",
            organization_id: "city",
        };
        let t = consent(&f, ConsentOutcome::Disagree, &parent, today()).expect("disagree");
        assert_eq!((t.from, t.to), (Status::Noticed, Status::Noticed));
        let mut refused = f.clone();
        refused.apply(&t);
        assert_eq!(
            decide(&refused, &list(listed()), &o("carol"), today()).expect_err("disagreed"),
            ProcedureError::ConsentRequired {
                parent_id: "city".into()
            }
        );
        let t = consent(&refused, ConsentOutcome::Agree, &parent, today()).expect("agree");
        let mut agreed = refused.clone();
        agreed.apply(&t);
        assert!(decide(&agreed, &list(listed()), &o("carol"), today()).is_ok());
        // A provincial authority decides alone.
        assert_eq!(
            consent(
                &facts_in(Status::Noticed),
                ConsentOutcome::Agree,
                &parent,
                today()
            )
            .expect_err("not needed"),
            ProcedureError::ConsentNotNeeded
        );
    }

    #[test]
    fn no_intent_proven_leaves_only_not_list() {
        let mut f = facts_in(Status::Noticed);
        f.no_intent_proven = true;
        let err = decide(&f, &list(listed()), &o("carol"), today()).expect_err("list");
        assert_eq!(err, ProcedureError::NoIntentProven);
        assert_eq!(err.kind().http_status(), 409);
        assert!(decide(&f, &not_list(listed()), &o("carol"), today()).is_ok());
    }

    #[test]
    fn a_pending_penalty_is_decided_with_the_listing() {
        let mut f = facts_in(Status::Noticed);
        f.basis_pending = true;
        let with = |penalty_decided_on: Option<NaiveDate>, no: bool| Decision {
            penalty_decided_on,
            penalty_decision_no_given: no,
            ..list(listed())
        };
        assert_eq!(
            decide(&f, &with(Some(listed()), false), &o("carol"), today()).expect_err("no"),
            ProcedureError::PenaltyDecisionRequired {
                field: "penalty_decision_no"
            }
        );
        let err = decide(&f, &with(None, true), &o("carol"), today()).expect_err("date");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "penalty_decided_on"
            }
        );
        let err =
            decide(&f, &with(Some(d(2024, 1, 31)), true), &o("carol"), today()).expect_err("same");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "decided_on"
            }
        );
        let t = decide(&f, &with(Some(listed()), true), &o("carol"), today()).expect("together");
        assert_eq!(t.set.penalty_decided_on, Update::Set(listed()));
        f.apply(&t);
        assert!(!f.basis_pending);
        // Not listing leaves the penalty to its own procedure.
        let mut g = facts_in(Status::Noticed);
        g.basis_pending = true;
        assert!(decide(&g, &not_list(listed()), &o("carol"), today()).is_ok());
    }

    #[test]
    fn decision_waits_for_the_window_to_close() {
        let f = facts_in(Status::Noticed);
        let err = decide(&f, &list(deadline()), &o("carol"), today()).expect_err("inside window");
        assert_eq!(
            err,
            ProcedureError::DecisionInsideWindow {
                deadline: deadline()
            }
        );
        assert_eq!(err.kind().http_status(), 409);
        let next = d(2024, 1, 23);
        let t = decide(&f, &list(next), &o("carol"), today()).expect("day after");
        assert_eq!(t.to, Status::Listed);
        assert_eq!(t.set.listed_on, Update::Set(next));
        assert_eq!(t.set.expires_on, Update::Set(d(2027, 1, 23)));
        assert_eq!(t.set.decided_by, Update::Set("carol".into()));
        let t = decide(&f, &not_list(next), &o("carol"), today()).expect("not list");
        assert_eq!(t.to, Status::NotListed);
        assert!(t.set.listed_on.is_keep() && t.set.expires_on.is_keep());
        let err = decide(
            &f,
            &list(today().succ_opt().expect("d")),
            &o("carol"),
            today(),
        )
        .expect_err("future");
        assert_eq!(
            err,
            ProcedureError::DateInFuture {
                field: "decided_on"
            }
        );
        let err = decide(&f, &list(d(2024, 1, 1)), &o("carol"), today()).expect_err("early");
        assert_eq!(
            err,
            ProcedureError::DateTooEarly {
                field: "decided_on",
                earliest: served()
            }
        );
    }

    #[test]
    fn leap_day_listing_ends_on_28_february() {
        let mut f = facts_in(Status::Noticed);
        f.served_on = Some(d(2028, 2, 10));
        f.objection_deadline = Some(d(2028, 2, 17));
        let t = decide(&f, &list(d(2028, 2, 29)), &o("carol"), d(2028, 3, 1)).expect("ok");
        assert_eq!(t.set.listed_on, Update::Set(d(2028, 2, 29)));
        assert_eq!(t.set.expires_on, Update::Set(d(2031, 2, 28)));
    }

    #[test]
    fn a_longer_ban_or_restriction_sets_the_end() {
        let mut f = facts_in(Status::Noticed);
        f.restriction_until = Some(d(2029, 6, 30));
        let t = decide(&f, &list(listed()), &o("carol"), today()).expect("ok");
        assert_eq!(t.set.expires_on, Update::Set(d(2029, 6, 30)));
        // A shorter one changes nothing.
        f.restriction_until = Some(d(2025, 6, 30));
        let t = decide(&f, &list(listed()), &o("carol"), today()).expect("ok");
        assert_eq!(t.set.expires_on, Update::Set(expires()));
    }

    #[test]
    fn two_officials() {
        // Proposed by alice, noticed by bob.
        let f = facts_in(Status::Noticed);
        let err = decide(&f, &list(listed()), &o("alice"), today()).expect_err("proposer");
        assert_eq!(err, ProcedureError::TwoOfficials);
        assert_eq!(err.kind(), ErrorKind::Forbidden);
        assert_eq!(err.kind().http_status(), 403);
        assert!(decide(&f, &list(listed()), &o("bob"), today()).is_ok());
        // A system proposal: the notice server stands in for the proposer.
        let mut sys = f.clone();
        sys.proposed_by = None;
        let err = decide(&sys, &not_list(listed()), &o("bob"), today()).expect_err("notice server");
        assert_eq!(err, ProcedureError::TwoOfficials);
        assert!(decide(&sys, &not_list(listed()), &o("carol"), today()).is_ok());
        assert!(decide(&sys, &not_list(listed()), &o("alice"), today()).is_ok());
        // The state is judged first: deciding a proposed listing is a conflict, not forbidden.
        let err = decide(
            &facts_in(Status::Proposed),
            &list(listed()),
            &o("alice"),
            today(),
        )
        .expect_err("state");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn repair_from_the_day_after_the_first_anniversary() {
        let f = facts_in(Status::Listed);
        let earliest = d(2025, 2, 2);
        let t =
            apply_repair(&f, earliest, Some(&o("party")), today()).expect("a full year has passed");
        assert_eq!((t.from, t.to), (Status::Listed, Status::Listed));
        assert_eq!(t.set.pending_repair_applied_on, Update::Set(earliest));
        let err =
            apply_repair(&f, d(2025, 2, 1), Some(&o("party")), today()).expect_err("anniversary");
        assert_eq!(err, ProcedureError::RepairTooEarly { earliest });
        assert_eq!(
            err.kind(),
            ErrorKind::Refused {
                condition: "too_early"
            }
        );
        let err = apply_repair(&f, d(2025, 6, 2), Some(&o("party")), today()).expect_err("future");
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
        assert!(apply_repair(&leap, d(2029, 3, 1), Some(&o("party")), now).is_ok());
        assert_eq!(
            apply_repair(&leap, d(2029, 2, 28), Some(&o("party")), now).expect_err("early"),
            ProcedureError::RepairTooEarly {
                earliest: d(2029, 3, 1)
            }
        );
    }

    #[test]
    fn repair_is_refused_by_each_named_condition_of_order_107() {
        let f = facts_in(Status::Listed);
        let on = d(2025, 3, 1);
        // The party applies online (no official): allowed when nothing stands in the way.
        let t = apply_repair(&f, on, None, today()).expect("online");
        assert_eq!(t.by, PARTY);
        let refused = |f: &ListingFacts| {
            apply_repair(f, on, None, today())
                .expect_err("refused")
                .kind()
        };
        let mut banned = f.clone();
        banned.restriction_until = Some(on);
        assert_eq!(
            refused(&banned),
            ErrorKind::Refused {
                condition: "ban_in_force"
            }
        );
        banned.restriction_until = on.pred_opt();
        assert!(apply_repair(&banned, on, None, today()).is_ok());
        let mut again = f.clone();
        again.new_heavier_penalty = Some("v9".into());
        assert_eq!(
            refused(&again),
            ErrorKind::Refused {
                condition: "new_heavier_penalty"
            }
        );
        let mut barred = f.clone();
        barred.repair_barred_until = Some(on);
        assert_eq!(
            refused(&barred),
            ErrorKind::Refused {
                condition: "repair_barred_until"
            }
        );
        barred.repair_barred_until = on.pred_opt();
        assert!(apply_repair(&barred, on, None, today()).is_ok());
    }

    #[test]
    fn reinstatement_bars_repair_for_three_years() {
        let mut f = facts_in(Status::Removed);
        let on = f.removed_on.unwrap_or(today());
        let t = reinstate(&f, on, &o("carol"), today()).expect("reinstate");
        f.apply(&t);
        assert_eq!(f.repair_barred_until, Some(add_years(on, 3)));
    }

    #[test]
    fn one_pending_repair_at_a_time() {
        let mut f = facts_in(Status::Listed);
        assert_eq!(
            decide_repair(&f, RepairOutcome::Approve, today(), &o("carol"), today())
                .expect_err("none pending"),
            ProcedureError::NoPendingRepair
        );
        let t = apply_repair(&f, d(2025, 3, 1), Some(&o("party")), today()).expect("apply");
        f.apply(&t);
        assert_eq!(f.pending_repair_applied_on, Some(d(2025, 3, 1)));
        let err = apply_repair(&f, d(2025, 3, 2), Some(&o("party")), today()).expect_err("pending");
        assert_eq!(err, ProcedureError::RepairPending);
        assert_eq!(
            err.kind(),
            ErrorKind::Refused {
                condition: "repair_open"
            }
        );

        let err = decide_repair(
            &f,
            RepairOutcome::Reject,
            d(2025, 2, 28),
            &o("carol"),
            today(),
        )
        .expect_err("before application");
        assert_eq!(
            err,
            ProcedureError::DateTooEarly {
                field: "decided_on",
                earliest: d(2025, 3, 1)
            }
        );
        let t = decide_repair(
            &f,
            RepairOutcome::Reject,
            d(2025, 3, 1),
            &o("carol"),
            today(),
        )
        .expect("reject");
        assert_eq!((t.from, t.to), (Status::Listed, Status::Listed));
        assert_eq!(t.set.pending_repair_applied_on, Update::Clear);
        let mut rejected = f.clone();
        rejected.apply(&t);
        assert_eq!(rejected.pending_repair_applied_on, None);
        assert!(apply_repair(&rejected, d(2025, 4, 1), Some(&o("party")), today()).is_ok());

        let t = decide_repair(
            &f,
            RepairOutcome::Approve,
            d(2025, 4, 1),
            &o("carol"),
            today(),
        )
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
        let t = reinstate(&f, on, &o("carol"), d(2026, 1, 12)).expect("reinstate");
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
        // The old end has no effect any more.
        assert_eq!(f.effective_status(expired()), Status::Listed);
        // Repair again only a full year after the new start.
        assert_eq!(
            apply_repair(&f, d(2026, 6, 1), Some(&o("party")), d(2026, 6, 1)).expect_err("early"),
            ProcedureError::RepairTooEarly {
                earliest: d(2027, 1, 11)
            }
        );

        let f = facts_in(Status::Removed);
        let err = reinstate(&f, d(2025, 2, 28), &o("carol"), today()).expect_err("before removal");
        assert_eq!(
            err.kind(),
            ErrorKind::Validation {
                field: "reinstated_on"
            }
        );
        let err = reinstate(&f, d(2025, 6, 2), &o("carol"), today()).expect_err("future");
        assert_eq!(
            err,
            ProcedureError::DateInFuture {
                field: "reinstated_on"
            }
        );
    }

    #[test]
    fn in_force_through_expires_on_and_expired_the_day_after() {
        let f = facts_in(Status::Listed);
        assert_eq!(
            effective_status(Status::Listed, Some(expires()), d(2027, 1, 31)),
            Status::Listed
        );
        assert_eq!(
            effective_status(Status::Listed, Some(expires()), expires()),
            Status::Listed,
            "the last day is still in force (民法典 art. 202)"
        );
        assert!(in_force(Status::Listed, Some(expires()), expires()));
        assert_eq!(
            effective_status(Status::Listed, Some(expires()), expired()),
            Status::Expired
        );
        assert!(!in_force(Status::Listed, Some(expires()), expired()));
        assert_eq!(
            effective_status(Status::Removed, Some(expires()), expired()),
            Status::Removed
        );
        assert_eq!(
            effective_status(Status::Listed, None, expired()),
            Status::Listed
        );
        assert_eq!(
            expire(&f, "system", expires()).expect_err("not yet"),
            ProcedureError::NotYetExpired {
                expires_on: expires()
            }
        );
        let t = expire(&f, "system", d(2027, 3, 1)).expect("expire");
        assert_eq!((t.from, t.to), (Status::Listed, Status::Expired));
        assert_eq!(t.effective_on, expired());
        assert!(!Status::Expired.is_published());
        // Every answer sees it expired at once, before the job runs.
        let err = apply_repair(&f, expired(), Some(&o("party")), expired()).expect_err("expired");
        assert_eq!(
            err,
            ProcedureError::NotAllowed {
                action: Action::ApplyRepair,
                current: Status::Expired,
                allowed: vec![],
            }
        );
        assert!(revoke(&f, "annulled", Some(&o("carol")), expired()).is_err());
        assert!(revoke(&f, "annulled", Some(&o("carol")), expires()).is_ok());
        // Already stored as expired.
        let err = expire(&facts_in(Status::Expired), "system", expired()).expect_err("done");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn pending_repair_lapses_with_expiry() {
        let mut f = facts_in(Status::Listed);
        f.pending_repair_applied_on = Some(d(2026, 12, 1));
        let t = expire(&f, "system", expired()).expect("expire");
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
            let t = revoke(
                &facts_in(status),
                "  penalty annulled  ",
                Some(&o("carol")),
                today(),
            )
            .expect("revoke");
            assert_eq!((t.from, t.to), (status, Status::Revoked));
            assert_eq!(t.effective_on, today());
            assert_eq!(
                t.set.revocation_reason,
                Update::Set("penalty annulled".into())
            );
        }
        for status in [Status::NotListed, Status::Expired, Status::Revoked] {
            assert!(revoke(&facts_in(status), "x", Some(&o("carol")), today()).is_err());
        }
        let err =
            revoke(&facts_in(Status::Listed), "  ", Some(&o("carol")), today()).expect_err("empty");
        assert_eq!(err.kind(), ErrorKind::Validation { field: "reason" });
    }

    #[test]
    fn inconsistent_facts_are_internal_errors() {
        let mut f = facts_in(Status::Noticed);
        f.objection_deadline = None;
        let err = object(&f, served(), false, Some(&o("bob")), today()).expect_err("inconsistent");
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
                prop_assert_eq!(expires_on, listing_ends_on(listed_on, f.restriction_until));
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
            0u8..11,
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
            Action::Object => Command::Object {
                received_on: date,
                hearing_requested: s.yes && s.window.is_multiple_of(3),
            },
            Action::Hearing => Command::Hearing { held_on: date },
            Action::HearingWithdrawal => Command::HearingWithdrawal { received_on: date },
            Action::Consent => Command::Consent {
                outcome: if s.yes {
                    ConsentOutcome::Agree
                } else {
                    ConsentOutcome::Disagree
                },
            },
            Action::Decide => Command::Decide(Decision {
                outcome: if s.yes {
                    DecisionOutcome::List
                } else {
                    DecisionOutcome::NotList
                },
                decided_on: date,
                penalty_decided_on: None,
                penalty_decision_no_given: false,
                publication_due_by: date + Days::new(28),
            }),
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
            facts.authority_id = Some("bureau".into());
            for s in steps {
                today = today + Days::new(u64::from(s.advance));
                let date = today - Days::new(u64::from(s.back));
                let command = command_for(&s, pick_action(&s, &facts, today), date);
                let before = facts.effective_status(today);
                match perform(&facts, &command, &o(officials[s.who]), today) {
                    Ok(t) => {
                        prop_assert!(in_graph(t.from, t.action, t.to), "{:?}", t);
                        let expected_from = if t.action == Action::Expire { facts.status } else { before };
                        prop_assert_eq!(t.from, expected_from);
                        let expected_last = if t.action == Action::Expire { today.succ_opt().unwrap_or(today) } else { today };
                        prop_assert!(t.effective_on <= expected_last);
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
        fn the_period_runs_from_the_next_day_through_the_anniversary(
            days in 0u32..60_000,
            ban in proptest::option::of(0u32..4_000),
            probe in 0u32..2_000,
        ) {
            // 民法典 art. 201–202: the decision day is not counted; the last day is the
            // corresponding day three years on (28 February for 29 February); a longer ban or
            // restriction ends later (Order 44 art. 21).
            let listed_on = d(1970, 1, 1) + Days::new(u64::from(days));
            let ban_until = ban.map(|b| listed_on + Days::new(u64::from(b)));
            let last = listing_ends_on(listed_on, ban_until);
            let anniversary = add_years(listed_on, LISTING_YEARS);
            prop_assert!(last >= anniversary);
            prop_assert_eq!(last, ban_until.map_or(anniversary, |b| b.max(anniversary)));
            prop_assert_eq!(anniversary.month(), listed_on.month());
            if listed_on.month() == 12 && listed_on.day() == 31 {
                prop_assert_eq!(anniversary, d(listed_on.year() + 3, 12, 31));
            }
            if listed_on.month() == 2 && listed_on.day() == 29 {
                prop_assert_eq!(anniversary.day(), 28);
            }
            prop_assert!(in_force(Status::Listed, Some(last), listed_on));
            prop_assert!(in_force(Status::Listed, Some(last), last));
            let after = last + Days::new(1);
            prop_assert!(!in_force(Status::Listed, Some(last), after));
            prop_assert_eq!(effective_status(Status::Listed, Some(last), after), Status::Expired);
            let day = listed_on + Days::new(u64::from(probe));
            prop_assert_eq!(in_force(Status::Listed, Some(last), day), day <= last);
            // Repair opens the day after the first anniversary.
            let opens = repair_opens_on(listed_on);
            prop_assert_eq!(opens, add_years(listed_on, 1) + Days::new(1));
            prop_assert!(opens > listed_on);
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
