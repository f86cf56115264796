//! Credit repair as SAMR Order 107 (in force 2025-12-25) has it: an application by the listed
//! party (online) or recorded by the authority (in person), accepted within 2 working days or
//! answered with one request listing everything missing, decided within 7 working days of
//! acceptance (extendable once by 10), each decision — and a refusal to accept — by the head of
//! the bureau or the official they empower. Whether an application may be made at all is
//! `procedure::apply_repair`'s question (the listing's state); this module is the application's
//! own life once made.
//!
//! ```text
//! submitted ──accept──────────▶ accepted ──decide(approve)──▶ approved
//!     │  └──supplement──▶ supplement_requested              └─decide(reject)──▶ rejected
//!     │                        └──supplemented──▶ submitted
//!     └──refuse──▶ refused
//! ```
//!
//! Pure like the rest of the domain: the caller computes the deadlines with its calendar.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Working days to accept an application, or to ask once for everything missing
/// (Order 107 art. 14 ¶4), counted from its receipt.
pub const ACCEPTANCE_WORKING_DAYS: u32 = 2;
/// Working days to decide an accepted application (Order 107 art. 16 ¶2).
pub const DECISION_WORKING_DAYS: u32 = 7;
/// Working days one extension adds, with the head's approval (Order 107 art. 16 ¶3).
pub const EXTENSION_WORKING_DAYS: u32 = 10;
/// Years a repair found false bars new applications (Order 107 art. 23 ¶2).
pub const FALSE_REPAIR_BAR_YEARS: u32 = 3;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RepairStatus {
    /// Received; to be accepted, answered with a supplement request, or refused.
    Submitted,
    /// The applicant was told everything missing at once; waiting for the answer.
    SupplementRequested,
    /// Accepted; to be decided by `decision_due_by`.
    Accepted,
    /// The listing is removed.
    Approved,
    /// Decided against, with a written decision.
    Rejected,
    /// Not accepted (不予受理), with written reasons.
    Refused,
}

impl RepairStatus {
    pub const ALL: [RepairStatus; 6] = [
        RepairStatus::Submitted,
        RepairStatus::SupplementRequested,
        RepairStatus::Accepted,
        RepairStatus::Approved,
        RepairStatus::Rejected,
        RepairStatus::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RepairStatus::Submitted => "submitted",
            RepairStatus::SupplementRequested => "supplement_requested",
            RepairStatus::Accepted => "accepted",
            RepairStatus::Approved => "approved",
            RepairStatus::Rejected => "rejected",
            RepairStatus::Refused => "refused",
        }
    }

    /// Still to be acted on (one open application per listing).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RepairStatus::Submitted | RepairStatus::SupplementRequested | RepairStatus::Accepted
        )
    }
}

crate::named_values!(RepairStatus, "repair status");

/// How a statement or a repair application came in (Order 107 art. 14 ¶1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// By the party through the portal.
    Online,
    /// At the bureau, recorded by a regulator of the authority.
    InPerson,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Online, Channel::InPerson];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::InPerson => "in_person",
        }
    }
}

crate::named_values!(Channel, "channel");

/// The answer to a received application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AcceptanceOutcome {
    Accept,
    /// Everything missing, at once (`missing` lists it).
    Supplement,
    /// 不予受理: needs the head's approval and written reasons.
    Refuse,
}

/// The decision on an accepted application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RepairDecisionOutcome {
    Approve,
    Reject,
}

/// What the rules need to know of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairFacts {
    pub status: RepairStatus,
    /// A supplement was requested once already.
    pub supplement_requested: bool,
    /// The decision deadline was extended once already.
    pub extended: bool,
    pub applied_on: NaiveDate,
    pub accepted_on: Option<NaiveDate>,
}

/// The official acting on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approver {
    /// The head of the bureau or the official they empower (`can_approve`).
    pub can_approve: bool,
}

/// Why a step on an application was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RepairError {
    #[error("the application is {current}; this step needs it {needed}")]
    WrongStatus {
        current: RepairStatus,
        needed: &'static str,
    },
    #[error("a supplement was already requested once: everything missing is asked for at once (Order 107 art. 14 ¶4)")]
    SupplementAlreadyRequested,
    #[error("a supplement request lists what is missing (`missing`)")]
    NothingMissing,
    #[error("only the head of the bureau, or the official they empower (`can_approve`), may {0} (Order 107 art. 14 ¶4, 16 ¶3, 17)")]
    NeedsApproval(&'static str),
    #[error("the decision deadline was already extended once (Order 107 art. 16 ¶3)")]
    AlreadyExtended,
    #[error("`{field}` must not be after today")]
    DateInFuture { field: &'static str },
    #[error("`{field}` must not be before {earliest}")]
    DateTooEarly {
        field: &'static str,
        earliest: NaiveDate,
    },
}

impl RepairError {
    /// 409 for the order of steps, 403 for who acts, 422 naming the field for an input.
    pub fn http_status(&self) -> u16 {
        match self {
            RepairError::WrongStatus { .. }
            | RepairError::SupplementAlreadyRequested
            | RepairError::AlreadyExtended => 409,
            RepairError::NeedsApproval(_) => 403,
            RepairError::NothingMissing
            | RepairError::DateInFuture { .. }
            | RepairError::DateTooEarly { .. } => 422,
        }
    }

    /// The field a 422 names.
    pub fn field(&self) -> &'static str {
        match self {
            RepairError::NothingMissing => "missing",
            RepairError::DateInFuture { field } | RepairError::DateTooEarly { field, .. } => field,
            _ => "",
        }
    }
}

fn needs(
    facts: &RepairFacts,
    status: RepairStatus,
    needed: &'static str,
) -> Result<(), RepairError> {
    if facts.status == status {
        Ok(())
    } else {
        Err(RepairError::WrongStatus {
            current: facts.status,
            needed,
        })
    }
}

fn dated(
    on: NaiveDate,
    earliest: NaiveDate,
    today: NaiveDate,
    field: &'static str,
) -> Result<(), RepairError> {
    if on > today {
        return Err(RepairError::DateInFuture { field });
    }
    if on < earliest {
        return Err(RepairError::DateTooEarly { field, earliest });
    }
    Ok(())
}

/// The answer to a submitted application: accept, ask once for everything missing (`missing`
/// non-empty), or refuse (by the head). Answers the new status.
pub fn answer(
    facts: &RepairFacts,
    outcome: AcceptanceOutcome,
    missing: &[String],
    approver: Approver,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<RepairStatus, RepairError> {
    needs(facts, RepairStatus::Submitted, "submitted")?;
    dated(on, facts.applied_on, today, "accepted_on")?;
    match outcome {
        AcceptanceOutcome::Accept => Ok(RepairStatus::Accepted),
        AcceptanceOutcome::Supplement => {
            if facts.supplement_requested {
                return Err(RepairError::SupplementAlreadyRequested);
            }
            if missing.is_empty() {
                return Err(RepairError::NothingMissing);
            }
            Ok(RepairStatus::SupplementRequested)
        }
        AcceptanceOutcome::Refuse if !approver.can_approve => Err(RepairError::NeedsApproval(
            "refuse to accept an application",
        )),
        AcceptanceOutcome::Refuse => Ok(RepairStatus::Refused),
    }
}

/// The applicant's answer to the supplement request: the application is received again, and
/// the acceptance deadline counts from this day.
pub fn supplement(facts: &RepairFacts) -> Result<RepairStatus, RepairError> {
    needs(
        facts,
        RepairStatus::SupplementRequested,
        "supplement_requested",
    )?;
    Ok(RepairStatus::Submitted)
}

/// The decision on an accepted application, by the head, not before its acceptance.
pub fn decide(
    facts: &RepairFacts,
    outcome: RepairDecisionOutcome,
    approver: Approver,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<RepairStatus, RepairError> {
    needs(facts, RepairStatus::Accepted, "accepted")?;
    if !approver.can_approve {
        return Err(RepairError::NeedsApproval("decide on credit repair"));
    }
    dated(
        on,
        facts.accepted_on.unwrap_or(facts.applied_on),
        today,
        "decided_on",
    )?;
    Ok(match outcome {
        RepairDecisionOutcome::Approve => RepairStatus::Approved,
        RepairDecisionOutcome::Reject => RepairStatus::Rejected,
    })
}

/// One extension of the decision deadline, by the head.
pub fn extend(facts: &RepairFacts, approver: Approver) -> Result<(), RepairError> {
    needs(facts, RepairStatus::Accepted, "accepted")?;
    if !approver.can_approve {
        return Err(RepairError::NeedsApproval("extend the decision deadline"));
    }
    if facts.extended {
        return Err(RepairError::AlreadyExtended);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn facts(status: RepairStatus) -> RepairFacts {
        RepairFacts {
            status,
            supplement_requested: false,
            extended: false,
            applied_on: d(2026, 6, 1),
            accepted_on: Some(d(2026, 6, 2)),
        }
    }

    const HEAD: Approver = Approver { can_approve: true };
    const OFFICIAL: Approver = Approver { can_approve: false };

    #[test]
    fn a_submitted_application_is_accepted_supplemented_once_or_refused_by_the_head() {
        let f = facts(RepairStatus::Submitted);
        let today = d(2026, 6, 3);
        let on = d(2026, 6, 2);
        assert_eq!(
            answer(&f, AcceptanceOutcome::Accept, &[], OFFICIAL, on, today),
            Ok(RepairStatus::Accepted)
        );
        assert_eq!(
            answer(&f, AcceptanceOutcome::Supplement, &[], OFFICIAL, on, today),
            Err(RepairError::NothingMissing)
        );
        let missing = ["守信承诺书".to_owned()];
        assert_eq!(
            answer(
                &f,
                AcceptanceOutcome::Supplement,
                &missing,
                OFFICIAL,
                on,
                today
            ),
            Ok(RepairStatus::SupplementRequested)
        );
        let again = RepairFacts {
            supplement_requested: true,
            ..f.clone()
        };
        assert_eq!(
            answer(
                &again,
                AcceptanceOutcome::Supplement,
                &missing,
                OFFICIAL,
                on,
                today
            ),
            Err(RepairError::SupplementAlreadyRequested)
        );
        assert!(matches!(
            answer(&f, AcceptanceOutcome::Refuse, &[], OFFICIAL, on, today),
            Err(RepairError::NeedsApproval(_))
        ));
        assert_eq!(
            answer(&f, AcceptanceOutcome::Refuse, &[], HEAD, on, today),
            Ok(RepairStatus::Refused)
        );
        assert_eq!(
            answer(
                &f,
                AcceptanceOutcome::Accept,
                &[],
                OFFICIAL,
                d(2026, 5, 31),
                today
            ),
            Err(RepairError::DateTooEarly {
                field: "accepted_on",
                earliest: d(2026, 6, 1)
            })
        );
    }

    #[test]
    fn only_the_head_decides_and_extends_once() {
        let f = facts(RepairStatus::Accepted);
        let today = d(2026, 6, 10);
        assert!(matches!(
            decide(&f, RepairDecisionOutcome::Approve, OFFICIAL, today, today),
            Err(RepairError::NeedsApproval(_))
        ));
        assert_eq!(
            decide(&f, RepairDecisionOutcome::Reject, HEAD, today, today),
            Ok(RepairStatus::Rejected)
        );
        assert!(extend(&f, HEAD).is_ok());
        assert_eq!(
            extend(
                &RepairFacts {
                    extended: true,
                    ..f.clone()
                },
                HEAD
            ),
            Err(RepairError::AlreadyExtended)
        );
        assert_eq!(
            decide(
                &facts(RepairStatus::Submitted),
                RepairDecisionOutcome::Approve,
                HEAD,
                today,
                today
            )
            .map_err(|e| e.http_status()),
            Err(409)
        );
        assert_eq!(
            supplement(&facts(RepairStatus::SupplementRequested)),
            Ok(RepairStatus::Submitted)
        );
        assert!(RepairStatus::Accepted.is_open() && !RepairStatus::Refused.is_open());
    }
}
