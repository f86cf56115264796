//! The administrative penalties a violation was punished with, and which of
//! them are *heavier* penalties in the sense of SAMR Order 44 art. 2 ¶2 — the
//! only penalties a listing on the serious-violation list may follow.
//!
//! The kinds are those of the Administrative Penalty Law (行政处罚法) art. 9,
//! with the aggravated fine of Order 44 art. 2 ¶2 (1) apart from an ordinary fine.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A kind of administrative penalty (行政处罚法 art. 9; Order 44 art. 2 ¶2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PenaltyKind {
    /// 警告.
    Warning,
    /// 通报批评.
    Criticism,
    /// 罚款, within the ordinary range of the discretion benchmark.
    Fine,
    /// 罚款 set on the aggravated-penalty principle of the discretion benchmark (从重处罚).
    FineAggravated,
    /// 没收违法所得、没收非法财物.
    Confiscation,
    /// 暂扣许可证件.
    LicenseSuspended,
    /// 降低资质等级.
    LicenseDowngrade,
    /// 吊销许可证件、吊销营业执照.
    LicenseRevoked,
    /// 限制开展生产经营活动、责令停产停业、责令关闭.
    BusinessRestricted,
    /// 限制从业.
    PracticeBan,
    /// 法律、行政法规和部门规章规定的其他较重行政处罚.
    OtherHeavier,
}

impl PenaltyKind {
    pub const ALL: [PenaltyKind; 11] = [
        PenaltyKind::Warning,
        PenaltyKind::Criticism,
        PenaltyKind::Fine,
        PenaltyKind::FineAggravated,
        PenaltyKind::Confiscation,
        PenaltyKind::LicenseSuspended,
        PenaltyKind::LicenseDowngrade,
        PenaltyKind::LicenseRevoked,
        PenaltyKind::BusinessRestricted,
        PenaltyKind::PracticeBan,
        PenaltyKind::OtherHeavier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PenaltyKind::Warning => "warning",
            PenaltyKind::Criticism => "criticism",
            PenaltyKind::Fine => "fine",
            PenaltyKind::FineAggravated => "fine_aggravated",
            PenaltyKind::Confiscation => "confiscation",
            PenaltyKind::LicenseSuspended => "license_suspended",
            PenaltyKind::LicenseDowngrade => "license_downgrade",
            PenaltyKind::LicenseRevoked => "license_revoked",
            PenaltyKind::BusinessRestricted => "business_restricted",
            PenaltyKind::PracticeBan => "practice_ban",
            PenaltyKind::OtherHeavier => "other_heavier",
        }
    }

    /// The kind as a decision names it (Chinese).
    pub fn label(self) -> &'static str {
        match self {
            PenaltyKind::Warning => "警告",
            PenaltyKind::Criticism => "通报批评",
            PenaltyKind::Fine => "罚款",
            PenaltyKind::FineAggravated => "从重罚款",
            PenaltyKind::Confiscation => "没收违法所得、没收非法财物",
            PenaltyKind::LicenseSuspended => "暂扣许可证件",
            PenaltyKind::LicenseDowngrade => "降低资质等级",
            PenaltyKind::LicenseRevoked => "吊销许可证件、营业执照",
            PenaltyKind::BusinessRestricted => "限制开展生产经营活动、责令停产停业、责令关闭",
            PenaltyKind::PracticeBan => "限制从业",
            PenaltyKind::OtherHeavier => "其他较重行政处罚",
        }
    }

    /// Whether this is a heavier penalty (较重行政处罚) of Order 44 art. 2 ¶2:
    /// an aggravated fine (1); a lowered grade or a revoked licence (2); a
    /// business restriction, suspension, closure or practice ban (3); another
    /// heavier penalty set by law (4). A temporarily suspended licence is not
    /// in the list.
    pub fn is_heavier(self) -> bool {
        matches!(
            self,
            PenaltyKind::FineAggravated
                | PenaltyKind::LicenseDowngrade
                | PenaltyKind::LicenseRevoked
                | PenaltyKind::BusinessRestricted
                | PenaltyKind::PracticeBan
                | PenaltyKind::OtherHeavier
        )
    }

    /// Whether the penalty runs for a period whose end can outlast the
    /// listing (Order 44 art. 21: 限制开展生产经营活动、限制从业等措施超过三年的).
    pub fn has_end_date(self) -> bool {
        matches!(
            self,
            PenaltyKind::BusinessRestricted | PenaltyKind::PracticeBan
        )
    }
}

crate::named_values!(PenaltyKind, "penalty kind");

/// Whether any of `kinds` is a heavier penalty (Order 44 art. 2 ¶2).
pub fn heavier_penalty(kinds: &[PenaltyKind]) -> bool {
    kinds.iter().any(|k| k.is_heavier())
}

/// Why a penalty's kinds and end date do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PenaltyError {
    #[error("a practice ban needs its end date (`ban_until`)")]
    BanUntilRequired,
    #[error("`ban_until` belongs to a practice ban or a business restriction")]
    BanUntilWithoutBan,
    #[error("`ban_until` must be after the penalty decision ({decided_on})")]
    BanUntilBeforeDecision { decided_on: NaiveDate },
    #[error("`{0}` is given twice")]
    Duplicate(PenaltyKind),
}

/// Checks the kinds and the end of the restriction together: a practice ban
/// has an end date; only a ban or a business restriction may have one; it
/// falls after the decision (when the decision is known).
pub fn check_penalty(
    kinds: &[PenaltyKind],
    ban_until: Option<NaiveDate>,
    decided_on: Option<NaiveDate>,
) -> Result<(), PenaltyError> {
    for (i, k) in kinds.iter().enumerate() {
        if kinds[..i].contains(k) {
            return Err(PenaltyError::Duplicate(*k));
        }
    }
    match ban_until {
        None if kinds.contains(&PenaltyKind::PracticeBan) => Err(PenaltyError::BanUntilRequired),
        Some(_) if !kinds.iter().any(|k| k.has_end_date()) => Err(PenaltyError::BanUntilWithoutBan),
        Some(until) if decided_on.is_some_and(|d| until <= d) => {
            Err(PenaltyError::BanUntilBeforeDecision {
                decided_on: decided_on.unwrap_or(until),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn heavier_penalties_are_those_of_order_44_art_2() {
        use PenaltyKind::*;
        let heavier: Vec<PenaltyKind> = PenaltyKind::ALL
            .into_iter()
            .filter(|k| k.is_heavier())
            .collect();
        assert_eq!(
            heavier,
            [
                FineAggravated,
                LicenseDowngrade,
                LicenseRevoked,
                BusinessRestricted,
                PracticeBan,
                OtherHeavier
            ]
        );
        assert!(!heavier_penalty(&[
            Warning,
            Fine,
            Criticism,
            Confiscation,
            LicenseSuspended
        ]));
        assert!(heavier_penalty(&[Fine, FineAggravated]));
        assert!(!heavier_penalty(&[]));
    }

    #[test]
    fn names_round_trip() {
        for k in PenaltyKind::ALL {
            assert_eq!(k.as_str().parse::<PenaltyKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap().as_str(), Some(k.as_str()));
        }
        assert!("jail".parse::<PenaltyKind>().is_err());
    }

    #[test]
    fn bans_have_their_end_date() {
        use PenaltyKind::*;
        let decided = Some(d(2026, 3, 1));
        assert_eq!(
            check_penalty(&[PracticeBan], None, decided),
            Err(PenaltyError::BanUntilRequired)
        );
        assert!(check_penalty(&[PracticeBan], Some(d(2031, 3, 1)), decided).is_ok());
        assert!(check_penalty(&[BusinessRestricted], None, decided).is_ok());
        assert!(check_penalty(&[BusinessRestricted], Some(d(2030, 1, 1)), decided).is_ok());
        assert_eq!(
            check_penalty(&[Fine], Some(d(2030, 1, 1)), decided),
            Err(PenaltyError::BanUntilWithoutBan)
        );
        assert!(matches!(
            check_penalty(&[PracticeBan], Some(d(2026, 3, 1)), decided),
            Err(PenaltyError::BanUntilBeforeDecision { .. })
        ));
        assert!(check_penalty(&[PracticeBan], Some(d(2026, 3, 1)), None).is_ok());
        assert_eq!(
            check_penalty(&[Fine, Fine], None, decided),
            Err(PenaltyError::Duplicate(Fine))
        );
    }
}
