//! The listing procedure as the law in force requires it (CONTRACT §6.1–6.3):
//! one black-box test per rule of docs/procedure.md's table, on both
//! backends, and the whole procedure tried as a county bureau would run it.

use chrono::{Datelike, Days, NaiveDate};
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn today() -> NaiveDate {
    livecredit::domain::registry::today_cst(chrono::Utc::now())
}

fn before(days: u64) -> NaiveDate {
    today() - Days::new(days)
}

/// A regulator's place in the hierarchy: (organization id, two officials).
struct Bureau {
    id: String,
    a: (String, String),
    b: (String, String),
}

/// A province, one of its cities and one of that city's counties, each with
/// two officials.
struct Hierarchy {
    province: Bureau,
    city: Bureau,
    county: Bureau,
}

impl TestApp {
    async fn bureau(&self, name: &str, level: &str, parent: Option<&str>) -> Bureau {
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let r = self
            .post(
                "/v1/organizations",
                &self.admin_token,
                json!({"name": format!("{name}{suffix}"), "kind": "regulator",
                    "level": level, "parent_id": parent}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["level"], level);
        let id = r.body["id"].as_str().unwrap().to_owned();
        Bureau {
            a: self.user_in(&id, "regulator").await,
            b: self.user_in(&id, "regulator").await,
            id,
        }
    }

    async fn hierarchy(&self) -> Hierarchy {
        let province = self
            .bureau("浙江省市场监督管理局", "provincial", None)
            .await;
        let city = self
            .bureau("杭州市市场监督管理局", "city", Some(&province.id))
            .await;
        let county = self
            .bureau("杭州市余杭区市场监督管理局", "county", Some(&city.id))
            .await;
        Hierarchy {
            province,
            city,
            county,
        }
    }

    async fn anchor(&self, token: &str, name: &str) -> String {
        self.create_subject(token, json!({"kind": "anchor", "name": name}))
            .await
    }

    async fn propose_on(&self, token: &str, subject: &str, violations: &[&str]) -> Reply {
        self.post(
            "/v1/listings",
            token,
            json!({"subject_id": subject, "violation_ids": violations,
                "reason": "直播间虚假宣传、组织虚假交易", "legal_basis": "《市场监督管理严重违法失信名单管理办法》第二条、第九条"}),
        )
        .await
    }

    async fn listing(&self, token: &str, id: &str) -> Value {
        let r = self.get(format!("/v1/listings/{id}"), token).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    }
}

/// A penalty that carries a listing: an aggravated fine for organising fake
/// transactions (Order 44 art. 9 item 1), decided on `decided_on`.
fn heavier(decided_on: NaiveDate) -> Value {
    json!({"category": "data_fraud", "severity": "serious", "decided_on": decided_on,
        "description": "组织虚假交易，虚构销量", "decision_no": "余市监处罚〔2026〕8号",
        "penalty_kinds": ["fine_aggravated", "confiscation"], "listing_ground": "art9.1"})
}

/// The same act, notified but not yet decided.
fn pending() -> Value {
    json!({"category": "data_fraud", "severity": "serious", "pending": true,
        "description": "组织虚假交易，虚构销量",
        "penalty_kinds": ["fine_aggravated"], "listing_ground": "art9.1"})
}

/// Asserts a 409 refusal naming `condition` in the problem.
fn assert_refused(reply: &Reply, condition: &str) {
    assert_problem(reply, 409);
    assert_eq!(reply.body["condition"], condition, "{:?}", reply.body);
    assert!(
        !reply.body[condition].is_null(),
        "the problem carries `{condition}`: {:?}",
        reply.body
    );
}

/// A listing of `bureau` noticed on `served_on` on one heavier penalty
/// decided on `decided_on`; returns (subject, violation, listing).
async fn noticed(
    app: &TestApp,
    bureau: &Bureau,
    name: &str,
    decided_on: NaiveDate,
    served_on: NaiveDate,
) -> (String, String, String) {
    let subject = app.anchor(&bureau.a.1, name).await;
    let v = app
        .record_violation(&bureau.a.1, &subject, heavier(decided_on))
        .await;
    let r = app.propose_on(&bureau.a.1, &subject, &[&v]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let n = app
        .post(
            format!("/v1/listings/{id}/notice"),
            &bureau.a.1,
            json!({"served_on": served_on}),
        )
        .await;
    assert_eq!(n.status, 200, "{:?}", n.body);
    (subject, v, id)
}

// ---- The bureau's whole procedure (issue 15, "Done means") ----

async fn a_county_bureau_lists_with_the_penalty_decision(app: TestApp) {
    let h = app.hierarchy().await;
    let county = &h.county;
    let subject = app.anchor(&county.a.1, "钱二三").await;
    // The penalty is notified, not yet decided: it counts nowhere.
    let score_before = app
        .get(format!("/v1/subjects/{subject}/score"), &county.a.1)
        .await
        .body["score"]
        .clone();
    let v = app.record_violation(&county.a.1, &subject, pending()).await;
    let view = app.get(format!("/v1/violations/{v}"), &county.a.1).await;
    assert_eq!(view.body["status"], "pending");
    assert!(view.body["decided_on"].is_null());
    assert_eq!(view.body["heavier_penalty"], true);
    assert_eq!(view.body["authority"]["id"], county.id.as_str());
    assert_eq!(
        app.get(format!("/v1/subjects/{subject}/score"), &county.a.1)
            .await
            .body["score"],
        score_before
    );

    // The county bureau proposes on it and serves notice within the penalty procedure.
    let r = app.propose_on(&county.a.1, &subject, &[&v]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["authority_id"], county.id.as_str());
    let served_on = before(30);
    let n = app
        .post(
            format!("/v1/listings/{id}/notice"),
            &county.a.1,
            json!({"served_on": served_on}),
        )
        .await;
    assert_eq!(n.status, 200, "{:?}", n.body);
    assert_eq!(
        n.headers.get("cache-control").unwrap(),
        "no-store",
        "the access code is not cached"
    );
    let notice_no = n.body["notice_no"].as_str().unwrap().to_owned();
    assert!(
        notice_no.contains(&format!("〔{}〕", served_on.year())),
        "{notice_no}"
    );
    let code = n.body["access_code"].as_str().unwrap();
    let letters: String = code.chars().filter(|c| *c != '-').collect();
    assert!(letters.len() >= 16, "{code}");
    // The code is shown once: never in the listing's view.
    let view = app.listing(&county.a.1, &id).await;
    assert!(view.get("access_code").is_none());
    assert!(!view.to_string().contains(code));
    assert_eq!(view["notice_no"], notice_no.as_str());

    // The subject asks for a hearing: no decision until it is held.
    let o = app
        .post(
            format!("/v1/listings/{id}/objections"),
            &county.a.1,
            json!({"statement": "数据系第三方机构所为，请求听证", "received_on": served_on + Days::new(1), "hearing_requested": true}),
        )
        .await;
    assert_eq!(o.status, 201, "{:?}", o.body);
    assert_eq!(
        app.listing(&county.a.1, &id).await["hearing_status"],
        "requested"
    );
    let decided_on = before(10);
    let list = json!({"outcome": "list", "reason": "当事人陈述申辩理由不成立",
        "decided_on": decided_on, "penalty_decision_no": "余市监处罚〔2026〕31号",
        "penalty_decided_on": decided_on});
    let decide = |token: String| {
        let list = list.clone();
        let app = &app;
        let id = id.clone();
        async move {
            app.post(format!("/v1/listings/{id}/decision"), &token, list)
                .await
        }
    };
    assert_refused(&decide(county.b.1.clone()).await, "hearing_pending");
    let held = app
        .post(
            format!("/v1/listings/{id}/hearing"),
            &county.b.1,
            json!({"held_on": before(15), "summary": "当事人到场陈述，未提交新证据"}),
        )
        .await;
    assert_eq!(held.status, 200, "{:?}", held.body);
    assert_eq!(held.body["hearing_status"], "held");

    // A county bureau lists only with the city bureau's consent.
    let refused = decide(county.b.1.clone()).await;
    assert_refused(&refused, "consent_required");
    assert_eq!(
        refused.body["consent_required"]["parent_organization_id"],
        h.city.id.as_str()
    );
    // Consent comes from the parent, not from the county itself nor the province.
    for token in [&county.a.1, &h.province.a.1] {
        let r = app
            .post(
                format!("/v1/listings/{id}/consent"),
                token,
                json!({"outcome": "agree", "reason": "同意"}),
            )
            .await;
        assert_problem(&r, 403);
    }
    let agreed = app
        .post(
            format!("/v1/listings/{id}/consent"),
            &h.city.a.1,
            json!({"outcome": "agree", "reason": "经审查，同意列入"}),
        )
        .await;
    assert_eq!(agreed.status, 200, "{:?}", agreed.body);
    assert_eq!(agreed.body["consents"][0]["outcome"], "agree");

    // The proposer may not decide; another county official may, with the penalty decision.
    assert_problem(&decide(county.a.1.clone()).await, 403);
    let without_penalty = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &county.b.1,
            json!({"outcome": "list", "reason": "r", "decided_on": decided_on}),
        )
        .await;
    assert_invalid_field(&without_penalty, "penalty_decision_no");
    let decided = decide(county.b.1.clone()).await;
    assert_eq!(decided.status, 200, "{:?}", decided.body);
    assert_eq!(decided.body["status"], "listed");
    let decision_no = decided.body["decision_no"].as_str().unwrap().to_owned();
    assert!(decision_no.contains(&format!("〔{}〕", decided_on.year())));
    assert_eq!(decided.body["published_on"], decided_on.to_string());
    assert!(!decided.body["publication_due_by"].is_null());
    assert_eq!(decided.body["measures"].as_array().unwrap().len(), 5);

    // The penalty took effect with the decision.
    let v_now = app.get(format!("/v1/violations/{v}"), &county.a.1).await;
    assert_eq!(v_now.body["status"], "effective");
    assert_eq!(v_now.body["decided_on"], decided_on.to_string());
    assert_eq!(v_now.body["decision_no"], "余市监处罚〔2026〕31号");

    // Public, with the county bureau as authority and the decision number.
    let public = app
        .call(
            Method::GET,
            format!(
                "/v1/public/blacklist?q={}",
                crate::subjects::urlencoding("钱二三")
            ),
            None,
            None,
        )
        .await;
    let entry = &public.body["items"][0];
    assert_eq!(entry["listing_id"], id.as_str());
    assert!(entry["authority"]
        .as_str()
        .unwrap()
        .starts_with("杭州市余杭区市场监督管理局"));
    assert_eq!(entry["decision_no"], decision_no.as_str());

    // The decision document prints with every element Order 44 art. 13 requires.
    let doc = app
        .get(format!("/v1/listings/{id}/documents/decision"), &county.a.1)
        .await;
    assert_eq!(doc.status, 200);
    assert!(doc
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = doc.body.as_str().unwrap();
    for element in [
        "id=\"reasons\"",
        "id=\"basis\"",
        "id=\"measures\"",
        "id=\"removal\"",
        "id=\"remedies\"",
        decision_no.as_str(),
        "钱二三",
        "第九条第（一）项",
        "余市监处罚〔2026〕31号",
        "60日内",
        "6个月内",
        "信用修复",
        "依法举行了听证",
        "报经",
        "/assets/document.css",
    ] {
        assert!(html.contains(element), "the decision lacks {element}");
    }
    let notice = app
        .get(format!("/v1/listings/{id}/documents/notice"), &county.a.1)
        .await;
    let html = notice.body.as_str().unwrap();
    for element in [
        notice_no.as_str(),
        "id=\"reasons\"",
        "id=\"basis\"",
        "id=\"rights\"",
        "/portal",
        "访问码",
        "处罚程序进行中",
    ] {
        assert!(html.contains(element), "the notice lacks {element}");
    }
}
both_backends!(
    a_county_bureau_lists_with_the_penalty_decision,
    a_county_bureau_lists_with_the_penalty_decision
);

// ---- Grounds (Order 44 art. 2, 5–11) ----

async fn only_heavier_penalties_with_a_ground_carry_a_listing(app: TestApp) {
    let ((_, a), _) = app.two_officials().await;
    let subject = app.anchor(&a, "孙二四").await;
    let plain = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "false_advertising", "severity": "serious", "decided_on": before(40),
                "description": "虚假宣传", "penalty_kinds": ["fine"], "listing_ground": "art9.5"}),
        )
        .await;
    let groundless = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "false_advertising", "severity": "serious", "decided_on": before(40),
                "description": "虚假宣传", "penalty_kinds": ["fine_aggravated"]}),
        )
        .await;
    for (v, says) in [
        (&plain, "not a heavier administrative penalty"),
        (&groundless, "names no ground"),
    ] {
        let r = app.propose_on(&a, &subject, &[v]).await;
        assert_invalid_field(&r, "violation_ids");
        assert!(
            r.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{:?}",
            r.body
        );
    }
    let heavier_view = app.get(format!("/v1/violations/{groundless}"), &a).await;
    assert_eq!(heavier_view.body["heavier_penalty"], true);
    assert_eq!(
        app.get(format!("/v1/violations/{plain}"), &a).await.body["heavier_penalty"],
        false
    );
    // An unknown ground is refused when the penalty is recorded.
    let r = app
        .post(
            format!("/v1/subjects/{subject}/violations"),
            &a,
            json!({"category": "other", "severity": "minor", "decided_on": before(3),
                "description": "d", "listing_ground": "art99.9"}),
        )
        .await;
    assert_invalid_field(&r, "listing_ground");
    // A practice ban needs its end.
    let r = app
        .post(
            format!("/v1/subjects/{subject}/violations"),
            &a,
            json!({"category": "other", "severity": "serious", "decided_on": before(3),
                "description": "d", "penalty_kinds": ["practice_ban"]}),
        )
        .await;
    assert_invalid_field(&r, "ban_until");
    // Art. 11 (refusing to perform a decision) needs no heavier penalty.
    let refusal = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "other", "severity": "general", "decided_on": before(40),
                "description": "拒不履行行政处罚决定", "penalty_kinds": ["fine"], "listing_ground": "art11.1"}),
        )
        .await;
    let r = app.propose_on(&a, &subject, &[&refusal]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // The reference lists are public and read from the text.
    let grounds = app
        .call(Method::GET, "/v1/reference/listing-grounds", None, None)
        .await;
    assert_eq!(grounds.status, 200);
    let codes: Vec<&str> = grounds
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 29);
    assert!(codes.contains(&"art9.1") && codes.contains(&"art11.1"));
    let measures = app
        .call(Method::GET, "/v1/reference/measures", None, None)
        .await;
    assert_eq!(measures.body.as_array().unwrap().len(), 5);
    assert_eq!(measures.body[0]["article"], 15);
}
both_backends!(
    only_heavier_penalties_with_a_ground_carry_a_listing,
    only_heavier_penalties_with_a_ground_carry_a_listing
);

// ---- Who acts (Order 44 art. 13 ¶2) ----

async fn only_the_authority_acts_on_its_listings(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let ((_, other), _) = app.two_officials().await;
    let subject = app.anchor(&a, "周二五").await;
    let v = app
        .record_violation(&a, &subject, heavier(before(40)))
        .await;
    // Another bureau may not propose on this bureau's penalty.
    assert_problem(&app.propose_on(&other, &subject, &[&v]).await, 403);
    // Penalties of two bureaus do not make one listing.
    let theirs = app
        .record_violation(&other, &subject, heavier(before(40)))
        .await;
    assert_invalid_field(
        &app.propose_on(&a, &subject, &[&v, &theirs]).await,
        "violation_ids",
    );
    let id = app.propose_on(&a, &subject, &[&v]).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let served = json!({"served_on": before(30)});
    assert_problem(
        &app.post(format!("/v1/listings/{id}/notice"), &other, served.clone())
            .await,
        403,
    );
    app.post(format!("/v1/listings/{id}/notice"), &a, served)
        .await;
    let decision = json!({"outcome": "list", "reason": "r", "decided_on": before(10)});
    assert_problem(
        &app.post(
            format!("/v1/listings/{id}/decision"),
            &other,
            decision.clone(),
        )
        .await,
        403,
    );
    assert_problem(
        &app.post(
            format!("/v1/listings/{id}/revoke"),
            &other,
            json!({"reason": "x"}),
        )
        .await,
        403,
    );
    // Only the authority records the penalty's decision or annulment.
    assert_problem(
        &app.post(
            format!("/v1/violations/{v}/revoke"),
            &other,
            json!({"reason": "x"}),
        )
        .await,
        403,
    );
    let listed = app
        .post(format!("/v1/listings/{id}/decision"), &b, decision)
        .await;
    assert_eq!(listed.body["status"], "listed", "{:?}", listed.body);
    // Any staff member reads the bureau and where it stands.
    let (_, auditor) = app.user_with_role("auditor").await;
    let org = app
        .get(
            format!(
                "/v1/organizations/{}",
                listed.body["authority_id"].as_str().unwrap()
            ),
            &auditor,
        )
        .await;
    assert_eq!(org.status, 200, "{:?}", org.body);
    assert_eq!(org.body["kind"], "regulator");
}
both_backends!(
    only_the_authority_acts_on_its_listings,
    only_the_authority_acts_on_its_listings
);

// ---- The hierarchy of bureaus ----

async fn bureaus_stand_in_a_hierarchy(app: TestApp) {
    let province = app.bureau("江苏省市场监督管理局", "provincial", None).await;
    let post = |body: Value| {
        let app = &app;
        async move { app.post("/v1/organizations", &app.admin_token, body).await }
    };
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    // A city or county bureau needs its parent (its consent is needed, art. 22).
    let r =
        post(json!({"name": format!("南京{suffix}"), "kind": "regulator", "level": "city"})).await;
    assert_invalid_field(&r, "parent_id");
    // The parent stands higher.
    let county = app
        .bureau(
            "苏州市吴中区市场监督管理局",
            "county",
            Some(
                &app.bureau("苏州市市场监督管理局", "city", Some(&province.id))
                    .await
                    .id,
            ),
        )
        .await;
    let r = post(json!({"name": format!("无锡{suffix}"), "kind": "regulator", "level": "city", "parent_id": county.id})).await;
    assert_invalid_field(&r, "parent_id");
    let r = post(json!({"name": format!("总局{suffix}"), "kind": "regulator", "level": "national", "parent_id": province.id})).await;
    assert_invalid_field(&r, "parent_id");
    // Only regulators have levels.
    let r =
        post(json!({"name": format!("平台{suffix}"), "kind": "platform", "level": "city"})).await;
    assert_invalid_field(&r, "level");
    let r = post(json!({"name": format!("x{suffix}"), "kind": "regulator", "level": "county", "parent_id": "00000000-0000-7000-8000-000000000000"})).await;
    assert_invalid_field(&r, "parent_id");
    let shown = app
        .get(format!("/v1/organizations/{}", county.id), &county.a.1)
        .await;
    assert_eq!(shown.body["level"], "county");
    assert!(shown.body["parent_id"].is_string());

    // can_approve: the head of a bureau, regulators only.
    let (platform_user, _) = app.user_with_role("platform").await;
    let r = app
        .patch(
            format!("/v1/users/{platform_user}"),
            &app.admin_token,
            json!({"can_approve": true}),
        )
        .await;
    assert_invalid_field(&r, "can_approve");
    let r = app
        .patch(
            format!("/v1/users/{}", county.a.0),
            &app.admin_token,
            json!({"can_approve": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["can_approve"], true);
}
both_backends!(bureaus_stand_in_a_hierarchy, bureaus_stand_in_a_hierarchy);

// ---- Parent consent (Order 44 art. 22) ----

async fn a_city_bureau_lists_only_with_its_parents_agreement(app: TestApp) {
    let h = app.hierarchy().await;
    let (_, _, id) = noticed(&app, &h.city, "吴二六", before(40), before(30)).await;
    let list = json!({"outcome": "list", "reason": "r", "decided_on": before(10)});
    // Disagreement keeps the refusal; the latest answer counts.
    let r = app
        .post(
            format!("/v1/listings/{id}/consent"),
            &h.province.b.1,
            json!({"outcome": "disagree", "reason": "证据不足"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_refused(
        &app.post(
            format!("/v1/listings/{id}/decision"),
            &h.city.b.1,
            list.clone(),
        )
        .await,
        "consent_required",
    );
    app.post(
        format!("/v1/listings/{id}/consent"),
        &h.province.b.1,
        json!({"outcome": "agree", "reason": "补充证据后同意"}),
    )
    .await;
    let ok = app
        .post(format!("/v1/listings/{id}/decision"), &h.city.b.1, list)
        .await;
    assert_eq!(ok.body["status"], "listed", "{:?}", ok.body);
    // Not listing needs no consent; a provincial bureau decides alone.
    let (_, _, id) = noticed(&app, &h.city, "郑二七", before(40), before(30)).await;
    let r = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &h.city.b.1,
            json!({"outcome": "not_list", "reason": "情节较轻", "decided_on": before(10)}),
        )
        .await;
    assert_eq!(r.body["status"], "not_listed", "{:?}", r.body);
    let (_, _, id) = noticed(&app, &h.province, "王二八", before(40), before(30)).await;
    let r = app
        .post(
            format!("/v1/listings/{id}/consent"),
            &h.province.b.1,
            json!({"outcome": "agree", "reason": "r"}),
        )
        .await;
    assert_problem(&r, 409);
    let r = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &h.province.b.1,
            json!({"outcome": "list", "reason": "r", "decided_on": before(10)}),
        )
        .await;
    assert_eq!(r.body["status"], "listed", "{:?}", r.body);
}
both_backends!(
    a_city_bureau_lists_only_with_its_parents_agreement,
    a_city_bureau_lists_only_with_its_parents_agreement
);

// ---- Hearings (行政处罚法 art. 63–65) ----

async fn a_withdrawn_hearing_lets_the_decision_go_ahead(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let bureau = Bureau {
        id: String::new(),
        a: (String::new(), a.clone()),
        b: (String::new(), b.clone()),
    };
    let (_, _, id) = noticed(&app, &bureau, "冯二九", before(40), before(30)).await;
    // No hearing asked for: none to close.
    let r = app
        .post(
            format!("/v1/listings/{id}/hearing/withdrawal"),
            &b,
            json!({"received_on": before(20)}),
        )
        .await;
    assert_problem(&r, 409);
    app.post(
        format!("/v1/listings/{id}/objections"),
        &a,
        json!({"statement": "请求听证", "received_on": before(29), "hearing_requested": true}),
    )
    .await;
    let decide = json!({"outcome": "not_list", "reason": "r", "decided_on": before(10)});
    // Even a decision not to list waits for the hearing.
    assert_refused(
        &app.post(format!("/v1/listings/{id}/decision"), &b, decide.clone())
            .await,
        "hearing_pending",
    );
    let r = app
        .post(
            format!("/v1/listings/{id}/hearing/withdrawal"),
            &b,
            json!({"received_on": before(25)}),
        )
        .await;
    assert_eq!(r.body["hearing_status"], "withdrawn", "{:?}", r.body);
    let r = app
        .post(format!("/v1/listings/{id}/decision"), &b, decide)
        .await;
    assert_eq!(r.body["status"], "not_listed", "{:?}", r.body);
}
both_backends!(
    a_withdrawn_hearing_lets_the_decision_go_ahead,
    a_withdrawn_hearing_lets_the_decision_go_ahead
);

// ---- No intent (Order 44 art. 12 ¶2) and the measures (art. 15) ----

async fn no_intent_proven_allows_only_not_listing(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let subject = app.anchor(&a, "陈三十").await;
    let v = app
        .record_violation(&a, &subject, heavier(before(40)))
        .await;
    let r = app
        .post(
            "/v1/listings",
            &a,
            json!({"subject_id": subject, "violation_ids": [v], "reason": "r", "legal_basis": "l",
                "no_intent_proven": true,
                "considerations": {"intent": "当事人证明系供货商伪造检测报告", "social_impact": "较小"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r.body["considerations"]["intent"],
        "当事人证明系供货商伪造检测报告"
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    app.post(
        format!("/v1/listings/{id}/notice"),
        &a,
        json!({"served_on": before(30)}),
    )
    .await;
    assert_refused(
        &app.post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": before(10)}),
        )
        .await,
        "no_intent_proven",
    );
    let r = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "not_list", "reason": "当事人无主观故意", "decided_on": before(10)}),
        )
        .await;
    assert_eq!(r.body["status"], "not_listed", "{:?}", r.body);

    // The measures are those of art. 15, named by code.
    let (_, _, id) = noticed(
        &app,
        &Bureau {
            id: String::new(),
            a: (String::new(), a.clone()),
            b: (String::new(), b.clone()),
        },
        "褚三一",
        before(40),
        before(30),
    )
    .await;
    let r = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": before(10), "measures": ["key_supervision", "flogging"]}),
        )
        .await;
    assert_invalid_field(&r, "measures[1]");
    let r = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": before(10),
                "measures": ["no_honours", "key_supervision"], "decision_no": "某局列严决〔2026〕77号"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["measures"], json!(["key_supervision", "no_honours"]));
    assert_eq!(r.body["decision_no"], "某局列严决〔2026〕77号");
}
both_backends!(
    no_intent_proven_allows_only_not_listing,
    no_intent_proven_allows_only_not_listing
);

// ---- Pending penalties ----

async fn a_pending_penalty_counts_nowhere_until_decided(app: TestApp) {
    let ((_, a), _) = app.two_officials().await;
    let ((_, other), _) = app.two_officials().await;
    let subject = app.anchor(&a, "卫三二").await;
    let r = app
        .post(
            format!("/v1/subjects/{subject}/violations"),
            &a,
            json!({"category": "other", "severity": "serious", "pending": true, "decided_on": before(1),
                "description": "d"}),
        )
        .await;
    assert_invalid_field(&r, "decided_on");
    let v = app.record_violation(&a, &subject, pending()).await;
    let score = app.get(format!("/v1/subjects/{subject}/score"), &a).await;
    assert_eq!(score.body["contributions"], json!([]), "{:?}", score.body);
    assert_problem(
        &app.post(
            format!("/v1/violations/{v}/decide"),
            &other,
            json!({"decision_no": "x", "decided_on": today()}),
        )
        .await,
        403,
    );
    let r = app
        .post(
            format!("/v1/violations/{v}/decide"),
            &a,
            json!({"decision_no": "某市监处罚〔2026〕9号", "decided_on": today()}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "effective");
    let actions: Vec<&str> = r.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["recorded", "decided"]);
    let score = app.get(format!("/v1/subjects/{subject}/score"), &a).await;
    assert_eq!(score.body["contributions"].as_array().unwrap().len(), 1);
    assert_problem(
        &app.post(
            format!("/v1/violations/{v}/decide"),
            &a,
            json!({"decision_no": "again"}),
        )
        .await,
        409,
    );
}
both_backends!(
    a_pending_penalty_counts_nowhere_until_decided,
    a_pending_penalty_counts_nowhere_until_decided
);

// ---- System proposals and review flags ----

async fn a_score_raises_a_flag_not_a_listing(app: TestApp) {
    let ((_, a), _) = app.two_officials().await;
    // Especially serious with a heavier penalty and a ground: the system proposes.
    let subject = app.anchor(&a, "蒋三三").await;
    let v = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "substandard_product", "severity": "especially_serious",
                "decided_on": before(2), "description": "销售不合格婴幼儿食品",
                "penalty_kinds": ["business_restricted"], "ban_until": (today() + Days::new(400)),
                "listing_ground": "art5.2"}),
        )
        .await;
    let listings = app
        .get(format!("/v1/listings?subject_id={subject}"), &a)
        .await;
    assert_eq!(listings.body["items"][0]["violation_ids"], json!([v]));
    assert!(listings.body["items"][0]["proposed_by"].is_null());
    // Especially serious but a plain fine: no proposal.
    let subject = app.anchor(&a, "沈三四").await;
    app.record_violation(
        &a,
        &subject,
        json!({"category": "other", "severity": "especially_serious", "decided_on": before(2),
            "description": "d", "penalty_kinds": ["fine"]}),
    )
    .await;
    assert!(app
        .get(format!("/v1/listings?subject_id={subject}"), &a)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // Band D from ordinary penalties: a review flag, which cannot become a listing on them.
    let mut ordinary = Vec::new();
    for _ in 0..3 {
        ordinary.push(
            app.record_violation(
                &a,
                &subject,
                json!({"category": "off_platform_transaction", "severity": "serious",
                    "decided_on": before(1), "description": "诱导私下交易", "penalty_kinds": ["fine"]}),
            )
            .await,
        );
    }
    let flags = app.get("/v1/review-flags?status=open", &a).await;
    let flag = flags.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject_id"] == subject.as_str())
        .expect("a flag")
        .clone();
    let flag_id = flag["id"].as_str().unwrap();
    let r = app
        .post(
            format!("/v1/review-flags/{flag_id}/conversion"),
            &a,
            json!({"violation_ids": ordinary, "reason": "评分降至D级", "legal_basis": "l"}),
        )
        .await;
    assert_invalid_field(&r, "violation_ids");
    let r = app
        .post(
            format!("/v1/review-flags/{flag_id}/clear"),
            &a,
            json!({"reason": "均为一般罚款，不符合列入条件"}),
        )
        .await;
    assert_eq!(r.body["status"], "cleared", "{:?}", r.body);
    assert_problem(
        &app.post(
            format!("/v1/review-flags/{flag_id}/clear"),
            &a,
            json!({"reason": "again"}),
        )
        .await,
        409,
    );
    assert!(app
        .get(format!("/v1/listings?subject_id={subject}"), &a)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .is_empty());
}
both_backends!(
    a_score_raises_a_flag_not_a_listing,
    a_score_raises_a_flag_not_a_listing
);

// ---- The period (Order 44 art. 21; 民法典 art. 201–202) ----

/// The day three years before `day` (29 February → 28 February).
fn three_years_before(day: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(day.year() - 3, day.month(), day.day())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(day.year() - 3, 2, 28).unwrap())
}

async fn an_entry_is_in_force_through_its_anniversary(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let bureau = Bureau {
        id: String::new(),
        a: (String::new(), a.clone()),
        b: (String::new(), b.clone()),
    };
    let last_day = three_years_before(today());
    // Listed three years ago today: today is the last day in force.
    let (_, _, today_last) = noticed(
        &app,
        &bureau,
        "韩三五",
        last_day - Days::new(30),
        last_day - Days::new(20),
    )
    .await;
    // Listed three years ago yesterday: expired today.
    let (_, _, ended) = noticed(
        &app,
        &bureau,
        "杨三六",
        last_day - Days::new(31),
        last_day - Days::new(21),
    )
    .await;
    for (id, on) in [(&today_last, last_day), (&ended, last_day - Days::new(1))] {
        let r = app
            .post(
                format!("/v1/listings/{id}/decision"),
                &b,
                json!({"outcome": "list", "reason": "r", "decided_on": on}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let first = app.listing(&a, &today_last).await;
    assert_eq!(first["expires_on"], today().to_string());
    assert_eq!(first["status"], "listed");
    let second = app.listing(&a, &ended).await;
    assert_eq!(second["status"], "expired");
    let expiry = second["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(expiry["action"], "expire");
    assert_eq!(expiry["effective_on"], today().to_string());
    let public = app
        .call(Method::GET, "/v1/public/blacklist?limit=500", None, None)
        .await;
    let ids: Vec<&str> = public.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["listing_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&today_last.as_str()));
    assert!(!ids.contains(&ended.as_str()));
    let changes = app
        .call(Method::GET, "/v1/public/changes?limit=500", None, None)
        .await;
    assert!(changes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "listing.expired" && c["listing_id"] == ended.as_str()));

    // A practice ban running longer keeps the entry in force to its end.
    let subject = app.anchor(&a, "朱三七").await;
    let ban_until = today() + Days::new(5 * 366);
    let v = app
        .record_violation(
            &a,
            &subject,
            json!({"category": "false_advertising", "severity": "especially_serious",
                "decided_on": before(40), "description": "d",
                "penalty_kinds": ["practice_ban"], "ban_until": ban_until, "listing_ground": "art9.5"}),
        )
        .await;
    let id = app
        .get(format!("/v1/listings?subject_id={subject}"), &a)
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.listing(&a, &id).await["violation_ids"], json!([v]));
    app.post(
        format!("/v1/listings/{id}/notice"),
        &a,
        json!({"served_on": before(30)}),
    )
    .await;
    let r = app
        .post(
            format!("/v1/listings/{id}/decision"),
            &b,
            json!({"outcome": "list", "reason": "r", "decided_on": before(10)}),
        )
        .await;
    assert_eq!(r.body["expires_on"], ban_until.to_string(), "{:?}", r.body);
}
both_backends!(
    an_entry_is_in_force_through_its_anniversary,
    an_entry_is_in_force_through_its_anniversary
);

// ---- Revocation (Order 44 art. 19) ----

async fn a_listing_falls_with_the_last_penalty_that_carries_it(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let subject = app.anchor(&a, "秦三八").await;
    let first = app
        .record_violation(&a, &subject, heavier(before(60)))
        .await;
    let second = app
        .record_violation(&a, &subject, heavier(before(50)))
        .await;
    let id = app.propose_on(&a, &subject, &[&first, &second]).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        format!("/v1/listings/{id}/notice"),
        &a,
        json!({"served_on": before(40)}),
    )
    .await;
    app.post(
        format!("/v1/listings/{id}/decision"),
        &b,
        json!({"outcome": "list", "reason": "r", "decided_on": before(20)}),
    )
    .await;
    app.post(
        format!("/v1/violations/{first}/revoke"),
        &a,
        json!({"reason": "复议撤销"}),
    )
    .await;
    assert_eq!(app.listing(&a, &id).await["status"], "listed");
    app.post(
        format!("/v1/violations/{second}/revoke"),
        &a,
        json!({"reason": "诉讼撤销"}),
    )
    .await;
    let after = app.listing(&a, &id).await;
    assert_eq!(after["status"], "revoked");
    assert!(after["revocation_reason"]
        .as_str()
        .unwrap()
        .contains("art. 19"));
    let public = app
        .call(Method::GET, "/v1/public/blacklist?limit=500", None, None)
        .await;
    assert!(!public.body.to_string().contains(&id));
}
both_backends!(
    a_listing_falls_with_the_last_penalty_that_carries_it,
    a_listing_falls_with_the_last_penalty_that_carries_it
);

// ---- Documents ----

async fn documents_exist_once_served_or_decided(app: TestApp) {
    let ((_, a), _) = app.two_officials().await;
    let subject = app.anchor(&a, "尤三九").await;
    let v = app
        .record_violation(&a, &subject, heavier(before(40)))
        .await;
    let id = app.propose_on(&a, &subject, &[&v]).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for kind in ["notice", "decision"] {
        assert_problem(
            &app.get(format!("/v1/listings/{id}/documents/{kind}"), &a)
                .await,
            404,
        );
    }
    assert_problem(
        &app.get(format!("/v1/listings/{id}/documents/letter"), &a)
            .await,
        404,
    );
    let (_, platform) = app.user_with_role("platform").await;
    assert_problem(
        &app.get(format!("/v1/listings/{id}/documents/notice"), &platform)
            .await,
        403,
    );
    // A name that is HTML is printed as text.
    let subject = app.anchor(&a, "<script>alert(1)</script>").await;
    let v = app
        .record_violation(&a, &subject, heavier(before(40)))
        .await;
    let id = app.propose_on(&a, &subject, &[&v]).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        format!("/v1/listings/{id}/notice"),
        &a,
        json!({"served_on": before(30)}),
    )
    .await;
    let doc = app
        .get(format!("/v1/listings/{id}/documents/notice"), &a)
        .await;
    let html = doc.body.as_str().unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"));
    assert!(doc
        .headers
        .get("content-security-policy")
        .is_some_and(|v| v.to_str().unwrap().contains("default-src 'none'")));
    let css = app
        .call(Method::GET, "/assets/document.css", None, None)
        .await;
    assert_eq!(css.status, 200);
    assert!(css.body.as_str().unwrap().contains("@page"));
}
both_backends!(
    documents_exist_once_served_or_decided,
    documents_exist_once_served_or_decided
);
