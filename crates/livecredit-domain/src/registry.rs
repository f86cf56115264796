//! Subjects and violations: the words of the registry and their limits.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// China Standard Time, in which every calendar date of the registry is meant.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Today's date in China Standard Time.
pub fn today_cst(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&cst()).date_naive()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A natural person who sells in live rooms; identified by resident ID.
    Anchor,
    /// A business; identified by its unified social credit code.
    Merchant,
    /// A live-room operator (直播间运营者, SAMR/CAC Order 117): the business
    /// that runs a live room and answers for what is sold in it.
    RoomOperator,
    /// An MCN (直播营销人员服务机构, Order 117): the agency that recruits,
    /// trains and manages anchors.
    Mcn,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 4] = [
        SubjectKind::Anchor,
        SubjectKind::Merchant,
        SubjectKind::RoomOperator,
        SubjectKind::Mcn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Anchor => "anchor",
            SubjectKind::Merchant => "merchant",
            SubjectKind::RoomOperator => "room_operator",
            SubjectKind::Mcn => "mcn",
        }
    }

    /// The kind's name in Chinese and in English, for pages and documents.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            SubjectKind::Anchor => ("主播", "Anchor"),
            SubjectKind::Merchant => ("商家", "Merchant"),
            SubjectKind::RoomOperator => ("直播间运营者", "Live-room operator"),
            SubjectKind::Mcn => ("直播营销人员服务机构", "MCN"),
        }
    }

    /// A natural person, identified by resident ID (whose number is never
    /// published in full); every other kind is a business identified by its
    /// unified social credit code, which is public.
    pub fn is_person(self) -> bool {
        self == SubjectKind::Anchor
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ViolationStatus {
    /// The penalty has been notified but not yet decided: it counts nowhere until it is.
    Pending,
    Effective,
    Revoked,
}

impl ViolationStatus {
    pub const ALL: [ViolationStatus; 3] = [
        ViolationStatus::Pending,
        ViolationStatus::Effective,
        ViolationStatus::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ViolationStatus::Pending => "pending",
            ViolationStatus::Effective => "effective",
            ViolationStatus::Revoked => "revoked",
        }
    }
}

/// Where a band-D review flag stands: a score is not a legal ground for listing, so a subject
/// falling to band D is flagged for a regulator, who clears the flag or turns it into a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewFlagStatus {
    Open,
    Cleared,
    Converted,
}

impl ReviewFlagStatus {
    pub const ALL: [ReviewFlagStatus; 3] = [
        ReviewFlagStatus::Open,
        ReviewFlagStatus::Cleared,
        ReviewFlagStatus::Converted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewFlagStatus::Open => "open",
            ReviewFlagStatus::Cleared => "cleared",
            ReviewFlagStatus::Converted => "converted",
        }
    }
}

crate::named_values!(SubjectKind, "subject kind");
crate::named_values!(ViolationStatus, "violation status");
crate::named_values!(ReviewFlagStatus, "review flag status");

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_ALIASES: usize = 20;
pub const MAX_ACCOUNTS: usize = 50;
pub const MAX_EVIDENCE: usize = 50;
pub const MAX_TEXT_CHARS: usize = 5000;

/// A trimmed name of 1 to 200 characters without control characters.
pub fn clean_name(raw: &str) -> Result<String, String> {
    let name: String = raw.trim().to_owned();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS {
        return Err(format!("must be 1 to {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name)
}

/// A trimmed free text of 1 to `max` characters.
pub fn clean_text(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim().to_owned();
    let count = text.chars().count();
    if count == 0 || count > max {
        return Err(format!("must be 1 to {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    Ok(text)
}

/// A six-digit administrative division code (GB/T 2260).
pub fn check_region_code(code: &str) -> Result<(), String> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must be a six-digit division code".into())
    }
}

/// An effective date: never after today and never before `earliest`.
pub fn check_effective_date(
    date: NaiveDate,
    today: NaiveDate,
    earliest: Option<NaiveDate>,
) -> Result<(), String> {
    if date > today {
        return Err(format!("must not be after today ({today})"));
    }
    if let Some(earliest) = earliest {
        if date < earliest {
            return Err(format!("must not be before {earliest}"));
        }
    }
    Ok(())
}

/// Lower-case hex SHA-256.
pub fn clean_sha256(raw: &str) -> Result<String, String> {
    let hex = raw.trim().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err("must be the 64 hex digits of a SHA-256".into())
    }
}

/// A media type such as `video/mp4` or `application/pdf`.
pub fn clean_media_type(raw: &str) -> Result<String, String> {
    let value = raw.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match value.split_once('/') {
        Some((top, sub)) if token(top) && token(sub) && value.len() <= 127 => Ok(value),
        _ => Err("must be a media type such as video/mp4".into()),
    }
}

/// An absolute URI with a scheme (`https:`, `s3:`, `urn:` …) and no spaces.
pub fn check_uri(raw: &str) -> Result<String, String> {
    let uri = raw.trim();
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if scheme_ok && uri.len() <= 2000 && !uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(uri.to_owned())
    } else {
        Err("must be an absolute URI such as https://… (at most 2000 characters)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_in_china_standard_time() {
        let late_utc = DateTime::parse_from_rfc3339("2026-11-29T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            today_cst(late_utc),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        let early_utc = DateTime::parse_from_rfc3339("2026-11-29T15:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            today_cst(early_utc),
            NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
        );
    }

    #[test]
    fn text_rules() {
        assert_eq!(clean_name("  张伟 ").unwrap(), "张伟");
        assert!(clean_name("").is_err());
        assert!(clean_name(&"名".repeat(201)).is_err());
        assert!(clean_name("a\u{0}b").is_err());
        assert!(clean_text("line one\nline two", 100).is_ok());
        assert!(check_region_code("330100").is_ok());
        assert!(check_region_code("33010").is_err());
    }

    #[test]
    fn dates_are_never_in_the_future_or_before_their_basis() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert!(check_effective_date(today, today, None).is_ok());
        assert!(check_effective_date(today.succ_opt().unwrap(), today, None).is_err());
        let basis = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert!(check_effective_date(
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            today,
            Some(basis)
        )
        .is_err());
        assert!(check_effective_date(basis, today, Some(basis)).is_ok());
    }

    #[test]
    fn evidence_fields() {
        let hash = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(clean_sha256(hash).unwrap(), hash.to_lowercase());
        assert!(clean_sha256("abc").is_err());
        assert_eq!(clean_media_type("Video/MP4").unwrap(), "video/mp4");
        assert!(clean_media_type("video").is_err());
        assert!(check_uri("https://evidence.example.cn/case/1.mp4").is_ok());
        assert!(check_uri("s3://bucket/key").is_ok());
        assert!(check_uri("not a uri").is_err());
        assert!(check_uri("../../etc/passwd").is_err());
    }
}
