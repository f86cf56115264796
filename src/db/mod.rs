//! The data layer: one diesel connection type over SQLite and PostgreSQL,
//! the pool, migrations, and one module per table family.

pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod changes;
pub mod error;
pub mod events;
pub mod evidence;
pub mod idempotency;
pub mod listings;
pub mod publication;
pub mod registry;
pub mod relations;
pub mod repairs;
pub mod replicas;
pub mod schema;
pub mod scores;
pub mod screening;
pub mod typed;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;
pub use error::{DbError, DbErrorClass, DbFailure, DbResult};
use replicas::Replicas;

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// A connection to either backend. Queries are written once against this
/// type; only where the backends truly differ does code `match` on it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// A multi-row insert. diesel's MultiConnection cannot express one, so this
/// writes the same statement once per backend.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl;
        match $conn {
            $crate::db::DbConn::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
            $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    }};
}

/// Opens connections for the pool, choosing the backend from the URL and
/// setting SQLite's per-connection pragmas.
#[derive(Clone, Debug)]
pub struct ConnectionFactory {
    url: DatabaseUrl,
}

impl ConnectionFactory {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    pub fn establish(&self) -> ConnectionResult<DbConn> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(DbConn::Pg),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // WAL lets readers run beside the writer; FULL sync because
                // this is a system of record; the busy timeout makes writers
                // of other processes (the CLI) queue instead of failing. This
                // process's own writers queue in `SQLITE_WRITERS` first.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection, and whether its last use failed in a way that
/// suggests the server went away. A suspect connection is tested when it
/// goes back to the pool and dropped if dead, so the pool recovers on its
/// own after a database restart without testing every checkout.
pub struct PoolConn {
    conn: DbConn,
    pub suspect: bool,
}

impl std::ops::Deref for PoolConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

impl ManageConnection for ConnectionFactory {
    type Connection = PoolConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PoolConn, r2d2::Error> {
        self.establish()
            .map(|conn| PoolConn {
                conn,
                suspect: false,
            })
            .map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        std::thread::panicking()
            || <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(
                &mut conn.conn,
            )
            || (conn.suspect && conn.conn.batch_execute("SELECT 1").is_err())
    }
}

pub type Pool = r2d2::Pool<ConnectionFactory>;

/// The pool plus the facts about the backend that callers need, and the
/// read replicas when some are configured.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: &'static str,
    replicas: Option<Arc<Replicas>>,
    commits: changes::LocalCommits,
}

fn build_pool(url: &DatabaseUrl, max_size: u32) -> Pool {
    r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(3))
        .test_on_check_out(false)
        .build_unchecked(ConnectionFactory::new(url.clone()))
}

impl Db {
    /// Opens the pool (creating the SQLite file's folder first). Does not
    /// wait for PostgreSQL: a server that starts later is picked up by the pool.
    pub fn open(url: &DatabaseUrl, max_size: u32) -> anyhow::Result<Self> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating database folder {}", parent.display()))?;
            }
            // Made here, owner-only, before SQLite makes it with the umask's
            // mode: SQLite gives its -wal and -shm files the database's mode.
            let in_memory = path.as_os_str() == ":memory:";
            if !in_memory {
                match create_private_file(path) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("creating database file {}", path.display()))
                    }
                }
            }
        }
        Ok(Self {
            pool: build_pool(url, max_size),
            backend: url.backend_name(),
            replicas: None,
            commits: changes::LocalCommits::default(),
        })
    }

    /// Adds read replicas (PostgreSQL standbys of this primary). Reads go to
    /// one only while it is within `max_lag` of the primary.
    pub fn with_replicas(mut self, urls: &[DatabaseUrl], max_size: u32, max_lag: Duration) -> Self {
        if !urls.is_empty() {
            let members = urls
                .iter()
                .map(|url| (url.label(), build_pool(url, max_size)))
                .collect();
            self.replicas = Some(Arc::new(Replicas::new(members, max_lag)));
        }
        self
    }

    pub fn replicas(&self) -> Option<&Arc<Replicas>> {
        self.replicas.as_ref()
    }

    /// Starts the replica monitor on the current runtime (no-op without replicas).
    pub fn spawn_replica_monitor(&self) {
        if let Some(replicas) = &self.replicas {
            replicas.clone().spawn_monitor(self.pool.clone());
        }
    }

    /// A handle for reads that a replica may serve: one that has replayed
    /// `after` (the reader's last write), or the primary when none has.
    pub fn reader(&self, after: Option<i64>) -> ReadDb {
        ReadDb {
            replica: self.replicas.as_ref().and_then(|r| r.choose(after)),
            db: self.clone(),
        }
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// A connection for work on the current thread (CLI commands, migrations).
    pub fn conn(&self) -> DbResult<r2d2::PooledConnection<ConnectionFactory>> {
        self.pool.get().map_err(|e| {
            tracing::warn!(error = %e, "database pool could not hand out a connection");
            DbError::Pool(e)
        })
    }

    /// Runs `f` with a connection on actix's blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: DbFailure,
    {
        run_on(self.pool.clone(), None, f).await
    }

    /// Runs `f` inside a write transaction (see [`write_tx`]) on the blocking pool.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: DbFailure,
    {
        let commits = self.commits.clone();
        self.run(move |conn| {
            let result = write_tx(conn, f);
            if changes::take_committed() {
                commits.add();
            }
            result
        })
        .await
    }

    /// How many of this pool's write transactions committed changes to
    /// the change stream (see [`changes::LocalCommits`]).
    pub fn local_commits(&self) -> u64 {
        self.commits.count()
    }

    /// Runs pending migrations; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().context("connecting to the database")?;
        run_migrations(&mut conn)
    }
}

/// Runs `f` on a connection from `pool` on actix's blocking thread pool,
/// waiting at most `checkout` for one (the pool's own timeout when `None`).
async fn run_on<T, E, F>(pool: Pool, checkout: Option<Duration>, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: DbFailure,
{
    actix_web::web::block(move || {
        let conn = match checkout {
            Some(timeout) => pool.get_timeout(timeout),
            None => pool.get(),
        };
        let mut conn = conn.map_err(|e| {
            tracing::warn!(error = %e, "database pool could not hand out a connection");
            E::from(DbError::Pool(e))
        })?;
        let result = f(&mut conn);
        if result.as_ref().is_err_and(E::lost_connection) {
            conn.suspect = true;
        }
        result
    })
    .await
    .unwrap_or_else(|e| Err(E::from(DbError::Task(e.to_string()))))
}

/// Reads that a replica may serve (see [`Db::reader`]). The replica is
/// chosen once, so every read through one handle (the pages of an export)
/// sees the same server.
#[derive(Clone)]
pub struct ReadDb {
    db: Db,
    replica: Option<usize>,
}

impl ReadDb {
    /// Runs `f` on the chosen replica; if the replica fails, takes it out and
    /// runs `f` again on the primary. Reads only: `f` may run twice.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: Fn(&mut DbConn) -> Result<T, E> + Send + Sync + 'static,
        T: Send + 'static,
        E: DbFailure,
    {
        let (Some(replicas), Some(index)) = (&self.db.replicas, self.replica) else {
            if let Some(replicas) = &self.db.replicas {
                replicas.served(None);
            }
            return self.db.run(f).await;
        };
        let f = Arc::new(f);
        let on_replica = f.clone();
        let pool = replicas.pool(index).clone();
        match run_on(pool, Some(replicas::CHECKOUT_TIMEOUT), move |c| {
            on_replica(c)
        })
        .await
        {
            Err(e) if e.replica_fault() => {
                replicas.mark_down(index);
                replicas.served(None);
                self.db.run(move |c| f(c)).await
            }
            result => {
                replicas.served(Some(index));
                result
            }
        }
    }
}

/// Runs pending migrations and stores the default scoring policy (version 1)
/// when none is stored yet, so the policy in force is always a record.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    let applied = applied.map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
    scores::ensure_default_policy(conn)
        .map_err(|e| anyhow::anyhow!("storing the default scoring policy: {e}"))?;
    Ok(applied)
}

/// How long a SQLite writer waits for the write lock before its work fails
/// as busy (a 503 to a client).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// This process's SQLite writers, in the order they arrived.
///
/// SQLite lets one writer in at a time and makes the others poll: its busy
/// handler sleeps 1, 2, 5, 10 … then 100 ms between tries, and a writer
/// that wakes just after another took the lock sleeps again. With 8
/// concurrent writers most waited a few milliseconds and the unlucky ones
/// over a second (violation recording p99 1,060 ms at p50 3 ms). Here they
/// wait in a queue instead: the lock is handed to the next in line as the
/// previous one commits, and SQLite's own lock is free when they reach it.
///
/// One queue per process, not per file: a server serves one file; tests
/// that open several only have their writes ordered. Nothing may open a
/// second outermost write transaction while it holds one (that was
/// already a deadlock on one SQLite file).
static SQLITE_WRITERS: parking_lot::Mutex<()> = parking_lot::const_mutex(());

/// A transaction for work that writes. On SQLite it starts with
/// `BEGIN IMMEDIATE`, so the write lock is taken (waiting on the busy
/// timeout) before anything is read — a deferred transaction that reads
/// first can fail with SQLITE_BUSY when it later tries to write — and the
/// outermost one first waits its turn in [`SQLITE_WRITERS`]. `f`'s
/// error rolls the transaction back and is returned as it is.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DbError>,
{
    let unwrap = |e: TxError<E>| match e {
        TxError::Store(e) => E::from(DbError::from(e)),
        TxError::Work(e) => e,
    };
    let work = |c: &mut DbConn| f(c).map_err(TxError::Work);
    let depth = Depth::enter();
    let outermost = depth.0 == 0;
    let result = write_tx_inner(conn, outermost, work, unwrap);
    drop(depth);
    if outermost {
        changes::transaction_ended(result.is_ok());
    }
    result
}

thread_local! {
    /// How deep in `write_tx` this thread is.
    static WRITE_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// One level of [`WRITE_DEPTH`], left when dropped: also when the work
/// panics, because the blocking threads that run it outlive the panic.
struct Depth(u32);

impl Depth {
    /// Enters a level; holds the depth it was entered at.
    fn enter() -> Self {
        Self(WRITE_DEPTH.with(|d| d.replace(d.get() + 1)))
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        WRITE_DEPTH.with(|d| d.set(self.0));
        if self.0 == 0 && std::thread::panicking() {
            // The transaction was rolled back: what it touched never committed.
            changes::transaction_ended(false);
        }
    }
}

/// Keeps `f`'s own error apart from the transaction's.
enum TxError<E> {
    Store(diesel::result::Error),
    Work(E),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Store(e)
    }
}

fn write_tx_inner<T, E, W, U>(
    conn: &mut DbConn,
    outermost: bool,
    work: W,
    unwrap: U,
) -> Result<T, E>
where
    W: FnOnce(&mut DbConn) -> Result<T, TxError<E>>,
    U: Fn(TxError<E>) -> E,
    E: From<DbError>,
{
    match conn {
        DbConn::Pg(_) => conn.transaction(work).map_err(unwrap),
        DbConn::Sqlite(inner) => {
            let turn = match outermost {
                true => Some(
                    SQLITE_WRITERS
                        .try_lock_for(SQLITE_BUSY_TIMEOUT)
                        .ok_or_else(|| E::from(DbError::Busy(SQLITE_BUSY_TIMEOUT)))?,
                ),
                false => None,
            };
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
                .map_err(|e| E::from(DbError::from(e)))?;
            // Nested inside the immediate transaction this is a savepoint.
            let result = conn.transaction(work);
            let DbConn::Sqlite(inner) = conn else {
                unreachable!("the variant cannot change inside a transaction")
            };
            let ended = match result {
                Ok(_) => AnsiTransactionManager::commit_transaction(inner),
                Err(_) => AnsiTransactionManager::rollback_transaction(inner),
            };
            // Straight to the next in line, not to whoever asks first.
            if let Some(turn) = turn {
                parking_lot::MutexGuard::unlock_fair(turn);
            }
            ended.map_err(|e| E::from(DbError::from(e)))?;
            result.map_err(unwrap)
        }
    }
}

/// Runs `f` inside a read-only transaction that sees one snapshot of the
/// database (`REPEATABLE READ` on PostgreSQL; on SQLite in WAL mode every
/// read transaction does), so that what `f` reads with several statements
/// belongs together. `f`'s error ends the transaction and is returned as it is.
pub fn read_snapshot<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DbError>,
{
    let begin = match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ),
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN"),
    };
    begin.map_err(|e| E::from(DbError::from(e)))?;
    let result = f(conn);
    // Read-only: ending it either way leaves nothing behind.
    let ended = match conn {
        DbConn::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
    };
    ended.map_err(|e| E::from(DbError::from(e)))?;
    result
}

/// Writes a consistent copy of a running SQLite database to `to`
/// (`VACUUM INTO`: a snapshot of one read transaction, usable as is).
/// Creates `path`, which must not exist yet, readable and writable by its
/// owner only (0600 on Unix): the database, and backups of it, hold personal data.
pub fn create_private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

pub fn backup_sqlite(conn: &mut DbConn, to: &std::path::Path) -> anyhow::Result<()> {
    let DbConn::Sqlite(_) = conn else {
        anyhow::bail!("backup_sqlite needs a SQLite database");
    };
    let path = to
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    conn.batch_execute(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .map_err(|e| anyhow::anyhow!("writing the backup: {e}"))
}

/// Checks that `LIVECREDIT_ID_PEPPER` is the one this database's identifier
/// hashes were made with: the first process to start records a fingerprint
/// of it (an HMAC of a fixed text, which reveals nothing of the pepper);
/// every later one must match it. An instance with another pepper would
/// write hashes that never match, and screening by ID number would miss.
pub fn check_pepper(conn: &mut DbConn, pepper: &[u8]) -> anyhow::Result<()> {
    use schema::deployment_checks;
    let fingerprint = pepper_fingerprint(pepper);
    let row = (
        deployment_checks::name.eq(PEPPER_CHECK),
        deployment_checks::value.eq(&fingerprint),
    );
    match conn {
        DbConn::Pg(c) => diesel::insert_into(deployment_checks::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(deployment_checks::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c),
    }
    .context("recording the pepper fingerprint")?;
    if pepper_differs(conn, pepper)? {
        anyhow::bail!(
            "LIVECREDIT_ID_PEPPER is not the pepper this database was filled with: resident ID \
             numbers are stored as hashes keyed with it, and with another pepper screening by ID \
             number would silently miss. Give every instance the same LIVECREDIT_ID_PEPPER \
             (docs/DEPLOYMENT.md); a command run with the wrong LIVECREDIT_DATA_DIR generates a \
             pepper of its own."
        );
    }
    Ok(())
}

/// Whether the database records the fingerprint of another pepper (false
/// when none is recorded yet). Reads only, for commands that write nothing.
pub fn pepper_differs(conn: &mut DbConn, pepper: &[u8]) -> anyhow::Result<bool> {
    use schema::deployment_checks;
    let recorded: Option<String> = deployment_checks::table
        .find(PEPPER_CHECK)
        .select(deployment_checks::value)
        .first(conn)
        .optional()
        .context("reading the pepper fingerprint")?;
    Ok(recorded.is_some_and(|r| r != pepper_fingerprint(pepper)))
}

const PEPPER_CHECK: &str = "id_pepper_fingerprint";

/// An HMAC of a fixed text keyed with the pepper: equal for equal peppers,
/// and it reveals nothing of the pepper.
fn pepper_fingerprint(pepper: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(pepper) else {
        unreachable!("HMAC-SHA256 accepts keys of any length")
    };
    mac.update(b"livecredit: LIVECREDIT_ID_PEPPER fingerprint v1");
    hex::encode(mac.finalize().into_bytes())
}

/// A fact recorded in `deployment_checks` (for example the version of the
/// stored name keys), if recorded.
pub fn deployment_fact(conn: &mut DbConn, name: &str) -> QueryResult<Option<String>> {
    use schema::deployment_checks;
    deployment_checks::table
        .find(name)
        .select(deployment_checks::value)
        .first(conn)
        .optional()
}

/// Records a fact in `deployment_checks`, replacing what was recorded.
pub fn record_deployment_fact(conn: &mut DbConn, name: &str, value: &str) -> QueryResult<()> {
    use schema::deployment_checks;
    let row = (
        deployment_checks::name.eq(name),
        deployment_checks::value.eq(value),
    );
    match conn {
        DbConn::Pg(c) => diesel::insert_into(deployment_checks::table)
            .values(row)
            .on_conflict(deployment_checks::name)
            .do_update()
            .set(deployment_checks::value.eq(value))
            .execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(deployment_checks::table)
            .values(row)
            .on_conflict(deployment_checks::name)
            .do_update()
            .set(deployment_checks::value.eq(value))
            .execute(c),
    }
    .map(drop)
}

/// Makes concurrent re-keyings (two instances starting at once) take turns,
/// one batch transaction at a time: on PostgreSQL a transaction-level
/// advisory lock; SQLite's `BEGIN IMMEDIATE` already serialises writers.
/// Call first inside the batch's transaction.
pub fn lock_for_rekeying(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        // Any fixed number; this one spells "lcrekey" in ASCII.
        DbConn::Pg(c) => diesel::sql_query("SELECT pg_advisory_xact_lock(30508640463709561)")
            .execute(c)
            .map(drop),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Refreshes the query planner's statistics after a bulk load.
pub fn analyze(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("ANALYZE")
}

/// Lets SQLite refresh statistics that have gone stale (cheap when none
/// have; the SQLite documentation's advice for long-running processes).
/// PostgreSQL's autovacuum does this by itself: upkeep calls this on SQLite only.
pub fn optimize(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => conn.batch_execute("PRAGMA optimize"),
        DbConn::Pg(_) => Ok(()),
    }
}

/// True when the database answers a trivial query.
pub fn ping(conn: &mut DbConn) -> bool {
    conn.batch_execute("SELECT 1").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite() -> DbConn {
        DbConn::Sqlite(SqliteConnection::establish(":memory:").expect("an in-memory database"))
    }

    #[test]
    fn a_write_that_panics_leaves_its_depth_and_its_turn() {
        let mut conn = sqlite();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: DbResult<()> = write_tx(&mut conn, |_| panic!("the work panicked"));
        }));
        assert!(panicked.is_err());
        // The blocking threads outlive a panic: the next write on this thread
        // must again be the outermost one, and SQLite's writers' turn free.
        assert_eq!(WRITE_DEPTH.with(std::cell::Cell::get), 0);
        // A turn still held would make this wait 10 s and fail as busy.
        let mut fresh = sqlite();
        let depth_inside: DbResult<u32> =
            write_tx(&mut fresh, |_| Ok(WRITE_DEPTH.with(std::cell::Cell::get)));
        assert_eq!(depth_inside.expect("the next write commits"), 1);
    }
}
