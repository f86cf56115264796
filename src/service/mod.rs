//! The use cases: the one place where each is carried out — its rules, the
//! rows it writes, its audit entries, outbox events, score upkeep and list
//! version. The JSON API, the HTML pages, the CLI and demo-data all call here.
//!
//! A service function takes a connection (inside a transaction that its
//! caller or it opens), the [`Actor`] and typed input; it answers with typed
//! output or a [`ServiceError`]. It knows nothing of HTTP.

pub mod accounts;
pub mod audit;
pub mod documents;
pub mod error;
pub mod evidence;
pub mod index;
pub mod listings;
pub mod portal;
pub mod publication;
pub mod relations;
pub mod repairs;
pub mod review;
pub mod scores;
pub mod screening;
pub mod subjects;
pub mod upkeep;
pub mod violations;
pub mod watch;
pub mod work;

use chrono::{NaiveDate, Utc};

pub use crate::infra::chain;
pub use error::{FieldError, Problems, ServiceError, ServiceResult};

use crate::db::audit::AuditActor;
use crate::domain::accounts::Role;
use crate::domain::registry::today_cst;

/// Who is acting: a signed-in user (with their organization and role), a
/// listed subject signed in to the portal with their notice's access code,
/// or the system itself (background upkeep, automatic proposals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    System,
    User(Staff),
    Subject(Party),
}

/// A listed subject in the portal: who they are, and the listing whose
/// notice they signed in with. They read and act on their own records only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub subject_id: String,
    pub listing_id: String,
}

/// A signed-in user as the use cases see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: String,
    pub organization_id: String,
    pub role: Role,
}

impl Actor {
    pub fn user(id: &str, organization_id: &str, role: Role) -> Self {
        Actor::User(Staff {
            id: id.to_owned(),
            organization_id: organization_id.to_owned(),
            role,
        })
    }

    /// The user's id; `None` for the system and a subject.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::System | Actor::Subject(_) => None,
            Actor::User(s) => Some(&s.id),
        }
    }

    pub fn organization_id(&self) -> Option<&str> {
        match self {
            Actor::System | Actor::Subject(_) => None,
            Actor::User(s) => Some(&s.organization_id),
        }
    }

    /// The subject in the portal, if that is who acts.
    pub fn party(&self) -> Option<&Party> {
        match self {
            Actor::Subject(p) => Some(p),
            _ => None,
        }
    }

    /// How the audit chain names this actor.
    pub fn audit(&self) -> AuditActor {
        AuditActor {
            user_id: self.user_id().map(str::to_owned),
            organization_id: self.organization_id().map(str::to_owned),
            subject_id: self.party().map(|p| p.subject_id.clone()),
        }
    }

    /// The user, when they hold one of `roles`; 403 otherwise (the system may
    /// do anything; a subject nothing that needs a role).
    pub fn require(&self, roles: &[Role]) -> ServiceResult<Option<&Staff>> {
        match self {
            Actor::System => Ok(None),
            Actor::User(s) if roles.contains(&s.role) => Ok(Some(s)),
            Actor::User(s) => Err(ServiceError::forbidden(format!(
                "the {} role may not do this",
                s.role
            ))),
            Actor::Subject(_) => Err(ServiceError::forbidden(
                "a subject signed in to the portal reads and acts on their own records only",
            )),
        }
    }

    /// Reading a subject's records: staff who read the registry, or that
    /// subject themselves. Another subject's records are "not found" to a
    /// subject, as if they did not exist.
    pub fn require_reader_of(&self, subject_id: &str) -> ServiceResult<()> {
        match self {
            Actor::Subject(p) if p.subject_id == subject_id => Ok(()),
            Actor::Subject(_) => Err(ServiceError::not_found("no such resource")),
            _ => self.require(roles::READERS).map(drop),
        }
    }

    /// A user who holds one of `roles` (the system is refused: this step needs a person).
    pub fn staff(&self, roles: &[Role]) -> ServiceResult<&Staff> {
        self.require(roles)?
            .ok_or_else(|| ServiceError::internal("this step needs a user, not the system"))
    }

    /// Whose platform records (screening history, watchlist, webhooks and
    /// their deliveries, the event feed) this actor reads, CONTRACT §4: a
    /// platform only its own organization's; admins and auditors every
    /// organization's, or the one `asked` names (`organization_id`). A
    /// platform naming another organization is refused, not quietly narrowed.
    pub fn platform_records(&self, asked: Option<&str>) -> ServiceResult<RecordScope> {
        let staff = self.require(roles::PLATFORM_RECORD_READERS)?;
        let asked = match asked.filter(|a| !a.is_empty()) {
            None => None,
            // Ids are UUIDs, stored in their lower-case hyphenated form:
            // anything else names no organization (and never reaches the
            // database, where a NUL would be an error).
            Some(a) => Some(
                uuid::Uuid::parse_str(a)
                    .map(|u| u.hyphenated().to_string())
                    .map_err(|_| {
                        ServiceError::invalid("organization_id", "is not an organization id")
                    })?,
            ),
        };
        match (staff, asked) {
            (Some(s), asked) if s.role == Role::Platform => match asked {
                Some(other) if other != s.organization_id => Err(ServiceError::forbidden(
                    "a platform reads only its own organization's records",
                )),
                _ => Ok(RecordScope::Organization(s.organization_id.clone())),
            },
            (_, Some(org)) => Ok(RecordScope::Organization(org)),
            (_, None) => Ok(RecordScope::Every),
        }
    }
}

/// Whose platform records a reader sees (see [`Actor::platform_records`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordScope {
    /// One organization's: a platform's own, or the one an admin or auditor named.
    Organization(String),
    /// Every organization's: an admin or auditor who named none.
    Every,
}

impl RecordScope {
    /// The organization to filter on; `None` for every organization.
    pub fn organization(&self) -> Option<&str> {
        match self {
            RecordScope::Organization(id) => Some(id),
            RecordScope::Every => None,
        }
    }
}

/// Today's date in China Standard Time, the date every rule is judged on.
pub fn today() -> NaiveDate {
    today_cst(Utc::now())
}

/// A new id: UUIDv7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// For an optional field that may be absent but not null: a present value
/// must be a `T` (with `#[serde(default, deserialize_with = "present")]`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// An id as this service writes it (lower-case, hyphenated UUID), from any
/// spelling of a UUID; `None` for anything else, which no row can have.
pub fn canonical_id(raw: &str) -> Option<String> {
    uuid::Uuid::try_parse(raw)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

/// A search or filter text from outside: at most `max` characters and no
/// control characters (PostgreSQL cannot compare a NUL; nothing stored holds one).
pub fn check_query_text(field: &str, value: &str, max: usize) -> ServiceResult<()> {
    if value.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Who may do what, by role (CONTRACT §4). The doors check the same sets
/// before they parse a request; the use cases check them again, so that a
/// new door cannot forget.
pub mod roles {
    use crate::domain::accounts::Role;

    pub const ADMINS: &[Role] = &[Role::Admin];
    pub const REGULATORS: &[Role] = &[Role::Regulator];
    pub const PLATFORMS: &[Role] = &[Role::Platform];
    /// Those who read the registry itself.
    pub const READERS: &[Role] = &[Role::Admin, Role::Regulator, Role::Auditor];
    /// Those who read the audit log.
    pub const AUDIT_READERS: &[Role] = &[Role::Admin, Role::Auditor];
    /// Those who read everything, organizations and users included: admins
    /// and auditors (auditors are how a regulator checks the platforms).
    pub const OVERSEERS: &[Role] = &[Role::Admin, Role::Auditor];
    /// Those who read platforms' records (screening history, watchlists,
    /// webhooks, deliveries, events): a platform its own organization's,
    /// overseers every organization's (`Actor::platform_records`).
    pub const PLATFORM_RECORD_READERS: &[Role] = &[Role::Admin, Role::Platform, Role::Auditor];
}

/// Keyset pages: `limit` (default 50, at most 500) and an opaque cursor.
pub mod page {
    use base64::Engine;
    use serde::Serialize;

    use super::{ServiceError, ServiceResult};

    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 500;

    /// A page asked for: its size and the sort key after which it starts.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PageRequest {
        pub limit: i64,
        pub after: Option<String>,
    }

    impl PageRequest {
        pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> ServiceResult<Self> {
            let limit = match limit {
                None => DEFAULT_LIMIT,
                Some(n) if n < 1 => {
                    return Err(ServiceError::invalid("limit", "must be at least 1"))
                }
                Some(n) => n.min(MAX_LIMIT),
            };
            let after = cursor.map(decode_cursor).transpose()?;
            Ok(Self { limit, after })
        }

        /// Rows to fetch: one more than the page, to know whether another follows.
        pub fn fetch(&self) -> i64 {
            self.limit + 1
        }

        /// Cuts fetched rows to the page and makes the next cursor from the last row's key.
        pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
            let more = rows.len() as i64 > self.limit;
            rows.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
            let next_cursor = if more {
                rows.last().map(|r| encode_cursor(&key(r)))
            } else {
                None
            };
            Page {
                items: rows,
                next_cursor,
            }
        }
    }

    /// One page of a list.
    #[derive(Debug, Clone, Serialize)]
    pub struct Page<T> {
        pub items: Vec<T>,
        /// Pass as `cursor` for the next page; null on the last page.
        pub next_cursor: Option<String>,
    }

    impl<T> Page<T> {
        pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
            Page {
                items: self.items.into_iter().map(f).collect(),
                next_cursor: self.next_cursor,
            }
        }
    }

    pub fn encode_cursor(key: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
    }

    /// Longest cursor accepted; those handed out are far shorter.
    pub const MAX_CURSOR_CHARS: usize = 200;

    /// The sort key inside a cursor. Anyone can write a cursor, so the key is
    /// checked as any text from outside: a NUL in it would reach the database
    /// (PostgreSQL refuses it: a 500 before this check).
    pub fn decode_cursor(cursor: &str) -> ServiceResult<String> {
        Some(cursor)
            .filter(|c| c.len() <= MAX_CURSOR_CHARS)
            .and_then(|c| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|key| !key.is_empty() && !key.chars().any(char::is_control))
            .ok_or_else(|| {
                ServiceError::invalid("cursor", "is not a cursor this service handed out")
            })
    }

    /// A feed cursor: the last sequence number seen (0 before the first).
    pub fn decode_seq_cursor(cursor: Option<&str>) -> ServiceResult<i64> {
        match cursor {
            None => Ok(0),
            Some(c) => decode_cursor(c)?
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ServiceError::invalid("cursor", "is not a cursor this service handed out")
                }),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn limits_default_and_cap() {
            assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
            assert_eq!(PageRequest::parse(Some(10_000), None).unwrap().limit, 500);
            assert!(PageRequest::parse(Some(0), None).is_err());
        }

        #[test]
        fn cursors_round_trip_and_pages_end() {
            let request = PageRequest::parse(Some(2), None).unwrap();
            let page = request.page(vec![1, 2, 3], |n| n.to_string());
            assert_eq!(page.items, vec![1, 2]);
            assert_eq!(decode_cursor(&page.next_cursor.unwrap()).unwrap(), "2");
            let page = request.page(vec![1, 2], |n| n.to_string());
            assert!(page.next_cursor.is_none());
            assert!(decode_cursor("%%%").is_err());
            // "AAAA" is three NULs; "AQ" one U+0001; "wq8" is "\u{af}" after a C2.
            assert!(decode_cursor("AAAA").is_err());
            assert!(decode_cursor("AQ").is_err());
            assert!(decode_cursor(&encode_cursor("a\u{85}")).is_err());
            assert!(decode_cursor(&"QUFB".repeat(100)).is_err());
            assert_eq!(decode_cursor(&encode_cursor("é")).unwrap(), "é");
            assert_eq!(decode_seq_cursor(Some(&encode_cursor("7"))).unwrap(), 7);
            assert!(decode_seq_cursor(Some(&encode_cursor("-1"))).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_records_are_a_platforms_own_and_everyones_for_overseers() {
        let own = "0190a000-0000-7000-8000-000000000001";
        let other = "0190a000-0000-7000-8000-000000000002";
        let platform = Actor::user("p", own, Role::Platform);
        fn scope(actor: &Actor, asked: Option<&str>) -> Option<RecordScope> {
            actor.platform_records(asked).ok()
        }
        let one = |id: &str| Some(RecordScope::Organization(id.to_owned()));
        assert_eq!(scope(&platform, None), one(own));
        assert_eq!(scope(&platform, Some(own)), one(own));
        assert_eq!(scope(&platform, Some("")), one(own));
        assert!(matches!(
            platform.platform_records(Some(other)),
            Err(ServiceError::Forbidden(_))
        ));
        for role in [Role::Admin, Role::Auditor] {
            let overseer = Actor::user("o", other, role);
            assert_eq!(scope(&overseer, None), Some(RecordScope::Every));
            assert_eq!(scope(&overseer, Some(own)), one(own));
            assert_eq!(scope(&overseer, Some(&own.to_uppercase())), one(own));
            assert!(overseer.platform_records(Some("nope")).is_err());
            assert!(overseer.platform_records(Some("a\0b")).is_err());
        }
        assert!(matches!(
            Actor::user("r", own, Role::Regulator).platform_records(None),
            Err(ServiceError::Forbidden(_))
        ));
        assert_eq!(scope(&Actor::System, None), Some(RecordScope::Every));
    }
}
