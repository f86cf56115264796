//! Subjects: anchors and merchants, their names, aliases, identifiers and
//! accounts. Resident ID numbers are kept only as a keyed hash and a masked
//! form; no answer, log line or audit entry holds the full number.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::page::{Page, PageRequest};
use super::{new_id, roles, Actor, Problems, ServiceError, ServiceResult};
use crate::db::audit::{self, Event};
use crate::db::registry::{
    self as store, NameKeyRow, Subject, SubjectAccount, SubjectName, SubjectRecord, SubjectSearch,
};
use crate::db::typed::Maybe;
use crate::db::{publication, write_tx, DbConn};
use crate::domain::identifiers::{self, Account, ResidentId, Uscc, ACCOUNT_KEYS_VERSION};
use crate::domain::names;
use crate::domain::registry::{
    check_region_code, clean_name, clean_text, SubjectKind, MAX_ACCOUNTS, MAX_ALIASES,
};
use crate::domain::scoring::{round_half_away_from_zero, Band, MAX_SCORE};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Platform name, e.g. `douyin`, `kuaishou`, `taobao`.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,32}$")]
    pub platform: String,
    /// The handle on that platform (a leading `@` is dropped).
    #[schema(
        pattern = r"^\s*@?[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8]{1,64}\s*$"
    )]
    pub handle: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubject {
    pub kind: SubjectKind,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub aliases: Vec<String>,
    /// 18-character resident ID (anchors only); stored only as a keyed hash and a masked form.
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
    /// 18-character unified social credit code (merchants only).
    #[schema(pattern = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$")]
    pub uscc: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub accounts: Vec<AccountInput>,
    #[schema(pattern = r"^([0-9]{6})?$")]
    pub region_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubject {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Replaces the aliases.
    #[schema(max_items = 20)]
    pub aliases: Option<Vec<String>>,
    /// Replaces the accounts.
    #[schema(max_items = 50)]
    pub accounts: Option<Vec<AccountInput>>,
    #[schema(pattern = r"^([0-9]{6})?$")]
    pub region_code: Option<String>,
    /// May be added where there was none; replacing one here → 409 (use the identifier change).
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
    /// May be added where there was none; replacing one here → 409 (use the identifier change).
    #[schema(pattern = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$")]
    pub uscc: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierType {
    IdNumber,
    Uscc,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeIdentifier {
    pub identifier: IdentifierType,
    /// The new value; null removes the identifier.
    #[schema(pattern = r"^[0-9A-Za-z]{18}$")]
    pub value: Option<String>,
    /// Why (kept in the audit log).
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub platform: String,
    pub handle: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectView {
    pub id: String,
    pub kind: SubjectKind,
    pub name: String,
    pub aliases: Vec<String>,
    /// First 4 and last 4 characters of the resident ID; the full number is never returned.
    pub id_number_masked: Option<String>,
    pub uscc: Option<String>,
    pub accounts: Vec<AccountView>,
    pub region_code: Option<String>,
    /// The stored current score (one decimal); `GET /v1/subjects/{id}/score` explains it.
    pub score: f64,
    pub band: Band,
    /// The date the stored score was computed for (null before any violation).
    pub score_as_of: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SubjectRecord> for SubjectView {
    fn from(r: SubjectRecord) -> Self {
        let s = r.subject;
        Self {
            kind: s.kind,
            id: s.id,
            name: s.name,
            aliases: r.aliases,
            id_number_masked: s.id_number_masked,
            uscc: s.uscc,
            accounts: r
                .accounts
                .into_iter()
                .map(|a| AccountView {
                    platform: a.platform,
                    handle: a.handle,
                })
                .collect(),
            region_code: s.region_code,
            score: round_half_away_from_zero(s.score, 1),
            band: s.band,
            score_as_of: s.score_as_of,
            created_by: s.created_by,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
        }
    }
}

/// What a subject search looks for.
#[derive(Debug, Clone, Default)]
pub struct SubjectFilter {
    /// Text in a name or alias, or a full resident ID, USCC or account handle.
    pub q: Option<String>,
    pub kind: Option<SubjectKind>,
}

/// A resident ID as stored: keyed hash and masked form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIdNumber {
    pub hash: String,
    pub masked: String,
}

impl StoredIdNumber {
    pub fn of(id: &ResidentId, pepper: &[u8]) -> Self {
        Self {
            hash: id.keyed_hash(pepper),
            masked: id.masked(),
        }
    }
}

fn parse_id_number(
    raw: &str,
    pepper: &[u8],
    field: &str,
    problems: &mut Problems,
) -> Option<StoredIdNumber> {
    let id = problems.check(field, ResidentId::parse(raw).map_err(|e| e.to_string()))?;
    Some(StoredIdNumber::of(&id, pepper))
}

fn parse_uscc(raw: &str, field: &str, problems: &mut Problems) -> Option<String> {
    problems.check(
        field,
        Uscc::parse(raw)
            .map(|u| u.as_str().to_owned())
            .map_err(|e| e.to_string()),
    )
}

fn parse_aliases(raw: &[String], name: &str, problems: &mut Problems) -> Vec<String> {
    if raw.len() > MAX_ALIASES {
        problems.add("aliases", format!("at most {MAX_ALIASES} aliases"));
        return Vec::new();
    }
    let mut aliases: Vec<String> = Vec::new();
    for (i, alias) in raw.iter().enumerate() {
        match clean_name(alias) {
            Ok(alias) if alias != name && !aliases.contains(&alias) => aliases.push(alias),
            Ok(_) => {}
            Err(m) => problems.add(format!("aliases[{i}]"), m),
        }
    }
    aliases
}

/// Platform accounts, checked and without duplicates; each bad one named.
pub fn parse_accounts(raw: &[AccountInput], field: &str, problems: &mut Problems) -> Vec<Account> {
    if raw.len() > MAX_ACCOUNTS {
        problems.add(field, format!("at most {MAX_ACCOUNTS} accounts"));
        return Vec::new();
    }
    let mut accounts: Vec<Account> = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        match Account::parse(&a.platform, &a.handle) {
            Ok(account) if !accounts.iter().any(|x| x.key() == account.key()) => {
                accounts.push(account)
            }
            Ok(_) => {}
            Err(e) => problems.add(format!("{field}[{i}]"), e.to_string()),
        }
    }
    accounts
}

/// The rows that say who a subject is, beside the subject row itself:
/// names (the name at position 0, then the aliases), the comparable keys of
/// each, and platform accounts. Built here for the use cases and demo-data alike.
#[derive(Debug, Clone, Default)]
pub struct IdentityRows {
    pub names: Vec<SubjectName>,
    pub name_keys: Vec<NameKeyRow>,
    pub accounts: Vec<SubjectAccount>,
}

pub fn name_rows(subject_id: &str, name: &str, aliases: &[String]) -> Vec<SubjectName> {
    std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .enumerate()
        .map(|(i, n)| SubjectName {
            subject_id: subject_id.to_owned(),
            position: i as i32,
            name: n.to_owned(),
        })
        .collect()
}

/// The comparable keys of a subject's names and aliases: `text` (simplified,
/// case-folded), `pinyin` (one toneless spelling per reading), `initials`
/// (first letters of the syllables, the coarse bucket for fuzzy matching)
/// and `pair` (two adjacent characters, for text within a Han name).
pub fn name_key_rows(subject_id: &str, names: &[SubjectName]) -> Vec<NameKeyRow> {
    let mut rows: Vec<NameKeyRow> = Vec::new();
    for name in names {
        let keys = names::name_keys(&name.name);
        let pairs = names::pairs(&keys.text).into_iter().map(|k| ("pair", k));
        let text = std::iter::once(("text", keys.text)).filter(|(_, k)| !k.is_empty());
        let pinyin = keys.pinyin.into_iter().map(|k| ("pinyin", k));
        let initials = keys.initials.into_iter().map(|k| ("initials", k));
        for (kind, key) in text.chain(pinyin).chain(initials).chain(pairs) {
            if !rows.iter().any(|r| r.key_kind == kind && r.name_key == key) {
                rows.push(NameKeyRow {
                    subject_id: subject_id.to_owned(),
                    key_kind: kind.to_owned(),
                    name_key: key,
                    position: name.position,
                });
            }
        }
    }
    rows
}

pub fn account_rows(subject_id: &str, accounts: &[Account]) -> Vec<SubjectAccount> {
    accounts
        .iter()
        .map(|a| SubjectAccount {
            subject_id: subject_id.to_owned(),
            account_key: a.key(),
            platform: a.platform().to_owned(),
            handle: a.handle().to_owned(),
        })
        .collect()
}

pub fn identity_rows(
    subject_id: &str,
    name: &str,
    aliases: &[String],
    accounts: &[Account],
) -> IdentityRows {
    let names = name_rows(subject_id, name, aliases);
    IdentityRows {
        name_keys: name_key_rows(subject_id, &names),
        names,
        accounts: account_rows(subject_id, accounts),
    }
}

/// A subject row as registered: full score, band A, no score computed yet.
#[allow(clippy::too_many_arguments)]
pub fn new_subject(
    id: String,
    kind: SubjectKind,
    name: String,
    region_code: Option<String>,
    id_number: Option<StoredIdNumber>,
    uscc: Option<String>,
    created_by: String,
    created_at: chrono::NaiveDateTime,
    policy_version: i32,
) -> Subject {
    Subject {
        id,
        kind,
        name,
        region_code,
        id_number_masked: id_number.as_ref().map(|i| i.masked.clone()),
        id_number_hash: id_number.map(|i| i.hash),
        uscc,
        created_by,
        created_at,
        updated_at: created_at,
        score: MAX_SCORE,
        band: Band::A,
        score_as_of: None,
        policy_version,
        shared_score: None,
        shared_band: Maybe(None),
        shared_violations: 0,
    }
}

fn duplicate(what: &str, existing: String) -> ServiceError {
    ServiceError::conflict_with(
        format!("another subject has this {what}"),
        [("existing_subject_id", existing.into())],
    )
}

/// 409 when another subject holds any of these identifiers or accounts.
fn check_unique(
    conn: &mut DbConn,
    subject_id: &str,
    id_number_hash: Option<&str>,
    uscc: Option<&str>,
    accounts: &[Account],
) -> ServiceResult<()> {
    if let Some(hash) = id_number_hash {
        if let Some(existing) =
            store::subject_id_by_id_number_hash(conn, hash)?.filter(|id| id != subject_id)
        {
            return Err(duplicate("id_number", existing));
        }
    }
    if let Some(uscc) = uscc {
        if let Some(existing) = store::subject_id_by_uscc(conn, uscc)?.filter(|id| id != subject_id)
        {
            return Err(duplicate("uscc", existing));
        }
    }
    let keys: Vec<String> = accounts.iter().map(Account::key).collect();
    if let Some((_, existing)) = store::subjects_by_account_keys(conn, &keys)?
        .into_iter()
        .find(|(_, id)| id != subject_id)
    {
        return Err(duplicate("account", existing));
    }
    Ok(())
}

/// The audit form of a subject: never the full resident ID.
fn audit_details(s: &Subject, aliases: &[String], accounts: &[Account]) -> Value {
    json!({
        "kind": s.kind, "name": s.name, "aliases": aliases, "region_code": s.region_code,
        "id_number_masked": s.id_number_masked, "uscc": s.uscc,
        "accounts": accounts.iter().map(Account::key).collect::<Vec<_>>(),
    })
}

/// The view of one subject; 404 when there is none.
pub fn view(conn: &mut DbConn, id: &str) -> ServiceResult<SubjectView> {
    store::find_subject_record(conn, id)?
        .map(SubjectView::from)
        .ok_or_else(|| ServiceError::not_found("no such subject"))
}

/// The subject, or 404.
pub fn find(conn: &mut DbConn, id: &str) -> ServiceResult<Subject> {
    store::find_subject(conn, id)?.ok_or_else(|| ServiceError::not_found("no such subject"))
}

/// Registers an anchor or merchant.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    pepper: &[u8],
    input: CreateSubject,
) -> ServiceResult<SubjectView> {
    let official = actor.staff(roles::REGULATORS)?;
    let mut problems = Problems::new();
    let name = problems
        .check("name", clean_name(&input.name))
        .unwrap_or_default();
    let aliases = parse_aliases(&input.aliases, &name, &mut problems);
    let accounts = parse_accounts(&input.accounts, "accounts", &mut problems);
    let id_number = match (&input.id_number, input.kind) {
        (Some(raw), kind) if kind.is_person() => {
            parse_id_number(raw, pepper, "id_number", &mut problems)
        }
        (Some(_), _) => {
            problems.add(
                "id_number",
                "only anchors have a resident ID; give a business's uscc",
            );
            None
        }
        (None, _) => None,
    };
    let uscc = match (&input.uscc, input.kind) {
        (Some(raw), kind) if !kind.is_person() => parse_uscc(raw, "uscc", &mut problems),
        (Some(_), _) => {
            problems.add(
                "uscc",
                "only businesses (merchants, live-room operators, MCNs) have a unified social credit code",
            );
            None
        }
        (None, _) => None,
    };
    let region_code = input
        .region_code
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if let Some(code) = &region_code {
        problems.check("region_code", check_region_code(code));
    }
    problems.finish(())?;
    let subject = new_subject(
        new_id(),
        input.kind,
        name,
        region_code,
        id_number,
        uscc,
        official.id.clone(),
        Utc::now().naive_utc(),
        1,
    );
    check_unique(
        conn,
        &subject.id,
        subject.id_number_hash.as_deref(),
        subject.uscc.as_deref(),
        &accounts,
    )?;
    let rows = identity_rows(&subject.id, &subject.name, &aliases, &accounts);
    store::insert_subject(conn, &subject)?;
    store::replace_names(conn, &subject.id, &rows.names, &rows.name_keys)?;
    store::replace_accounts(conn, &subject.id, &rows.accounts)?;
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "subject.created",
            target_type: "subject",
            target_id: &subject.id,
            details: audit_details(&subject, &aliases, &accounts),
        },
    )?;
    view(conn, &subject.id)
}

/// Searches subjects by text in names and aliases, or by a full identifier.
pub fn search(
    conn: &mut DbConn,
    actor: &Actor,
    pepper: &[u8],
    filter: &SubjectFilter,
    page: &PageRequest,
) -> ServiceResult<Page<SubjectView>> {
    actor.require(roles::READERS)?;
    let mut search = SubjectSearch {
        kind: filter.kind,
        ..Default::default()
    };
    if let Some(q) = &filter.q {
        super::check_query_text("q", q, 200)?;
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let keys = names::name_keys(q);
        search.text = Some(keys.text).filter(|t| !t.is_empty());
        search.pinyin = keys.pinyin;
        search.id_number_hash = ResidentId::parse(q).ok().map(|id| id.keyed_hash(pepper));
        search.uscc = Uscc::parse(q).ok().map(|u| u.as_str().to_owned());
        search.account_handle = Some(identifiers::handle_search_key(q));
    }
    let rows = store::search_subjects(conn, &search, page.after.as_deref(), page.fetch())?;
    let page = page.page(rows, |s| s.id.clone());
    Ok(Page {
        items: store::with_details(conn, page.items)?
            .into_iter()
            .map(SubjectView::from)
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// One subject: for staff who read the registry, and for the subject itself
/// in the portal (PIPL art. 45: access to one's own information).
pub fn get(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<SubjectView> {
    actor.require_reader_of(id)?;
    view(conn, id)
}

/// A change to the public fields of a listed subject changes the public list.
fn bump_if_published(conn: &mut DbConn, subject_id: &str) -> ServiceResult<()> {
    if publication::is_published(conn, subject_id, super::today())? {
        publication::bump(conn, 1)?;
    }
    Ok(())
}

/// Changes name, aliases, accounts or region, or adds a missing identifier.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    pepper: &[u8],
    id: &str,
    input: UpdateSubject,
) -> ServiceResult<SubjectView> {
    actor.require(roles::REGULATORS)?;
    let mut problems = Problems::new();
    let name = input
        .name
        .as_deref()
        .and_then(|n| problems.check("name", clean_name(n)));
    let accounts = input
        .accounts
        .as_deref()
        .map(|a| parse_accounts(a, "accounts", &mut problems));
    let id_number = input
        .id_number
        .as_deref()
        .and_then(|raw| parse_id_number(raw, pepper, "id_number", &mut problems));
    let uscc = input
        .uscc
        .as_deref()
        .and_then(|raw| parse_uscc(raw, "uscc", &mut problems));
    let region_code = input.region_code.map(|r| r.trim().to_owned());
    if let Some(code) = region_code.as_deref().filter(|r| !r.is_empty()) {
        problems.check("region_code", check_region_code(code));
    }
    problems.finish(())?;

    let record = store::find_subject_record(conn, id)?
        .ok_or_else(|| ServiceError::not_found("no such subject"))?;
    let mut subject = record.subject.clone();
    let mut changed = Vec::new();
    if let Some(name) = name.filter(|n| *n != subject.name) {
        subject.name = name;
        changed.push("name");
    }
    let aliases = match &input.aliases {
        Some(raw) => {
            changed.push("aliases");
            let mut problems = Problems::new();
            let aliases = parse_aliases(raw, &subject.name, &mut problems);
            problems.finish(aliases)?
        }
        None => record
            .aliases
            .iter()
            .filter(|a| **a != subject.name)
            .cloned()
            .collect(),
    };
    if let Some(region) = region_code {
        subject.region_code = Some(region).filter(|r| !r.is_empty());
        changed.push("region_code");
    }
    if let Some(new) = id_number {
        if !subject.kind.is_person() {
            return Err(ServiceError::invalid(
                "id_number",
                "only anchors have a resident ID",
            ));
        }
        match &subject.id_number_hash {
            Some(existing) if *existing == new.hash => {}
            Some(_) => {
                return Err(ServiceError::conflict(
                    "the subject already has a resident ID; replacing one is an identifier change with a reason (POST /v1/subjects/{id}/identifiers)",
                ))
            }
            None => {
                subject.id_number_hash = Some(new.hash);
                subject.id_number_masked = Some(new.masked);
                changed.push("id_number");
            }
        }
    }
    if let Some(new) = uscc {
        if subject.kind.is_person() {
            return Err(ServiceError::invalid(
                "uscc",
                "only businesses have a unified social credit code",
            ));
        }
        match &subject.uscc {
            Some(existing) if *existing == new => {}
            Some(_) => {
                return Err(ServiceError::conflict(
                    "the subject already has a USCC; replacing one is an identifier change with a reason (POST /v1/subjects/{id}/identifiers)",
                ))
            }
            None => {
                subject.uscc = Some(new);
                changed.push("uscc");
            }
        }
    }
    let account_list: Vec<Account> = match &accounts {
        Some(list) => {
            changed.push("accounts");
            list.clone()
        }
        None => record
            .accounts
            .iter()
            .filter_map(|a| Account::from_stored(&a.platform, &a.handle).ok())
            .collect(),
    };
    check_unique(
        conn,
        &subject.id,
        subject.id_number_hash.as_deref(),
        subject.uscc.as_deref(),
        &account_list,
    )?;
    subject.updated_at = Utc::now().naive_utc();
    store::update_subject(conn, &subject)?;
    bump_if_published(conn, &subject.id)?;
    let rows = identity_rows(&subject.id, &subject.name, &aliases, &account_list);
    store::replace_names(conn, &subject.id, &rows.names, &rows.name_keys)?;
    if accounts.is_some() {
        store::replace_accounts(conn, &subject.id, &rows.accounts)?;
    }
    let mut details = audit_details(&subject, &aliases, &account_list);
    details["changed"] = json!(changed);
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action: "subject.updated",
            target_type: "subject",
            target_id: &subject.id,
            details,
        },
    )?;
    view(conn, &subject.id)
}

/// Replaces or removes an identifier: an explicit, audited act with a reason.
pub fn change_identifier(
    conn: &mut DbConn,
    actor: &Actor,
    pepper: &[u8],
    id: &str,
    input: ChangeIdentifier,
) -> ServiceResult<SubjectView> {
    actor.require(roles::REGULATORS)?;
    let mut problems = Problems::new();
    let reason = problems
        .check("reason", clean_text(&input.reason, 1000))
        .unwrap_or_default();
    let id_number = match (input.identifier, &input.value) {
        (IdentifierType::IdNumber, Some(raw)) => {
            parse_id_number(raw, pepper, "value", &mut problems)
        }
        _ => None,
    };
    let uscc = match (input.identifier, &input.value) {
        (IdentifierType::Uscc, Some(raw)) => parse_uscc(raw, "value", &mut problems),
        _ => None,
    };
    problems.finish(())?;
    let mut subject = find(conn, id)?;
    let (before, after, name) = match input.identifier {
        IdentifierType::IdNumber => {
            if !subject.kind.is_person() {
                return Err(ServiceError::invalid(
                    "identifier",
                    "only anchors have a resident ID",
                ));
            }
            let before = subject.id_number_masked.clone();
            subject.id_number_masked = id_number.as_ref().map(|i| i.masked.clone());
            subject.id_number_hash = id_number.map(|i| i.hash);
            (before, subject.id_number_masked.clone(), "id_number")
        }
        IdentifierType::Uscc => {
            if subject.kind.is_person() {
                return Err(ServiceError::invalid(
                    "identifier",
                    "only businesses have a unified social credit code",
                ));
            }
            let before = subject.uscc.clone();
            subject.uscc = uscc;
            (before, subject.uscc.clone(), "uscc")
        }
    };
    check_unique(
        conn,
        &subject.id,
        subject.id_number_hash.as_deref(),
        subject.uscc.as_deref(),
        &[],
    )?;
    subject.updated_at = Utc::now().naive_utc();
    store::update_subject(conn, &subject)?;
    bump_if_published(conn, &subject.id)?;
    let action = if after.is_some() {
        "subject.identifier_replaced"
    } else {
        "subject.identifier_removed"
    };
    audit::append(
        conn,
        &actor.audit(),
        Event {
            action,
            target_type: "subject",
            target_id: &subject.id,
            details: json!({"identifier": name, "before": before, "after": after, "reason": reason}),
        },
    )?;
    view(conn, &subject.id)
}

// ---- re-keying the stored keys ----

/// Subjects per re-keying transaction: a few thousand, so that one batch
/// holds the write lock for well under a second.
const REKEY_BATCH: i64 = 2000;

/// The `deployment_checks` rows that record which version of the domain's
/// functions made the stored keys (absent: version 1, before they were recorded).
const NAME_KEYS_FACT: &str = "name_keys_version";
const ACCOUNT_KEYS_FACT: &str = "account_keys_version";

/// What a re-keying did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rekeying {
    pub subjects: u64,
    /// Subjects whose name keys were written again.
    pub names_rekeyed: u64,
    /// Accounts whose key and handle were written again.
    pub accounts_rekeyed: u64,
    /// Accounts removed because, normalised now, they are an account that a
    /// subject already holds (another subject's, or a duplicate of its own).
    pub accounts_merged: u64,
    /// Stored accounts that today's rules reject: kept as stored.
    pub accounts_kept_as_stored: u64,
}

fn keys_version(conn: &mut DbConn, fact: &str) -> ServiceResult<i32> {
    match crate::db::deployment_fact(conn, fact)? {
        None => Ok(1),
        Some(v) => v.trim().parse().map_err(|_| {
            ServiceError::internal(format!(
                "deployment_checks.{fact} holds {v:?}, which is not a version number"
            ))
        }),
    }
}

/// Brings the stored name keys (`subject_name_keys`) and account keys
/// (`subject_accounts.account_key` and `handle`) up to the domain's
/// functions, once per new version of them ([`names::NAME_KEYS_VERSION`],
/// [`ACCOUNT_KEYS_VERSION`]): screening compares a query's keys, computed
/// now, with the stored ones, so keys stored by an older version would miss.
/// Every subject's keys are computed again in batches of [`REKEY_BATCH`]
/// subjects, one transaction each; only the keys that differ are written, so
/// the run is idempotent and an interrupted one simply starts over. The
/// versions are recorded at the end. Returns `None` when the keys were
/// already current. Call at start, outside a transaction, before serving.
///
/// An account that, normalised now, is an account another subject already
/// holds (two handles that now fold to one) does not stop the start: the
/// subject that holds it keeps it (the one holding it under its current
/// form, else the first in id order, that is the first registered), the
/// other loses it, with a warning and an audit entry.
pub fn rekey_stored_keys(conn: &mut DbConn) -> ServiceResult<Option<Rekeying>> {
    let names_from = keys_version(conn, NAME_KEYS_FACT)?;
    let accounts_from = keys_version(conn, ACCOUNT_KEYS_FACT)?;
    for (what, from, to) in [
        ("name keys", names_from, names::NAME_KEYS_VERSION),
        ("account keys", accounts_from, ACCOUNT_KEYS_VERSION),
    ] {
        if from > to {
            tracing::warn!(
                stored = from,
                current = to,
                "the stored {what} were made by a newer livecredit; left as they are"
            );
        }
    }
    let names_due = names_from < names::NAME_KEYS_VERSION;
    let accounts_due = accounts_from < ACCOUNT_KEYS_VERSION;
    if !names_due && !accounts_due {
        return Ok(None);
    }
    let total = store::count_subjects(conn)?;
    // A new, empty registry only records the versions.
    let quiet = total == 0;
    if !quiet {
        tracing::info!(
            subjects = total,
            name_keys_from = names_from,
            name_keys_to = names::NAME_KEYS_VERSION,
            account_keys_from = accounts_from,
            account_keys_to = ACCOUNT_KEYS_VERSION,
            "re-keying the stored names and accounts"
        );
    }
    let started = Instant::now();
    let mut logged = started;
    let mut done = Rekeying::default();
    let mut after: Option<String> = None;
    loop {
        let next = write_tx(conn, |conn| -> ServiceResult<Option<String>> {
            crate::db::lock_for_rekeying(conn)?;
            let ids = store::subject_ids_after(conn, after.as_deref(), REKEY_BATCH)?;
            let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
                return Ok(None);
            };
            if names_due {
                done.names_rekeyed += rekey_names(conn, first, last)?;
            }
            if accounts_due {
                rekey_accounts(conn, first, last, &mut done)?;
            }
            done.subjects += ids.len() as u64;
            Ok(Some(last.clone()))
        })?;
        let Some(last) = next else { break };
        after = Some(last);
        if logged.elapsed() >= Duration::from_secs(10) {
            logged = Instant::now();
            tracing::info!(
                done = done.subjects,
                of = total,
                elapsed_s = started.elapsed().as_secs(),
                "re-keying the stored names and accounts"
            );
        }
    }
    write_tx(conn, |conn| -> ServiceResult<()> {
        crate::db::record_deployment_fact(
            conn,
            NAME_KEYS_FACT,
            &names_from.max(names::NAME_KEYS_VERSION).to_string(),
        )?;
        crate::db::record_deployment_fact(
            conn,
            ACCOUNT_KEYS_FACT,
            &accounts_from.max(ACCOUNT_KEYS_VERSION).to_string(),
        )?;
        if quiet {
            return Ok(());
        }
        audit::append(
            conn,
            &Actor::System.audit(),
            Event {
                action: "registry.rekeyed",
                target_type: "registry",
                target_id: "keys",
                details: json!({
                    "name_keys_version": {"from": names_from, "to": names::NAME_KEYS_VERSION},
                    "account_keys_version": {"from": accounts_from, "to": ACCOUNT_KEYS_VERSION},
                    "subjects": done.subjects,
                    "names_rekeyed": done.names_rekeyed,
                    "accounts_rekeyed": done.accounts_rekeyed,
                    "accounts_merged": done.accounts_merged,
                    "accounts_kept_as_stored": done.accounts_kept_as_stored,
                }),
            },
        )?;
        Ok(())
    })?;
    if quiet {
        return Ok(Some(done));
    }
    tracing::info!(
        subjects = done.subjects,
        names_rekeyed = done.names_rekeyed,
        accounts_rekeyed = done.accounts_rekeyed,
        accounts_merged = done.accounts_merged,
        accounts_kept_as_stored = done.accounts_kept_as_stored,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "re-keyed the stored names and accounts"
    );
    Ok(Some(done))
}

/// Computes the name keys of the subjects with ids in `first..=last` again
/// and writes those that differ; returns how many subjects changed.
fn rekey_names(conn: &mut DbConn, first: &str, last: &str) -> ServiceResult<u64> {
    type Key = (String, String, i32);
    let names = store::names_between(conn, first, last)?;
    let mut stored: HashMap<String, Vec<Key>> = HashMap::new();
    for row in store::name_keys_between(conn, first, last)? {
        stored
            .entry(row.subject_id)
            .or_default()
            .push((row.key_kind, row.name_key, row.position));
    }
    let mut changed = Vec::new();
    let mut rows = Vec::new();
    for subject_names in names.chunk_by(|a, b| a.subject_id == b.subject_id) {
        let subject_id = &subject_names[0].subject_id;
        let wanted = name_key_rows(subject_id, subject_names);
        let mut now: Vec<Key> = wanted
            .iter()
            .map(|r| (r.key_kind.clone(), r.name_key.clone(), r.position))
            .collect();
        now.sort();
        let mut before = stored.remove(subject_id).unwrap_or_default();
        before.sort();
        if now != before {
            changed.push(subject_id.clone());
            rows.extend(wanted);
        }
    }
    // Keys of a subject that has no names left (none should exist).
    changed.extend(stored.into_keys());
    store::replace_name_keys_of(conn, &changed, rows)?;
    Ok(changed.len() as u64)
}

/// Normalises the accounts of the subjects with ids in `first..=last` again
/// (see [`rekey_stored_keys`] for an account that two subjects now share).
fn rekey_accounts(
    conn: &mut DbConn,
    first: &str,
    last: &str,
    done: &mut Rekeying,
) -> ServiceResult<()> {
    let mut changes: Vec<(SubjectAccount, SubjectAccount)> = Vec::new();
    for stored in store::accounts_between(conn, first, last)? {
        match Account::from_stored(&stored.platform, &stored.handle) {
            Ok(a) if a.key() == stored.account_key && a.handle() == stored.handle => {}
            Ok(a) => {
                if let Some(now) = account_rows(&stored.subject_id, &[a]).pop() {
                    changes.push((stored, now));
                }
            }
            Err(e) => {
                tracing::warn!(
                    subject_id = %stored.subject_id,
                    account = %stored.account_key,
                    error = %e,
                    "a stored account does not pass today's rules; kept as stored"
                );
                done.accounts_kept_as_stored += 1;
            }
        }
    }
    if changes.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = changes
        .iter()
        .map(|(_, now)| now.account_key.clone())
        .collect();
    let mut holders: HashMap<String, String> = store::subjects_by_account_keys(conn, &keys)?
        .into_iter()
        .collect();
    let mut touched = BTreeSet::new();
    for (stored, now) in changes {
        touched.insert(stored.subject_id.clone());
        let Some(holder) = holders.get(&now.account_key) else {
            store::rekey_account(conn, &stored.account_key, &now)?;
            holders.insert(now.account_key, now.subject_id);
            done.accounts_rekeyed += 1;
            continue;
        };
        store::delete_account(conn, &stored.subject_id, &stored.account_key)?;
        done.accounts_merged += 1;
        if *holder == stored.subject_id {
            tracing::info!(
                subject_id = %stored.subject_id,
                account = %now.account_key,
                "a subject held one account twice, in two forms; kept once"
            );
            continue;
        }
        tracing::warn!(
            subject_id = %stored.subject_id,
            account = %now.account_key,
            kept_by = %holder,
            "an account now normalised to one that another subject holds: that subject keeps it, \
             this one loses it (see the audit entry)"
        );
        audit::append(
            conn,
            &Actor::System.audit(),
            Event {
                action: "subject.account_removed",
                target_type: "subject",
                target_id: &stored.subject_id,
                details: json!({
                    "account": now.account_key,
                    "stored_as": stored.account_key,
                    "kept_by_subject_id": holder,
                    "reason": "after width and case folding another subject holds this account",
                }),
            },
        )?;
    }
    for subject_id in touched {
        bump_if_published(conn, &subject_id)?;
    }
    Ok(())
}
