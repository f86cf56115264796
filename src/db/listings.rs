//! Listings (the blacklist procedure), their basis violations, history,
//! objections and credit repair applications.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    document_numbers, listing_consents, listing_documents, listing_history, listing_violations,
    listings, objections, review_flags, violations,
};
use super::typed::{name_row, Json, Maybe};
use super::{DbConn, DbResult};
use crate::domain::procedure::{
    Action, ConsentOutcome, Considerations, HearingStatus, RemovalReason, Status,
};
use crate::domain::registry::{ReviewFlagStatus, ViolationStatus};
use crate::domain::repairs::Channel;

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
    #[diesel(deserialize_as = Option<String>, serialize_as = Option<String>)]
    pub hearing_status: Maybe<HearingStatus>,
    /// What the bureau weighed (Order 44 art. 12 ¶1).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub considerations: Json<Considerations>,
    /// The party proved it had no intent (art. 12 ¶2).
    pub no_intent_proven: bool,
    pub notice_no: Option<String>,
    pub decision_no: Option<String>,
    /// Codes of the Order 44 art. 15 measures applied (JSON list).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub measures: Json<Vec<String>>,
    pub published_on: Option<NaiveDate>,
    /// Order 44 art. 14 ¶1: the decision + 20 working days (the calendar of the day).
    pub publication_due_by: Option<NaiveDate>,
    /// A repair found false bars new applications through this day (Order 107 art. 23 ¶2).
    pub repair_barred_until: Option<NaiveDate>,
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
            hearing_status: Maybe(None),
            considerations: Json(Considerations::default()),
            no_intent_proven: false,
            notice_no: None,
            decision_no: None,
            measures: Json(Vec::new()),
            published_on: None,
            publication_due_by: None,
            repair_barred_until: None,
        }
    }
}

/// A parent bureau's answer to a request for consent (Order 44 art. 22).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = listing_consents, treat_none_as_default_value = false)]
pub struct ConsentRecord {
    pub id: String,
    pub listing_id: String,
    pub organization_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub outcome: ConsentOutcome,
    pub reason: String,
    pub given_by: String,
    pub given_on: NaiveDate,
    pub given_at: NaiveDateTime,
}

/// A document of the procedure as served, its content frozen (JSON).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = listing_documents, treat_none_as_default_value = false)]
pub struct StoredDocument {
    pub listing_id: String,
    /// `notice` or `decision`.
    pub kind: String,
    pub number: String,
    pub content: String,
    pub created_at: NaiveDateTime,
}

/// A band-D review flag on a subject.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = review_flags, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct ReviewFlag {
    pub id: String,
    pub subject_id: String,
    pub raised_on: NaiveDate,
    pub score: f64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ReviewFlagStatus,
    pub reason: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolution: Option<String>,
    pub listing_id: Option<String>,
    pub created_at: NaiveDateTime,
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
    /// The official who recorded it; none when the party lodged it in the portal.
    pub recorded_by: Option<String>,
    pub recorded_at: NaiveDateTime,
    /// `online` (the party, in the portal) or `in_person` (recorded by an official).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub channel: Channel,
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
    diesel::dsl::GtEq<listings::expires_on, NaiveDate>,
> {
    // In force through `expires_on` itself (domain::procedure::period_ended).
    listings::status
        .eq(Status::Listed.as_str())
        .and(listings::expires_on.ge(day))
}

/// Stored `listed` rows whose period has ended by `day` (their last day has
/// passed): expired in every answer, their expiry not yet recorded.
pub fn ended_unrecorded_on(
    day: NaiveDate,
) -> diesel::dsl::And<
    diesel::dsl::Eq<listings::status, &'static str>,
    diesel::dsl::Lt<listings::expires_on, NaiveDate>,
> {
    listings::status
        .eq(Status::Listed.as_str())
        .and(listings::expires_on.lt(day))
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
        .execute(conn)?;
    super::changes::subject(conn, &listing.subject_id)
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

/// The listing whose notice bears this number (numbers are unique: an
/// authority's mark, the year and a counter).
pub fn find_by_notice_no(conn: &mut DbConn, notice_no: &str) -> DbResult<Option<Listing>> {
    let found = listings::table
        .filter(listings::notice_no.eq(notice_no))
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

/// Whether a basis penalty of the listing is still pending, and the latest
/// end of a practice ban or business restriction among the basis penalties
/// not revoked.
pub fn basis_state(conn: &mut DbConn, listing_id: &str) -> QueryResult<(bool, Option<NaiveDate>)> {
    let rows: Vec<(String, Option<NaiveDate>)> = listing_violations::table
        .inner_join(violations::table)
        .filter(listing_violations::listing_id.eq(listing_id))
        .filter(violations::status.ne(ViolationStatus::Revoked.as_str()))
        .select((violations::status, violations::ban_until))
        .load(conn)?;
    let pending = rows
        .iter()
        .any(|(status, _)| status == ViolationStatus::Pending.as_str());
    Ok((pending, rows.iter().filter_map(|(_, until)| *until).max()))
}

/// Listings resting on this violation.
pub fn listings_of_violation(conn: &mut DbConn, violation_id: &str) -> QueryResult<Vec<String>> {
    listing_violations::table
        .filter(listing_violations::violation_id.eq(violation_id))
        .select(listing_violations::listing_id)
        .load(conn)
}

/// Every basis penalty of a listing, revoked ones included: (heavier
/// penalty, ground, status) — what Order 44 art. 19 weighs.
pub fn basis_penalties(
    conn: &mut DbConn,
    listing_id: &str,
) -> QueryResult<Vec<(bool, Option<String>, String)>> {
    listing_violations::table
        .inner_join(violations::table)
        .filter(listing_violations::listing_id.eq(listing_id))
        .select((
            violations::heavier_penalty,
            violations::listing_ground,
            violations::status,
        ))
        .load(conn)
}

/// The violations a listing rests on, pending ones included.
pub fn basis_violation_ids(conn: &mut DbConn, listing_id: &str) -> QueryResult<Vec<String>> {
    listing_violations::table
        .filter(listing_violations::listing_id.eq(listing_id))
        .order(listing_violations::violation_id)
        .select(listing_violations::violation_id)
        .load(conn)
}

// ---- consents, documents, numbers ----

pub fn insert_consent(conn: &mut DbConn, consent: &ConsentRecord) -> QueryResult<()> {
    diesel::insert_into(listing_consents::table)
        .values(consent.clone())
        .execute(conn)
        .map(drop)
}

/// The consents given on each of these listings, oldest first (one query).
pub fn consents_of(conn: &mut DbConn, listing_ids: &[&str]) -> DbResult<Vec<ConsentRecord>> {
    let found = listing_consents::table
        .filter(listing_consents::listing_id.eq_any(listing_ids))
        .order(listing_consents::id)
        .select(ConsentRecord::as_select())
        .load(conn);
    name_row(conn, "listing_consents", found)
}

/// Stores a document, replacing one of the same kind (a notice served again).
pub fn put_document(conn: &mut DbConn, document: &StoredDocument) -> QueryResult<()> {
    diesel::delete(
        listing_documents::table
            .filter(listing_documents::listing_id.eq(&document.listing_id))
            .filter(listing_documents::kind.eq(&document.kind)),
    )
    .execute(conn)?;
    diesel::insert_into(listing_documents::table)
        .values(document)
        .execute(conn)
        .map(drop)
}

pub fn document(
    conn: &mut DbConn,
    listing_id: &str,
    kind: &str,
) -> QueryResult<Option<StoredDocument>> {
    listing_documents::table
        .find((listing_id, kind))
        .select(StoredDocument::as_select())
        .first(conn)
        .optional()
}

/// The next number of a document kind for an authority in a year (1, 2, …):
/// one upsert that takes the counter's row lock, so that no two documents
/// share a number however many transactions count at once.
pub fn next_document_number(
    conn: &mut DbConn,
    authority_id: &str,
    kind: &str,
    year: i32,
) -> QueryResult<i32> {
    let row = (
        document_numbers::authority_id.eq(authority_id),
        document_numbers::kind.eq(kind),
        document_numbers::year.eq(year),
        document_numbers::last.eq(1),
    );
    let key = (
        document_numbers::authority_id,
        document_numbers::kind,
        document_numbers::year,
    );
    let bump = document_numbers::last.eq(document_numbers::last + 1);
    // The upsert's DSL is per backend (the multi-backend connection lacks it).
    match conn {
        DbConn::Pg(c) => diesel::insert_into(document_numbers::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(bump)
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(document_numbers::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(bump)
            .execute(c)?,
    };
    document_numbers::table
        .find((authority_id, kind, year))
        .select(document_numbers::last)
        .first(conn)
}

// ---- review flags ----

pub fn insert_review_flag(conn: &mut DbConn, flag: &ReviewFlag) -> QueryResult<()> {
    diesel::insert_into(review_flags::table)
        .values(flag.clone())
        .execute(conn)
        .map(drop)
}

pub fn save_review_flag(conn: &mut DbConn, flag: &ReviewFlag) -> QueryResult<()> {
    diesel::update(review_flags::table.find(&flag.id))
        .set(flag.clone())
        .execute(conn)
        .map(drop)
}

pub fn find_review_flag(conn: &mut DbConn, id: &str) -> DbResult<Option<ReviewFlag>> {
    let found = review_flags::table
        .find(id)
        .select(ReviewFlag::as_select())
        .first(conn)
        .optional();
    name_row(conn, "review_flags", found)
}

/// The open flag of a subject, if any.
pub fn open_review_flag(conn: &mut DbConn, subject_id: &str) -> DbResult<Option<ReviewFlag>> {
    let found = review_flags::table
        .filter(review_flags::subject_id.eq(subject_id))
        .filter(review_flags::status.eq(ReviewFlagStatus::Open.as_str()))
        .select(ReviewFlag::as_select())
        .first(conn)
        .optional();
    name_row(conn, "review_flags", found)
}

/// One page of flags in id order, optionally of one status.
pub fn review_flags(
    conn: &mut DbConn,
    status: Option<ReviewFlagStatus>,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<ReviewFlag>> {
    let mut query = review_flags::table
        .select(ReviewFlag::as_select())
        .order(review_flags::id)
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(review_flags::status.eq(status.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(review_flags::id.gt(after.to_owned()));
    }
    let found = query.load(conn);
    name_row(conn, "review_flags", found)
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
        .values(objection.clone())
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

/// The console's queues of a bureau's listings (`organization_id` is the
/// viewer's bureau), each in the order its deadline falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkQueue {
    /// Noticed, the objection window still open on `today`: by its last day.
    ObjectionWindows,
    /// Noticed with a hearing requested and not yet held or withdrawn.
    Hearings,
    /// Noticed, the window closed, no hearing pending: a decision is due.
    Decisions,
    /// Noticed listings of the bureau's child bureaus without an agreement
    /// from it yet (Order 44 art. 22).
    Consents,
    /// Decided to list but not yet published, by `publication_due_by`.
    Publications,
    /// In force, the period ending on or before `until`.
    Expiring { until: NaiveDate },
}

pub fn work_queue(
    conn: &mut DbConn,
    queue: WorkQueue,
    organization_id: &str,
    today: NaiveDate,
    limit: i64,
) -> DbResult<Vec<Listing>> {
    use super::schema::organizations;
    let org = organization_id.to_owned();
    let noticed = listings::status.eq(Status::Noticed.as_str());
    let mut query = listings::table
        .select(Listing::as_select())
        .limit(limit)
        .into_boxed();
    query = match queue {
        WorkQueue::Consents => query
            .filter(
                listings::authority_id.eq_any(
                    organizations::table
                        .filter(organizations::parent_id.eq(org.clone()))
                        .select(organizations::id.nullable()),
                ),
            )
            .filter(noticed)
            .filter(diesel::dsl::not(diesel::dsl::exists(
                listing_consents::table
                    .filter(listing_consents::listing_id.eq(listings::id))
                    .filter(listing_consents::organization_id.eq(org))
                    .filter(listing_consents::outcome.eq(ConsentOutcome::Agree.as_str())),
            )))
            .order((listings::objection_deadline, listings::id)),
        _ => query.filter(listings::authority_id.eq(org)),
    };
    query = match queue {
        WorkQueue::Consents => query,
        WorkQueue::ObjectionWindows => query
            .filter(noticed)
            .filter(listings::objection_deadline.ge(today))
            .order((listings::objection_deadline, listings::id)),
        WorkQueue::Hearings => query
            .filter(noticed)
            .filter(listings::hearing_status.eq(HearingStatus::Requested.as_str()))
            .order((listings::served_on, listings::id)),
        WorkQueue::Decisions => query
            .filter(noticed)
            .filter(listings::objection_deadline.lt(today))
            .filter(
                listings::hearing_status
                    .is_null()
                    .or(listings::hearing_status.ne(HearingStatus::Requested.as_str())),
            )
            .order((listings::objection_deadline, listings::id)),
        WorkQueue::Publications => query
            .filter(listings::status.eq(Status::Listed.as_str()))
            .filter(listings::published_on.is_null())
            .order((listings::publication_due_by, listings::id)),
        WorkQueue::Expiring { until } => query
            .filter(in_force_on(today))
            .filter(listings::expires_on.le(until))
            .order((listings::expires_on, listings::id)),
    };
    let found = query.load(conn);
    name_row(conn, "listings", found)
}
