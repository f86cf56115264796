//! Background work inside the server: upkeep (expiries, decayed scores,
//! old keys) and webhook deliveries. Each task calls the use cases; every
//! failure is logged with its whole cause chain and retried on the next round.

pub mod upkeep;
pub mod webhooks;

pub use upkeep::run_once;

/// Logs a background task's failure with every cause, outermost first.
pub fn log_failure(task: &str, error: impl Into<anyhow::Error>) {
    let error = error.into();
    tracing::warn!(
        task,
        error = format!("{error:#}"),
        "background task failed; will retry"
    );
}
