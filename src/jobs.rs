//! Background upkeep inside the server: each task is idempotent, so several
//! instances running it at once do no harm.

use std::time::Duration;

use chrono::Utc;

use crate::api::idempotency::RETENTION;
use crate::db::{idempotency, Db};

/// How often upkeep runs.
const PERIOD: Duration = Duration::from_secs(60);

/// Starts the upkeep loop on the current actix runtime.
pub fn spawn(db: Db) {
    actix_web::rt::spawn(async move {
        let mut interval = actix_web::rt::time::interval(PERIOD);
        loop {
            interval.tick().await;
            if let Err(e) = run_once(&db).await {
                tracing::warn!(error = %e.problem().detail, "upkeep failed; will retry");
            }
        }
    });
}

/// One round of upkeep.
pub async fn run_once(db: &Db) -> crate::error::ApiResult<()> {
    let cutoff = Utc::now().naive_utc() - RETENTION;
    let purged = db
        .run(move |conn| Ok(idempotency::purge_before(conn, cutoff)?))
        .await?;
    if purged > 0 {
        tracing::info!(purged, "forgot expired idempotency keys");
    }
    Ok(())
}
