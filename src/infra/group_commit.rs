//! Group commit: requests queue jobs, one thread writes whatever has queued
//! in a single transaction, then tells each request. No request is answered
//! before its job has committed, and a busy moment costs one transaction
//! for many requests instead of one each.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::db::{write_tx, Db, DbConn, DbError};

/// Most jobs committed together.
const GROUP_MAX_JOBS: usize = 256;
/// Jobs that may wait for the writer before new ones are refused (503).
const QUEUE: usize = 4096;

/// Why a queued job was not committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The queue is full: the database cannot keep up; retry shortly.
    #[error("the {0} is saturated; retry shortly")]
    Saturated(&'static str),
    /// The write failed (the cause chain says why).
    #[error("writing the {what} failed: {cause}")]
    Failed { what: &'static str, cause: String },
    /// The writer thread is gone (a bug).
    #[error("the {0} stopped")]
    Stopped(&'static str),
}

struct Pending<J> {
    job: J,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Writes one group of jobs inside the transaction the writer opened.
pub type WriteGroup<J> = fn(&mut DbConn, &[&J]) -> Result<(), DbError>;

/// A group-commit writer for jobs of type `J`.
pub struct GroupCommit<J> {
    name: &'static str,
    queue: Mutex<SyncSender<Pending<J>>>,
}

impl<J: Send + 'static> GroupCommit<J> {
    /// Starts the writer thread. `size` says how much one job weighs (rows)
    /// and `max_weight` how much one transaction may carry.
    pub fn start(
        db: Db,
        name: &'static str,
        write: WriteGroup<J>,
        size: fn(&J) -> usize,
        max_weight: usize,
    ) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Pending<J>>(QUEUE);
        std::thread::Builder::new()
            .name(name.replace(' ', "-"))
            .spawn(move || writer_loop(&db, &rx, name, write, size, max_weight))?;
        Ok(Self {
            name,
            queue: Mutex::new(tx),
        })
    }

    /// Queues a job and waits until it has committed.
    pub async fn commit(&self, job: J) -> Result<(), CommitError> {
        let (done, wait) = tokio::sync::oneshot::channel();
        let sent = match self.queue.lock() {
            Ok(queue) => queue.try_send(Pending { job, done }),
            Err(_) => return Err(CommitError::Stopped(self.name)),
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(CommitError::Saturated(self.name)),
            Err(TrySendError::Disconnected(_)) => return Err(CommitError::Stopped(self.name)),
        }
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(cause)) => Err(CommitError::Failed {
                what: self.name,
                cause,
            }),
            Err(_) => Err(CommitError::Stopped(self.name)),
        }
    }
}

fn commit_group<J>(db: &Db, jobs: &[&J], write: WriteGroup<J>) -> Result<(), String> {
    let result = db.conn().and_then(|mut conn| {
        let result = write_tx(&mut conn, |conn| write(conn, jobs));
        conn.suspect = result.is_err();
        result
    });
    result.map_err(|e| super::chain(&e))
}

fn writer_loop<J>(
    db: &Db,
    rx: &Receiver<Pending<J>>,
    name: &'static str,
    write: WriteGroup<J>,
    size: fn(&J) -> usize,
    max_weight: usize,
) {
    while let Ok(first) = rx.recv() {
        let mut weight = size(&first.job);
        let mut group = vec![first];
        // Take whatever else is already waiting, without waiting for more.
        while group.len() < GROUP_MAX_JOBS && weight < max_weight {
            match rx.try_recv() {
                Ok(next) => {
                    weight += size(&next.job);
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let jobs: Vec<&J> = group.iter().map(|p| &p.job).collect();
        match commit_group(db, &jobs, write) {
            Ok(()) => {
                tracing::debug!(
                    writer = name,
                    jobs = group.len(),
                    weight,
                    ms = started.elapsed().as_secs_f64() * 1000.0,
                    "group committed"
                );
                for pending in group {
                    let _ = pending.done.send(Ok(()));
                }
            }
            Err(cause) if group.len() > 1 => {
                tracing::warn!(writer = name, error = %cause, "a group failed; committing its jobs one by one");
                // One bad job must not fail the others: commit each alone.
                for pending in group {
                    let outcome = commit_group(db, &[&pending.job], write);
                    if let Err(cause) = &outcome {
                        tracing::warn!(writer = name, error = %cause, "a job failed");
                    }
                    let _ = pending.done.send(outcome);
                }
            }
            Err(cause) => {
                tracing::warn!(writer = name, error = %cause, "a job failed");
                for pending in group {
                    let _ = pending.done.send(Err(cause.clone()));
                }
                // The database is likely down: do not spin.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
