//! Screening for platforms: who matches a query (by identifier or by name),
//! what that means (the decision policy of `domain::screening`), and the
//! record of every answer, committed before the answer is given.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use utoipa::ToSchema;

use super::page::{Page, PageRequest};
use super::subjects::AccountInput;
use super::{new_id, roles, Actor, Problems, ServiceError, ServiceResult, Staff};
use crate::db::audit::{self, AuditActor, Event};
use crate::db::relations::{self as relation_store, Relation};
use crate::db::screening::{self as store, ActiveListing, ScreeningRecord, SubjectSummary};
use crate::db::watch::{self as watch_store, Watch};
use crate::db::{events, publication, DbConn, DbError, ReadDb};
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
const CANDIDATES_PER_QUERY: i64 = 500;
/// Subjects sharing only the syllable initials compared per query.
const FUZZY_CANDIDATES_PER_QUERY: i64 = 100;
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
    pub active_listings: Vec<ActiveListing>,
    pub related_listings: Vec<RelatedListingView>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub matches: Vec<Match>,
}

/// (query index, subject) → (best confidence, matched names, matched an alias?)
type NameMatches = HashMap<(usize, String), (f64, Vec<String>, bool)>;

/// Name candidates for every query of a batch: subjects with an active
/// listing sharing a whole pinyin spelling or the simplified text (one query
/// for the batch); for the queries that found none, listed subjects with a
/// pinyin spelling one slip away from a name that does not read as pinyin
/// (`names::near_spellings`, one more query), then those sharing the
/// syllable initials (one more query), to catch near misses such as typos;
/// and the subjects the query's own identifiers matched, whose names are
/// compared too. Each query is compared only with its own candidates,
/// each distinct stored name once.
fn name_stage(
    conn: &mut DbConn,
    queries: &[Query],
    identified: &[Vec<String>],
) -> Result<NameMatches, DbError> {
    let named: Vec<(usize, &NameKeys)> = queries
        .iter()
        .enumerate()
        .filter_map(|(i, q)| q.name.as_ref().map(|n| (i, n)))
        .collect();
    if named.is_empty() {
        return Ok(HashMap::new());
    }
    let limit = CANDIDATES_PER_QUERY * named.len() as i64;
    let mut by_key: HashMap<(String, String), Vec<String>> = HashMap::new();
    let pinyin: Vec<String> = named
        .iter()
        .flat_map(|(_, n)| n.pinyin.iter().cloned())
        .collect();
    let text: Vec<String> = named
        .iter()
        .map(|(_, n)| n.text.clone())
        .filter(|t| !t.is_empty())
        .collect();
    for (kind, keys) in [("pinyin", &pinyin), ("text", &text)] {
        for (id, kind, key) in store::listed_name_key_hits(conn, kind, keys, limit)? {
            by_key.entry((kind, key)).or_default().push(id);
        }
    }
    let exact = |n: &NameKeys| -> Vec<String> {
        let mut ids: Vec<String> = n
            .pinyin
            .iter()
            .map(|k| ("pinyin", k))
            .chain(std::iter::once(("text", &n.text)))
            .filter_map(|(kind, key)| by_key.get(&(kind.to_owned(), key.clone())))
            .flatten()
            .cloned()
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut candidates: Vec<(usize, Vec<String>)> =
        named.iter().map(|(i, n)| (*i, exact(n))).collect();
    // A Latin name that does not read as pinyin (a typo, or a look-alike
    // letter that stands for another letter) may be one slip away from a
    // listed spelling: look up those spellings too.
    let near: Vec<(usize, Vec<String>)> = named
        .iter()
        .zip(&candidates)
        .filter(|(_, (_, ids))| ids.is_empty())
        .map(|((i, n), _)| (*i, names::near_spellings(n)))
        .filter(|(_, spellings)| !spellings.is_empty())
        .collect();
    if !near.is_empty() {
        let spellings: Vec<String> = near.iter().flat_map(|(_, s)| s.iter().cloned()).collect();
        let mut by_spelling: HashMap<String, Vec<String>> = HashMap::new();
        for (id, _, key) in store::listed_name_key_hits(
            conn,
            "pinyin",
            &spellings,
            FUZZY_CANDIDATES_PER_QUERY * near.len() as i64,
        )? {
            by_spelling.entry(key).or_default().push(id);
        }
        for (i, spellings) in &near {
            if let Some((_, ids)) = candidates.iter_mut().find(|(qi, _)| qi == i) {
                ids.extend(
                    spellings
                        .iter()
                        .filter_map(|k| by_spelling.get(k))
                        .flatten()
                        .take(FUZZY_CANDIDATES_PER_QUERY as usize)
                        .cloned(),
                );
            }
        }
    }
    let fuzzy: Vec<String> = named
        .iter()
        .zip(&candidates)
        .filter(|(_, (_, ids))| ids.is_empty())
        .flat_map(|((_, n), _)| n.initials.iter().cloned())
        .collect();
    if !fuzzy.is_empty() {
        let mut by_initials: HashMap<String, Vec<String>> = HashMap::new();
        for (id, _, key) in store::listed_name_key_hits(
            conn,
            "initials",
            &fuzzy,
            FUZZY_CANDIDATES_PER_QUERY * named.len() as i64,
        )? {
            by_initials.entry(key).or_default().push(id);
        }
        for ((_, n), (_, ids)) in named.iter().zip(candidates.iter_mut()) {
            if ids.is_empty() {
                ids.extend(
                    n.initials
                        .iter()
                        .filter_map(|k| by_initials.get(k))
                        .flatten()
                        .take(FUZZY_CANDIDATES_PER_QUERY as usize)
                        .cloned(),
                );
            }
        }
    }
    for (i, ids) in candidates.iter_mut() {
        ids.extend(identified[*i].iter().cloned());
        ids.sort();
        ids.dedup();
    }
    let all: Vec<String> = candidates
        .iter()
        .flat_map(|(_, ids)| ids.iter().cloned())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut names_by_subject: HashMap<String, Vec<(i32, String)>> = HashMap::new();
    for (subject, position, name) in store::names_of(conn, &all)? {
        names_by_subject
            .entry(subject)
            .or_default()
            .push((position, name));
    }
    let mut keys_of_name: HashMap<String, NameKeys> = HashMap::new();
    let mut matches: NameMatches = HashMap::new();
    for ((_, query_keys), (i, ids)) in named.iter().zip(&candidates) {
        let mut memo: HashMap<&str, f64> = HashMap::new();
        for subject_id in ids {
            for (position, name) in names_by_subject
                .get(subject_id)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let keys = keys_of_name
                    .entry(name.clone())
                    .or_insert_with(|| names::name_keys(name));
                let confidence = *memo
                    .entry(name.as_str())
                    .or_insert_with(|| names::similarity(query_keys, keys));
                if confidence < MATCH_THRESHOLD {
                    continue;
                }
                let entry =
                    matches
                        .entry((*i, subject_id.clone()))
                        .or_insert((0.0, Vec::new(), false));
                entry.0 = entry.0.max(confidence);
                entry.1.push(name.clone());
                entry.2 |= *position > 0;
            }
        }
    }
    Ok(matches)
}

/// Screens a batch: one database round trip per stage for the whole batch,
/// not per item. Returns the list version the answers were computed at.
pub fn screen(
    conn: &mut DbConn,
    queries: &[Query],
    today: NaiveDate,
) -> Result<(i64, Vec<Outcome>), DbError> {
    let (list_version, _) = publication::version(conn, today)?;
    let hashes: Vec<String> = queries
        .iter()
        .filter_map(|q| q.id_number_hash.clone())
        .collect();
    let codes: Vec<String> = queries.iter().filter_map(|q| q.uscc.clone()).collect();
    let accounts: Vec<String> = queries
        .iter()
        .flat_map(|q| q.account_keys.iter().cloned())
        .collect();
    let by_hash: HashMap<String, String> = store::by_id_number_hashes(conn, &hashes)?
        .into_iter()
        .collect();
    let by_uscc: HashMap<String, String> = store::by_usccs(conn, &codes)?.into_iter().collect();
    let by_account: HashMap<String, String> = store::by_account_keys(conn, &accounts)?
        .into_iter()
        .collect();

    let identified: Vec<Vec<String>> = queries
        .iter()
        .map(|q| {
            let mut ids: Vec<String> = q
                .id_number_hash
                .iter()
                .filter_map(|h| by_hash.get(h))
                .chain(q.uscc.iter().filter_map(|u| by_uscc.get(u)))
                .chain(q.account_keys.iter().filter_map(|k| by_account.get(k)))
                .cloned()
                .collect();
            ids.sort();
            ids.dedup();
            ids
        })
        .collect();
    let name_matches = name_stage(conn, queries, &identified)?;

    let mut matched_ids: HashSet<String> = by_hash
        .values()
        .chain(by_uscc.values())
        .chain(by_account.values())
        .cloned()
        .collect();
    matched_ids.extend(name_matches.keys().map(|(_, id)| id.clone()));
    let matched_ids: Vec<String> = matched_ids.into_iter().collect();
    // The related parties of every matched subject (Order 117), read with them.
    let mut relations: HashMap<String, Vec<Relation>> = HashMap::new();
    for r in relation_store::holding_of(conn, &matched_ids, today)? {
        relations.entry(r.subject_id.clone()).or_default().push(r);
    }
    let mut wanted: HashSet<String> = matched_ids.iter().cloned().collect();
    wanted.extend(
        relations
            .values()
            .flatten()
            .map(|r| r.related_subject_id.clone()),
    );
    let wanted: Vec<String> = wanted.into_iter().collect();
    let summaries: HashMap<String, SubjectSummary> = store::summaries(conn, &wanted)?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut listings: HashMap<String, Vec<ActiveListing>> = HashMap::new();
    for l in store::active_listings(conn, &wanted, today)? {
        listings.entry(l.subject_id.clone()).or_default().push(l);
    }
    let related_listings = |subject_id: &str| -> Vec<RelatedListingView> {
        let mut found: Vec<RelatedListingView> = relations
            .get(subject_id)
            .into_iter()
            .flatten()
            .flat_map(|r| {
                let party = summaries.get(&r.related_subject_id);
                listings
                    .get(&r.related_subject_id)
                    .into_iter()
                    .flatten()
                    .filter_map(move |l| {
                        party.map(|p| RelatedListingView {
                            subject_id: p.id.clone(),
                            name: p.name.clone(),
                            kind: p.kind,
                            relation: r.relation,
                            listing_id: l.listing_id.clone(),
                        })
                    })
            })
            .collect();
        found.sort_by(|a, b| a.listing_id.cmp(&b.listing_id));
        found
    };

    let outcomes = queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut by_subject: Vec<(String, Vec<&'static str>)> = Vec::new();
            let mut add = |id: Option<&String>, why: &'static str| {
                if let Some(id) = id {
                    match by_subject.iter_mut().find(|(s, _)| s == id) {
                        Some((_, reasons)) => reasons.push(why),
                        None => by_subject.push((id.clone(), vec![why])),
                    }
                }
            };
            add(
                q.id_number_hash.as_ref().and_then(|h| by_hash.get(h)),
                "id_number",
            );
            add(q.uscc.as_ref().and_then(|u| by_uscc.get(u)), "uscc");
            for key in &q.account_keys {
                add(by_account.get(key), "account");
            }
            let mut matches: Vec<Match> = Vec::new();
            for (subject_id, mut reasons) in by_subject {
                reasons.dedup();
                let Some(subject) = summaries.get(&subject_id).cloned() else {
                    continue;
                };
                let mut matched_names = Vec::new();
                if let Some((_, names, alias)) = name_matches.get(&(i, subject_id.clone())) {
                    reasons.push(if *alias && !names.contains(&subject.name) {
                        "alias"
                    } else {
                        "name"
                    });
                    matched_names = names.clone();
                }
                matches.push(Match {
                    active_listings: listings.get(&subject_id).cloned().unwrap_or_default(),
                    related_listings: related_listings(&subject_id),
                    subject,
                    matched_on: reasons,
                    matched_names,
                    confidence: 1.0,
                });
            }
            let identified_count = matches.len();
            let mut name_only: Vec<Match> = name_matches
                .iter()
                .filter(|((qi, id), _)| *qi == i && !matches.iter().any(|m| m.subject.id == *id))
                .filter_map(|((_, id), (confidence, names, alias))| {
                    let active = listings.get(id).cloned().unwrap_or_default();
                    let related = related_listings(id);
                    if !shows_name_only_match(!active.is_empty(), *confidence)
                        && (related.is_empty() || *confidence < MATCH_THRESHOLD)
                    {
                        return None;
                    }
                    let subject = summaries.get(id)?.clone();
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
    Ok((list_version, outcomes))
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
                active_listings: m
                    .active_listings
                    .into_iter()
                    .map(|l| ActiveListingView {
                        listing_id: l.listing_id,
                        listed_on: l.listed_on,
                        expires_on: l.expires_on,
                        reason: l.reason,
                    })
                    .collect(),
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

/// A platform's screening of `items`, one by one or as a batch (one
/// `batch_id`): every door's limits, parsing, answers and records.
pub async fn screen_items(
    db: &ReadDb,
    writer: &RecordWriter,
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
    screen_and_record(db, writer, actor, pepper, queries, batch.then(new_id)).await
}

/// Screens parsed queries, records every answer (and watch) and returns
/// the answers. Nothing is answered before its record has committed.
pub async fn screen_and_record(
    db: &ReadDb,
    writer: &RecordWriter,
    actor: &Actor,
    pepper: &[u8],
    queries: Vec<Query>,
    batch_id: Option<String>,
) -> ServiceResult<Vec<ScreeningResult>> {
    let platform = actor.staff(roles::PLATFORMS)?;
    let today = super::today();
    let fingerprints: Vec<String> = queries.iter().map(|q| q.fingerprint(pepper)).collect();
    let watch_flags: Vec<bool> = queries.iter().map(|q| q.watch).collect();
    let queries = std::sync::Arc::new(queries);
    let (list_version, outcomes) = db
        .run(move |conn| -> ServiceResult<_> { Ok(screen(conn, &queries, today)?) })
        .await?;
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
    writer
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
