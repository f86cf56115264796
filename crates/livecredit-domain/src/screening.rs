//! What a screening answer means: the decision policy, as a pure function of
//! the matches found.
//!
//! - `hit`: an identifier (resident ID, USCC or platform account) matches a
//!   subject with a listing in force;
//! - `review`: a name alone matches a subject with a listing in force
//!   (confidence at least [`MATCH_THRESHOLD`]); or an identifier matches a
//!   subject in band C or D (the band platforms may see, of the penalties
//!   still published: `exposure`); or a subject matched by identifier or
//!   shown by name has a related party (its MCN, employer, the merchant
//!   whose room it runs) with a listing in force (Order 117);
//! - `clear`: otherwise.
//!
//! A name-only match to a subject with no listing in force is not shown at
//! all ([`shows_name_only_match`]): a common name must not flag strangers.

use serde::{Deserialize, Serialize};

use crate::names::MATCH_THRESHOLD;
use crate::scoring::Band;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// An identifier matches a subject with an active listing.
    Hit,
    /// A name matches a subject with an active listing, or an identifier
    /// matches a subject in band C or D.
    Review,
    Clear,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Hit, Decision::Review, Decision::Clear];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Hit => "hit",
            Decision::Review => "review",
            Decision::Clear => "clear",
        }
    }
}

crate::named_values!(Decision, "screening decision");

/// What the decision needs to know of one matched subject.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchFacts {
    /// Matched by resident ID, USCC or account (else by name or alias only).
    pub by_identifier: bool,
    /// The subject has a listing in force on the day of the screening.
    pub listed: bool,
    /// The band platforms may see; `None` when no penalty of the subject is
    /// published any more (or none ever was).
    pub band: Option<Band>,
    /// A current related party has a listing in force.
    pub related_listed: bool,
    /// 1 for an identifier match; the name similarity otherwise.
    pub confidence: f64,
}

/// Whether a name-only match is shown (and counts) at all.
pub fn shows_name_only_match(listed: bool, confidence: f64) -> bool {
    listed && confidence >= MATCH_THRESHOLD
}

/// The decision for one query from its matches.
pub fn decide(matches: &[MatchFacts]) -> Decision {
    let hit = matches.iter().any(|m| m.by_identifier && m.listed);
    let review = matches.iter().any(|m| {
        if m.by_identifier {
            matches!(m.band, Some(Band::C | Band::D)) || m.related_listed
        } else {
            shows_name_only_match(m.listed, m.confidence)
                || (m.related_listed && m.confidence >= MATCH_THRESHOLD)
        }
    });
    if hit {
        Decision::Hit
    } else if review {
        Decision::Review
    } else {
        Decision::Clear
    }
}

/// Days a screening record is kept (the default of
/// `LIVECREDIT_SCREENING_RETENTION_DAYS`): SAMR/CAC Order 117 (live-stream
/// e-commerce, in force 2026-02-01) has platforms keep their records at
/// least three years, and a screening record is the evidence of a check.
pub const SCREENING_RECORD_DAYS: u32 = 1095;

#[cfg(test)]
mod tests {
    use super::*;

    fn id(listed: bool, band: Band) -> MatchFacts {
        MatchFacts {
            by_identifier: true,
            listed,
            band: Some(band),
            related_listed: false,
            confidence: 1.0,
        }
    }

    fn name(listed: bool, confidence: f64) -> MatchFacts {
        MatchFacts {
            by_identifier: false,
            listed,
            band: Some(Band::A),
            related_listed: false,
            confidence,
        }
    }

    fn unscored() -> MatchFacts {
        MatchFacts {
            band: None,
            ..id(false, Band::A)
        }
    }

    fn related(m: MatchFacts) -> MatchFacts {
        MatchFacts {
            related_listed: true,
            ..m
        }
    }

    #[test]
    fn the_decision_table() {
        use Band::*;
        use Decision::*;
        let cases: &[(&str, Vec<MatchFacts>, Decision)] = &[
            ("nothing matched", vec![], Clear),
            ("identifier, listed", vec![id(true, A)], Hit),
            ("identifier, listed, band D", vec![id(true, D)], Hit),
            ("identifier, not listed, band A", vec![id(false, A)], Clear),
            ("identifier, not listed, band B", vec![id(false, B)], Clear),
            ("identifier, not listed, band C", vec![id(false, C)], Review),
            ("identifier, not listed, band D", vec![id(false, D)], Review),
            (
                "name only, listed, at the threshold",
                vec![name(true, 0.85)],
                Review,
            ),
            ("name only, listed, exact", vec![name(true, 1.0)], Review),
            (
                "name only, listed, below the threshold",
                vec![name(true, 0.84)],
                Clear,
            ),
            ("name only, not listed", vec![name(false, 1.0)], Clear),
            (
                "a listed name beside a clean identifier",
                vec![id(false, A), name(true, 0.9)],
                Review,
            ),
            ("identifier, nothing published", vec![unscored()], Clear),
            (
                "identifier, the MCN listed",
                vec![related(id(false, A))],
                Review,
            ),
            (
                "identifier, nothing published, the employer listed",
                vec![related(unscored())],
                Review,
            ),
            (
                "identifier, listed, the MCN listed too",
                vec![related(id(true, A))],
                Hit,
            ),
            (
                "name only, the MCN listed",
                vec![related(name(false, 0.9))],
                Review,
            ),
            (
                "name only below the threshold, the MCN listed",
                vec![related(name(false, 0.8))],
                Clear,
            ),
            (
                "a hit wins over everything",
                vec![name(true, 0.9), id(false, D), id(true, A)],
                Hit,
            ),
        ];
        for (what, matches, expected) in cases {
            assert_eq!(decide(matches), *expected, "{what}");
        }
    }

    #[test]
    fn names_round_trip() {
        for d in Decision::ALL {
            assert_eq!(d.as_str().parse::<Decision>().unwrap(), d);
        }
        assert!("maybe".parse::<Decision>().is_err());
    }
}
