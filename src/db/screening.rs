//! Screening's candidate retrieval (who might match a query) and the
//! records it writes.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::listings::in_force_on;
use super::schema::{
    listings, screenings, subject_accounts, subject_name_keys, subject_names, subjects,
};
use super::typed::{name_row, Maybe};
use super::{DbConn, DbResult};
use crate::domain::registry::SubjectKind;
use crate::domain::scoring::Band;
use crate::domain::screening::Decision;

/// Subjects holding any of these resident-ID hashes, as (hash, subject id).
pub fn by_id_number_hashes(
    conn: &mut DbConn,
    hashes: &[String],
) -> QueryResult<Vec<(String, String)>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<String>, String)> = subjects::table
        .filter(subjects::id_number_hash.eq_any(hashes))
        .select((subjects::id_number_hash, subjects::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(h, id)| h.map(|h| (h, id)))
        .collect())
}

/// Subjects holding any of these USCCs, as (uscc, subject id).
pub fn by_usccs(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<(String, String)>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<String>, String)> = subjects::table
        .filter(subjects::uscc.eq_any(codes))
        .select((subjects::uscc, subjects::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(u, id)| u.map(|u| (u, id)))
        .collect())
}

/// Subjects owning any of these account keys, as (key, subject id).
pub fn by_account_keys(conn: &mut DbConn, keys: &[String]) -> QueryResult<Vec<(String, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    subject_accounts::table
        .filter(subject_accounts::account_key.eq_any(keys))
        .select((subject_accounts::account_key, subject_accounts::subject_id))
        .load(conn)
}

/// Name-key rows equal to any of the given keys of a kind, of subjects with
/// a listing in status `listed`: (subject id, kind, key). Only those matter
/// to a name-only match; of a million subjects, one or two in a hundred.
pub fn listed_name_key_hits(
    conn: &mut DbConn,
    kind: &str,
    keys: &[String],
    limit: i64,
) -> QueryResult<Vec<(String, String, String)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // The bare flag (no bound value) lets both planners use the partial
    // index of flagged keys; whether a listing is in force today is checked
    // with the subject's listings afterwards.
    subject_name_keys::table
        .filter(subject_name_keys::listed)
        .filter(subject_name_keys::key_kind.eq(kind))
        .filter(subject_name_keys::name_key.eq_any(keys))
        .limit(limit)
        .select((
            subject_name_keys::subject_id,
            subject_name_keys::key_kind,
            subject_name_keys::name_key,
        ))
        .load(conn)
}

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

pub fn summaries(conn: &mut DbConn, subject_ids: &[String]) -> DbResult<Vec<SubjectSummary>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = subjects::table
        .filter(subjects::id.eq_any(subject_ids))
        .select((
            subjects::id,
            subjects::name,
            subjects::kind,
            subjects::shared_score,
            subjects::shared_band,
            subjects::shared_violations,
        ))
        .load(conn);
    name_row(conn, "subjects", found)
}

/// An active listing as screening shows it.
#[derive(Debug, Clone, Queryable)]
pub struct ActiveListing {
    pub subject_id: String,
    pub listing_id: String,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub reason: String,
}

pub fn active_listings(
    conn: &mut DbConn,
    subject_ids: &[String],
    today: NaiveDate,
) -> QueryResult<Vec<ActiveListing>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Sorted here, not in SQL: an ORDER BY on the listing id tempts SQLite's
    // planner into the (status, id) index, which walks every listed row.
    let mut rows: Vec<ActiveListing> = listings::table
        .filter(listings::subject_id.eq_any(subject_ids))
        .filter(in_force_on(today))
        .select((
            listings::subject_id,
            listings::id,
            listings::listed_on,
            listings::expires_on,
            listings::reason,
        ))
        .load(conn)?;
    rows.sort_by(|a, b| a.listing_id.cmp(&b.listing_id));
    Ok(rows)
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
