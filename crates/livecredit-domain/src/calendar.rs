//! Working-day calendar for mainland China.
//!
//! Objection deadlines are counted in *working days*: a day is a working day
//! when it is a make-up working day (调休上班), or when it is Monday–Friday and
//! not inside an official holiday range. Holidays and make-up days come from a
//! data file (`assets/cn-public-holidays.toml`) with one table per year:
//!
//! ```toml
//! [2026]
//! off = [["2026-10-01", "2026-10-07"]]   # inclusive ranges of days off
//! work = ["2026-10-10"]                  # weekend days that are working days
//! ```
//!
//! A year without a table is treated as "weekends only" (Saturday and Sunday
//! off, every other day a working day). Callers should use
//! [`Calendar::covers`] / [`Calendar::uncovered_years`] to warn about that.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

/// The holiday file shipped with the service.
pub const BUILTIN_TOML: &str = include_str!("../../../assets/cn-public-holidays.toml");

const DATE_FORMAT: &str = "%Y-%m-%d";

/// Why a holiday file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("holiday file is not valid TOML for the expected format: {0}")]
    Toml(String),
    #[error("table name `{0}` is not a year")]
    InvalidYear(String),
    #[error("[{year}] `{value}` is not a date in YYYY-MM-DD form")]
    InvalidDate { year: i32, value: String },
    #[error("[{year}] off range {start}..{end} ends before it starts")]
    RangeReversed {
        year: i32,
        start: NaiveDate,
        end: NaiveDate,
    },
    #[error("[{year}] off range {start}..{end} does not lie within {year}")]
    RangeOutsideYear {
        year: i32,
        start: NaiveDate,
        end: NaiveDate,
    },
    #[error("[{year}] make-up working day {date} does not lie within {year}")]
    WorkDayOutsideYear { year: i32, date: NaiveDate },
    #[error("[{year}] make-up working day {date} is a {weekday}, not a Saturday or Sunday")]
    WorkDayNotWeekend {
        year: i32,
        date: NaiveDate,
        weekday: Weekday,
    },
    #[error("{date} is listed both as a day off and as a make-up working day")]
    OffAndWork { date: NaiveDate },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    #[serde(default)]
    off: Vec<(String, String)>,
    #[serde(default)]
    work: Vec<String>,
}

/// Official days off and make-up working days, by year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeSet<i32>,
    off: HashSet<NaiveDate>,
    work: HashSet<NaiveDate>,
}

fn parse_date(year: i32, value: &str) -> Result<NaiveDate, CalendarError> {
    NaiveDate::parse_from_str(value, DATE_FORMAT).map_err(|_| CalendarError::InvalidDate {
        year,
        value: value.to_owned(),
    })
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Calendar {
    /// A calendar that knows no holidays: every year is uncovered and only
    /// Saturdays and Sundays are days off.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    /// Parses and validates a holiday file (see the module docs for the format).
    ///
    /// Validation: every table name is a year; every date parses as
    /// `YYYY-MM-DD`; every off range has `start <= end` and lies within its
    /// table's year; every make-up working day lies within its table's year
    /// and is a Saturday or Sunday; no date is both off and a working day.
    pub fn from_toml_str(s: &str) -> Result<Self, CalendarError> {
        let raw: BTreeMap<String, RawYear> =
            toml::from_str(s).map_err(|e| CalendarError::Toml(e.to_string()))?;

        let mut calendar = Self::default();
        for (key, table) in raw {
            let year: i32 = key
                .trim()
                .parse()
                .map_err(|_| CalendarError::InvalidYear(key.clone()))?;
            calendar.years.insert(year);

            for (start, end) in &table.off {
                let start = parse_date(year, start)?;
                let end = parse_date(year, end)?;
                if start > end {
                    return Err(CalendarError::RangeReversed { year, start, end });
                }
                if start.year() != year || end.year() != year {
                    return Err(CalendarError::RangeOutsideYear { year, start, end });
                }
                // Bounded: both ends lie within one year, so at most 366 days.
                calendar
                    .off
                    .extend(start.iter_days().take_while(|d| *d <= end));
            }

            for day in &table.work {
                let date = parse_date(year, day)?;
                if date.year() != year {
                    return Err(CalendarError::WorkDayOutsideYear { year, date });
                }
                if !is_weekend(date) {
                    return Err(CalendarError::WorkDayNotWeekend {
                        year,
                        date,
                        weekday: date.weekday(),
                    });
                }
                calendar.work.insert(date);
            }
        }

        if let Some(date) = calendar.off.intersection(&calendar.work).min() {
            return Err(CalendarError::OffAndWork { date: *date });
        }
        Ok(calendar)
    }

    /// The calendar built from the holiday file compiled into the binary.
    ///
    /// The file is known-good (a unit test asserts that it parses), but the
    /// error is returned rather than panicking so the caller decides.
    pub fn builtin() -> Result<Self, CalendarError> {
        Self::from_toml_str(BUILTIN_TOML)
    }

    /// Whether the holiday file has a table for `year`.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The years in `from..=to` that the holiday file has no table for (and
    /// which are therefore treated as weekends-only). Empty when `from > to`.
    pub fn uncovered_years(&self, from: i32, to: i32) -> Vec<i32> {
        if from > to {
            return Vec::new();
        }
        (from..=to).filter(|y| !self.covers(*y)).collect()
    }

    /// The years the holiday file has a table for, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// A make-up working day is a working day; otherwise a day inside an
    /// official off range is not; otherwise Monday–Friday are working days
    /// and Saturday/Sunday are not.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.work.contains(&date) {
            true
        } else if self.off.contains(&date) {
            false
        } else {
            !is_weekend(date)
        }
    }

    /// The `n`-th working day strictly after `start` (`start` itself never
    /// counts, whether or not it is a working day). `n == 0` returns `start`.
    ///
    /// The objection deadline for a notice served on `served_on` is
    /// `add_working_days(served_on, 5)`.
    ///
    /// Saturates at [`NaiveDate::MAX`] instead of overflowing.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut remaining = n;
        while remaining > 0 {
            match date.succ_opt() {
                Some(next) => date = next,
                None => return NaiveDate::MAX,
            }
            if self.is_working_day(date) {
                remaining -= 1;
            }
        }
        date
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, DATE_FORMAT).unwrap()
    }

    fn builtin() -> Calendar {
        Calendar::builtin().expect("the shipped holiday file must parse")
    }

    #[test]
    fn builtin_file_parses_and_covers_2025_and_2026() {
        let cal = builtin();
        assert!(cal.covers(2025));
        assert!(cal.covers(2026));
        assert!(!cal.covers(2027));
        assert_eq!(cal.covered_years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert_eq!(cal.uncovered_years(2024, 2028), vec![2024, 2027, 2028]);
        assert_eq!(cal.uncovered_years(2025, 2026), Vec::<i32>::new());
        assert_eq!(cal.uncovered_years(2027, 2025), Vec::<i32>::new());
    }

    #[test]
    fn is_working_day_rules() {
        let cal = builtin();
        // Ordinary weekday / weekend.
        assert!(cal.is_working_day(d("2026-11-27"))); // Fri
        assert!(!cal.is_working_day(d("2026-11-28"))); // Sat
        assert!(!cal.is_working_day(d("2026-11-29"))); // Sun
                                                       // Weekday inside an off range.
        assert!(!cal.is_working_day(d("2026-10-01"))); // Thu, National Day
        assert!(!cal.is_working_day(d("2026-02-23"))); // Mon, last day of Spring Festival
                                                       // Weekend make-up working days.
        assert!(cal.is_working_day(d("2026-10-10"))); // Sat
        assert!(cal.is_working_day(d("2026-01-04"))); // Sun
                                                      // Uncovered year: weekends only, even on 1 January.
        assert!(cal.is_working_day(d("2027-01-01"))); // Fri
        assert!(!cal.is_working_day(d("2027-01-02"))); // Sat
    }

    #[test]
    fn objection_deadlines() {
        let cal = builtin();
        let cases = [
            // served_on, deadline, why
            (
                "2026-11-27",
                "2026-12-04",
                "Fri; plain week: Mon 30 .. Fri 4",
            ),
            (
                "2026-09-24",
                "2026-10-09",
                "Thu; 25-27 off, 28/29/30 = 1..3, 10-01..07 off, 08 = 4, 09 = 5",
            ),
            (
                "2026-02-13",
                "2026-02-27",
                "Fri; Sat 14 make-up = 1, 15-23 off, 24/25/26/27 = 2..5",
            ),
            (
                "2025-12-31",
                "2026-01-08",
                "Wed; 01-01..03 off, Sun 04 make-up = 1, 05..08 = 2..5",
            ),
            (
                "2026-12-31",
                "2027-01-07",
                "Thu; 2027 uncovered: Fri 01-01 = 1, Mon 04 .. Thu 07 = 2..5",
            ),
            (
                "2027-03-05",
                "2027-03-12",
                "Fri in uncovered 2027: weekends only",
            ),
            ("2026-11-28", "2026-12-04", "served on a Saturday"),
            (
                "2026-10-10",
                "2026-10-16",
                "served on a make-up Saturday: start never counts",
            ),
            (
                "2026-10-07",
                "2026-10-13",
                "Wed; 08 = 1, 09 = 2, Sat 10 make-up = 3, 12 = 4, 13 = 5",
            ),
            (
                "2025-09-26",
                "2025-10-10",
                "Fri; Sun 28 make-up = 1, 29/30 = 2,3, 10-01..08 off, Thu 09 = 4, Fri 10 = 5",
            ),
        ];
        for (served, deadline, why) in cases {
            assert_eq!(
                cal.add_working_days(d(served), 5),
                d(deadline),
                "served {served}: {why}"
            );
        }
    }

    #[test]
    fn add_zero_and_one_working_days() {
        let cal = builtin();
        assert_eq!(cal.add_working_days(d("2026-10-01"), 0), d("2026-10-01"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(cal.add_working_days(d("2026-10-09"), 1), d("2026-10-10"));
    }

    #[test]
    fn add_working_days_saturates() {
        let cal = Calendar::weekends_only();
        assert_eq!(cal.add_working_days(NaiveDate::MAX, 1), NaiveDate::MAX);
    }

    #[test]
    fn weekends_only_calendar() {
        let cal = Calendar::weekends_only();
        assert!(!cal.covers(2026));
        assert!(cal.is_working_day(d("2026-10-01")));
        assert!(!cal.is_working_day(d("2026-10-10")));
    }

    #[test]
    fn empty_and_minimal_files() {
        assert_eq!(
            Calendar::from_toml_str("").unwrap(),
            Calendar::weekends_only()
        );
        let cal = Calendar::from_toml_str("[2030]\n").unwrap();
        assert!(cal.covers(2030));
        assert!(cal.is_working_day(d("2030-01-01")));
    }

    fn err(s: &str) -> CalendarError {
        Calendar::from_toml_str(s).unwrap_err()
    }

    #[test]
    fn validation_errors() {
        assert!(matches!(err("[2026]\noff = 3\n"), CalendarError::Toml(_)));
        assert!(matches!(err("not toml ["), CalendarError::Toml(_)));
        assert!(matches!(
            err("[2026]\nholidays = []\n"),
            CalendarError::Toml(_)
        ));
        assert_eq!(
            err("[twenty]\n"),
            CalendarError::InvalidYear("twenty".into())
        );
        assert_eq!(
            err("[2026]\noff = [[\"2026-02-30\", \"2026-03-01\"]]\n"),
            CalendarError::InvalidDate {
                year: 2026,
                value: "2026-02-30".into()
            }
        );
        assert_eq!(
            err("[2026]\nwork = [\"10/10/2026\"]\n"),
            CalendarError::InvalidDate {
                year: 2026,
                value: "10/10/2026".into()
            }
        );
        assert_eq!(
            err("[2026]\noff = [[\"2026-10-07\", \"2026-10-01\"]]\n"),
            CalendarError::RangeReversed {
                year: 2026,
                start: d("2026-10-07"),
                end: d("2026-10-01")
            }
        );
        assert_eq!(
            err("[2026]\noff = [[\"2026-12-31\", \"2027-01-02\"]]\n"),
            CalendarError::RangeOutsideYear {
                year: 2026,
                start: d("2026-12-31"),
                end: d("2027-01-02")
            }
        );
        assert_eq!(
            err("[2026]\noff = [[\"2025-10-01\", \"2025-10-02\"]]\n"),
            CalendarError::RangeOutsideYear {
                year: 2026,
                start: d("2025-10-01"),
                end: d("2025-10-02")
            }
        );
        assert_eq!(
            err("[2026]\nwork = [\"2025-10-11\"]\n"),
            CalendarError::WorkDayOutsideYear {
                year: 2026,
                date: d("2025-10-11")
            }
        );
        assert_eq!(
            err("[2026]\nwork = [\"2026-10-09\"]\n"),
            CalendarError::WorkDayNotWeekend {
                year: 2026,
                date: d("2026-10-09"),
                weekday: Weekday::Fri
            }
        );
        assert_eq!(
            err("[2026]\noff = [[\"2026-10-01\", \"2026-10-11\"]]\nwork = [\"2026-10-10\"]\n"),
            CalendarError::OffAndWork {
                date: d("2026-10-10")
            }
        );
    }

    #[test]
    fn errors_have_messages() {
        let e = err("[2026]\nwork = [\"2026-10-09\"]\n");
        assert_eq!(
            e.to_string(),
            "[2026] make-up working day 2026-10-09 is a Fri, not a Saturday or Sunday"
        );
    }
}
