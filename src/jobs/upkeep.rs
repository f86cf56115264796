//! Upkeep inside the server: record due expiries, bring decayed scores up to
//! date, forget old idempotency keys. Every task is idempotent and takes the
//! same row locks as the API, so several instances running it at once do no harm.

use std::time::Duration;

use chrono::Utc;

use crate::db::Db;
use crate::service::{self, upkeep, ServiceResult};

/// Rows handled per query.
const BATCH: i64 = 200;

/// Starts the upkeep loop on the current actix runtime, running every `period`.
pub fn spawn(db: Db, period: Duration) {
    actix_web::rt::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            tick(&db).await;
        }
    });
}

/// One round of upkeep, its failure logged with the whole cause chain.
pub async fn tick(db: &Db) {
    if let Err(e) = run_once(db).await {
        super::log_failure("upkeep", e);
    }
}

/// One round of upkeep: record due expiries, bring decayed scores up to
/// date, forget old idempotency keys.
pub async fn run_once(db: &Db) -> ServiceResult<()> {
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
    let purged = db
        .run(move |conn| upkeep::purge_idempotency_keys(conn, now))
        .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot expired idempotency keys");
    }
    Ok(())
}
