//! Credit repair applications (SAMR Order 107) and the listed party's
//! portal access codes.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{portal_codes, repairs};
use super::typed::{name_row, Json};
use super::{DbConn, DbResult};
use crate::domain::repairs::{Channel, RepairStatus};

/// One evidence item of an application, as stored (JSON).
pub type EvidenceJson = Vec<serde_json::Value>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = repairs, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct Repair {
    pub id: String,
    pub listing_id: String,
    pub subject_id: String,
    pub authority_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: RepairStatus,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub channel: Channel,
    pub statement: String,
    /// The signed credit commitment (守信承诺书, Order 107 art. 14 ¶2 (3)).
    pub commitment_text: String,
    pub commitment_signed_on: NaiveDate,
    pub penalty_fulfilled: bool,
    pub harm_removed: bool,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub evidence: Json<EvidenceJson>,
    /// The day the application (or its supplement) was received.
    pub applied_on: NaiveDate,
    pub acceptance_due_by: Option<NaiveDate>,
    /// The official who recorded an in-person application; none online.
    pub recorded_by: Option<String>,
    pub recorded_at: NaiveDateTime,
    /// What the supplement request asked for (JSON list).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub missing: Json<Vec<String>>,
    pub supplement_requested_on: Option<NaiveDate>,
    pub supplemented_on: Option<NaiveDate>,
    pub supplement_statement: Option<String>,
    pub accepted_on: Option<NaiveDate>,
    /// The official who accepted, asked for a supplement or refused.
    pub accepted_by: Option<String>,
    pub acceptance_reason: Option<String>,
    pub decision_due_by: Option<NaiveDate>,
    pub extended_on: Option<NaiveDate>,
    pub extended_by: Option<String>,
    pub extension_reason: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, repair: &Repair) -> QueryResult<()> {
    diesel::insert_into(repairs::table)
        .values(repair.clone())
        .execute(conn)
        .map(drop)
}

pub fn save(conn: &mut DbConn, repair: &Repair) -> QueryResult<()> {
    diesel::update(repairs::table.find(&repair.id))
        .set(repair.clone())
        .execute(conn)
        .map(drop)
}

/// Locks an application's row for the rest of the transaction; false if there is none.
pub fn lock(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    let updated = diesel::update(repairs::table.find(id))
        .set(repairs::updated_at.eq(repairs::updated_at))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn find(conn: &mut DbConn, id: &str) -> DbResult<Option<Repair>> {
    let found = repairs::table
        .find(id)
        .select(Repair::as_select())
        .first(conn)
        .optional();
    name_row(conn, "repairs", found)
}

/// The applications of each of these listings, oldest first (one query).
pub fn of_listings(conn: &mut DbConn, listing_ids: &[&str]) -> DbResult<Vec<Repair>> {
    let found = repairs::table
        .filter(repairs::listing_id.eq_any(listing_ids))
        .order(repairs::id)
        .select(Repair::as_select())
        .load(conn);
    name_row(conn, "repairs", found)
}

/// The filters of the repairs queue.
#[derive(Debug, Clone, Default)]
pub struct RepairSearch {
    pub status: Option<RepairStatus>,
    /// The authority (a bureau's own queue).
    pub authority_id: Option<String>,
    /// The applicant (a subject's own applications).
    pub subject_id: Option<String>,
}

/// One page of applications in id order.
pub fn search(
    conn: &mut DbConn,
    search: &RepairSearch,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<Repair>> {
    let mut query = repairs::table
        .select(Repair::as_select())
        .order(repairs::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(repairs::id.gt(after.to_owned()));
    }
    if let Some(status) = search.status {
        query = query.filter(repairs::status.eq(status.as_str()));
    }
    if let Some(authority) = &search.authority_id {
        query = query.filter(repairs::authority_id.eq(authority.clone()));
    }
    if let Some(subject) = &search.subject_id {
        query = query.filter(repairs::subject_id.eq(subject.clone()));
    }
    let found = query.load(conn);
    name_row(conn, "repairs", found)
}

// ---- portal access codes ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = portal_codes, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct PortalCode {
    pub listing_id: String,
    /// SHA-256 of the normalized code.
    pub code_hash: String,
    /// Grows with every new code: sessions signed in with an older one end.
    pub epoch: i32,
    pub issued_at: NaiveDateTime,
    pub issued_by: Option<String>,
}

/// Stores a listing's code, replacing the one before.
pub fn put_code(conn: &mut DbConn, code: &PortalCode) -> QueryResult<()> {
    let updated = diesel::update(portal_codes::table.find(&code.listing_id))
        .set(code.clone())
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(portal_codes::table)
            .values(code.clone())
            .execute(conn)?;
    }
    Ok(())
}

pub fn code_of(conn: &mut DbConn, listing_id: &str) -> QueryResult<Option<PortalCode>> {
    portal_codes::table
        .find(listing_id)
        .select(PortalCode::as_select())
        .first(conn)
        .optional()
}

/// A bureau's applications in `status`, the earliest deadline first
/// (acceptance for `submitted`, decision otherwise): the console's queues.
pub fn due_of_authority(
    conn: &mut DbConn,
    authority_id: &str,
    status: RepairStatus,
    limit: i64,
) -> DbResult<Vec<Repair>> {
    let query = repairs::table
        .select(Repair::as_select())
        .filter(repairs::authority_id.eq(authority_id.to_owned()))
        .filter(repairs::status.eq(status.as_str()))
        .limit(limit);
    let found = match status {
        RepairStatus::Submitted => query
            .order((repairs::acceptance_due_by, repairs::id))
            .load(conn),
        _ => query
            .order((repairs::decision_due_by, repairs::id))
            .load(conn),
    };
    name_row(conn, "repairs", found)
}
