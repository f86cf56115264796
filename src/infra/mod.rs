//! Small pieces of machinery the use cases run on, knowing nothing of them:
//! a group-commit writer, rate limiters, the CSV writer and the evidence file store.

pub mod csv;
pub mod evidence;
pub mod group_commit;
pub mod rate_limit;

/// The whole cause chain of an error on one line (`outer: inner: root`), for logs.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
