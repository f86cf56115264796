//! Subjects (with names, aliases and accounts) and violations (with evidence).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    subject_accounts, subject_name_keys, subject_names, subjects, violation_evidence, violations,
};
use super::typed::{name_row, Json, Maybe};
use super::{changes, DbConn, DbResult};
use crate::domain::penalties::PenaltyKind;
use crate::domain::registry::{SubjectKind, ViolationStatus};
use crate::domain::scoring::{Band, Category, Severity};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subjects, treat_none_as_default_value = false)]
pub struct Subject {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: SubjectKind,
    pub name: String,
    pub region_code: Option<String>,
    pub id_number_hash: Option<String>,
    pub id_number_masked: Option<String>,
    pub uscc: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The score at `score_as_of` under `policy_version` (kept current by every violation change).
    pub score: f64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub band: Band,
    pub score_as_of: Option<NaiveDate>,
    pub policy_version: i32,
    /// What platforms may see of the score (`scores::Shared`): from the
    /// penalties still published; none when there are none.
    pub shared_score: Option<f64>,
    #[diesel(deserialize_as = Option<String>, serialize_as = Option<String>)]
    pub shared_band: Maybe<Band>,
    pub shared_violations: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subject_accounts, treat_none_as_default_value = false)]
pub struct SubjectAccount {
    pub subject_id: String,
    pub account_key: String,
    pub platform: String,
    pub handle: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subject_names, treat_none_as_default_value = false)]
pub struct SubjectName {
    pub subject_id: String,
    pub position: i32,
    pub name: String,
}

/// A subject with its aliases and accounts.
#[derive(Debug, Clone)]
pub struct SubjectRecord {
    pub subject: Subject,
    pub aliases: Vec<String>,
    pub accounts: Vec<SubjectAccount>,
}

pub fn insert_subject(conn: &mut DbConn, subject: &Subject) -> QueryResult<()> {
    diesel::insert_into(subjects::table)
        .values(subject.clone())
        .execute(conn)?;
    changes::subject(conn, &subject.id)
}

pub fn update_subject(conn: &mut DbConn, subject: &Subject) -> QueryResult<()> {
    diesel::update(subjects::table.find(&subject.id))
        .set((
            subjects::name.eq(&subject.name),
            subjects::region_code.eq(&subject.region_code),
            subjects::id_number_hash.eq(&subject.id_number_hash),
            subjects::id_number_masked.eq(&subject.id_number_masked),
            subjects::uscc.eq(&subject.uscc),
            subjects::updated_at.eq(subject.updated_at),
        ))
        .execute(conn)?;
    changes::subject(conn, &subject.id)
}

/// Replaces the names (position 0 is the name, then the aliases) and their
/// comparable keys, as built by the caller.
pub fn replace_names(
    conn: &mut DbConn,
    subject_id: &str,
    names: &[SubjectName],
    keys: &[NameKeyRow],
) -> QueryResult<()> {
    diesel::delete(subject_names::table.filter(subject_names::subject_id.eq(subject_id)))
        .execute(conn)?;
    crate::insert_rows!(conn, subject_names::table, names)?;
    diesel::delete(subject_name_keys::table.filter(subject_name_keys::subject_id.eq(subject_id)))
        .execute(conn)?;
    if !keys.is_empty() {
        crate::insert_rows!(conn, subject_name_keys::table, keys)?;
    }
    changes::subject(conn, subject_id)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subject_name_keys, treat_none_as_default_value = false)]
pub struct NameKeyRow {
    pub subject_id: String,
    /// `text` (simplified, case-folded name), `pinyin` (one toneless reading),
    /// `initials` or `pair` (two adjacent characters of a Han name).
    pub key_kind: String,
    pub name_key: String,
    /// The position of the name (0) or alias it came from.
    pub position: i32,
}

pub fn replace_accounts(
    conn: &mut DbConn,
    subject_id: &str,
    accounts: &[SubjectAccount],
) -> QueryResult<()> {
    diesel::delete(subject_accounts::table.filter(subject_accounts::subject_id.eq(subject_id)))
        .execute(conn)?;
    changes::subject(conn, subject_id)?;
    if accounts.is_empty() {
        return Ok(());
    }
    crate::insert_rows!(conn, subject_accounts::table, accounts).map(drop)
}

// ---- re-keying: every subject's stored keys, in batches of ids ----

/// Up to `limit` subject ids after `after`, in id order.
pub fn subject_ids_after(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let mut query = subjects::table
        .select(subjects::id)
        .order(subjects::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(subjects::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// The names of the subjects whose ids lie in `first..=last`, by subject and position.
pub fn names_between(conn: &mut DbConn, first: &str, last: &str) -> QueryResult<Vec<SubjectName>> {
    subject_names::table
        .filter(subject_names::subject_id.between(first, last))
        .order((subject_names::subject_id, subject_names::position))
        .select(SubjectName::as_select())
        .load(conn)
}

/// The stored name keys of the subjects whose ids lie in `first..=last`.
pub fn name_keys_between(
    conn: &mut DbConn,
    first: &str,
    last: &str,
) -> QueryResult<Vec<NameKeyRow>> {
    subject_name_keys::table
        .filter(subject_name_keys::subject_id.between(first, last))
        .select(NameKeyRow::as_select())
        .load(conn)
}

/// The accounts of the subjects whose ids lie in `first..=last`, by subject and key.
pub fn accounts_between(
    conn: &mut DbConn,
    first: &str,
    last: &str,
) -> QueryResult<Vec<SubjectAccount>> {
    subject_accounts::table
        .filter(subject_accounts::subject_id.between(first, last))
        .order((subject_accounts::subject_id, subject_accounts::account_key))
        .select(SubjectAccount::as_select())
        .load(conn)
}

/// Replaces the name keys of these subjects with `keys` (re-keying: the
/// names themselves, and so the screening index, do not change).
pub fn replace_name_keys_of(
    conn: &mut DbConn,
    subject_ids: &[String],
    keys: Vec<NameKeyRow>,
) -> QueryResult<()> {
    if subject_ids.is_empty() {
        return Ok(());
    }
    diesel::delete(
        subject_name_keys::table.filter(subject_name_keys::subject_id.eq_any(subject_ids)),
    )
    .execute(conn)?;
    for chunk in keys.chunks(1000) {
        crate::insert_rows!(conn, subject_name_keys::table, chunk.to_vec())?;
    }
    Ok(())
}

/// Gives a stored account its key and handle as normalised now.
pub fn rekey_account(
    conn: &mut DbConn,
    old_key: &str,
    account: &SubjectAccount,
) -> QueryResult<()> {
    diesel::update(
        subject_accounts::table
            .filter(subject_accounts::subject_id.eq(&account.subject_id))
            .filter(subject_accounts::account_key.eq(old_key)),
    )
    .set((
        subject_accounts::account_key.eq(&account.account_key),
        subject_accounts::handle.eq(&account.handle),
    ))
    .execute(conn)?;
    changes::subject(conn, &account.subject_id)
}

/// Removes one account of a subject.
pub fn delete_account(conn: &mut DbConn, subject_id: &str, account_key: &str) -> QueryResult<()> {
    diesel::delete(
        subject_accounts::table
            .filter(subject_accounts::subject_id.eq(subject_id))
            .filter(subject_accounts::account_key.eq(account_key)),
    )
    .execute(conn)?;
    changes::subject(conn, subject_id)
}

/// How many subjects the registry holds.
pub fn count_subjects(conn: &mut DbConn) -> QueryResult<i64> {
    subjects::table.count().get_result(conn)
}

pub fn find_subject(conn: &mut DbConn, id: &str) -> DbResult<Option<Subject>> {
    let found = subjects::table
        .find(id)
        .select(Subject::as_select())
        .first(conn)
        .optional();
    name_row(conn, "subjects", found)
}

/// The subjects of these ids that exist, in no particular order.
pub fn find_subjects(conn: &mut DbConn, ids: &[String]) -> DbResult<Vec<Subject>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = subjects::table
        .filter(subjects::id.eq_any(ids))
        .select(Subject::as_select())
        .load(conn);
    name_row(conn, "subjects", found)
}

pub fn subject_id_by_id_number_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<String>> {
    subjects::table
        .filter(subjects::id_number_hash.eq(hash))
        .select(subjects::id)
        .first(conn)
        .optional()
}

pub fn subject_id_by_uscc(conn: &mut DbConn, uscc: &str) -> QueryResult<Option<String>> {
    subjects::table
        .filter(subjects::uscc.eq(uscc))
        .select(subjects::id)
        .first(conn)
        .optional()
}

/// The subjects owning any of these account keys, as (key, subject id).
pub fn subjects_by_account_keys(
    conn: &mut DbConn,
    keys: &[String],
) -> QueryResult<Vec<(String, String)>> {
    subject_accounts::table
        .filter(subject_accounts::account_key.eq_any(keys))
        .select((subject_accounts::account_key, subject_accounts::subject_id))
        .load(conn)
}

/// Loads the aliases and accounts of the given subjects (one query each).
pub fn with_details(conn: &mut DbConn, subjects: Vec<Subject>) -> DbResult<Vec<SubjectRecord>> {
    let ids: Vec<&str> = subjects.iter().map(|s| s.id.as_str()).collect();
    let names: Vec<(String, i32, String)> = subject_names::table
        .filter(subject_names::subject_id.eq_any(&ids))
        .filter(subject_names::position.gt(0))
        .order((subject_names::subject_id, subject_names::position))
        .select((
            subject_names::subject_id,
            subject_names::position,
            subject_names::name,
        ))
        .load(conn)?;
    let accounts: Vec<SubjectAccount> = subject_accounts::table
        .filter(subject_accounts::subject_id.eq_any(&ids))
        .order((subject_accounts::subject_id, subject_accounts::account_key))
        .select(SubjectAccount::as_select())
        .load(conn)?;
    Ok(subjects
        .into_iter()
        .map(|subject| SubjectRecord {
            aliases: names
                .iter()
                .filter(|(id, _, _)| *id == subject.id)
                .map(|(_, _, n)| n.clone())
                .collect(),
            accounts: accounts
                .iter()
                .filter(|a| a.subject_id == subject.id)
                .cloned()
                .collect(),
            subject,
        })
        .collect())
}

pub fn find_subject_record(conn: &mut DbConn, id: &str) -> DbResult<Option<SubjectRecord>> {
    match find_subject(conn, id)? {
        Some(subject) => Ok(with_details(conn, vec![subject])?.pop()),
        None => Ok(None),
    }
}

/// What a subject search matches: a name or alias (whole, by its text key or
/// a pinyin spelling; or its text key holding the query's), or exact identifiers.
#[derive(Debug, Default, Clone)]
pub struct SubjectSearch {
    pub kind: Option<SubjectKind>,
    /// The query's text key (`domain::names`: simplified, case-folded,
    /// noise stripped): a whole name's, or, two characters or more, found
    /// within one.
    pub text: Option<String>,
    /// The query's toneless pinyin spellings, matched whole.
    pub pinyin: Vec<String>,
    pub id_number_hash: Option<String>,
    pub uscc: Option<String>,
    pub account_handle: Option<String>,
}

impl SubjectSearch {
    fn is_empty(&self) -> bool {
        self.text.is_none()
            && self.pinyin.is_empty()
            && self.id_number_hash.is_none()
            && self.uscc.is_none()
            && self.account_handle.is_none()
    }
}

/// One page of subjects in id order.
///
/// Every criterion is an indexed lookup of its own (identifiers, handles,
/// whole name keys, and text within a name through the name's character
/// pairs: the names holding the query's rarest pair, then those whose text key
/// holds the whole query), each taking the page's first `limit` in id order;
/// the union, cut to `limit`, is the page. No criterion scans the names.
pub fn search_subjects(
    conn: &mut DbConn,
    search: &SubjectSearch,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<Subject>> {
    macro_rules! page {
        () => {{
            let mut query = subjects::table
                .select(Subject::as_select())
                .order(subjects::id)
                .limit(limit)
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(subjects::id.gt(after.to_owned()));
            }
            if let Some(kind) = search.kind {
                query = query.filter(subjects::kind.eq(kind.as_str()));
            }
            query
        }};
    }
    if search.is_empty() {
        let found = page!().load(conn);
        return name_row(conn, "subjects", found);
    }
    let mut found: Vec<Subject> = Vec::new();
    if search.uscc.is_some() || search.id_number_hash.is_some() {
        let by_identifier = page!()
            .filter(
                subjects::uscc
                    .eq(search.uscc.clone())
                    .or(subjects::id_number_hash.eq(search.id_number_hash.clone())),
            )
            .load(conn);
        found.extend(name_row(conn, "subjects", by_identifier)?);
    }
    if let Some(handle) = &search.account_handle {
        let by_handle = subject_accounts::table
            .filter(subject_accounts::handle.eq(handle.clone()))
            .select(subject_accounts::subject_id);
        let rows = page!().filter(subjects::id.eq_any(by_handle)).load(conn);
        found.extend(name_row(conn, "subjects", rows)?);
    }
    let whole_names = subject_name_keys::table
        .filter(
            subject_name_keys::key_kind
                .eq("text")
                .and(
                    subject_name_keys::name_key
                        .nullable()
                        .eq(search.text.clone()),
                )
                .or(subject_name_keys::key_kind
                    .eq("pinyin")
                    .and(subject_name_keys::name_key.eq_any(search.pinyin.clone()))),
        )
        .select(subject_name_keys::subject_id);
    let rows = page!().filter(subjects::id.eq_any(whole_names)).load(conn);
    found.extend(name_row(conn, "subjects", rows)?);
    if let Some((text, pair)) = match &search.text {
        Some(t) => rarest_pair(conn, t)?.map(|p| (t, p)),
        None => None,
    } {
        let pairs = diesel::alias!(subject_name_keys as pair_keys);
        let with_pair = pairs
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
        let rows = page!().filter(subjects::id.eq_any(containing)).load(conn);
        found.extend(name_row(conn, "subjects", rows)?);
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(found)
}

/// Of the character pairs of a text key, the one fewest names hold: the pair
/// a search for text within names narrows by (see `names::pairs`). A
/// merchant's name starts with its city and ends in 有限公司, pairs held by
/// tens of thousands of names; the middle ones are rare. Each pair is
/// counted up to [`PAIR_SAMPLE`] names, by the index alone; the first held
/// by fewer than 100 ends the count.
fn rarest_pair(conn: &mut DbConn, text: &str) -> DbResult<Option<String>> {
    let mut best: Option<(usize, String)> = None;
    for pair in crate::domain::names::pairs(text)
        .into_iter()
        .take(MAX_PAIRS_TRIED)
    {
        // The key itself: read from the index alone.
        let held: Vec<String> = subject_name_keys::table
            .filter(subject_name_keys::key_kind.eq("pair"))
            .filter(subject_name_keys::name_key.eq(&pair))
            .select(subject_name_keys::name_key)
            .limit(PAIR_SAMPLE)
            .load(conn)?;
        if best.as_ref().is_none_or(|(n, _)| held.len() < *n) {
            let rare = held.len() < 100;
            best = Some((held.len(), pair));
            if rare {
                break;
            }
        }
    }
    Ok(best.map(|(_, pair)| pair))
}

/// Names counted per pair when choosing the rarest: in a million names an
/// ASCII pair such as `an` or `ng` is held by 60,000, `gw` by 2,000.
const PAIR_SAMPLE: i64 = 5_000;
/// Pairs of a long query tried when choosing the rarest.
const MAX_PAIRS_TRIED: usize = 12;

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

// ---- violations ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = violations, treat_none_as_default_value = false)]
pub struct Violation {
    pub id: String,
    pub subject_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub category: Category,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub severity: Severity,
    /// The day of the penalty decision; `None` while the penalty is pending.
    pub decided_on: Option<NaiveDate>,
    pub description: String,
    pub decision_no: Option<String>,
    pub fine_cents: Option<i64>,
    pub legal_basis: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ViolationStatus,
    pub recorded_by: String,
    pub authority_id: String,
    pub recorded_at: NaiveDateTime,
    pub revoked_on: Option<NaiveDate>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<String>,
    pub revocation_reason: Option<String>,
    /// The kinds of administrative penalty imposed (JSON list).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub penalty_kinds: Json<Vec<PenaltyKind>>,
    /// Any kind is a heavier penalty of Order 44 art. 2 (kept for queries).
    pub heavier_penalty: bool,
    /// The end of a practice ban or business restriction.
    pub ban_until: Option<NaiveDate>,
    /// The Order 44 ground (`art9.1` …) the act falls under.
    pub listing_ground: Option<String>,
    /// For a penalty recorded pending: when its decision was entered, and by whom.
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: Option<String>,
    /// The listing it supported was removed by credit repair on this day: the penalty no
    /// longer counts for platforms or the public (Order 107 art. 2, 13 ¶3).
    pub repaired_on: Option<NaiveDate>,
    /// The MCN or live-room operator sharing the responsibility (JSON list of subject ids).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub related_subject_ids: Json<Vec<String>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = violation_evidence, treat_none_as_default_value = false)]
pub struct Evidence {
    pub violation_id: String,
    pub position: i32,
    pub sha256: String,
    pub media_type: String,
    pub description: Option<String>,
    pub uri: Option<String>,
}

/// A standing (not revoked) violation that is `v` recorded again: the same
/// subject, bureau, penalty decision number and date, and category.
pub fn same_violation(conn: &mut DbConn, v: &Violation) -> DbResult<Option<String>> {
    let Some(decision_no) = &v.decision_no else {
        return Ok(None);
    };
    Ok(violations::table
        .filter(violations::subject_id.eq(&v.subject_id))
        .filter(violations::authority_id.eq(&v.authority_id))
        .filter(violations::decision_no.eq(decision_no))
        .filter(violations::decided_on.eq(v.decided_on))
        .filter(violations::category.eq(v.category.as_str()))
        .filter(violations::status.ne(ViolationStatus::Revoked.as_str()))
        .select(violations::id)
        .first(conn)
        .optional()?)
}

pub fn insert_violation(
    conn: &mut DbConn,
    violation: &Violation,
    evidence: &[Evidence],
) -> QueryResult<()> {
    diesel::insert_into(violations::table)
        .values(violation.clone())
        .execute(conn)?;
    if !evidence.is_empty() {
        crate::insert_rows!(conn, violation_evidence::table, evidence)?;
    }
    Ok(())
}

pub fn find_violation(conn: &mut DbConn, id: &str) -> DbResult<Option<Violation>> {
    let found = violations::table
        .find(id)
        .select(Violation::as_select())
        .first(conn)
        .optional();
    name_row(conn, "violations", found)
}

/// The violations with these ids (one query).
pub fn violations_by_ids(conn: &mut DbConn, ids: &[String]) -> DbResult<Vec<Violation>> {
    let found = violations::table
        .filter(violations::id.eq_any(ids))
        .order(violations::id)
        .select(Violation::as_select())
        .load(conn);
    name_row(conn, "violations", found)
}

impl Violation {
    /// Records the decision of a pending penalty.
    pub fn decide(&mut self, decision_no: &str, on: NaiveDate, at: NaiveDateTime, by: &str) {
        self.status = ViolationStatus::Effective;
        self.decision_no = Some(decision_no.to_owned());
        self.decided_on = Some(on);
        self.decided_at = Some(at);
        self.decided_by = Some(by.to_owned());
    }

    /// Records the annulment of the penalty (the row is never deleted).
    pub fn revoke(&mut self, on: NaiveDate, at: NaiveDateTime, by: &str, reason: &str) {
        self.status = ViolationStatus::Revoked;
        self.revoked_on = Some(on);
        self.revoked_at = Some(at);
        self.revoked_by = Some(by.to_owned());
        self.revocation_reason = Some(reason.to_owned());
    }
}

/// Stores the decision of a pending penalty (status, number, date), unless
/// it is no longer pending; returns whether it changed.
pub fn save_decision(conn: &mut DbConn, v: &Violation) -> QueryResult<bool> {
    let changed = diesel::update(
        violations::table
            .find(&v.id)
            .filter(violations::status.eq(ViolationStatus::Pending.as_str())),
    )
    .set((
        violations::status.eq(v.status.as_str()),
        violations::decision_no.eq(&v.decision_no),
        violations::decided_on.eq(v.decided_on),
        violations::decided_at.eq(v.decided_at),
        violations::decided_by.eq(&v.decided_by),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// A heavier penalty of the subject, in effect and decided after `day`, if
/// any (Order 107 art. 13 ¶1 (3): no repair after a new heavier penalty).
pub fn heavier_decided_after(
    conn: &mut DbConn,
    subject_id: &str,
    day: NaiveDate,
    except: &[String],
) -> QueryResult<Option<String>> {
    violations::table
        .filter(violations::subject_id.eq(subject_id))
        .filter(violations::id.ne_all(except))
        .filter(violations::status.eq(ViolationStatus::Effective.as_str()))
        .filter(violations::heavier_penalty.eq(true))
        .filter(violations::decided_on.gt(day))
        .order(violations::id)
        .select(violations::id)
        .first(conn)
        .optional()
}

/// Marks penalties repaired on `on` (those not marked before).
pub fn mark_repaired(conn: &mut DbConn, ids: &[String], on: NaiveDate) -> QueryResult<usize> {
    diesel::update(
        violations::table
            .filter(violations::id.eq_any(ids))
            .filter(violations::repaired_on.is_null()),
    )
    .set(violations::repaired_on.eq(on))
    .execute(conn)
}

/// Clears the mark again when a repair is found false.
pub fn unmark_repaired(conn: &mut DbConn, ids: &[String]) -> QueryResult<usize> {
    diesel::update(violations::table.filter(violations::id.eq_any(ids)))
        .set(violations::repaired_on.eq(None::<NaiveDate>))
        .execute(conn)
}

/// Stores a revocation made with [`Violation::revoke`], unless the stored
/// row is revoked already; returns whether it changed.
pub fn save_revocation(conn: &mut DbConn, v: &Violation) -> QueryResult<bool> {
    let changed = diesel::update(
        violations::table
            .find(&v.id)
            .filter(violations::status.ne(ViolationStatus::Revoked.as_str())),
    )
    .set((
        violations::status.eq(v.status.as_str()),
        violations::revoked_on.eq(v.revoked_on),
        violations::revoked_at.eq(v.revoked_at),
        violations::revoked_by.eq(&v.revoked_by),
        violations::revocation_reason.eq(&v.revocation_reason),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn evidence_of(conn: &mut DbConn, violation_ids: &[&str]) -> QueryResult<Vec<Evidence>> {
    violation_evidence::table
        .filter(violation_evidence::violation_id.eq_any(violation_ids))
        .order((
            violation_evidence::violation_id,
            violation_evidence::position,
        ))
        .select(Evidence::as_select())
        .load(conn)
}

/// One page of a subject's violations, in recording order.
pub fn violations_of_subject(
    conn: &mut DbConn,
    subject_id: &str,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<Violation>> {
    let mut query = violations::table
        .filter(violations::subject_id.eq(subject_id))
        .order(violations::id)
        .limit(limit)
        .select(Violation::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(violations::id.gt(after.to_owned()));
    }
    let found = query.load(conn);
    name_row(conn, "violations", found)
}

/// Every violation of a subject (for scoring).
pub fn all_violations_of_subject(conn: &mut DbConn, subject_id: &str) -> DbResult<Vec<Violation>> {
    let found = violations::table
        .filter(violations::subject_id.eq(subject_id))
        .order(violations::id)
        .select(Violation::as_select())
        .load(conn);
    name_row(conn, "violations", found)
}
