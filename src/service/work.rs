//! A regulator's work: the queues of the console's landing page, each item
//! a case with the deadline the law gives it (CONTRACT §6.8).
//!
//! The queues are read, never written: each is one query on the bureau's
//! listings or repair applications (plus one for the subjects' names), so a
//! page costs a fixed number of queries however long the queues are.

use chrono::{Datelike, NaiveDate};

use super::{roles, Actor, ServiceResult};
use crate::db::listings::{self as store, Listing, WorkQueue};
use crate::db::registry;
use crate::db::repairs as repair_store;
use crate::db::DbConn;
use crate::domain::procedure::{may_decide, Official};
use crate::domain::registry::ReviewFlagStatus;
use crate::domain::repairs::RepairStatus;

/// Items shown per queue; the count says when there are more.
pub const QUEUE_LIMIT: i64 = 50;

/// The queues, in the order the landing page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    ObjectionWindows,
    Hearings,
    Decisions,
    Consents,
    Publications,
    RepairsToAccept,
    RepairsToDecide,
    Expiring,
    ReviewFlags,
}

impl QueueKind {
    pub const ALL: [QueueKind; 9] = [
        QueueKind::ObjectionWindows,
        QueueKind::Hearings,
        QueueKind::Decisions,
        QueueKind::Consents,
        QueueKind::Publications,
        QueueKind::RepairsToAccept,
        QueueKind::RepairsToDecide,
        QueueKind::Expiring,
        QueueKind::ReviewFlags,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueKind::ObjectionWindows => "objection_windows",
            QueueKind::Hearings => "hearings",
            QueueKind::Decisions => "decisions",
            QueueKind::Consents => "consents",
            QueueKind::Publications => "publications",
            QueueKind::RepairsToAccept => "repairs_to_accept",
            QueueKind::RepairsToDecide => "repairs_to_decide",
            QueueKind::Expiring => "expiring",
            QueueKind::ReviewFlags => "review_flags",
        }
    }
}

/// One case in a queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub subject_id: String,
    pub subject_name: String,
    pub listing_id: Option<String>,
    pub repair_id: Option<String>,
    /// The day by which the step is due (or, for objection windows and
    /// expiring listings, the last day of the period).
    pub due: Option<NaiveDate>,
    /// The due day has passed.
    pub overdue: bool,
    /// For a decision: why the viewer may not take it (the two-official
    /// rule, or another bureau's case); `None` when they may.
    pub viewer_may_not: Option<String>,
    /// For a decision: who may take it.
    pub who_may: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub kind: QueueKind,
    pub items: Vec<QueueItem>,
    /// More cases than shown.
    pub more: bool,
}

/// The last day of `day`'s month.
fn end_of_month(day: NaiveDate) -> NaiveDate {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(day)
}

/// The viewer's queues: their bureau's cases, with due dates as of `today`.
pub fn my_work(conn: &mut DbConn, actor: &Actor) -> ServiceResult<Vec<Queue>> {
    let official = actor.staff(roles::REGULATORS)?;
    let org = official.organization_id.as_str();
    let today = super::today();
    let fetch = QUEUE_LIMIT + 1;
    let viewer = Official {
        id: &official.id,
        organization_id: org,
    };

    // Rows first, then every subject named in them in one query.
    let mut listing_rows: Vec<(QueueKind, Vec<Listing>)> = Vec::new();
    for (kind, queue) in [
        (QueueKind::ObjectionWindows, WorkQueue::ObjectionWindows),
        (QueueKind::Hearings, WorkQueue::Hearings),
        (QueueKind::Decisions, WorkQueue::Decisions),
        (QueueKind::Consents, WorkQueue::Consents),
        (QueueKind::Publications, WorkQueue::Publications),
        (
            QueueKind::Expiring,
            WorkQueue::Expiring {
                until: end_of_month(today),
            },
        ),
    ] {
        listing_rows.push((kind, store::work_queue(conn, queue, org, today, fetch)?));
    }
    let to_accept = repair_store::due_of_authority(conn, org, RepairStatus::Submitted, fetch)?;
    let to_decide = repair_store::due_of_authority(conn, org, RepairStatus::Accepted, fetch)?;
    let flags = store::review_flags(conn, Some(ReviewFlagStatus::Open), None, fetch)?;

    let mut subject_ids: Vec<String> = listing_rows
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|l| l.subject_id.clone()))
        .chain(
            to_accept
                .iter()
                .chain(&to_decide)
                .map(|r| r.subject_id.clone()),
        )
        .chain(flags.iter().map(|f| f.subject_id.clone()))
        .collect();
    subject_ids.sort_unstable();
    subject_ids.dedup();
    let names: std::collections::HashMap<String, String> =
        registry::find_subjects(conn, &subject_ids)?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_default();
    let item = |subject_id: &str, due: Option<NaiveDate>, overdue: bool| QueueItem {
        subject_id: subject_id.to_owned(),
        subject_name: name_of(subject_id),
        listing_id: None,
        repair_id: None,
        due,
        overdue,
        viewer_may_not: None,
        who_may: None,
    };

    let mut queues = Vec::new();
    for (kind, rows) in listing_rows {
        let more = rows.len() as i64 > QUEUE_LIMIT;
        let items = rows
            .into_iter()
            .take(QUEUE_LIMIT as usize)
            .map(|l| {
                let due = match kind {
                    QueueKind::ObjectionWindows | QueueKind::Decisions | QueueKind::Consents => {
                        l.objection_deadline
                    }
                    QueueKind::Hearings => None,
                    QueueKind::Publications => l.publication_due_by,
                    _ => l.expires_on,
                };
                let overdue = match kind {
                    QueueKind::Publications => due.is_some_and(|d| d < today),
                    _ => false,
                };
                let mut it = item(&l.subject_id, due, overdue);
                if kind == QueueKind::Decisions {
                    let first = l.proposed_by.as_deref().or(l.noticed_by.as_deref());
                    it.who_may = Some(match first {
                        Some(_) => "an official of the authority other than the proposer".into(),
                        None => "an official of the authority".into(),
                    });
                    it.viewer_may_not = may_decide(l.authority_id.as_deref(), first, &viewer)
                        .err()
                        .map(|e| e.to_string());
                }
                it.listing_id = Some(l.id);
                it
            })
            .collect();
        queues.push(Queue { kind, items, more });
    }
    for (kind, rows) in [
        (QueueKind::RepairsToAccept, to_accept),
        (QueueKind::RepairsToDecide, to_decide),
    ] {
        let more = rows.len() as i64 > QUEUE_LIMIT;
        let items = rows
            .into_iter()
            .take(QUEUE_LIMIT as usize)
            .map(|r| {
                let due = match kind {
                    QueueKind::RepairsToAccept => r.acceptance_due_by,
                    _ => r.decision_due_by,
                };
                let mut it = item(&r.subject_id, due, due.is_some_and(|d| d < today));
                it.listing_id = Some(r.listing_id);
                it.repair_id = Some(r.id);
                it
            })
            .collect();
        queues.push(Queue { kind, items, more });
    }
    queues.push(Queue {
        kind: QueueKind::ReviewFlags,
        more: flags.len() as i64 > QUEUE_LIMIT,
        items: flags
            .into_iter()
            .take(QUEUE_LIMIT as usize)
            .map(|f| item(&f.subject_id, Some(f.raised_on), false))
            .collect(),
    });
    queues.sort_by_key(|q| QueueKind::ALL.iter().position(|k| *k == q.kind));
    Ok(queues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_ends_on_its_last_day() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(end_of_month(d(2026, 12, 4)), d(2026, 12, 31));
        assert_eq!(end_of_month(d(2028, 2, 1)), d(2028, 2, 29));
        assert_eq!(end_of_month(d(2026, 11, 30)), d(2026, 11, 30));
    }
}
