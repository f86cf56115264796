//! Upkeep inside the server: record due expiries, bring decayed scores up to
//! date, forget what is kept no longer (idempotency keys, login-throttle
//! counters, dead refresh tokens, ended webhook deliveries, old screening
//! records). Every task is idempotent and takes the same row locks as the
//! API, so several instances running it at once do no harm.

use std::time::Duration;

use chrono::Utc;

use crate::db::Db;
use crate::service::upkeep::Retention;
use crate::service::{self, upkeep, ServiceResult};

/// Rows handled per query.
const BATCH: i64 = 200;
/// Rows deleted per statement by the purges that can meet many at once
/// (the first round after an upgrade): short statements keep SQLite's
/// single writer and PostgreSQL's locks free for requests in between.
const PURGE_BATCH: i64 = 5000;

/// Starts the upkeep loop on the current actix runtime, running every `period`.
pub fn spawn(db: Db, period: Duration, retention: Retention) {
    actix_web::rt::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            tick_with(&db, &retention).await;
        }
    });
}

/// One round of upkeep with the default retention, its failure logged with
/// the whole cause chain.
pub async fn tick(db: &Db) {
    tick_with(db, &Retention::default()).await;
}

async fn tick_with(db: &Db, retention: &Retention) {
    if let Err(e) = run_with(db, retention).await {
        super::log_failure("upkeep", e);
    }
}

/// One round of upkeep with the default retention.
pub async fn run_once(db: &Db) -> ServiceResult<()> {
    run_with(db, &Retention::default()).await
}

/// One round of upkeep: record due expiries, bring decayed scores up to
/// date, forget what `retention` and the fixed periods no longer keep.
pub async fn run_with(db: &Db, retention: &Retention) -> ServiceResult<()> {
    let today = service::today();
    loop {
        let due = db
            .run(move |conn| upkeep::due_expiries(conn, today, BATCH))
            .await?;
        let count = due.len() as i64;
        let mut recorded = 0;
        for id in due {
            if let Some(listing) = db
                .write(move |conn| service::listings::expire_due(conn, &id, today))
                .await?
            {
                tracing::info!(listing = %listing.id, "recorded the expiry of a listing");
                recorded += 1;
            }
        }
        // Stop when the batch was the last, or when nothing could be recorded
        // (another instance got there first): the next round picks up the rest.
        if count < BATCH || recorded == 0 {
            break;
        }
    }
    loop {
        let stale = db
            .run(move |conn| upkeep::stale_scores(conn, today, BATCH))
            .await?;
        let count = stale.len() as i64;
        for id in stale {
            db.write(move |conn| service::scores::refresh_stale(conn, &id, today))
                .await?;
        }
        if count < BATCH {
            break;
        }
    }
    if db.backend() == "sqlite" {
        db.run(upkeep::optimize).await?;
    }
    let now = Utc::now().naive_utc();
    // Purges are writes: through `db.write`, so that on SQLite they queue
    // with the other writers instead of polling for the lock beside them.
    let purged = db
        .write(move |conn| upkeep::purge_idempotency_keys(conn, now))
        .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot expired idempotency keys");
    }
    let purged = db
        .write(move |conn| upkeep::purge_login_throttle(conn, now))
        .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot login-throttle counters past their window");
    }
    let purged = db
        .write(move |conn| upkeep::purge_refresh_tokens(conn, now))
        .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot expired and revoked refresh tokens");
    }
    let purged = purge_in_batches(db, move |conn| {
        upkeep::purge_webhook_deliveries(conn, now, PURGE_BATCH)
    })
    .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot webhook deliveries ended 30 days ago");
    }
    let purged = purge_in_batches(db, move |conn| {
        upkeep::purge_changes(conn, now, PURGE_BATCH)
    })
    .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot change-stream entries a day old");
    }
    let retention = *retention;
    let purged = purge_in_batches(db, move |conn| {
        upkeep::purge_screenings(conn, now, &retention, PURGE_BATCH)
    })
    .await?;
    if purged > 0 {
        tracing::info!(
            purged,
            days = retention.screening_days,
            "forgot screening records past their retention (their audit entries stay)"
        );
    }
    Ok(())
}

/// Runs `purge` until it deletes less than a whole batch; returns the total.
async fn purge_in_batches<F>(db: &Db, purge: F) -> ServiceResult<usize>
where
    F: Fn(&mut crate::db::DbConn) -> ServiceResult<usize> + Clone + Send + 'static,
{
    let mut total = 0;
    loop {
        let purge = purge.clone();
        let deleted = db.write(move |conn| purge(conn)).await?;
        total += deleted;
        if (deleted as i64) < PURGE_BATCH {
            return Ok(total);
        }
    }
}
