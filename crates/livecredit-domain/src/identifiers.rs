//! Validated identifiers used by the credit blacklist registry.
//!
//! * [`ResidentId`] — 18-character resident identity number (GB 11643-1999).
//!   This is personal data: its `Debug` and `Display` impls print only the
//!   masked form, and the full value is reachable only through
//!   [`ResidentId::as_str_unmasked`] (for hashing and tests — never log it).
//! * [`Uscc`] — unified social credit code of an organisation (GB 32100-2015).
//!   Public information for merchants, so it prints in full.
//! * [`Account`] — a streamer / shop account on a platform, normalised so that
//!   [`Account::key`] can back a uniqueness index: NFKC (full-width `ｄｙ` is
//!   `dy`) and, on case-insensitive platforms, Unicode case folding.
//!
//! This module is pure: no I/O, no framework types. The only clock access is
//! [`ResidentId::parse`], which reads the current date in China Standard Time;
//! use [`ResidentId::parse_on`] for a deterministic variant.

use std::fmt;
use std::str::FromStr;

use caseless::Caseless;
use chrono::{Datelike, NaiveDate, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

/// Why a birth date embedded in a resident identity number was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BirthDateProblem {
    /// Characters 7–14 are not a real calendar date (e.g. February 30).
    NotACalendarDate,
    /// The year is before 1900.
    Before1900,
    /// The date is after today (China Standard Time).
    InTheFuture,
}

impl fmt::Display for BirthDateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotACalendarDate => "is not a real calendar date",
            Self::Before1900 => "is before the year 1900",
            Self::InTheFuture => "is in the future",
        })
    }
}

/// Error returned when an identifier fails validation.
///
/// Messages are meant to be shown to the API client. They never contain the
/// full submitted value (a resident ID is personal data); at most a single
/// offending character is echoed. Positions are 1-based, counted in
/// characters after surrounding whitespace has been trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentifierError {
    /// The value does not have the required number of characters.
    #[error("must be exactly {expected} characters long, found {found}")]
    WrongLength { expected: usize, found: usize },

    /// A character is not allowed at this position.
    #[error("invalid character {found:?} at position {position}: expected {expected}")]
    InvalidCharacter {
        /// 1-based character position.
        position: usize,
        found: char,
        /// Human-readable description of what is allowed there.
        expected: &'static str,
    },

    /// The final check character does not match the preceding characters.
    #[error(
        "check character (position 18) should be {expected:?} but is {found:?}; \
         the number was probably mistyped"
    )]
    BadChecksum { expected: char, found: char },

    /// The birth date (characters 7–14 of a resident ID) is not acceptable.
    #[error("birth date (characters 7-14, YYYYMMDD) {0}")]
    InvalidBirthDate(BirthDateProblem),

    /// The platform name is not acceptable.
    #[error("invalid platform: {0}")]
    InvalidPlatform(&'static str),

    /// The account handle is not acceptable.
    #[error("invalid handle: {0}")]
    InvalidHandle(&'static str),
}

// ---------------------------------------------------------------------------
// Resident identity number (GB 11643-1999)
// ---------------------------------------------------------------------------

const RESIDENT_ID_LEN: usize = 18;
const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Offset of China Standard Time from UTC, used to decide what "today" is.
const CHINA_UTC_OFFSET_HOURS: i64 = 8;

/// Chinese 18-character resident identity number (GB 11643-1999).
///
/// Always stored normalised: 17 ASCII digits followed by a digit or upper-case
/// `X`, with a correct check character and a plausible birth date.
///
/// `Debug` and `Display` print only [`ResidentId::masked`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId {
    value: String,
    birth_date: NaiveDate,
}

impl ResidentId {
    /// Parses a resident identity number, using today's date in China
    /// Standard Time (UTC+8) as the latest acceptable birth date.
    pub fn parse(s: &str) -> Result<Self, IdentifierError> {
        Self::parse_on(s, china_today())
    }

    /// Parses a resident identity number; `today` is the latest acceptable
    /// birth date.
    ///
    /// Surrounding whitespace is trimmed and a lower-case `x` check character
    /// is normalised to `X`. Checks, in order: length, characters, check
    /// character, birth date.
    pub fn parse_on(s: &str, today: NaiveDate) -> Result<Self, IdentifierError> {
        let trimmed = s.trim();
        let found = trimmed.chars().count();
        if found != RESIDENT_ID_LEN {
            return Err(IdentifierError::WrongLength {
                expected: RESIDENT_ID_LEN,
                found,
            });
        }

        let mut value = String::with_capacity(RESIDENT_ID_LEN);
        for (i, c) in trimmed.chars().enumerate() {
            let position = i + 1;
            if position < RESIDENT_ID_LEN {
                if !c.is_ascii_digit() {
                    return Err(IdentifierError::InvalidCharacter {
                        position,
                        found: c,
                        expected: "a digit 0-9",
                    });
                }
                value.push(c);
            } else {
                let c = if c == 'x' { 'X' } else { c };
                if !(c.is_ascii_digit() || c == 'X') {
                    return Err(IdentifierError::InvalidCharacter {
                        position,
                        found: c,
                        expected: "a digit 0-9 or X",
                    });
                }
                value.push(c);
            }
        }

        let (body, check) = value.split_at(RESIDENT_ID_LEN - 1);
        let expected = resident_check_char(body).ok_or(IdentifierError::WrongLength {
            expected: RESIDENT_ID_LEN,
            found,
        })?;
        let found_check = check.chars().next().unwrap_or_default();
        if expected != found_check {
            return Err(IdentifierError::BadChecksum {
                expected,
                found: found_check,
            });
        }

        let birth_date = parse_birth_date(&value[6..14], today)?;
        Ok(Self { value, birth_date })
    }

    /// Computes the check character for the first 17 characters of a
    /// resident identity number. Returns `None` unless `first17` is exactly
    /// 17 ASCII digits. Intended for tests and demo-data generators.
    pub fn check_char(first17: &str) -> Option<char> {
        resident_check_char(first17)
    }

    /// First 4 characters, 10 asterisks, last 4 characters
    /// (e.g. `1101**********0021`). Safe to log and display.
    pub fn masked(&self) -> String {
        let mut out = String::with_capacity(RESIDENT_ID_LEN);
        out.push_str(&self.value[..4]);
        out.push_str("**********");
        out.push_str(&self.value[RESIDENT_ID_LEN - 4..]);
        out
    }

    /// Lower-case hex HMAC-SHA256 of the normalised 18-character value, keyed
    /// with `pepper`. Deterministic for a given pepper, so it can back a
    /// lookup index without storing the number itself.
    ///
    /// The pepper is a secret; callers should make sure it is long (at least
    /// 32 random bytes) when loading configuration — this function accepts
    /// any length, including empty.
    pub fn keyed_hash(&self, pepper: &[u8]) -> String {
        type HmacSha256 = Hmac<Sha256>;
        // HMAC accepts keys of any length, so this never fails.
        let Ok(mut mac) = HmacSha256::new_from_slice(pepper) else {
            unreachable!("HMAC-SHA256 accepts keys of any length")
        };
        mac.update(self.value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The full, normalised 18-character number.
    ///
    /// Only for hashing and tests — never log it, never return it in an API
    /// response, never put it in an error message.
    pub fn as_str_unmasked(&self) -> &str {
        &self.value
    }

    /// Birth date encoded in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Administrative region code: the first 6 digits. Not checked against
    /// the official region list.
    pub fn region_code(&self) -> &str {
        &self.value[..6]
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl FromStr for ResidentId {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Today's date in China Standard Time (UTC+8).
fn china_today() -> NaiveDate {
    let now = Utc::now().naive_utc();
    match TimeDelta::try_hours(CHINA_UTC_OFFSET_HOURS) {
        Some(offset) => (now + offset).date(),
        None => now.date(),
    }
}

fn resident_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != RESIDENT_WEIGHTS.len() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(RESIDENT_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    // `sum % 11` is always < 11, the table length.
    RESIDENT_CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// `yyyymmdd` is 8 ASCII digits (already validated by the caller).
fn parse_birth_date(yyyymmdd: &str, today: NaiveDate) -> Result<NaiveDate, IdentifierError> {
    let not_a_date = IdentifierError::InvalidBirthDate(BirthDateProblem::NotACalendarDate);
    let year: i32 = yyyymmdd[..4].parse().map_err(|_| not_a_date.clone())?;
    let month: u32 = yyyymmdd[4..6].parse().map_err(|_| not_a_date.clone())?;
    let day: u32 = yyyymmdd[6..8].parse().map_err(|_| not_a_date.clone())?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(not_a_date)?;
    if date.year() < 1900 {
        return Err(IdentifierError::InvalidBirthDate(
            BirthDateProblem::Before1900,
        ));
    }
    if date > today {
        return Err(IdentifierError::InvalidBirthDate(
            BirthDateProblem::InTheFuture,
        ));
    }
    Ok(date)
}

// ---------------------------------------------------------------------------
// Unified social credit code (GB 32100-2015)
// ---------------------------------------------------------------------------

const USCC_LEN: usize = 18;
/// The 31 characters of GB 32100-2015; a character's value is its index.
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const USCC_EXPECTED: &str = "a digit or an upper-case letter other than I, O, S, V, Z";

/// Unified social credit code of an organisation (GB 32100-2015).
///
/// Stored normalised (upper-case, trimmed). Public information, so `Debug`
/// and `Display` print it in full.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Parses a USCC: trims surrounding whitespace, upper-cases ASCII
    /// letters, then checks length, alphabet and check character.
    ///
    /// Only the checksum is verified; the registration-authority and region
    /// segments are not checked against official code lists.
    pub fn parse(s: &str) -> Result<Self, IdentifierError> {
        let trimmed = s.trim();
        let found = trimmed.chars().count();
        if found != USCC_LEN {
            return Err(IdentifierError::WrongLength {
                expected: USCC_LEN,
                found,
            });
        }

        let mut value = String::with_capacity(USCC_LEN);
        for (i, c) in trimmed.chars().enumerate() {
            let c = c.to_ascii_uppercase();
            if uscc_value(c).is_none() {
                return Err(IdentifierError::InvalidCharacter {
                    position: i + 1,
                    found: c,
                    expected: USCC_EXPECTED,
                });
            }
            value.push(c);
        }

        let (body, check) = value.split_at(USCC_LEN - 1);
        let expected = uscc_check_char(body).ok_or(IdentifierError::WrongLength {
            expected: USCC_LEN,
            found,
        })?;
        let found_check = check.chars().next().unwrap_or_default();
        if expected != found_check {
            return Err(IdentifierError::BadChecksum {
                expected,
                found: found_check,
            });
        }
        Ok(Self(value))
    }

    /// Computes the check character for the first 17 characters of a USCC
    /// (ASCII letters are upper-cased first). Returns `None` unless `first17`
    /// is exactly 17 characters from the USCC alphabet. Intended for tests
    /// and demo-data generators.
    pub fn check_char(first17: &str) -> Option<char> {
        uscc_check_char(first17)
    }

    /// The normalised 18-character code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn uscc_value(c: char) -> Option<u32> {
    let c = u8::try_from(c.to_ascii_uppercase()).ok()?;
    USCC_ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|i| u32::try_from(i).ok())
}

fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.chars().count() != USCC_WEIGHTS.len() {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.chars().zip(USCC_WEIGHTS) {
        sum += uscc_value(c)? * w;
    }
    // 31 - (sum mod 31) is in 1..=31; 31 maps to 0.
    let check = (31 - sum % 31) % 31;
    USCC_ALPHABET.get(check as usize).map(|&b| char::from(b))
}

/// The GB 11714 check character of an 8-character organization code body
/// (the code embedded at positions 9–17 of a USCC). Intended for tests and
/// demo-data generators.
pub fn organization_code_check(body: &str) -> char {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

// ---------------------------------------------------------------------------
// Platform account
// ---------------------------------------------------------------------------

/// Platforms whose handles are case-insensitive; handles on these platforms
/// are lower-cased during normalisation. A platform not in this list keeps
/// the handle's case as submitted.
pub const CASE_INSENSITIVE_PLATFORMS: &[&str] = &[
    "douyin",
    "kuaishou",
    "taobao",
    "xiaohongshu",
    "weibo",
    "bilibili",
    "jd",
    "pinduoduo",
    "wechat_channels",
];

const PLATFORM_MAX_CHARS: usize = 32;
const HANDLE_MAX_CHARS: usize = 64;

/// The version of [`Account::parse`]'s normalisation: raise it whenever the
/// key or handle of an account changes, so that the accounts stored by an
/// older version are normalised again at start ([`Account::from_stored`]).
/// 2: handles are NFKC-normalised, and case-folded rather than lower-cased.
pub const ACCOUNT_KEYS_VERSION: i32 = 2;

/// An account on a live-streaming / e-commerce platform, normalised.
///
/// Fields are private so that every value has gone through
/// [`Account::parse`]; use the accessors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account {
    platform: String,
    handle: String,
}

impl Account {
    /// Validates and normalises a platform account.
    ///
    /// * `platform`: trimmed, ASCII-lower-cased, 1–32 characters of
    ///   `[a-z0-9_-]`.
    /// * `handle`: NFKC-normalised (full-width `ｄｙ８８` is `dy88`, `＠` is
    ///   `@`), trimmed, a single leading `@` removed, case-folded if the
    ///   platform is in [`CASE_INSENSITIVE_PLATFORMS`] (other platforms keep
    ///   the handle's case), then 1–64 characters with no whitespace, control
    ///   characters or invisible formatting characters (zero-width and
    ///   bidirectional marks).
    ///
    /// A handle that only looks like another one in another width or case is
    /// thereby the same account, on the stored side and in a screening alike.
    pub fn parse(platform: &str, handle: &str) -> Result<Self, IdentifierError> {
        let platform = platform.trim().to_ascii_lowercase();
        if platform.is_empty() {
            return Err(IdentifierError::InvalidPlatform("must not be empty"));
        }
        if platform.chars().count() > PLATFORM_MAX_CHARS {
            return Err(IdentifierError::InvalidPlatform(
                "must be at most 32 characters",
            ));
        }
        if !platform
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(IdentifierError::InvalidPlatform(
                "may contain only letters a-z, digits 0-9, '_' and '-'",
            ));
        }

        let handle: String = handle.nfkc().collect();
        let handle = handle.trim();
        let handle = handle.strip_prefix('@').unwrap_or(handle);
        let handle = if CASE_INSENSITIVE_PLATFORMS.contains(&platform.as_str()) {
            fold_case(handle)
        } else {
            handle.to_owned()
        };
        if handle.is_empty() {
            return Err(IdentifierError::InvalidHandle("must not be empty"));
        }
        if handle.chars().count() > HANDLE_MAX_CHARS {
            return Err(IdentifierError::InvalidHandle(
                "must be at most 64 characters",
            ));
        }
        if handle.chars().any(char::is_whitespace) {
            return Err(IdentifierError::InvalidHandle(
                "must not contain whitespace",
            ));
        }
        if handle
            .chars()
            .any(|c| c.is_control() || is_invisible_format(c))
        {
            return Err(IdentifierError::InvalidHandle(
                "must not contain control or invisible characters",
            ));
        }

        Ok(Self { platform, handle })
    }

    /// Normalises again an account stored by an earlier version of
    /// [`Account::parse`] (for re-keying, and wherever a stored account is
    /// parsed). The stored handle has already lost the one leading `@` that
    /// `parse` strips, so an `@` it still starts with is its own and is
    /// kept. Version 1 stripped only an ASCII `@`: a stored handle starting
    /// with a full-width `＠` may have been typed with or without an `@`
    /// before it; it is taken as typed without one (one `@` is stripped now),
    /// as today's [`Account::parse`] would take that input.
    pub fn from_stored(platform: &str, handle: &str) -> Result<Self, IdentifierError> {
        if handle.starts_with('@') {
            Self::parse(platform, &format!("@{handle}"))
        } else {
            Self::parse(platform, handle)
        }
    }

    /// Normalised platform name (lower-case).
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// Normalised handle (without leading `@`).
    pub fn handle(&self) -> &str {
        &self.handle
    }

    /// `platform:handle`, normalised; suitable for a uniqueness index. The
    /// platform cannot contain `:`, so the key is unambiguous.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.handle)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:@{}", self.platform, self.handle)
    }
}

/// What the public search compares with stored handles when it does not know
/// the platform: NFKC, without leading `@`, case-folded (as the handles of
/// case-insensitive platforms are stored).
pub fn handle_search_key(query: &str) -> String {
    let query: String = query.nfkc().collect();
    fold_case(query.trim().trim_start_matches('@'))
}

/// Unicode default case folding, in the compatibility-caseless form (NFD,
/// fold, NFKD, fold; recomposed): `Ｄy`, `DY` and `dy` fold alike, and so do
/// `Straße` and `STRASSE`. Full folding, not lower-casing: some letters have
/// no lower-case form that matches their other forms (`ß`, final `ς`).
fn fold_case(s: &str) -> String {
    s.chars()
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect()
}

/// Invisible formatting characters that would let two handles look identical
/// while comparing unequal (zero-width characters, bidi controls, BOM, soft
/// hyphen).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
    )
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        date(2025, 6, 1)
    }

    /// Builds a valid resident ID from its first 17 characters.
    fn rid(first17: &str) -> String {
        format!("{first17}{}", ResidentId::check_char(first17).unwrap())
    }

    /// Builds a valid USCC from its first 17 characters.
    fn uscc(first17: &str) -> String {
        format!("{first17}{}", Uscc::check_char(first17).unwrap())
    }

    // ----- ResidentId -----

    #[test]
    fn classic_gb11643_example_is_valid() {
        assert_eq!(ResidentId::check_char("11010519491231002"), Some('X'));
        let id = ResidentId::parse_on("11010519491231002X", today()).unwrap();
        assert_eq!(id.as_str_unmasked(), "11010519491231002X");
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.region_code(), "110105");
    }

    #[test]
    fn valid_resident_ids() {
        let cases = [
            "11010519491231002X",
            "110105194912270021",
            "440300199003071234",
            "310101198001010018",
            "510107200002290045", // leap day 2000
        ];
        for s in cases {
            let id = ResidentId::parse_on(s, today())
                .unwrap_or_else(|e| panic!("{s} should be valid: {e}"));
            assert_eq!(id.as_str_unmasked(), s);
        }
    }

    #[test]
    fn resident_id_normalisation() {
        let lower = ResidentId::parse_on("11010519491231002x", today()).unwrap();
        assert_eq!(lower.as_str_unmasked(), "11010519491231002X");
        let padded = ResidentId::parse_on(" \t11010519491231002X\n ", today()).unwrap();
        assert_eq!(padded, lower);
    }

    #[test]
    fn invalid_resident_ids() {
        use IdentifierError::*;
        let future = rid("11010520250602001");
        let feb30 = rid("11010519900230001");
        let feb29_non_leap = rid("11010519900229001");
        let month13 = rid("11010519901301001");
        let before_1900 = rid("11010518991231001");
        let cases: Vec<(&str, IdentifierError)> = vec![
            (
                "",
                WrongLength {
                    expected: 18,
                    found: 0,
                },
            ),
            (
                "1101051949123100",
                WrongLength {
                    expected: 18,
                    found: 16,
                },
            ),
            (
                "11010519491231002X1",
                WrongLength {
                    expected: 18,
                    found: 19,
                },
            ),
            (
                // 18 chars, but not 18 bytes: counted in characters.
                "1101051949123100２X",
                InvalidCharacter {
                    position: 17,
                    found: '２',
                    expected: "a digit 0-9",
                },
            ),
            (
                "1101051949A231002X",
                InvalidCharacter {
                    position: 11,
                    found: 'A',
                    expected: "a digit 0-9",
                },
            ),
            (
                "X10105194912310021",
                InvalidCharacter {
                    position: 1,
                    found: 'X',
                    expected: "a digit 0-9",
                },
            ),
            (
                "11010519491231002Y",
                InvalidCharacter {
                    position: 18,
                    found: 'Y',
                    expected: "a digit 0-9 or X",
                },
            ),
            (
                "110105194912310021",
                BadChecksum {
                    expected: 'X',
                    found: '1',
                },
            ),
            (&feb30, InvalidBirthDate(BirthDateProblem::NotACalendarDate)),
            (
                &feb29_non_leap,
                InvalidBirthDate(BirthDateProblem::NotACalendarDate),
            ),
            (
                &month13,
                InvalidBirthDate(BirthDateProblem::NotACalendarDate),
            ),
            (&before_1900, InvalidBirthDate(BirthDateProblem::Before1900)),
            (&future, InvalidBirthDate(BirthDateProblem::InTheFuture)),
        ];
        for (s, expected) in cases {
            assert_eq!(
                ResidentId::parse_on(s, today()).unwrap_err(),
                expected,
                "input {s:?}"
            );
        }
    }

    #[test]
    fn birth_date_today_is_accepted() {
        let s = rid("11010520250601001");
        assert!(ResidentId::parse_on(&s, today()).is_ok());
        assert!(ResidentId::parse_on(&s, date(2025, 5, 31)).is_err());
    }

    #[test]
    fn parse_uses_current_date() {
        assert!(ResidentId::parse("11010519491231002X").is_ok());
        assert_eq!(
            ResidentId::parse(&rid("11010599991231001")).unwrap_err(),
            IdentifierError::InvalidBirthDate(BirthDateProblem::InTheFuture)
        );
        assert!("11010519491231002x".parse::<ResidentId>().is_ok());
    }

    #[test]
    fn check_char_rejects_bad_input() {
        assert_eq!(ResidentId::check_char("1101051949123100"), None);
        assert_eq!(ResidentId::check_char("110105194912310021"), None);
        assert_eq!(ResidentId::check_char("1101051949123100A"), None);
        assert_eq!(Uscc::check_char("91350100M000100Y"), None);
        assert_eq!(Uscc::check_char("91350100M000100I4"), None);
    }

    #[test]
    fn masking() {
        let full = "110105194912270021";
        let id = ResidentId::parse_on(full, today()).unwrap();
        assert_eq!(id.masked(), "1101**********0021");
        assert_eq!(id.to_string(), "1101**********0021");
        let debug = format!("{id:?}");
        let alt_debug = format!("{id:#?}");
        assert_eq!(debug, "ResidentId(\"1101**********0021\")");
        for rendered in [debug, alt_debug, id.to_string(), format!("{:?}", Some(&id))] {
            assert!(!rendered.contains(full), "{rendered}");
            assert!(!rendered.contains("19491227"), "{rendered}");
        }
        let x = ResidentId::parse_on("11010519491231002x", today()).unwrap();
        assert_eq!(x.masked(), "1101**********002X");
    }

    #[test]
    fn errors_never_echo_the_full_value() {
        let full = "110105194912310021"; // bad checksum
        let err = ResidentId::parse_on(full, today()).unwrap_err();
        assert!(!err.to_string().contains(full));
        assert!(!format!("{err:?}").contains(full));
    }

    #[test]
    fn keyed_hash() {
        let id = ResidentId::parse_on("11010519491231002X", today()).unwrap();
        let lower = ResidentId::parse_on("11010519491231002x", today()).unwrap();
        let h1 = id.keyed_hash(b"pepper-one");
        assert_eq!(h1, id.keyed_hash(b"pepper-one"));
        assert_eq!(h1, lower.keyed_hash(b"pepper-one"));
        assert_ne!(h1, id.keyed_hash(b"pepper-two"));
        assert_eq!(h1.len(), 64);
        assert!(h1
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let other = ResidentId::parse_on("110105194912270021", today()).unwrap();
        assert_ne!(h1, other.keyed_hash(b"pepper-one"));
        // Empty pepper is accepted (HMAC allows any key length).
        assert_eq!(id.keyed_hash(b"").len(), 64);
    }

    #[test]
    fn keyed_hash_matches_independent_reference() {
        // Independent reference value (computed with Python's hmac module):
        // hmac.new(b"key", b"11010519491231002X", hashlib.sha256).hexdigest()
        let id = ResidentId::parse_on("11010519491231002X", today()).unwrap();
        assert_eq!(id.keyed_hash(b"key"), REFERENCE_HMAC);
    }

    const REFERENCE_HMAC: &str = "c702e187e6363f417304a7cb1ac993b0f8d3b0255ed35027ccd9ddc60b32b2d4";

    // ----- Uscc -----

    #[test]
    fn valid_usccs() {
        assert_eq!(Uscc::check_char("91350100M000100Y4"), Some('3'));
        let generated = uscc("91110000600037341");
        assert!(generated.ends_with('L'));
        let cases = [
            "91350100M000100Y43",
            generated.as_str(),
            "91110000600037341L",
        ];
        for s in cases {
            let u = Uscc::parse(s).unwrap_or_else(|e| panic!("{s} should be valid: {e}"));
            assert_eq!(u.as_str(), s);
            assert_eq!(u.to_string(), s);
        }
    }

    #[test]
    fn uscc_check_value_31_maps_to_zero() {
        // All zeros: sum = 0, 31 - 0 = 31 -> '0'.
        assert_eq!(Uscc::check_char("00000000000000000"), Some('0'));
        assert!(Uscc::parse("000000000000000000").is_ok());
    }

    #[test]
    fn uscc_normalisation() {
        let u = Uscc::parse("  91350100m000100y43\n").unwrap();
        assert_eq!(u.as_str(), "91350100M000100Y43");
        assert_eq!(u, "91350100M000100Y43".parse::<Uscc>().unwrap());
        assert_eq!(format!("{u:?}"), "Uscc(\"91350100M000100Y43\")");
    }

    #[test]
    fn invalid_usccs() {
        use IdentifierError::*;
        for forbidden in ['I', 'O', 'Z', 'S', 'V', 'i', 'o', 'z', 's', 'v'] {
            let s = format!("91350100{forbidden}000100Y43");
            assert_eq!(
                Uscc::parse(&s).unwrap_err(),
                InvalidCharacter {
                    position: 9,
                    found: forbidden.to_ascii_uppercase(),
                    expected: USCC_EXPECTED,
                },
                "input {s:?}"
            );
        }
        let cases: Vec<(&str, IdentifierError)> = vec![
            (
                "91350100M000100Y4",
                WrongLength {
                    expected: 18,
                    found: 17,
                },
            ),
            (
                "91350100M000100Y433",
                WrongLength {
                    expected: 18,
                    found: 19,
                },
            ),
            (
                "91350100M-00100Y43",
                InvalidCharacter {
                    position: 10,
                    found: '-',
                    expected: USCC_EXPECTED,
                },
            ),
            (
                "91350100M000100Y44",
                BadChecksum {
                    expected: '3',
                    found: '4',
                },
            ),
            (
                "91350100M000100Y4O",
                InvalidCharacter {
                    position: 18,
                    found: 'O',
                    expected: USCC_EXPECTED,
                },
            ),
        ];
        for (s, expected) in cases {
            assert_eq!(Uscc::parse(s).unwrap_err(), expected, "input {s:?}");
        }
    }

    // ----- checksum theory -----

    /// Every single-character substitution changes the weighted sum by
    /// `w * (a - b)`, which is non-zero modulo the (prime) modulus because
    /// every weight is non-zero mod m and |a - b| < m. Check it exhaustively.
    #[test]
    fn weights_detect_every_single_substitution() {
        for w in RESIDENT_WEIGHTS {
            for a in 0..10i64 {
                for b in 0..10i64 {
                    if a != b {
                        assert_ne!((i64::from(w) * (a - b)).rem_euclid(11), 0);
                    }
                }
            }
        }
        for w in USCC_WEIGHTS {
            for a in 0..31i64 {
                for b in 0..31i64 {
                    if a != b {
                        assert_ne!((i64::from(w) * (a - b)).rem_euclid(31), 0);
                    }
                }
            }
        }
        // Check-character tables are injective.
        let mut r: Vec<char> = RESIDENT_CHECK_CHARS.to_vec();
        r.sort_unstable();
        r.dedup();
        assert_eq!(r.len(), 11);
        let mut u: Vec<u8> = USCC_ALPHABET.to_vec();
        u.sort_unstable();
        u.dedup();
        assert_eq!(u.len(), 31);
    }

    // ----- Account -----

    #[test]
    fn account_normalisation() {
        let a = Account::parse("  Douyin ", " @ZhangSan_88 ").unwrap();
        assert_eq!(a.platform(), "douyin");
        assert_eq!(a.handle(), "zhangsan_88");
        assert_eq!(a.key(), "douyin:zhangsan_88");
        assert_eq!(a, Account::parse("DOUYIN", "zhangsan_88").unwrap());

        // Unknown platform keeps the handle's case.
        let b = Account::parse("MyPlatform-2", "@CaseMatters").unwrap();
        assert_eq!(b.key(), "myplatform-2:CaseMatters");

        // Only one leading '@' is stripped.
        let c = Account::parse("weibo", "@@name").unwrap();
        assert_eq!(c.handle(), "@name");

        // Non-ASCII handles are fine, and folded on case-insensitive platforms.
        let d = Account::parse("bilibili", "主播ÄBC").unwrap();
        assert_eq!(d.handle(), "主播äbc");

        let e = Account::parse("wechat_channels", "Foo").unwrap();
        assert_eq!(e.key(), "wechat_channels:foo");
        assert_eq!(e.to_string(), "wechat_channels:@foo");

        for p in CASE_INSENSITIVE_PLATFORMS {
            let acc = Account::parse(p, "MiXeD").unwrap();
            assert_eq!(acc.handle(), "mixed", "platform {p}");
        }
    }

    #[test]
    fn handles_fold_width_and_case() {
        // The reproduction of issue 14: a full-width handle is the same account.
        let full = Account::parse("douyin", "ｄｙ8227087997").unwrap();
        let ascii = Account::parse("douyin", "dy8227087997").unwrap();
        assert_eq!(full, ascii);
        assert_eq!(full.key(), "douyin:dy8227087997");
        for same in [
            "ＤＹ８２２７０８７９９７",
            "@ｄｙ8227087997",
            "＠ｄｙ8227087997",
            " DY8227087997 ",
        ] {
            assert_eq!(Account::parse("douyin", same).unwrap(), ascii, "{same:?}");
        }
        // Full case folding, not lower-casing.
        assert_eq!(
            Account::parse("weibo", "Straße").unwrap(),
            Account::parse("weibo", "STRASSE").unwrap()
        );
        assert_eq!(Account::parse("weibo", "ΣΑΣ").unwrap().handle(), "σασ");
        assert_eq!(Account::parse("weibo", "σας").unwrap().handle(), "σασ");
        // Case-sensitive platforms: NFKC, case kept.
        let other = Account::parse("myplatform", "ＣａｓｅＭａｔｔｅｒｓ").unwrap();
        assert_eq!(other.key(), "myplatform:CaseMatters");
        // Han handles are unchanged.
        assert_eq!(
            Account::parse("douyin", "主播小王").unwrap().handle(),
            "主播小王"
        );
        // NFKC can make a handle longer or give it a space: checked after.
        assert!(Account::parse("douyin", &"\u{FDFA}".repeat(4)).is_err());
        assert!(matches!(
            Account::parse("douyin", "a\u{2017}b"),
            Err(IdentifierError::InvalidHandle(_))
        ));
    }

    #[test]
    fn stored_accounts_are_normalised_again() {
        // Stored by version 1: lower-cased, not NFKC.
        let a = Account::from_stored("douyin", "ｄｙ8227087997").unwrap();
        assert_eq!(a.key(), "douyin:dy8227087997");
        // A handle that kept an `@` of its own keeps it.
        let b = Account::from_stored("weibo", "@name").unwrap();
        assert_eq!(b.handle(), "@name");
        assert_eq!(b, Account::parse("weibo", "@@name").unwrap());
        // Version 1 kept a leading full-width `＠`; it is stripped now.
        let c = Account::from_stored("weibo", "＠name").unwrap();
        assert_eq!(c.handle(), "name");
        // Everything today's parse produces is its own stored form.
        for (p, h) in [
            ("douyin", "@@ZhangSan"),
            ("weibo", "ｄｙ"),
            ("myplatform", "@CaseMatters"),
            ("bilibili", "主播ÄBC"),
        ] {
            let parsed = Account::parse(p, h).unwrap();
            assert_eq!(
                Account::from_stored(parsed.platform(), parsed.handle()).unwrap(),
                parsed
            );
        }
    }

    #[test]
    fn handle_search_key_is_the_stored_form() {
        assert_eq!(handle_search_key("@ｄｙ8227087997"), "dy8227087997");
        assert_eq!(handle_search_key("＠DY8227087997"), "dy8227087997");
        assert_eq!(handle_search_key("主播ÄBC"), "主播äbc");
        for p in CASE_INSENSITIVE_PLATFORMS {
            let stored = Account::parse(p, "ＭｉＸｅＤ_Ä").unwrap();
            assert_eq!(handle_search_key("ＭｉＸｅＤ_Ä"), stored.handle());
        }
    }

    #[test]
    fn case_folding_is_idempotent_for_every_code_point() {
        // A stored handle parses to itself (re-keying relies on it); check the
        // folding on every scalar value, alone and after a letter.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let once: String = fold_case(&c.to_string()).nfkc().collect();
            assert_eq!(fold_case(&once), once, "U+{:04X}", c as u32);
            let pair = format!("a{c}");
            let once = fold_case(&pair.nfkc().collect::<String>());
            assert_eq!(fold_case(&once), once, "a + U+{:04X}", c as u32);
        }
    }

    #[test]
    fn account_limits() {
        assert!(Account::parse(&"a".repeat(32), "h").is_ok());
        assert!(Account::parse("x", &"h".repeat(64)).is_ok());
        assert!(Account::parse("x", &format!("@{}", "h".repeat(64))).is_ok());
        assert!(Account::parse("x", &"汉".repeat(64)).is_ok());
    }

    #[test]
    fn invalid_accounts() {
        let bad_platforms = [
            "",
            "   ",
            "dou yin",
            "douyin!",
            "抖音",
            "dou:yin",
            "\u{212A}uaishou", // Kelvin sign must not fold to 'k'
        ];
        for p in bad_platforms {
            assert!(
                matches!(
                    Account::parse(p, "handle"),
                    Err(IdentifierError::InvalidPlatform(_))
                ),
                "platform {p:?}"
            );
        }
        assert!(matches!(
            Account::parse(&"a".repeat(33), "h"),
            Err(IdentifierError::InvalidPlatform(_))
        ));

        let long = "h".repeat(65);
        let bad_handles = [
            "",
            "  ",
            "@",
            " @ ",
            "zhang san",
            "zhang\u{3000}san",
            "zhang\tsan",
            "zhang\u{0}san",
            "zhang\u{7f}san",
            "zhang\u{200B}san",
            "\u{202E}nas",
            long.as_str(),
        ];
        for h in bad_handles {
            assert!(
                matches!(
                    Account::parse("douyin", h),
                    Err(IdentifierError::InvalidHandle(_))
                ),
                "handle {h:?}"
            );
        }
    }

    #[test]
    fn error_messages_are_actionable() {
        let e = IdentifierError::WrongLength {
            expected: 18,
            found: 17,
        };
        assert_eq!(
            e.to_string(),
            "must be exactly 18 characters long, found 17"
        );
        let e = Uscc::parse("91350100I000100Y43").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid character 'I' at position 9: expected a digit or an \
             upper-case letter other than I, O, S, V, Z"
        );
        let e = ResidentId::parse_on("110105194912310021", today()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "check character (position 18) should be 'X' but is '1'; \
             the number was probably mistyped"
        );
        let e = ResidentId::parse_on(&rid("11010519900230001"), today()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "birth date (characters 7-14, YYYYMMDD) is not a real calendar date"
        );
        let e = Account::parse("douyin", "a b").unwrap_err();
        assert_eq!(e.to_string(), "invalid handle: must not contain whitespace");
    }

    // ----- property tests -----

    const RESIDENT_ALPHABET: &str = "0123456789X";

    fn valid_resident_id() -> impl Strategy<Value = String> {
        let first = date(1930, 1, 1);
        let span = (date(2005, 12, 31) - first).num_days();
        (0u32..1_000_000, 0..=span, 0u32..1000).prop_map(move |(region, days, seq)| {
            let birth = first + TimeDelta::days(days);
            let first17 = format!("{region:06}{}{seq:03}", birth.format("%Y%m%d"));
            rid(&first17)
        })
    }

    fn valid_uscc() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17).prop_map(|idx| {
            let first17: String = idx.iter().map(|&i| char::from(USCC_ALPHABET[i])).collect();
            uscc(&first17)
        })
    }

    proptest! {
        #[test]
        fn prop_resident_id_valid_and_single_substitutions_rejected(s in valid_resident_id()) {
            let id = ResidentId::parse_on(&s, today());
            prop_assert!(id.is_ok(), "{} rejected: {:?}", s, id);
            let chars: Vec<char> = s.chars().collect();
            for pos in 0..chars.len() {
                for replacement in RESIDENT_ALPHABET.chars() {
                    if replacement == chars[pos] {
                        continue;
                    }
                    let mut mutated = chars.clone();
                    mutated[pos] = replacement;
                    let mutated: String = mutated.into_iter().collect();
                    prop_assert!(
                        ResidentId::parse_on(&mutated, today()).is_err(),
                        "{} accepted (from {})", mutated, s
                    );
                }
            }
        }

        #[test]
        fn prop_uscc_valid_and_single_substitutions_rejected(s in valid_uscc()) {
            let parsed = Uscc::parse(&s);
            prop_assert!(parsed.is_ok(), "{} rejected: {:?}", s, parsed);
            prop_assert!(Uscc::parse(&s.to_ascii_lowercase()).is_ok());
            let chars: Vec<char> = s.chars().collect();
            for pos in 0..chars.len() {
                for replacement in USCC_ALPHABET.iter().map(|&b| char::from(b)) {
                    if replacement == chars[pos] {
                        continue;
                    }
                    let mut mutated = chars.clone();
                    mutated[pos] = replacement;
                    let mutated: String = mutated.into_iter().collect();
                    prop_assert!(Uscc::parse(&mutated).is_err(), "{} accepted (from {})", mutated, s);
                }
            }
        }

        #[test]
        fn prop_resident_id_parse_never_panics(s in "\\PC{0,24}") {
            let _ = ResidentId::parse_on(&s, today());
        }

        #[test]
        fn prop_uscc_parse_never_panics(s in "\\PC{0,24}") {
            let _ = Uscc::parse(&s);
        }

        #[test]
        fn prop_account_parse_never_panics_and_is_idempotent(p in "\\PC{0,40}", h in "\\PC{0,80}") {
            if let Ok(acc) = Account::parse(&p, &h) {
                // Re-parsing the normalised form must be a fixed point
                // (prefix '@' so a handle that itself starts with '@' survives).
                let again = Account::parse(acc.platform(), &format!("@{}", acc.handle()));
                prop_assert_eq!(again, Ok(acc));
            }
        }
    }
}
