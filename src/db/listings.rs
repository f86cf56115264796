//! Listings (the blacklist procedure), their basis violations, history,
//! objections and credit repair applications.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    listing_history, listing_violations, listings, objections, repair_applications, violations,
};
use super::typed::{name_row, Maybe};
use super::{DbConn, DbResult};
use crate::domain::procedure::{Action, RemovalReason, RepairOutcome, Status};
use crate::domain::registry::ViolationStatus;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = listings, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct Listing {
    pub id: String,
    pub subject_id: String,
    /// The stored state; a `listed` row past its period reads as `expired`.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: Status,
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
    #[diesel(deserialize_as = Option<String>, serialize_as = Option<String>)]
    pub removal_reason: Maybe<RemovalReason>,
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
            status: Status::Proposed,
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
            removal_reason: Maybe(None),
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
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub action: Action,
    #[diesel(deserialize_as = Option<String>, serialize_as = Option<String>)]
    pub from_status: Maybe<Status>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub to_status: Status,
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
    #[diesel(deserialize_as = Option<String>, serialize_as = Option<String>)]
    pub outcome: Maybe<RepairOutcome>,
    pub decided_by: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
}

/// A basis violation of a listing, as (listing id, violation id).
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = listing_violations, treat_none_as_default_value = false)]
pub struct ListingViolation {
    pub listing_id: String,
    pub violation_id: String,
}

/// The one definition of "published and in force on `day`": a stored
/// `listed` row whose period has not ended by `day` (see
/// `domain::procedure::effective_status`, its pure twin).
pub fn in_force_on(
    day: NaiveDate,
) -> diesel::dsl::And<
    diesel::dsl::Eq<listings::status, &'static str>,
    diesel::dsl::Gt<listings::expires_on, NaiveDate>,
> {
    listings::status
        .eq(Status::Listed.as_str())
        .and(listings::expires_on.gt(day))
}

/// Stored `listed` rows whose period has ended by `day`: expired in every
/// answer, their expiry not yet recorded.
pub fn ended_unrecorded_on(
    day: NaiveDate,
) -> diesel::dsl::And<
    diesel::dsl::Eq<listings::status, &'static str>,
    diesel::dsl::LtEq<listings::expires_on, NaiveDate>,
> {
    listings::status
        .eq(Status::Listed.as_str())
        .and(listings::expires_on.le(day))
}

pub fn insert(conn: &mut DbConn, listing: &Listing, violation_ids: &[String]) -> QueryResult<()> {
    diesel::insert_into(listings::table)
        .values(listing.clone())
        .execute(conn)?;
    let rows: Vec<ListingViolation> = violation_ids
        .iter()
        .map(|v| ListingViolation {
            listing_id: listing.id.clone(),
            violation_id: v.clone(),
        })
        .collect();
    crate::insert_rows!(conn, listing_violations::table, &rows).map(drop)
}

/// Saves every column of a listing (call with its row locked).
pub fn save(conn: &mut DbConn, listing: &Listing) -> QueryResult<()> {
    diesel::update(listings::table.find(&listing.id))
        .set(listing.clone())
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

pub fn find(conn: &mut DbConn, id: &str) -> DbResult<Option<Listing>> {
    let found = listings::table
        .find(id)
        .select(Listing::as_select())
        .first(conn)
        .optional();
    name_row(conn, "listings", found)
}

/// The basis violation ids of each of these listings, in id order (one query).
pub fn basis_of(conn: &mut DbConn, listing_ids: &[&str]) -> QueryResult<Vec<ListingViolation>> {
    listing_violations::table
        .filter(listing_violations::listing_id.eq_any(listing_ids))
        .order((
            listing_violations::listing_id,
            listing_violations::violation_id,
        ))
        .select((
            listing_violations::listing_id,
            listing_violations::violation_id,
        ))
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
        .filter(violations::status.eq(ViolationStatus::Effective.as_str()))
        .count()
        .get_result(conn)
}

/// Open proposals (proposed or noticed) and stored listed rows of a subject.
pub fn open_or_listed(conn: &mut DbConn, subject_id: &str) -> DbResult<Vec<Listing>> {
    let open = [Status::Proposed, Status::Noticed, Status::Listed].map(Status::as_str);
    let found = listings::table
        .filter(listings::subject_id.eq(subject_id))
        .filter(listings::status.eq_any(open))
        .select(Listing::as_select())
        .load(conn);
    name_row(conn, "listings", found)
}

pub fn insert_history(conn: &mut DbConn, entries: Vec<HistoryEntry>) -> QueryResult<()> {
    crate::insert_rows!(conn, listing_history::table, entries).map(drop)
}

/// The history of each of these listings, oldest first (one query).
pub fn history_of(conn: &mut DbConn, listing_ids: &[&str]) -> DbResult<Vec<HistoryEntry>> {
    let found = listing_history::table
        .filter(listing_history::listing_id.eq_any(listing_ids))
        .order(listing_history::id)
        .select(HistoryEntry::as_select())
        .load(conn);
    name_row(conn, "listing_history", found)
}

pub fn insert_objection(conn: &mut DbConn, objection: &Objection) -> QueryResult<()> {
    diesel::insert_into(objections::table)
        .values(objection)
        .execute(conn)
        .map(drop)
}

/// The objections of each of these listings, oldest first (one query).
pub fn objections_of(conn: &mut DbConn, listing_ids: &[&str]) -> QueryResult<Vec<Objection>> {
    objections::table
        .filter(objections::listing_id.eq_any(listing_ids))
        .order(objections::id)
        .select(Objection::as_select())
        .load(conn)
}

pub fn insert_repair(conn: &mut DbConn, application: &RepairApplication) -> QueryResult<()> {
    diesel::insert_into(repair_applications::table)
        .values(application.clone())
        .execute(conn)
        .map(drop)
}

pub fn save_repair(conn: &mut DbConn, application: &RepairApplication) -> QueryResult<()> {
    diesel::update(repair_applications::table.find(&application.id))
        .set(application.clone())
        .execute(conn)
        .map(drop)
}

/// The repair applications of each of these listings, oldest first (one query).
pub fn repairs_of(conn: &mut DbConn, listing_ids: &[&str]) -> DbResult<Vec<RepairApplication>> {
    let found = repair_applications::table
        .filter(repair_applications::listing_id.eq_any(listing_ids))
        .order(repair_applications::id)
        .select(RepairApplication::as_select())
        .load(conn);
    name_row(conn, "repair_applications", found)
}

/// The filters of a listing search.
#[derive(Debug, Clone, Default)]
pub struct ListingSearch {
    pub subject_id: Option<String>,
    /// As the reader sees statuses on the search's day: `listed` means in
    /// force, `expired` includes ended rows whose expiry is not yet recorded.
    pub status: Option<Status>,
}

pub fn search(
    conn: &mut DbConn,
    search: &ListingSearch,
    today: NaiveDate,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<Listing>> {
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
    match search.status {
        None => {}
        Some(Status::Listed) => query = query.filter(in_force_on(today)),
        Some(Status::Expired) => {
            query = query.filter(
                listings::status
                    .eq(Status::Expired.as_str())
                    .or(ended_unrecorded_on(today)),
            )
        }
        Some(other) => query = query.filter(listings::status.eq(other.as_str())),
    }
    let found = query.load(conn);
    name_row(conn, "listings", found)
}

/// Stored `listed` rows whose period has ended: the expiry job's work.
pub fn due_for_expiry(conn: &mut DbConn, today: NaiveDate, limit: i64) -> QueryResult<Vec<String>> {
    listings::table
        .filter(ended_unrecorded_on(today))
        .order(listings::expires_on)
        .limit(limit)
        .select(listings::id)
        .load(conn)
}
