//! The grounds a listing may rest on (SAMR Order 44 art. 5–11, item by item)
//! and the management measures a listing brings (art. 15), as data read from
//! the text (`assets/law/*.json`).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One ground: an article of Order 44 art. 5–11 and its item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListingGround {
    /// `art{article}.{item}`, e.g. `art9.1`.
    pub code: String,
    pub article: u32,
    pub item: u32,
    /// The item, from the text (Chinese).
    pub summary: String,
    pub summary_en: String,
}

impl ListingGround {
    /// Art. 11 (refusing to perform a decision one is able to perform) is the
    /// one ground that needs no heavier penalty: unlike art. 5–10 it does not
    /// say 且属于本办法第二条规定情形, and art. 13 ¶3 lets it be decided apart
    /// from any penalty.
    pub fn needs_heavier_penalty(&self) -> bool {
        self.article != 11
    }
}

/// One management measure of Order 44 art. 15.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Measure {
    pub code: String,
    pub article: u32,
    pub item: u32,
    pub summary: String,
    pub summary_en: String,
}

#[derive(Deserialize)]
struct GroundsFile {
    grounds: Vec<ListingGround>,
}

#[derive(Deserialize)]
struct MeasuresFile {
    measures: Vec<Measure>,
}

const GROUNDS_JSON: &str = include_str!("../../../assets/law/listing-grounds.json");
const MEASURES_JSON: &str = include_str!("../../../assets/law/measures.json");

/// Every ground, in the order of the text.
pub fn listing_grounds() -> &'static [ListingGround] {
    static GROUNDS: OnceLock<Vec<ListingGround>> = OnceLock::new();
    GROUNDS.get_or_init(|| match serde_json::from_str::<GroundsFile>(GROUNDS_JSON) {
        Ok(file) => file.grounds,
        // The file is compiled in and checked by a test below.
        Err(e) => unreachable!("assets/law/listing-grounds.json: {e}"),
    })
}

/// Every measure of art. 15, in the order of the text.
pub fn measures() -> &'static [Measure] {
    static MEASURES: OnceLock<Vec<Measure>> = OnceLock::new();
    MEASURES.get_or_init(
        || match serde_json::from_str::<MeasuresFile>(MEASURES_JSON) {
            Ok(file) => file.measures,
            Err(e) => unreachable!("assets/law/measures.json: {e}"),
        },
    )
}

pub fn ground(code: &str) -> Option<&'static ListingGround> {
    listing_grounds().iter().find(|g| g.code == code)
}

pub fn measure(code: &str) -> Option<&'static Measure> {
    measures().iter().find(|m| m.code == code)
}

/// Why a penalty cannot carry a listing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroundError {
    #[error("names no ground of Order 44 art. 5–11 (listing_ground)")]
    NoGround,
    #[error("names `{0}`, which is no ground of Order 44 art. 5–11")]
    UnknownGround(String),
    #[error("is not a heavier administrative penalty (Order 44 art. 2: an aggravated fine, a licence downgraded or revoked, business restricted, a practice ban …)")]
    NotHeavier,
}

/// Whether a penalty may carry a listing (Order 44 art. 2 with art. 5–11): the act falls under a
/// ground of the text, and — except under art. 11 — the penalty is a heavier one.
pub fn may_carry_listing(heavier_penalty: bool, ground: Option<&str>) -> Result<(), GroundError> {
    let code = ground.ok_or(GroundError::NoGround)?;
    let ground = self::ground(code).ok_or_else(|| GroundError::UnknownGround(code.to_owned()))?;
    if ground.needs_heavier_penalty() && !heavier_penalty {
        return Err(GroundError::NotHeavier);
    }
    Ok(())
}

/// One basis penalty of a listing, as Order 44 art. 19 weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasisPenalty {
    pub heavier_penalty: bool,
    pub ground: Option<String>,
    pub revoked: bool,
}

/// Whether a listing still rests on a lawful basis after some of its penalties were annulled
/// (Order 44 art. 19): one penalty not revoked must still carry it ([`may_carry_listing`]).
/// A listing decided before grounds were recorded (no basis penalty names one) keeps the rule it
/// was decided under: it stands while any basis penalty stands.
pub fn basis_still_lawful(basis: &[BasisPenalty]) -> bool {
    let recorded_grounds = basis.iter().any(|b| b.ground.is_some());
    let mut standing = basis.iter().filter(|b| !b.revoked);
    if recorded_grounds {
        standing.any(|b| may_carry_listing(b.heavier_penalty, b.ground.as_deref()).is_ok())
    } else {
        standing.next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_heavier_penalty_with_a_ground_carries_a_listing() {
        assert_eq!(may_carry_listing(true, Some("art9.1")), Ok(()));
        assert_eq!(
            may_carry_listing(false, Some("art9.1")),
            Err(GroundError::NotHeavier)
        );
        assert_eq!(may_carry_listing(true, None), Err(GroundError::NoGround));
        assert!(matches!(
            may_carry_listing(true, Some("art99.1")),
            Err(GroundError::UnknownGround(_))
        ));
        // Art. 11: refusing to perform a decision needs no heavier penalty.
        assert_eq!(may_carry_listing(false, Some("art11.1")), Ok(()));
    }

    #[test]
    fn a_listing_falls_when_no_standing_penalty_carries_it() {
        let p = |heavier: bool, ground: Option<&str>, revoked: bool| BasisPenalty {
            heavier_penalty: heavier,
            ground: ground.map(str::to_owned),
            revoked,
        };
        // The one lawful penalty annulled; a plain fine remains: the listing falls.
        assert!(!basis_still_lawful(&[
            p(true, Some("art9.1"), true),
            p(false, Some("art9.2"), false)
        ]));
        assert!(basis_still_lawful(&[
            p(true, Some("art9.1"), true),
            p(true, Some("art9.2"), false)
        ]));
        // Records from before grounds: stands while any penalty stands.
        assert!(basis_still_lawful(&[
            p(false, None, true),
            p(false, None, false)
        ]));
        assert!(!basis_still_lawful(&[p(false, None, true)]));
    }

    #[test]
    fn every_item_of_articles_5_to_11_is_there_once() {
        let grounds = listing_grounds();
        let items: &[(u32, u32)] = &[(5, 4), (6, 4), (7, 6), (8, 5), (9, 6), (10, 3), (11, 1)];
        assert_eq!(
            grounds.len(),
            items.iter().map(|(_, n)| *n as usize).sum::<usize>()
        );
        for (article, count) in items {
            for item in 1..=*count {
                let code = format!("art{article}.{item}");
                let g = ground(&code).unwrap_or_else(|| panic!("{code} missing"));
                assert_eq!((g.article, g.item), (*article, item));
                assert!(!g.summary.is_empty() && !g.summary_en.is_empty());
            }
        }
        assert!(ground("art9.9").is_none());
        assert!(ground("art9.1").unwrap().needs_heavier_penalty());
        assert!(!ground("art11.1").unwrap().needs_heavier_penalty());
    }

    #[test]
    fn the_five_measures_of_article_15() {
        let m = measures();
        assert_eq!(m.len(), 5);
        assert!(m.iter().all(|m| m.article == 15));
        assert_eq!(
            m.iter().map(|m| m.item).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert!(measure("key_supervision").is_some());
    }
}
