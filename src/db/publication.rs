//! The published blacklist: active entries, search, and the list's version.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel::prelude::*;

use super::listings::{ended_unrecorded_on, in_force_on};
use super::schema::{
    listings, organizations, publication_state, subject_accounts, subject_name_keys, subjects,
};
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
    /// Only this listing.
    pub listing_id: Option<String>,
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
    fn is_empty(&self) -> bool {
        self.simplified.is_none()
            && self.pinyin.is_empty()
            && self.uscc.is_none()
            && self.account_handle.is_none()
            && self.id_number_hash.is_none()
    }
}

impl PublicSearch {
    /// The first two characters of the simplified text, when it has two
    /// and is not plain ASCII. Latin text is a pinyin or foreign name,
    /// matched whole through the pinyin and text keys; its letter pairs
    /// ("zh" in 18,000 names of a million) would narrow nothing down.
    fn first_pair(&self) -> Option<String> {
        let text = self.simplified.as_deref().filter(|t| !t.is_ascii())?;
        let pair: String = text.chars().take(2).collect();
        (pair.chars().count() == 2).then_some(pair)
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One page of active entries (listed, and `expires_on` after `today`), in listing-id order.
///
/// A search runs one query per kind of criterion, each led by its own index
/// (identifiers, whole-name keys, account handles, text within a name via
/// its character pairs), and merges the pages: one query with every
/// criterion OR-ed together would walk every active listing.
pub fn active_entries(
    conn: &mut DbConn,
    today: NaiveDate,
    search: &PublicSearch,
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
            if let Some(kind) = search.kind {
                query = query.filter(subjects::kind.eq(kind.as_str()));
            }
            if let Some(id) = &search.listing_id {
                query = query.filter(listings::id.eq(id.clone()));
            }
            query
        }};
    }
    let rows: Vec<EntryRow> = if search.is_empty() {
        let found = page!().load(conn);
        name_row(conn, "subjects", found)?
    } else {
        let mut rows: Vec<EntryRow> = Vec::new();
        if search.uscc.is_some() || search.id_number_hash.is_some() {
            rows.extend(
                page!()
                    .filter(
                        subjects::uscc
                            .eq(search.uscc.clone())
                            .or(subjects::id_number_hash.eq(search.id_number_hash.clone())),
                    )
                    .load::<EntryRow>(conn)?,
            );
        }
        // Only listed subjects can be on the page: their name keys are
        // flagged, and indexed apart (see `listed_name_key_hits`).
        // Whole names: the simplified text key, or a pinyin spelling.
        let whole_names = subject_name_keys::table
            .filter(subject_name_keys::listed)
            .filter(
                subject_name_keys::key_kind
                    .eq("text")
                    .and(
                        subject_name_keys::name_key
                            .nullable()
                            .eq(search.simplified.clone()),
                    )
                    .or(subject_name_keys::key_kind
                        .eq("pinyin")
                        .and(subject_name_keys::name_key.eq_any(search.pinyin.clone()))),
            )
            .select(subject_name_keys::subject_id);
        rows.extend(
            page!()
                .filter(listings::subject_id.eq_any(whole_names))
                .load::<EntryRow>(conn)?,
        );
        if let Some(handle) = &search.account_handle {
            let by_handle = subject_accounts::table
                .filter(subject_accounts::handle.eq(handle.clone()))
                .select(subject_accounts::subject_id);
            rows.extend(
                page!()
                    .filter(listings::subject_id.eq_any(by_handle))
                    .load::<EntryRow>(conn)?,
            );
        }
        // Text within a name: the listed names holding the query's first
        // character pair, then those whose text key holds the whole query.
        if let (Some(text), Some(pair)) = (&search.simplified, search.first_pair()) {
            let pairs = diesel::alias!(subject_name_keys as pair_keys);
            let with_pair = pairs
                .filter(pairs.field(subject_name_keys::listed))
                .filter(pairs.field(subject_name_keys::key_kind).eq("pair"))
                .filter(pairs.field(subject_name_keys::name_key).eq(pair))
                .select(pairs.field(subject_name_keys::subject_id));
            let containing = subject_name_keys::table
                .filter(subject_name_keys::subject_id.eq_any(with_pair))
                .filter(subject_name_keys::key_kind.eq("text"))
                .filter(
                    subject_name_keys::name_key
                        .like(format!("%{}%", escape_like(text)))
                        .escape('\\'),
                )
                .select(subject_name_keys::subject_id);
            rows.extend(
                page!()
                    .filter(listings::subject_id.eq_any(containing))
                    .load::<EntryRow>(conn)?,
            );
        }
        rows.sort_by(|a, b| a.listing_id.cmp(&b.listing_id));
        rows.dedup_by(|a, b| a.listing_id == b.listing_id);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows
    };
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
    let search = PublicSearch {
        listing_id: Some(listing_id.to_owned()),
        ..Default::default()
    };
    Ok(active_entries(conn, today, &search, None, 1)?.pop())
}

/// The list's version and when it last changed, as of `today`.
///
/// `counter` counts recorded visible changes; listings whose `expires_on` has
/// come but whose expiry is not yet recorded are added, and recording an
/// expiry bumps the counter as it removes one of those — so the version
/// grows exactly when the visible list changes, midnight expiries included.
/// The stored version counter (without the expiries not yet recorded).
pub fn counter(conn: &mut DbConn) -> QueryResult<i64> {
    publication_state::table
        .find(1)
        .select(publication_state::counter)
        .first(conn)
}

pub fn version(conn: &mut DbConn, today: NaiveDate) -> QueryResult<(i64, NaiveDateTime)> {
    let (counter, changed_at): (i64, NaiveDateTime) = publication_state::table
        .find(1)
        .select((publication_state::counter, publication_state::changed_at))
        .first(conn)?;
    let pending: Vec<Option<NaiveDate>> = listings::table
        .filter(ended_unrecorded_on(today))
        .select(listings::expires_on)
        .load(conn)?;
    // An unrecorded expiry changed the list at the start of the day after
    // the entry's last day (CST).
    let latest_expiry = pending
        .iter()
        .flatten()
        .max()
        .map(|d| d.succ_opt().unwrap_or(*d).and_time(NaiveTime::MIN) - cst_offset())
        .unwrap_or(NaiveDateTime::MIN);
    Ok((
        counter + pending.len() as i64,
        changed_at.max(latest_expiry),
    ))
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
