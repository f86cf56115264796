//! The rules of the registry, free of HTTP and SQL so they can be tested exhaustively.

pub mod access;
pub mod accounts;
pub mod calendar;
pub mod evidence;
pub mod exposure;
pub mod grounds;
pub mod identifiers;
pub mod names;
pub mod network;
pub mod penalties;
pub mod procedure;
pub mod registry;
pub mod relations;
pub mod repairs;
pub mod scoring;
pub mod screening;

/// A word that should name one of a fixed set of values (a status, a kind,
/// a role …) names none of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    /// The names allowed, comma-separated.
    pub expected: String,
}

impl UnknownName {
    /// For a field error: what the value must be.
    pub fn hint(&self) -> String {
        format!("must be one of {}", self.expected)
    }
}

/// The words of a value set defined by `ALL` and `as_str`: parsing
/// (`FromStr`, `TryFrom<String>`), display, and conversion into the stored
/// text (`From<T> for String`). The data layer stores these values as text
/// through the last two, so an unknown stored word is an error, never a default.
#[macro_export]
macro_rules! named_values {
    ($ty:ty, $kind:literal) => {
        impl ::std::str::FromStr for $ty {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> Result<Self, $crate::UnknownName> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::UnknownName {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: <$ty>::ALL
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::convert::TryFrom<String> for $ty {
            type Error = $crate::UnknownName;
            fn try_from(s: String) -> Result<Self, $crate::UnknownName> {
                s.parse()
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.as_str().to_owned()
            }
        }
    };
}
