//! The procedure's documents printed as HTML: Chinese, one A4 page flow, a
//! print stylesheet, nothing loaded from elsewhere. The content comes frozen
//! from `service::documents`; the templates in `templates/documents/` lay it
//! out, escaping every value.

use askama::Template;

use crate::service::documents::{DecisionDocument, Document, NoticeDocument};

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
