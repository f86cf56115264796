//! Screening's candidate retrieval (who might match a query) and the
//! records it writes.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    listings, organizations, screenings, subject_accounts, subject_names, subject_relations,
    subjects,
};
use super::typed::{name_row, Maybe};
use super::{DbConn, DbResult};
use crate::domain::procedure::Status;
use crate::domain::registry::SubjectKind;
use crate::domain::scoring::Band;
use crate::domain::screening::Decision;

/// Every name and alias of these subjects: (subject id, position, name).
pub fn names_of(
    conn: &mut DbConn,
    subject_ids: &[String],
) -> QueryResult<Vec<(String, i32, String)>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    subject_names::table
        .filter(subject_names::subject_id.eq_any(subject_ids))
        .select((
            subject_names::subject_id,
            subject_names::position,
            subject_names::name,
        ))
        .load(conn)
}

/// What screening shows of a subject: what platforms may see of its score
/// (`scores::Shared`: no score when no penalty is shared).
#[derive(Debug, Clone, Queryable)]
pub struct SubjectSummary {
    pub id: String,
    pub name: String,
    #[diesel(deserialize_as = String)]
    pub kind: SubjectKind,
    pub score: Option<f64>,
    #[diesel(deserialize_as = Option<String>)]
    pub band: Maybe<Band>,
    /// The penalties platforms are shown.
    pub violations: i32,
}

impl SubjectSummary {
    /// Whether a penalty platforms are shown stands against the subject.
    pub fn has_shared_penalties(&self) -> bool {
        self.violations > 0 || self.score.is_some()
    }
}

/// A subject's summary with its resident-ID hash and USCC.
#[derive(Debug, Clone, Queryable)]
pub struct KeyedSummary {
    pub summary: SubjectSummary,
    pub id_number_hash: Option<String>,
    pub uscc: Option<String>,
    pub id_number_masked: Option<String>,
}

macro_rules! keyed_summary {
    () => {
        (
            (
                subjects::id,
                subjects::name,
                subjects::kind,
                subjects::shared_score,
                subjects::shared_band,
                subjects::shared_violations,
            ),
            subjects::id_number_hash,
            subjects::uscc,
            subjects::id_number_masked,
        )
    };
}

/// The summaries and identifiers of these subjects.
pub fn keyed_summaries(conn: &mut DbConn, subject_ids: &[String]) -> DbResult<Vec<KeyedSummary>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = subjects::table
        .filter(subjects::id.eq_any(subject_ids))
        .select(keyed_summary!())
        .load(conn);
    name_row(conn, "subjects", found)
}

/// The subjects holding any of these resident-ID hashes or USCCs.
pub fn by_identifiers(
    conn: &mut DbConn,
    hashes: &[String],
    codes: &[String],
) -> DbResult<Vec<KeyedSummary>> {
    let found = match (hashes.is_empty(), codes.is_empty()) {
        (true, true) => return Ok(Vec::new()),
        (false, true) => subjects::table
            .filter(subjects::id_number_hash.eq_any(hashes))
            .select(keyed_summary!())
            .load(conn),
        (true, false) => subjects::table
            .filter(subjects::uscc.eq_any(codes))
            .select(keyed_summary!())
            .load(conn),
        (false, false) => subjects::table
            .filter(
                subjects::id_number_hash
                    .eq_any(hashes)
                    .or(subjects::uscc.eq_any(codes)),
            )
            .select(keyed_summary!())
            .load(conn),
    };
    name_row(conn, "subjects", found)
}

/// The subjects owning any of these account keys, as (key, subject).
pub fn by_account_keys(
    conn: &mut DbConn,
    keys: &[String],
) -> DbResult<Vec<(String, KeyedSummary)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found = subject_accounts::table
        .inner_join(subjects::table)
        .filter(subject_accounts::account_key.eq_any(keys))
        .select((subject_accounts::account_key, keyed_summary!()))
        .load(conn);
    name_row(conn, "subjects", found)
}

/// An account of a subject: its key, and its platform and handle as published.
#[derive(Debug, Clone, Queryable)]
pub struct AccountRow {
    pub subject_id: String,
    pub key: String,
    pub platform: String,
    pub handle: String,
}

/// The accounts of these subjects, by subject and key.
pub fn accounts_of(conn: &mut DbConn, subject_ids: &[String]) -> QueryResult<Vec<AccountRow>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    subject_accounts::table
        .filter(subject_accounts::subject_id.eq_any(subject_ids))
        .order((subject_accounts::subject_id, subject_accounts::account_key))
        .select((
            subject_accounts::subject_id,
            subject_accounts::account_key,
            subject_accounts::platform,
            subject_accounts::handle,
        ))
        .load(conn)
}

/// A listing in status `listed` (in force, or ended with its expiry not yet
/// recorded) with its public fields, as the screening index loads it.
#[derive(Debug, Clone, Queryable)]
pub struct ActiveListing {
    pub subject_id: String,
    pub listing_id: String,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub reason: String,
    pub decision_no: Option<String>,
    pub legal_basis: String,
    /// The name of the deciding authority.
    pub authority: Option<String>,
}

/// The listings in status `listed` of these subjects, in listing-id order.
pub fn listed_listings_of(
    conn: &mut DbConn,
    subject_ids: &[String],
) -> QueryResult<Vec<ActiveListing>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Sorted here, not in SQL: an ORDER BY on the listing id tempts SQLite's
    // planner into the (status, id) index, which walks every listed row.
    let mut rows: Vec<ActiveListing> = listings::table
        .left_join(organizations::table.on(listings::authority_id.eq(organizations::id.nullable())))
        .filter(listings::subject_id.eq_any(subject_ids))
        .filter(listings::status.eq(Status::Listed.as_str()))
        .select((
            listings::subject_id,
            listings::id,
            listings::listed_on,
            listings::expires_on,
            listings::reason,
            listings::decision_no,
            listings::legal_basis,
            organizations::name.nullable(),
        ))
        .load(conn)?;
    rows.sort_by(|a, b| a.listing_id.cmp(&b.listing_id));
    Ok(rows)
}

/// Which of these subjects hold a listing in status `listed`.
pub fn with_listed_listing(conn: &mut DbConn, subject_ids: &[String]) -> QueryResult<Vec<String>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    listings::table
        .filter(listings::subject_id.eq_any(subject_ids))
        .filter(listings::status.eq(Status::Listed.as_str()))
        .select(listings::subject_id)
        .distinct()
        .load(conn)
}

/// Every subject whose name alone can matter to a screening: with a listing
/// in status `listed`, or bound by a relation not ended by `day` to a
/// subject with such a listing. Ids in order, without repeats.
pub fn index_members(conn: &mut DbConn, day: NaiveDate) -> QueryResult<Vec<String>> {
    let listed = listings::table
        .filter(listings::status.eq(Status::Listed.as_str()))
        .select(listings::subject_id);
    let mut ids: Vec<String> = listed.load(conn)?;
    ids.extend(
        subject_relations::table
            .filter(subject_relations::related_subject_id.eq_any(listed))
            .filter(super::relations::not_ended_by(day))
            .select(subject_relations::subject_id)
            .load::<String>(conn)?,
    );
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = screenings, treat_none_as_default_value = false)]
pub struct ScreeningRecord {
    pub id: String,
    pub batch_id: Option<String>,
    pub position: i32,
    pub organization_id: String,
    pub user_id: String,
    pub screened_at: NaiveDateTime,
    pub query_fingerprint: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub decision: Decision,
    pub list_version: i64,
    /// JSON array of the matched subjects' ids.
    pub matched_subject_ids: String,
}

pub fn insert_screenings(conn: &mut DbConn, rows: Vec<ScreeningRecord>) -> QueryResult<()> {
    // 10 columns: 1,000 rows stay far below PostgreSQL's 65,535 bind parameters.
    for chunk in rows.chunks(1000) {
        crate::insert_rows!(conn, screenings::table, chunk.to_vec())?;
    }
    Ok(())
}

/// A screening record, of one organization or (`None`) of any.
pub fn find_screening(
    conn: &mut DbConn,
    organization_id: Option<&str>,
    id: &str,
) -> QueryResult<Option<ScreeningRecord>> {
    let mut query = screenings::table
        .filter(screenings::id.eq(id.to_owned()))
        .select(ScreeningRecord::as_select())
        .into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(screenings::organization_id.eq(org.to_owned()));
    }
    query.first(conn).optional()
}

/// One page of screening records in id order, of one organization or (`None`) of all.
pub fn list_screenings(
    conn: &mut DbConn,
    organization_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ScreeningRecord>> {
    let mut query = screenings::table
        .order(screenings::id)
        .limit(limit)
        .select(ScreeningRecord::as_select())
        .into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(screenings::organization_id.eq(org.to_owned()));
    }
    if let Some(after) = after {
        query = query.filter(screenings::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Forgets up to `limit` screening records made before `cutoff`. Their audit
/// entries stay (the chain is never cut); they hold no query in clear.
pub fn purge_screenings_before(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<usize> {
    let old: Vec<String> = screenings::table
        .filter(screenings::screened_at.lt(cutoff))
        .select(screenings::id)
        .limit(limit)
        .load(conn)?;
    if old.is_empty() {
        return Ok(0);
    }
    diesel::delete(screenings::table.filter(screenings::id.eq_any(&old))).execute(conn)
}
