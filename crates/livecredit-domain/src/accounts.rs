//! Roles, organization kinds, e-mail addresses and the password policy.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages organizations and users; reads everything; no domain writes.
    Admin,
    /// Records violations and runs the listing procedure.
    Regulator,
    /// Screens subjects, keeps a watchlist, receives webhooks.
    Platform,
    /// Reads everything, including the audit log; writes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Regulator, Role::Platform, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Regulator => "regulator",
            Role::Platform => "platform",
            Role::Auditor => "auditor",
        }
    }

    /// Whether a user with this role may belong to an organization of `kind`.
    pub fn may_belong_to(self, kind: OrganizationKind) -> bool {
        match self {
            Role::Admin | Role::Auditor => true,
            Role::Regulator => kind == OrganizationKind::Regulator,
            Role::Platform => kind == OrganizationKind::Platform,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrganizationKind {
    Regulator,
    Platform,
    ConsumerAssociation,
}

impl OrganizationKind {
    pub const ALL: [OrganizationKind; 3] = [
        OrganizationKind::Regulator,
        OrganizationKind::Platform,
        OrganizationKind::ConsumerAssociation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganizationKind::Regulator => "regulator",
            OrganizationKind::Platform => "platform",
            OrganizationKind::ConsumerAssociation => "consumer_association",
        }
    }
}

crate::named_values!(Role, "role");
crate::named_values!(OrganizationKind, "organization kind");
crate::named_values!(OrganizationLevel, "organization level");

/// Where a regulator stands in the hierarchy of market-regulation bureaus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrganizationLevel {
    /// 国家市场监督管理总局.
    National,
    /// A province, autonomous region or municipality directly under the central government.
    Provincial,
    /// A city with districts (设区的市).
    City,
    /// A county, county-level city or city district.
    County,
}

impl OrganizationLevel {
    pub const ALL: [OrganizationLevel; 4] = [
        OrganizationLevel::National,
        OrganizationLevel::Provincial,
        OrganizationLevel::City,
        OrganizationLevel::County,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganizationLevel::National => "national",
            OrganizationLevel::Provincial => "provincial",
            OrganizationLevel::City => "city",
            OrganizationLevel::County => "county",
        }
    }

    /// 0 for the national bureau, growing downwards.
    fn depth(self) -> u8 {
        self as u8
    }

    /// Whether a bureau of this level may be the parent (the next-higher bureau) of one of
    /// `child`'s level. A county district of a municipality answers to the municipal (provincial)
    /// bureau, so a parent need only stand higher, not exactly one step higher.
    pub fn may_be_parent_of(self, child: OrganizationLevel) -> bool {
        self.depth() < child.depth()
    }

    /// County-level and city-level bureaus decide a listing only with the prior consent of the
    /// bureau one level up (SAMR Order 44 art. 22).
    pub fn needs_parent_consent(self) -> bool {
        matches!(self, OrganizationLevel::City | OrganizationLevel::County)
    }
}

/// Checks a regulator's place in the hierarchy: a national bureau has no parent; a provincial
/// one may have the national bureau above it; city and county bureaus need the parent that
/// consents to their listings (Order 44 art. 22). `parent_level` is `None` when no parent is given.
pub fn check_hierarchy(
    level: OrganizationLevel,
    parent_level: Option<OrganizationLevel>,
) -> Result<(), &'static str> {
    match (level, parent_level) {
        (OrganizationLevel::National, Some(_)) => Err("a national bureau has no parent"),
        (l, None) if l.needs_parent_consent() => {
            Err("a city or county bureau needs its parent bureau (parent_id): its listings need that bureau's consent")
        }
        (l, Some(p)) if !p.may_be_parent_of(l) => {
            Err("the parent bureau must stand higher in the hierarchy")
        }
        _ => Ok(()),
    }
}

/// An e-mail address, trimmed and lower-cased so that one person has one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        let (local, domain) = email.split_once('@').ok_or("must be an e-mail address")?;
        let valid = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(email))
        } else {
            Err("must be an e-mail address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Argon2 work grows with input; a cap keeps a login from being a denial of
/// service. Counted in characters, as the API document can state it (at
/// most 4 KiB of UTF-8).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks the password policy; the message names the rule broken.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_fit_organizations() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Regulator.may_belong_to(OrganizationKind::Regulator));
        assert!(!Role::Regulator.may_belong_to(OrganizationKind::Platform));
        assert!(!Role::Platform.may_belong_to(OrganizationKind::ConsumerAssociation));
        assert!(Role::Auditor.may_belong_to(OrganizationKind::ConsumerAssociation));
    }

    #[test]
    fn the_hierarchy_of_bureaus() {
        use OrganizationLevel::*;
        assert!(check_hierarchy(National, None).is_ok());
        assert!(check_hierarchy(National, Some(National)).is_err());
        assert!(check_hierarchy(Provincial, None).is_ok());
        assert!(check_hierarchy(Provincial, Some(National)).is_ok());
        assert!(check_hierarchy(City, None).is_err());
        assert!(check_hierarchy(City, Some(Provincial)).is_ok());
        assert!(check_hierarchy(City, Some(City)).is_err());
        assert!(check_hierarchy(County, Some(City)).is_ok());
        assert!(
            check_hierarchy(County, Some(Provincial)).is_ok(),
            "a municipality's district"
        );
        assert!(check_hierarchy(County, Some(County)).is_err());
        assert!(!National.needs_parent_consent() && !Provincial.needs_parent_consent());
        assert!(City.needs_parent_consent() && County.needs_parent_consent());
        for l in OrganizationLevel::ALL {
            assert_eq!(l.as_str().parse::<OrganizationLevel>().unwrap(), l);
        }
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Li.Na@SAMR.gov.cn ").unwrap().as_str(),
            "li.na@samr.gov.cn"
        );
        for bad in [
            "", "no-at", "@x.cn", "a@b", "a@.cn", "a@b.", "a b@c.cn", "a@b@c.cn",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_policy_counts_characters() {
        assert!(check_password("short").is_err());
        assert!(check_password("exactly12chr").is_ok());
        assert!(check_password("十二个汉字的密码也是可以的").is_ok());
        assert!(check_password(&"x".repeat(2000)).is_err());
    }
}
