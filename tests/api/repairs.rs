//! Credit repair under SAMR Order 107 and the subject's portal (CONTRACT
//! §6.4–6.5): one black-box test per rule of docs/procedure.md's Order 107
//! rows, on both backends, and the portal's limits.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// A listed anchor as the portal knows them: ids, the notice's number and
/// the access code handed over with it.
struct Listed {
    subject: String,
    listing: String,
    violation: String,
    notice_no: String,
    access_code: String,
}

const ID_FIRST17: &str = "11010519900307123";

impl TestApp {
    /// An anchor fined for false advertising (decided 2026-06-01), noticed the
    /// same day by `a` and listed on 2026-06-09 by `b`; the listing is moved
    /// back a year and a half, so that repair is open.
    async fn listed_anchor(&self, a: &str, b: &str, name: &str) -> Listed {
        self.listed_anchor_with_id(a, b, name, ID_FIRST17).await
    }

    /// The same, for an anchor with the resident ID starting `first17`.
    async fn listed_anchor_with_id(&self, a: &str, b: &str, name: &str, first17: &str) -> Listed {
        let subject = self
            .create_subject(
                a,
                json!({"kind": "anchor", "name": name, "id_number": resident_id(first17)}),
            )
            .await;
        let violation = self
            .record_violation(
                a,
                &subject,
                json!({"category": "false_advertising", "severity": "serious",
                    "decided_on": "2026-06-01", "description": "夸大宣传",
                    "penalty_kinds": ["fine_aggravated"], "listing_ground": "art9.5"}),
            )
            .await;
        let proposed = self
            .post(
                "/v1/listings",
                a,
                json!({"subject_id": subject, "violation_ids": [violation],
                    "reason": "直播间虚假宣传", "legal_basis": "《反不正当竞争法》第八条"}),
            )
            .await;
        assert_eq!(proposed.status, 201, "{:?}", proposed.body);
        let listing = proposed.body["id"].as_str().unwrap().to_owned();
        let noticed = self
            .post(
                format!("/v1/listings/{listing}/notice"),
                a,
                json!({"served_on": "2026-06-01"}),
            )
            .await;
        assert_eq!(noticed.status, 200, "{:?}", noticed.body);
        let decided = self
            .post(
                format!("/v1/listings/{listing}/decision"),
                b,
                json!({"outcome": "list", "reason": "r", "decided_on": "2026-06-09"}),
            )
            .await;
        assert_eq!(decided.body["status"], "listed", "{:?}", decided.body);
        self.execute_sql(&format!(
            "UPDATE listings SET listed_on = '2025-06-09', published_on = '2025-06-09' WHERE id = '{listing}'"
        ));
        Listed {
            subject,
            listing,
            violation,
            notice_no: noticed.body["notice_no"].as_str().unwrap().to_owned(),
            access_code: noticed.body["access_code"].as_str().unwrap().to_owned(),
        }
    }

    async fn sign_in(&self, notice_no: &str, code: &str) -> Reply {
        self.call(
            Method::POST,
            "/v1/portal/session",
            None,
            Some(json!({"notice_no": notice_no, "access_code": code})),
        )
        .await
    }

    async fn portal_token(&self, listed: &Listed) -> String {
        let r = self.sign_in(&listed.notice_no, &listed.access_code).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["token_type"], "Bearer");
        assert_eq!(r.body["subject_id"], listed.subject);
        r.body["access_token"].as_str().unwrap().to_owned()
    }
}

fn application(channel: &str) -> Value {
    json!({"statement": "罚款已缴清，已下架问题商品并向消费者退款",
        "commitment": {"text": "本人承诺今后诚信直播、如实宣传", "signed_on": "2026-11-30"},
        "penalty_fulfilled": true, "harm_removed": true, "channel": channel,
        "evidence": [{"sha256": "b".repeat(64), "media_type": "application/pdf",
            "description": "罚款缴纳凭证"}]})
}

fn condition(reply: &Reply) -> &str {
    reply.body["condition"].as_str().unwrap_or_default()
}

/// Order 107 art. 13–14: the five refusals, each a 409 naming its condition.
async fn an_application_is_refused_for_each_statutory_reason(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let listed = app.listed_anchor(&a, &b, "秦二十").await;
    let url = format!("/v1/listings/{}/repairs", listed.listing);

    // too_early: not after the first anniversary of publication.
    app.execute_sql(&format!(
        "UPDATE listings SET listed_on = '2026-06-09' WHERE id = '{}'",
        listed.listing
    ));
    let r = app.post(&url, &a, application("in_person")).await;
    assert_problem(&r, 409);
    assert_eq!(condition(&r), "too_early", "{:?}", r.body);
    app.execute_sql(&format!(
        "UPDATE listings SET listed_on = '2025-06-09' WHERE id = '{}'",
        listed.listing
    ));

    // ban_in_force: a practice ban of the basis still runs.
    app.execute_sql(&format!(
        "UPDATE violations SET ban_until = '2099-12-31' WHERE id = '{}'",
        listed.violation
    ));
    let r = app.post(&url, &a, application("in_person")).await;
    assert_eq!(condition(&r), "ban_in_force", "{:?}", r.body);
    app.execute_sql(&format!(
        "UPDATE violations SET ban_until = NULL WHERE id = '{}'",
        listed.violation
    ));

    // The conditions of art. 13 are stated, not assumed.
    let mut unfulfilled = application("in_person");
    unfulfilled["penalty_fulfilled"] = json!(false);
    assert_invalid_field(&app.post(&url, &a, unfulfilled).await, "penalty_fulfilled");
    // A regulator records in person; the portal is the subject's.
    assert_invalid_field(&app.post(&url, &a, application("online")).await, "channel");

    // repair_open: one application at a time.
    let first = app.post(&url, &a, application("in_person")).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["channel"], "in_person");
    assert!(first.body["acceptance_due_by"].is_string());
    let r = app.post(&url, &a, application("in_person")).await;
    assert_eq!(condition(&r), "repair_open", "{:?}", r.body);

    // Refused to accept by the head: the listing may be applied for again.
    let (_, head) = app.head_of(&a).await;
    let id = first.body["id"].as_str().unwrap();
    let refused = app
        .post(
            format!("/v1/repairs/{id}/acceptance"),
            &head,
            json!({"outcome": "refuse", "reason": "申请材料系他人代签"}),
        )
        .await;
    assert_eq!(refused.status, 200, "{:?}", refused.body);
    assert_eq!(refused.body["status"], "refused");

    // new_heavier_penalty: another heavier penalty after publication.
    app.record_violation(
        &a,
        &listed.subject,
        json!({"category": "price_fraud", "severity": "serious",
            "decided_on": "2026-10-01", "description": "虚构原价",
            "penalty_kinds": ["fine_aggravated"]}),
    )
    .await;
    let r = app.post(&url, &a, application("in_person")).await;
    assert_eq!(condition(&r), "new_heavier_penalty", "{:?}", r.body);
}
both_backends!(
    an_application_is_refused_for_each_statutory_reason,
    an_application_is_refused_for_each_statutory_reason
);

/// Order 107 art. 14 ¶4, 16, 17: acceptance or one complete supplement
/// request, the head's decision, one extension, the written rejection.
async fn acceptance_supplement_extension_and_a_written_rejection(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let listed = app.listed_anchor(&a, &b, "秦二十一").await;
    let (_, head) = app.head_of(&a).await;
    let applied = app
        .post(
            format!("/v1/listings/{}/repairs", listed.listing),
            &a,
            application("in_person"),
        )
        .await;
    let id = applied.body["id"].as_str().unwrap().to_owned();
    let answer = |body: Value| app.post(format!("/v1/repairs/{id}/acceptance"), &a, body);

    assert_invalid_field(&answer(json!({"outcome": "supplement"})).await, "missing");
    // Only the head refuses to accept.
    assert_problem(
        &answer(json!({"outcome": "refuse", "reason": "r"})).await,
        403,
    );
    let asked = answer(json!({"outcome": "supplement",
        "missing": ["主体资格证明文件", "整改报告"], "reason": "材料不全"}))
    .await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    assert_eq!(asked.body["status"], "supplement_requested");
    assert_eq!(
        asked.body["missing"],
        json!(["主体资格证明文件", "整改报告"])
    );
    let supplemented = app
        .post(
            format!("/v1/repairs/{id}/supplement"),
            &a,
            json!({"statement": "补正主体资格证明和整改报告",
                "evidence": [{"sha256": "c".repeat(64), "media_type": "image/png"}]}),
        )
        .await;
    assert_eq!(supplemented.status, 200, "{:?}", supplemented.body);
    assert_eq!(supplemented.body["status"], "submitted");
    assert_eq!(supplemented.body["evidence"].as_array().unwrap().len(), 2);
    // Everything missing is asked for at once: never a second time.
    let again = answer(json!({"outcome": "supplement", "missing": ["x"]})).await;
    assert_problem(&again, 409);

    let accepted = answer(json!({"outcome": "accept"})).await;
    assert_eq!(accepted.body["status"], "accepted", "{:?}", accepted.body);
    let due = accepted.body["decision_due_by"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!accepted.body["decision_overdue"].as_bool().unwrap());

    // Only the head decides and extends; the extension once, by 10 working days.
    let decision = format!("/v1/repairs/{id}/decision");
    assert_problem(
        &app.post(&decision, &a, json!({"outcome": "approve", "reason": "r"}))
            .await,
        403,
    );
    let extension = format!("/v1/repairs/{id}/extension");
    let why = || json!({"reason": "需要现场核查整改情况"});
    assert_problem(&app.post(&extension, &a, why()).await, 403);
    let extended = app.post(&extension, &head, why()).await;
    assert_eq!(extended.status, 200, "{:?}", extended.body);
    assert!(extended.body["decision_due_by"].as_str().unwrap() > due.as_str());
    assert_problem(&app.post(&extension, &head, why()).await, 409);

    // No document before the decision; a rejection is served in writing.
    let document = format!("/v1/repairs/{id}/documents/decision");
    assert_problem(&app.get(&document, &a).await, 404);
    assert_invalid_field(
        &app.post(&decision, &head, json!({"outcome": "reject", "reason": ""}))
            .await,
        "reason",
    );
    let rejected = app
        .post(
            &decision,
            &head,
            json!({"outcome": "reject", "reason": "消费者退款尚未完成"}),
        )
        .await;
    assert_eq!(rejected.body["status"], "rejected", "{:?}", rejected.body);
    let listing = app
        .get(format!("/v1/listings/{}", listed.listing), &a)
        .await;
    assert_eq!(listing.body["status"], "listed");
    let page = app.get(&document, &a).await;
    assert_eq!(page.status, 200);
    let html = page.body.as_str().unwrap();
    assert!(html.contains("不予信用修复决定书"), "{html}");
    assert!(html.contains("消费者退款尚未完成"));
    assert!(html.contains("行政复议"));

    // The queue: by status and authority, with the deadlines.
    let queue = app.get("/v1/repairs?status=rejected", &a).await;
    assert_eq!(queue.status, 200, "{:?}", queue.body);
    assert!(queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id.as_str()));
    assert_invalid_field(
        &app.get("/v1/repairs?organization_id=nope", &a).await,
        "organization_id",
    );
    let audit = app
        .get(format!("/v1/audit?target_id={id}"), &app.admin_token)
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "repair.apply",
        "repair.request_supplement",
        "repair.supplement",
        "repair.accept",
        "repair.extend",
        "repair.reject",
        "document.serve",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}
both_backends!(
    acceptance_supplement_extension_and_a_written_rejection,
    acceptance_supplement_extension_and_a_written_rejection
);

/// Order 107 art. 2, 13 ¶3: approval removes the listing, and the repaired
/// penalties stop counting for platforms; regulators still see them. A
/// repair found false counts them again and bars applications for 3 years.
async fn an_approved_repair_stops_sharing_and_a_false_one_is_barred(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let listed = app.listed_anchor(&a, &b, "秦二十二").await;
    let (_, platform) = app.user_with_role("platform").await;
    let screen = || {
        app.post(
            "/v1/screening",
            &platform,
            json!({"id_number": resident_id(ID_FIRST17)}),
        )
    };
    let before = screen().await;
    assert_eq!(before.body["decision"], "hit", "{:?}", before.body);
    // A credit score: 100 is a clean record.
    assert!(before.body["matches"][0]["score"].as_f64().unwrap() < 100.0);

    let repair = app.approved_repair(&a, &listed.listing).await;
    assert_eq!(repair["status"], "approved");
    let after = screen().await;
    assert_eq!(after.body["decision"], "clear", "{:?}", after.body);
    // Nothing left that platforms may be shown: no score (CONTRACT §6.7).
    assert_eq!(
        after.body["matches"][0]["score"],
        Value::Null,
        "{:?}",
        after.body
    );
    assert_eq!(after.body["matches"][0]["band"], Value::Null);
    assert!(after.body["matches"][0]["active_listings"]
        .as_array()
        .unwrap()
        .is_empty());
    let violation = app
        .get(format!("/v1/violations/{}", listed.violation), &a)
        .await;
    assert_eq!(violation.body["repaired"], true, "{:?}", violation.body);
    assert_eq!(
        app.get(format!("/v1/subjects/{}/score", listed.subject), &a)
            .await
            .body["score"],
        100.0
    );

    let reinstated = app
        .post(
            format!("/v1/listings/{}/reinstate", listed.listing),
            &b,
            json!({"reason": "修复材料系伪造"}),
        )
        .await;
    assert_eq!(reinstated.status, 200, "{:?}", reinstated.body);
    assert!(reinstated.body["repair_barred_until"].is_string());
    let violation = app
        .get(format!("/v1/violations/{}", listed.violation), &a)
        .await;
    assert_eq!(violation.body["repaired"], false);
    assert!(screen().await.body["matches"][0]["score"].as_f64().unwrap() < 100.0);
    app.execute_sql(&format!(
        "UPDATE listings SET listed_on = '2025-06-09' WHERE id = '{}'",
        listed.listing
    ));
    let r = app
        .post(
            format!("/v1/listings/{}/repairs", listed.listing),
            &a,
            application("in_person"),
        )
        .await;
    assert_eq!(condition(&r), "repair_barred_until", "{:?}", r.body);
}
both_backends!(
    an_approved_repair_stops_sharing_and_a_false_one_is_barred,
    an_approved_repair_stops_sharing_and_a_false_one_is_barred
);

/// CONTRACT §6.5: the notice's code signs the subject in; they read and act
/// on their own records only; guessing is throttled; a new code ends the old.
async fn the_portal_is_the_subjects_own_and_nobody_elses(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let listed = app.listed_anchor(&a, &b, "秦二十三").await;
    let other = app
        .create_subject(&a, json!({"kind": "anchor", "name": "旁人"}))
        .await;
    let token = app.portal_token(&listed).await;

    // Their own records: subject, violations, score, listing, documents.
    for path in [
        format!("/v1/subjects/{}", listed.subject),
        format!("/v1/subjects/{}/violations", listed.subject),
        format!("/v1/subjects/{}/score", listed.subject),
        format!("/v1/violations/{}", listed.violation),
        format!("/v1/listings/{}", listed.listing),
        format!("/v1/listings/{}/documents/notice", listed.listing),
        format!("/v1/listings/{}/documents/decision", listed.listing),
        "/v1/repairs".to_owned(),
    ] {
        let r = app.get(&path, &token).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    }
    // Anyone else's is not found; the registry's lists are not theirs.
    assert_problem(&app.get(format!("/v1/subjects/{other}"), &token).await, 404);
    assert_problem(
        &app.get(format!("/v1/subjects/{other}/score"), &token).await,
        404,
    );
    for path in [
        "/v1/subjects",
        "/v1/listings",
        "/v1/audit",
        "/v1/screenings",
    ] {
        assert_problem(&app.get(path, &token).await, 403);
    }
    assert_problem(
        &app.post(
            format!("/v1/listings/{}/decision", listed.listing),
            &token,
            json!({"outcome": "not_list", "reason": "r"}),
        )
        .await,
        403,
    );
    // A platform or an anonymous caller does not reach the portal's records.
    let (_, platform) = app.user_with_role("platform").await;
    assert_problem(&app.get("/v1/repairs", &platform).await, 403);
    assert_problem(&app.call(Method::GET, "/v1/repairs", None, None).await, 401);

    // The statement window closed on the deadline day: a clear refusal.
    let late = app
        .post(
            format!("/v1/listings/{}/objections", listed.listing),
            &token,
            json!({"statement": "我不同意", "hearing_requested": true}),
        )
        .await;
    assert_problem(&late, 409);

    // The subject applies online; the bureau sees who applied and how.
    let applied = app
        .post(
            format!("/v1/listings/{}/repairs", listed.listing),
            &token,
            application("online"),
        )
        .await;
    assert_eq!(applied.status, 201, "{:?}", applied.body);
    assert_eq!(applied.body["channel"], "online");
    assert!(applied.body["recorded_by"].is_null());
    let id = applied.body["id"].as_str().unwrap().to_owned();
    assert_problem(
        &app.post(
            format!("/v1/repairs/{id}/acceptance"),
            &token,
            json!({"outcome": "accept"}),
        )
        .await,
        403,
    );
    let audit = app
        .get(format!("/v1/audit?target_id={id}"), &app.admin_token)
        .await;
    assert_eq!(
        audit.body["items"][0]["actor_subject_id"], listed.subject,
        "{:?}",
        audit.body
    );

    // A new code: the old one and its sessions stop working.
    let issued = app
        .post(
            format!("/v1/listings/{}/access-code", listed.listing),
            &a,
            json!({}),
        )
        .await;
    assert_eq!(issued.status, 200, "{:?}", issued.body);
    let new_code = issued.body["access_code"].as_str().unwrap().to_owned();
    assert_problem(&app.get("/v1/repairs", &token).await, 401);
    assert_problem(
        &app.sign_in(&listed.notice_no, &listed.access_code).await,
        401,
    );
    assert_eq!(app.sign_in(&listed.notice_no, &new_code).await.status, 200);

    // Five wrong codes for one notice in 15 minutes, then 429 even for the right one.
    for _ in 0..5 {
        assert_problem(
            &app.sign_in(&listed.notice_no, "AAAA-BBBB-CCCC-DDDD").await,
            401,
        );
    }
    let throttled = app.sign_in(&listed.notice_no, &new_code).await;
    assert_problem(&throttled, 429);
    assert!(throttled.headers.get("retry-after").is_some());
}
both_backends!(
    the_portal_is_the_subjects_own_and_nobody_elses,
    the_portal_is_the_subjects_own_and_nobody_elses
);

impl TestApp {
    /// Uploads `content` as evidence, declared as `media_type`.
    async fn upload(&self, token: Option<&str>, media_type: &str, content: Vec<u8>) -> Reply {
        let mut req = self
            .client
            .post(self.url("/v1/evidence?file_name=%E7%BD%9A%E6%AC%BE%E5%87%AD%E8%AF%81.pdf"))
            .header("content-type", media_type)
            .body(content);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request");
        let (status, headers) = (res.status(), res.headers().clone());
        let text = res.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// Downloads an evidence file: status, headers and the bytes.
    async fn download(&self, token: &str, id: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let res = self
            .client
            .get(self.url(&format!("/v1/evidence/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        (status, headers, res.bytes().await.unwrap().to_vec())
    }
}

/// CONTRACT §6.5: evidence files are PDF, JPEG, PNG or MP4 by their content,
/// at most 10 MiB, kept by SHA-256, served only as downloads; a subject reads
/// back only their own; uploads and downloads are audited.
async fn evidence_files_are_told_by_content_and_served_only_as_downloads(app: TestApp) {
    use sha2::{Digest, Sha256};
    let ((_, a), (_, b)) = app.two_officials().await;
    let listed = app.listed_anchor(&a, &b, "证据测试").await;
    let subject = app.portal_token(&listed).await;
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec();

    let uploaded = app
        .upload(Some(&subject), "application/pdf", pdf.clone())
        .await;
    assert_eq!(uploaded.status, 201, "{:?}", uploaded.body);
    let sha = hex::encode(Sha256::digest(&pdf));
    assert_eq!(uploaded.body["sha256"], sha);
    assert_eq!(uploaded.body["media_type"], "application/pdf");
    assert_eq!(uploaded.body["size_bytes"], pdf.len());
    assert_eq!(uploaded.body["file_name"], "罚款凭证.pdf");
    let own = uploaded.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        uploaded.headers["location"].to_str().unwrap(),
        format!("/v1/evidence/{own}")
    );
    // The same content from an official: stored once, recorded twice.
    let by_official = app
        .upload(Some(&a), "application/octet-stream", pdf.clone())
        .await;
    assert_eq!(by_official.status, 201, "{:?}", by_official.body);
    assert_eq!(by_official.body["sha256"], sha);
    let officials = by_official.body["id"].as_str().unwrap().to_owned();
    assert_ne!(officials, own);

    // The content decides: a page or a script is no evidence whatever it claims.
    let page = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    let refused = app.upload(Some(&subject), "application/pdf", page).await;
    assert_problem(&refused, 415);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    assert_problem(&app.upload(Some(&a), "image/jpeg", png.clone()).await, 415);
    assert_eq!(app.upload(Some(&a), "image/png", png).await.status, 201);
    assert_problem(
        &app.upload(Some(&a), "application/pdf", Vec::new()).await,
        400,
    );
    let mut big = b"%PDF-".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    assert_problem(&app.upload(Some(&a), "application/pdf", big).await, 413);
    // Platforms and strangers upload nothing.
    let (_, platform) = app.user_with_role("platform").await;
    assert_problem(
        &app.upload(Some(&platform), "application/pdf", pdf.clone())
            .await,
        403,
    );
    assert_problem(&app.upload(None, "application/pdf", pdf.clone()).await, 401);

    // Downloads: always an attachment, never sniffed, never rendered in place.
    let (status, headers, bytes) = app.download(&subject, &own).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, pdf);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"evidence-"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    // A subject reads back only their own uploads; platforms none; readers all.
    assert_eq!(app.download(&subject, &officials).await.0, 404);
    assert_eq!(app.download(&platform, &own).await.0, 403);
    let (_, auditor) = app.user_with_role("auditor").await;
    assert_eq!(app.download(&auditor, &own).await.0, 200);
    assert_eq!(app.download(&b, &own).await.0, 200);
    assert_eq!(app.download(&b, "not-an-id").await.0, 404);

    // The upload goes into an application as it is answered.
    let mut body = application("online");
    body["evidence"] = json!([uploaded.body["item"].clone()]);
    let applied = app
        .post(
            format!("/v1/listings/{}/repairs", listed.listing),
            &subject,
            body,
        )
        .await;
    assert_eq!(applied.status, 201, "{:?}", applied.body);
    assert_eq!(applied.body["evidence"][0]["sha256"], sha);
    assert_eq!(
        applied.body["evidence"][0]["uri"],
        format!("urn:livecredit:evidence:{own}")
    );

    // The audit chain names the subject as the uploader, and logs each download.
    let audit = app
        .get(format!("/v1/audit?target_id={own}"), &app.admin_token)
        .await;
    let actions: Vec<(&str, &Value)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), &e["actor_subject_id"]))
        .collect();
    assert!(
        actions.contains(&("evidence.upload", &json!(listed.subject))),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("evidence.serve", &json!(listed.subject))),
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|(a, _)| *a == "evidence.serve")
            .count(),
        3,
        "the subject's, the auditor's and the official's downloads: {actions:?}"
    );
}
both_backends!(
    evidence_files_are_told_by_content_and_served_only_as_downloads,
    evidence_files_are_told_by_content_and_served_only_as_downloads
);

/// CONTRACT §6.5 in the browser: the session cookie's flags, the CSRF token on
/// every form, the sign-in refusals as pages, a statement lodged through the
/// page as the same audited use case as the API, and nothing of another
/// subject's reachable.
async fn the_web_portal_signs_in_with_the_notice_and_guards_every_form(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let listed = app.listed_anchor(&a, &b, "孙网页").await;
    let other = app
        .listed_anchor_with_id(&a, &b, "钱别人", "11010519850101432")
        .await;
    let mut browser = Browser::default();

    let page = browser.get(&app, "/portal").await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let set = page.headers["set-cookie"].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/portal"] {
        assert!(set.contains(flag), "{set}");
    }
    let csrf = Browser::csrf(&page);

    // A form without its token, or with another browser's, is refused.
    let form = |csrf: &str, code: &str| {
        vec![
            ("notice_no", listed.notice_no.clone()),
            ("access_code", code.to_owned()),
            ("csrf", csrf.to_owned()),
        ]
    };
    let refused = browser
        .post(
            &app,
            "/portal/session",
            &pairs(&form("00", &listed.access_code)),
        )
        .await;
    assert_eq!(refused.status, 403);
    let mut stranger = Browser::default();
    stranger.get(&app, "/portal").await;
    let stolen = stranger
        .post(
            &app,
            "/portal/session",
            &pairs(&form(&csrf, &listed.access_code)),
        )
        .await;
    assert_eq!(
        stolen.status, 403,
        "a token is only good with its own browser's cookie"
    );

    // A wrong code: 401, as a page, the number kept.
    let wrong = browser
        .post(
            &app,
            "/portal/session",
            &pairs(&form(&csrf, "AAAA-BBBB-CCCC-DDDD")),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("通知书文号或访问码不正确"));
    assert!(wrong.html.contains(&listed.notice_no));

    // The right one: a session cookie, HttpOnly and SameSite=Strict, and the subject's page.
    let signed_in = browser
        .post(
            &app,
            "/portal/session",
            &pairs(&form(&csrf, &listed.access_code)),
        )
        .await;
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.headers["location"], "/portal/home");
    let session = signed_in.headers["set-cookie"].to_str().unwrap();
    assert!(session.starts_with("lc_portal="), "{session}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/portal", "Max-Age=900"] {
        assert!(session.contains(flag), "{session}");
    }
    let home = browser.get(&app, "/portal/home").await;
    assert_eq!(home.status, 200);
    assert!(home.html.contains("孙网页") && !home.html.contains("钱别人"));
    let csrf = Browser::csrf(&home);

    // The statement form: refused without the token, nothing recorded.
    let statement = [("statement", "本人已整改"), ("hearing", "1")];
    let refused = browser.post(&app, "/portal/statement", &statement).await;
    assert_eq!(refused.status, 403);
    let listing = app
        .get(format!("/v1/listings/{}", listed.listing), &a)
        .await;
    assert_eq!(listing.body["objections"], json!([]));
    // Outside the window (the notice was served on 2026-06-01): refused with the rule, as a page.
    let mut with_token = statement.to_vec();
    with_token.push(("csrf", &csrf));
    let late = browser.post(&app, "/portal/statement", &with_token).await;
    assert_eq!(late.status, 409, "{}", late.html);
    assert!(late.html.contains("当前不能办理此事项"));

    // Another subject's repair decision or documents: not found; the API's own data too.
    let missing = browser
        .get(
            &app,
            &format!("/portal/repairs/{}/decision", uuid::Uuid::now_v7()),
        )
        .await;
    assert_eq!(missing.status, 404);
    let notice = browser.get(&app, "/portal/documents/notice").await;
    assert_eq!(notice.status, 200);
    assert!(notice.html.contains(&listed.notice_no) && !notice.html.contains(&other.notice_no));

    // Signing out ends the session; the page then leads back to the sign-in.
    let out = browser
        .post(&app, "/portal/logout", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(out.status, 303);
    let after = browser.get(&app, "/portal/home").await;
    assert_eq!(after.status, 303);
    assert_eq!(after.headers["location"], "/portal?expired=1");

    // A new access code ends the browser's session too.
    let mut again = Browser::default();
    let page = again.get(&app, "/portal").await;
    let csrf = Browser::csrf(&page);
    let signed_in = again
        .post(
            &app,
            "/portal/session",
            &pairs(&form(&csrf, &listed.access_code)),
        )
        .await;
    assert_eq!(signed_in.status, 303);
    app.post(
        format!("/v1/listings/{}/access-code", listed.listing),
        &a,
        json!({}),
    )
    .await;
    assert_eq!(again.get(&app, "/portal/home").await.status, 303);
}
both_backends!(
    the_web_portal_signs_in_with_the_notice_and_guards_every_form,
    the_web_portal_signs_in_with_the_notice_and_guards_every_form
);

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
