//! `livecredit demo-data`: deterministic, realistic synthetic data for demos
//! and benchmarks, written straight through the data layer in bulk.
//!
//! What it makes, per subject (70% anchors, 30% merchants):
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
use diesel::prelude::*;
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand::rngs::StdRng;
use serde_json::json;

use crate::app::load_calendar;
use crate::audit::{self, Actor, Event};
use crate::auth::password;
use crate::config::{DatabaseUrl, Settings};
use crate::db::accounts::{self, Organization, User};
use crate::db::listings::{HistoryEntry, Listing, Objection, RepairApplication};
use crate::db::registry::{
    name_key_rows, Evidence, NameKeyRow, Subject, SubjectAccount, SubjectName, Violation,
};
use crate::db::schema::{
    listing_history, listing_violations, listings, objections, repair_applications,
    subject_accounts, subject_name_keys, subject_names, subjects, violation_evidence, violations,
};
use crate::db::{publication, scores, write_tx, Db, DbConn};
use crate::domain::accounts::{check_password, OrganizationKind, Role};
use crate::domain::calendar::Calendar;
use crate::domain::identifiers::{Account, ResidentId, Uscc};
use crate::domain::procedure::{
    self, DecisionOutcome, ListingFacts, ProcedureError, RemovalReason, RepairOutcome, Status,
    Transition,
};
use crate::domain::registry::today_cst;
use crate::domain::scoring::{self, Band, Category, ScoringPolicy, Severity, MAX_SCORE};
use crate::events::{self, NewEvent};
use crate::workflows::LISTING_REGULATION;

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
/// Rows per multi-row INSERT: within SQLite's 32,766 and PostgreSQL's 65,535 bind parameters.
const INSERT_CHUNK: usize = 1000;

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
    pub merchants: u64,
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
        let kinds = format!("anchors {}, merchants {}", self.anchors, self.merchants);
        let revoked = format!("revoked {}", self.revoked_violations);
        let audit = format!(
            "one per batch and row family ({} batches), one per organization and user",
            self.batches
        );
        let none = String::new;
        let lines: [(&str, u64, String); 15] = [
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
    let mut pooled = db
        .conn()
        .map_err(|e| anyhow::anyhow!("connecting to the database: {}", e.problem().detail))?;
    let conn: &mut DbConn = &mut pooled;
    crate::db::check_pepper(conn, settings.id_pepper.bytes())?;
    write_tx(conn, scores::ensure_default_policy)?;
    let existing: i64 = subjects::table.count().get_result(conn)?;
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
    let (authorities, setup_audit) =
        write_tx(conn, |c| create_authorities(c, &opts, &password_hash))?;

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
        tables: Tables::new()?,
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
    write_tx(conn, |c| {
        audit::append(
            c,
            &Actor::system(),
            Event {
                action: "demo.completed",
                target_type: "demo",
                target_id: &format!("seed-{}", summary.seed),
                details,
            },
        )
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
    let (sender, receiver) = mpsc::sync_channel::<Result<Batch, ProcedureError>>(1);
    // Writers share the receiver; the one that stops on an error drops it so
    // that generators blocked on a full channel wake up and end too.
    let receiver = Mutex::new(Some(receiver));
    let shared = Mutex::new((summary, 0.05f64));
    let write = || -> anyhow::Result<()> {
        let mut pooled = db
            .conn()
            .map_err(|e| anyhow::anyhow!("connecting to the database: {}", e.problem().detail))?;
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
            let batch =
                batch.map_err(|e| anyhow::anyhow!("demo data broke a procedure rule: {e}"))?;
            let mut timings = BTreeMap::from([("waiting for generated data", waiting.elapsed())]);
            let counts = batch.counts();
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
    let mut conn = db.conn().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::db::registry::sync_all_listed_flags(&mut conn)
        .context("flagging the name keys of listed subjects")?;
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

/// A generated regulator: its organization and two officials.
#[derive(Debug, Clone)]
struct Authority {
    org_id: String,
    /// Prefix of the region codes it covers ("" for the national regulator).
    region_prefix: String,
    /// For decision numbers: 杭 → 杭市监处罚〔2024〕12号.
    abbr: &'static str,
    officials: [String; 2],
    emails: Vec<String>,
}

/// (name, abbreviation, e-mail slug, region code).
const REGULATORS: [(&str, &str, &str, Option<&str>); 12] = [
    ("国家市场监督管理总局", "国", "samr", None),
    ("浙江省市场监督管理局", "浙", "zhejiang", Some("330000")),
    ("杭州市市场监督管理局", "杭", "hangzhou", Some("330100")),
    ("广东省市场监督管理局", "粤", "guangdong", Some("440000")),
    ("广州市市场监督管理局", "穗", "guangzhou", Some("440100")),
    ("深圳市市场监督管理局", "深", "shenzhen", Some("440300")),
    ("上海市市场监督管理局", "沪", "shanghai", Some("310000")),
    ("北京市市场监督管理局", "京", "beijing", Some("110000")),
    ("江苏省市场监督管理局", "苏", "jiangsu", Some("320000")),
    ("义乌市市场监督管理局", "义", "yiwu", Some("330782")),
    ("四川省市场监督管理局", "川", "sichuan", Some("510000")),
    ("福建省市场监督管理局", "闽", "fujian", Some("350000")),
];

/// The part of a region code an authority covers: 330000 → "33", 330100 → "3301".
fn coverage(code: Option<&str>) -> String {
    match code {
        None => String::new(),
        Some(c) if c.ends_with("0000") => c[..2].to_owned(),
        Some(c) if c.ends_with("00") => c[..4].to_owned(),
        Some(c) => c.to_owned(),
    }
}

/// Creates 5–10 regulator organizations (reusing one of the same name) with two officials each.
fn create_authorities(
    conn: &mut DbConn,
    opts: &DemoOptions,
    password_hash: &str,
) -> QueryResult<(Vec<Authority>, u64)> {
    let mut rng = StdRng::seed_from_u64(mix(opts.seed, 0x00A1_1CE5));
    let count = rng.gen_range(5..=10);
    let mut chosen: Vec<usize> = (1..REGULATORS.len()).collect();
    chosen.shuffle(&mut rng);
    chosen.truncate(count - 1);
    chosen.insert(0, 0); // the national regulator takes whatever no local one covers
    let now = Utc::now().naive_utc();
    let mut authorities = Vec::new();
    let mut entries = 0;
    for i in chosen {
        let (name, abbr, slug, region) = REGULATORS[i];
        let org = match accounts::find_organization_by_name(conn, name)? {
            Some(org) => org,
            None => {
                let org = Organization {
                    id: uuid::Uuid::now_v7().to_string(),
                    name: name.to_owned(),
                    kind: OrganizationKind::Regulator.as_str().to_owned(),
                    region_code: region.map(str::to_owned),
                    created_at: now,
                };
                accounts::insert_organization(conn, &org)?;
                audit::append(
                    conn,
                    &Actor::system(),
                    Event {
                        action: "organization.created",
                        target_type: "organization",
                        target_id: &org.id,
                        details: json!({"name": org.name, "kind": org.kind, "via": "demo-data"}),
                    },
                )?;
                entries += 1;
                org
            }
        };
        let mut officials = Vec::new();
        let mut emails = Vec::new();
        for n in 1..=2 {
            let email = format!("{slug}.official{n}@demo.livecredit.example");
            let user = match accounts::find_user_by_email(conn, &email)? {
                Some(user) => user,
                None => {
                    let person = person(&mut rng, &Tables::surname_index());
                    let user = User {
                        id: uuid::Uuid::now_v7().to_string(),
                        email: email.clone(),
                        password_hash: password_hash.to_owned(),
                        role: Role::Regulator.as_str().to_owned(),
                        organization_id: org.id.clone(),
                        display_name: Some(format!("{}{}", person.surname.0, person.given)),
                        disabled: false,
                        created_at: now,
                        updated_at: now,
                    };
                    accounts::insert_user(conn, &user)?;
                    audit::append(
                        conn,
                        &Actor::system(),
                        Event {
                            action: "user.created",
                            target_type: "user",
                            target_id: &user.id,
                            details: json!({"email": user.email, "role": user.role,
                                "organization_id": user.organization_id, "via": "demo-data"}),
                        },
                    )?;
                    entries += 1;
                    user
                }
            };
            officials.push(user.id);
            emails.push(email);
        }
        authorities.push(Authority {
            org_id: org.id,
            region_prefix: coverage(region),
            abbr,
            officials: [officials[0].clone(), officials[1].clone()],
            emails,
        });
    }
    Ok((authorities, entries))
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = listing_violations, treat_none_as_default_value = false)]
struct ListingViolation {
    listing_id: String,
    violation_id: String,
}

/// Writes `$rows` into `$table`: PostgreSQL binary `COPY` when `$copy`, else
/// multi-row INSERTs of at most [`INSERT_CHUNK`] rows.
macro_rules! bulk_insert {
    ($timings:expr, $conn:expr, $copy:expr, $name:literal, $table:expr, $rows:expr) => {{
        let rows = &$rows;
        let started = Instant::now();
        if !rows.is_empty() {
            let copied = match (&mut *$conn, $copy) {
                (DbConn::Pg(c), true) => {
                    diesel::copy_from($table).from_insertable(rows).execute(c)?;
                    true
                }
                _ => false,
            };
            if !copied {
                for chunk in rows.chunks(INSERT_CHUNK) {
                    $crate::insert_rows!(&mut *$conn, $table, chunk)?;
                }
            }
        }
        *$timings.entry($name).or_default() += started.elapsed();
    }};
}

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
    write_tx(conn, |c: &mut DbConn| -> QueryResult<()> {
        let t = &mut parts;
        bulk_insert!(t, c, copy, "subjects", subjects::table, batch.subjects);
        bulk_insert!(
            t,
            c,
            copy,
            "subject_names",
            subject_names::table,
            batch.names
        );
        bulk_insert!(
            t,
            c,
            copy,
            "subject_name_keys",
            subject_name_keys::table,
            batch.name_keys
        );
        bulk_insert!(
            t,
            c,
            copy,
            "subject_accounts",
            subject_accounts::table,
            batch.accounts
        );
        bulk_insert!(
            t,
            c,
            copy,
            "violations",
            violations::table,
            batch.violations
        );
        bulk_insert!(
            t,
            c,
            copy,
            "violation_evidence",
            violation_evidence::table,
            batch.evidence
        );
        bulk_insert!(t, c, copy, "listings", listings::table, batch.listings);
        bulk_insert!(
            t,
            c,
            copy,
            "listing_violations",
            listing_violations::table,
            batch.listing_violations
        );
        bulk_insert!(
            t,
            c,
            copy,
            "listing_history",
            listing_history::table,
            batch.history
        );
        bulk_insert!(
            t,
            c,
            copy,
            "objections",
            objections::table,
            batch.objections
        );
        bulk_insert!(
            t,
            c,
            copy,
            "repair_applications",
            repair_applications::table,
            batch.repairs
        );
        let rest = Instant::now();
        events::emit_all(c, batch.events)?;
        // Each published listing and each end of one changed the public list once.
        publication::bump(c, counts.events as i64)?;
        audit::append_all(c, &Actor::system(), audit_entries)?;
        *t.entry("events, list version, audit").or_default() += rest.elapsed();
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
    subjects: Vec<Subject>,
    anchors: u64,
    names: Vec<SubjectName>,
    name_keys: Vec<NameKeyRow>,
    accounts: Vec<SubjectAccount>,
    violations: Vec<Violation>,
    evidence: Vec<Evidence>,
    listings: Vec<Listing>,
    listing_violations: Vec<ListingViolation>,
    history: Vec<HistoryEntry>,
    objections: Vec<Objection>,
    repairs: Vec<RepairApplication>,
    events: Vec<NewEvent>,
}

#[derive(Debug, Default)]
struct Counts {
    subjects: u64,
    anchors: u64,
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
        let mut by_status = BTreeMap::new();
        for l in &self.listings {
            if let Ok(status) = l.status.parse::<Status>() {
                *by_status.entry(status.as_str()).or_default() += 1;
            }
        }
        Counts {
            subjects: self.subjects.len() as u64,
            anchors: self.anchors,
            names: self.names.len() as u64,
            name_keys: self.name_keys.len() as u64,
            accounts: self.accounts.len() as u64,
            violations: self.violations.len() as u64,
            revoked_violations: self
                .violations
                .iter()
                .filter(|v| v.status == "revoked")
                .count() as u64,
            evidence: self.evidence.len() as u64,
            listings: self.listings.len() as u64,
            by_status,
            listing_violations: self.listing_violations.len() as u64,
            history: self.history.len() as u64,
            objections: self.objections.len() as u64,
            repairs: self.repairs.len() as u64,
            events: self.events.len() as u64,
        }
    }

    /// One audit entry per row family of the batch.
    fn audit_entries<'a>(&self, c: &Counts, target_id: &'a str) -> Vec<Event<'a>> {
        let first = self.subjects.first().map(|s| s.id.clone());
        let last = self.subjects.last().map(|s| s.id.clone());
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
fn generate_batch(
    ctx: &Run,
    index: u64,
    range: std::ops::Range<u64>,
) -> Result<Batch, ProcedureError> {
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

/// In each block of [`FATE_BLOCK`] subjects: one active listing and two other fates, at random places.
fn fate_of(seed: u64, index: u64) -> Option<Fate> {
    let block = index / FATE_BLOCK;
    let mut rng = StdRng::seed_from_u64(mix(mix(seed, 0xFA7E), block));
    let mut places: Vec<u64> = (0..FATE_BLOCK).collect();
    let (chosen, _) = places.partial_shuffle(&mut rng, 3);
    let at = index % FATE_BLOCK;
    let pos = chosen.iter().position(|p| *p == at)?;
    Some(match pos {
        0 => Fate::Active,
        k => OTHER_FATES[((2 * block + k as u64 - 1) % OTHER_FATES.len() as u64) as usize],
    })
}

fn generate_subject(ctx: &Run, index: u64, batch: &mut Batch) -> Result<(), ProcedureError> {
    let t = &ctx.tables;
    let mut rng = StdRng::seed_from_u64(mix(ctx.seed, index));
    let mut ids = Ids::for_subject(ctx.run_millis, index);
    let subject_id = ids.next();
    let anchor = rng.gen_bool(0.7);

    let profile = if anchor {
        anchor_profile(ctx, &mut rng, index)
    } else {
        merchant_profile(ctx, &mut rng, index)
    };
    let authority = authority_for(ctx, &mut rng, profile.region_code.as_deref());

    // Violations first: they date the subject's registration.
    let mut own: Vec<Violation> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    let five_years_ago = days_before(ctx.today, 5 * 365);
    for _ in 0..poisson(&mut rng, ctx.violations_per_subject) {
        let decided_on = date_between(&mut rng, five_years_ago, ctx.today);
        let severity = t.ordinary_severity[t.ordinary_severity_index.sample(&mut rng)];
        let category = t.category[t.category_index.sample(&mut rng)];
        let v = violation(
            ctx,
            &mut rng,
            &mut ids,
            &subject_id,
            authority,
            category,
            severity,
            decided_on,
            &mut evidence,
        );
        own.push(v);
    }
    // ~2% revoked: the penalty annulled on review or appeal.
    for v in own.iter_mut() {
        if rng.gen_bool(0.02) {
            let revoked_on = date_between(
                &mut rng,
                v.recorded_at.date().max(v.decided_on),
                days_after(v.decided_on, 365).min(ctx.today),
            )
            .min(ctx.today);
            let at = stamp(&mut rng, revoked_on, ctx.now).max(v.recorded_at);
            v.status = "revoked".into();
            v.revoked_on = Some(revoked_on);
            v.revoked_at = Some(at);
            v.revoked_by = Some(authority.officials[rng.gen_range(0..2)].clone());
            v.revocation_reason = Some((*t.pick(&mut rng, &REVOCATION_REASONS)).to_owned());
        }
    }

    let fate = fate_of(ctx.seed, index);
    if let Some(fate) = fate {
        listing(
            ctx,
            &mut rng,
            &mut ids,
            &subject_id,
            authority,
            fate,
            &mut own,
            &mut evidence,
            batch,
        )?;
    }

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
    let (score, band, score_as_of) = if own.is_empty() {
        (MAX_SCORE, Band::A, None)
    } else {
        let report = scoring::score(&ctx.policy, &scores::facts(&own), ctx.today);
        (report.score, report.band, Some(ctx.today))
    };

    let names: Vec<SubjectName> = std::iter::once(&profile.name)
        .chain(&profile.aliases)
        .enumerate()
        .map(|(i, n)| SubjectName {
            subject_id: subject_id.clone(),
            position: i as i32,
            name: n.clone(),
        })
        .collect();
    batch.name_keys.extend(name_key_rows(&subject_id, &names));
    batch.names.extend(names);
    batch
        .accounts
        .extend(accounts_for(ctx, &mut rng, index, &subject_id, &profile));
    batch.subjects.push(Subject {
        id: subject_id,
        kind: if anchor { "anchor" } else { "merchant" }.into(),
        name: profile.name,
        region_code: profile.region_code,
        id_number_hash: profile.id_number_hash,
        id_number_masked: profile.id_number_masked,
        uscc: profile.uscc,
        created_by,
        created_at,
        updated_at: created_at.max(
            own.iter()
                .map(|v| v.recorded_at)
                .max()
                .unwrap_or(created_at),
        ),
        score,
        band: band.as_str().into(),
        score_as_of,
        policy_version: ctx.policy.version,
    });
    batch.anchors += u64::from(anchor);
    batch.violations.extend(own);
    batch.evidence.extend(evidence);
    Ok(())
}

/// The regulator for a region: the most local one that covers it, else the national one.
fn authority_for<'a>(ctx: &'a Run, rng: &mut StdRng, region: Option<&str>) -> &'a Authority {
    let region = region.unwrap_or("");
    let covering = ctx
        .authorities
        .iter()
        .filter(|a| region.starts_with(a.region_prefix.as_str()))
        .max_by_key(|a| a.region_prefix.len());
    match covering {
        // Now and then a case goes to another regulator (the platform's seat, a joint action).
        Some(a) if rng.gen_bool(0.9) => a,
        _ => &ctx.authorities[rng.gen_range(0..ctx.authorities.len())],
    }
}

#[allow(clippy::too_many_arguments)]
fn violation(
    ctx: &Run,
    rng: &mut StdRng,
    ids: &mut Ids,
    subject_id: &str,
    authority: &Authority,
    category: Category,
    severity: Severity,
    decided_on: NaiveDate,
    evidence: &mut Vec<Evidence>,
) -> Violation {
    let t = &ctx.tables;
    let id = ids.next();
    let recorded_on = days_after(decided_on, rng.gen_range(0..15)).min(ctx.today);
    let recorded_at = stamp(rng, recorded_on, ctx.now);
    let fine_yuan: Option<i64> = match severity {
        Severity::Minor if rng.gen_bool(0.5) => None,
        Severity::Minor => Some(rng.gen_range(5..50) * 100),
        Severity::General => Some(rng.gen_range(5..50) * 1000),
        Severity::Serious => Some(rng.gen_range(5..50) * 10_000),
        Severity::EspeciallySerious => Some(rng.gen_range(20..500) * 10_000),
    };
    if rng.gen_bool(0.35) {
        for position in 0..rng.gen_range(1..=3) {
            let (media_type, extension, description) = t.pick(rng, &EVIDENCE_KINDS);
            let sha: [u8; 32] = rng.gen();
            evidence.push(Evidence {
                violation_id: id.clone(),
                position,
                sha256: hex::encode(sha),
                media_type: (*media_type).to_owned(),
                description: Some((*description).to_owned()),
                uri: Some(format!(
                    "https://evidence.demo.livecredit.example/{}/{id}/{position}.{extension}",
                    decided_on.year()
                )),
            });
        }
    }
    Violation {
        subject_id: subject_id.to_owned(),
        category: category.as_str().into(),
        severity: severity.as_str().into(),
        decided_on,
        description: t.description(rng, category),
        decision_no: rng.gen_bool(0.85).then(|| {
            format!(
                "{}市监处罚〔{}〕{}号",
                authority.abbr,
                decided_on.year(),
                rng.gen_range(1..3000)
            )
        }),
        fine_cents: fine_yuan.map(|y| y * 100),
        legal_basis: Some(LEGAL_BASES[category as usize].to_owned()),
        status: "effective".into(),
        recorded_by: authority.officials[rng.gen_range(0..2)].clone(),
        authority_id: authority.org_id.clone(),
        recorded_at,
        revoked_on: None,
        revoked_at: None,
        revoked_by: None,
        revocation_reason: None,
        id,
    }
}

/// The listing procedure replayed step by step through `domain::procedure`,
/// each step judged on the day it happened.
#[allow(clippy::too_many_arguments)]
fn listing(
    ctx: &Run,
    rng: &mut StdRng,
    ids: &mut Ids,
    subject_id: &str,
    authority: &Authority,
    fate: Fate,
    own: &mut Vec<Violation>,
    evidence: &mut Vec<Evidence>,
    batch: &mut Batch,
) -> Result<(), ProcedureError> {
    let t = &ctx.tables;
    let today = ctx.today;
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
    // An especially serious violation, or two or three serious ones within a year.
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
        basis.push(violation(
            ctx, rng, ids, subject_id, authority, category, severity, decided_on, evidence,
        ));
    }
    let basis_recorded = basis[0].recorded_at;
    let [first, second] = &authority.officials;
    let (a, b) = if rng.gen_bool(0.5) {
        (first.clone(), second.clone())
    } else {
        (second.clone(), first.clone())
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
        "系统自动提议 (proposed by the system): 情节特别严重的违法行为 (an especially serious violation)".to_owned()
    } else {
        let category: Category = basis[0].category.parse().unwrap_or(Category::Other);
        format!(
            "一年内{}次严重违法行为（{}），情节严重、社会影响恶劣 ({} serious violations within a year)",
            count,
            CATEGORY_LABELS[category as usize],
            count
        )
    };
    let listing_id = ids.next();
    let created_at = if by_system {
        basis_recorded
    } else {
        stamp(rng, proposed_on, ctx.now)
    };
    let mut listing = Listing::proposed(
        listing_id.clone(),
        subject_id,
        reason.clone(),
        LISTING_REGULATION.into(),
        proposed_by.clone(),
        proposed_by.as_ref().map(|_| authority.org_id.clone()),
        created_at,
    );
    let mut history = vec![HistoryEntry {
        id: ids.next(),
        listing_id: listing_id.clone(),
        action: "propose".into(),
        from_status: None,
        to_status: Status::Proposed.as_str().into(),
        actor_user_id: proposed_by.clone(),
        effective_on: proposed_on,
        at: created_at,
        reason: Some(reason),
    }];
    let mut facts = ListingFacts::proposed(proposed_by, latest);
    let mut steps = Steps {
        ctx,
        ids,
        listing: &mut listing,
        facts: &mut facts,
        history: &mut history,
        events: &mut batch.events,
    };

    if fate != Fate::Proposed {
        let served_on = days_after(proposed_on, rng.gen_range(1..12)).min(today);
        let deadline = ctx
            .calendar
            .add_working_days(served_on, crate::api::listings::OBJECTION_WORKING_DAYS);
        steps.apply(
            rng,
            procedure::notice(steps.facts, served_on, deadline, &a, served_on),
            Some(a.clone()),
            None,
        )?;
        // Some parties object inside the window.
        let window_end = deadline.min(today);
        if rng.gen_bool(0.25) && window_end >= served_on {
            let received_on = date_between(rng, served_on, window_end);
            let hearing = rng.gen_bool(0.3);
            let recorder = b.clone();
            let reason = if hearing {
                "objection with a hearing request"
            } else {
                "objection"
            };
            let recorded_at = steps.apply(
                rng,
                procedure::object(steps.facts, received_on, &recorder, received_on),
                Some(recorder.clone()),
                Some(reason),
            )?;
            batch.objections.push(Objection {
                id: steps.ids.next(),
                listing_id: listing_id.clone(),
                statement: (*t.pick(rng, &OBJECTION_STATEMENTS)).to_owned(),
                received_on,
                hearing_requested: hearing,
                recorded_by: recorder,
                recorded_at,
            });
        }
        if fate != Fate::Noticed {
            let decided_on = days_after(deadline, rng.gen_range(1..20)).min(today);
            let (outcome, reason) = if fate == Fate::NotListed {
                (DecisionOutcome::NotList, *t.pick(rng, &NOT_LIST_REASONS))
            } else {
                (DecisionOutcome::List, *t.pick(rng, &LIST_REASONS))
            };
            steps.apply(
                rng,
                procedure::decide(steps.facts, outcome, decided_on, &b, decided_on),
                Some(b.clone()),
                Some(reason),
            )?;
            steps.listing.decision_reason = Some(reason.to_owned());
            // The deciding official's organization is the authority the public list names.
            steps.listing.authority_id = Some(authority.org_id.clone());
            if outcome == DecisionOutcome::List {
                steps.event(events::LISTING_PUBLISHED, decided_on);
            }
        }
        match fate {
            Fate::Expired => {
                let expires_on = steps.listing.expires_on.unwrap_or(today);
                steps.apply(
                    rng,
                    procedure::expire(steps.facts, "system", expires_on),
                    None,
                    None,
                )?;
                steps.event(events::LISTING_EXPIRED, expires_on);
            }
            Fate::Removed => {
                let listed_on = steps.listing.listed_on.unwrap_or(today);
                let earliest = procedure::add_years(listed_on, procedure::REPAIR_AFTER_YEARS);
                let applied_on = date_between(rng, earliest, days_before(today, 45).max(earliest));
                let applicant = a.clone();
                let applied_at = steps.apply(
                    rng,
                    procedure::apply_repair(steps.facts, applied_on, &applicant, applied_on),
                    Some(applicant.clone()),
                    Some("credit repair application"),
                )?;
                let decided_on = days_after(applied_on, rng.gen_range(10..40)).min(today);
                let reason = "信用修复申请材料齐全，当事人已履行行政处罚并完成整改，准予移出 (repair approved)";
                steps.apply(
                    rng,
                    procedure::decide_repair(
                        steps.facts,
                        RepairOutcome::Approve,
                        decided_on,
                        &b,
                        decided_on,
                    ),
                    Some(b.clone()),
                    Some(reason),
                )?;
                steps.listing.removal_reason = Some(RemovalReason::CreditRepair.as_str().into());
                steps.event(events::LISTING_REMOVED, decided_on);
                let sha: [u8; 32] = rng.gen();
                batch.repairs.push(RepairApplication {
                    id: steps.ids.next(),
                    listing_id: listing_id.clone(),
                    statement: "当事人已缴清罚款、消除违法行为造成的不良影响，并作出信用承诺 (penalty carried out, harm remedied, credit pledge made)".into(),
                    evidence: json!([{"sha256": hex::encode(sha), "media_type": "application/pdf",
                        "description": "罚款缴纳凭证及整改报告", "uri": null}])
                    .to_string(),
                    applied_on,
                    recorded_by: applicant,
                    recorded_at: applied_at,
                    outcome: Some(RepairOutcome::Approve.as_str().into()),
                    decided_by: Some(b.clone()),
                    decided_on: Some(decided_on),
                    decision_reason: Some(reason.into()),
                });
            }
            Fate::Revoked => {
                // The penalties it rested on were annulled, so the system revoked it.
                let listed_on = steps.listing.listed_on.unwrap_or(today);
                let revoked_on = date_between(rng, days_after(listed_on, 20).min(today), today);
                let reason =
                    "依据的违法行为均已撤销 (every violation the listing rests on was revoked)";
                steps.apply(
                    rng,
                    procedure::revoke(steps.facts, reason, "system", revoked_on),
                    None,
                    Some(reason),
                )?;
                steps.event(events::LISTING_REVOKED, revoked_on);
                let revoked_at = steps.listing.updated_at;
                for v in basis.iter_mut() {
                    v.status = "revoked".into();
                    v.revoked_on = Some(revoked_on);
                    v.revoked_at = Some(revoked_at.max(v.recorded_at));
                    v.revoked_by = Some(b.clone());
                    v.revocation_reason = Some(REVOCATION_REASONS[0].into());
                }
            }
            _ => {}
        }
    }

    batch
        .listing_violations
        .extend(basis.iter().map(|v| ListingViolation {
            listing_id: listing_id.clone(),
            violation_id: v.id.clone(),
        }));
    batch.history.extend(history);
    batch.listings.push(listing);
    own.extend(basis);
    Ok(())
}

/// Applies procedure transitions to a listing being generated, with its history and events.
struct Steps<'a> {
    ctx: &'a Run,
    ids: &'a mut Ids,
    listing: &'a mut Listing,
    facts: &'a mut ListingFacts,
    history: &'a mut Vec<HistoryEntry>,
    events: &'a mut Vec<NewEvent>,
}

impl Steps<'_> {
    /// Stores a transition the rules allowed; returns when it was entered.
    /// The dates were chosen to satisfy the rules, so a refusal is a bug here.
    fn apply(
        &mut self,
        rng: &mut StdRng,
        transition: Result<Transition, ProcedureError>,
        actor: Option<String>,
        reason: Option<&str>,
    ) -> Result<NaiveDateTime, ProcedureError> {
        let t = transition?;
        self.facts.apply(&t);
        let l = &mut *self.listing;
        let set = &t.set;
        l.status = t.to.as_str().into();
        set.noticed_by.apply_to(&mut l.noticed_by);
        set.served_on.apply_to(&mut l.served_on);
        set.objection_deadline.apply_to(&mut l.objection_deadline);
        set.decided_by.apply_to(&mut l.decided_by);
        set.decided_on.apply_to(&mut l.decided_on);
        set.listed_on.apply_to(&mut l.listed_on);
        set.expires_on.apply_to(&mut l.expires_on);
        set.pending_repair_applied_on
            .apply_to(&mut l.pending_repair_applied_on);
        set.removed_on.apply_to(&mut l.removed_on);
        set.revoked_on.apply_to(&mut l.revoked_on);
        set.revocation_reason.apply_to(&mut l.revocation_reason);
        let at = stamp(rng, t.effective_on, self.ctx.now).max(l.updated_at);
        l.updated_at = at;
        self.history.push(HistoryEntry {
            id: self.ids.next(),
            listing_id: l.id.clone(),
            action: t.action.as_str().into(),
            from_status: Some(t.from.as_str().into()),
            to_status: t.to.as_str().into(),
            actor_user_id: actor,
            effective_on: t.effective_on,
            at,
            reason: reason.map(str::to_owned),
        });
        Ok(at)
    }

    /// An outbox event with the data `workflows::publish` gives it.
    fn event(&mut self, event_type: &'static str, effective_on: NaiveDate) {
        let l = &*self.listing;
        self.events.push(NewEvent {
            event_type,
            subject_id: l.subject_id.clone(),
            listing_id: Some(l.id.clone()),
            data: json!({"listing_id": l.id, "status": l.status, "listed_on": l.listed_on,
                "expires_on": l.expires_on, "effective_on": effective_on}),
        });
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
    id_number_hash: Option<String>,
    id_number_masked: Option<String>,
    uscc: Option<String>,
    /// Lower-case Latin letters for handles (`lijiaqi`, `meilifushi`).
    handle_base: String,
    /// Other handle stems (`xiaoli`, `meilistore`).
    handle_alternatives: Vec<String>,
}

struct Person {
    /// (character(s), pinyin)
    surname: (&'static str, &'static str),
    given: String,
    female: bool,
}

impl Person {
    fn name(&self) -> String {
        format!("{}{}", self.surname.0, self.given)
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

fn person(rng: &mut StdRng, surnames: &WeightedIndex<u32>) -> Person {
    let (chars, pinyin, _) = SURNAMES[surnames.sample(rng)];
    let female = rng.gen_bool(0.6);
    let pool: &[char] = if female { &FEMALE_GIVEN } else { &MALE_GIVEN };
    let mut given = String::new();
    let two = rng.gen_bool(0.75);
    if two && rng.gen_bool(0.25) {
        given.push(*NEUTRAL_GIVEN.choose(rng).unwrap_or(&'子'));
    } else if two {
        given.push(*pool.choose(rng).unwrap_or(&'明'));
    }
    given.push(*pool.choose(rng).unwrap_or(&'明'));
    Person {
        surname: (chars, pinyin),
        given,
        female,
    }
}

fn anchor_profile(ctx: &Run, rng: &mut StdRng, index: u64) -> Profile {
    let t = &ctx.tables;
    let p = person(rng, &t.surname_index);
    let surname_pinyin = p.surname.1;
    let given_pinyin = p.given_pinyin();
    let chinese = p.name();
    let mut aliases = Vec::new();
    let latin = rng.gen_bool(0.1);
    let name = if latin {
        // An English first name with the surname, or the pinyin itself.
        let spelled = if rng.gen_bool(0.65) {
            let first = if p.female {
                *ENGLISH_FEMALE.choose(rng).unwrap_or(&"Vivian")
            } else {
                *ENGLISH_MALE.choose(rng).unwrap_or(&"Jason")
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
            format!("{}{}", p.surname.0, if p.female { "姐" } else { "哥" }),
            format!(
                "小{}",
                if rng.gen_bool(0.5) {
                    p.surname.0.to_owned()
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
            format!("老{}", p.surname.0),
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
    let region = t.anchor_regions[t.anchor_region_index.sample(rng)];
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
    let (hash, masked) = match ResidentId::parse_on(&format!("{first17}{check}"), ctx.today) {
        Ok(id) => (Some(id.keyed_hash(&ctx.pepper)), Some(id.masked())),
        Err(_) => (None, None),
    };
    // Most anchors work where they are registered; some moved to the live-commerce hubs.
    let region_code = if rng.gen_bool(0.8) {
        region.to_owned()
    } else {
        t.cities[t.city_index.sample(rng)].1.to_owned()
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
        id_number_hash: hash,
        id_number_masked: masked,
        uscc: None,
    }
}

fn merchant_profile(ctx: &Run, rng: &mut StdRng, index: u64) -> Profile {
    let t = &ctx.tables;
    let (city, region, _) = t.cities[t.city_index.sample(rng)];
    let brand = *BRANDS.choose(rng).unwrap_or(&"美丽");
    let industry = *INDUSTRIES.choose(rng).unwrap_or(&"贸易");
    let brand_pinyin = pinyin_of(brand);
    let enterprise = rng.gen_bool(0.75);
    let english = rng.gen_bool(0.1);
    let name = if english {
        format!(
            "{} {} {}",
            ENGLISH_ADJECTIVES.choose(rng).unwrap_or(&"Happy"),
            ENGLISH_NOUNS.choose(rng).unwrap_or(&"Home"),
            ENGLISH_SHOP_TYPES.choose(rng).unwrap_or(&"Store")
        )
    } else if enterprise {
        let city_part = if rng.gen_bool(0.5) {
            format!("{city}市")
        } else {
            city.to_owned()
        };
        let suffix = *[
            "有限公司",
            "商贸有限公司",
            "电子商务有限公司",
            "科技有限公司",
        ]
        .choose(rng)
        .unwrap_or(&"有限公司");
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
        region_code: Some(region.to_owned()),
        id_number_hash: None,
        id_number_masked: None,
        uscc,
    }
}

/// The characters a USCC may hold, in value order.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

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

/// The GB 11714 check character of an 8-character organization code body.
fn organization_code_check(body: &str) -> char {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

/// 1–3 accounts on different platforms; handles are unique in the whole
/// dataset: each ends in a permutation of (subject index, account number),
/// after a `_` or `.` that no other part of a handle holds, or is a platform
/// prefix and ten digits.
fn accounts_for(
    ctx: &Run,
    rng: &mut StdRng,
    index: u64,
    subject_id: &str,
    profile: &Profile,
) -> Vec<SubjectAccount> {
    let t = &ctx.tables;
    let wanted = *[1, 1, 1, 1, 2, 2, 2, 3, 3, 2].choose(rng).unwrap_or(&1);
    let mut platforms: Vec<(&str, &str)> = Vec::new();
    while platforms.len() < wanted {
        let p = PLATFORMS[t.platform_index.sample(rng)];
        if !platforms.iter().any(|q| q.0 == p.0) {
            platforms.push((p.0, p.1));
        }
    }
    let mut rows = Vec::new();
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
            rows.push(SubjectAccount {
                subject_id: subject_id.to_owned(),
                account_key: account.key(),
                platform: account.platform().to_owned(),
                handle: account.handle().to_owned(),
            });
        }
    }
    rows
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

/// The weighted choices, built once per run.
struct Tables {
    surname_index: WeightedIndex<u32>,
    anchor_regions: Vec<&'static str>,
    anchor_region_index: WeightedIndex<u32>,
    cities: &'static [(&'static str, &'static str, u32)],
    city_index: WeightedIndex<u32>,
    platform_index: WeightedIndex<u32>,
    category: [Category; 7],
    category_index: WeightedIndex<u32>,
    ordinary_severity: [Severity; 3],
    ordinary_severity_index: WeightedIndex<u32>,
    birth_days: u64,
}

impl Tables {
    fn new() -> anyhow::Result<Self> {
        let weights = |w: &[u32]| WeightedIndex::new(w.iter().copied()).context("weights");
        let first = NaiveDate::from_ymd_opt(1960, 1, 1).context("date")?;
        let last = NaiveDate::from_ymd_opt(2004, 12, 31).context("date")?;
        Ok(Self {
            surname_index: Self::surname_index(),
            anchor_regions: ANCHOR_REGIONS.iter().map(|r| r.0).collect(),
            anchor_region_index: weights(&ANCHOR_REGIONS.map(|r| r.1))?,
            cities: &CITIES,
            city_index: weights(&CITIES.map(|c| c.2))?,
            platform_index: weights(&PLATFORMS.map(|p| p.2))?,
            // Most cases are false advertising; then substandard goods, price fraud, after-sales.
            category: Category::ALL,
            category_index: weights(&[35, 14, 7, 10, 15, 13, 6])?,
            // Mostly minor or general; serious now and then; especially serious
            // only where a listing rests on it (the system proposes one at once).
            ordinary_severity: [Severity::Minor, Severity::General, Severity::Serious],
            ordinary_severity_index: weights(&[55, 37, 8])?,
            birth_days: u64::try_from((last - first).num_days() + 1).unwrap_or(1),
        })
    }

    fn surname_index() -> WeightedIndex<u32> {
        match WeightedIndex::new(SURNAMES.iter().map(|s| s.2)) {
            Ok(index) => index,
            Err(e) => unreachable!("the surname weights are positive: {e}"),
        }
    }

    fn pick<'a, T>(&self, rng: &mut StdRng, items: &'a [T]) -> &'a T {
        &items[rng.gen_range(0..items.len())]
    }

    fn description(&self, rng: &mut StdRng, category: Category) -> String {
        let product = *self.pick(rng, &PRODUCTS);
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

/// The top surnames of mainland China with approximate shares of the
/// population (per ten thousand), after the 2020 census tables.
const SURNAMES: [(&str, &str, u32); 103] = [
    ("王", "wang", 710),
    ("李", "li", 700),
    ("张", "zhang", 680),
    ("刘", "liu", 540),
    ("陈", "chen", 460),
    ("杨", "yang", 310),
    ("黄", "huang", 240),
    ("赵", "zhao", 230),
    ("吴", "wu", 200),
    ("周", "zhou", 200),
    ("徐", "xu", 150),
    ("孙", "sun", 150),
    ("马", "ma", 130),
    ("朱", "zhu", 120),
    ("胡", "hu", 120),
    ("郭", "guo", 110),
    ("何", "he", 110),
    ("林", "lin", 100),
    ("高", "gao", 100),
    ("罗", "luo", 90),
    ("郑", "zheng", 90),
    ("梁", "liang", 80),
    ("谢", "xie", 70),
    ("宋", "song", 70),
    ("唐", "tang", 70),
    ("许", "xu", 60),
    ("韩", "han", 60),
    ("冯", "feng", 60),
    ("邓", "deng", 60),
    ("曹", "cao", 60),
    ("彭", "peng", 50),
    ("曾", "zeng", 50),
    ("肖", "xiao", 50),
    ("田", "tian", 50),
    ("董", "dong", 50),
    ("袁", "yuan", 50),
    ("潘", "pan", 40),
    ("于", "yu", 40),
    ("蒋", "jiang", 40),
    ("蔡", "cai", 40),
    ("余", "yu", 40),
    ("杜", "du", 40),
    ("叶", "ye", 40),
    ("程", "cheng", 40),
    ("苏", "su", 40),
    ("魏", "wei", 40),
    ("吕", "lv", 40),
    ("丁", "ding", 40),
    ("任", "ren", 30),
    ("沈", "shen", 30),
    ("姚", "yao", 30),
    ("卢", "lu", 30),
    ("姜", "jiang", 30),
    ("崔", "cui", 30),
    ("钟", "zhong", 30),
    ("谭", "tan", 30),
    ("陆", "lu", 30),
    ("汪", "wang", 30),
    ("范", "fan", 30),
    ("金", "jin", 30),
    ("石", "shi", 30),
    ("廖", "liao", 30),
    ("贾", "jia", 30),
    ("夏", "xia", 20),
    ("韦", "wei", 20),
    ("付", "fu", 20),
    ("方", "fang", 20),
    ("白", "bai", 20),
    ("邹", "zou", 20),
    ("孟", "meng", 20),
    ("熊", "xiong", 20),
    ("秦", "qin", 20),
    ("邱", "qiu", 20),
    ("江", "jiang", 20),
    ("尹", "yin", 20),
    ("薛", "xue", 20),
    ("闫", "yan", 20),
    ("段", "duan", 20),
    ("雷", "lei", 20),
    ("侯", "hou", 20),
    ("龙", "long", 20),
    ("史", "shi", 20),
    ("陶", "tao", 20),
    ("黎", "li", 20),
    ("贺", "he", 20),
    ("顾", "gu", 20),
    ("毛", "mao", 20),
    ("郝", "hao", 20),
    ("龚", "gong", 20),
    ("邵", "shao", 20),
    ("万", "wan", 20),
    ("钱", "qian", 20),
    ("严", "yan", 20),
    ("覃", "qin", 10),
    ("武", "wu", 10),
    ("戴", "dai", 10),
    ("莫", "mo", 10),
    ("孔", "kong", 10),
    ("向", "xiang", 10),
    ("汤", "tang", 10),
    ("欧阳", "ouyang", 5),
    ("上官", "shangguan", 1),
    ("司马", "sima", 1),
];

const FEMALE_GIVEN: [char; 48] = [
    '芳', '娜', '敏', '静', '丽', '艳', '娟', '秀', '霞', '英', '萍', '红', '燕', '丹', '玲', '婷',
    '雪', '慧', '颖', '倩', '琳', '晶', '梅', '兰', '凤', '洁', '莉', '琪', '欣', '怡', '涵', '萱',
    '彤', '诗', '雅', '梦', '瑶', '悦', '妍', '晴', '蕾', '薇', '璐', '菲', '佳', '馨', '月', '婉',
];

const MALE_GIVEN: [char; 48] = [
    '伟', '强', '磊', '军', '洋', '勇', '杰', '涛', '明', '超', '平', '刚', '辉', '鹏', '斌', '宇',
    '浩', '凯', '健', '俊', '帆', '帅', '旭', '龙', '林', '峰', '建', '国', '志', '海', '波', '成',
    '亮', '新', '博', '文', '宏', '鑫', '昊', '然', '瑞', '航', '泽', '睿', '铭', '轩', '豪', '毅',
];

const NEUTRAL_GIVEN: [char; 16] = [
    '子', '一', '晓', '小', '天', '家', '思', '嘉', '雨', '晨', '安', '宁', '春', '永', '金', '梓',
];

const ENGLISH_FEMALE: [&str; 16] = [
    "Vivian", "Coco", "Lily", "Cherry", "Amy", "Grace", "Linda", "Emma", "Sophia", "Zoe", "Luna",
    "Angela", "Jessica", "Wendy", "Fiona", "Candy",
];

const ENGLISH_MALE: [&str; 14] = [
    "Jason", "Kevin", "Tony", "Eric", "Leo", "David", "Jack", "Frank", "Allen", "Peter", "Sam",
    "Ryan", "Henry", "Vincent",
];

const ENGLISH_ADJECTIVES: [&str; 14] = [
    "Happy",
    "Golden",
    "Lucky",
    "Sunny",
    "Blue Ocean",
    "Green Leaf",
    "Star",
    "Sweet",
    "Smart",
    "Royal",
    "Fresh",
    "Silver",
    "Bright",
    "Little",
];

const ENGLISH_NOUNS: [&str; 14] = [
    "Beauty", "Home", "Fashion", "Tea", "Jewelry", "Baby", "Pet", "Digital", "Outdoor", "Kitchen",
    "Style", "Garden", "Skin", "Snack",
];

const ENGLISH_SHOP_TYPES: [&str; 7] = [
    "Store",
    "Shop",
    "Trading Co., Ltd.",
    "Boutique",
    "Mall",
    "Studio",
    "Official Store",
];

const BRANDS: [&str; 36] = [
    "美丽", "鑫达", "宏发", "汇丰", "佳美", "优品", "星辰", "金源", "恒信", "华美", "盛世", "天成",
    "锦程", "瑞祥", "博雅", "悦享", "万家", "新颖", "百纳", "云尚", "花语", "唯品", "惠民", "良品",
    "鲜果", "康源", "森林", "初心", "尚品", "臻选", "源味", "丰收", "谷雨", "青禾", "蓝海", "晨光",
];

const INDUSTRIES: [&str; 18] = [
    "服饰",
    "电子商务",
    "化妆品",
    "食品",
    "贸易",
    "网络科技",
    "母婴用品",
    "珠宝",
    "茶业",
    "家居用品",
    "数码科技",
    "农产品",
    "文化传媒",
    "保健品",
    "箱包",
    "鞋业",
    "日用品",
    "酒业",
];

/// Live-commerce cities: (name, district code, weight).
const CITIES: [(&str, &str, u32); 30] = [
    ("杭州", "330106", 14),
    ("义乌", "330782", 10),
    ("广州", "440106", 12),
    ("深圳", "440304", 9),
    ("上海", "310104", 8),
    ("北京", "110105", 6),
    ("成都", "510107", 5),
    ("武汉", "420106", 4),
    ("苏州", "320505", 4),
    ("东莞", "441900", 4),
    ("泉州", "350503", 4),
    ("临沂", "371302", 5),
    ("金华", "330702", 4),
    ("宁波", "330203", 3),
    ("厦门", "350203", 3),
    ("长沙", "430103", 3),
    ("郑州", "410105", 3),
    ("南京", "320106", 3),
    ("重庆", "500103", 3),
    ("西安", "610113", 3),
    ("汕头", "440507", 3),
    ("佛山", "440604", 3),
    ("温州", "330302", 3),
    ("青岛", "370202", 2),
    ("沈阳", "210102", 2),
    ("合肥", "340104", 2),
    ("福州", "350102", 2),
    ("昆明", "530102", 2),
    ("济南", "370102", 2),
    ("天津", "120101", 2),
];

/// Where anchors' resident IDs were issued: (district or county code, weight).
const ANCHOR_REGIONS: [(&str, u32); 48] = [
    ("330102", 4),
    ("330106", 5),
    ("330782", 4),
    ("330302", 3),
    ("330203", 3),
    ("330702", 3),
    ("440103", 4),
    ("440106", 5),
    ("440304", 4),
    ("440604", 3),
    ("441900", 3),
    ("440507", 3),
    ("310101", 3),
    ("310104", 3),
    ("110101", 2),
    ("110105", 3),
    ("320102", 2),
    ("320505", 3),
    ("321302", 3),
    ("510104", 3),
    ("510107", 3),
    ("513022", 3),
    ("500103", 3),
    ("500233", 3),
    ("420102", 3),
    ("421126", 2),
    ("430102", 3),
    ("431102", 2),
    ("410102", 3),
    ("411323", 3),
    ("371302", 3),
    ("370102", 2),
    ("370202", 2),
    ("350203", 2),
    ("350503", 3),
    ("350582", 2),
    ("360102", 2),
    ("340104", 2),
    ("341203", 2),
    ("450102", 2),
    ("530102", 2),
    ("520102", 2),
    ("610113", 2),
    ("210102", 2),
    ("220102", 1),
    ("230102", 1),
    ("130102", 2),
    ("140105", 1),
];

/// (platform, numeric-handle prefix, weight).
const PLATFORMS: [(&str, &str, u32); 8] = [
    ("douyin", "dy", 30),
    ("kuaishou", "ks", 20),
    ("taobao", "tb", 15),
    ("xiaohongshu", "xhs", 10),
    ("weibo", "wb", 8),
    ("bilibili", "bili", 5),
    ("jd", "jd", 6),
    ("pinduoduo", "pdd", 6),
];

const PRODUCTS: [&str; 20] = [
    "面膜",
    "保健品",
    "减肥茶",
    "羽绒服",
    "翡翠手镯",
    "蜂蜜",
    "洗发水",
    "儿童奶粉",
    "电动牙刷",
    "运动鞋",
    "羊绒大衣",
    "和田玉",
    "燕窝",
    "茶叶",
    "口红",
    "空气炸锅",
    "手机",
    "红酒",
    "大米",
    "护肤精华",
];

/// In `Category::ALL` order.
const CATEGORY_LABELS: [&str; 7] = [
    "虚假宣传",
    "价格欺诈",
    "诱导私下交易",
    "数据造假",
    "销售不合格产品",
    "拒不履行售后义务",
    "其他违法行为",
];

/// In `Category::ALL` order.
const LEGAL_BASES: [&str; 7] = [
    "《中华人民共和国广告法》第二十八条",
    "《明码标价和禁止价格欺诈规定》第十九条",
    "《网络直播营销管理办法（试行）》第十八条",
    "《中华人民共和国反不正当竞争法》第八条",
    "《中华人民共和国产品质量法》第四十九条",
    "《中华人民共和国消费者权益保护法》第二十五条",
    "《中华人民共和国电子商务法》第十五条",
];

/// (media type, file extension, description).
const EVIDENCE_KINDS: [(&str, &str, &str); 4] = [
    ("video/mp4", "mp4", "直播回放录像"),
    ("image/jpeg", "jpg", "商品页面截图"),
    ("application/pdf", "pdf", "行政处罚决定书"),
    ("image/png", "png", "消费者投诉记录截图"),
];

const REVOCATION_REASONS: [&str; 3] = [
    "原处罚决定经行政复议被撤销 (annulled on administrative review)",
    "原处罚决定经行政诉讼判决撤销 (annulled by a court)",
    "原处罚决定认定事实有误，依法自行撤销 (withdrawn: the facts were wrong)",
];

const OBJECTION_STATEMENTS: [&str; 3] = [
    "当事人对认定的违法事实有异议，申请复核 (the party disputes the facts)",
    "当事人称已全部整改并赔偿消费者，请求不予列入 (remedied; asks not to be listed)",
    "当事人申请听证，陈述申辩 (asks for a hearing)",
];

const LIST_REASONS: [&str; 2] = [
    "违法事实清楚，证据确凿，当事人未在异议期内提出有效异议，决定列入严重违法失信名单 (facts established; listed)",
    "当事人提出的异议不成立，决定列入严重违法失信名单 (objection rejected; listed)",
];

const NOT_LIST_REASONS: [&str; 2] = [
    "当事人已主动消除危害后果，情节较轻，决定不予列入 (harm remedied; not listed)",
    "经听证，当事人陈述申辩理由成立，决定不予列入 (objection upheld; not listed)",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn context(seed: u64, authorities: usize) -> Run {
        let now = Utc::now();
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
            tables: Tables::new().unwrap(),
            authorities: (0..authorities)
                .map(|i| Authority {
                    org_id: format!("org-{i}"),
                    region_prefix: coverage(REGULATORS[i].3),
                    abbr: REGULATORS[i].1,
                    officials: [format!("u-{i}-a"), format!("u-{i}-b")],
                    emails: Vec::new(),
                })
                .collect(),
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
        let names: Vec<&str> = batch.subjects.iter().map(|s| s.name.as_str()).collect();
        let names_again: Vec<&str> = again.subjects.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, names_again);
        // Split into other batches, the same subjects come out.
        let halves: Vec<String> = [0..700, 700..2000]
            .into_iter()
            .enumerate()
            .flat_map(|(i, r)| generate_batch(&ctx, i as u64, r).unwrap().subjects)
            .map(|s| s.name)
            .collect();
        assert_eq!(names, halves.iter().map(String::as_str).collect::<Vec<_>>());

        let hashes: HashSet<_> = batch
            .subjects
            .iter()
            .filter_map(|s| s.id_number_hash.clone())
            .collect();
        let anchors = batch.subjects.iter().filter(|s| s.kind == "anchor").count();
        assert_eq!(hashes.len(), anchors);
        let usccs: HashSet<_> = batch
            .subjects
            .iter()
            .filter_map(|s| s.uscc.clone())
            .collect();
        assert_eq!(usccs.len(), batch.subjects.len() - anchors);
        let keys: HashSet<_> = batch
            .accounts
            .iter()
            .map(|a| a.account_key.clone())
            .collect();
        assert_eq!(keys.len(), batch.accounts.len());
        assert!((0.6..0.8).contains(&(anchors as f64 / 2000.0)));
        let with_aliases: HashSet<_> = batch
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
        let latin = batch.subjects.iter().filter(|s| s.name.is_ascii()).count();
        assert!((0.05..0.15).contains(&(latin as f64 / 2000.0)), "{latin}");
        assert!(batch
            .subjects
            .iter()
            .all(|s| s.region_code.as_deref().is_some_and(|r| r.len() == 6)));
    }

    #[test]
    fn listings_follow_the_procedure_and_scores_match() {
        let ctx = context(3, 8);
        let batch = generate_batch(&ctx, 0, 0..2000).unwrap();
        let active = batch
            .listings
            .iter()
            .filter(|l| l.status == "listed" && l.expires_on.is_some_and(|e| e > ctx.today))
            .count();
        assert_eq!(active, 20);
        let statuses: HashSet<&str> = batch.listings.iter().map(|l| l.status.as_str()).collect();
        for status in Status::ALL {
            assert!(statuses.contains(status.as_str()), "{status} missing");
        }
        for l in &batch.listings {
            if l.decided_by.is_some() {
                assert_ne!(l.decided_by, l.proposed_by);
                assert_ne!(
                    l.decided_by,
                    l.noticed_by.clone().filter(|_| l.proposed_by.is_none())
                );
                assert_eq!(
                    l.listed_on.map(|d| procedure::add_years(d, 3)),
                    l.expires_on.filter(|_| l.listed_on.is_some())
                );
                assert!(l.decided_on > l.objection_deadline);
                assert_eq!(
                    l.objection_deadline,
                    l.served_on.map(|s| ctx.calendar.add_working_days(s, 5))
                );
            }
            if l.status == "expired" {
                assert!(l.expires_on.is_some_and(|e| e <= ctx.today));
            }
            let steps: Vec<&str> = batch
                .history
                .iter()
                .filter(|h| h.listing_id == l.id)
                .filter(|h| h.action != "objection")
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
            .violations
            .iter()
            .filter(|v| v.status == "revoked")
            .count();
        assert!(revoked > 0 && (revoked as f64) < 0.06 * batch.violations.len() as f64);
        for s in &batch.subjects {
            let own: Vec<Violation> = batch
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
                .all(|v| v.decided_on <= ctx.today && v.recorded_at >= s.created_at));
        }
        // Events: one publication per decision to list, one end per ended listing.
        let published = batch
            .listings
            .iter()
            .filter(|l| l.listed_on.is_some())
            .count();
        let ended = batch
            .listings
            .iter()
            .filter(|l| l.listed_on.is_some() && l.status != "listed")
            .count();
        assert_eq!(batch.events.len(), published + ended);
    }
}
