//! The data layer's own error: what went wrong talking to the database,
//! classified so that the layers above can answer 404, 409 or 503 without
//! knowing diesel.

use diesel::result::{DatabaseErrorKind, Error as QueryError};

/// A failure of the data layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A statement failed (diesel's own message, the database's included).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// No connection could be had from the pool in time.
    #[error("no database connection could be had: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The write lock could not be had in time (SQLite: other writers held it).
    #[error("the database is busy: no turn to write within {0:?}")]
    Busy(std::time::Duration),
    /// The blocking task running the work was cancelled or panicked.
    #[error("the database task did not finish: {0}")]
    Task(String),
    /// A stored value is not one the code knows (see [`super::typed`]).
    #[error("{table} row {row}: {detail}")]
    Corrupt {
        table: &'static str,
        row: String,
        detail: String,
    },
    /// Anything else the data layer met (migrations, files).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type DbResult<T> = Result<T, DbError>;

/// What kind of failure a [`DbError`] is, for the layers above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorClass {
    /// The row asked for does not exist.
    NotFound,
    /// A unique constraint refused the write.
    UniqueViolation,
    /// The database is away or busy: retrying shortly may work.
    Transient,
    /// A bug or a broken database: nothing the client can do.
    Other,
}

impl DbError {
    pub fn class(&self) -> DbErrorClass {
        match self {
            DbError::Query(QueryError::NotFound) => DbErrorClass::NotFound,
            DbError::Query(QueryError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                DbErrorClass::UniqueViolation
            }
            DbError::Query(QueryError::DatabaseError(
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::SerializationFailure
                | DatabaseErrorKind::ReadOnlyTransaction,
                _,
            )) => DbErrorClass::Transient,
            DbError::Query(QueryError::DatabaseError(DatabaseErrorKind::Unknown, info))
                if is_transient(info.message()) =>
            {
                DbErrorClass::Transient
            }
            // A connection lost mid-transaction leaves its manager broken: retryable.
            DbError::Query(QueryError::BrokenTransactionManager) => DbErrorClass::Transient,
            DbError::Pool(_) | DbError::Busy(_) => DbErrorClass::Transient,
            _ => DbErrorClass::Other,
        }
    }

    /// The database's message, for a unique violation's problem detail.
    pub fn database_message(&self) -> Option<&str> {
        match self {
            DbError::Query(QueryError::DatabaseError(_, info)) => Some(info.message()),
            _ => None,
        }
    }
}

/// Messages of errors that go away by themselves: a busy SQLite file, a lost
/// or refused PostgreSQL connection.
fn is_transient(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "database is locked",
        "database is busy",
        "server closed the connection",
        "connection refused",
        "could not connect",
        "terminating connection",
        "no connection to the server",
        "the database system is",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// What the pool needs to know of the errors of the work it runs, whatever
/// layer's error type that work returns.
pub trait DbFailure: From<DbError> + Send + 'static {
    /// The connection seems lost: test it before it is used again.
    fn lost_connection(&self) -> bool;
    /// Not the request's fault: a read that failed on a replica may be tried again on the primary.
    fn replica_fault(&self) -> bool;
}

impl DbFailure for DbError {
    fn lost_connection(&self) -> bool {
        self.class() == DbErrorClass::Transient
    }
    fn replica_fault(&self) -> bool {
        matches!(self.class(), DbErrorClass::Transient | DbErrorClass::Other)
    }
}
