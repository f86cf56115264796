//! The published blacklist: active entries, search, and the list's version.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel::prelude::*;

use super::listings::{ended_unrecorded_on, in_force_on};
use super::schema::{listings, organizations, publication_state, subject_accounts, subjects};
use super::typed::name_row;
use super::{DbConn, DbResult};
use crate::domain::registry::{cst, SubjectKind};

/// One published entry with only its public fields.
#[derive(Debug, Clone, Queryable)]
pub struct EntryRow {
    pub listing_id: String,
    pub decision_no: Option<String>,
    pub reason: String,
    pub legal_basis: String,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub authority: Option<String>,
    pub subject_id: String,
    pub name: String,
    #[diesel(deserialize_as = String)]
    pub kind: SubjectKind,
    pub id_number_masked: Option<String>,
    pub uscc: Option<String>,
}

/// An entry with the subject's accounts as `(platform, handle)`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub row: EntryRow,
    pub accounts: Vec<(String, String)>,
}

/// What a public search matches (any of these).
#[derive(Debug, Clone, Default)]
pub struct PublicSearch {
    pub kind: Option<SubjectKind>,
    /// Simplified, case-folded text: a whole name's text key, or (two
    /// characters or more) found anywhere in one.
    pub simplified: Option<String>,
    /// Toneless pinyin spellings, matched whole.
    pub pinyin: Vec<String>,
    pub uscc: Option<String>,
    pub account_handle: Option<String>,
    pub id_number_hash: Option<String>,
}

impl PublicSearch {
    pub fn is_empty(&self) -> bool {
        self.simplified.is_none()
            && self.pinyin.is_empty()
            && self.uscc.is_none()
            && self.account_handle.is_none()
            && self.id_number_hash.is_none()
    }
}

impl PublicSearch {
    /// The text to find within names, when the search looks there: two
    /// characters or more, not plain ASCII. Latin text is a pinyin or
    /// foreign name, matched whole through the pinyin and text keys.
    pub fn within_names(&self) -> Option<&str> {
        self.simplified
            .as_deref()
            .filter(|t| !t.is_ascii() && t.chars().nth(1).is_some())
    }
}

/// One page of active entries (listed, and `expires_on` on or after
/// `today`), in listing-id order: the export's pages, or (`listing_id`) one
/// entry. Searches are answered from memory (`State::public_entries` in
/// `service::index`).
pub fn active_entries(
    conn: &mut DbConn,
    today: NaiveDate,
    listing_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<Entry>> {
    // The page query, before any search criterion.
    macro_rules! page {
        () => {{
            let mut query = listings::table
                .inner_join(subjects::table)
                .left_join(
                    organizations::table
                        .on(listings::authority_id.eq(organizations::id.nullable())),
                )
                .filter(in_force_on(today))
                .order(listings::id)
                .limit(limit)
                .select((
                    listings::id,
                    listings::decision_no,
                    listings::reason,
                    listings::legal_basis,
                    listings::listed_on,
                    listings::expires_on,
                    organizations::name.nullable(),
                    subjects::id,
                    subjects::name,
                    subjects::kind,
                    subjects::id_number_masked,
                    subjects::uscc,
                ))
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(listings::id.gt(after.to_owned()));
            }
            if let Some(id) = listing_id {
                query = query.filter(listings::id.eq(id.to_owned()));
            }
            query
        }};
    }
    let found = page!().load(conn);
    let rows: Vec<EntryRow> = name_row(conn, "subjects", found)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.subject_id.as_str()).collect();
    let accounts: Vec<(String, String, String)> = subject_accounts::table
        .filter(subject_accounts::subject_id.eq_any(&ids))
        .order((subject_accounts::subject_id, subject_accounts::account_key))
        .select((
            subject_accounts::subject_id,
            subject_accounts::platform,
            subject_accounts::handle,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| Entry {
            accounts: accounts
                .iter()
                .filter(|(s, _, _)| *s == row.subject_id)
                .map(|(_, p, h)| (p.clone(), h.clone()))
                .collect(),
            row,
        })
        .collect())
}

/// One active entry by listing id.
pub fn active_entry(
    conn: &mut DbConn,
    today: NaiveDate,
    listing_id: &str,
) -> DbResult<Option<Entry>> {
    Ok(active_entries(conn, today, Some(listing_id), None, 1)?.pop())
}

/// The stored version counter and when it last moved (without the expiries
/// not yet recorded: see [`version_with`]).
pub fn stored_version(conn: &mut DbConn) -> QueryResult<(i64, NaiveDateTime)> {
    publication_state::table
        .find(1)
        .select((publication_state::counter, publication_state::changed_at))
        .first(conn)
}

/// The list's version and when it last changed, as of `today`.
///
/// `counter` counts recorded visible changes; listings whose `expires_on` has
/// come but whose expiry is not yet recorded are added, and recording an
/// expiry bumps the counter as it removes one of those — so the version
/// grows exactly when the visible list changes, midnight expiries included.
pub fn version(conn: &mut DbConn, today: NaiveDate) -> QueryResult<(i64, NaiveDateTime)> {
    let stored = stored_version(conn)?;
    let pending: Vec<Option<NaiveDate>> = listings::table
        .filter(ended_unrecorded_on(today))
        .select(listings::expires_on)
        .load(conn)?;
    Ok(version_with(
        stored,
        pending.len(),
        pending.iter().flatten().max().copied(),
    ))
}

/// The version from the stored counter and when it moved, and the listings
/// whose period has ended without their expiry recorded: how many, and the
/// latest last day among them. Such an expiry changed the list at the start
/// of the day after the entry's last day (CST).
pub fn version_with(
    (counter, changed_at): (i64, NaiveDateTime),
    pending: usize,
    latest_last_day: Option<NaiveDate>,
) -> (i64, NaiveDateTime) {
    let latest_expiry = latest_last_day
        .map(|d| d.succ_opt().unwrap_or(d).and_time(NaiveTime::MIN) - cst_offset())
        .unwrap_or(NaiveDateTime::MIN);
    (counter + pending as i64, changed_at.max(latest_expiry))
}

fn cst_offset() -> chrono::Duration {
    chrono::Duration::seconds(i64::from(cst().local_minus_utc()))
}

/// Adds `delta` to the version counter (inside the transaction of the change).
pub fn bump(conn: &mut DbConn, delta: i64) -> QueryResult<()> {
    if delta == 0 {
        return Ok(());
    }
    diesel::update(publication_state::table.find(1))
        .set((
            publication_state::counter.eq(publication_state::counter + delta),
            publication_state::changed_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// Whether a subject has a visible entry (so a change to its public fields changes the list).
pub fn is_published(conn: &mut DbConn, subject_id: &str, today: NaiveDate) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        listings::table
            .filter(listings::subject_id.eq(subject_id))
            .filter(in_force_on(today)),
    ))
    .get_result(conn)
}
