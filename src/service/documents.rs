//! The documents of the listing procedure as served: the notice (告知书) and
//! the decision (列入决定书). Their content is frozen when they are issued —
//! what the party was told stays what it was told, whatever changes later —
//! and kept as JSON; `web::documents` prints them as HTML.
//!
//! Order 44 art. 13 ¶1 says what a decision states: the reasons and basis of
//! the listing, the management measures, how the listed party gets removed
//! (conditions and procedure), and the remedies. The notice states the facts,
//! reasons and basis proposed and the party's rights (art. 13 ¶1 with the
//! penalty procedure: a statement or a hearing within 5 working days).

use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Actor, ServiceError, ServiceResult};
use crate::db::accounts::{self, Organization};
use crate::db::listings::{self as store, Listing, StoredDocument};
use crate::db::registry::{self, Subject, Violation};
use crate::db::DbConn;
use crate::domain::grounds;
use crate::domain::procedure::{
    self, Action, ConsentOutcome, Considerations, HearingStatus, LAWSUIT_MONTHS, LISTING_YEARS,
    OBJECTION_WORKING_DAYS, PUBLICATION_WORKING_DAYS, RECONSIDERATION_DAYS, REPAIR_AFTER_YEARS,
};
use crate::domain::registry::SubjectKind;

/// Which document of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Notice,
    Decision,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Notice => "notice",
            DocumentKind::Decision => "decision",
        }
    }

    /// The mark in the document's number: 告 for a notice, 决 for a decision.
    pub fn mark(self) -> &'static str {
        match self {
            DocumentKind::Notice => "列严告",
            DocumentKind::Decision => "列严决",
        }
    }
}

impl std::str::FromStr for DocumentKind {
    type Err = ServiceError;
    fn from_str(s: &str) -> Result<Self, ServiceError> {
        match s {
            "notice" => Ok(DocumentKind::Notice),
            "decision" => Ok(DocumentKind::Decision),
            _ => Err(ServiceError::not_found(
                "no such document: a listing has a `notice` and a `decision`",
            )),
        }
    }
}

/// The party as the documents name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub subject_id: String,
    pub name: String,
    pub kind: SubjectKind,
    pub id_number_masked: Option<String>,
    pub uscc: Option<String>,
    pub region_code: Option<String>,
}

/// One penalty the listing rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasisPenalty {
    pub violation_id: String,
    pub description: String,
    /// Null while the penalty is pending.
    pub decision_no: Option<String>,
    pub decided_on: Option<NaiveDate>,
    /// The kinds, as the decision names them.
    pub penalties: Vec<String>,
    pub ban_until: Option<NaiveDate>,
    pub ground_code: Option<String>,
    /// 第九条第（一）项 …
    pub ground_article: Option<String>,
    pub ground_summary: Option<String>,
}

/// One measure of Order 44 art. 15.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureText {
    pub code: String,
    pub item: u32,
    pub summary: String,
}

/// One factor the bureau weighed (art. 12 ¶1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub label: String,
    pub text: String,
}

/// The notice of a proposed listing (告知书).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeDocument {
    pub notice_no: String,
    pub authority: String,
    pub authority_id: String,
    pub listing_id: String,
    pub served_on: NaiveDate,
    pub party: Party,
    /// The facts and reasons.
    pub reason: String,
    pub legal_basis: String,
    pub basis: Vec<BasisPenalty>,
    pub considerations: Vec<Factor>,
    /// The measures a listing brings (art. 15), all of which may be applied.
    pub measures: Vec<MeasureText>,
    pub objection_deadline: NaiveDate,
    pub objection_working_days: u32,
    pub listing_years: u32,
    /// Where the party signs in with the notice number and its access code.
    pub portal_path: String,
}

/// The hearing as the decision recounts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HearingText {
    /// Held (true) or the request withdrawn (false).
    pub held: bool,
    pub on: NaiveDate,
}

/// The parent bureau's consent recorded before the decision (art. 22).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentText {
    pub organization: String,
    pub given_on: NaiveDate,
}

/// The decision to list (列入决定书).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionDocument {
    pub decision_no: String,
    pub authority: String,
    pub authority_id: String,
    pub listing_id: String,
    pub decided_on: NaiveDate,
    pub party: Party,
    pub reason: String,
    pub decision_reason: Option<String>,
    pub legal_basis: String,
    pub basis: Vec<BasisPenalty>,
    /// The penalty decision taken together with this one (a pending penalty), if any.
    pub penalty_decision_no: Option<String>,
    pub considerations: Vec<Factor>,
    pub notice_no: Option<String>,
    pub served_on: Option<NaiveDate>,
    /// Statements received, as (received on, with a hearing request).
    pub statements: Vec<(NaiveDate, bool)>,
    /// The hearing, held or its request withdrawn.
    pub hearing: Option<HearingText>,
    pub consent: Option<ConsentText>,
    pub measures: Vec<MeasureText>,
    pub listed_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub published_on: Option<NaiveDate>,
    pub publication_due_by: Option<NaiveDate>,
    pub publication_working_days: u32,
    pub listing_years: u32,
    /// The first day a credit repair application may be made.
    pub repair_opens_on: NaiveDate,
    pub repair_after_years: u32,
    pub reconsideration_days: u32,
    pub lawsuit_months: u32,
}

/// A stored document, ready to print.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    Notice(NoticeDocument),
    Decision(DecisionDocument),
}

/// 第九条第（一）项: where an Order 44 ground stands, in the text's own numerals.
pub fn article_text(article: u32, item: u32) -> String {
    format!(
        "第{}条第（{}）项",
        chinese_number(article),
        chinese_number(item)
    )
}

/// 1–99 in Chinese numerals, as articles are numbered.
fn chinese_number(n: u32) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n as usize].to_owned(),
        10..=19 => format!(
            "十{}",
            if n == 10 {
                ""
            } else {
                DIGITS[(n % 10) as usize]
            }
        ),
        20..=99 => format!(
            "{}十{}",
            DIGITS[(n / 10) as usize],
            if n.is_multiple_of(10) {
                ""
            } else {
                DIGITS[(n % 10) as usize]
            }
        ),
        _ => n.to_string(),
    }
}

impl Party {
    pub fn of(s: &Subject) -> Self {
        Party {
            subject_id: s.id.clone(),
            name: s.name.clone(),
            kind: s.kind,
            id_number_masked: s.id_number_masked.clone(),
            uscc: s.uscc.clone(),
            region_code: s.region_code.clone(),
        }
    }
}

fn basis_texts(basis: &[Violation]) -> Vec<BasisPenalty> {
    basis
        .iter()
        .map(|v| {
            let ground = v.listing_ground.as_deref().and_then(grounds::ground);
            BasisPenalty {
                violation_id: v.id.clone(),
                description: v.description.clone(),
                decision_no: v.decision_no.clone(),
                decided_on: v.decided_on,
                penalties: v
                    .penalty_kinds
                    .iter()
                    .map(|k| k.label().to_owned())
                    .collect(),
                ban_until: v.ban_until,
                ground_code: v.listing_ground.clone(),
                ground_article: ground.map(|g| article_text(g.article, g.item)),
                ground_summary: ground.map(|g| g.summary.clone()),
            }
        })
        .collect()
}

fn measure_texts(codes: &[String]) -> Vec<MeasureText> {
    codes
        .iter()
        .filter_map(|c| grounds::measure(c))
        .map(|m| MeasureText {
            code: m.code.clone(),
            item: m.item,
            summary: m.summary.clone(),
        })
        .collect()
}

fn factors(c: &Considerations) -> Vec<Factor> {
    c.factors()
        .into_iter()
        .filter_map(|(_, label, text)| {
            text.map(|t| Factor {
                label: label.to_owned(),
                text: t.to_owned(),
            })
        })
        .collect()
}

/// Who a document is from and to, and what it rests on.
#[derive(Debug, Clone, Copy)]
pub struct DocumentParties<'a> {
    pub authority: &'a Organization,
    pub party: &'a Subject,
    /// The basis penalties as they stand when the document is issued.
    pub basis: &'a [Violation],
}

/// What the decision recounts of the procedure before it.
#[derive(Debug, Clone, Default)]
pub struct ProcedureRecord {
    pub statements: Vec<(NaiveDate, bool)>,
    pub hearing: Option<HearingText>,
    /// The parent bureau's agreement: (its name, the day).
    pub consent: Option<(String, NaiveDate)>,
    pub penalty_decision_no: Option<String>,
}

/// The notice of a listing just served; `None` if it lacks the notice's fields.
pub fn notice_document(listing: &Listing, with: DocumentParties<'_>) -> Option<NoticeDocument> {
    Some(NoticeDocument {
        notice_no: listing.notice_no.clone()?,
        authority: with.authority.name.clone(),
        authority_id: with.authority.id.clone(),
        listing_id: listing.id.clone(),
        served_on: listing.served_on?,
        party: Party::of(with.party),
        reason: listing.reason.clone(),
        legal_basis: listing.legal_basis.clone(),
        basis: basis_texts(with.basis),
        considerations: factors(&listing.considerations),
        measures: measure_texts(
            &grounds::measures()
                .iter()
                .map(|m| m.code.clone())
                .collect::<Vec<_>>(),
        ),
        objection_deadline: listing.objection_deadline?,
        objection_working_days: OBJECTION_WORKING_DAYS,
        listing_years: LISTING_YEARS,
        portal_path: "/portal".into(),
    })
}

/// The decision of a listing just decided to list; `None` if it lacks the decision's fields.
pub fn decision_document(
    listing: &Listing,
    with: DocumentParties<'_>,
    record: ProcedureRecord,
) -> Option<DecisionDocument> {
    let listed_on = listing.listed_on?;
    Some(DecisionDocument {
        decision_no: listing.decision_no.clone()?,
        authority: with.authority.name.clone(),
        authority_id: with.authority.id.clone(),
        listing_id: listing.id.clone(),
        decided_on: listing.decided_on?,
        party: Party::of(with.party),
        reason: listing.reason.clone(),
        decision_reason: listing.decision_reason.clone(),
        legal_basis: listing.legal_basis.clone(),
        basis: basis_texts(with.basis),
        penalty_decision_no: record.penalty_decision_no,
        considerations: factors(&listing.considerations),
        notice_no: listing.notice_no.clone(),
        served_on: listing.served_on,
        statements: record.statements,
        hearing: record.hearing,
        consent: record.consent.map(|(organization, given_on)| ConsentText {
            organization,
            given_on,
        }),
        measures: measure_texts(&listing.measures),
        listed_on,
        expires_on: listing.expires_on?,
        published_on: listing.published_on,
        publication_due_by: listing.publication_due_by,
        publication_working_days: PUBLICATION_WORKING_DAYS,
        listing_years: LISTING_YEARS,
        repair_opens_on: procedure::repair_opens_on(listed_on),
        repair_after_years: REPAIR_AFTER_YEARS,
        reconsideration_days: RECONSIDERATION_DAYS,
        lawsuit_months: LAWSUIT_MONTHS,
    })
}

/// A document as the row that keeps it.
pub fn stored<T: Serialize>(
    listing_id: &str,
    kind: DocumentKind,
    number: &str,
    document: &T,
    at: NaiveDateTime,
) -> ServiceResult<StoredDocument> {
    Ok(StoredDocument {
        listing_id: listing_id.to_owned(),
        kind: kind.as_str().to_owned(),
        number: number.to_owned(),
        content: serde_json::to_string(document)
            .map_err(|e| ServiceError::internal(format!("a document did not serialise: {e}")))?,
        created_at: at,
    })
}

/// The authority, the party and the basis of a stored listing.
fn parties_of(
    conn: &mut DbConn,
    listing: &Listing,
) -> ServiceResult<(Organization, Subject, Vec<Violation>)> {
    let authority_id = listing
        .authority_id
        .as_deref()
        .ok_or_else(|| ServiceError::internal("a listing without an authority has no documents"))?;
    let authority = accounts::find_organization(conn, authority_id)?
        .ok_or_else(|| ServiceError::internal("a listing's authority does not exist"))?;
    let party = registry::find_subject(conn, &listing.subject_id)?
        .ok_or_else(|| ServiceError::internal("a listing's subject does not exist"))?;
    let ids = store::basis_violation_ids(conn, &listing.id)?;
    let basis = registry::violations_by_ids(conn, &ids)?;
    Ok((authority, party, basis))
}

/// Freezes the notice of a listing just served.
pub fn store_notice(conn: &mut DbConn, listing: &Listing) -> ServiceResult<()> {
    let (authority, party, basis) = parties_of(conn, listing)?;
    let with = DocumentParties {
        authority: &authority,
        party: &party,
        basis: &basis,
    };
    let doc = notice_document(listing, with)
        .ok_or_else(|| ServiceError::internal("a served listing lacks its notice fields"))?;
    let row = stored(
        &listing.id,
        DocumentKind::Notice,
        &doc.notice_no,
        &doc,
        Utc::now().naive_utc(),
    )?;
    store::put_document(conn, &row)?;
    Ok(())
}

/// Freezes the decision of a listing just decided to list.
pub fn store_decision(
    conn: &mut DbConn,
    listing: &Listing,
    penalty_decision_no: Option<&str>,
) -> ServiceResult<()> {
    let (authority, party, basis) = parties_of(conn, listing)?;
    let ids = [listing.id.as_str()];
    let statements = store::objections_of(conn, &ids)?
        .into_iter()
        .map(|o| (o.received_on, o.hearing_requested))
        .collect();
    let history = store::history_of(conn, &ids)?;
    let hearing = listing.hearing_status.0.and_then(|status| {
        let action = match status {
            HearingStatus::Held => Action::Hearing,
            HearingStatus::Withdrawn => Action::HearingWithdrawal,
            HearingStatus::Requested => return None,
        };
        history
            .iter()
            .rev()
            .find(|h| h.action == action)
            .map(|h| HearingText {
                held: status == HearingStatus::Held,
                on: h.effective_on,
            })
    });
    let consent = match store::consents_of(conn, &ids)?.pop() {
        Some(c) if c.outcome == ConsentOutcome::Agree => {
            let parent = accounts::find_organization(conn, &c.organization_id)?
                .map(|o| o.name)
                .unwrap_or_default();
            Some((parent, c.given_on))
        }
        _ => None,
    };
    let record = ProcedureRecord {
        statements,
        hearing,
        consent,
        penalty_decision_no: penalty_decision_no.map(str::to_owned),
    };
    let with = DocumentParties {
        authority: &authority,
        party: &party,
        basis: &basis,
    };
    let doc = decision_document(listing, with, record)
        .ok_or_else(|| ServiceError::internal("a listed listing lacks its decision fields"))?;
    let row = stored(
        &listing.id,
        DocumentKind::Decision,
        &doc.decision_no,
        &doc,
        Utc::now().naive_utc(),
    )?;
    store::put_document(conn, &row)?;
    Ok(())
}

/// A listing's document as issued: for staff who read the registry, and for
/// the party in the portal.
pub fn get(
    conn: &mut DbConn,
    actor: &Actor,
    listing_id: &str,
    kind: DocumentKind,
) -> ServiceResult<Document> {
    let listing = super::listings::find(conn, listing_id)?;
    actor.require_reader_of(&listing.subject_id)?;
    let stored = store::document(conn, listing_id, kind.as_str())?.ok_or_else(|| {
        ServiceError::not_found(match kind {
            DocumentKind::Notice => "no notice has been served on this listing",
            DocumentKind::Decision => "no decision to list has been taken on this listing",
        })
    })?;
    // Every document served is logged: who read what the party was told.
    crate::db::audit::append(
        conn,
        &actor.audit(),
        crate::db::audit::Event {
            action: "document.serve",
            target_type: "listing",
            target_id: listing_id,
            details: serde_json::json!({"document": kind.as_str(), "number": stored.number}),
        },
    )?;
    let corrupt = |e: serde_json::Error| {
        ServiceError::internal(format!(
            "listing {listing_id}: the stored {} is not the JSON written: {e}",
            kind.as_str()
        ))
    };
    Ok(match kind {
        DocumentKind::Notice => {
            Document::Notice(serde_json::from_str(&stored.content).map_err(corrupt)?)
        }
        DocumentKind::Decision => {
            Document::Decision(serde_json::from_str(&stored.content).map_err(corrupt)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_are_numbered_in_chinese() {
        assert_eq!(article_text(9, 1), "第九条第（一）项");
        assert_eq!(article_text(11, 1), "第十一条第（一）项");
        assert_eq!(chinese_number(10), "十");
        assert_eq!(chinese_number(21), "二十一");
        assert_eq!(chinese_number(30), "三十");
    }
}
