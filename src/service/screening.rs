//! Screening for platforms: who matches a query (by identifier or by name),
//! what that means (the decision policy of `domain::screening`), and the
//! record of every answer, committed before the answer is given.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use utoipa::ToSchema;

use super::index::{KeyKind, Live, State};
use super::page::{Page, PageRequest};
use super::subjects::AccountInput;
use super::{new_id, roles, Actor, Problems, ServiceError, ServiceResult, Staff};
use crate::db::audit::{self, AuditActor, Event};
use crate::db::screening::{self as store, ScreeningRecord, SubjectSummary};
use crate::db::watch::{self as watch_store, Watch};
use crate::db::{events, DbConn, DbError, ReadDb};
use crate::domain::identifiers::{Account, ResidentId, Uscc};
use crate::domain::names::{self, NameKeys, MATCH_THRESHOLD};
use crate::domain::registry::SubjectKind;
use crate::domain::relations::RelationKind;
use crate::domain::scoring::{round_half_away_from_zero, Band};
use crate::domain::screening::{decide, shows_name_only_match, Decision, MatchFacts};
use crate::infra::group_commit::{CommitError, GroupCommit};
use crate::infra::rate_limit::KeyedLimiter;

/// Most items in one batch.
pub const MAX_BATCH: usize = 1000;
/// Most name-only matches shown for one query.
const MAX_NAME_MATCHES: usize = 20;
/// Name-key rows fetched per query and key kind (exact keys).
const CANDIDATES_PER_QUERY: usize = 500;
/// Subjects sharing only the syllable initials compared per query.
const FUZZY_CANDIDATES_PER_QUERY: usize = 100;
/// Most screening records committed together.
pub const GROUP_MAX_RECORDS: usize = 5000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningRequest {
    /// A person's or shop's name: Han characters (traditional or simplified) or pinyin.
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// 18-character resident ID.
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
    /// 18-character unified social credit code.
    #[schema(pattern = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$")]
    pub uscc: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub accounts: Vec<AccountInput>,
    /// Add the subjects matched by identifier to the organization's watchlist.
    #[serde(default)]
    pub watch: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 1,000 items, each shaped as a single screening.
    #[schema(min_items = 1, max_items = 1000)]
    pub items: Vec<ScreeningRequest>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActiveListingView {
    pub listing_id: String,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatchView {
    pub subject_id: String,
    pub name: String,
    pub kind: SubjectKind,
    /// `id_number`, `uscc`, `account`, `name`, `alias`.
    pub matched_on: Vec<String>,
    /// The stored names or aliases the query's name matched.
    pub matched_names: Vec<String>,
    /// 1 for an identifier match; name similarity in 0–1 otherwise.
    pub confidence: f64,
    /// 0–100, one decimal, from the penalties platforms may be shown: decided,
    /// not revoked, not repaired, inside their publication period (Order 45);
    /// `null` when there are none.
    pub score: Option<f64>,
    /// From the same penalties; `null` when there are none.
    pub band: Option<Band>,
    /// How many penalties the score comes from.
    pub violations: i32,
    pub active_listings: Vec<ActiveListingView>,
    /// Listings in force of the subject's current related parties (its MCN,
    /// employer, the merchant whose room it runs: Order 117).
    pub related_listings: Vec<RelatedListingView>,
}

/// A listing in force of a related party of a matched subject.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RelatedListingView {
    /// The related party.
    pub subject_id: String,
    pub name: String,
    pub kind: SubjectKind,
    /// How the matched subject is bound to it.
    pub relation: RelationKind,
    pub listing_id: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreeningResult {
    pub screening_id: String,
    pub screened_at: DateTime<Utc>,
    /// The public list version the answer was computed at.
    pub list_version: i64,
    pub decision: Decision,
    pub matches: Vec<MatchView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResult {
    /// In the order of the request's items.
    pub results: Vec<ScreeningResult>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScreeningRecordView {
    pub screening_id: String,
    pub batch_id: Option<String>,
    pub screened_at: DateTime<Utc>,
    /// The platform that screened.
    pub organization_id: String,
    pub user_id: String,
    /// Keyed hash of the normalised query.
    pub query_fingerprint: String,
    pub decision: String,
    pub list_version: i64,
    pub matched_subject_ids: Vec<String>,
}

/// One screening query, parsed and normalised.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub name: Option<NameKeys>,
    pub id_number_hash: Option<String>,
    pub uscc: Option<String>,
    pub account_keys: Vec<String>,
    /// Watch the subjects this query matches by identifier.
    pub watch: bool,
}

impl Query {
    /// A keyed hash of the normalised query: the same query gives the same
    /// fingerprint, and no raw ID number can be read back from it.
    pub fn fingerprint(&self, pepper: &[u8]) -> String {
        let canonical = json!({
            "name": self.name.as_ref().map(|n| &n.text),
            "id_number_hash": self.id_number_hash,
            "uscc": self.uscc,
            "accounts": self.account_keys,
        });
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(pepper) else {
            unreachable!("HMAC-SHA256 accepts keys of any length")
        };
        mac.update(canonical.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Parses one request item; `prefix` names its place in a batch (`items[3].`).
    pub fn parse(
        req: &ScreeningRequest,
        prefix: &str,
        pepper: &[u8],
        problems: &mut Problems,
    ) -> Query {
        let field = |name: &str| format!("{prefix}{name}");
        let mut query = Query {
            watch: req.watch,
            ..Default::default()
        };
        if let Some(name) = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            if name.chars().count() > 200 {
                problems.add(field("name"), "must be at most 200 characters");
            } else {
                let keys = names::name_keys(name);
                if keys.text.is_empty() && keys.pinyin.is_empty() {
                    problems.add(field("name"), "has no letters or characters to match");
                } else {
                    query.name = Some(keys);
                }
            }
        }
        if let Some(raw) = &req.id_number {
            match ResidentId::parse(raw) {
                Ok(id) => query.id_number_hash = Some(id.keyed_hash(pepper)),
                Err(e) => problems.add(field("id_number"), e.to_string()),
            }
        }
        if let Some(raw) = &req.uscc {
            match Uscc::parse(raw) {
                Ok(code) => query.uscc = Some(code.as_str().to_owned()),
                Err(e) => problems.add(field("uscc"), e.to_string()),
            }
        }
        if req.accounts.len() > 50 {
            problems.add(field("accounts"), "at most 50 accounts");
        }
        for (i, a) in req.accounts.iter().take(50).enumerate() {
            match Account::parse(&a.platform, &a.handle) {
                Ok(account) => query.account_keys.push(account.key()),
                Err(e) => problems.add(format!("{}[{i}]", field("accounts")), e.to_string()),
            }
        }
        if query.name.is_none()
            && query.id_number_hash.is_none()
            && query.uscc.is_none()
            && query.account_keys.is_empty()
            && problems.is_empty()
        {
            problems.add(
                if prefix.is_empty() {
                    "body".to_owned()
                } else {
                    prefix.trim_end_matches('.').to_owned()
                },
                "give at least one of name, id_number, uscc, accounts",
            );
        }
        query
    }
}

/// A subject that matched, and why.
#[derive(Debug, Clone)]
pub struct Match {
    pub subject: SubjectSummary,
    /// `id_number`, `uscc`, `account`, `name`, `alias`.
    pub matched_on: Vec<&'static str>,
    /// The stored names or aliases the query's name matched.
    pub matched_names: Vec<String>,
    pub confidence: f64,
    pub active_listings: Vec<ActiveListingView>,
    pub related_listings: Vec<RelatedListingView>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub matches: Vec<Match>,
}

/// For each query, by its position: subject → (best confidence, matched
/// names, matched an alias?).
type NameMatches = Vec<HashMap<String, (f64, Vec<String>, bool)>>;

/// What the database said of the subjects outside the index that the
/// queries' identifiers name, and which identifiers it was asked about.
#[derive(Debug, Clone, Default)]
pub struct Looked {
    asked: HashSet<(IdentifierKind, String)>,
    by_key: HashMap<(IdentifierKind, String), String>,
    subjects: HashMap<String, SubjectSummary>,
    /// Their names, when a query had a name to compare: (position, name).
    names: HashMap<String, Vec<(i32, String)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IdentifierKind {
    IdNumber,
    Uscc,
    Account,
}

impl IdentifierKind {
    fn reason(self) -> &'static str {
        match self {
            IdentifierKind::IdNumber => "id_number",
            IdentifierKind::Uscc => "uscc",
            IdentifierKind::Account => "account",
        }
    }
}

impl Query {
    fn identifiers(&self) -> impl Iterator<Item = (IdentifierKind, &String)> {
        self.id_number_hash
            .iter()
            .map(|h| (IdentifierKind::IdNumber, h))
            .chain(self.uscc.iter().map(|u| (IdentifierKind::Uscc, u)))
            .chain(
                self.account_keys
                    .iter()
                    .map(|k| (IdentifierKind::Account, k)),
            )
    }
}

fn in_index(index: &State, kind: IdentifierKind, key: &str) -> Option<String> {
    match kind {
        IdentifierKind::IdNumber => index.by_id_number_hash(key),
        IdentifierKind::Uscc => index.by_uscc(key),
        IdentifierKind::Account => index.by_account(key),
    }
    .map(str::to_owned)
}

/// The identifiers of `queries` that neither the index nor the database
/// (as far as `looked` has asked it) has placed yet.
fn unplaced(index: &State, queries: &[Query], looked: &Looked) -> Vec<(IdentifierKind, String)> {
    let mut keys: Vec<(IdentifierKind, String)> = queries
        .iter()
        .flat_map(Query::identifiers)
        .filter(|(kind, key)| {
            in_index(index, *kind, key).is_none()
                && !looked.asked.contains(&(*kind, (*key).clone()))
        })
        .map(|(kind, key)| (kind, key.clone()))
        .collect();
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    keys.dedup();
    keys
}

/// Asks the database who holds `keys` (one query per kind of identifier
/// present, and one for the names when a query has a name).
fn look_up(
    conn: &mut DbConn,
    keys: &[(IdentifierKind, String)],
    with_names: bool,
    looked: &mut Looked,
) -> Result<(), DbError> {
    let of = |kind: IdentifierKind| -> Vec<String> {
        keys.iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, key)| key.clone())
            .collect()
    };
    let (hashes, codes, accounts) = (
        of(IdentifierKind::IdNumber),
        of(IdentifierKind::Uscc),
        of(IdentifierKind::Account),
    );
    let mut found: Vec<String> = Vec::new();
    for s in store::by_identifiers(conn, &hashes, &codes)? {
        let id = s.summary.id.clone();
        if let Some(h) = s.id_number_hash.filter(|h| hashes.contains(h)) {
            looked
                .by_key
                .insert((IdentifierKind::IdNumber, h), id.clone());
        }
        if let Some(u) = s.uscc.filter(|u| codes.contains(u)) {
            looked.by_key.insert((IdentifierKind::Uscc, u), id.clone());
        }
        found.push(id.clone());
        looked.subjects.insert(id, s.summary);
    }
    for (key, s) in store::by_account_keys(conn, &accounts)? {
        let id = s.summary.id.clone();
        looked
            .by_key
            .insert((IdentifierKind::Account, key), id.clone());
        found.push(id.clone());
        looked.subjects.insert(id, s.summary);
    }
    if with_names {
        found.retain(|id| !looked.names.contains_key(id));
        found.sort();
        found.dedup();
        for id in &found {
            looked.names.insert(id.clone(), Vec::new());
        }
        for (subject, position, name) in store::names_of(conn, &found)? {
            looked
                .names
                .entry(subject)
                .or_default()
                .push((position, name));
        }
    }
    looked.asked.extend(keys.iter().cloned());
    Ok(())
}

/// The subject an identifier names: the index's, else the database's.
fn placed(index: &State, looked: &Looked, kind: IdentifierKind, key: &str) -> Option<String> {
    in_index(index, kind, key).or_else(|| looked.by_key.get(&(kind, key.to_owned())).cloned())
}

/// Name candidates of one query, from the index (the subjects whose name
/// alone can matter: see `service::index`) sharing a whole pinyin spelling
/// or the simplified text; if none, those with a pinyin spelling one slip
/// away from a name that does not read as pinyin (`names::near_spellings`);
/// if none, those sharing the syllable initials, to catch near misses such
/// as typos.
fn name_candidates(index: &State, keys: &NameKeys) -> Vec<String> {
    let take = |kind: KeyKind, wanted: &[String], cap: usize| -> Vec<String> {
        wanted
            .iter()
            .flat_map(|k| index.with_key(kind, k))
            .take(cap)
            .map(|id| id.to_string())
            .collect()
    };
    let mut ids = take(KeyKind::Pinyin, &keys.pinyin, CANDIDATES_PER_QUERY);
    if !keys.text.is_empty() {
        ids.extend(take(
            KeyKind::Text,
            std::slice::from_ref(&keys.text),
            CANDIDATES_PER_QUERY,
        ));
    }
    if ids.is_empty() {
        ids = take(
            KeyKind::Pinyin,
            &names::near_spellings(keys),
            FUZZY_CANDIDATES_PER_QUERY,
        );
    }
    if ids.is_empty() {
        ids = take(
            KeyKind::Initials,
            &keys.initials,
            FUZZY_CANDIDATES_PER_QUERY,
        );
    }
    ids
}

/// Compares each named query with its candidates and with the subjects its
/// own identifiers matched, each distinct stored name once.
fn name_stage<'a>(
    index: &'a State,
    looked: &'a Looked,
    queries: &[Query],
    identified: &[Vec<String>],
) -> NameMatches {
    let mut matches: NameMatches = vec![HashMap::new(); queries.len()];
    // A stored name's keys, worked out once per batch: the queries of a
    // batch share candidates (namesakes, common given names).
    let mut keys_of: HashMap<&str, NameKeys> = HashMap::new();
    for (i, query) in queries.iter().enumerate() {
        let Some(query_keys) = &query.name else {
            continue;
        };
        let mut ids = name_candidates(index, query_keys);
        ids.extend(identified[i].iter().cloned());
        ids.sort();
        ids.dedup();
        let mut memo: HashMap<String, f64> = HashMap::new();
        for subject_id in &ids {
            let mut compare = |position: i32, name: &'a str| {
                let confidence = *memo.entry(name.to_owned()).or_insert_with(|| {
                    let keys = keys_of
                        .entry(name)
                        .or_insert_with(|| names::name_keys(name));
                    names::similarity(query_keys, keys)
                });
                if confidence < MATCH_THRESHOLD {
                    return;
                }
                let entry =
                    matches[i]
                        .entry(subject_id.clone())
                        .or_insert((0.0, Vec::new(), false));
                entry.0 = entry.0.max(confidence);
                entry.1.push(name.to_owned());
                entry.2 |= position > 0;
            };
            if let Some(entry) = index.entry(subject_id) {
                for n in &entry.names {
                    compare(n.position, &n.name);
                }
            } else if let Some(found) = looked.names.get(subject_id) {
                for (position, name) in found {
                    compare(*position, name);
                }
            }
        }
    }
    matches
}

/// Screens a batch against one version of the index (and what the database
/// said of the subjects outside it): no query of its own. Returns the list
/// version the answers were computed at.
pub fn screen(
    index: &State,
    looked: &Looked,
    queries: &[Query],
    today: NaiveDate,
) -> (i64, Vec<Outcome>) {
    let list_version = index.list_version(today);
    let summary = |id: &str| -> Option<SubjectSummary> {
        index
            .entry(id)
            .map(|e| e.summary.clone())
            .or_else(|| looked.subjects.get(id).cloned())
    };
    let active = |id: &str| -> Vec<ActiveListingView> {
        index
            .entry(id)
            .map(|e| {
                e.in_force(today)
                    .map(|l| ActiveListingView {
                        listing_id: l.id.to_string(),
                        listed_on: l.listed_on,
                        expires_on: l.expires_on,
                        reason: l.reason.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let related_listings = |id: &str| -> Vec<RelatedListingView> {
        let Some(entry) = index.entry(id) else {
            return Vec::new();
        };
        let mut found: Vec<RelatedListingView> = entry
            .holding(today)
            .filter_map(|r| index.entry(&r.party).map(|p| (r, p)))
            .flat_map(|(r, party)| {
                party.in_force(today).map(move |l| RelatedListingView {
                    subject_id: party.summary.id.clone(),
                    name: party.summary.name.clone(),
                    kind: party.summary.kind,
                    relation: r.relation,
                    listing_id: l.id.to_string(),
                })
            })
            .collect();
        found.sort_by(|a, b| a.listing_id.cmp(&b.listing_id));
        found
    };
    let by_identifier: Vec<Vec<(String, &'static str)>> = queries
        .iter()
        .map(|q| {
            q.identifiers()
                .filter_map(|(kind, key)| {
                    placed(index, looked, kind, key).map(|id| (id, kind.reason()))
                })
                .collect()
        })
        .collect();
    let identified: Vec<Vec<String>> = by_identifier
        .iter()
        .map(|found| found.iter().map(|(id, _)| id.clone()).collect())
        .collect();
    let name_matches = name_stage(index, looked, queries, &identified);

    let outcomes = by_identifier
        .into_iter()
        .enumerate()
        .map(|(i, found)| {
            let mut by_subject: Vec<(String, Vec<&'static str>)> = Vec::new();
            for (id, why) in found {
                match by_subject.iter_mut().find(|(s, _)| *s == id) {
                    Some((_, reasons)) => reasons.push(why),
                    None => by_subject.push((id, vec![why])),
                }
            }
            let mut matches: Vec<Match> = Vec::new();
            for (subject_id, mut reasons) in by_subject {
                reasons.dedup();
                let Some(subject) = summary(&subject_id) else {
                    continue;
                };
                let mut matched_names = Vec::new();
                if let Some((_, names, alias)) = name_matches[i].get(&subject_id) {
                    reasons.push(if *alias && !names.contains(&subject.name) {
                        "alias"
                    } else {
                        "name"
                    });
                    matched_names = names.clone();
                }
                matches.push(Match {
                    active_listings: active(&subject_id),
                    related_listings: related_listings(&subject_id),
                    subject,
                    matched_on: reasons,
                    matched_names,
                    confidence: 1.0,
                });
            }
            let identified_count = matches.len();
            let mut name_only: Vec<Match> = name_matches[i]
                .iter()
                .filter(|(id, _)| !matches.iter().any(|m| m.subject.id == **id))
                .filter_map(|(id, (confidence, names, alias))| {
                    let active = active(id);
                    let related = related_listings(id);
                    if !shows_name_only_match(!active.is_empty(), *confidence)
                        && (related.is_empty() || *confidence < MATCH_THRESHOLD)
                    {
                        return None;
                    }
                    let subject = summary(id)?;
                    let why = if *alias && !names.contains(&subject.name) {
                        "alias"
                    } else {
                        "name"
                    };
                    Some(Match {
                        subject,
                        matched_on: vec![why],
                        matched_names: names.clone(),
                        confidence: (*confidence * 1000.0).round() / 1000.0,
                        active_listings: active,
                        related_listings: related,
                    })
                })
                .collect();
            name_only.sort_by(|a, b| {
                b.confidence
                    .total_cmp(&a.confidence)
                    .then_with(|| a.subject.id.cmp(&b.subject.id))
            });
            name_only.truncate(MAX_NAME_MATCHES);
            matches.extend(name_only);
            let facts: Vec<MatchFacts> = matches
                .iter()
                .enumerate()
                .map(|(n, m)| MatchFacts {
                    by_identifier: n < identified_count,
                    listed: !m.active_listings.is_empty(),
                    band: m.subject.band.0,
                    related_listed: !m.related_listings.is_empty(),
                    confidence: m.confidence,
                })
                .collect();
            Outcome {
                decision: decide(&facts),
                matches,
            }
        })
        .collect();
    (list_version, outcomes)
}

/// Screens parsed queries against the instance's index: the identifiers
/// the index does not hold are looked up in the database first (one round
/// trip), then the whole batch is answered under one read of the index.
pub async fn screen_live(
    live: &Live,
    db: &ReadDb,
    queries: Arc<Vec<Query>>,
    today: NaiveDate,
) -> ServiceResult<(i64, Vec<Outcome>)> {
    let with_names = queries.iter().any(|q| q.name.is_some());
    let mut looked = Looked::default();
    // The index may move between the look-up and the answer; an identifier
    // it dropped meanwhile is looked up again (rarely more than once).
    for _ in 0..5 {
        let missing = unplaced(&*live.current().await?, &queries, &looked);
        if missing.is_empty() {
            break;
        }
        let so_far = Arc::new(std::mem::take(&mut looked));
        looked = db
            .run(move |conn| -> ServiceResult<Looked> {
                let mut more = (*so_far).clone();
                look_up(conn, &missing, with_names, &mut more)?;
                Ok(more)
            })
            .await?;
        let index = live.read();
        if unplaced(&index, &queries, &looked).is_empty() {
            return Ok(screen(&index, &looked, &queries, today));
        }
    }
    let index = live.read();
    Ok(screen(&index, &looked, &queries, today))
}

fn result_view(
    outcome: Outcome,
    id: String,
    at: DateTime<Utc>,
    list_version: i64,
) -> ScreeningResult {
    ScreeningResult {
        screening_id: id,
        screened_at: at,
        list_version,
        decision: outcome.decision,
        matches: outcome
            .matches
            .into_iter()
            .map(|m| MatchView {
                subject_id: m.subject.id,
                name: m.subject.name,
                kind: m.subject.kind,
                matched_on: m.matched_on.into_iter().map(str::to_owned).collect(),
                matched_names: m.matched_names,
                confidence: m.confidence,
                score: m.subject.score.map(|s| round_half_away_from_zero(s, 1)),
                band: m.subject.band.0,
                violations: m.subject.violations,
                active_listings: m.active_listings,
                related_listings: m.related_listings,
            })
            .collect(),
    }
}

// ---- recording ----

/// What one request asks the writer to commit: its records (and watches),
/// each screening with its audit entry.
pub struct RecordJob {
    pub actor: AuditActor,
    pub records: Vec<ScreeningRecord>,
    pub watches: Vec<Watch>,
}

/// The writer of screening records.
pub type RecordWriter = GroupCommit<RecordJob>;

/// Starts the writer of screening records.
pub fn start_writer(db: crate::db::Db) -> std::io::Result<RecordWriter> {
    GroupCommit::start(
        db,
        "screening recorder",
        record_group,
        |job: &RecordJob| job.records.len(),
        GROUP_MAX_RECORDS,
    )
}

/// Writes the records, watches and audit entries of a group of requests
/// (inside the writer's transaction).
pub fn record_group(conn: &mut DbConn, jobs: &[&RecordJob]) -> Result<(), DbError> {
    let records: Vec<ScreeningRecord> = jobs
        .iter()
        .flat_map(|j| j.records.iter().cloned())
        .collect();
    store::insert_screenings(conn, records)?;
    let head = events::head(conn)?;
    for job in jobs {
        for watch in &job.watches {
            if watch_store::find_watch_of_subject(conn, &watch.organization_id, &watch.subject_id)?
                .is_none()
            {
                watch_store::insert_watch(
                    conn,
                    &Watch {
                        since_seq: head,
                        ..watch.clone()
                    },
                )?;
            }
        }
    }
    let entries = jobs.iter().flat_map(|job| {
        job.records.iter().map(move |r| {
            (
                job.actor.clone(),
                Event {
                    action: "screening.performed",
                    target_type: "screening",
                    target_id: &r.id,
                    details: json!({"decision": r.decision, "query_fingerprint": r.query_fingerprint,
                        "list_version": r.list_version, "batch_id": r.batch_id,
                        "matched_subject_ids": serde_json::from_str::<serde_json::Value>(&r.matched_subject_ids).unwrap_or_default()}),
                },
            )
        })
    });
    audit::append_each(conn, entries)?;
    Ok(())
}

fn commit_failed(e: CommitError) -> ServiceError {
    match e {
        CommitError::Saturated(_) | CommitError::Failed { .. } => {
            tracing::warn!(error = %e, "recording screenings failed");
            ServiceError::Unavailable(None)
        }
        CommitError::Stopped(_) => ServiceError::Internal(anyhow::Error::new(e)),
    }
}

/// Each platform organization's screening rate (`LIVECREDIT_RATE_LIMIT_PER_ORG`
/// a second, bursts of twice that), so that one platform cannot starve the others.
pub struct ScreeningLimits(KeyedLimiter<String>);

impl ScreeningLimits {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32) -> Self {
        Self(KeyedLimiter::per_second(per_second))
    }

    /// Forgets organizations idle long enough to have their whole burst back.
    pub fn retain_recent(&self) {
        self.0.retain_recent();
    }
}

/// Checks the organization's screening rate; a batch costs what its items
/// would, up to the whole burst.
pub fn rate_limit(limits: &ScreeningLimits, platform: &Staff, cost: usize) -> ServiceResult<()> {
    let cost = u32::try_from(cost).unwrap_or(u32::MAX);
    limits
        .0
        .check(&platform.organization_id, cost)
        .map_err(|retry_after_secs| ServiceError::RateLimited {
            detail: "this organization's screening rate limit is exhausted; retry after the Retry-After seconds".into(),
            retry_after_secs,
        })
}

/// A batch holds 1 to [`MAX_BATCH`] items.
pub fn check_batch(items: &[ScreeningRequest]) -> ServiceResult<()> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ServiceError::invalid(
            "items",
            format!("give 1 to {MAX_BATCH} items"),
        ));
    }
    Ok(())
}

/// Parses the items of a batch (or a single screening, as a batch of one).
pub fn parse_queries(
    items: &[ScreeningRequest],
    batch: bool,
    pepper: &[u8],
) -> ServiceResult<Vec<Query>> {
    if batch {
        check_batch(items)?;
    }
    let mut problems = Problems::new();
    let queries = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let prefix = if batch {
                format!("items[{i}].")
            } else {
                String::new()
            };
            Query::parse(item, &prefix, pepper, &mut problems)
        })
        .collect();
    problems.finish(queries)
}

/// What screening reads and writes with: the instance's index, the
/// database (for identifiers outside the index) and the record writer.
pub struct Screener<'a> {
    pub live: &'a Live,
    pub db: &'a ReadDb,
    pub writer: &'a RecordWriter,
}

/// A platform's screening of `items`, one by one or as a batch (one
/// `batch_id`): every door's limits, parsing, answers and records.
pub async fn screen_items(
    with: &Screener<'_>,
    limits: &ScreeningLimits,
    actor: &Actor,
    pepper: &[u8],
    items: &[ScreeningRequest],
    batch: bool,
) -> ServiceResult<Vec<ScreeningResult>> {
    let platform = actor.staff(roles::PLATFORMS)?;
    if batch {
        check_batch(items)?;
    }
    // A batch costs what its items would cost one by one, up to a burst.
    rate_limit(limits, platform, items.len())?;
    let queries = parse_queries(items, batch, pepper)?;
    screen_and_record(with, actor, pepper, queries, batch.then(new_id)).await
}

/// Screens parsed queries, records every answer (and watch) and returns
/// the answers. Nothing is answered before its record has committed.
pub async fn screen_and_record(
    with: &Screener<'_>,
    actor: &Actor,
    pepper: &[u8],
    queries: Vec<Query>,
    batch_id: Option<String>,
) -> ServiceResult<Vec<ScreeningResult>> {
    let platform = actor.staff(roles::PLATFORMS)?;
    let today = super::today();
    let fingerprints: Vec<String> = queries.iter().map(|q| q.fingerprint(pepper)).collect();
    let watch_flags: Vec<bool> = queries.iter().map(|q| q.watch).collect();
    let (list_version, outcomes) =
        screen_live(with.live, with.db, Arc::new(queries), today).await?;
    let at = Utc::now().trunc_subsecs(6);
    let mut records = Vec::with_capacity(outcomes.len());
    let mut watches: Vec<Watch> = Vec::new();
    for (position, outcome) in outcomes.iter().enumerate() {
        let matched: Vec<&str> = outcome
            .matches
            .iter()
            .map(|m| m.subject.id.as_str())
            .collect();
        records.push(ScreeningRecord {
            id: new_id(),
            batch_id: batch_id.clone(),
            position: position as i32,
            organization_id: platform.organization_id.clone(),
            user_id: platform.id.clone(),
            screened_at: at.naive_utc(),
            query_fingerprint: fingerprints[position].clone(),
            decision: outcome.decision,
            list_version,
            matched_subject_ids: json!(matched).to_string(),
        });
        if watch_flags[position] {
            for m in outcome.matches.iter().filter(|m| m.confidence >= 1.0) {
                if !watches.iter().any(|w| w.subject_id == m.subject.id) {
                    watches.push(Watch {
                        id: new_id(),
                        organization_id: platform.organization_id.clone(),
                        subject_id: m.subject.id.clone(),
                        external_ref: None,
                        created_by: platform.id.clone(),
                        created_at: at.naive_utc(),
                        since_seq: 0,
                    });
                }
            }
        }
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    with.writer
        .commit(RecordJob {
            actor: actor.audit(),
            records,
            watches,
        })
        .await
        .map_err(commit_failed)?;
    Ok(outcomes
        .into_iter()
        .zip(ids)
        .map(|(o, id)| result_view(o, id, at, list_version))
        .collect())
}

fn record_view(r: ScreeningRecord) -> ScreeningRecordView {
    ScreeningRecordView {
        matched_subject_ids: serde_json::from_str(&r.matched_subject_ids).unwrap_or_default(),
        screening_id: r.id,
        batch_id: r.batch_id,
        screened_at: r.screened_at.and_utc(),
        organization_id: r.organization_id,
        user_id: r.user_id,
        query_fingerprint: r.query_fingerprint,
        decision: r.decision.as_str().to_owned(),
        list_version: r.list_version,
    }
}

/// Screening history, oldest first: a platform's own; for admins and
/// auditors every platform's, or that of `organization_id` (how a regulator
/// checks that platforms screened before onboarding, Order 117).
pub fn history(
    conn: &mut DbConn,
    actor: &Actor,
    organization_id: Option<&str>,
    page: &PageRequest,
) -> ServiceResult<Page<ScreeningRecordView>> {
    let scope = actor.platform_records(organization_id)?;
    let rows = store::list_screenings(
        conn,
        scope.organization(),
        page.after.as_deref(),
        page.fetch(),
    )?;
    Ok(page.page(rows, |r| r.id.clone()).map(record_view))
}

/// One screening record: a platform sees its own organization's (another's
/// is a 404), admins and auditors any.
pub fn record(conn: &mut DbConn, actor: &Actor, id: &str) -> ServiceResult<ScreeningRecordView> {
    let scope = actor.platform_records(None)?;
    store::find_screening(conn, scope.organization(), id)?
        .map(record_view)
        .ok_or_else(|| ServiceError::not_found("no such screening"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let q = Query {
            name: Some(names::name_keys("张伟")),
            id_number_hash: Some("h".into()),
            ..Default::default()
        };
        assert_eq!(q.fingerprint(b"k1"), q.fingerprint(b"k1"));
        assert_ne!(q.fingerprint(b"k1"), q.fingerprint(b"k2"));
        let same_name = Query {
            name: Some(names::name_keys("張偉")),
            id_number_hash: Some("h".into()),
            ..Default::default()
        };
        assert_eq!(q.fingerprint(b"k1"), same_name.fingerprint(b"k1"));
    }
}
