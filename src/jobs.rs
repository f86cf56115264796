//! Background upkeep inside the server. Every task is idempotent and takes
//! the same row locks as the API, so several instances running it at once do
//! no harm.

use std::time::Duration;

use chrono::Utc;

use crate::api::idempotency::RETENTION;
use crate::db::{idempotency, listings, scores, Db};
use crate::domain::registry::today_cst;
use crate::error::ApiResult;
use crate::workflows;

/// Rows handled per query.
const BATCH: i64 = 200;

/// Starts the upkeep loop on the current actix runtime, running every `period`.
pub fn spawn(db: Db, period: Duration) {
    actix_web::rt::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = run_once(&db).await {
                tracing::warn!(error = %e.problem().detail, "upkeep failed; will retry");
            }
        }
    });
}

/// One round of upkeep: record due expiries, bring decayed scores up to
/// date, forget old idempotency keys.
pub async fn run_once(db: &Db) -> ApiResult<()> {
    let today = today_cst(Utc::now());
    loop {
        let due = db
            .run(move |conn| Ok(listings::due_for_expiry(conn, today, BATCH)?))
            .await?;
        let count = due.len() as i64;
        let mut recorded = 0;
        for id in due {
            if let Some(listing) = db
                .write(move |conn| workflows::expire_due(conn, &id, today))
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
            .run(move |conn| Ok(scores::stale_subjects(conn, today, BATCH)?))
            .await?;
        let count = stale.len() as i64;
        for id in stale {
            db.write(move |conn| {
                if scores::lock_subject(conn, &id)? {
                    workflows::refresh_score(conn, &id, today)?;
                }
                Ok(())
            })
            .await?;
        }
        if count < BATCH {
            break;
        }
    }
    if db.backend() == "sqlite" {
        db.run(|conn| Ok(crate::db::optimize(conn)?)).await?;
    }
    let cutoff = Utc::now().naive_utc() - RETENTION;
    let purged = db
        .run(move |conn| Ok(idempotency::purge_before(conn, cutoff)?))
        .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot expired idempotency keys");
    }
    Ok(())
}
