//! The credit score: a pure function of a versioned [`ScoringPolicy`], the
//! facts of a subject's violations and an `as_of` date.
//!
//! Policy is data: [`ScoringPolicy::v1`] is the first regulator-approved
//! policy, and later versions are stored (as JSON) rather than coded. The
//! rules applied by [`score`] for any policy are (v1 numbers in brackets):
//!
//! * A violation **counts** at `as_of` when `decided_on <= as_of` and it was
//!   not revoked on or before `as_of` (`revoked_on` is `None` or later than
//!   `as_of`). Violations that do not count are ignored entirely, including
//!   for other violations' repeat factors.
//! * `points = base × category_factor × repeat_factor × decay_factor`.
//! * `base` by severity [minor 1, general 4, serious 12, especially serious 30].
//! * `category_factor` [off-platform transaction 1.5; price fraud, data fraud,
//!   substandard product 1.2; others 1.0].
//! * `repeat_factor = min(cap, 1 + step × (n − 1))` [step 0.5, cap 2.5], where
//!   `n` counts the counting violations of the same category whose
//!   `decided_on` lies in `[this.decided_on − lookback, this.decided_on]`
//!   [lookback 365 days], this one included. Violations decided on the same
//!   date are ordered by `recorded_at`, then `id`, and only earlier ones count.
//! * `decay_factor = max(0, 1 − age_days / window_days)`, where
//!   `age_days = as_of − decided_on` and the window depends on severity
//!   [minor 90, general 365, serious and especially serious 1095 days].
//! * `score = max(0, 100 − Σ points)`, from unrounded points; the band is taken
//!   from the unrounded score [A ≥ 90, B ≥ 75, C ≥ 60, D below 60].
//!
//! A counting violation whose decay factor has reached 0 is still listed in
//! [`ScoreReport::contributions`] (with 0 points), and still counts towards the
//! repeat factor of later violations of the same category within the
//! lookback: it has expired for its own points, not been struck from the
//! record. Only a revocation removes a violation.

use std::cmp::Ordering;

use chrono::{Days, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// The score of a subject with no counting violations.
pub const MAX_SCORE: f64 = 100.0;

/// A string did not name a known [`Severity`], [`Category`] or [`Band`].
pub type ParseEnumError = crate::UnknownName;

/// How serious a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Minor,
    General,
    Serious,
    EspeciallySerious,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Minor,
        Severity::General,
        Severity::Serious,
        Severity::EspeciallySerious,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::General => "general",
            Severity::Serious => "serious",
            Severity::EspeciallySerious => "especially_serious",
        }
    }
}

/// What kind of misconduct a violation was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    FalseAdvertising,
    PriceFraud,
    OffPlatformTransaction,
    DataFraud,
    SubstandardProduct,
    AfterSalesRefusal,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::FalseAdvertising,
        Category::PriceFraud,
        Category::OffPlatformTransaction,
        Category::DataFraud,
        Category::SubstandardProduct,
        Category::AfterSalesRefusal,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::FalseAdvertising => "false_advertising",
            Category::PriceFraud => "price_fraud",
            Category::OffPlatformTransaction => "off_platform_transaction",
            Category::DataFraud => "data_fraud",
            Category::SubstandardProduct => "substandard_product",
            Category::AfterSalesRefusal => "after_sales_refusal",
            Category::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Credit band, serialised as `"A"`..`"D"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Band {
    A,
    B,
    C,
    D,
}

impl Band {
    pub const ALL: [Band; 4] = [Band::A, Band::B, Band::C, Band::D];

    pub fn as_str(self) -> &'static str {
        match self {
            Band::A => "A",
            Band::B => "B",
            Band::C => "C",
            Band::D => "D",
        }
    }
}

crate::named_values!(Severity, "severity");
crate::named_values!(Category, "category");
crate::named_values!(Band, "band");

/// One value per [`Severity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerSeverity<T> {
    pub minor: T,
    pub general: T,
    pub serious: T,
    pub especially_serious: T,
}

impl<T: Copy> PerSeverity<T> {
    pub fn get(&self, severity: Severity) -> T {
        match severity {
            Severity::Minor => self.minor,
            Severity::General => self.general,
            Severity::Serious => self.serious,
            Severity::EspeciallySerious => self.especially_serious,
        }
    }
}

/// One value per [`Category`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerCategory<T> {
    pub false_advertising: T,
    pub price_fraud: T,
    pub off_platform_transaction: T,
    pub data_fraud: T,
    pub substandard_product: T,
    pub after_sales_refusal: T,
    pub other: T,
}

impl<T: Copy> PerCategory<T> {
    pub fn get(&self, category: Category) -> T {
        match category {
            Category::FalseAdvertising => self.false_advertising,
            Category::PriceFraud => self.price_fraud,
            Category::OffPlatformTransaction => self.off_platform_transaction,
            Category::DataFraud => self.data_fraud,
            Category::SubstandardProduct => self.substandard_product,
            Category::AfterSalesRefusal => self.after_sales_refusal,
            Category::Other => self.other,
        }
    }
}

/// Lowest score (inclusive) of bands A, B and C; anything below `c` is D.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandThresholds {
    pub a: f64,
    pub b: f64,
    pub c: f64,
}

/// A policy value that [`ScoringPolicy::validate`] rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scoring policy field `{field}` is invalid: {reason}")]
pub struct PolicyError {
    pub field: &'static str,
    pub reason: &'static str,
}

/// A versioned scoring policy. Stored as JSON; see the module docs for how
/// each field is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringPolicy {
    pub version: i32,
    pub base_points: PerSeverity<f64>,
    pub category_factors: PerCategory<f64>,
    pub repeat_step: f64,
    pub repeat_cap: f64,
    pub repeat_lookback_days: u32,
    pub decay_window_days: PerSeverity<u32>,
    pub band_thresholds: BandThresholds,
}

impl ScoringPolicy {
    /// Policy version 1, the published default.
    pub fn v1() -> Self {
        Self {
            version: 1,
            base_points: PerSeverity {
                minor: 1.0,
                general: 4.0,
                serious: 12.0,
                especially_serious: 30.0,
            },
            category_factors: PerCategory {
                false_advertising: 1.0,
                price_fraud: 1.2,
                off_platform_transaction: 1.5,
                data_fraud: 1.2,
                substandard_product: 1.2,
                after_sales_refusal: 1.0,
                other: 1.0,
            },
            repeat_step: 0.5,
            repeat_cap: 2.5,
            repeat_lookback_days: 365,
            decay_window_days: PerSeverity {
                minor: 90,
                general: 365,
                serious: 1095,
                especially_serious: 1095,
            },
            band_thresholds: BandThresholds {
                a: 90.0,
                b: 75.0,
                c: 60.0,
            },
        }
    }

    /// Checks that the policy keeps the score meaningful: finite,
    /// non-negative points and factors, `repeat_cap >= 1`, decay windows of at
    /// least one day and thresholds `100 >= a >= b >= c >= 0`. With such a
    /// policy adding a violation never raises the score, and revoking one or
    /// moving `as_of` later never lowers it. [`score`] never panics, even for
    /// a policy that fails validation, but its results are then meaningless.
    pub fn validate(&self) -> Result<(), PolicyError> {
        fn check(ok: bool, field: &'static str, reason: &'static str) -> Result<(), PolicyError> {
            if ok {
                Ok(())
            } else {
                Err(PolicyError { field, reason })
            }
        }
        let non_negative = |x: f64| x.is_finite() && x >= 0.0;

        check(self.version >= 1, "version", "must be at least 1")?;
        for s in Severity::ALL {
            check(
                non_negative(self.base_points.get(s)),
                "base_points",
                "must be finite and not negative",
            )?;
            check(
                self.decay_window_days.get(s) >= 1,
                "decay_window_days",
                "must be at least 1 day",
            )?;
        }
        for c in Category::ALL {
            check(
                non_negative(self.category_factors.get(c)),
                "category_factors",
                "must be finite and not negative",
            )?;
        }
        check(
            non_negative(self.repeat_step),
            "repeat_step",
            "must be finite and not negative",
        )?;
        check(
            self.repeat_cap.is_finite() && self.repeat_cap >= 1.0,
            "repeat_cap",
            "must be finite and at least 1",
        )?;
        let t = self.band_thresholds;
        check(
            [t.a, t.b, t.c].iter().all(|x| x.is_finite())
                && MAX_SCORE >= t.a
                && t.a >= t.b
                && t.b >= t.c
                && t.c >= 0.0,
            "band_thresholds",
            "must satisfy 100 >= a >= b >= c >= 0",
        )?;
        Ok(())
    }

    /// The band of an (unrounded) score.
    pub fn band_for(&self, score: f64) -> Band {
        let t = self.band_thresholds;
        if score >= t.a {
            Band::A
        } else if score >= t.b {
            Band::B
        } else if score >= t.c {
            Band::C
        } else {
            Band::D
        }
    }

    /// `min(cap, 1 + step × (n − 1))` for the `n`-th violation (`n >= 1`).
    pub fn repeat_factor(&self, n: u32) -> f64 {
        let n = n.max(1);
        (1.0 + self.repeat_step * f64::from(n - 1)).min(self.repeat_cap)
    }

    /// `max(0, 1 − age_days / window_days)`. A negative age (a violation not
    /// yet decided) is treated as age 0; a zero window as already expired.
    pub fn decay_factor(&self, severity: Severity, age_days: i64) -> f64 {
        let window = self.decay_window_days.get(severity);
        if window == 0 {
            return 0.0;
        }
        let age = age_days.max(0) as f64;
        (1.0 - age / f64::from(window)).max(0.0)
    }
}

/// The facts about one violation that the score depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationFacts {
    /// Unique per violation; breaks ties between violations decided on the
    /// same date and recorded at the same instant.
    pub id: String,
    pub category: Category,
    pub severity: Severity,
    pub decided_on: NaiveDate,
    pub recorded_at: NaiveDateTime,
    pub revoked_on: Option<NaiveDate>,
}

impl ViolationFacts {
    /// Decided on or before `as_of`, and not revoked on or before `as_of`.
    pub fn counts_at(&self, as_of: NaiveDate) -> bool {
        self.decided_on <= as_of && self.revoked_on.is_none_or(|r| r > as_of)
    }

    /// The order used for repeat counting and for listing contributions:
    /// `decided_on`, then `recorded_at`, then `id`.
    pub fn chronological_cmp(&self, other: &Self) -> Ordering {
        (self.decided_on, self.recorded_at, self.id.as_str()).cmp(&(
            other.decided_on,
            other.recorded_at,
            other.id.as_str(),
        ))
    }
}

/// How one counting violation contributes to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub violation_id: String,
    pub category: Category,
    pub severity: Severity,
    pub decided_on: NaiveDate,
    /// `as_of − decided_on`, in days.
    pub age_days: i64,
    /// `n` of the repeat rule: counting violations of the same category in
    /// the lookback window, up to and including this one.
    pub repeat_count: u32,
    pub base: f64,
    pub category_factor: f64,
    pub repeat_factor: f64,
    pub decay_factor: f64,
    /// Unrounded; use [`Contribution::points_rounded`] for display.
    pub points: f64,
}

impl Contribution {
    /// Points rounded to 2 decimals, half away from zero.
    pub fn points_rounded(&self) -> f64 {
        round_half_away_from_zero(self.points, 2)
    }
}

/// The score of a subject at a date, with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    pub as_of: NaiveDate,
    /// Unrounded; use [`ScoreReport::score_rounded`] for display.
    pub score: f64,
    /// Taken from the unrounded score.
    pub band: Band,
    pub policy_version: i32,
    /// Every violation that counts at `as_of` (including those whose decay
    /// has reached 0 and so add 0 points), ordered by `decided_on`,
    /// `recorded_at`, `id`.
    pub contributions: Vec<Contribution>,
}

impl ScoreReport {
    /// Score rounded to 1 decimal, half away from zero.
    pub fn score_rounded(&self) -> f64 {
        round_half_away_from_zero(self.score, 1)
    }

    /// Σ points, unrounded.
    pub fn total_points(&self) -> f64 {
        self.contributions.iter().map(|c| c.points).sum()
    }
}

/// Rounds `x` to `decimals` places, halves away from zero.
///
/// Scores are products of short decimals, so a value like 1.005 (stored in
/// binary as 1.00499999999999989…) is meant as an exact half; values within a
/// relative 1e-12 of a half are therefore treated as that half.
pub fn round_half_away_from_zero(x: f64, decimals: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let factor = 10f64.powi(decimals.min(15) as i32);
    let scaled = x * factor;
    let nudged = scaled + scaled.signum() * scaled.abs().max(1.0) * 1e-12;
    nudged.round() / factor
}

/// Scores `violations` under `policy` as of `as_of`. Input order does not
/// matter. O(n log n): one sort, then one sliding window per category.
pub fn score(
    policy: &ScoringPolicy,
    violations: &[ViolationFacts],
    as_of: NaiveDate,
) -> ScoreReport {
    let mut counting: Vec<&ViolationFacts> =
        violations.iter().filter(|v| v.counts_at(as_of)).collect();
    counting.sort_by(|a, b| a.chronological_cmp(b));

    // repeat_counts[i] = n for counting[i]: a sliding window over each
    // category's violations in chronological order.
    let mut repeat_counts = vec![1u32; counting.len()];
    let mut by_category: [Vec<usize>; Category::ALL.len()] = Default::default();
    for (i, v) in counting.iter().enumerate() {
        by_category[v.category.index()].push(i);
    }
    let lookback = Days::new(u64::from(policy.repeat_lookback_days));
    for indices in &by_category {
        let mut first = 0usize; // first index (into `indices`) inside the window
        for (k, &i) in indices.iter().enumerate() {
            let from = counting[i]
                .decided_on
                .checked_sub_days(lookback)
                .unwrap_or(NaiveDate::MIN);
            while first < k && counting[indices[first]].decided_on < from {
                first += 1;
            }
            repeat_counts[i] = u32::try_from(k - first + 1).unwrap_or(u32::MAX);
        }
    }

    let contributions: Vec<Contribution> = counting
        .iter()
        .zip(repeat_counts)
        .map(|(v, repeat_count)| {
            let age_days = (as_of - v.decided_on).num_days();
            let base = policy.base_points.get(v.severity);
            let category_factor = policy.category_factors.get(v.category);
            let repeat_factor = policy.repeat_factor(repeat_count);
            let decay_factor = policy.decay_factor(v.severity, age_days);
            Contribution {
                violation_id: v.id.clone(),
                category: v.category,
                severity: v.severity,
                decided_on: v.decided_on,
                age_days,
                repeat_count,
                base,
                category_factor,
                repeat_factor,
                decay_factor,
                points: base * category_factor * repeat_factor * decay_factor,
            }
        })
        .collect();

    let total: f64 = contributions.iter().map(|c| c.points).sum();
    let score = (MAX_SCORE - total).max(0.0);
    ScoreReport {
        as_of,
        score,
        band: policy.band_for(score),
        policy_version: policy.version,
        contributions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;
    use Category::*;
    use Severity::*;

    const EPS: f64 = 1e-9;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(date: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
        date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())
    }

    fn v(id: &str, category: Category, severity: Severity, decided: &str) -> ViolationFacts {
        let decided_on = d(decided);
        ViolationFacts {
            id: id.to_owned(),
            category,
            severity,
            decided_on,
            recorded_at: at(decided_on, 9, 0),
            revoked_on: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    #[track_caller]
    fn assert_close(actual: f64, expected: f64) {
        assert!(close(actual, expected), "expected {expected}, got {actual}");
    }

    fn run(vs: &[ViolationFacts], as_of: &str) -> ScoreReport {
        score(&ScoringPolicy::v1(), vs, d(as_of))
    }

    fn contribution<'a>(r: &'a ScoreReport, id: &str) -> &'a Contribution {
        r.contributions
            .iter()
            .find(|c| c.violation_id == id)
            .unwrap_or_else(|| panic!("{id} not in report"))
    }

    // ---- enums -------------------------------------------------------------

    #[test]
    fn enum_strings_round_trip() {
        let sev = ["minor", "general", "serious", "especially_serious"];
        for (s, text) in Severity::ALL.into_iter().zip(sev) {
            assert_eq!(s.as_str(), text);
            assert_eq!(text.parse::<Severity>().unwrap(), s);
            assert_eq!(s.to_string(), text);
        }
        let cat = [
            "false_advertising",
            "price_fraud",
            "off_platform_transaction",
            "data_fraud",
            "substandard_product",
            "after_sales_refusal",
            "other",
        ];
        for (c, text) in Category::ALL.into_iter().zip(cat) {
            assert_eq!(c.as_str(), text);
            assert_eq!(text.parse::<Category>().unwrap(), c);
        }
        assert_eq!(
            "Minor".parse::<Severity>().unwrap_err(),
            ParseEnumError {
                kind: "severity",
                value: "Minor".into(),
                expected: "minor, general, serious, especially_serious".into(),
            }
        );
        assert!("price-fraud".parse::<Category>().is_err());
        assert_eq!(Band::C.as_str(), "C");
    }

    #[test]
    fn serde_names_match_as_str() {
        for s in Severity::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json.as_str(), Some(s.as_str()));
        }
        for c in Category::ALL {
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json.as_str(), Some(c.as_str()));
        }
        for (b, t) in [
            (Band::A, "A"),
            (Band::B, "B"),
            (Band::C, "C"),
            (Band::D, "D"),
        ] {
            assert_eq!(serde_json::to_value(b).unwrap().as_str(), Some(t));
        }
    }

    // ---- policy ------------------------------------------------------------

    #[test]
    fn v1_policy_values() {
        let p = ScoringPolicy::v1();
        assert_eq!(p.version, 1);
        assert_eq!(
            Severity::ALL.map(|s| p.base_points.get(s)),
            [1.0, 4.0, 12.0, 30.0]
        );
        assert_eq!(
            Category::ALL.map(|c| p.category_factors.get(c)),
            [1.0, 1.2, 1.5, 1.2, 1.2, 1.0, 1.0]
        );
        assert_eq!(
            (p.repeat_step, p.repeat_cap, p.repeat_lookback_days),
            (0.5, 2.5, 365)
        );
        assert_eq!(
            Severity::ALL.map(|s| p.decay_window_days.get(s)),
            [90, 365, 1095, 1095]
        );
        assert_eq!(
            (
                p.band_thresholds.a,
                p.band_thresholds.b,
                p.band_thresholds.c
            ),
            (90.0, 75.0, 60.0)
        );
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn policy_round_trips_through_serde() {
        let p = ScoringPolicy::v1();
        let text = serde_json::to_string(&p).unwrap();
        let back: ScoringPolicy = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        // Unknown fields are rejected so a typo cannot silently fall back.
        let bad = text.replace("repeat_step", "repeat_stepp");
        assert!(serde_json::from_str::<ScoringPolicy>(&bad).is_err());
    }

    #[test]
    fn policy_validation() {
        let mut p = ScoringPolicy::v1();
        p.decay_window_days.minor = 0;
        assert_eq!(p.validate().unwrap_err().field, "decay_window_days");
        let mut p = ScoringPolicy::v1();
        p.repeat_cap = 0.5;
        assert_eq!(p.validate().unwrap_err().field, "repeat_cap");
        let mut p = ScoringPolicy::v1();
        p.category_factors.other = f64::NAN;
        assert_eq!(p.validate().unwrap_err().field, "category_factors");
        let mut p = ScoringPolicy::v1();
        p.base_points.serious = -1.0;
        assert_eq!(p.validate().unwrap_err().field, "base_points");
        let mut p = ScoringPolicy::v1();
        p.band_thresholds.b = 95.0;
        assert_eq!(p.validate().unwrap_err().field, "band_thresholds");
        let mut p = ScoringPolicy::v1();
        p.version = 0;
        assert_eq!(p.validate().unwrap_err().field, "version");
        let mut p = ScoringPolicy::v1();
        p.repeat_step = -0.5;
        assert_eq!(p.validate().unwrap_err().field, "repeat_step");
    }

    #[test]
    fn invalid_policy_does_not_panic() {
        let mut p = ScoringPolicy::v1();
        p.decay_window_days = PerSeverity {
            minor: 0,
            general: 0,
            serious: 0,
            especially_serious: 0,
        };
        p.repeat_lookback_days = u32::MAX;
        let vs = [
            v("a", Other, Minor, "2026-01-01"),
            v("b", Other, Minor, "2026-01-02"),
        ];
        let r = score(&p, &vs, d("2026-01-02"));
        assert_eq!(r.score, 100.0);
        assert_eq!(r.contributions[1].repeat_count, 2);
    }

    // ---- base and category factor -----------------------------------------

    #[test]
    fn base_per_severity_at_age_zero() {
        for (sev, base) in [
            (Minor, 1.0),
            (General, 4.0),
            (Serious, 12.0),
            (EspeciallySerious, 30.0),
        ] {
            let r = run(&[v("x", Other, sev, "2026-03-01")], "2026-03-01");
            let c = &r.contributions[0];
            assert_eq!(
                (c.base, c.category_factor, c.repeat_factor, c.decay_factor),
                (base, 1.0, 1.0, 1.0)
            );
            assert_eq!(c.points, base);
            assert_eq!(r.score, 100.0 - base);
        }
    }

    #[test]
    fn category_factors() {
        let expected = [
            (FalseAdvertising, 1.0, 4.0),
            (PriceFraud, 1.2, 4.8),
            (OffPlatformTransaction, 1.5, 6.0),
            (DataFraud, 1.2, 4.8),
            (SubstandardProduct, 1.2, 4.8),
            (AfterSalesRefusal, 1.0, 4.0),
            (Other, 1.0, 4.0),
        ];
        for (cat, factor, points) in expected {
            let r = run(&[v("x", cat, General, "2026-03-01")], "2026-03-01");
            let c = &r.contributions[0];
            assert_eq!(c.category_factor, factor, "{cat}");
            assert_close(c.points, points);
            assert_close(r.score, 100.0 - points);
        }
    }

    // ---- repeat factor -----------------------------------------------------

    #[test]
    fn repeat_factor_grows_and_caps() {
        // Five general "other" violations on consecutive days, scored on the
        // day of the last one (decay is tiny but not zero, so check factors).
        let vs: Vec<_> = (1..=5)
            .map(|i| v(&format!("v{i}"), Other, General, &format!("2026-03-0{i}")))
            .collect();
        let r = run(&vs, "2026-03-05");
        let rf: Vec<f64> = r.contributions.iter().map(|c| c.repeat_factor).collect();
        assert_eq!(rf, vec![1.0, 1.5, 2.0, 2.5, 2.5]);
        let n: Vec<u32> = r.contributions.iter().map(|c| c.repeat_count).collect();
        assert_eq!(n, vec![1, 2, 3, 4, 5]);
        // Points of the last one: 4 × 1 × 2.5 × 1 = 10.
        assert_eq!(r.contributions[4].points, 10.0);
        // Second-to-last: 4 × 2.5 × (1 − 1/365).
        assert_close(r.contributions[3].points, 10.0 * (1.0 - 1.0 / 365.0));
    }

    #[test]
    fn repeat_factor_is_per_category() {
        let vs = [
            v("a", PriceFraud, General, "2026-03-01"),
            v("b", DataFraud, General, "2026-03-01"),
            v("c", PriceFraud, General, "2026-03-02"),
        ];
        let r = run(&vs, "2026-03-02");
        assert_eq!(contribution(&r, "a").repeat_factor, 1.0);
        assert_eq!(contribution(&r, "b").repeat_factor, 1.0);
        assert_eq!(contribution(&r, "c").repeat_factor, 1.5);
    }

    #[test]
    fn repeat_lookback_boundary() {
        // 2025-01-01 + 365 days = 2026-01-01: inside the lookback.
        let vs = [
            v("old", Other, Serious, "2025-01-01"),
            v("new", Other, Serious, "2026-01-01"),
        ];
        let r = run(&vs, "2026-01-01");
        assert_eq!(contribution(&r, "new").repeat_count, 2);
        assert_eq!(contribution(&r, "new").repeat_factor, 1.5);
        assert_eq!(contribution(&r, "new").points, 18.0);
        // 366 days: outside.
        let vs = [
            v("old", Other, Serious, "2025-01-01"),
            v("new", Other, Serious, "2026-01-02"),
        ];
        let r = run(&vs, "2026-01-02");
        assert_eq!(contribution(&r, "new").repeat_factor, 1.0);
        assert_eq!(contribution(&r, "new").points, 12.0);
    }

    #[test]
    fn repeat_window_slides() {
        // a, b within 365 of c? a is 400 days before c, b 100 days before.
        let vs = [
            v("a", Other, Serious, "2025-01-01"),
            v("b", Other, Serious, "2025-11-26"),
            v("c", Other, Serious, "2026-03-06"),
            v("d", Other, Serious, "2026-03-07"),
        ];
        let r = run(&vs, "2026-03-07");
        let n: Vec<u32> = r.contributions.iter().map(|c| c.repeat_count).collect();
        assert_eq!(n, vec![1, 2, 2, 3]);
    }

    #[test]
    fn same_date_ties_by_recorded_at_then_id() {
        let day = d("2026-03-01");
        let mut first = v("zz", PriceFraud, General, "2026-03-01");
        first.recorded_at = at(day, 8, 0);
        let mut second = v("aa", PriceFraud, General, "2026-03-01");
        second.recorded_at = at(day, 10, 0);
        // Given in reverse order; recorded_at wins over id.
        let r = run(&[second.clone(), first.clone()], "2026-03-01");
        assert_eq!(r.contributions[0].violation_id, "zz");
        assert_eq!(contribution(&r, "zz").repeat_factor, 1.0);
        assert_eq!(contribution(&r, "aa").repeat_factor, 1.5);

        // Same recorded_at: id decides.
        second.recorded_at = first.recorded_at;
        let r = run(&[first, second], "2026-03-01");
        assert_eq!(r.contributions[0].violation_id, "aa");
        assert_eq!(contribution(&r, "aa").repeat_factor, 1.0);
        assert_eq!(contribution(&r, "zz").repeat_factor, 1.5);
    }

    #[test]
    fn later_violations_do_not_raise_earlier_repeat_factor() {
        let vs = [
            v("a", Other, General, "2026-03-01"),
            v("b", Other, General, "2026-03-02"),
        ];
        let r = run(&vs, "2026-03-02");
        assert_eq!(contribution(&r, "a").repeat_factor, 1.0);
    }

    #[test]
    fn revoked_earlier_violation_does_not_count_for_repeat() {
        let mut a = v("a", Other, General, "2026-03-01");
        a.revoked_on = Some(d("2026-03-10"));
        let b = v("b", Other, General, "2026-03-02");
        let r = run(&[a.clone(), b.clone()], "2026-03-09");
        assert_eq!(contribution(&r, "b").repeat_factor, 1.5);
        let r = run(&[a, b], "2026-03-10");
        assert_eq!(r.contributions.len(), 1);
        assert_eq!(contribution(&r, "b").repeat_factor, 1.0);
    }

    #[test]
    fn expired_violation_still_counts_for_repeat() {
        // A minor violation 100 days old has decay 0 but still counts as the
        // first of two in the lookback.
        let vs = [
            v("a", Other, Minor, "2026-01-01"),
            v("b", Other, General, "2026-04-11"),
        ];
        let r = run(&vs, "2026-04-11");
        assert_eq!(contribution(&r, "a").decay_factor, 0.0);
        assert_eq!(contribution(&r, "a").points, 0.0);
        assert_eq!(contribution(&r, "b").repeat_factor, 1.5);
        assert_eq!(r.score, 94.0);
    }

    // ---- decay -------------------------------------------------------------

    #[test]
    fn decay_factor_steps() {
        let minor = [v("m", Other, Minor, "2026-01-01")];
        // age 0, half window (45 of 90), full window (90), beyond (200).
        for (as_of, decay) in [
            ("2026-01-01", 1.0),
            ("2026-02-15", 0.5),
            ("2026-04-01", 0.0),
            ("2026-07-20", 0.0),
        ] {
            let r = run(&minor, as_of);
            assert_eq!(r.contributions.len(), 1, "decayed rows are still listed");
            assert_eq!(r.contributions[0].decay_factor, decay, "{as_of}");
            assert_eq!(r.contributions[0].points, decay);
        }
        // General: 73 of 365 days → 0.8; serious: 219 of 1095 → 0.8.
        let r = run(&[v("g", Other, General, "2026-01-01")], "2026-03-15");
        assert_eq!(r.contributions[0].age_days, 73);
        assert_close(r.contributions[0].decay_factor, 0.8);
        assert_close(r.contributions[0].points, 3.2);
        let r = run(&[v("s", Other, Serious, "2025-01-01")], "2025-08-08");
        assert_eq!(r.contributions[0].age_days, 219);
        assert_close(r.contributions[0].decay_factor, 0.8);
        // Especially serious: full window of 1095 days → 0.
        let r = run(
            &[v("e", Other, EspeciallySerious, "2023-01-01")],
            "2025-12-31",
        );
        assert_eq!(r.contributions[0].age_days, 1095);
        assert_eq!(r.contributions[0].decay_factor, 0.0);
        assert_eq!(r.score, 100.0);
    }

    #[test]
    fn decay_factor_helper_edges() {
        let p = ScoringPolicy::v1();
        assert_eq!(p.decay_factor(Minor, -5), 1.0);
        assert_eq!(p.decay_factor(Minor, 45), 0.5);
        assert_eq!(p.decay_factor(Minor, 10_000), 0.0);
        assert_eq!(p.repeat_factor(0), 1.0);
        assert_eq!(p.repeat_factor(u32::MAX), 2.5);
    }

    // ---- counting ----------------------------------------------------------

    #[test]
    fn revocation_relative_to_as_of() {
        let as_of = "2026-03-10";
        for (revoked, counts) in [
            (Some("2026-03-09"), false),
            (Some("2026-03-10"), false),
            (Some("2026-03-11"), true),
            (None, true),
        ] {
            let mut x = v("x", Other, Serious, "2026-03-10");
            x.revoked_on = revoked.map(d);
            assert_eq!(x.counts_at(d(as_of)), counts);
            let r = run(&[x], as_of);
            assert_eq!(r.contributions.len(), usize::from(counts), "{revoked:?}");
            assert_eq!(r.score, if counts { 88.0 } else { 100.0 });
        }
    }

    #[test]
    fn future_decisions_do_not_count() {
        let vs = [
            v("now", Other, General, "2026-03-10"),
            v("future", Other, General, "2026-03-11"),
        ];
        let r = run(&vs, "2026-03-10");
        assert_eq!(r.contributions.len(), 1);
        assert_eq!(r.contributions[0].violation_id, "now");
        assert_eq!(r.score, 96.0);
    }

    #[test]
    fn empty_record_scores_100_band_a() {
        let r = run(&[], "2026-03-10");
        assert_eq!((r.score, r.band, r.policy_version), (100.0, Band::A, 1));
        assert!(r.contributions.is_empty());
    }

    #[test]
    fn score_floors_at_zero() {
        let vs: Vec<_> = Category::ALL
            .iter()
            .map(|c| v(c.as_str(), *c, EspeciallySerious, "2026-03-10"))
            .collect();
        let r = run(&vs, "2026-03-10");
        assert!(r.total_points() > 100.0);
        assert_eq!(r.score, 0.0);
        assert_eq!(r.band, Band::D);
    }

    // ---- bands and rounding -------------------------------------------------

    #[test]
    fn band_thresholds_exact() {
        // 4 + 4 × 1.5 = 10 → 90 → A.
        let r = run(
            &[
                v("a", Other, General, "2026-03-10"),
                v("b", Other, General, "2026-03-10"),
            ],
            "2026-03-10",
        );
        assert_eq!((r.score, r.band), (90.0, Band::A));
        // 12 + 12 + 1 = 25 → 75 → B.
        let r = run(
            &[
                v("a", Other, Serious, "2026-03-10"),
                v("b", FalseAdvertising, Serious, "2026-03-10"),
                v("c", AfterSalesRefusal, Minor, "2026-03-10"),
            ],
            "2026-03-10",
        );
        assert_eq!((r.score, r.band), (75.0, Band::B));
        // 30 + 4 × 1.5 + 4 = 40 → 60 → C.
        let r = run(
            &[
                v("a", Other, EspeciallySerious, "2026-03-10"),
                v("b", OffPlatformTransaction, General, "2026-03-10"),
                v("c", FalseAdvertising, General, "2026-03-10"),
            ],
            "2026-03-10",
        );
        assert_eq!((r.score, r.band), (60.0, Band::C));
        // One more minor point drops each below its threshold.
        let p = ScoringPolicy::v1();
        assert_eq!(p.band_for(100.0), Band::A);
        assert_eq!(p.band_for(89.999_999), Band::B);
        assert_eq!(p.band_for(74.999_999), Band::C);
        assert_eq!(p.band_for(59.999_999), Band::D);
        assert_eq!(p.band_for(0.0), Band::D);
    }

    #[test]
    fn band_uses_unrounded_score() {
        // 89.96 rounds to 90.0 for display but is band B.
        let mut p = ScoringPolicy::v1();
        p.base_points.general = 10.04;
        let r = score(&p, &[v("a", Other, General, "2026-03-10")], d("2026-03-10"));
        assert_eq!(r.score_rounded(), 90.0);
        assert_eq!(r.band, Band::B);
    }

    #[test]
    fn rounding_half_away_from_zero() {
        assert_eq!(round_half_away_from_zero(1.005, 2), 1.01);
        assert_eq!(round_half_away_from_zero(2.675, 2), 2.68);
        assert_eq!(round_half_away_from_zero(1.004_9, 2), 1.0);
        assert_eq!(round_half_away_from_zero(78.85, 1), 78.9);
        assert_eq!(round_half_away_from_zero(78.84, 1), 78.8);
        assert_eq!(round_half_away_from_zero(0.05, 1), 0.1);
        assert_eq!(round_half_away_from_zero(-0.05, 1), -0.1);
        assert_eq!(round_half_away_from_zero(0.0, 1), 0.0);
        assert!(round_half_away_from_zero(f64::NAN, 1).is_nan());
    }

    // ---- the worked example in docs/scoring.md ------------------------------

    fn worked_example_violations() -> Vec<ViolationFacts> {
        let mut df = v("DF-1", DataFraud, Serious, "2026-03-02");
        df.revoked_on = Some(d("2026-05-31"));
        vec![
            v("PF-2", PriceFraud, General, "2026-04-18"),
            v("PF-1", PriceFraud, General, "2025-09-11"),
            v("OP-1", OffPlatformTransaction, Serious, "2025-11-23"),
            df,
            v("FA-1", FalseAdvertising, Minor, "2026-01-31"),
        ]
    }

    #[test]
    fn worked_example_in_docs() {
        let r = run(&worked_example_violations(), "2026-06-30");
        assert_eq!(r.policy_version, 1);
        // id, age, base, category, n, repeat, decay, points (2 dp)
        let expected = [
            ("PF-1", 292, 4.0, 1.2, 1, 1.0, 0.2, 0.96),
            ("OP-1", 219, 12.0, 1.5, 1, 1.0, 0.8, 14.40),
            ("FA-1", 150, 1.0, 1.0, 1, 1.0, 0.0, 0.00),
            ("PF-2", 73, 4.0, 1.2, 2, 1.5, 0.8, 5.76),
        ];
        assert_eq!(r.contributions.len(), expected.len(), "DF-1 is revoked");
        for (c, (id, age, base, cf, n, rf, decay, points)) in r.contributions.iter().zip(expected) {
            assert_eq!(c.violation_id, id);
            assert_eq!(c.age_days, age, "{id}");
            assert_eq!(c.base, base, "{id}");
            assert_eq!(c.category_factor, cf, "{id}");
            assert_eq!(c.repeat_count, n, "{id}");
            assert_eq!(c.repeat_factor, rf, "{id}");
            assert_close(c.decay_factor, decay);
            assert_eq!(c.points_rounded(), points, "{id}");
        }
        assert_close(r.total_points(), 21.12);
        assert_close(r.score, 78.88);
        assert_eq!(r.score_rounded(), 78.9);
        assert_eq!(r.band, Band::B);

        // The "had DF-1 not been revoked" variant in the docs.
        let mut vs = worked_example_violations();
        for x in &mut vs {
            x.revoked_on = None;
        }
        let r = run(&vs, "2026-06-30");
        let df = contribution(&r, "DF-1");
        assert_eq!(df.age_days, 120);
        assert_close(df.decay_factor, 1.0 - 120.0 / 1095.0);
        assert_eq!(df.points_rounded(), 12.82);
        assert_eq!(r.score_rounded(), 66.1);
        assert_eq!(r.band, Band::C);
    }

    #[test]
    fn report_serialises_with_snake_case_and_band_letter() {
        let r = run(&worked_example_violations(), "2026-06-30");
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"band\":\"B\""), "{text}");
        assert!(
            text.contains("\"category\":\"off_platform_transaction\""),
            "{text}"
        );
        let back: ScoreReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn hundreds_of_violations_is_fast_and_order_independent() {
        let start = d("2022-01-01");
        let mut vs: Vec<ViolationFacts> = (0..2000u32)
            .map(|i| {
                let decided_on = start + Days::new(u64::from(i * 7 % 1500));
                ViolationFacts {
                    id: format!("v{i:04}"),
                    category: Category::ALL[(i % 7) as usize],
                    severity: Severity::ALL[(i % 4) as usize],
                    decided_on,
                    recorded_at: at(decided_on, i % 24, 0),
                    revoked_on: None,
                }
            })
            .collect();
        let a = run(&vs, "2026-01-01");
        vs.reverse();
        let b = run(&vs, "2026-01-01");
        assert_eq!(a, b);
        assert_eq!(a.score, 0.0);
    }

    // ---- properties ----------------------------------------------------------

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn epoch() -> NaiveDate {
            d("2022-01-01")
        }

        fn day(offset: u64) -> NaiveDate {
            epoch() + Days::new(offset)
        }

        /// A violation somewhere in 2022..2026 (5 years); a quarter of them
        /// crowd into two weeks so that same-date ties and repeats are common.
        fn violation() -> impl Strategy<Value = ViolationFacts> {
            (
                any::<u16>(),
                0..Category::ALL.len(),
                0..Severity::ALL.len(),
                prop_oneof![3 => 0u64..1826, 1 => 700u64..714],
                0u32..3,
                proptest::option::weighted(0.3, 0u64..800),
            )
                .prop_map(|(tag, c, s, offset, hour, revoked_after)| {
                    let decided_on = day(offset);
                    ViolationFacts {
                        id: format!("{tag:05}"),
                        category: Category::ALL[c],
                        severity: Severity::ALL[s],
                        decided_on,
                        recorded_at: at(decided_on, hour, 0),
                        revoked_on: revoked_after.map(|r| decided_on + Days::new(r)),
                    }
                })
        }

        fn record() -> impl Strategy<Value = Vec<ViolationFacts>> {
            record_of(0..30)
        }

        fn record_of(size: std::ops::Range<usize>) -> impl Strategy<Value = Vec<ViolationFacts>> {
            proptest::collection::vec(violation(), size).prop_map(|mut vs| {
                // Make ids unique while keeping their random order.
                for (i, x) in vs.iter_mut().enumerate() {
                    x.id = format!("{}-{i}", x.id);
                }
                vs
            })
        }

        fn as_of() -> impl Strategy<Value = NaiveDate> {
            (0u64..2200).prop_map(day)
        }

        /// The contract, transcribed literally, O(n²).
        fn reference_score(vs: &[ViolationFacts], as_of: NaiveDate) -> f64 {
            let p = ScoringPolicy::v1();
            let counting: Vec<&ViolationFacts> = vs.iter().filter(|x| x.counts_at(as_of)).collect();
            let mut total = 0.0;
            for x in &counting {
                let n = counting
                    .iter()
                    .filter(|y| {
                        y.category == x.category
                            && (x.decided_on - y.decided_on).num_days() <= 365
                            && y.chronological_cmp(x) != Ordering::Greater
                    })
                    .count();
                let rf = (1.0 + 0.5 * (n as f64 - 1.0)).min(2.5);
                let age = (as_of - x.decided_on).num_days() as f64;
                let window = f64::from(p.decay_window_days.get(x.severity));
                let decay = (1.0 - age / window).max(0.0);
                total +=
                    p.base_points.get(x.severity) * p.category_factors.get(x.category) * rf * decay;
            }
            (100.0 - total).max(0.0)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn matches_literal_reference(vs in record(), as_of in as_of()) {
                let r = run_at(&vs, as_of);
                prop_assert!((r.score - reference_score(&vs, as_of)).abs() < 1e-9);
            }

            #[test]
            fn score_within_bounds_and_report_consistent(vs in record(), as_of in as_of()) {
                let r = run_at(&vs, as_of);
                prop_assert!((0.0..=100.0).contains(&r.score));
                prop_assert_eq!(r.band, ScoringPolicy::v1().band_for(r.score));
                prop_assert_eq!(r.contributions.len(), vs.iter().filter(|x| x.counts_at(as_of)).count());
                for w in r.contributions.windows(2) {
                    prop_assert!((w[0].decided_on, &w[0].violation_id) != (w[1].decided_on, &w[1].violation_id));
                    prop_assert!(w[0].decided_on <= w[1].decided_on);
                }
                for c in &r.contributions {
                    prop_assert!(c.points >= 0.0);
                    prop_assert!((1.0..=2.5).contains(&c.repeat_factor));
                    prop_assert!((0.0..=1.0).contains(&c.decay_factor));
                }
            }

            #[test]
            fn input_order_does_not_matter(vs in record(), as_of in as_of()) {
                let mut reversed = vs.clone();
                reversed.reverse();
                prop_assert_eq!(run_at(&vs, as_of), run_at(&reversed, as_of));
            }

            #[test]
            fn adding_a_violation_never_raises_the_score(
                vs in record(), extra in violation(), as_of in as_of(),
            ) {
                let before = run_at(&vs, as_of).score;
                let mut more = vs.clone();
                more.push(ViolationFacts { id: "extra".into(), ..extra });
                let after = run_at(&more, as_of).score;
                prop_assert!(after <= before, "{} -> {}", before, after);
            }

            #[test]
            fn revoking_a_violation_never_lowers_the_score(
                vs in record_of(1..30), pick in any::<prop::sample::Index>(),
                days_before in 0u64..400, as_of in as_of(),
            ) {
                let before = run_at(&vs, as_of).score;
                let mut revoked = vs.clone();
                let i = pick.index(revoked.len());
                revoked[i].revoked_on = Some(as_of - Days::new(days_before));
                let after = run_at(&revoked, as_of).score;
                prop_assert!(after >= before, "{} -> {}", before, after);
            }

            #[test]
            fn later_as_of_without_new_violations_never_lowers_the_score(
                vs in record(), earlier in as_of(), later_by in 0u64..1500,
            ) {
                let known: Vec<_> = vs.into_iter().filter(|x| x.decided_on <= earlier).collect();
                let later = earlier + Days::new(later_by);
                let a = run_at(&known, earlier).score;
                let b = run_at(&known, later).score;
                prop_assert!(b >= a, "{} at {} -> {} at {}", a, earlier, b, later);
            }
        }

        fn run_at(vs: &[ViolationFacts], as_of: NaiveDate) -> ScoreReport {
            score(&ScoringPolicy::v1(), vs, as_of)
        }
    }
}
