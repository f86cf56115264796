//! `livecredit demo-data`: deterministic, realistic synthetic data for demos
//! and benchmarks, written straight through the data layer in bulk.
//!
//! What it makes, per subject (70% anchors, 30% businesses; in every block
//! of 1,000 subjects one MCN and one live-room operator, every tenth MCN
//! listed, and ~40% of the block's anchors working for its MCN, ~10% for
//! its live-room operator — Order 117's parties):
//! - a name drawn from realistic frequencies (the top 100 surnames with their
//!   approximate shares, 1–2 common given-name characters; ~10% Latin-script
//!   names or English shop names), aliases for ~20%, 1–3 platform accounts,
//!   a valid resident ID (kept only as keyed hash + masked form, as the API
//!   does) or USCC, and a region code;
//! - on average `--violations-per-subject` violations (Poisson), decided over
//!   the last five years, mostly minor or general, ~2% revoked, evidence for some;
//! - for 3% of subjects a listing: in every block of 100 subjects one is
//!   listed and active (so ~1% of subjects are on the public list) and two
//!   more cycle through the other states (proposed, noticed, not_listed,
//!   expired, removed, revoked). Each listing is replayed through the rules
//!   of `domain::procedure` with dates that satisfy them (notice after the
//!   basis, objection deadline = served_on + 5 working days, decision after
//!   it by a second official, three years of listing, repair after a year);
//! - the stored score computed from its violations as of today.
//!
//! Determinism: each subject draws from its own generator seeded from
//! `(seed, index)`, so the data depends only on the seed and the subject's
//! index (and on today's date, since dates count back from it) — not on the
//! batch size or the number of threads. Identifiers (resident IDs, USCCs,
//! account handles) are unique by construction: each embeds a keyed
//! permutation of the subject's index.
//!
//! The audit chain gets one entry per batch and row family
//! (`demo.subjects_created`, `demo.violations_recorded`,
//! `demo.listings_created`) plus one per organization and user, not one per
//! row; the outbox gets the listing events the public change feed carries.

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Utc};
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand::rngs::StdRng;
use serde::Deserialize;
use serde_json::json;

use crate::app::load_calendar;
use crate::auth::password;
use crate::config::{DatabaseUrl, Settings};
use crate::db::accounts::Organization;
use crate::db::audit::{self, AuditActor, Event};
use crate::db::events::{self, NewEvent};
use crate::db::listings::{ConsentRecord, Listing, ListingViolation, ReviewFlag};
use crate::db::registry::{Evidence, Subject, SubjectName, Violation};
use crate::db::relations::Relation;
use crate::db::repairs::Repair;
use crate::db::typed::Maybe;
use crate::db::{bulk, publication, scores, write_tx, Db, DbConn, DbError};
use crate::domain::accounts::{check_password, Email, OrganizationKind, OrganizationLevel, Role};
use crate::domain::calendar::Calendar;
use crate::domain::grounds;
use crate::domain::identifiers::{
    organization_code_check, Account, ResidentId, Uscc, USCC_ALPHABET,
};
use crate::domain::penalties::PenaltyKind;
use crate::domain::procedure::{
    self, Consent, ConsentOutcome, Considerations, Decision, DecisionOutcome, ListingFacts,
    Official, ProcedureError, RepairOutcome, Transition, OBJECTION_WORKING_DAYS,
    PUBLICATION_WORKING_DAYS,
};
use crate::domain::registry::{today_cst, ReviewFlagStatus, SubjectKind, ViolationStatus};
use crate::domain::relations::RelationKind;
use crate::domain::repairs::{
    Channel, RepairStatus, ACCEPTANCE_WORKING_DAYS, DECISION_WORKING_DAYS,
};
use crate::domain::scoring::{self, Band, Category, ScoringPolicy, Severity};
use crate::service::documents::{
    self, DocumentKind, DocumentParties, HearingText, ProcedureRecord,
};
use crate::service::listings::{
    materialize, materialize_proposal, objection_row, Proposal, StepBy, StepRows,
    LISTING_REGULATION,
};
use crate::service::subjects::{
    account_rows, name_key_rows, name_rows, new_subject, StoredIdNumber,
};
use crate::service::violations::{evidence_rows, EvidenceItem, NewViolation};
use crate::service::{accounts as account_service, Actor, ServiceError};

/// The most subjects one run makes: resident IDs draw a unique (birth date,
/// sequence) pair per subject index, and 1960–2004 × 500 pairs hold 8.2
/// million (ids have 42 bits of counter, 16 of them per subject).
pub const MAX_SUBJECTS: u64 = 8_000_000;
/// Subjects per transaction unless told otherwise.
pub const DEFAULT_BATCH: usize = 10_000;
/// Average violations per subject unless told otherwise.
pub const DEFAULT_VIOLATIONS_PER_SUBJECT: f64 = 0.5;
/// Subjects per block of listing fates: one active listing and two others in each.
const FATE_BLOCK: u64 = 100;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub subjects: u64,
    pub violations_per_subject: f64,
    pub seed: u64,
    /// Subjects per transaction.
    pub batch_size: usize,
    /// Password of the generated regulator users; `None` generates one and reports it.
    pub password: Option<String>,
    /// PostgreSQL: load with binary `COPY` (the default) rather than multi-row INSERTs.
    pub pg_copy: bool,
    /// Print a progress line on stderr every ~5% (when stderr is a terminal).
    pub progress: bool,
    /// PostgreSQL connections writing batches side by side; 0 picks one per
    /// core (2 to 4). SQLite always uses one.
    pub writers: usize,
}

impl DemoOptions {
    pub fn new(subjects: u64) -> Self {
        Self {
            subjects,
            violations_per_subject: DEFAULT_VIOLATIONS_PER_SUBJECT,
            seed: 1,
            batch_size: DEFAULT_BATCH,
            password: None,
            pg_copy: true,
            progress: false,
            writers: 0,
        }
    }
}

/// Rows written per table, and the run's facts.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub backend: &'static str,
    /// Connections that wrote batches.
    pub writers: usize,
    pub seed: u64,
    pub batches: u64,
    pub organizations: u64,
    pub users: u64,
    /// Emails of the generated regulator users.
    pub user_emails: Vec<String>,
    /// Their password, when it was generated (not given).
    pub generated_password: Option<String>,
    pub subjects: u64,
    pub anchors: u64,
    /// Businesses: merchants, MCNs and live-room operators.
    pub merchants: u64,
    /// Of the businesses, MCNs and live-room operators.
    pub mcns: u64,
    pub room_operators: u64,
    /// Anchors bound to an MCN or live-room operator (ended relations too).
    pub relations: u64,
    pub subject_names: u64,
    pub name_keys: u64,
    pub accounts: u64,
    pub violations: u64,
    pub revoked_violations: u64,
    pub evidence: u64,
    pub listings: u64,
    /// Stored status → count (`listed` here are all active: none is past its end).
    pub listings_by_status: BTreeMap<&'static str, u64>,
    pub listing_violations: u64,
    pub history: u64,
    pub objections: u64,
    pub repair_applications: u64,
    pub events: u64,
    pub audit_entries: u64,
    pub elapsed: Duration,
    /// Where the time went: per table written, the commits, and the writer's
    /// waits for the generator threads.
    pub timings: BTreeMap<&'static str, Duration>,
}

impl DemoSummary {
    /// Listings that are on the public list now.
    pub fn active_listings(&self) -> u64 {
        self.listings_by_status.get("listed").copied().unwrap_or(0)
    }

    pub fn total_rows(&self) -> u64 {
        self.organizations
            + self.users
            + self.subjects
            + self.relations
            + self.subject_names
            + self.name_keys
            + self.accounts
            + self.violations
            + self.evidence
            + self.listings
            + self.listing_violations
            + self.history
            + self.objections
            + self.repair_applications
            + self.events
            + self.audit_entries
    }

    pub fn rows_per_second(&self) -> f64 {
        self.total_rows() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn add(&mut self, c: &Counts) {
        self.batches += 1;
        self.subjects += c.subjects;
        self.anchors += c.anchors;
        self.merchants += c.subjects - c.anchors;
        self.mcns += c.mcns;
        self.room_operators += c.room_operators;
        self.relations += c.relations;
        self.subject_names += c.names;
        self.name_keys += c.name_keys;
        self.accounts += c.accounts;
        self.violations += c.violations;
        self.revoked_violations += c.revoked_violations;
        self.evidence += c.evidence;
        self.listings += c.listings;
        for (status, n) in &c.by_status {
            *self.listings_by_status.entry(status).or_default() += n;
        }
        self.listing_violations += c.listing_violations;
        self.history += c.history;
        self.objections += c.objections;
        self.repair_applications += c.repairs;
        self.events += c.events;
    }
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "demo-data: {} subjects (seed {}) loaded into {} in {:.1} s: {} rows, {:.0} rows/s, {:.0} subjects/s",
            self.subjects,
            self.seed,
            self.backend,
            secs,
            self.total_rows(),
            self.rows_per_second(),
            self.subjects as f64 / secs.max(1e-9)
        )?;
        let statuses: Vec<String> = self
            .listings_by_status
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        let active_share = 100.0 * self.active_listings() as f64 / self.subjects.max(1) as f64;
        let listings = format!(
            "{}; active {} = {active_share:.2}% of subjects",
            statuses.join(", "),
            self.active_listings()
        );
        let kinds = format!(
            "anchors {}, businesses {} of which MCNs {} and live-room operators {}",
            self.anchors, self.merchants, self.mcns, self.room_operators
        );
        let revoked = format!("revoked {}", self.revoked_violations);
        let audit = format!(
            "one per batch and row family ({} batches), one per organization and user",
            self.batches
        );
        let none = String::new;
        let lines: [(&str, u64, String); 16] = [
            ("organizations", self.organizations, "regulators".into()),
            (
                "users",
                self.users,
                "officials, two per organization".into(),
            ),
            ("subjects", self.subjects, kinds),
            (
                "subject_names",
                self.subject_names,
                "names and aliases".into(),
            ),
            ("subject_name_keys", self.name_keys, none()),
            ("subject_accounts", self.accounts, none()),
            (
                "subject_relations",
                self.relations,
                "anchors of MCNs and live-room operators".into(),
            ),
            ("violations", self.violations, revoked),
            ("violation_evidence", self.evidence, none()),
            ("listings", self.listings, listings),
            ("listing_violations", self.listing_violations, none()),
            ("listing_history", self.history, none()),
            ("objections", self.objections, none()),
            ("repair_applications", self.repair_applications, none()),
            (
                "events",
                self.events,
                "listing published / expired / removed / revoked".into(),
            ),
            ("audit_log", self.audit_entries, audit),
        ];
        for (table, n, note) in lines {
            if note.is_empty() {
                writeln!(f, "  {table:<20} {n:>10}")?;
            } else {
                writeln!(f, "  {table:<20} {n:>10}  ({note})")?;
            }
        }
        let mut spent: Vec<(&&str, &Duration)> = self.timings.iter().collect();
        spent.sort_by(|a, b| b.1.cmp(a.1));
        let spent: Vec<String> = spent
            .iter()
            .filter(|(_, d)| d.as_secs_f64() >= 0.05)
            .map(|(part, d)| format!("{part} {:.1} s", d.as_secs_f64()))
            .collect();
        writeln!(
            f,
            "  time, summed over {} writer connection(s): {}",
            self.writers,
            spent.join(", ")
        )?;
        writeln!(f, "  regulator logins: {}", self.user_emails.join(", "))?;
        match &self.generated_password {
            Some(p) => write!(f, "  their password (generated; shown once): {p}"),
            None => write!(f, "  their password: the one given on standard input"),
        }
    }
}

/// Migrates, then loads the demo data into an empty registry; see the module docs.
pub fn run(settings: &Settings, opts: DemoOptions) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    if opts.subjects == 0 || opts.subjects > MAX_SUBJECTS {
        bail!("--subjects must be 1 to {MAX_SUBJECTS}");
    }
    if !(0.0..=20.0).contains(&opts.violations_per_subject) {
        bail!("--violations-per-subject must be 0 to 20");
    }
    if opts.batch_size == 0 || opts.batch_size > 100_000 {
        bail!("--batch-size must be 1 to 100000");
    }
    // PostgreSQL spends the load in index inserts and foreign-key checks, one
    // core per connection: several connections write batches side by side.
    // SQLite has one writer at a time.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let writers = match (&settings.database_url, opts.writers) {
        (DatabaseUrl::Sqlite(_), _) => 1,
        (_, 0) => cores.clamp(2, 4),
        (_, n) => n.min(16),
    };
    let generators = (cores / 2).clamp(1, 4);
    let db = Db::open(&settings.database_url, writers as u32 + 1)?;
    db.migrate()?;
    let mut pooled = db.conn().context("connecting to the database")?;
    let conn: &mut DbConn = &mut pooled;
    crate::db::check_pepper(conn, settings.id_pepper.bytes())?;
    write_tx(conn, |c| -> Result<(), DbError> {
        Ok(scores::ensure_default_policy(c)?)
    })?;
    let existing = crate::db::registry::count_subjects(conn)?;
    if existing > 0 {
        bail!("the registry already holds {existing} subjects; demo-data loads into an empty one (use a fresh database)");
    }
    let policy = scores::active_policy(conn)?;
    let calendar = load_calendar(settings)?;
    let now = Utc::now();

    let (password, generated_password) = match opts.password.clone() {
        Some(p) => {
            check_password(&p).map_err(|m| anyhow::anyhow!("the password {m}"))?;
            (p, None)
        }
        None => {
            let p: String = rand::rngs::OsRng
                .sample_iter(rand::distributions::Alphanumeric)
                .take(20)
                .map(char::from)
                .collect();
            (p.clone(), Some(p))
        }
    };
    // Argon2 is slow on purpose: one hash serves every demo official.
    let password_hash = password::hash(&password)?;
    let tables = Tables::load()?;
    let (authorities, setup_audit) = write_tx(conn, |c| {
        create_authorities(c, &opts, &tables, &password_hash)
    })
    .map_err(anyhow::Error::new)?;

    let ctx = Run {
        seed: opts.seed,
        subjects: opts.subjects,
        violations_per_subject: opts.violations_per_subject,
        today: today_cst(now),
        now: now.naive_utc().trunc_subsecs(6),
        run_millis: u64::try_from(now.timestamp_millis()).unwrap_or_default(),
        pepper: settings.id_pepper.bytes().to_vec(),
        calendar,
        policy,
        tables,
        authorities,
    };

    let summary = DemoSummary {
        backend: db.backend(),
        seed: opts.seed,
        organizations: ctx.authorities.len() as u64,
        users: 2 * ctx.authorities.len() as u64,
        user_emails: ctx
            .authorities
            .iter()
            .flat_map(|a| a.emails.clone())
            .collect(),
        generated_password,
        audit_entries: setup_audit,
        writers,
        ..DemoSummary::default()
    };

    let mut summary = load_batches(&db, &ctx, &opts, summary, generators, started)?;
    if summary.subjects != opts.subjects {
        bail!(
            "only {} of {} subjects were written",
            summary.subjects,
            opts.subjects
        );
    }

    summary.elapsed = started.elapsed();
    summary.audit_entries += 1;
    let details = json!({
        "seed": summary.seed, "subjects": summary.subjects, "violations": summary.violations,
        "listings": summary.listings, "active_listings": summary.active_listings(),
        "events": summary.events, "batches": summary.batches,
        "elapsed_ms": u64::try_from(summary.elapsed.as_millis()).unwrap_or(u64::MAX),
    });
    write_tx(conn, |c| -> Result<i64, DbError> {
        Ok(audit::append(
            c,
            &AuditActor::default(),
            Event {
                action: "demo.completed",
                target_type: "demo",
                target_id: &format!("seed-{}", summary.seed),
                details,
            },
        )?)
    })?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Generates the batches on `generators` threads and writes them on the
/// summary's number of writer connections; returns the summary with the counts added.
fn load_batches(
    db: &Db,
    ctx: &Run,
    opts: &DemoOptions,
    summary: DemoSummary,
    generators: usize,
    started: Instant,
) -> anyhow::Result<DemoSummary> {
    let writers = summary.writers;
    let batches = opts.subjects.div_ceil(opts.batch_size as u64);
    let pg_copy = opts.pg_copy;
    let show_progress = opts.progress && std::io::stderr().is_terminal();
    let next_batch = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::sync_channel::<Result<Batch, Broken>>(1);
    // Writers share the receiver; the one that stops on an error drops it so
    // that generators blocked on a full channel wake up and end too.
    let receiver = Mutex::new(Some(receiver));
    let shared = Mutex::new((summary, 0.05f64));
    let relations: Mutex<Vec<Relation>> = Mutex::new(Vec::new());
    let write = || -> anyhow::Result<()> {
        let mut pooled = db.conn().context("connecting to the database")?;
        let conn: &mut DbConn = &mut pooled;
        loop {
            let waiting = Instant::now();
            let next = match lock(&receiver).as_ref() {
                Some(r) => r.recv().ok(),
                None => None,
            };
            let Some(batch) = next.filter(|_| !stop.load(Ordering::Relaxed)) else {
                return Ok(());
            };
            let batch = batch.map_err(|e| anyhow::anyhow!("demo data broke {e}"))?;
            let mut timings = BTreeMap::from([("waiting for generated data", waiting.elapsed())]);
            let counts = batch.counts();
            let mut batch = batch;
            lock(&relations).append(&mut batch.relations);
            let entries = write_batch(conn, batch, pg_copy, &mut timings)?;
            let mut guard = lock(&shared);
            let (summary, next_report) = &mut *guard;
            summary.audit_entries += entries;
            summary.add(&counts);
            for (part, spent) in timings {
                *summary.timings.entry(part).or_default() += spent;
            }
            let done = summary.subjects as f64 / opts.subjects as f64;
            if show_progress && (done >= *next_report || summary.subjects == opts.subjects) {
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "demo-data: {}/{} subjects ({:.0}%), {:.1} s, {:.0} subjects/s",
                    summary.subjects,
                    opts.subjects,
                    100.0 * done,
                    secs,
                    summary.subjects as f64 / secs.max(1e-9)
                );
                while *next_report <= done {
                    *next_report += 0.05;
                }
            }
        }
    };
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..generators {
            let sender = sender.clone();
            let (next_batch, stop) = (&next_batch, &stop);
            let batch_size = opts.batch_size as u64;
            scope.spawn(move || loop {
                let b = next_batch.fetch_add(1, Ordering::Relaxed);
                if b >= batches || stop.load(Ordering::Relaxed) {
                    return;
                }
                let start = b * batch_size;
                let end = (start + batch_size).min(ctx.subjects);
                if sender.send(generate_batch(ctx, b, start..end)).is_err() {
                    return; // the writers stopped
                }
            });
        }
        drop(sender);
        let write = &write;
        let (stop, receiver) = (&stop, &receiver);
        let handles: Vec<_> = (0..writers)
            .map(|_| {
                scope.spawn(move || {
                    let outcome = write();
                    if outcome.is_err() {
                        stop.store(true, Ordering::Relaxed);
                        lock(receiver).take();
                    }
                    outcome
                })
            })
            .collect();
        let mut first_error = None;
        for handle in handles {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        first_error.map_or(Ok(()), Err)
    })?;
    // Fresh statistics, so that the first queries are planned for the data
    // as loaded rather than for empty tables.
    let mut conn = db.conn()?;
    let relations = relations
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started_relations = Instant::now();
    write_tx(&mut conn, |c| -> Result<(), DbError> {
        Ok(bulk::insert_relations(c, relations, pg_copy)?)
    })
    .context("writing the relations")?;
    lock(&shared)
        .0
        .timings
        .insert("subject_relations", started_relations.elapsed());
    crate::db::changes::touch(&mut conn, crate::db::changes::EVERYTHING, &["bulk load"])
        .context("telling the running instances' screening indexes to rebuild")?;
    crate::db::analyze(&mut conn).context("updating the planner's statistics")?;
    let (summary, _) = shared
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(summary)
}

/// The value behind a mutex, even if a thread panicked holding it (the
/// panic itself is propagated when the threads are joined).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Regulators
// ---------------------------------------------------------------------------

/// A generated regulator: its organization, two officials and its head.
#[derive(Debug, Clone)]
struct Authority {
    org: Organization,
    org_id: String,
    /// Prefix of the region codes it covers ("" for the national regulator).
    region_prefix: String,
    /// For decision numbers: 杭 → 杭市监处罚〔2024〕12号.
    abbr: String,
    officials: [String; 2],
    /// The head of the bureau (`can_approve`).
    head: String,
    /// The parent bureau, as an index into the run's authorities.
    parent: Option<usize>,
    emails: Vec<String>,
}

impl Authority {
    /// Whether its listings need the parent bureau's consent (Order 44 art. 22).
    fn needs_consent(&self) -> bool {
        self.org.level.0.is_some_and(|l| l.needs_parent_consent())
    }
}

/// The part of a region code an authority covers: 330000 → "33", 330100 → "3301".
fn coverage(code: Option<&str>) -> String {
    match code {
        None => String::new(),
        Some(c) if c.ends_with("0000") => c[..2].to_owned(),
        Some(c) if c.ends_with("00") => c[..4].to_owned(),
        Some(c) => c.to_owned(),
    }
}

/// Creates 5–10 regulator organizations with their parent bureaus (reusing
/// one of the same name), each with two officials and its head, through the
/// same use cases as the API; returns them and the number of audit entries
/// written.
fn create_authorities(
    conn: &mut DbConn,
    opts: &DemoOptions,
    tables: &Tables,
    password_hash: &str,
) -> Result<(Vec<Authority>, u64), ServiceError> {
    let mut rng = StdRng::seed_from_u64(mix(opts.seed, 0x00A1_1CE5));
    let regulators = &tables.regulators;
    let count = rng.gen_range(5..=10).min(regulators.len());
    let mut chosen: Vec<usize> = (1..regulators.len()).collect();
    chosen.shuffle(&mut rng);
    chosen.truncate(count - 1);
    chosen.push(0); // the national regulator takes whatever no local one covers
                    // Every chosen bureau's parents too, created parents first (the table's order).
    let mut wanted = vec![false; regulators.len()];
    for mut i in chosen {
        loop {
            wanted[i] = true;
            match regulators[i].parent.as_deref() {
                Some(parent) => match regulators.iter().position(|r| r.slug == parent) {
                    Some(p) => i = p,
                    None => break,
                },
                None => break,
            }
        }
    }
    let mut authorities: Vec<Authority> = Vec::new();
    let mut slugs: Vec<&str> = Vec::new();
    let mut entries = 0;
    for (_, regulator) in regulators.iter().enumerate().filter(|(i, _)| wanted[*i]) {
        let parent = regulator
            .parent
            .as_deref()
            .and_then(|slug| slugs.iter().position(|s| *s == slug));
        let (org, created) = account_service::ensure_organization(
            conn,
            &regulator.name,
            account_service::Place {
                kind: OrganizationKind::Regulator,
                region_code: regulator.region_code.as_deref(),
                level: Some(regulator.level),
                parent_id: parent.map(|p| authorities[p].org_id.as_str()),
            },
            "demo-data",
        )?;
        entries += u64::from(created);
        let mut officials = Vec::new();
        let mut emails = Vec::new();
        for n in 1..=3 {
            let head = n == 3;
            let email = if head {
                format!("{}.head@demo.livecredit.example", regulator.slug)
            } else {
                format!("{}.official{n}@demo.livecredit.example", regulator.slug)
            };
            let user = match crate::db::accounts::find_user_by_email(conn, &email)? {
                Some(user) => user,
                None => {
                    let person = person(&mut rng, tables);
                    let address = Email::parse(&email)
                        .map_err(|m| ServiceError::invalid("email", format!("{email} {m}")))?;
                    let mut user = account_service::new_user(
                        &address,
                        password_hash.to_owned(),
                        Role::Regulator,
                        org.id.clone(),
                        Some(format!("{}{}", person.surname, person.given)),
                    );
                    user.can_approve = head;
                    account_service::create_user(conn, &Actor::System, &user, Some("demo-data"))?;
                    entries += 1;
                    user
                }
            };
            officials.push(user.id);
            emails.push(email);
        }
        authorities.push(Authority {
            org_id: org.id.clone(),
            org,
            region_prefix: coverage(regulator.region_code.as_deref()),
            abbr: regulator.abbreviation.clone(),
            officials: [officials[0].clone(), officials[1].clone()],
            head: officials[2].clone(),
            parent,
            emails,
        });
        slugs.push(&regulator.slug);
    }
    Ok((authorities, entries))
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Writes one batch in one transaction with its audit entries, events and
/// list version; returns the number of audit entries. Adds the time spent
/// per table to `timings`.
fn write_batch(
    conn: &mut DbConn,
    batch: Batch,
    copy: bool,
    timings: &mut BTreeMap<&'static str, Duration>,
) -> anyhow::Result<u64> {
    let started = Instant::now();
    let counts = batch.counts();
    let target_id = format!("batch-{}", batch.index);
    let audit_entries = batch.audit_entries(&counts, &target_id);
    let entries = audit_entries.len() as u64;
    let mut parts: BTreeMap<&'static str, Duration> = BTreeMap::new();
    write_tx(conn, |c: &mut DbConn| -> Result<(), DbError> {
        bulk::insert(c, batch.rows, copy, &mut parts)?;
        let rest = Instant::now();
        events::emit_all(c, batch.events)?;
        publication::bump(c, batch.version_delta)?;
        audit::append_all(c, &AuditActor::default(), audit_entries)?;
        *parts.entry("events, list version, audit").or_default() += rest.elapsed();
        Ok(())
    })
    .with_context(|| format!("writing batch {}", batch.index))?;
    let measured: Duration = parts.values().sum();
    *parts.entry("commit").or_default() += started.elapsed().saturating_sub(measured);
    for (part, spent) in parts {
        *timings.entry(part).or_default() += spent;
    }
    Ok(entries)
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// What every generator thread shares.
struct Run {
    seed: u64,
    subjects: u64,
    violations_per_subject: f64,
    today: NaiveDate,
    now: NaiveDateTime,
    run_millis: u64,
    pepper: Vec<u8>,
    calendar: Calendar,
    policy: ScoringPolicy,
    tables: Tables,
    authorities: Vec<Authority>,
}

/// The rows of one batch of subjects.
#[derive(Default)]
struct Batch {
    index: u64,
    anchors: u64,
    /// Anchors' relations, written once every subject is.
    relations: Vec<Relation>,
    rows: bulk::Rows,
    events: Vec<NewEvent>,
    /// How much the public list's version moved with these listings.
    version_delta: i64,
}

#[derive(Debug, Default)]
struct Counts {
    subjects: u64,
    anchors: u64,
    mcns: u64,
    room_operators: u64,
    relations: u64,
    names: u64,
    name_keys: u64,
    accounts: u64,
    violations: u64,
    revoked_violations: u64,
    evidence: u64,
    listings: u64,
    by_status: BTreeMap<&'static str, u64>,
    listing_violations: u64,
    history: u64,
    objections: u64,
    repairs: u64,
    events: u64,
}

impl Batch {
    fn counts(&self) -> Counts {
        let r = &self.rows;
        let of_kind = |kind| r.subjects.iter().filter(|s| s.kind == kind).count() as u64;
        let mut by_status = BTreeMap::new();
        for l in &r.listings {
            *by_status.entry(l.status.as_str()).or_default() += 1;
        }
        Counts {
            subjects: r.subjects.len() as u64,
            anchors: self.anchors,
            mcns: of_kind(SubjectKind::Mcn),
            room_operators: of_kind(SubjectKind::RoomOperator),
            relations: self.relations.len() as u64,
            names: r.names.len() as u64,
            name_keys: r.name_keys.len() as u64,
            accounts: r.accounts.len() as u64,
            violations: r.violations.len() as u64,
            revoked_violations: r
                .violations
                .iter()
                .filter(|v| v.status == ViolationStatus::Revoked)
                .count() as u64,
            evidence: r.evidence.len() as u64,
            listings: r.listings.len() as u64,
            by_status,
            listing_violations: r.listing_violations.len() as u64,
            history: r.history.len() as u64,
            objections: r.objections.len() as u64,
            repairs: r.repairs.len() as u64,
            events: self.events.len() as u64,
        }
    }

    /// One audit entry per row family of the batch.
    fn audit_entries<'a>(&self, c: &Counts, target_id: &'a str) -> Vec<Event<'a>> {
        let first = self.rows.subjects.first().map(|s| s.id.clone());
        let last = self.rows.subjects.last().map(|s| s.id.clone());
        let mut entries = vec![Event {
            action: "demo.subjects_created",
            target_type: "demo_batch",
            target_id,
            details: json!({"batch": self.index, "subjects": c.subjects, "anchors": c.anchors,
                "merchants": c.subjects - c.anchors, "subject_names": c.names,
                "subject_name_keys": c.name_keys, "subject_accounts": c.accounts,
                "first_subject_id": first, "last_subject_id": last}),
        }];
        if c.violations > 0 {
            entries.push(Event {
                action: "demo.violations_recorded",
                target_type: "demo_batch",
                target_id,
                details: json!({"batch": self.index, "violations": c.violations,
                    "revoked": c.revoked_violations, "evidence": c.evidence}),
            });
        }
        if c.listings > 0 {
            entries.push(Event {
                action: "demo.listings_created",
                target_type: "demo_batch",
                target_id,
                details: json!({"batch": self.index, "listings": c.listings, "by_status": c.by_status,
                    "listing_violations": c.listing_violations, "listing_history": c.history,
                    "objections": c.objections, "repair_applications": c.repairs, "events": c.events}),
            });
        }
        entries
    }
}

/// The rows of subjects `range`; an error means the generator broke a rule
/// of the procedure (a bug here, reported rather than loaded).
/// How generated data broke a rule of the use cases (a bug in the generator).
#[derive(Debug, thiserror::Error)]
enum Broken {
    #[error("a procedure rule: {0}")]
    Rule(#[from] ProcedureError),
    #[error("a document: {0}")]
    Document(#[from] ServiceError),
}

fn generate_batch(ctx: &Run, index: u64, range: std::ops::Range<u64>) -> Result<Batch, Broken> {
    let mut batch = Batch {
        index,
        ..Batch::default()
    };
    for i in range {
        generate_subject(ctx, i, &mut batch)?;
    }
    Ok(batch)
}

/// A 64-bit mix of two numbers (splitmix64 finaliser).
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b)
        .wrapping_add(0x6A09_E667_F3BC_C909);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A keyed bijection of the `bits`-bit integers (xor, odd multiply and
/// xor-shift are each invertible modulo 2^bits).
fn scramble(mut x: u64, bits: u32, key: u64) -> u64 {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    for round in 0..4u32 {
        x ^= mix(key, u64::from(round)) & mask;
        x = x.wrapping_mul(mix(key, u64::from(round) + 16) | 1) & mask;
        x ^= x >> (bits / 2 + 1);
    }
    x
}

/// A keyed permutation of `0..domain` (cycle-walking the bijection of the
/// smallest power of two that holds it).
fn permute(x: u64, domain: u64, key: u64) -> u64 {
    let bits = 64 - (domain - 1).leading_zeros();
    let mut y = scramble(x, bits, key);
    while y >= domain {
        y = scramble(y, bits, key);
    }
    y
}

/// UUIDv7-shaped ids: this run's millisecond, then a counter per subject
/// index (so ids sort in generation order and never repeat within a run),
/// then 32 bits hashed from the counter where a v7 id has random bits.
struct Ids {
    millis: u64,
    next: u64,
}

impl Ids {
    fn for_subject(millis: u64, index: u64) -> Self {
        Self {
            millis,
            next: index << 16,
        }
    }

    fn next(&mut self) -> String {
        let c = u128::from(self.next);
        self.next += 1;
        // 74 bits follow the version and variant: 42 of counter, 32 of hash.
        let bits = (c << 32) | u128::from(mix(self.next, 0x1D5) & 0xFFFF_FFFF);
        let value = (u128::from(self.millis & 0xFFFF_FFFF_FFFF) << 80)
            | (0x7 << 76)
            | (((bits >> 62) & 0xFFF) << 64)
            | (0b10 << 62)
            | (bits & ((1 << 62) - 1));
        uuid::Uuid::from_u128(value).to_string()
    }
}

/// A date-time on `date` during office hours in China Standard Time, as
/// stored (UTC), never after `now`.
fn stamp(rng: &mut StdRng, date: NaiveDate, now: NaiveDateTime) -> NaiveDateTime {
    let seconds = rng.gen_range(9 * 3600..18 * 3600);
    let local = date.and_time(NaiveTime::MIN) + chrono::Duration::seconds(seconds);
    (local - chrono::Duration::hours(8)).min(now)
}

fn days_before(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days)).unwrap_or(date)
}

fn days_after(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

/// A date uniformly between `from` and `to` inclusive.
fn date_between(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    if to <= from {
        return from;
    }
    let span = u64::try_from((to - from).num_days()).unwrap_or(0);
    days_after(from, rng.gen_range(0..=span))
}

/// Knuth's method: fine for the small means used here (≤ 20).
fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p: f64 = rng.gen();
    while p > limit {
        k += 1;
        p *= rng.gen::<f64>();
    }
    k
}

/// Where a subject's listing ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Active,
    Proposed,
    Noticed,
    NotListed,
    Expired,
    Removed,
    Revoked,
}

/// The other fates, cycled two per block: expired listings are the commonest.
const OTHER_FATES: [Fate; 8] = [
    Fate::Expired,
    Fate::Proposed,
    Fate::Noticed,
    Fate::Expired,
    Fate::NotListed,
    Fate::Removed,
    Fate::Expired,
    Fate::Revoked,
];

/// The places of a block's three fates: the active listing first.
fn fate_places(seed: u64, block: u64) -> [u64; 3] {
    let mut rng = StdRng::seed_from_u64(mix(mix(seed, 0xFA7E), block));
    let mut places: Vec<u64> = (0..FATE_BLOCK).collect();
    let (chosen, _) = places.partial_shuffle(&mut rng, 3);
    [chosen[0], chosen[1], chosen[2]]
}

/// The place of block `block`'s active listing.
fn active_place(seed: u64, block: u64) -> u64 {
    fate_places(seed, block)[0]
}

/// In each block of [`FATE_BLOCK`] subjects: one active listing and two other fates, at random places.
fn fate_of(seed: u64, index: u64) -> Option<Fate> {
    let block = index / FATE_BLOCK;
    let chosen = fate_places(seed, block);
    let at = index % FATE_BLOCK;
    let pos = chosen.iter().position(|p| *p == at)?;
    Some(match pos {
        0 => Fate::Active,
        k => OTHER_FATES[((2 * block + k as u64 - 1) % OTHER_FATES.len() as u64) as usize],
    })
}

fn generate_subject(ctx: &Run, index: u64, batch: &mut Batch) -> Result<(), Broken> {
    let t = &ctx.tables;
    let mut rng = StdRng::seed_from_u64(mix(ctx.seed, index));
    let mut ids = Ids::for_subject(ctx.run_millis, index);
    let subject_id = ids.next();
    let drawn_anchor = rng.gen_bool(0.7);
    let kind = party_kind(ctx.seed, index).unwrap_or(if drawn_anchor {
        SubjectKind::Anchor
    } else {
        SubjectKind::Merchant
    });
    let anchor = kind.is_person();

    let profile = if anchor {
        anchor_profile(ctx, &mut rng, index)
    } else {
        business_profile(ctx, &mut rng, index, kind)
    };
    let authority_index = authority_for(ctx, &mut rng, profile.region_code.as_deref());
    let authority = &ctx.authorities[authority_index];

    // Violations first: they date the subject's registration.
    let mut own: Vec<Violation> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    let five_years_ago = days_before(ctx.today, 5 * 365);
    for _ in 0..poisson(&mut rng, ctx.violations_per_subject) {
        let decided_on = date_between(&mut rng, five_years_ago, ctx.today);
        let severity = t.ordinary_severity[t.ordinary_severity_index.sample(&mut rng)];
        let category = t.category[t.category_index.sample(&mut rng)];
        let penalty = ordinary_penalty(&mut rng, severity);
        let v = violation(
            ctx,
            &mut rng,
            &mut ids,
            &subject_id,
            authority,
            (category, severity),
            decided_on,
            false,
            penalty,
            &mut evidence,
        );
        own.push(v);
    }
    // ~2% revoked: the penalty annulled on review or appeal.
    for v in own.iter_mut() {
        let Some(decided_on) = v.decided_on else {
            continue;
        };
        if rng.gen_bool(0.02) {
            let revoked_on = date_between(
                &mut rng,
                v.recorded_at.date().max(decided_on),
                days_after(decided_on, 365).min(ctx.today),
            )
            .min(ctx.today);
            let at = stamp(&mut rng, revoked_on, ctx.now).max(v.recorded_at);
            let by = authority.officials[rng.gen_range(0..2)].clone();
            let reason = t.pick(&mut rng, &t.texts.revocation_reasons).clone();
            v.revoke(revoked_on, at, &by, &reason);
        }
    }

    let documents = match fate_of(ctx.seed, index) {
        Some(fate) => Some(listing(
            ctx,
            &mut rng,
            &mut ids,
            index,
            &subject_id,
            anchor,
            authority_index,
            fate,
            &mut own,
            &mut evidence,
            batch,
        )?),
        None => None,
    };

    let created_at = own
        .iter()
        .map(|v| v.recorded_at)
        .min()
        .map(|first| first - chrono::Duration::minutes(rng.gen_range(5..120)))
        .unwrap_or_else(|| {
            let day = date_between(&mut rng, five_years_ago, ctx.today);
            stamp(&mut rng, day, ctx.now)
        });
    let created_by = own
        .iter()
        .min_by_key(|v| v.recorded_at)
        .map(|v| v.recorded_by.clone())
        .unwrap_or_else(|| authority.officials[0].clone());
    let accounts = accounts_for(ctx, &mut rng, index, &profile);
    let mut subject = new_subject(
        subject_id.clone(),
        kind,
        profile.name,
        profile.region_code,
        profile.id_number,
        profile.uscc,
        created_by,
        created_at,
        ctx.policy.version,
    );
    subject.updated_at = own
        .iter()
        .map(|v| v.recorded_at)
        .max()
        .unwrap_or(created_at)
        .max(created_at);
    if !own.is_empty() {
        let report = scoring::score(&ctx.policy, &scores::facts(&own), ctx.today);
        subject.score = report.score;
        subject.band = report.band;
        subject.score_as_of = Some(ctx.today);
        let shared = scores::Shared::of(
            &ctx.policy,
            &scores::shared_facts(&own, subject.kind, ctx.today),
            ctx.today,
        );
        subject.shared_score = shared.score;
        subject.shared_band = Maybe(shared.band);
        subject.shared_violations = shared.violations;
        // Band D with no listing: the flag a regulator reviews (service::review).
        if report.band == Band::D && documents.is_none() {
            batch.rows.review_flags.push(ReviewFlag {
                id: ids.next(),
                subject_id: subject_id.clone(),
                raised_on: ctx.today,
                score: report.score_rounded(),
                status: ReviewFlagStatus::Open,
                reason: "信用评分降至 D 级，请审查是否有依法列入的情形 (credit score fell to band D; review whether any penalty is a ground for listing)".into(),
                resolved_by: None,
                resolved_at: None,
                resolution: None,
                listing_id: None,
                created_at: ctx.now,
            });
        }
    }
    if let Some(d) = documents {
        documents_of(ctx, &subject, d, &mut batch.rows)?;
    }

    let names: Vec<SubjectName> = name_rows(&subject_id, &subject.name, &profile.aliases);
    let rows = &mut batch.rows;
    rows.name_keys.extend(name_key_rows(&subject_id, &names));
    rows.names.extend(names);
    rows.accounts.extend(account_rows(&subject_id, &accounts));
    rows.subjects.push(subject);
    batch.anchors += u64::from(anchor);
    rows.violations.extend(own);
    rows.evidence.extend(evidence);
    if anchor {
        batch.relations.extend(relations_of_anchor(
            ctx,
            &mut rng,
            &mut ids,
            index,
            &subject_id,
        ));
    }
    Ok(())
}

/// Subjects per block with one MCN and one live-room operator: an MCN has
/// the block's bound anchors (tens to hundreds of them).
const PARTY_BLOCK: u64 = 1000;
/// The live-room operator's place in its block.
const ROOM_OPERATOR_PLACE: u64 = 13;
/// One MCN in this many is listed.
const LISTED_MCN_EVERY: u64 = 10;

/// The MCN's place in block `block`: in every [`LISTED_MCN_EVERY`]th block
/// the place of the first active listing of the block (so the MCN is
/// listed, and the share of listed subjects stays as [`fate_of`] makes it),
/// elsewhere the 8th subject.
fn mcn_place(seed: u64, block: u64) -> u64 {
    if block.is_multiple_of(LISTED_MCN_EVERY) {
        active_place(seed, block * (PARTY_BLOCK / FATE_BLOCK))
    } else {
        7
    }
}

/// The kind fixed by the subject's place (an MCN or a live-room operator
/// of its block), if any.
fn party_kind(seed: u64, index: u64) -> Option<SubjectKind> {
    let place = index % PARTY_BLOCK;
    if place == mcn_place(seed, index / PARTY_BLOCK) {
        Some(SubjectKind::Mcn)
    } else if place == ROOM_OPERATOR_PLACE {
        Some(SubjectKind::RoomOperator)
    } else {
        None
    }
}

/// An anchor's relations (Order 117): ~40% work for their block's MCN
/// (employed or under contract, a sixth of them since ended), ~10% are
/// contracted with its live-room operator. Written after every subject is
/// (`load_batches`), so a party in another batch is always there.
fn relations_of_anchor(
    ctx: &Run,
    rng: &mut StdRng,
    ids: &mut Ids,
    index: u64,
    subject_id: &str,
) -> Vec<Relation> {
    let block = index / PARTY_BLOCK;
    let mut relations = Vec::new();
    let mut bind = |rng: &mut StdRng, place: u64, relation: RelationKind| {
        let party = block * PARTY_BLOCK + place;
        if party >= ctx.subjects {
            return;
        }
        let from = date_between(
            rng,
            days_before(ctx.today, 3 * 365),
            days_before(ctx.today, 30),
        );
        let ended = rng.gen_bool(1.0 / 6.0);
        let to = ended.then(|| date_between(rng, days_after(from, 30), days_before(ctx.today, 1)));
        let official = ctx.authorities[0].officials[0].clone();
        relations.push(Relation {
            id: ids.next(),
            subject_id: subject_id.to_owned(),
            related_subject_id: Ids::for_subject(ctx.run_millis, party).next(),
            relation,
            valid_from: from,
            valid_to: to,
            created_by: official.clone(),
            created_at: stamp(rng, from, ctx.now),
            ended_by: to.map(|_| official.clone()),
            ended_at: to.map(|to| stamp(rng, to, ctx.now)),
        });
    };
    if rng.gen_bool(0.4) {
        let relation = if rng.gen_bool(0.6) {
            RelationKind::EmployedBy
        } else {
            RelationKind::ContractedWith
        };
        bind(rng, mcn_place(ctx.seed, block), relation);
    }
    if rng.gen_bool(0.1) {
        bind(rng, ROOM_OPERATOR_PLACE, RelationKind::ContractedWith);
    }
    relations
}

/// The regulator for a region (its index): the most local one that covers
/// it, else the national one.
fn authority_for(ctx: &Run, rng: &mut StdRng, region: Option<&str>) -> usize {
    let region = region.unwrap_or("");
    let covering = ctx
        .authorities
        .iter()
        .enumerate()
        .filter(|(_, a)| region.starts_with(a.region_prefix.as_str()))
        .max_by_key(|(_, a)| a.region_prefix.len());
    match covering {
        // Now and then a case goes to another regulator (the platform's seat, a joint action).
        Some((i, _)) if rng.gen_bool(0.9) => i,
        _ => rng.gen_range(0..ctx.authorities.len()),
    }
}

/// The penalty a violation was punished with.
struct Penalty {
    kinds: Vec<PenaltyKind>,
    ban_until: Option<NaiveDate>,
    ground: Option<String>,
}

/// An ordinary penalty for its severity: a warning or a fine, perhaps with
/// confiscation; never a heavier one, and no listing ground recorded.
fn ordinary_penalty(rng: &mut StdRng, severity: Severity) -> Penalty {
    use PenaltyKind::*;
    let kinds = match severity {
        Severity::Minor if rng.gen_bool(0.5) => vec![Warning],
        Severity::Minor => vec![Fine],
        _ if rng.gen_bool(0.4) => vec![Fine, Confiscation],
        _ => vec![Fine],
    };
    Penalty {
        kinds,
        ban_until: None,
        ground: None,
    }
}

/// A heavier penalty (Order 44 art. 2) for an act the category's ground
/// names: what a listing rests on. An especially serious case may close the
/// business or ban an anchor from the trade for a while.
/// `long_ban`: the ban may outlast the listing (art. 21), for listings still in force.
fn listing_penalty(
    ctx: &Run,
    rng: &mut StdRng,
    (severity, category): (Severity, Category),
    decided_on: NaiveDate,
    anchor: bool,
    long_ban: bool,
) -> Penalty {
    use PenaltyKind::*;
    let (kinds, ban_until) = match severity {
        Severity::EspeciallySerious if anchor && rng.gen_bool(0.25) => {
            // 1–2 years mostly; now and then five, which outlasts the listing (art. 21).
            let years = if long_ban && rng.gen_bool(0.2) {
                5
            } else {
                rng.gen_range(1..=2)
            };
            (
                vec![FineAggravated, PracticeBan],
                Some(procedure::add_years(decided_on, years)),
            )
        }
        Severity::EspeciallySerious if !anchor && rng.gen_bool(0.2) => {
            (vec![FineAggravated, Confiscation, LicenseRevoked], None)
        }
        _ if rng.gen_bool(0.5) => (vec![FineAggravated, Confiscation], None),
        _ => (vec![FineAggravated], None),
    };
    Penalty {
        kinds,
        ban_until,
        ground: Some(ctx.tables.category_text(category).ground.clone()),
    }
}

/// A violation on `on`: its decision day, or for a `pending` penalty the
/// day it was notified (recorded undecided).
#[allow(clippy::too_many_arguments)]
fn violation(
    ctx: &Run,
    rng: &mut StdRng,
    ids: &mut Ids,
    subject_id: &str,
    authority: &Authority,
    (category, severity): (Category, Severity),
    on: NaiveDate,
    pending: bool,
    penalty: Penalty,
    evidence: &mut Vec<Evidence>,
) -> Violation {
    let t = &ctx.tables;
    let id = ids.next();
    let decided_on = on;
    let recorded_on = days_after(decided_on, rng.gen_range(0..15)).min(ctx.today);
    let recorded_at = stamp(rng, recorded_on, ctx.now);
    let fined = penalty
        .kinds
        .iter()
        .any(|k| matches!(k, PenaltyKind::Fine | PenaltyKind::FineAggravated));
    let fine_yuan: Option<i64> = fined.then(|| match severity {
        Severity::Minor => rng.gen_range(5..50) * 100,
        Severity::General => rng.gen_range(5..50) * 1000,
        Severity::Serious => rng.gen_range(5..50) * 10_000,
        Severity::EspeciallySerious => rng.gen_range(20..500) * 10_000,
    });
    if rng.gen_bool(0.35) {
        let items: Vec<EvidenceItem> = (0..rng.gen_range(1..=3))
            .map(|position| {
                let (media_type, extension, description) = t.pick(rng, &t.texts.evidence_kinds);
                let sha: [u8; 32] = rng.gen();
                EvidenceItem {
                    sha256: hex::encode(sha),
                    media_type: media_type.clone(),
                    description: Some(description.clone()),
                    uri: Some(format!(
                        "https://evidence.demo.livecredit.example/{}/{id}/{position}.{extension}",
                        decided_on.year()
                    )),
                }
            })
            .collect();
        evidence.extend(evidence_rows(&id, &items));
    }
    let decision_no = format!(
        "{}市监处罚〔{}〕{}号",
        authority.abbr,
        decided_on.year(),
        rng.gen_range(1..3000)
    );
    NewViolation {
        subject_id: subject_id.to_owned(),
        category,
        severity,
        decided_on: (!pending).then_some(decided_on),
        description: t.description(rng, category),
        decision_no: (!pending && rng.gen_bool(0.85)).then_some(decision_no),
        fine_cents: fine_yuan.map(|y| y * 100),
        legal_basis: Some(t.category_text(category).legal_basis.clone()),
        penalty_kinds: penalty.kinds,
        ban_until: penalty.ban_until,
        listing_ground: penalty.ground,
        recorded_by: authority.officials[rng.gen_range(0..2)].clone(),
        authority_id: authority.org_id.clone(),
        recorded_at,
        id,
        related_subject_ids: Vec::new(),
    }
    .into_row()
}

/// What a generated listing's documents need once its subject exists.
struct ToDocument {
    listing: Listing,
    basis: Vec<Violation>,
    authority: usize,
    record: ProcedureRecord,
}

/// The listing procedure replayed step by step through `domain::procedure`,
/// each step judged on the day it happened, and stored through the same
/// `service::listings::materialize` as the use cases.
#[allow(clippy::too_many_arguments)]
fn listing(
    ctx: &Run,
    rng: &mut StdRng,
    ids: &mut Ids,
    index: u64,
    subject_id: &str,
    anchor: bool,
    authority_index: usize,
    fate: Fate,
    own: &mut Vec<Violation>,
    evidence: &mut Vec<Evidence>,
    batch: &mut Batch,
) -> Result<ToDocument, ProcedureError> {
    let t = &ctx.tables;
    let today = ctx.today;
    let authority = &ctx.authorities[authority_index];
    // The window of the latest basis decision, so that every later step lands where the fate needs it.
    let (from, to) = match fate {
        Fate::Active => (days_before(today, 1090), days_before(today, 90)),
        Fate::Expired => (days_before(today, 1825), days_before(today, 1100 + 90)),
        Fate::Removed => (days_before(today, 1090), days_before(today, 365 + 170)),
        Fate::Revoked => (days_before(today, 1090), days_before(today, 150)),
        Fate::NotListed => (days_before(today, 1825), days_before(today, 90)),
        Fate::Noticed => (days_before(today, 60), days_before(today, 22)),
        Fate::Proposed => (days_before(today, 40), days_before(today, 1)),
    };
    let latest = date_between(rng, from, to);
    // The latest penalty may still be pending at the notice (Order 44 art. 13: the
    // listing runs with the penalty procedure): decided with the listing, or not yet.
    let pending = match fate {
        Fate::Proposed | Fate::Noticed => rng.gen_bool(0.4),
        Fate::Active | Fate::Expired | Fate::Removed | Fate::Revoked => rng.gen_bool(0.3),
        Fate::NotListed => false,
    };
    // An especially serious violation, or two or three serious ones within a year;
    // each with a heavier penalty for an act Order 44 names.
    let especially = rng.gen_bool(0.4);
    let mut basis: Vec<Violation> = Vec::new();
    let count = if especially { 1 } else { rng.gen_range(2..=3) };
    for k in 0..count {
        let decided_on = if k == 0 {
            latest
        } else {
            days_before(latest, rng.gen_range(20..330)).max(days_before(today, 5 * 365))
        };
        let severity = if especially {
            Severity::EspeciallySerious
        } else {
            Severity::Serious
        };
        let category = t.category[t.category_index.sample(rng)];
        let long_ban = fate == Fate::Active;
        let penalty = listing_penalty(ctx, rng, (severity, category), decided_on, anchor, long_ban);
        basis.push(violation(
            ctx,
            rng,
            ids,
            subject_id,
            authority,
            (category, severity),
            decided_on,
            pending && k == 0,
            penalty,
            evidence,
        ));
    }
    let basis_recorded = basis[0].recorded_at;
    let [first, second] = &authority.officials;
    let (a, b) = if rng.gen_bool(0.5) {
        (first.clone(), second.clone())
    } else {
        (second.clone(), first.clone())
    };
    let official = |id: &str| -> (String, String) { (id.to_owned(), authority.org_id.clone()) };
    let (a_id, a_org) = official(&a);
    let (b_id, b_org) = official(&b);
    let proposer = Official {
        id: &a_id,
        organization_id: &a_org,
    };
    let decider = Official {
        id: &b_id,
        organization_id: &b_org,
    };
    // The system proposes on recording an especially serious violation; officials propose the rest.
    let by_system = especially && rng.gen_bool(0.7);
    let proposed_by = (!by_system).then(|| a.clone());
    let proposed_on = if by_system {
        basis_recorded.date().max(latest)
    } else {
        days_after(basis_recorded.date(), rng.gen_range(3..25)).min(today)
    };
    let reason = if by_system {
        "系统自动提议 (proposed by the system): 情节特别严重的违法行为，受到较重行政处罚 (an especially serious violation with a heavier penalty)".to_owned()
    } else {
        format!(
            "一年内{}次严重违法行为（{}），受到较重行政处罚，情节严重、社会影响恶劣 ({} serious violations within a year, each with a heavier penalty)",
            count,
            t.category_text(basis[0].category).label,
            count
        )
    };
    let considerations = if by_system {
        Considerations::default()
    } else {
        Considerations {
            frequency: Some(format!("一年内{count}次")),
            penalty_type: Some("从重罚款".into()),
            social_impact: Some("直播间观看人数众多，社会影响较大".into()),
            ..Considerations::default()
        }
    };
    let created_at = if by_system {
        basis_recorded
    } else {
        stamp(rng, proposed_on, ctx.now)
    };
    let basis_ids: Vec<String> = basis.iter().map(|v| v.id.clone()).collect();
    let listing_id = ids.next();
    let (listing, proposal) = materialize_proposal(
        listing_id.clone(),
        Proposal {
            subject_id,
            violation_ids: &basis_ids,
            authority_id: &authority.org_id,
            reason: &reason,
            legal_basis: LISTING_REGULATION,
            considerations,
            no_intent_proven: false,
        },
        StepBy {
            user_id: proposed_by.as_deref(),
            organization_id: proposed_by.as_ref().map(|_| authority.org_id.as_str()),
            reason: Some(&reason),
            at: created_at,
        },
        ids.next(),
        proposed_on,
    );
    let mut facts = ListingFacts::proposed(
        proposed_by,
        basis
            .iter()
            .filter_map(|v| v.decided_on)
            .max()
            .unwrap_or(NaiveDate::MIN),
    );
    facts.authority_id = Some(authority.org_id.clone());
    facts.basis_pending = pending;
    facts.restriction_until = basis.iter().filter_map(|v| v.ban_until).max();
    let parent = authority
        .parent
        .filter(|_| authority.needs_consent())
        .map(|p| &ctx.authorities[p]);
    if let Some(parent) = parent {
        facts.consent = Consent::Needed {
            parent_id: parent.org_id.clone(),
            given: None,
        };
    }
    let mut steps = Replay {
        ctx,
        ids,
        facts,
        listing,
        rows: vec![proposal],
    };
    let mut record = ProcedureRecord::default();

    if fate != Fate::Proposed {
        let served_on = days_after(proposed_on, rng.gen_range(1..12)).min(today);
        let deadline = ctx
            .calendar
            .add_working_days(served_on, OBJECTION_WORKING_DAYS);
        steps.step(
            rng,
            procedure::notice(&steps.facts, served_on, deadline, &proposer, served_on),
            Some(&a),
            Some(&authority.org_id),
            None,
        )?;
        // Numbered per authority and year; the subject's index keeps them apart.
        steps.listing.notice_no = Some(format!(
            "{}市监列严告〔{}〕{}号",
            authority.abbr,
            served_on.year(),
            index + 1
        ));
        // Some parties object inside the window; some of them ask for a hearing.
        let window_end = deadline.min(today);
        let decided_on = days_after(deadline, rng.gen_range(1..20)).min(today);
        if rng.gen_bool(0.25) && window_end >= served_on {
            let received_on = date_between(rng, served_on, window_end);
            let hearing = rng.gen_bool(0.3);
            let reason = if hearing {
                "objection with a hearing request"
            } else {
                "objection"
            };
            let recorded_at = steps.step(
                rng,
                procedure::object(
                    &steps.facts,
                    received_on,
                    hearing,
                    Some(&decider),
                    received_on,
                ),
                Some(&b),
                Some(&authority.org_id),
                Some(reason),
            )?;
            batch.rows.objections.push(objection_row(
                &listing_id,
                t.pick(rng, &t.texts.objection_statements).clone(),
                received_on,
                hearing,
                Some(&b),
                recorded_at,
            ));
            record.statements.push((received_on, hearing));
            // The hearing is held or the request withdrawn before the decision;
            // a case still at the notice may be waiting for it.
            let closes = fate != Fate::Noticed || rng.gen_bool(0.5);
            if hearing && closes {
                let on = date_between(rng, received_on, decided_on.max(received_on));
                let held = rng.gen_bool(0.7);
                let summary = if held {
                    "听证会依法举行，当事人及其委托代理人到场陈述申辩，案件调查人员出示了证据 (the hearing was held)"
                } else {
                    "当事人书面撤回听证申请 (the hearing request was withdrawn)"
                };
                steps.step(
                    rng,
                    procedure::close_hearing(&steps.facts, held, on, &decider, on),
                    Some(&b),
                    Some(&authority.org_id),
                    Some(summary),
                )?;
                record.hearing = Some(HearingText { held, on });
            }
        }
        if fate != Fate::Noticed {
            let (outcome, reason) = if fate == Fate::NotListed {
                (
                    DecisionOutcome::NotList,
                    t.pick(rng, &t.texts.not_list_reasons),
                )
            } else {
                (DecisionOutcome::List, t.pick(rng, &t.texts.list_reasons))
            };
            if let (Some(parent), DecisionOutcome::List) = (parent, outcome) {
                // The parent bureau's head agrees before the decision (Order 44 art. 22).
                let given_on = date_between(rng, served_on, decided_on);
                let consenter = Official {
                    id: &parent.head,
                    organization_id: &parent.org_id,
                };
                let reason = "经审查，同意列入 (agreed)";
                let given_at = steps.step(
                    rng,
                    procedure::consent(&steps.facts, ConsentOutcome::Agree, &consenter, given_on),
                    Some(&parent.head),
                    Some(&parent.org_id),
                    Some(reason),
                )?;
                batch.rows.consents.push(ConsentRecord {
                    id: steps.ids.next(),
                    listing_id: listing_id.clone(),
                    organization_id: parent.org_id.clone(),
                    outcome: ConsentOutcome::Agree,
                    reason: reason.into(),
                    given_by: parent.head.clone(),
                    given_on,
                    given_at,
                });
                record.consent = Some((parent.org.name.clone(), given_on));
            }
            // A pending penalty is decided with the listing, the same day.
            let penalty_decision_no = (pending && outcome == DecisionOutcome::List).then(|| {
                format!(
                    "{}市监处罚〔{}〕{}号",
                    authority.abbr,
                    decided_on.year(),
                    rng.gen_range(3000..6000)
                )
            });
            let decision = Decision {
                outcome,
                decided_on,
                penalty_decided_on: penalty_decision_no.as_ref().map(|_| decided_on),
                penalty_decision_no_given: penalty_decision_no.is_some(),
                publication_due_by: ctx
                    .calendar
                    .add_working_days(decided_on, PUBLICATION_WORKING_DAYS),
            };
            let decided_at = steps.step(
                rng,
                procedure::decide(&steps.facts, &decision, &decider, decided_on),
                Some(&b),
                Some(&authority.org_id),
                Some(reason),
            )?;
            if let Some(number) = &penalty_decision_no {
                let at = decided_at.max(basis[0].recorded_at);
                basis[0].decide(number, decided_on, at, &b);
            }
            if outcome == DecisionOutcome::List {
                steps.listing.decision_no = Some(format!(
                    "{}市监列严决〔{}〕{}号",
                    authority.abbr,
                    decided_on.year(),
                    index + 1
                ));
                steps.listing.measures = crate::db::typed::Json(
                    grounds::measures().iter().map(|m| m.code.clone()).collect(),
                );
            }
            record.penalty_decision_no = penalty_decision_no;
        }
        match fate {
            Fate::Expired => {
                let ended_on = steps.listing.expires_on.map_or(today, |e| days_after(e, 1));
                steps.step(
                    rng,
                    procedure::expire(&steps.facts, "system", ended_on),
                    None,
                    None,
                    None,
                )?;
            }
            // A restriction imposed with the penalty that is still running
            // bars repair (Order 107 art. 13 ¶2): such a listing stays listed.
            Fate::Removed if repair_opens(&steps.facts, today) <= days_before(today, 3) => {
                // Repaired (Order 107): half the parties applied online in the
                // portal, half at the bureau; accepted, then approved by the head.
                let earliest = repair_opens(&steps.facts, today);
                let applied_on = date_between(rng, earliest, days_before(today, 45).max(earliest));
                let online = rng.gen_bool(0.5);
                let (applicant, recorded_by) = match online {
                    true => (None, None),
                    false => (Some(&proposer), Some(a.clone())),
                };
                let applied_at = steps.step(
                    rng,
                    procedure::apply_repair(&steps.facts, applied_on, applicant, applied_on),
                    recorded_by.as_deref(),
                    recorded_by.as_ref().map(|_| authority.org_id.as_str()),
                    Some("credit repair application"),
                )?;
                let accepted_on = ctx.calendar.add_working_days(applied_on, 1).min(today);
                let decided_on = ctx
                    .calendar
                    .add_working_days(accepted_on, rng.gen_range(1..=DECISION_WORKING_DAYS))
                    .min(today);
                let reason = "信用修复申请材料齐全，当事人已履行行政处罚并完成整改，准予移出 (repair approved)";
                steps.step(
                    rng,
                    procedure::decide_repair(
                        &steps.facts,
                        RepairOutcome::Approve,
                        decided_on,
                        &decider,
                        decided_on,
                    ),
                    Some(&b),
                    Some(&authority.org_id),
                    Some(reason),
                )?;
                let sha: [u8; 32] = rng.gen();
                let evidence = EvidenceItem {
                    sha256: hex::encode(sha),
                    media_type: "application/pdf".into(),
                    description: Some("罚款缴纳凭证及整改报告".into()),
                    uri: None,
                };
                batch.rows.repairs.push(Repair {
                    id: steps.ids.next(),
                    listing_id: listing_id.clone(),
                    subject_id: steps.listing.subject_id.clone(),
                    authority_id: Some(authority.org_id.clone()),
                    status: RepairStatus::Approved,
                    channel: if online { Channel::Online } else { Channel::InPerson },
                    statement: "当事人已缴清罚款、消除违法行为造成的不良影响 (penalty carried out, harm remedied)".into(),
                    commitment_text: "本人（单位）承诺今后严格遵守法律法规，诚信经营 (credit commitment)".into(),
                    commitment_signed_on: applied_on,
                    penalty_fulfilled: true,
                    harm_removed: true,
                    evidence: crate::db::typed::Json(vec![json!(evidence)]),
                    applied_on,
                    acceptance_due_by: Some(
                        ctx.calendar
                            .add_working_days(applied_on, ACCEPTANCE_WORKING_DAYS),
                    ),
                    recorded_by,
                    recorded_at: applied_at,
                    missing: crate::db::typed::Json(Vec::new()),
                    supplement_requested_on: None,
                    supplemented_on: None,
                    supplement_statement: None,
                    accepted_on: Some(accepted_on),
                    accepted_by: Some(b.clone()),
                    acceptance_reason: None,
                    decision_due_by: Some(
                        ctx.calendar
                            .add_working_days(accepted_on, DECISION_WORKING_DAYS),
                    ),
                    extended_on: None,
                    extended_by: None,
                    extension_reason: None,
                    decided_on: Some(decided_on),
                    decided_by: Some(b.clone()),
                    decision_reason: Some(reason.into()),
                    updated_at: steps.listing.updated_at,
                });
                // Repaired information stops being published and shared.
                for v in basis.iter_mut() {
                    v.repaired_on = Some(decided_on);
                }
            }
            Fate::Revoked => {
                // The penalties it rested on were annulled, so the system revoked it.
                let listed_on = steps.listing.listed_on.unwrap_or(today);
                let revoked_on = date_between(rng, days_after(listed_on, 20).min(today), today);
                let reason = "依据的行政处罚已撤销，余下的处罚不足以列入 (the penalties that carried the listing were annulled; Order 44 art. 19)";
                steps.step(
                    rng,
                    procedure::revoke(&steps.facts, reason, None, revoked_on),
                    None,
                    None,
                    Some(reason),
                )?;
                let revoked_at = steps.listing.updated_at;
                for v in basis.iter_mut() {
                    let at = revoked_at
                        .max(v.recorded_at)
                        .max(v.decided_at.unwrap_or(v.recorded_at));
                    v.revoke(revoked_on, at, &b, &t.texts.revocation_reasons[0]);
                }
            }
            _ => {}
        }
    }

    let Replay { listing, rows, .. } = steps;
    batch
        .rows
        .listing_violations
        .extend(basis.iter().map(|v| ListingViolation {
            listing_id: listing_id.clone(),
            violation_id: v.id.clone(),
        }));
    for step in rows {
        batch.rows.history.push(step.history);
        batch.events.extend(step.event);
        batch.version_delta += step.version_delta;
    }
    batch.rows.listings.push(listing.clone());
    let documented = ToDocument {
        listing,
        basis: basis.clone(),
        authority: authority_index,
        record,
    };
    own.extend(basis);
    Ok(documented)
}

/// The first day a listing may be repaired: the day after its first
/// anniversary, and after any restriction imposed with the penalty has run.
fn repair_opens(facts: &ListingFacts, today: NaiveDate) -> NaiveDate {
    let opens = procedure::repair_opens_on(facts.listed_on.unwrap_or(today));
    match facts.restriction_until {
        Some(until) => opens.max(days_after(until, 1)),
        None => opens,
    }
}

/// The documents a generated listing was served with, as the use cases
/// freeze them (`service::documents`).
fn documents_of(
    ctx: &Run,
    subject: &Subject,
    d: ToDocument,
    rows: &mut bulk::Rows,
) -> Result<(), ServiceError> {
    let with = DocumentParties {
        authority: &ctx.authorities[d.authority].org,
        party: subject,
        basis: &d.basis,
    };
    let l = &d.listing;
    if let Some(notice) = documents::notice_document(l, with) {
        let at = l.created_at.max(stamp_of(l.served_on));
        rows.documents.push(documents::stored(
            &l.id,
            DocumentKind::Notice,
            &notice.notice_no,
            &notice,
            at,
        )?);
    }
    if let Some(decision) = documents::decision_document(l, with, d.record) {
        let at = l.created_at.max(stamp_of(l.decided_on));
        rows.documents.push(documents::stored(
            &l.id,
            DocumentKind::Decision,
            &decision.decision_no,
            &decision,
            at,
        )?);
    }
    Ok(())
}

/// Noon (CST) of a day, as stored, for rows dated by their day.
fn stamp_of(day: Option<NaiveDate>) -> NaiveDateTime {
    day.map_or(NaiveDateTime::MIN, |d| {
        d.and_time(NaiveTime::MIN) + chrono::Duration::hours(4)
    })
}

/// A listing being generated, its facts for the rules, and the rows of its steps.
struct Replay<'a> {
    ctx: &'a Run,
    ids: &'a mut Ids,
    facts: ListingFacts,
    listing: Listing,
    rows: Vec<StepRows>,
}

impl Replay<'_> {
    /// Stores a transition the rules allowed, through the shared
    /// `materialize`; returns when it was entered. The dates were chosen to
    /// satisfy the rules, so a refusal is a bug here.
    fn step(
        &mut self,
        rng: &mut StdRng,
        transition: Result<Transition, ProcedureError>,
        user_id: Option<&str>,
        organization_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<NaiveDateTime, ProcedureError> {
        let t = transition?;
        self.facts.apply(&t);
        let at = stamp(rng, t.effective_on, self.ctx.now).max(self.listing.updated_at);
        let by = StepBy {
            user_id,
            organization_id,
            reason,
            at,
        };
        let rows = materialize(&mut self.listing, &t, by, self.ids.next(), t.effective_on);
        self.rows.push(rows);
        Ok(at)
    }
}

// ---------------------------------------------------------------------------
// People, shops, identifiers, accounts
// ---------------------------------------------------------------------------

/// A subject's names and identifiers.
struct Profile {
    name: String,
    aliases: Vec<String>,
    region_code: Option<String>,
    id_number: Option<StoredIdNumber>,
    uscc: Option<String>,
    /// Lower-case Latin letters for handles (`lijiaqi`, `meilifushi`).
    handle_base: String,
    /// Other handle stems (`xiaoli`, `meilistore`).
    handle_alternatives: Vec<String>,
}

struct Person {
    surname: String,
    surname_pinyin: String,
    given: String,
    female: bool,
}

impl Person {
    fn name(&self) -> String {
        format!("{}{}", self.surname, self.given)
    }

    fn given_pinyin(&self) -> String {
        pinyin_of(&self.given)
    }
}

/// Toneless pinyin of Han text (other characters kept as they are).
fn pinyin_of(text: &str) -> String {
    use pinyin::ToPinyin;
    text.chars()
        .map(|c| match c.to_pinyin() {
            Some(p) => p.plain().to_owned(),
            None => c.to_string(),
        })
        .collect()
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn person(rng: &mut StdRng, t: &Tables) -> Person {
    let (chars, pinyin, _) = &t.names.surnames[t.surname_index.sample(rng)];
    let female = rng.gen_bool(0.6);
    let pool = if female {
        &t.female_given
    } else {
        &t.male_given
    };
    let mut given = String::new();
    let two = rng.gen_bool(0.75);
    if two && rng.gen_bool(0.25) {
        given.push(*t.neutral_given.choose(rng).unwrap_or(&'子'));
    } else if two {
        given.push(*pool.choose(rng).unwrap_or(&'明'));
    }
    given.push(*pool.choose(rng).unwrap_or(&'明'));
    Person {
        surname: chars.clone(),
        surname_pinyin: pinyin.clone(),
        given,
        female,
    }
}

fn anchor_profile(ctx: &Run, rng: &mut StdRng, index: u64) -> Profile {
    let t = &ctx.tables;
    let p = person(rng, t);
    let surname_pinyin = p.surname_pinyin.as_str();
    let given_pinyin = p.given_pinyin();
    let chinese = p.name();
    let mut aliases = Vec::new();
    let latin = rng.gen_bool(0.1);
    let name = if latin {
        // An English first name with the surname, or the pinyin itself.
        let spelled = if rng.gen_bool(0.65) {
            let first = if p.female {
                t.pick(rng, &t.names.english_female)
            } else {
                t.pick(rng, &t.names.english_male)
            };
            format!("{first} {}", capitalized(surname_pinyin))
        } else {
            format!(
                "{} {}",
                capitalized(surname_pinyin),
                capitalized(&given_pinyin)
            )
        };
        if rng.gen_bool(0.5) {
            aliases.push(chinese.clone());
        }
        spelled
    } else {
        chinese.clone()
    };
    if rng.gen_bool(0.2) {
        let last_given: String = p.given.chars().last().map(String::from).unwrap_or_default();
        let candidates = [
            format!("{}{}", p.surname, if p.female { "姐" } else { "哥" }),
            format!(
                "小{}",
                if rng.gen_bool(0.5) {
                    p.surname.clone()
                } else {
                    last_given.clone()
                }
            ),
            format!(
                "{} {}",
                capitalized(surname_pinyin),
                capitalized(&given_pinyin)
            ),
            format!("{}{}", last_given, last_given),
            format!("老{}", p.surname),
            format!("{}{}", chinese, if p.female { "宝宝" } else { "严选" }),
        ];
        for _ in 0..if rng.gen_bool(0.2) { 2 } else { 1 } {
            if let Some(alias) = candidates.choose(rng) {
                if *alias != name && !aliases.contains(alias) {
                    aliases.push(alias.clone());
                }
            }
        }
    }

    // A valid resident ID, unique by construction: a permutation of the
    // subject index picks the (birth date, sequence) pair; the sex digit follows the person.
    let region = &t.names.anchor_regions[t.anchor_region_index.sample(rng)].0;
    let first_day = NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or(NaiveDate::MIN);
    let p_index = permute(index, t.birth_days * 500, mix(ctx.seed, 0x1D));
    let birth = days_after(first_day, p_index / 500);
    let sequence = p_index % 500;
    let sex_digit = (sequence % 5) * 2 + u64::from(!p.female);
    let first17 = format!(
        "{region}{}{:02}{sex_digit}",
        birth.format("%Y%m%d"),
        sequence / 5
    );
    let check = ResidentId::check_char(&first17).unwrap_or('0');
    let id_number = ResidentId::parse_on(&format!("{first17}{check}"), ctx.today)
        .ok()
        .map(|id| StoredIdNumber::of(&id, &ctx.pepper));
    // Most anchors work where they are registered; some moved to the live-commerce hubs.
    let region_code = if rng.gen_bool(0.8) {
        region.clone()
    } else {
        t.names.cities[t.city_index.sample(rng)].1.clone()
    };
    let letters = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_lowercase())
            .take(16)
            .collect()
    };
    Profile {
        handle_base: letters(&if latin {
            name.clone()
        } else {
            format!("{surname_pinyin}{given_pinyin}")
        }),
        handle_alternatives: vec![
            letters(&format!("xiao{given_pinyin}")),
            letters(&format!(
                "{given_pinyin}{}",
                if p.female { "jie" } else { "ge" }
            )),
            letters(&format!(
                "{surname_pinyin}{}",
                if p.female { "meimei" } else { "laoshi" }
            )),
        ],
        name,
        aliases,
        region_code: Some(region_code),
        id_number,
        uscc: None,
    }
}

/// A merchant, an MCN or a live-room operator (MCNs and operators are
/// companies with Chinese names).
fn business_profile(ctx: &Run, rng: &mut StdRng, index: u64, kind: SubjectKind) -> Profile {
    let t = &ctx.tables;
    let (city, region, _) = &t.names.cities[t.city_index.sample(rng)];
    let brand = t.pick(rng, &t.names.brands).as_str();
    let industry = t.pick(rng, &t.names.industries).as_str();
    let brand_pinyin = pinyin_of(brand);
    let merchant = kind == SubjectKind::Merchant;
    let enterprise = rng.gen_bool(0.75) || !merchant;
    let english = rng.gen_bool(0.1) && merchant;
    let suffixes: &[&str] = match kind {
        SubjectKind::Mcn => &["文化传媒有限公司", "网络科技有限公司", "传媒有限公司"],
        SubjectKind::RoomOperator => &["直播运营有限公司", "电子商务有限公司"],
        _ => &[
            "有限公司",
            "商贸有限公司",
            "电子商务有限公司",
            "科技有限公司",
        ],
    };
    let name = if english {
        format!(
            "{} {} {}",
            t.pick(rng, &t.names.english_adjectives),
            t.pick(rng, &t.names.english_nouns),
            t.pick(rng, &t.names.english_shop_types)
        )
    } else if enterprise {
        let city_part = if rng.gen_bool(0.5) {
            format!("{city}市")
        } else {
            city.clone()
        };
        let suffix = *suffixes.choose(rng).unwrap_or(&"有限公司");
        let industry = if suffix == "有限公司" {
            industry
        } else {
            ""
        };
        format!("{city_part}{brand}{industry}{suffix}")
    } else {
        let suffix = *["经营部", "商行", "网店", "工作室"]
            .choose(rng)
            .unwrap_or(&"商行");
        format!("{city}市{brand}{industry}{suffix}")
    };
    let mut aliases = Vec::new();
    if rng.gen_bool(0.2) {
        let candidates = [
            format!("{brand}旗舰店"),
            format!("{brand}官方直播间"),
            format!("{brand}{industry}"),
            format!("{brand}严选"),
            format!(
                "{} {}",
                capitalized(&brand_pinyin),
                capitalized(&pinyin_of(industry))
            ),
        ];
        if let Some(alias) = candidates.choose(rng) {
            if *alias != name {
                aliases.push(alias.clone());
            }
        }
    }
    // GB 32100: registration authority 9 (market regulation), type 1 (enterprise) or 2
    // (individual business), region, a 9-character organization code, the check character.
    let code = organization_code(permute(index, 31u64.pow(6), mix(ctx.seed, 0x05CC)));
    let first17 = format!("9{}{region}{code}", if enterprise { '1' } else { '2' });
    let check = Uscc::check_char(&first17).unwrap_or('0');
    let uscc = Uscc::parse(&format!("{first17}{check}"))
        .ok()
        .map(|u| u.as_str().to_owned());
    let handle_base: String = if english {
        name.chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_lowercase())
            .take(16)
            .collect()
    } else {
        brand_pinyin.clone()
    };
    Profile {
        handle_alternatives: vec![
            format!("{brand_pinyin}shop"),
            format!("{brand_pinyin}guanfang"),
            format!("{}{}", brand_pinyin, pinyin_of(industry))
                .chars()
                .take(16)
                .collect(),
        ],
        handle_base,
        name,
        aliases,
        region_code: Some(region.clone()),
        id_number: None,
        uscc,
    }
}

/// A GB 11714 organization code for `n` < 31^6: `MA` (the prefix of codes
/// issued since the 2015 reform), six characters, and its check character.
fn organization_code(mut n: u64) -> String {
    let mut body = [b'0'; 6];
    for slot in body.iter_mut().rev() {
        *slot = USCC_ALPHABET[(n % 31) as usize];
        n /= 31;
    }
    let mut code = String::from("MA");
    code.push_str(std::str::from_utf8(&body).unwrap_or("000000"));
    code.push(organization_code_check(&code));
    code
}

/// 1–3 accounts on different platforms; handles are unique in the whole
/// dataset: each ends in a permutation of (subject index, account number),
/// after a `_` or `.` that no other part of a handle holds, or is a platform
/// prefix and ten digits.
fn accounts_for(ctx: &Run, rng: &mut StdRng, index: u64, profile: &Profile) -> Vec<Account> {
    let t = &ctx.tables;
    let wanted = *[1, 1, 1, 1, 2, 2, 2, 3, 3, 2].choose(rng).unwrap_or(&1);
    let mut platforms: Vec<(&str, &str)> = Vec::new();
    while platforms.len() < wanted {
        let p = &t.names.platforms[t.platform_index.sample(rng)];
        if !platforms.iter().any(|q| q.0 == p.0) {
            platforms.push((p.0.as_str(), p.1.as_str()));
        }
    }
    let mut accounts = Vec::new();
    for (j, (platform, prefix)) in platforms.into_iter().enumerate() {
        let n = index * 4 + j as u64;
        let stem = if rng.gen_bool(0.6) || profile.handle_alternatives.is_empty() {
            profile.handle_base.as_str()
        } else {
            profile.handle_alternatives[rng.gen_range(0..profile.handle_alternatives.len())]
                .as_str()
        };
        let stem = if stem.is_empty() { "user" } else { stem };
        let handle = match rng.gen_range(0..10) {
            0..=4 => format!("{stem}_{}", base36(scramble(n, 36, mix(ctx.seed, 0x4A)), 7)),
            5..=7 => format!("{stem}.{}", base36(scramble(n, 36, mix(ctx.seed, 0x4B)), 7)),
            _ => format!("{prefix}{:010}", scramble(n, 33, mix(ctx.seed, 0x4C))),
        };
        if let Ok(account) = Account::parse(platform, &handle) {
            accounts.push(account);
        }
    }
    accounts
}

fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/// The demo's name and text tables, from `assets/demo-data.toml`.
const DEMO_DATA: &str = include_str!("../assets/demo-data.toml");

/// What `assets/demo-data.toml` holds.
#[derive(Debug, Deserialize)]
struct NameTables {
    /// (characters, pinyin, weight per ten thousand).
    surnames: Vec<(String, String, u32)>,
    female_given: String,
    male_given: String,
    neutral_given: String,
    english_female: Vec<String>,
    english_male: Vec<String>,
    english_adjectives: Vec<String>,
    english_nouns: Vec<String>,
    english_shop_types: Vec<String>,
    brands: Vec<String>,
    industries: Vec<String>,
    products: Vec<String>,
    /// (name, district code, weight).
    cities: Vec<(String, String, u32)>,
    /// (district or county code, weight).
    anchor_regions: Vec<(String, u32)>,
    /// (platform, numeric-handle prefix, weight).
    platforms: Vec<(String, String, u32)>,
    categories: BTreeMap<Category, CategoryText>,
    texts: Texts,
    regulators: Vec<Regulator>,
}

#[derive(Debug, Deserialize)]
struct CategoryText {
    /// How the category reads in a listing's reason.
    label: String,
    /// The law usually broken.
    legal_basis: String,
    /// The ground of Order 44 art. 5–11 a serious case falls under.
    ground: String,
}

#[derive(Debug, Deserialize)]
struct Texts {
    /// (media type, file extension, description).
    evidence_kinds: Vec<(String, String, String)>,
    revocation_reasons: Vec<String>,
    objection_statements: Vec<String>,
    list_reasons: Vec<String>,
    not_list_reasons: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Regulator {
    name: String,
    /// For decision numbers: 杭 → 杭市监处罚〔2024〕12号.
    abbreviation: String,
    /// For the officials' e-mail addresses.
    slug: String,
    /// The region it covers; none for the national regulator.
    region_code: Option<String>,
    level: OrganizationLevel,
    /// The slug of the parent bureau (listed before it).
    parent: Option<String>,
}

/// The tables and their weighted choices, built once per run.
struct Tables {
    names: NameTables,
    texts: Texts,
    regulators: Vec<Regulator>,
    female_given: Vec<char>,
    male_given: Vec<char>,
    neutral_given: Vec<char>,
    surname_index: WeightedIndex<u32>,
    anchor_region_index: WeightedIndex<u32>,
    city_index: WeightedIndex<u32>,
    platform_index: WeightedIndex<u32>,
    category: [Category; 7],
    category_index: WeightedIndex<u32>,
    ordinary_severity: [Severity; 3],
    ordinary_severity_index: WeightedIndex<u32>,
    birth_days: u64,
}

impl Tables {
    fn load() -> anyhow::Result<Self> {
        let mut names: NameTables =
            toml::from_str(DEMO_DATA).context("reading assets/demo-data.toml")?;
        for c in Category::ALL {
            match names.categories.get(&c) {
                None => bail!("assets/demo-data.toml has no texts for the category {c}"),
                Some(text) if grounds::ground(&text.ground).is_none() => bail!(
                    "assets/demo-data.toml: the category {c} names `{}`, no ground of Order 44",
                    text.ground
                ),
                Some(_) => {}
            }
        }
        if names.regulators.is_empty() || names.texts.revocation_reasons.is_empty() {
            bail!("assets/demo-data.toml needs regulators and revocation reasons");
        }
        let weights = |w: Vec<u32>| WeightedIndex::new(w).context("weights");
        let first = NaiveDate::from_ymd_opt(1960, 1, 1).context("date")?;
        let last = NaiveDate::from_ymd_opt(2004, 12, 31).context("date")?;
        let texts = std::mem::replace(
            &mut names.texts,
            Texts {
                evidence_kinds: Vec::new(),
                revocation_reasons: Vec::new(),
                objection_statements: Vec::new(),
                list_reasons: Vec::new(),
                not_list_reasons: Vec::new(),
            },
        );
        let regulators = std::mem::take(&mut names.regulators);
        Ok(Self {
            surname_index: weights(names.surnames.iter().map(|s| s.2).collect())?,
            anchor_region_index: weights(names.anchor_regions.iter().map(|r| r.1).collect())?,
            city_index: weights(names.cities.iter().map(|c| c.2).collect())?,
            platform_index: weights(names.platforms.iter().map(|p| p.2).collect())?,
            female_given: names.female_given.chars().collect(),
            male_given: names.male_given.chars().collect(),
            neutral_given: names.neutral_given.chars().collect(),
            // Most cases are false advertising; then substandard goods, price fraud, after-sales.
            category: Category::ALL,
            category_index: weights(vec![35, 14, 7, 10, 15, 13, 6])?,
            // Mostly minor or general; serious now and then; especially serious
            // only where a listing rests on it (the system proposes one at once).
            ordinary_severity: [Severity::Minor, Severity::General, Severity::Serious],
            ordinary_severity_index: weights(vec![55, 37, 8])?,
            birth_days: u64::try_from((last - first).num_days() + 1).unwrap_or(1),
            names,
            texts,
            regulators,
        })
    }

    fn pick<'a, T>(&self, rng: &mut StdRng, items: &'a [T]) -> &'a T {
        &items[rng.gen_range(0..items.len())]
    }

    fn category_text(&self, category: Category) -> &CategoryText {
        &self.names.categories[&category]
    }

    fn description(&self, rng: &mut StdRng, category: Category) -> String {
        let product = self.pick(rng, &self.names.products);
        let platform = *self.pick(
            rng,
            &["抖音", "快手", "淘宝直播", "小红书", "视频号", "京东直播"],
        );
        match category {
            Category::FalseAdvertising => format!(
                "在{platform}直播中宣称{product}{}，与实际不符，构成虚假宣传",
                self.pick(
                    rng,
                    &[
                        "具有治疗功效",
                        "七天见效",
                        "纯天然无添加",
                        "为进口正品",
                        "获国家认证"
                    ]
                )
            ),
            Category::PriceFraud => format!(
                "在{platform}直播间虚构{product}原价{}元，以“直播专享价”诱导消费者购买",
                rng.gen_range(2..60) * 100
            ),
            Category::OffPlatformTransaction => {
                format!("在{platform}直播中引导消费者添加私人微信，绕开平台私下交易{product}")
            }
            Category::DataFraud => format!(
                "通过刷单、虚假评价等方式虚构{product}销量{}余件，误导消费者",
                rng.gen_range(1..100) * 1000
            ),
            Category::SubstandardProduct => format!(
                "在{platform}直播销售的{product}经抽检不合格（{}）",
                self.pick(
                    rng,
                    &[
                        "标签标识不符合国家标准",
                        "有效成分含量不足",
                        "微生物超标",
                        "质量指标不合格"
                    ]
                )
            ),
            Category::AfterSalesRefusal => format!(
                "拒不履行七日无理由退货义务，拒绝为{}名消费者退换{product}",
                rng.gen_range(3..200)
            ),
            Category::Other => format!(
                "在{platform}直播中{}",
                self.pick(
                    rng,
                    &[
                        "使用“最高级”“国家级”等广告禁用语",
                        "未依法亮照亮证经营",
                        "未按规定公示营业执照信息"
                    ]
                )
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::procedure::Status;
    use crate::domain::scoring::MAX_SCORE;
    use std::collections::HashSet;

    fn context(seed: u64, authorities: usize) -> Run {
        let now = Utc::now();
        let tables = Tables::load().unwrap();
        Run {
            seed,
            subjects: 2000,
            violations_per_subject: 1.0,
            today: today_cst(now),
            now: now.naive_utc(),
            run_millis: 1_700_000_000_000,
            pepper: b"a pepper of at least thirty-two bytes".to_vec(),
            calendar: Calendar::builtin().unwrap(),
            policy: ScoringPolicy::v1(),
            authorities: (0..authorities)
                .map(|i| {
                    let r = &tables.regulators[i];
                    // Parents come first in the table.
                    let parent = r.parent.as_deref().map(|slug| {
                        tables.regulators[..i]
                            .iter()
                            .position(|p| p.slug == slug)
                            .expect("the parent comes first")
                    });
                    Authority {
                        org: Organization {
                            id: format!("org-{i}"),
                            name: r.name.clone(),
                            kind: OrganizationKind::Regulator,
                            region_code: r.region_code.clone(),
                            created_at: now.naive_utc(),
                            level: crate::db::typed::Maybe(Some(r.level)),
                            parent_id: parent.map(|p| format!("org-{p}")),
                        },
                        org_id: format!("org-{i}"),
                        region_prefix: coverage(r.region_code.as_deref()),
                        abbr: r.abbreviation.clone(),
                        officials: [format!("u-{i}-a"), format!("u-{i}-b")],
                        head: format!("u-{i}-head"),
                        parent,
                        emails: Vec::new(),
                    }
                })
                .collect(),
            tables,
        }
    }

    #[test]
    fn scramble_and_permute_are_bijections() {
        for bits in [5u32, 12, 13] {
            let n = 1u64 << bits;
            let seen: HashSet<u64> = (0..n).map(|x| scramble(x, bits, 42)).collect();
            assert_eq!(seen.len() as u64, n);
            assert!(seen.iter().all(|y| *y < n));
        }
        let seen: HashSet<u64> = (0..1000).map(|x| permute(x, 1000, 7)).collect();
        assert_eq!(seen.len(), 1000);
        assert!(seen.iter().all(|y| *y < 1000));
    }

    #[test]
    fn ids_are_version_7_and_sorted() {
        let mut ids = Ids::for_subject(1_700_000_000_000, 3);
        let a = ids.next();
        let b = ids.next();
        let c = Ids::for_subject(1_700_000_000_000, 4).next();
        assert!(a < b && b < c);
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
    }

    #[test]
    fn organization_codes_follow_gb_11714() {
        // A published USCC, 91350100M000100Y43: organization code M000100Y-4.
        assert_eq!(organization_code_check("M000100Y"), '4');
        assert_eq!(Uscc::check_char("91350100M000100Y4"), Some('3'));
        let code = organization_code(31u64.pow(6) - 1);
        assert_eq!(code.len(), 9);
        assert!(code.starts_with("MAYYYYYY"));
    }

    #[test]
    fn subjects_are_valid_unique_and_deterministic() {
        let ctx = context(9, 6);
        let batch = generate_batch(&ctx, 0, 0..2000).unwrap();
        let again = generate_batch(&ctx, 0, 0..2000).unwrap();
        let names: Vec<&str> = batch
            .rows
            .subjects
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let names_again: Vec<&str> = again
            .rows
            .subjects
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, names_again);
        // Split into other batches, the same subjects come out.
        let halves: Vec<String> = [0..700, 700..2000]
            .into_iter()
            .enumerate()
            .flat_map(|(i, r)| generate_batch(&ctx, i as u64, r).unwrap().rows.subjects)
            .map(|s| s.name)
            .collect();
        assert_eq!(names, halves.iter().map(String::as_str).collect::<Vec<_>>());

        let hashes: HashSet<_> = batch
            .rows
            .subjects
            .iter()
            .filter_map(|s| s.id_number_hash.clone())
            .collect();
        let anchors = batch
            .rows
            .subjects
            .iter()
            .filter(|s| s.kind == SubjectKind::Anchor)
            .count();
        assert_eq!(hashes.len(), anchors);
        let usccs: HashSet<_> = batch
            .rows
            .subjects
            .iter()
            .filter_map(|s| s.uscc.clone())
            .collect();
        assert_eq!(usccs.len(), batch.rows.subjects.len() - anchors);
        let keys: HashSet<_> = batch
            .rows
            .accounts
            .iter()
            .map(|a| a.account_key.clone())
            .collect();
        assert_eq!(keys.len(), batch.rows.accounts.len());
        assert!((0.6..0.8).contains(&(anchors as f64 / 2000.0)));
        let with_aliases: HashSet<_> = batch
            .rows
            .names
            .iter()
            .filter(|n| n.position > 0)
            .map(|n| &n.subject_id)
            .collect();
        assert!(
            (0.12..0.3).contains(&(with_aliases.len() as f64 / 2000.0)),
            "{}",
            with_aliases.len()
        );
        let latin = batch
            .rows
            .subjects
            .iter()
            .filter(|s| s.name.is_ascii())
            .count();
        assert!((0.05..0.15).contains(&(latin as f64 / 2000.0)), "{latin}");
        assert!(batch
            .rows
            .subjects
            .iter()
            .all(|s| s.region_code.as_deref().is_some_and(|r| r.len() == 6)));
    }

    #[test]
    fn listings_follow_the_procedure_and_scores_match() {
        let ctx = context(3, 8);
        let batch = generate_batch(&ctx, 0, 0..2000).unwrap();
        let active = batch
            .rows
            .listings
            .iter()
            .filter(|l| l.status == Status::Listed && l.expires_on.is_some_and(|e| e > ctx.today))
            .count();
        assert_eq!(active, 20);
        let statuses: HashSet<&str> = batch
            .rows
            .listings
            .iter()
            .map(|l| l.status.as_str())
            .collect();
        for status in Status::ALL {
            assert!(statuses.contains(status.as_str()), "{status} missing");
        }
        for l in &batch.rows.listings {
            if l.decided_by.is_some() {
                assert_ne!(l.decided_by, l.proposed_by);
                assert_ne!(
                    l.decided_by,
                    l.noticed_by.clone().filter(|_| l.proposed_by.is_none())
                );
                // Three years, or the end of a longer practice ban (Order 44 art. 21).
                if let Some(listed_on) = l.listed_on {
                    assert!(l
                        .expires_on
                        .is_some_and(|e| e >= procedure::add_years(listed_on, 3)));
                    assert!(l.decision_no.is_some() && !l.measures.is_empty());
                    assert_eq!(l.published_on, Some(listed_on));
                }
                assert!(l.decided_on > l.objection_deadline);
                assert_eq!(
                    l.objection_deadline,
                    l.served_on.map(|s| ctx.calendar.add_working_days(s, 5))
                );
            }
            if l.status == Status::Expired {
                assert!(l.expires_on.is_some_and(|e| e <= ctx.today));
            }
            let steps: Vec<&str> = batch
                .rows
                .history
                .iter()
                .filter(|h| h.listing_id == l.id)
                .filter(|h| {
                    use procedure::Action::*;
                    !matches!(h.action, Object | Hearing | HearingWithdrawal | Consent)
                })
                .map(|h| h.action.as_str())
                .collect();
            let expected: &[&str] = match l.status.as_str() {
                "proposed" => &["propose"],
                "noticed" => &["propose", "notice"],
                "listed" | "not_listed" => &["propose", "notice", "decision"],
                "expired" => &["propose", "notice", "decision", "expire"],
                "removed" => &["propose", "notice", "decision", "repair", "repair_decision"],
                "revoked" => &["propose", "notice", "decision", "revoke"],
                other => panic!("unexpected status {other}"),
            };
            assert_eq!(steps, expected, "{}", l.status);
        }
        let severities: Vec<&str> = batch
            .rows
            .violations
            .iter()
            .map(|v| v.severity.as_str())
            .collect();
        let minor_or_general = severities
            .iter()
            .filter(|s| **s == "minor" || **s == "general")
            .count();
        assert!(minor_or_general as f64 / severities.len() as f64 > 0.75);
        let revoked = batch
            .rows
            .violations
            .iter()
            .filter(|v| v.status == ViolationStatus::Revoked)
            .count();
        assert!(revoked > 0 && (revoked as f64) < 0.06 * batch.rows.violations.len() as f64);
        for s in &batch.rows.subjects {
            let own: Vec<Violation> = batch
                .rows
                .violations
                .iter()
                .filter(|v| v.subject_id == s.id)
                .cloned()
                .collect();
            let expected = if own.is_empty() {
                MAX_SCORE
            } else {
                scoring::score(&ctx.policy, &scores::facts(&own), ctx.today).score
            };
            assert_eq!(s.score, expected);
            assert!(own
                .iter()
                .all(|v| v.decided_on.is_none_or(|d| d <= ctx.today)
                    && v.recorded_at >= s.created_at));
        }
        // v2: documents for every notice and decision; consent where the authority needs it;
        // pending penalties only where no decision was taken.
        for l in &batch.rows.listings {
            let doc = |kind: &str| {
                batch
                    .rows
                    .documents
                    .iter()
                    .any(|d| d.listing_id == l.id && d.kind == kind)
            };
            assert_eq!(l.notice_no.is_some(), doc("notice"));
            assert_eq!(l.decision_no.is_some(), doc("decision"));
            let authority = ctx
                .authorities
                .iter()
                .find(|a| Some(&a.org_id) == l.authority_id.as_ref())
                .expect("the authority");
            if l.listed_on.is_some() && authority.needs_consent() {
                assert!(batch.rows.consents.iter().any(|c| c.listing_id == l.id));
            }
        }
        let pending: Vec<&Violation> = batch
            .rows
            .violations
            .iter()
            .filter(|v| v.status == ViolationStatus::Pending)
            .collect();
        assert!(!pending.is_empty());
        assert!(pending
            .iter()
            .all(|v| v.decided_on.is_none() && v.heavier_penalty));
        assert!(batch.rows.violations.iter().any(|v| v.decided_at.is_some()));
        assert!(!batch.rows.consents.is_empty());
        // Events: one publication per decision to list, one end per ended listing.
        let published = batch
            .rows
            .listings
            .iter()
            .filter(|l| l.listed_on.is_some())
            .count();
        let ended = batch
            .rows
            .listings
            .iter()
            .filter(|l| l.listed_on.is_some() && l.status != Status::Listed)
            .count();
        assert_eq!(batch.events.len(), published + ended);
    }
}
