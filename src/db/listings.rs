//! Listings (the blacklist procedure), their basis violations, history,
//! objections and credit repair applications.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    listing_history, listing_violations, listings, objections, repair_applications, violations,
};
use super::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = listings, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct Listing {
    pub id: String,
    pub subject_id: String,
    /// The stored state; a `listed` row past `expires_on` reads as `expired`.
    pub status: String,
    pub reason: String,
    pub legal_basis: String,
    pub proposed_by: Option<String>,
    pub authority_id: Option<String>,
    pub noticed_by: Option<String>,
    pub served_on: Option<NaiveDate>,
    pub objection_deadline: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub pending_repair_applied_on: Option<NaiveDate>,
    pub removed_on: Option<NaiveDate>,
    pub removal_reason: Option<String>,
    pub revoked_on: Option<NaiveDate>,
    pub revocation_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Listing {
    /// A new proposal: every later step's fields still empty.
    pub fn proposed(
        id: String,
        subject_id: &str,
        reason: String,
        legal_basis: String,
        proposed_by: Option<String>,
        authority_id: Option<String>,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            id,
            subject_id: subject_id.to_owned(),
            status: crate::domain::procedure::Status::Proposed
                .as_str()
                .to_owned(),
            reason,
            legal_basis,
            proposed_by,
            authority_id,
            noticed_by: None,
            served_on: None,
            objection_deadline: None,
            decided_by: None,
            decided_on: None,
            decision_reason: None,
            listed_on: None,
            expires_on: None,
            pending_repair_applied_on: None,
            removed_on: None,
            removal_reason: None,
            revoked_on: None,
            revocation_reason: None,
            created_at: at,
            updated_at: at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = listing_history, treat_none_as_default_value = false)]
pub struct HistoryEntry {
    pub id: String,
    pub listing_id: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_user_id: Option<String>,
    pub effective_on: NaiveDate,
    pub at: NaiveDateTime,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = objections, treat_none_as_default_value = false)]
pub struct Objection {
    pub id: String,
    pub listing_id: String,
    pub statement: String,
    pub received_on: NaiveDate,
    pub hearing_requested: bool,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = repair_applications, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct RepairApplication {
    pub id: String,
    pub listing_id: String,
    pub statement: String,
    /// JSON array of evidence items.
    pub evidence: String,
    pub applied_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
    pub outcome: Option<String>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
}

pub fn insert(conn: &mut DbConn, listing: &Listing, violation_ids: &[String]) -> QueryResult<()> {
    diesel::insert_into(listings::table)
        .values(listing)
        .execute(conn)?;
    let rows: Vec<_> = violation_ids
        .iter()
        .map(|v| {
            (
                listing_violations::listing_id.eq(&listing.id),
                listing_violations::violation_id.eq(v),
            )
        })
        .collect();
    for row in rows {
        diesel::insert_into(listing_violations::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Saves every column of a listing (call with its row locked).
pub fn save(conn: &mut DbConn, listing: &Listing) -> QueryResult<()> {
    diesel::update(listings::table.find(&listing.id))
        .set(listing)
        .execute(conn)
        .map(drop)
}

/// Locks a listing's row for the rest of the transaction; false if there is none.
pub fn lock(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    let updated = diesel::update(listings::table.find(id))
        .set(listings::updated_at.eq(listings::updated_at))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Listing>> {
    listings::table
        .find(id)
        .select(Listing::as_select())
        .first(conn)
        .optional()
}

pub fn violation_ids(conn: &mut DbConn, listing_id: &str) -> QueryResult<Vec<String>> {
    listing_violations::table
        .filter(listing_violations::listing_id.eq(listing_id))
        .order(listing_violations::violation_id)
        .select(listing_violations::violation_id)
        .load(conn)
}

/// The latest decision date among a listing's basis violations.
pub fn basis_latest_decided_on(
    conn: &mut DbConn,
    listing_id: &str,
) -> QueryResult<Option<NaiveDate>> {
    listing_violations::table
        .inner_join(violations::table)
        .filter(listing_violations::listing_id.eq(listing_id))
        .select(diesel::dsl::max(violations::decided_on))
        .first(conn)
}

/// Listings resting on this violation.
pub fn listings_of_violation(conn: &mut DbConn, violation_id: &str) -> QueryResult<Vec<String>> {
    listing_violations::table
        .filter(listing_violations::violation_id.eq(violation_id))
        .select(listing_violations::listing_id)
        .load(conn)
}

/// How many of a listing's basis violations are still effective.
pub fn effective_basis_count(conn: &mut DbConn, listing_id: &str) -> QueryResult<i64> {
    listing_violations::table
        .inner_join(violations::table)
        .filter(listing_violations::listing_id.eq(listing_id))
        .filter(violations::status.eq("effective"))
        .count()
        .get_result(conn)
}

/// Open proposals (proposed or noticed) and stored listed rows of a subject.
pub fn open_or_listed(conn: &mut DbConn, subject_id: &str) -> QueryResult<Vec<Listing>> {
    listings::table
        .filter(listings::subject_id.eq(subject_id))
        .filter(listings::status.eq_any(["proposed", "noticed", "listed"]))
        .select(Listing::as_select())
        .load(conn)
}

pub fn insert_history(conn: &mut DbConn, entry: &HistoryEntry) -> QueryResult<()> {
    diesel::insert_into(listing_history::table)
        .values(entry)
        .execute(conn)
        .map(drop)
}

pub fn history(conn: &mut DbConn, listing_id: &str) -> QueryResult<Vec<HistoryEntry>> {
    listing_history::table
        .filter(listing_history::listing_id.eq(listing_id))
        .order(listing_history::id)
        .select(HistoryEntry::as_select())
        .load(conn)
}

pub fn insert_objection(conn: &mut DbConn, objection: &Objection) -> QueryResult<()> {
    diesel::insert_into(objections::table)
        .values(objection)
        .execute(conn)
        .map(drop)
}

pub fn objections_of(conn: &mut DbConn, listing_id: &str) -> QueryResult<Vec<Objection>> {
    objections::table
        .filter(objections::listing_id.eq(listing_id))
        .order(objections::id)
        .select(Objection::as_select())
        .load(conn)
}

pub fn insert_repair(conn: &mut DbConn, application: &RepairApplication) -> QueryResult<()> {
    diesel::insert_into(repair_applications::table)
        .values(application)
        .execute(conn)
        .map(drop)
}

pub fn save_repair(conn: &mut DbConn, application: &RepairApplication) -> QueryResult<()> {
    diesel::update(repair_applications::table.find(&application.id))
        .set(application)
        .execute(conn)
        .map(drop)
}

pub fn repairs_of(conn: &mut DbConn, listing_id: &str) -> QueryResult<Vec<RepairApplication>> {
    repair_applications::table
        .filter(repair_applications::listing_id.eq(listing_id))
        .order(repair_applications::id)
        .select(RepairApplication::as_select())
        .load(conn)
}

/// The status filter of a listing search, as the reader sees statuses on `today`.
#[derive(Debug, Clone, Default)]
pub struct ListingSearch {
    pub subject_id: Option<String>,
    pub status: Option<String>,
}

pub fn search(
    conn: &mut DbConn,
    search: &ListingSearch,
    today: NaiveDate,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Listing>> {
    let mut query = listings::table
        .select(Listing::as_select())
        .order(listings::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(listings::id.gt(after.to_owned()));
    }
    if let Some(subject_id) = &search.subject_id {
        query = query.filter(listings::subject_id.eq(subject_id.clone()));
    }
    match search.status.as_deref() {
        None => {}
        // Expiry is computed on read: a stored `listed` row past its end is `expired`.
        Some("listed") => {
            query = query
                .filter(listings::status.eq("listed"))
                .filter(listings::expires_on.gt(today))
        }
        Some("expired") => {
            query = query.filter(
                listings::status.eq("expired").or(listings::status
                    .eq("listed")
                    .and(listings::expires_on.le(today))),
            )
        }
        Some(other) => query = query.filter(listings::status.eq(other.to_owned())),
    }
    query.load(conn)
}

/// Stored `listed` rows whose `expires_on` has come: the expiry job's work.
pub fn due_for_expiry(conn: &mut DbConn, today: NaiveDate, limit: i64) -> QueryResult<Vec<String>> {
    listings::table
        .filter(listings::status.eq("listed"))
        .filter(listings::expires_on.le(today))
        .order(listings::expires_on)
        .limit(limit)
        .select(listings::id)
        .load(conn)
}
