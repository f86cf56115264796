//! Read replicas: PostgreSQL streaming standbys that take public reads and
//! screening off the primary.
//!
//! A monitor samples the primary's WAL position and every replica's replay
//! position twice a second. A read goes to a replica only when that replica
//! answered the last check, is no further behind than the configured bound,
//! and has replayed the reader's own last write (see [`WritePosition`]);
//! otherwise it goes to the primary. A replica that fails a read is taken
//! out until the monitor sees it answer again, and the read is retried on
//! the primary, so a replica going away costs no request an error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::write_positions;
use super::{DbConn, Pool};

/// How often the monitor samples positions.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);

/// How long a read waits for a replica connection before using the primary.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_millis(500);

/// Primary samples kept: five minutes' worth. A replica further behind than
/// that counts as five minutes behind, which is past any sane bound.
const HISTORY: usize = 600;

/// The primary's WAL position as a byte offset.
const PRIMARY_POSITION: &str = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn";

/// How far a standby has replayed. A server that is not a standby (a
/// misconfigured "replica" that is really a primary) reports its own position.
const REPLAY_POSITION: &str = "SELECT (COALESCE(pg_last_wal_replay_lsn(), pg_current_wal_lsn()) \
     - '0/0'::pg_lsn)::bigint AS lsn";

#[derive(QueryableByName)]
struct Lsn {
    #[diesel(sql_type = BigInt)]
    lsn: i64,
}

fn position(conn: &mut DbConn, sql: &str) -> QueryResult<i64> {
    match conn {
        DbConn::Pg(c) => diesel::sql_query(sql).get_result::<Lsn>(c).map(|r| r.lsn),
        DbConn::Sqlite(_) => Ok(0),
    }
}

/// What the last check found about one replica.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplicaState {
    /// It answered the last check.
    pub up: bool,
    /// WAL replayed, as a byte offset.
    pub replayed: i64,
    /// How long ago the primary was first seen past `replayed` (zero when caught up).
    pub lag: Duration,
}

pub struct Replica {
    /// Host, port and database, without credentials: for logs and metrics.
    pub label: String,
    pool: Pool,
    state: Mutex<ReplicaState>,
    reads: AtomicU64,
}

/// The replicas of one primary, and the monitor's view of them.
pub struct Replicas {
    members: Vec<Replica>,
    next: AtomicUsize,
    max_lag: Duration,
    /// Samples of the primary's WAL position, oldest first.
    history: Mutex<VecDeque<(Instant, i64)>>,
    primary_reads: AtomicU64,
}

impl Replicas {
    pub fn new(members: Vec<(String, Pool)>, max_lag: Duration) -> Self {
        Self {
            members: members
                .into_iter()
                .map(|(label, pool)| Replica {
                    label,
                    pool,
                    state: Mutex::new(ReplicaState::default()),
                    reads: AtomicU64::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
            max_lag,
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            primary_reads: AtomicU64::new(0),
        }
    }

    /// The replicas with their state and the reads each served, for metrics.
    pub fn report(&self) -> (Vec<(&str, ReplicaState, u64)>, u64) {
        let members = self
            .members
            .iter()
            .map(|r| {
                (
                    r.label.as_str(),
                    *r.state.lock().unwrap_or_else(|e| e.into_inner()),
                    r.reads.load(Ordering::Relaxed),
                )
            })
            .collect();
        (members, self.primary_reads.load(Ordering::Relaxed))
    }

    /// A replica fit to serve a reader who must see position `after`, taking
    /// turns among the fit ones; `None` means: use the primary.
    pub fn choose(&self, after: Option<i64>) -> Option<usize> {
        let n = self.members.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|k| (start + k) % n).find(|&i| {
            let s = *self.members[i]
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            s.up && s.lag <= self.max_lag && after.is_none_or(|p| s.replayed >= p)
        })
    }

    pub fn pool(&self, index: usize) -> &Pool {
        &self.members[index].pool
    }

    pub fn served(&self, index: Option<usize>) {
        match index {
            Some(i) => self.members[i].reads.fetch_add(1, Ordering::Relaxed),
            None => self.primary_reads.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Takes a replica out after a failed read, until the next check.
    pub fn mark_down(&self, index: usize) {
        let replica = &self.members[index];
        let mut state = replica.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.up {
            tracing::warn!(replica = %replica.label, "a read on the replica failed; reading from the primary until it answers again");
        }
        state.up = false;
    }

    /// One round of the monitor: samples the primary, then each replica.
    pub fn check(&self, primary: &Pool) {
        let now = Instant::now();
        match primary
            .get_timeout(CHECKOUT_TIMEOUT)
            .map_err(|e| e.to_string())
            .and_then(|mut c| position(&mut c, PRIMARY_POSITION).map_err(|e| e.to_string()))
        {
            Ok(lsn) => {
                let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
                if history.len() == HISTORY {
                    history.pop_front();
                }
                history.push_back((now, lsn));
            }
            // Writes fail too; replicas keep serving reads at their last position.
            Err(e) => tracing::debug!(error = %e, "replica monitor: the primary did not answer"),
        }
        for replica in &self.members {
            let replayed = replica
                .pool
                .get_timeout(CHECKOUT_TIMEOUT)
                .map_err(|e| e.to_string())
                .and_then(|mut c| position(&mut c, REPLAY_POSITION).map_err(|e| e.to_string()));
            let mut state = replica.state.lock().unwrap_or_else(|e| e.into_inner());
            let was = *state;
            *state = match replayed {
                Ok(replayed) => ReplicaState {
                    up: true,
                    replayed,
                    lag: self.lag(replayed, now),
                },
                Err(e) => {
                    if was.up {
                        tracing::warn!(replica = %replica.label, error = %e, "the replica does not answer; reading from the primary");
                    }
                    ReplicaState { up: false, ..was }
                }
            };
            let (late, was_late) = (state.lag > self.max_lag, was.lag > self.max_lag);
            if state.up && !was.up {
                tracing::info!(replica = %replica.label, "the replica answers; it serves reads while within the lag bound");
            } else if state.up && late != was_late {
                tracing::warn!(replica = %replica.label, lag_ms = state.lag.as_millis() as u64,
                    "the replica is {} the lag bound", if late { "beyond" } else { "back within" });
            }
        }
    }

    /// How far behind a replica at `replayed` is: the age of the oldest
    /// primary sample it has not replayed yet.
    fn lag(&self, replayed: i64, now: Instant) -> Duration {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history
            .iter()
            .find(|(_, lsn)| *lsn > replayed)
            .map_or(Duration::ZERO, |(at, _)| now.saturating_duration_since(*at))
    }

    /// Runs the monitor on the current actix runtime.
    pub fn spawn_monitor(self: Arc<Self>, primary: Pool) {
        actix_web::rt::spawn(async move {
            let mut interval = tokio::time::interval(CHECK_EVERY);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let (replicas, primary) = (self.clone(), primary.clone());
                if let Err(e) = actix_web::web::block(move || replicas.check(&primary)).await {
                    tracing::warn!(error = %e, "replica monitor round failed");
                }
            }
        });
    }
}

/// Where a user's last write ended on the primary: their reads must not be
/// served from a replica that has not replayed this far.
pub struct WritePosition;

impl WritePosition {
    /// Records the primary's current position as `user_id`'s last write.
    /// Called after the write committed, so the position covers it.
    pub fn remember(conn: &mut DbConn, user_id: &str) -> QueryResult<()> {
        let DbConn::Pg(c) = conn else {
            return Ok(());
        };
        diesel::sql_query(
            "INSERT INTO write_positions (user_id, lsn, recorded_at) \
             VALUES ($1, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, $2) \
             ON CONFLICT (user_id) DO UPDATE \
             SET lsn = GREATEST(write_positions.lsn, EXCLUDED.lsn), recorded_at = EXCLUDED.recorded_at",
        )
        .bind::<Text, _>(user_id)
        .bind::<diesel::sql_types::Timestamp, _>(Utc::now().naive_utc())
        .execute(c)
        .map(drop)
    }

    /// `user_id`'s last write position, if they ever wrote.
    pub fn of(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<i64>> {
        write_positions::table
            .find(user_id)
            .select(write_positions::lsn)
            .first(conn)
            .optional()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replicas(max_lag_ms: u64) -> Replicas {
        let pool = diesel::r2d2::Pool::builder().max_size(1).build_unchecked(
            super::super::ConnectionFactory::new(crate::config::DatabaseUrl::Postgres(
                "postgres://nobody@127.0.0.1:1/x".into(),
            )),
        );
        Replicas::new(
            vec![("a".into(), pool.clone()), ("b".into(), pool)],
            Duration::from_millis(max_lag_ms),
        )
    }

    fn set(r: &Replicas, i: usize, up: bool, replayed: i64, lag_ms: u64) {
        *r.members[i].state.lock().unwrap() = ReplicaState {
            up,
            replayed,
            lag: Duration::from_millis(lag_ms),
        };
    }

    #[test]
    fn reads_go_to_replicas_that_are_up_current_and_past_the_readers_write() {
        let r = replicas(1000);
        assert_eq!(r.choose(None), None, "unchecked replicas serve nothing");
        set(&r, 0, true, 100, 0);
        set(&r, 1, true, 200, 0);
        let picks: Vec<_> = (0..4).map(|_| r.choose(None)).collect();
        assert!(
            picks.contains(&Some(0)) && picks.contains(&Some(1)),
            "{picks:?}"
        );
        assert_eq!(
            r.choose(Some(150)),
            Some(1),
            "only b has replayed the write"
        );
        assert_eq!(r.choose(Some(250)), None, "nobody has: the primary");
        set(&r, 1, true, 200, 5000);
        assert_eq!(r.choose(Some(150)), None, "b is beyond the lag bound");
        assert_eq!(r.choose(None), Some(0));
        r.mark_down(0);
        assert_eq!(r.choose(None), None);
    }

    #[test]
    fn lag_is_the_age_of_the_oldest_unreplayed_primary_sample() {
        let r = replicas(1000);
        let t0 = Instant::now();
        {
            let mut h = r.history.lock().unwrap();
            h.push_back((t0, 10));
            h.push_back((t0 + Duration::from_secs(1), 20));
            h.push_back((t0 + Duration::from_secs(2), 30));
        }
        let now = t0 + Duration::from_secs(3);
        assert_eq!(r.lag(30, now), Duration::ZERO);
        assert_eq!(r.lag(25, now), Duration::from_secs(1));
        assert_eq!(r.lag(15, now), Duration::from_secs(2));
        assert_eq!(r.lag(5, now), Duration::from_secs(3));
    }
}
