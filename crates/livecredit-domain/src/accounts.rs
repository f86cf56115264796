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
