//! What platforms may be shown of a penalty, and for how long (SAMR Order 45,
//! 《市场监督管理行政处罚信息公示规定》, in force 2021-09-01).
//!
//! - A penalty of a warning alone is not published (art. 2 ¶2).
//! - A penalty of criticism (通报批评) or a lower fine (较低数额罚款) alone is
//!   published for three months, every other penalty for three years; a
//!   restriction of business or of practice longer than three years for as
//!   long as it runs (art. 13).
//! - A penalty annulled stops being published (art. 11); a repaired one stops
//!   being shared (Order 107 art. 2) — both are outside this module: a revoked
//!   or repaired violation is never a fact given to it.
//!
//! Art. 13 counts the periods from publication on the national enterprise
//! credit information system, which the registry is not told of; it counts
//! from the penalty decision, which publication never precedes (art. 9–10:
//! within 20 working days after it), so platforms are never shown a penalty
//! longer than the text allows.

use chrono::NaiveDate;

use crate::penalties::PenaltyKind;
use crate::procedure::add_years;
use crate::registry::SubjectKind;

/// Months a penalty of criticism or a lower fine alone is published (art. 13 ¶1).
pub const SHORT_PERIOD_MONTHS: u32 = 3;
/// Years every other published penalty is (art. 13 ¶1).
pub const PERIOD_YEARS: u32 = 3;

/// The largest fine (in fen) that is still a lower fine (较低数额罚款) for a
/// natural person, and for a business. Art. 13 ¶2 leaves the amount to the
/// provincial bureaus; until one is configured livecredit reads it as the
/// fines below SAMR's threshold for a hearing (市场监督管理行政处罚听证办法
/// art. 5: 10,000 yuan for a natural person, 100,000 yuan for a business).
pub fn lower_fine_max_cents(kind: SubjectKind) -> i64 {
    if kind.is_person() {
        10_000 * 100 - 1
    } else {
        100_000 * 100 - 1
    }
}

/// The same day `n` months later, or the last day of that month when it has
/// no such day (民法典 art. 202). Saturates at [`NaiveDate::MAX`].
pub fn add_months(date: NaiveDate, n: u32) -> NaiveDate {
    // chrono clamps to the month's last day; only leaving its range fails.
    date.checked_add_months(chrono::Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// One effective penalty, as publication needs it.
#[derive(Debug, Clone, Copy)]
pub struct Penalty<'a> {
    pub kinds: &'a [PenaltyKind],
    pub fine_cents: Option<i64>,
    pub decided_on: NaiveDate,
    /// The end of a practice ban or business restriction imposed with it.
    pub restriction_until: Option<NaiveDate>,
}

/// The last day a penalty is shown to platforms, or `None` when it is never
/// shown (a warning alone). Penalties recorded before their kinds were
/// (no kinds) count as "other penalties": nothing shows them to be lighter.
/// A fine of unknown amount is not a lower fine.
pub fn shared_until(penalty: &Penalty<'_>, subject: SubjectKind) -> Option<NaiveDate> {
    use PenaltyKind::*;
    let kinds = penalty.kinds;
    if !kinds.is_empty() && kinds.iter().all(|k| *k == Warning) {
        return None;
    }
    let lower_fine = penalty
        .fine_cents
        .is_some_and(|c| c <= lower_fine_max_cents(subject));
    let light = !kinds.is_empty()
        && kinds.iter().all(|k| match k {
            Warning | Criticism => true,
            Fine => lower_fine,
            _ => false,
        });
    if light {
        return Some(add_months(penalty.decided_on, SHORT_PERIOD_MONTHS));
    }
    let three_years = add_years(penalty.decided_on, PERIOD_YEARS);
    Some(
        penalty
            .restriction_until
            .map_or(three_years, |until| until.max(three_years)),
    )
}

/// Whether platforms may be shown the penalty on `day`.
pub fn shared_on(penalty: &Penalty<'_>, subject: SubjectKind, day: NaiveDate) -> bool {
    penalty.decided_on <= day && shared_until(penalty, subject).is_some_and(|last| day <= last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PenaltyKind::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn until(kinds: &[PenaltyKind], fine: Option<i64>, ban: Option<&str>) -> Option<NaiveDate> {
        shared_until(
            &Penalty {
                kinds,
                fine_cents: fine,
                decided_on: d("2026-01-31"),
                restriction_until: ban.map(d),
            },
            SubjectKind::Anchor,
        )
    }

    /// What, the kinds, the fine in fen, the end of a ban, the last day shown.
    type Case = (
        &'static str,
        Vec<PenaltyKind>,
        Option<i64>,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn the_publication_periods_of_order_45() {
        let cases: &[Case] = &[
            (
                "a warning alone is not published",
                vec![Warning],
                None,
                None,
                None,
            ),
            (
                "criticism: three months, to the month's end",
                vec![Criticism],
                None,
                None,
                Some("2026-04-30"),
            ),
            (
                "criticism and a warning",
                vec![Warning, Criticism],
                None,
                None,
                Some("2026-04-30"),
            ),
            (
                "a lower fine",
                vec![Fine],
                Some(999_999),
                None,
                Some("2026-04-30"),
            ),
            (
                "a fine at the hearing threshold is not lower",
                vec![Fine],
                Some(1_000_000),
                None,
                Some("2029-01-31"),
            ),
            (
                "a fine of unknown amount",
                vec![Fine],
                None,
                None,
                Some("2029-01-31"),
            ),
            (
                "a lower fine with confiscation",
                vec![Fine, Confiscation],
                Some(100),
                None,
                Some("2029-01-31"),
            ),
            (
                "an aggravated fine",
                vec![FineAggravated],
                Some(100),
                None,
                Some("2029-01-31"),
            ),
            ("no kinds recorded", vec![], None, None, Some("2029-01-31")),
            (
                "a ban beyond three years runs to its end",
                vec![PracticeBan],
                None,
                Some("2031-06-30"),
                Some("2031-06-30"),
            ),
            (
                "a ban within three years",
                vec![PracticeBan],
                None,
                Some("2027-06-30"),
                Some("2029-01-31"),
            ),
        ];
        for (what, kinds, fine, ban, expected) in cases {
            assert_eq!(until(kinds, *fine, *ban), expected.map(d), "{what}");
        }
    }

    #[test]
    fn a_business_has_a_higher_lower_fine() {
        let penalty = Penalty {
            kinds: &[Fine],
            fine_cents: Some(5_000_000),
            decided_on: d("2026-01-01"),
            restriction_until: None,
        };
        assert_eq!(
            shared_until(&penalty, SubjectKind::Mcn),
            Some(d("2026-04-01"))
        );
        assert_eq!(
            shared_until(&penalty, SubjectKind::Anchor),
            Some(d("2029-01-01"))
        );
    }

    #[test]
    fn shown_from_the_decision_to_the_last_day() {
        let penalty = Penalty {
            kinds: &[Criticism],
            fine_cents: None,
            decided_on: d("2026-01-01"),
            restriction_until: None,
        };
        let on = |s| shared_on(&penalty, SubjectKind::Anchor, d(s));
        assert!(!on("2025-12-31"));
        assert!(on("2026-01-01"));
        assert!(on("2026-04-01"));
        assert!(!on("2026-04-02"));
    }
}
