//! The procedure's documents printed as HTML: Chinese, one A4 page flow, a
//! print stylesheet, nothing loaded from elsewhere. The content comes frozen
//! from `service::documents`; the templates in `templates/documents/` lay it
//! out, escaping every value.

use askama::Template;

use crate::domain::repairs::RepairStatus;
use crate::service::documents::{DecisionDocument, Document, NoticeDocument};
use crate::service::repairs::RepairDecisionDocument;

/// The documents' stylesheet (screen and print), served at `/assets/document.css`.
pub const STYLESHEET: &str = include_str!("document.css");

#[derive(Template)]
#[template(path = "documents/notice.html")]
struct NoticePage<'a> {
    doc: &'a NoticeDocument,
}

#[derive(Template)]
#[template(path = "documents/decision.html")]
struct DecisionPage<'a> {
    doc: &'a DecisionDocument,
}

#[derive(Template)]
#[template(path = "documents/repair_decision.html")]
struct RepairDecisionPage<'a> {
    doc: &'a RepairDecisionDocument,
    title: &'static str,
    title_en: &'static str,
    verdict: &'static str,
    approved: bool,
}

/// The written decision on a credit repair application as an HTML page
/// (Order 107 art. 17: a refusal or a rejection states its reasons).
pub fn render_repair_decision(doc: &RepairDecisionDocument) -> askama::Result<String> {
    let (title, title_en, verdict) = match doc.status {
        RepairStatus::Approved => (
            "准予信用修复决定书",
            "Decision granting credit repair",
            "经审查，你（单位）的申请符合《市场监督管理信用修复管理办法》规定的条件，本机关决定准予信用修复，将你（单位）移出严重违法失信名单，停止公示相关信息。",
        ),
        RepairStatus::Refused => (
            "不予受理信用修复申请决定书",
            "Decision not to accept a credit repair application",
            "经审查，本机关决定对你（单位）的信用修复申请不予受理。",
        ),
        _ => (
            "不予信用修复决定书",
            "Decision refusing credit repair",
            "经审查，本机关决定不予信用修复，你（单位）继续列入严重违法失信名单。",
        ),
    };
    RepairDecisionPage {
        doc,
        title,
        title_en,
        verdict,
        approved: doc.status == RepairStatus::Approved,
    }
    .render()
}

/// The document as an HTML page.
pub fn render(document: &Document) -> askama::Result<String> {
    match document {
        Document::Notice(doc) => NoticePage { doc }.render(),
        Document::Decision(doc) => DecisionPage { doc }.render(),
    }
}

mod filters {
    use askama::Values;
    use chrono::{Datelike, NaiveDate};

    /// 2026年12月3日.
    #[askama::filter_fn]
    pub fn zh_date(date: &NaiveDate, _: &dyn Values) -> askama::Result<String> {
        Ok(format!(
            "{}年{}月{}日",
            date.year(),
            date.month(),
            date.day()
        ))
    }
}
