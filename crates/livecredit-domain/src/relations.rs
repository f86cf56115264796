//! The parties of live-stream commerce and how they are bound to each other
//! (SAMR/CAC Order 117, 直播电商监督管理办法, in force 2026-02-01): an anchor
//! works for an MCN (直播营销人员服务机构) or a business, a live-room operator
//! (直播间运营者) runs a room for a merchant. A relation holds from its first
//! day up to, not including, the day it ended; its history is kept.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::registry::SubjectKind;

/// How a subject is bound to a related party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// An anchor employed by an MCN, a live-room operator or a merchant.
    EmployedBy,
    /// An anchor under contract with (signed to) an MCN, a live-room operator or a merchant.
    ContractedWith,
    /// A live-room operator or an MCN running a live room for a merchant.
    OperatesRoomFor,
}

impl RelationKind {
    pub const ALL: [RelationKind; 3] = [
        RelationKind::EmployedBy,
        RelationKind::ContractedWith,
        RelationKind::OperatesRoomFor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::EmployedBy => "employed_by",
            RelationKind::ContractedWith => "contracted_with",
            RelationKind::OperatesRoomFor => "operates_room_for",
        }
    }

    /// The kinds this relation may join, as (subject kinds, related kinds).
    pub fn parties(self) -> (&'static [SubjectKind], &'static [SubjectKind]) {
        use SubjectKind::*;
        match self {
            RelationKind::EmployedBy | RelationKind::ContractedWith => {
                (&[Anchor], &[Mcn, RoomOperator, Merchant])
            }
            RelationKind::OperatesRoomFor => (&[RoomOperator, Mcn], &[Merchant]),
        }
    }
}

crate::named_values!(RelationKind, "relation");

/// Why a relation cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationError {
    #[error("a subject is not related to itself")]
    ToItself,
    #[error("`{relation}` binds a {expected} to its related party, not a {found}")]
    SubjectKind {
        relation: RelationKind,
        expected: String,
        found: SubjectKind,
    },
    #[error("`{relation}` binds to a {expected}, not a {found}")]
    RelatedKind {
        relation: RelationKind,
        expected: String,
        found: SubjectKind,
    },
    #[error("`to` must be after `from` ({from})")]
    EndsBeforeItStarts { from: NaiveDate },
}

fn names(kinds: &[SubjectKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Checks a relation before it is recorded: two different subjects of the
/// kinds the relation joins, and an end (if any) after the start.
pub fn check_relation(
    relation: RelationKind,
    same_subject: bool,
    subject: SubjectKind,
    related: SubjectKind,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> Result<(), RelationError> {
    if same_subject {
        return Err(RelationError::ToItself);
    }
    let (subjects, relateds) = relation.parties();
    if !subjects.contains(&subject) {
        return Err(RelationError::SubjectKind {
            relation,
            expected: names(subjects),
            found: subject,
        });
    }
    if !relateds.contains(&related) {
        return Err(RelationError::RelatedKind {
            relation,
            expected: names(relateds),
            found: related,
        });
    }
    if to.is_some_and(|to| to <= from) {
        return Err(RelationError::EndsBeforeItStarts { from });
    }
    Ok(())
}

/// Whether a relation from `from` that ended on `to` (if it has) holds on `day`.
pub fn holds_on(from: NaiveDate, to: Option<NaiveDate>, day: NaiveDate) -> bool {
    from <= day && to.is_none_or(|to| day < to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RelationKind::*;
    use SubjectKind::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn who_may_be_bound_to_whom() {
        let from = d("2026-01-01");
        let ok = |r, s, t| check_relation(r, false, s, t, from, None).is_ok();
        assert!(ok(EmployedBy, Anchor, Mcn));
        assert!(ok(ContractedWith, Anchor, RoomOperator));
        assert!(ok(EmployedBy, Anchor, Merchant));
        assert!(ok(OperatesRoomFor, RoomOperator, Merchant));
        assert!(ok(OperatesRoomFor, Mcn, Merchant));
        assert!(!ok(EmployedBy, Mcn, Anchor));
        assert!(!ok(EmployedBy, Anchor, Anchor));
        assert!(!ok(OperatesRoomFor, Anchor, Merchant));
        assert!(!ok(OperatesRoomFor, RoomOperator, Mcn));
        assert_eq!(
            check_relation(EmployedBy, true, Anchor, Mcn, from, None),
            Err(RelationError::ToItself)
        );
        assert_eq!(
            check_relation(EmployedBy, false, Anchor, Mcn, from, Some(from)),
            Err(RelationError::EndsBeforeItStarts { from })
        );
    }

    #[test]
    fn a_relation_holds_up_to_the_day_it_ended() {
        let (from, to) = (d("2026-03-01"), d("2026-06-01"));
        assert!(!holds_on(from, Some(to), d("2026-02-28")));
        assert!(holds_on(from, Some(to), from));
        assert!(holds_on(from, Some(to), d("2026-05-31")));
        assert!(!holds_on(from, Some(to), to));
        assert!(holds_on(from, None, d("2099-01-01")));
    }

    #[test]
    fn names_round_trip() {
        for r in RelationKind::ALL {
            assert_eq!(r.as_str().parse::<RelationKind>().unwrap(), r);
        }
    }
}
