//! Platforms in the console: screening by form and by CSV upload (up to
//! 1,000 rows: name, id_number, uscc, platform, handle), answered with a
//! results table and a CSV of the results; the watchlist; the webhooks and
//! their deliveries. Screening runs `service::screening::screen_items`, the
//! API's own path: the same limits, answers and records.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use base64::Engine;

use super::cases::{FormError, Refusal};
use super::{posted, signed_in, Chrome, Staffer};
use crate::domain::screening::Decision;
use crate::infra::csv;
use crate::service::index::Live;
use crate::service::page::PageRequest;
use crate::service::screening::{
    self, RecordWriter, Screener, ScreeningLimits, ScreeningRequest, ScreeningResult, MAX_BATCH,
};
use crate::service::subjects::AccountInput;
use crate::service::watch::{self, AddWatch, DeliveryView, WatchView, WebhookView};
use crate::service::{roles, ServiceError};
use crate::web::session::{read_form, redirect, render, Ctx, Problem, Submitted};

/// The largest CSV accepted: 1,000 rows of five short fields, with room.
const MAX_CSV_BYTES: usize = 1024 * 1024;
/// The columns of an upload, in any order, named by its header line.
pub const CSV_COLUMNS: [&str; 5] = ["name", "id_number", "uscc", "platform", "handle"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/screening", web::get().to(screening_page))
        .route("/screening", web::post().to(screen_one))
        .route("/screening/csv", web::post().to(screen_csv))
        .route("/watchlist", web::get().to(watchlist))
        .route("/watchlist", web::post().to(add_watch))
        .route("/watchlist/{id}/remove", web::post().to(remove_watch))
        .route("/deliveries", web::get().to(deliveries));
}

// ---- screening ----

/// One answered row.
struct ResultRow {
    /// The row's number in the upload (1 = the first after the header).
    row: usize,
    query: ScreeningRequest,
    result: ScreeningResult,
    decision: (&'static str, &'static str),
}

impl ResultRow {
    fn new(row: usize, mut query: ScreeningRequest, result: ScreeningResult) -> Self {
        // The page and its download never hold a full ID number, not even
        // the platform's own: the row number ties a result to the upload.
        query.id_number = query.id_number.as_deref().map(mask_id);
        Self {
            row,
            decision: decision_label(result.decision),
            query,
            result,
        }
    }
}

/// An ID number as shown: the first and last four characters.
fn mask_id(raw: &str) -> String {
    let chars: Vec<char> = raw.trim().chars().collect();
    match chars.len() {
        n if n > 8 => format!(
            "{}{}{}",
            chars[..4].iter().collect::<String>(),
            "*".repeat(n - 8),
            chars[n - 4..].iter().collect::<String>()
        ),
        n => "*".repeat(n),
    }
}

#[derive(Template)]
#[template(path = "console/screening.html")]
struct ScreeningPage {
    chrome: Chrome,
    results: Vec<ResultRow>,
    /// The results as a CSV file, for the download link (a `data:` URL).
    csv_href: Option<String>,
    hits: usize,
    max_rows: usize,
    error: Option<FormError>,
}

impl Refusal for ScreeningPage {
    fn refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
}

fn decision_label(d: Decision) -> (&'static str, &'static str) {
    match d {
        Decision::Hit => ("命中：名单在列", "Hit: listed"),
        Decision::Review => ("需人工复核", "Review"),
        Decision::Clear => ("未命中", "Clear"),
    }
}

async fn screening_page(ctx: Ctx) -> HttpResponse {
    match signed_in(&ctx, roles::PLATFORMS).await {
        Ok(staffer) => show(&ctx, staffer, Vec::new(), None),
        Err(response) => response,
    }
}

fn show(
    ctx: &Ctx,
    mut staffer: Staffer,
    results: Vec<ResultRow>,
    error: Option<FormError>,
) -> HttpResponse {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.problem.status);
    let csv_href = (!results.is_empty()).then(|| results_csv(&results));
    let page = ScreeningPage {
        chrome: staffer.chrome(ctx, "screening"),
        hits: results
            .iter()
            .filter(|r| r.result.decision != Decision::Clear)
            .count(),
        results,
        csv_href,
        max_rows: MAX_BATCH,
        error,
    };
    staffer.page(status, render(page))
}

/// The results as CSV: the row's own fields, then the answer.
fn results_csv(rows: &[ResultRow]) -> String {
    let header = [
        "row",
        "name",
        "id_number",
        "uscc",
        "platform",
        "handle",
        "decision",
        "matches",
        "list_version",
        "screening_id",
    ];
    let lines = rows.iter().map(|r| {
        let account = r.query.accounts.first();
        let matches = r
            .result
            .matches
            .iter()
            .map(|m| format!("{} ({})", m.name, m.matched_on.join("+")))
            .collect::<Vec<_>>()
            .join("; ");
        [
            r.row.to_string(),
            r.query.name.clone().unwrap_or_default(),
            r.query.id_number.clone().unwrap_or_default(),
            r.query.uscc.clone().unwrap_or_default(),
            account.map(|a| a.platform.clone()).unwrap_or_default(),
            account.map(|a| a.handle.clone()).unwrap_or_default(),
            r.result.decision.as_str().to_owned(),
            matches,
            r.result.list_version.to_string(),
            r.result.screening_id.clone(),
        ]
    });
    let mut out = b"\xEF\xBB\xBF".to_vec(); // a BOM, so spreadsheets read UTF-8
    let written = csv::write_records(&mut out, [header.map(str::to_owned)])
        .and_then(|_| csv::write_records(&mut out, lines));
    if written.is_err() {
        out.clear();
    }
    format!(
        "data:text/csv;charset=utf-8;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    )
}

fn request_of(fields: &Submitted) -> ScreeningRequest {
    let accounts = match (fields.optional("platform"), fields.optional("handle")) {
        (Some(platform), Some(handle)) => vec![AccountInput { platform, handle }],
        (None, Some(handle)) => vec![AccountInput {
            platform: String::new(),
            handle,
        }],
        _ => Vec::new(),
    };
    ScreeningRequest {
        name: fields.optional("name"),
        id_number: fields.optional("id_number"),
        uscc: fields.optional("uscc"),
        accounts,
        watch: fields.has("watch"),
    }
}

/// Screens `queries` as the signed-in platform, through the API's path.
async fn run(
    ctx: &Ctx,
    staffer: &Staffer,
    queries: &[ScreeningRequest],
    batch: bool,
) -> Result<Vec<ScreeningResult>, Problem> {
    let writer = ctx.app::<RecordWriter>()?;
    let live = ctx.app::<Live>()?;
    let limits = ctx.app::<ScreeningLimits>()?;
    let db = ctx.db.reader(None);
    let pepper = ctx.settings.id_pepper.bytes();
    screening::screen_items(
        &Screener {
            live: &live,
            db: &db,
            writer: &writer,
        },
        &limits,
        &staffer.actor(),
        pepper,
        queries,
        batch,
    )
    .await
    .map_err(Problem::from)
}

async fn screen_one(ctx: Ctx, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = Submitted::of(form.into_inner());
    let staffer = match posted(&ctx, &form.text("csrf"), roles::PLATFORMS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let query = request_of(&form);
    match run(&ctx, &staffer, std::slice::from_ref(&query), false).await {
        Ok(results) => {
            let rows = results
                .into_iter()
                .map(|result| ResultRow::new(1, query.clone(), result))
                .collect();
            show(&ctx, staffer, rows, None)
        }
        Err(problem) => {
            let error = FormError {
                form: "one",
                problem,
                values: form,
            };
            show(&ctx, staffer, Vec::new(), Some(error))
        }
    }
}

/// The rows of an uploaded CSV: a header naming some of [`CSV_COLUMNS`],
/// then at most `max` rows.
pub fn parse_csv(bytes: &[u8], max: usize) -> Result<Vec<ScreeningRequest>, ServiceError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let bad = |m: String| ServiceError::invalid("file", m);
    let header = reader
        .headers()
        .map_err(|e| bad(format!("the header line cannot be read: {e}")))?
        .clone();
    let columns: Vec<Option<usize>> = header
        .iter()
        .map(|h| CSV_COLUMNS.iter().position(|c| h.eq_ignore_ascii_case(c)))
        .collect();
    if columns.iter().all(Option::is_none) {
        return Err(bad(format!(
            "the first line must name the columns: {}",
            CSV_COLUMNS.join(",")
        )));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(format!("row {}: {e}", i + 1)))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == max {
            return Err(bad(format!("at most {max} rows at once")));
        }
        let mut fields = Vec::new();
        for (value, column) in record.iter().zip(&columns) {
            if let Some(c) = column {
                fields.push((CSV_COLUMNS[*c].to_owned(), value.to_owned()));
            }
        }
        rows.push(request_of(&Submitted::of(fields)));
    }
    if rows.is_empty() {
        return Err(bad("the file has no rows under its header".into()));
    }
    Ok(rows)
}

async fn screen_csv(ctx: Ctx, form: Multipart) -> HttpResponse {
    let form = read_form(form, 1, MAX_CSV_BYTES).await;
    let (fields, file) = match form {
        Ok(mut f) => {
            let file = f.files.pop();
            (f, file)
        }
        Err(problem) => {
            return match signed_in(&ctx, roles::PLATFORMS).await {
                Ok(staffer) => {
                    let error = FormError {
                        form: "csv",
                        problem,
                        values: Submitted::default(),
                    };
                    show(&ctx, staffer, Vec::new(), Some(error))
                }
                Err(response) => response,
            }
        }
    };
    let staffer = match posted(&ctx, &fields.text("csrf"), roles::PLATFORMS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let queries = match file {
        None => Err(ServiceError::invalid("file", "choose a CSV file")),
        Some(file) => parse_csv(&file.content, MAX_BATCH),
    };
    let result = match queries {
        Err(e) => Err(Problem::from(e)),
        Ok(queries) => run(&ctx, &staffer, &queries, true)
            .await
            .map(|results| (queries, results)),
    };
    match result {
        Ok((queries, results)) => {
            let rows = queries
                .into_iter()
                .zip(results)
                .enumerate()
                .map(|(i, (query, result))| ResultRow::new(i + 1, query, result))
                .collect();
            show(&ctx, staffer, rows, None)
        }
        Err(problem) => {
            let error = FormError {
                form: "csv",
                problem,
                values: fields,
            };
            show(&ctx, staffer, Vec::new(), Some(error))
        }
    }
}

// ---- watchlist ----

#[derive(Template)]
#[template(path = "console/watchlist.html")]
struct WatchlistPage {
    chrome: Chrome,
    watches: Vec<WatchView>,
    more: bool,
    error: Option<FormError>,
}

impl Refusal for WatchlistPage {
    fn refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
}

async fn watchlist(ctx: Ctx) -> HttpResponse {
    match signed_in(&ctx, roles::PLATFORMS).await {
        Ok(staffer) => watchlist_page(ctx, staffer, None).await,
        Err(response) => response,
    }
}

async fn watchlist_page(ctx: Ctx, mut staffer: Staffer, error: Option<FormError>) -> HttpResponse {
    let actor = staffer.actor();
    let page = ctx
        .db
        .run(move |conn| {
            let page = PageRequest::parse(Some(500), None)?;
            watch::list(conn, &actor, None, &page)
        })
        .await;
    let page = match page {
        Ok(p) => p,
        Err(e) => return staffer.problem(e.into()),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.problem.status);
    let body = WatchlistPage {
        chrome: staffer.chrome(&ctx, "watchlist"),
        more: page.next_cursor.is_some(),
        watches: page.items,
        error,
    };
    staffer.page(status, render(body))
}

async fn add_watch(ctx: Ctx, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = Submitted::of(form.into_inner());
    let staffer = match posted(&ctx, &form.text("csrf"), roles::PLATFORMS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let input = AddWatch {
        subject_id: form.text("subject_id"),
        external_ref: form.optional("external_ref"),
    };
    let actor = staffer.actor();
    match ctx
        .db
        .write(move |conn| watch::add(conn, &actor, input))
        .await
    {
        Ok(_) => staffer.finish(redirect("/console/watchlist")),
        Err(e) => {
            let error = FormError {
                form: "watch",
                problem: e.into(),
                values: form,
            };
            watchlist_page(ctx, staffer, Some(error)).await
        }
    }
}

async fn remove_watch(
    ctx: Ctx,
    path: web::Path<String>,
    form: web::Form<super::CsrfForm>,
) -> HttpResponse {
    let staffer = match posted(&ctx, &form.csrf, roles::PLATFORMS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let (actor, id) = (staffer.actor(), path.into_inner());
    match ctx
        .db
        .write(move |conn| watch::remove(conn, &actor, &id))
        .await
    {
        Ok(()) => staffer.finish(redirect("/console/watchlist")),
        Err(e) => staffer.problem(e.into()),
    }
}

// ---- webhooks and deliveries ----

struct HookRow {
    hook: WebhookView,
    deliveries: Vec<DeliveryView>,
}

#[derive(Template)]
#[template(path = "console/deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    hooks: Vec<HookRow>,
}

async fn deliveries(ctx: Ctx) -> HttpResponse {
    let mut staffer = match signed_in(&ctx, roles::PLATFORMS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let actor = staffer.actor();
    let hooks = ctx
        .db
        .run(move |conn| {
            let page = PageRequest::parse(Some(100), None)?;
            watch::webhooks(conn, &actor, None)?
                .into_iter()
                .map(|hook| {
                    let deliveries = watch::deliveries(conn, &actor, &hook.id, &page)?.items;
                    Ok(HookRow { hook, deliveries })
                })
                .collect::<Result<Vec<_>, ServiceError>>()
        })
        .await;
    match hooks {
        Ok(hooks) => {
            let page = DeliveriesPage {
                chrome: staffer.chrome(&ctx, "deliveries"),
                hooks,
            };
            staffer.page(StatusCode::OK, render(page))
        }
        Err(e) => staffer.problem(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_upload_is_read_by_its_header() {
        let rows = parse_csv(
            "\u{FEFF}handle,name,platform,extra\n@zw,张伟,douyin,x\n\n,李娜,,\n".as_bytes(),
            10,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name.as_deref(), Some("张伟"));
        assert_eq!(rows[0].accounts[0].platform, "douyin");
        assert_eq!(rows[0].accounts[0].handle, "@zw");
        assert_eq!(rows[1].name.as_deref(), Some("李娜"));
        assert!(rows[1].accounts.is_empty());
    }

    #[test]
    fn a_csv_without_a_header_or_over_the_limit_is_refused() {
        assert!(parse_csv(b"zhang,110101199003074578\n", 10).is_err());
        assert!(parse_csv(b"name\n", 10).is_err());
        let many = format!("name\n{}", "a\n".repeat(3));
        assert!(parse_csv(many.as_bytes(), 2).is_err());
        assert_eq!(parse_csv(many.as_bytes(), 3).unwrap().len(), 3);
    }
}
