//! Why a use case refused or failed, in the registry's terms. The doors
//! (JSON API, HTML pages, CLI) each turn it into their own answer; the API's
//! is one `From` in `crate::error`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::db::{DbError, DbErrorClass, DbFailure};
use crate::domain::procedure::{ErrorKind, ProcedureError};

/// One offending field of a request.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `password` or `accounts[1].handle`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such resource, or not one the actor may see.
    #[error("{0}")]
    NotFound(String),
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The actor's credentials are wrong or gone.
    #[error("{0}")]
    Unauthorized(String),
    /// Input that breaks a rule of its own: each field named.
    #[error("validation failed: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    /// Conflicts with the current state; `extra` adds members to the problem.
    #[error("{detail}")]
    Conflict {
        detail: String,
        extra: Map<String, Value>,
    },
    /// Too many requests; try again after this many seconds.
    #[error("{detail}")]
    RateLimited {
        detail: String,
        retry_after_secs: u64,
    },
    /// A file (or body) larger than the use case takes.
    #[error("{detail}")]
    TooLarge { detail: String, limit: usize },
    /// A file whose content is not of a kind the use case takes.
    #[error("{0}")]
    UnsupportedContent(String),
    /// The database is away or busy; retrying shortly may work.
    #[error("the database is unavailable")]
    Unavailable(#[source] Option<DbError>),
    /// A bug or a broken store: the cause chain goes to the log.
    #[error(transparent)]
    Internal(anyhow::Error),
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound(detail.into())
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(detail.into())
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::Unauthorized(detail.into())
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            extra: Map::new(),
        }
    }
    /// A 409 with extra members in the problem body.
    pub fn conflict_with(
        detail: impl Into<String>,
        extra: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Self {
        Self::Conflict {
            detail: detail.into(),
            extra: extra.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }
    /// A 409 naming the condition that refused the step: the problem carries
    /// `condition: "<name>"` and a member `<name>` with what the client needs
    /// to know about it (e.g. `hearing_pending: true`).
    pub fn refused(condition: &'static str, detail: impl Into<String>, value: Value) -> Self {
        Self::conflict_with(
            detail,
            [("condition", Value::from(condition)), (condition, value)],
        )
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(anyhow::anyhow!(message.into()))
    }
}

/// Field errors gathered while checking an input, all reported at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The value, or `None` with its problem noted under `field`.
    pub fn check<T, M: Into<String>>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, M>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was noted, else every problem as one error.
    pub fn finish<T>(self, value: T) -> ServiceResult<T> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ServiceError::Invalid(self.0))
        }
    }
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        match e.class() {
            DbErrorClass::NotFound => Self::not_found("no such resource"),
            DbErrorClass::UniqueViolation => Self::conflict(format!(
                "a record with the same unique value exists ({})",
                e.database_message().unwrap_or("unique constraint")
            )),
            DbErrorClass::Transient => Self::Unavailable(Some(e)),
            DbErrorClass::Other => Self::Internal(anyhow::Error::new(e)),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl DbFailure for ServiceError {
    fn lost_connection(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
    fn replica_fault(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Internal(_))
    }
}

/// A refused procedure step: 409 with the current state and the allowed
/// actions, 403 for the two-officials rule, 422 naming the field.
impl From<ProcedureError> for ServiceError {
    fn from(e: ProcedureError) -> Self {
        let message = e.to_string();
        match (e.kind(), e) {
            (
                ErrorKind::Conflict,
                ProcedureError::NotAllowed {
                    current, allowed, ..
                },
            ) => Self::conflict_with(
                message,
                [
                    ("current_status", Value::from(current.as_str())),
                    (
                        "allowed_actions",
                        Value::from(allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>()),
                    ),
                ],
            ),
            (ErrorKind::Conflict, _) => Self::conflict(message),
            (ErrorKind::Refused { condition }, e) => {
                Self::refused(condition, message, e.refusal_value())
            }
            (ErrorKind::Forbidden, _) => Self::forbidden(message),
            (ErrorKind::Validation { field }, _) => Self::invalid(field, message),
            (ErrorKind::Internal, _) => Self::internal(message),
        }
    }
}

impl From<crate::domain::repairs::RepairError> for ServiceError {
    fn from(e: crate::domain::repairs::RepairError) -> Self {
        let message = e.to_string();
        match e.http_status() {
            403 => Self::forbidden(message),
            422 => Self::invalid(e.field(), message),
            _ => Self::conflict(message),
        }
    }
}
