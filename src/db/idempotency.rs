//! Stored first responses of POSTs sent with an `Idempotency-Key`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{DbConn, DbResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys, treat_none_as_default_value = false)]
pub struct StoredResponse {
    pub user_id: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
    pub created_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, user_id: &str, key: &str) -> DbResult<Option<StoredResponse>> {
    Ok(idempotency_keys::table
        .find((user_id, key))
        .select(StoredResponse::as_select())
        .first(conn)
        .optional()?)
}

/// How long keys are kept (the contract promises at least 24 hours).
pub const RETENTION: chrono::Duration = chrono::Duration::hours(48);

/// Claims a key for a request in progress: false when another request
/// holds or held it (it committed first, or its transaction is still open
/// and this call waited for it).
pub fn claim(conn: &mut DbConn, row: &StoredResponse) -> DbResult<bool> {
    match diesel::insert_into(idempotency_keys::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub fn set_response(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    status: i32,
    body: &str,
) -> DbResult<()> {
    diesel::update(idempotency_keys::table.find((user_id, key)))
        .set((
            idempotency_keys::response_status.eq(status),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets keys created before `cutoff`.
pub fn purge_before(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
}
