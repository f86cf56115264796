//! Domain values stored as text: one mechanism for every such column.
//!
//! A column holding a status, a kind, a role or a band is typed in its row
//! struct as the domain enum and mapped with diesel's own conversion hooks:
//!
//! ```ignore
//! #[diesel(deserialize_as = String, serialize_as = String)]
//! pub status: Status,
//! ```
//!
//! Writing goes through `From<Status> for String` and reading through
//! `TryFrom<String> for Status` (both from `domain::named_values!`), so a
//! stored word the code does not know fails the read; it never becomes a
//! default. A nullable column uses [`Maybe`] the same way. When a load fails
//! on such a word, [`name_row`] finds the row that holds it, so that the
//! error names the table, the row and the word.

use diesel::prelude::*;
use diesel::result::Error as QueryError;
use diesel::sql_types::Text;

use super::{DbConn, DbError, DbResult};

/// A nullable text column holding a domain value (`None` for NULL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Maybe<T>(pub Option<T>);

impl<T> std::ops::Deref for Maybe<T> {
    type Target = Option<T>;
    fn deref(&self) -> &Option<T> {
        &self.0
    }
}

impl<T> TryFrom<Option<String>> for Maybe<T>
where
    T: TryFrom<String>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    type Error = T::Error;
    fn try_from(value: Option<String>) -> Result<Self, T::Error> {
        value.map(T::try_from).transpose().map(Maybe)
    }
}

impl<T: Into<String>> From<Maybe<T>> for Option<String> {
    fn from(value: Maybe<T>) -> Option<String> {
        value.0.map(Into::into)
    }
}

/// A text column holding JSON (a list of penalty kinds, the considerations of a
/// listing): parsed on read, so a stored document that does not parse is an
/// error like an unknown word.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned> TryFrom<String> for Json<T> {
    type Error = serde_json::Error;
    fn try_from(text: String) -> Result<Self, serde_json::Error> {
        serde_json::from_str(&text).map(Json)
    }
}

impl<T: serde::Serialize> From<Json<T>> for String {
    fn from(value: Json<T>) -> String {
        // Serialising plain data (lists, maps of strings) cannot fail.
        serde_json::to_string(&value.0).unwrap_or_else(|_| "null".to_owned())
    }
}

/// A text column that holds the names of a value set.
struct TypedColumn {
    table: &'static str,
    column: &'static str,
    names: fn() -> Vec<&'static str>,
}

macro_rules! names_of {
    ($ty:ty) => {
        || <$ty>::ALL.iter().map(|v| v.as_str()).collect()
    };
}

/// Every typed text column of the schema (tables keyed by a text `id`).
const COLUMNS: &[TypedColumn] = {
    use super::watch::DeliveryStatus;
    use crate::domain::accounts::{OrganizationKind, OrganizationLevel, Role};
    use crate::domain::procedure::{Action, ConsentOutcome, HearingStatus, RemovalReason, Status};
    use crate::domain::registry::{ReviewFlagStatus, SubjectKind, ViolationStatus};
    use crate::domain::relations::RelationKind;
    use crate::domain::repairs::{Channel, RepairStatus};
    use crate::domain::scoring::{Band, Category, Severity};
    use crate::domain::screening::Decision;
    &[
        TypedColumn {
            table: "organizations",
            column: "kind",
            names: names_of!(OrganizationKind),
        },
        TypedColumn {
            table: "organizations",
            column: "level",
            names: names_of!(OrganizationLevel),
        },
        TypedColumn {
            table: "users",
            column: "role",
            names: names_of!(Role),
        },
        TypedColumn {
            table: "subjects",
            column: "kind",
            names: names_of!(SubjectKind),
        },
        TypedColumn {
            table: "subjects",
            column: "band",
            names: names_of!(Band),
        },
        TypedColumn {
            table: "subjects",
            column: "shared_band",
            names: names_of!(Band),
        },
        TypedColumn {
            table: "subject_relations",
            column: "relation",
            names: names_of!(RelationKind),
        },
        TypedColumn {
            table: "violations",
            column: "category",
            names: names_of!(Category),
        },
        TypedColumn {
            table: "violations",
            column: "severity",
            names: names_of!(Severity),
        },
        TypedColumn {
            table: "violations",
            column: "status",
            names: names_of!(ViolationStatus),
        },
        TypedColumn {
            table: "listings",
            column: "status",
            names: names_of!(Status),
        },
        TypedColumn {
            table: "listings",
            column: "removal_reason",
            names: names_of!(RemovalReason),
        },
        TypedColumn {
            table: "listings",
            column: "hearing_status",
            names: names_of!(HearingStatus),
        },
        TypedColumn {
            table: "listing_consents",
            column: "outcome",
            names: names_of!(ConsentOutcome),
        },
        TypedColumn {
            table: "review_flags",
            column: "status",
            names: names_of!(ReviewFlagStatus),
        },
        TypedColumn {
            table: "listing_history",
            column: "action",
            names: names_of!(Action),
        },
        TypedColumn {
            table: "listing_history",
            column: "from_status",
            names: names_of!(Status),
        },
        TypedColumn {
            table: "listing_history",
            column: "to_status",
            names: names_of!(Status),
        },
        TypedColumn {
            table: "repairs",
            column: "status",
            names: names_of!(RepairStatus),
        },
        TypedColumn {
            table: "repairs",
            column: "channel",
            names: names_of!(Channel),
        },
        TypedColumn {
            table: "objections",
            column: "channel",
            names: names_of!(Channel),
        },
        TypedColumn {
            table: "screenings",
            column: "decision",
            names: names_of!(Decision),
        },
        TypedColumn {
            table: "webhook_deliveries",
            column: "status",
            names: names_of!(DeliveryStatus),
        },
    ]
};

#[derive(QueryableByName)]
struct RowId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Passes a load's result on; when it failed on a stored word the code does
/// not know, finds the first row of `table` holding one and names it.
pub fn name_row<T>(conn: &mut DbConn, table: &'static str, result: QueryResult<T>) -> DbResult<T> {
    let detail = match result {
        Err(QueryError::DeserializationError(e)) => e.to_string(),
        other => return other.map_err(DbError::from),
    };
    for column in COLUMNS.iter().filter(|c| c.table == table) {
        let allowed: Vec<String> = (column.names)()
            .into_iter()
            .map(|n| format!("'{n}'"))
            .collect();
        // The names are the code's own constants, never input.
        let sql = format!(
            "SELECT id FROM {table} WHERE {col} IS NOT NULL AND {col} NOT IN ({list}) LIMIT 1",
            col = column.column,
            list = allowed.join(", ")
        );
        if let Ok(Some(row)) = diesel::sql_query(sql).get_result::<RowId>(conn).optional() {
            return Err(DbError::Corrupt {
                table,
                row: row.id,
                detail: format!("column {}: {detail}", column.column),
            });
        }
    }
    Err(DbError::Corrupt {
        table,
        row: "(not found)".into(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::procedure::{RemovalReason, Status};

    #[test]
    fn stored_words_convert_both_ways_and_unknown_ones_fail() {
        assert_eq!(
            Status::try_from("listed".to_owned()).unwrap(),
            Status::Listed
        );
        assert_eq!(String::from(Status::NotListed), "not_listed");
        let err = Status::try_from("listd".to_owned()).unwrap_err();
        assert_eq!(err.to_string(), "unknown status `listd`");
        let none: Maybe<RemovalReason> = Maybe::try_from(None::<String>).unwrap();
        assert_eq!(*none, None);
        let some: Maybe<RemovalReason> = Maybe::try_from(Some("credit_repair".to_owned())).unwrap();
        assert_eq!(
            Option::<String>::from(some).as_deref(),
            Some("credit_repair")
        );
        assert!(Maybe::<RemovalReason>::try_from(Some("whim".to_owned())).is_err());
    }

    #[test]
    fn every_typed_table_is_keyed_by_id() {
        for c in COLUMNS {
            assert!(!(c.names)().is_empty(), "{}.{}", c.table, c.column);
        }
    }
}
