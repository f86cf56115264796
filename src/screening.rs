//! Screening: who matches a query (by identifier or by name), what that
//! means (`hit`, `review`, `clear`), and the group-commit writer that records
//! every answer before it is given.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::audit::{self, Actor, Event};
use crate::db::screening::{self as repo, ActiveListing, ScreeningRecord, SubjectSummary, Watch};
use crate::db::{publication, write_tx, Db, DbConn};
use crate::domain::names::{self, NameKeys, MATCH_THRESHOLD};
use crate::error::{ApiError, ApiResult};
use crate::events;

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
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper).unwrap_or_else(|_| {
            <Hmac<Sha256> as Mac>::new_from_slice(b"livecredit")
                .expect("HMAC takes keys of any length")
        });
        mac.update(canonical.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// An identifier matches a subject with an active listing.
    Hit,
    /// A name matches a subject with an active listing, or an identifier
    /// matches a subject in band C or D.
    Review,
    Clear,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Hit => "hit",
            Decision::Review => "review",
            Decision::Clear => "clear",
        }
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
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub matches: Vec<Match>,
}

/// Most name-only matches shown for one query.
const MAX_NAME_MATCHES: usize = 20;
/// Name-key rows fetched per query and key kind (exact keys).
const CANDIDATES_PER_QUERY: i64 = 500;
/// Subjects sharing only the syllable initials compared per query.
const FUZZY_CANDIDATES_PER_QUERY: i64 = 100;

fn is_low_band(band: &str) -> bool {
    band == "C" || band == "D"
}

/// (query index, subject) → (best confidence, matched names, matched an alias?)
type NameMatches = HashMap<(usize, String), (f64, Vec<String>, bool)>;

/// Name candidates for every query of a batch: subjects with an active
/// listing sharing a whole pinyin spelling or the simplified text (one query
/// for the batch); for the queries that found none, listed subjects sharing
/// the syllable initials (one more query), to catch near misses such as
/// typos; and the subjects the query's own identifiers matched, whose names
/// are compared too. Each query is compared only with its own candidates,
/// each distinct stored name once.
fn name_stage(
    conn: &mut DbConn,
    queries: &[Query],
    identified: &[Vec<String>],
) -> diesel::QueryResult<NameMatches> {
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
        for (id, kind, key) in repo::listed_name_key_hits(conn, kind, keys, limit)? {
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
    let fuzzy: Vec<String> = named
        .iter()
        .zip(&candidates)
        .filter(|(_, (_, ids))| ids.is_empty())
        .flat_map(|((_, n), _)| n.initials.iter().cloned())
        .collect();
    if !fuzzy.is_empty() {
        let mut by_initials: HashMap<String, Vec<String>> = HashMap::new();
        for (id, _, key) in repo::listed_name_key_hits(
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
    for (subject, position, name) in repo::names_of(conn, &all)? {
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
) -> diesel::QueryResult<(i64, Vec<Outcome>)> {
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
    let by_hash: HashMap<String, String> = repo::by_id_number_hashes(conn, &hashes)?
        .into_iter()
        .collect();
    let by_uscc: HashMap<String, String> = repo::by_usccs(conn, &codes)?.into_iter().collect();
    let by_account: HashMap<String, String> = repo::by_account_keys(conn, &accounts)?
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
    let summaries: HashMap<String, SubjectSummary> = repo::summaries(conn, &matched_ids)?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut listings: HashMap<String, Vec<ActiveListing>> = HashMap::new();
    for l in repo::active_listings(conn, &matched_ids, today)? {
        listings.entry(l.subject_id.clone()).or_default().push(l);
    }

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
                    subject,
                    matched_on: reasons,
                    matched_names,
                    confidence: 1.0,
                });
            }
            let mut name_only: Vec<Match> = name_matches
                .iter()
                .filter(|((qi, id), _)| *qi == i && !matches.iter().any(|m| m.subject.id == *id))
                .filter_map(|((_, id), (confidence, names, alias))| {
                    let active = listings.get(id).cloned().unwrap_or_default();
                    // Name-only matches matter when the subject is on the list.
                    if active.is_empty() {
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
                    })
                })
                .collect();
            name_only.sort_by(|a, b| {
                b.confidence
                    .total_cmp(&a.confidence)
                    .then_with(|| a.subject.id.cmp(&b.subject.id))
            });
            name_only.truncate(MAX_NAME_MATCHES);
            let identified_listed = matches.iter().any(|m| !m.active_listings.is_empty());
            let identified_low = matches.iter().any(|m| is_low_band(&m.subject.band));
            let decision = if identified_listed {
                Decision::Hit
            } else if !name_only.is_empty() || identified_low {
                Decision::Review
            } else {
                Decision::Clear
            };
            matches.extend(name_only);
            Outcome { decision, matches }
        })
        .collect();
    Ok((list_version, outcomes))
}

// ---- recording ----

/// What one request asks the writer to commit.
pub struct RecordJob {
    pub actor: Actor,
    pub records: Vec<ScreeningRecord>,
    pub watches: Vec<Watch>,
}

struct Pending {
    job: RecordJob,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Commits screening records in groups: requests queue their records, one
/// thread writes whatever has queued in a single transaction (records,
/// watches, one audit entry per screening), then tells each request. No
/// answer is sent before its record has committed.
pub struct RecordWriter {
    queue: Mutex<SyncSender<Pending>>,
}

/// Most requests committed together.
const GROUP_MAX_REQUESTS: usize = 256;
/// Most screening records committed together.
const GROUP_MAX_RECORDS: usize = 5000;

impl RecordWriter {
    pub fn start(db: Db) -> Self {
        let (tx, rx) = sync_channel::<Pending>(4096);
        std::thread::Builder::new()
            .name("screening-writer".into())
            .spawn(move || writer_loop(&db, &rx))
            .expect("spawning the screening writer thread");
        Self {
            queue: Mutex::new(tx),
        }
    }

    /// Queues a job and waits until it has committed.
    pub async fn commit(&self, job: RecordJob) -> ApiResult<()> {
        let (done, wait) = tokio::sync::oneshot::channel();
        let sent = match self.queue.lock() {
            Ok(queue) => queue.try_send(Pending { job, done }),
            Err(_) => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "screening writer queue poisoned"
                )))
            }
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(ApiError::Unavailable(
                    "the screening recorder is saturated; retry shortly".into(),
                ))
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "screening writer stopped"
                )))
            }
        }
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => {
                tracing::warn!(error = %message, "recording screenings failed");
                Err(ApiError::unavailable())
            }
            Err(_) => Err(ApiError::Internal(anyhow::anyhow!(
                "screening writer dropped a job"
            ))),
        }
    }
}

fn write_group(conn: &mut DbConn, jobs: &[&RecordJob]) -> ApiResult<()> {
    write_tx(conn, |conn| {
        let records: Vec<ScreeningRecord> = jobs
            .iter()
            .flat_map(|j| j.records.iter().cloned())
            .collect();
        repo::insert_screenings(conn, &records)?;
        let head = events::head(conn)?;
        for job in jobs {
            for watch in &job.watches {
                if repo::find_watch_of_subject(conn, &watch.organization_id, &watch.subject_id)?
                    .is_none()
                {
                    repo::insert_watch(
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
    })
}

fn writer_loop(db: &Db, rx: &Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        let mut records = group[0].job.records.len();
        // Take whatever else is already waiting, without waiting for more.
        while group.len() < GROUP_MAX_REQUESTS && records < GROUP_MAX_RECORDS {
            match rx.try_recv() {
                Ok(next) => {
                    records += next.job.records.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let result = db.conn().and_then(|mut conn| {
            let jobs: Vec<&RecordJob> = group.iter().map(|p| &p.job).collect();
            let result = write_group(&mut conn, &jobs);
            conn.suspect = result.is_err();
            result
        });
        match result {
            Ok(()) => {
                tracing::debug!(
                    requests = group.len(),
                    records,
                    ms = started.elapsed().as_secs_f64() * 1000.0,
                    "screenings recorded"
                );
                for pending in group {
                    let _ = pending.done.send(Ok(()));
                }
            }
            Err(_) if group.len() > 1 => {
                // One bad job must not fail the others: commit each alone.
                for pending in group {
                    let outcome = db
                        .conn()
                        .and_then(|mut conn| write_group(&mut conn, &[&pending.job]))
                        .map_err(|e| e.problem().detail);
                    let _ = pending.done.send(outcome);
                }
            }
            Err(e) => {
                for pending in group {
                    let _ = pending.done.send(Err(e.problem().detail.clone()));
                }
                // The database is likely down: do not spin.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

// ---- per-organization rate limits ----

/// A token bucket per platform organization: `rate` requests per second,
/// bursts of twice that. A few lines, so no crate for it. Each instance
/// keeps its own buckets; behind a load balancer the limit is per instance.
pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` 0 turns limiting off.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` tokens for `key`, or says how many seconds to wait.
    pub fn check(&self, key: &str, cost: f64) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let capacity = self.rate * 2.0;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(capacity);
        *last = now;
        let cost = cost.min(capacity);
        if *tokens >= cost {
            *tokens -= cost;
            Ok(())
        } else {
            Err(((cost - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_bursts_then_throttle_per_key() {
        let limiter = RateLimiter::new(10);
        for _ in 0..20 {
            assert!(limiter.check("a", 1.0).is_ok());
        }
        assert_eq!(limiter.check("a", 1.0), Err(1));
        assert!(limiter.check("b", 1.0).is_ok());
        assert!(RateLimiter::new(0).check("a", 1e9).is_ok());
    }

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
