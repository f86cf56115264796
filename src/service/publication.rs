//! The published blacklist, for anyone: search, entries, export pages, the
//! signed snapshot and the change feed. Only public fields ever leave here;
//! the JSON API and the web page both read through these functions, so they
//! never disagree about what is listed.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::index::Live;
use super::page::{Page, PageRequest};
use super::{ServiceError, ServiceResult};
use crate::db::events::{self, StoredEvent};
use crate::db::publication::{self as store, Entry, PublicSearch};
use crate::db::{DbConn, DbError};
use crate::domain::identifiers::{self, ResidentId, Uscc};
use crate::domain::names;
use crate::domain::registry::SubjectKind;
use crate::infra::rate_limit::{address_key, KeyedLimiter};
use crate::signing::{self, SigningKey};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicAccount {
    pub platform: String,
    pub handle: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicSubject {
    pub name: String,
    pub kind: SubjectKind,
    /// Anchors only: first 4 and last 4 characters of the resident ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number_masked: Option<String>,
    /// Businesses only (merchants, live-room operators, MCNs): public.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    pub accounts: Vec<PublicAccount>,
}

/// One entry of the published blacklist: these fields and no others.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicEntry {
    pub listing_id: String,
    pub subject: PublicSubject,
    pub reason: String,
    pub legal_basis: String,
    /// The name of the deciding authority.
    pub authority: String,
    /// The listing decision's number (列入决定书文号); null for entries decided before numbers were kept.
    pub decision_no: Option<String>,
    pub listed_on: NaiveDate,
    /// The last day in force: the entry is expired from the next day.
    pub expires_on: NaiveDate,
}

impl From<Entry> for PublicEntry {
    fn from(e: Entry) -> Self {
        let r = e.row;
        let kind = r.kind;
        Self {
            listing_id: r.listing_id,
            subject: PublicSubject {
                name: r.name,
                id_number_masked: r.id_number_masked.filter(|_| kind.is_person()),
                uscc: r.uscc.filter(|_| !kind.is_person()),
                kind,
                accounts: e
                    .accounts
                    .into_iter()
                    .map(|(platform, handle)| PublicAccount { platform, handle })
                    .collect(),
            },
            reason: r.reason,
            legal_basis: r.legal_basis,
            authority: r.authority.unwrap_or_default(),
            decision_no: r.decision_no,
            listed_on: r.listed_on.unwrap_or_default(),
            expires_on: r.expires_on.unwrap_or_default(),
        }
    }
}

/// The public endpoints' limits per client address (CONTRACT §6.7): every
/// request, and, above all, searches by full resident ID, which with the
/// masked ID of an entry could otherwise recover the rest of the number by
/// trial (docs/SECURITY.md has the arithmetic).
pub struct PublicLimits {
    requests: KeyedLimiter<IpAddr>,
    id_queries: KeyedLimiter<IpAddr>,
    id_queries_per_hour: u32,
}

impl PublicLimits {
    /// Either number 0 turns that limit off.
    pub fn new(requests_per_second: u32, id_queries_per_hour: u32) -> Self {
        Self {
            requests: KeyedLimiter::per_second(requests_per_second),
            id_queries: KeyedLimiter::per_hour(id_queries_per_hour),
            id_queries_per_hour,
        }
    }

    /// One request from `client` to a public endpoint or the public web page.
    pub fn admit(&self, client: Option<IpAddr>) -> ServiceResult<()> {
        self.requests
            .check(&limit_key(client), 1)
            .map_err(|retry_after_secs| ServiceError::RateLimited {
                detail: "too many requests from this address to the public blacklist; retry after the Retry-After seconds".into(),
                retry_after_secs,
            })
    }

    /// A public search about to run: one by a full resident ID counts
    /// against the address's hourly allowance; any other passes.
    pub fn admit_search(&self, client: Option<IpAddr>, search: &PublicSearch) -> ServiceResult<()> {
        if search.id_number_hash.is_none() {
            return Ok(());
        }
        self.id_queries
            .check(&limit_key(client), 1)
            .map_err(|retry_after_secs| ServiceError::RateLimited {
                detail: format!(
                    "at most {} searches by full resident ID an hour from one address; retry after the Retry-After seconds (a name, account or USCC search still works)",
                    self.id_queries_per_hour
                ),
                retry_after_secs,
            })
    }

    /// Forgets addresses whose allowance is whole again (bounded memory).
    pub fn retain_recent(&self) {
        self.requests.retain_recent();
        self.id_queries.retain_recent();
    }
}

/// The key an address is counted under; a connection without a peer
/// address (none in practice) counts as one unknown client.
fn limit_key(client: Option<IpAddr>) -> IpAddr {
    client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), address_key)
}

/// Turns a free-text query into the criteria of a public search.
pub fn criteria(
    q: Option<&str>,
    kind: Option<SubjectKind>,
    pepper: &[u8],
) -> ServiceResult<PublicSearch> {
    let mut search = PublicSearch {
        kind,
        ..Default::default()
    };
    if let Some(q) = q {
        super::check_query_text("q", q, 200)?;
    }
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(search);
    };
    let keys = names::name_keys(q);
    search.simplified = Some(keys.text).filter(|t| !t.is_empty());
    search.pinyin = keys.pinyin;
    search.uscc = Uscc::parse(q).ok().map(|u| u.as_str().to_owned());
    search.id_number_hash = ResidentId::parse(q).ok().map(|id| id.keyed_hash(pepper));
    search.account_handle = Some(identifiers::handle_search_key(q));
    Ok(search)
}

/// One page of entries in force today that match `search`, in listing-id order.
///
/// Answered from the instance's screening index (`service::index`), which
/// holds every listing in status `listed`: no query to the database.
pub async fn search(
    live: &Live,
    search: &PublicSearch,
    page: &PageRequest,
) -> ServiceResult<Page<PublicEntry>> {
    let index = live.current().await?;
    let rows = index.public_entries(
        super::today(),
        search,
        page.after.as_deref(),
        usize::try_from(page.fetch()).unwrap_or(usize::MAX),
    );
    drop(index);
    Ok(page
        .page(rows, |e| e.row.listing_id.clone())
        .map(PublicEntry::from))
}

/// One entry in force today, by listing id.
pub fn entry(conn: &mut DbConn, listing_id: &str) -> ServiceResult<Option<PublicEntry>> {
    Ok(store::active_entry(conn, super::today(), listing_id)?.map(PublicEntry::from))
}

/// The list's version and when it last changed, as of `today`.
pub fn version(conn: &mut DbConn, today: NaiveDate) -> ServiceResult<(i64, NaiveDateTime)> {
    Ok(store::version(conn, today)?)
}

/// The list's version and when it last changed, as of `today`, as the
/// instance's index has them (what the export's pages are read from).
pub async fn live_version(live: &Live, today: NaiveDate) -> ServiceResult<(i64, NaiveDateTime)> {
    Ok(live.current().await?.version(today))
}

/// Up to `limit` entries in force on `today` after the listing id `after`,
/// from the instance's index: the export streams the whole list this way, a
/// page at a time, never all of it in memory.
pub async fn export_page(
    live: &Live,
    today: NaiveDate,
    after: Option<&str>,
    limit: usize,
) -> ServiceResult<Vec<PublicEntry>> {
    let index = live.current().await?;
    let rows = index.public_entries(today, &PublicSearch::default(), after, limit);
    drop(index);
    Ok(rows.into_iter().map(PublicEntry::from).collect())
}

/// The signed snapshot document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Snapshot {
    /// Grows exactly when the public list changes.
    pub version: i64,
    pub generated_at: DateTime<Utc>,
    /// The key that signed it (see `/v1/public/keys`).
    pub key_id: String,
    pub entries: Vec<PublicEntry>,
    /// Standard base64 of the Ed25519 signature over the RFC 8785 canonical JSON
    /// of this document without `signature`.
    pub signature: String,
}

/// The whole list in force on `today` at `version`, signed with `key`, as
/// the canonical JSON bytes that are served.
pub fn signed_snapshot(
    conn: &mut DbConn,
    today: NaiveDate,
    version: i64,
    key: &SigningKey,
) -> ServiceResult<String> {
    let entries: Vec<PublicEntry> = store::active_entries(conn, today, None, None, i64::MAX)?
        .into_iter()
        .map(PublicEntry::from)
        .collect();
    let generated_at = Utc::now().trunc_subsecs(0);
    let mut document = json!({
        "version": version,
        "generated_at": generated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "key_id": signing::key_id(key),
        "entries": entries,
    });
    let signature = signing::sign(key, signing::canonical_json(&document).as_bytes());
    document["signature"] = json!(signature);
    Ok(signing::canonical_json(&document))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicChange {
    pub seq: i64,
    /// `listing.published`, `listing.expired`, `listing.removed` or `listing.revoked`.
    #[serde(rename = "type")]
    pub change_type: String,
    pub listing_id: String,
    pub at: DateTime<Utc>,
}

/// Events of `types` after `after`, and the cursor to resume from. The head
/// is read first: every event up to it has committed (sequence numbers are
/// handed out under the lock each writer holds until commit), so a cursor
/// moved to the head skips nothing.
pub fn feed_page(
    conn: &mut DbConn,
    after: i64,
    types: &[&str],
    limit: i64,
) -> Result<(Vec<StoredEvent>, i64), DbError> {
    let head = events::head(conn)?;
    let mut page = events::after(conn, after, types, limit)?;
    page.retain(|e| e.seq <= head);
    let next = if page.len() as i64 >= limit {
        page.last().map_or(after, |e| e.seq)
    } else {
        head.max(after)
    };
    Ok((page, next))
}

/// The public list's changes after `after`, in commit order, and the cursor to resume from.
pub fn changes(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> ServiceResult<(Vec<PublicChange>, i64)> {
    let (items, next) = feed_page(conn, after, &events::PUBLIC_TYPES, limit)?;
    Ok((
        items
            .into_iter()
            .map(|e| PublicChange {
                seq: e.seq,
                change_type: e.event_type,
                listing_id: e.listing_id.unwrap_or_default(),
                at: e.occurred_at.and_utc(),
            })
            .collect(),
        next,
    ))
}
