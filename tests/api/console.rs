//! The staff console (CONTRACT §6.8) as a browser uses it, on both backends:
//! the session and its guards, a case taken from the violation to
//! publication by two officials of a county bureau and one of its city
//! bureau, a platform's CSV screening, an auditor's verification, and an
//! admin's organizations and users. Every write is checked through the API
//! too: the console is another door to the same use cases.

use base64::Engine;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    staff_sign_in_and_every_page_is_guarded,
    staff_sign_in_and_every_page_is_guarded_impl
);
both_backends!(
    three_officials_take_a_case_to_publication,
    three_officials_take_a_case_to_publication_impl
);
both_backends!(
    a_platform_screens_a_csv_and_downloads_the_results,
    a_platform_screens_a_csv_and_downloads_the_results_impl
);
both_backends!(
    auditors_verify_and_admins_keep_the_tree,
    auditors_verify_and_admins_keep_the_tree_impl
);

impl TestApp {
    /// A user with `role` in `org`, signed into a console browser: (id, e-mail, browser).
    async fn staffer(&self, org: &str, role: &str, can_approve: bool) -> (String, String, Browser) {
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let email = format!("{role}-{suffix}@livecredit.test");
        let r = self
            .post(
                "/v1/users",
                &self.admin_token,
                json!({"email": email, "password": PASSWORD, "role": role,
                    "organization_id": org, "can_approve": can_approve,
                    "display_name": format!("{role} {}", &suffix[24..])}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let browser = self.console_sign_in(&email).await;
        (r.body["id"].as_str().unwrap().to_owned(), email, browser)
    }

    async fn console_sign_in(&self, email: &str) -> Browser {
        let mut browser = Browser::default();
        let page = browser.get(self, "/console").await;
        let csrf = Browser::csrf(&page);
        let signed_in = browser
            .post(
                self,
                "/console/session",
                &[("email", email), ("password", PASSWORD), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.html);
        assert_eq!(location(&signed_in), "/console/home");
        browser
    }

    /// A regulator with a parent (for county and city bureaus).
    async fn regulator_org(&self, name: &str, level: &str, parent: Option<&str>) -> String {
        let r = self
            .post(
                "/v1/organizations",
                &self.admin_token,
                json!({"name": name, "kind": "regulator", "level": level, "parent_id": parent}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }
}

fn location(page: &PageReply) -> String {
    page.headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Where a redirect leads, without its query (`?done=…`) or fragment.
fn path_of(page: &PageReply) -> String {
    let to = location(page);
    to.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// The value of the first `name="…" value="…"` attribute pair on the page.
fn value_of(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} on the page"));
    let rest = &html[at + needle.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Follows one redirect and returns the page it leads to.
async fn follow(app: &TestApp, browser: &mut Browser, page: PageReply) -> PageReply {
    assert_eq!(page.status, 303, "{}", page.html);
    let to = location(&page);
    browser.get(app, &to).await
}

/// CONTRACT §6.8 ¶1: the session's cookie flags, CSRF on every form, the
/// sign-in refusals as pages, 403 pages for another role's sections, a
/// disabled user out at the next click, and sign-out.
async fn staff_sign_in_and_every_page_is_guarded_impl(app: TestApp) {
    let bureau = app.create_org("控制台测试局", "regulator").await;
    let platform = app.create_org("控制台测试平台", "platform").await;

    let mut browser = Browser::default();
    let page = browser.get(&app, "/console").await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let set = page.headers["set-cookie"].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(flag), "{set}");
    }
    let csrf = Browser::csrf(&page);

    // Without the token: refused before the password is even looked at.
    let (official, email, _) = app.staffer(&bureau, "regulator", false).await;
    let no_token = browser
        .post(
            &app,
            "/console/session",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.html.contains("表单已失效"));

    let wrong = browser
        .post(
            &app,
            "/console/session",
            &[
                ("email", &email),
                ("password", "not the password at all"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("邮箱或密码不正确"));
    assert!(wrong.html.contains(&email), "the e-mail is kept");
    let failed = app
        .get("/v1/audit?action=auth.login_failed", &app.admin_token)
        .await;
    assert!(
        !failed.body["items"].as_array().unwrap().is_empty(),
        "the failed sign-in is audited as the API's"
    );

    let signed_in = browser
        .post(
            &app,
            "/console/session",
            &[("email", &email), ("password", PASSWORD), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(signed_in.status, 303);
    let cookies: Vec<&str> = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("lc_console="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(flag), "{session}");
    }
    let home = browser.get(&app, "/console/home").await;
    assert_eq!(location(&home), "/console/work");
    let work = browser.get(&app, "/console/work").await;
    assert_eq!(work.status, 200);
    assert!(work.html.contains("我的待办"));

    // A form of the console without its token is refused, and nothing is written.
    let forged = browser
        .post(
            &app,
            "/console/subjects",
            &[("kind", "anchor"), ("name", "伪造表单")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let found = app
        .get(
            "/v1/subjects?q=%E4%BC%AA%E9%80%A0%E8%A1%A8%E5%8D%95",
            &app.admin_token,
        )
        .await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 0);

    // A platform user typing a regulator's address gets 403 pages, and the
    // regulator a platform's.
    let (_, _, mut shop) = app.staffer(&platform, "platform", false).await;
    for path in [
        "/console/work",
        "/console/subjects",
        "/console/audit",
        "/console/admin",
    ] {
        let page = shop.get(&app, path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.html.contains("无权访问此页面"), "{path}");
    }
    assert_eq!(shop.get(&app, "/console/screening").await.status, 200);
    assert_eq!(browser.get(&app, "/console/screening").await.status, 403);
    assert_eq!(browser.get(&app, "/console/no-such-page").await.status, 404);

    // Disabled: out at the next click.
    let disabled = app
        .patch(
            format!("/v1/users/{official}"),
            &app.admin_token,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    let out = browser.get(&app, "/console/work").await;
    assert_eq!(out.status, 303);
    assert_eq!(location(&out), "/console?expired=1");

    // Sign-out ends the session and says so.
    let page = shop.get(&app, "/console/screening").await;
    let bye = shop
        .post(&app, "/console/logout", &[("csrf", &Browser::csrf(&page))])
        .await;
    assert_eq!(location(&bye), "/console?signed_out=1");
    assert!(!shop.cookies.contains_key("lc_console"));
    assert_eq!(shop.get(&app, "/console/screening").await.status, 303);
}

/// CONTRACT §6.8 ¶3 and the browser test's case, without the browser: a
/// county official registers an anchor, records a violation with evidence,
/// proposes the listing and serves the notice; the decision waits for the
/// city bureau's consent and a second official, each shown in the queues;
/// the second official decides and the listing is published.
async fn three_officials_take_a_case_to_publication_impl(app: TestApp) {
    let province = app
        .regulator_org("某省市场监督管理局", "provincial", None)
        .await;
    let city = app
        .regulator_org("某市市场监督管理局", "city", Some(&province))
        .await;
    let county = app
        .regulator_org("某县市场监督管理局", "county", Some(&city))
        .await;
    let (a_id, _, mut a) = app.staffer(&county, "regulator", false).await;
    let (_, _, mut b) = app.staffer(&county, "regulator", false).await;
    let (_, _, mut c) = app.staffer(&city, "regulator", false).await;

    // Register the anchor.
    let page = a.get(&app, "/console/subjects").await;
    let csrf = Browser::csrf(&page);
    let id_number = resident_id("33010219880512345");
    let created = a
        .post(
            &app,
            "/console/subjects",
            &[
                ("csrf", &csrf),
                ("kind", "anchor"),
                ("name", "王控台"),
                ("id_number", &id_number),
                ("platform", "douyin"),
                ("handle", "wangkongtai"),
            ],
        )
        .await;
    let subject_page = follow(&app, &mut a, created).await;
    assert_eq!(subject_page.status, 200);
    assert!(subject_page.html.contains("王控台"));
    assert!(
        !subject_page.html.contains(&id_number),
        "the identity is masked"
    );
    let subject_path = format!(
        "/console/subjects/{}",
        subject_page_id(&app, &id_number).await
    );

    // A refusal comes back beside its input, with what was entered.
    let csrf = Browser::csrf(&subject_page);
    let base = [
        ("csrf", csrf.as_str()),
        ("category", "false_advertising"),
        ("severity", "serious"),
        ("decision_no", "某县市监罚〔2026〕18号"),
        ("penalty_kinds", "fine_aggravated"),
        ("listing_ground", "art9.5"),
        ("fine_yuan", "50000"),
        ("legal_basis", "《反不正当竞争法》第二十条"),
        ("description", "直播间宣称产品可治疗糖尿病"),
    ];
    let mut future = base.to_vec();
    future.push(("decided_on", "2099-01-01"));
    let refused = a
        .post_multipart(&app, &format!("{subject_path}/violations"), &future, &[])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("id=\"decided_on-error\""));
    assert!(refused.html.contains("直播间宣称产品可治疗糖尿病"));

    let mut fields = base.to_vec();
    fields.push(("decided_on", "2026-06-01"));
    let recorded = a
        .post_multipart(
            &app,
            &format!("{subject_path}/violations"),
            &fields,
            &[(
                "evidence",
                "录屏截图.png",
                "image/png",
                b"\x89PNG\r\n\x1a\n0000 a screenshot of the live room",
            )],
        )
        .await;
    let subject_page = follow(&app, &mut a, recorded).await;
    assert!(subject_page.html.contains("直播间宣称产品可治疗糖尿病"));
    assert!(
        subject_page.html.contains("违法行为已登记"),
        "says it was done"
    );

    // The same decision again (the form sent twice): refused, nothing counted twice.
    let csrf = Browser::csrf(&subject_page);
    let mut again = base.to_vec();
    again[0] = ("csrf", csrf.as_str());
    again.push(("decided_on", "2026-06-01"));
    let twice = a
        .post_multipart(&app, &format!("{subject_path}/violations"), &again, &[])
        .await;
    assert_eq!(twice.status, 409, "{}", twice.html);
    assert!(twice.html.contains("already recorded"));
    let violation = value_of(&subject_page.html, "violation_ids");
    let stored = app
        .get(format!("/v1/violations/{violation}"), &app.admin_token)
        .await;
    assert_eq!(stored.status, 200, "{:?}", stored.body);
    assert_eq!(stored.body["evidence"].as_array().unwrap().len(), 1);

    // Propose, then serve the notice (dated when it was handed over).
    let proposed = a
        .post(
            &app,
            &format!("{subject_path}/listings"),
            &[
                ("csrf", &Browser::csrf(&subject_page)),
                ("violation_ids", &violation),
                ("reason", "直播间虚假宣传，情节严重"),
                (
                    "legal_basis",
                    "《市场监督管理严重违法失信名单管理办法》第九条第五项",
                ),
            ],
        )
        .await;
    let listing_path = path_of(&proposed);
    assert!(
        listing_path.starts_with("/console/listings/"),
        "{listing_path}"
    );
    let listing_id = listing_path
        .trim_start_matches("/console/listings/")
        .to_owned();
    let listing_page = follow(&app, &mut a, proposed).await;
    let served = a
        .post(
            &app,
            &format!("{listing_path}/notice"),
            &[
                ("csrf", &Browser::csrf(&listing_page)),
                ("served_on", "2026-06-01"),
            ],
        )
        .await;
    assert_eq!(served.status, 200, "{}", served.html);
    assert!(served.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let listing = app
        .get(format!("/v1/listings/{listing_id}"), &app.admin_token)
        .await;
    assert_eq!(listing.body["status"], "noticed", "{:?}", listing.body);
    let notice_no = listing.body["notice_no"].as_str().unwrap().to_owned();
    assert!(served.html.contains(&notice_no));
    assert!(served.html.contains("王控台"), "the slip names the party");
    assert!(served.html.contains("/portal</dd>"), "and where to sign in");
    let first_code = value_between(&served.html, "id=\"access-code\">", "<").unwrap();

    // The party lost it: a new code, the old one no longer signs in.
    let page = a.get(&app, &listing_path).await;
    let reissued = a
        .post(
            &app,
            &format!("{listing_path}/access-code"),
            &[("csrf", &Browser::csrf(&page))],
        )
        .await;
    assert_eq!(reissued.status, 200, "{}", reissued.html);
    let new_code = value_between(&reissued.html, "id=\"access-code\">", "<").unwrap();
    assert_ne!(new_code, first_code);
    let old = app
        .post(
            "/v1/portal/session",
            "",
            json!({"notice_no": notice_no, "access_code": first_code}),
        )
        .await;
    assert_eq!(old.status, 401);
    let new = app
        .post(
            "/v1/portal/session",
            "",
            json!({"notice_no": notice_no, "access_code": new_code}),
        )
        .await;
    assert_eq!(new.status, 200, "{:?}", new.body);

    // The queues: the city bureau is asked for its consent; the official who
    // proposed may not decide and is told why.
    let work = c.get(&app, "/console/work").await;
    assert!(work.html.contains(&listing_path), "{}", work.html);
    let work = a.get(&app, "/console/work").await;
    assert!(work.html.contains("您不能决定"), "{}", work.html);
    let page = a.get(&app, &listing_path).await;
    let own = a
        .post(
            &app,
            &format!("{listing_path}/decision"),
            &[
                ("csrf", &Browser::csrf(&page)),
                ("outcome", "list"),
                ("reason", "事实清楚"),
            ],
        )
        .await;
    assert_eq!(own.status, 403, "{}", own.html);

    // The second official cannot list before the city bureau agrees.
    let page = b.get(&app, &listing_path).await;
    let early = b
        .post(
            &app,
            &format!("{listing_path}/decision"),
            &[
                ("csrf", &Browser::csrf(&page)),
                ("outcome", "list"),
                ("reason", "事实清楚"),
                ("decided_on", "2026-06-15"),
            ],
        )
        .await;
    assert_eq!(early.status, 409, "{}", early.html);

    let page = c.get(&app, &listing_path).await;
    let agreed = c
        .post(
            &app,
            &format!("{listing_path}/consent"),
            &[
                ("csrf", &Browser::csrf(&page)),
                ("outcome", "agree"),
                ("reason", "同意列入"),
            ],
        )
        .await;
    assert_eq!(agreed.status, 303, "{}", agreed.html);

    let page = b.get(&app, &listing_path).await;
    // The decision form offers the measures of art. 15, each checked; B keeps one.
    let first_measure = value_of(&page.html, "measures");
    let decided = b
        .post(
            &app,
            &format!("{listing_path}/decision"),
            &[
                ("csrf", &Browser::csrf(&page)),
                ("outcome", "list"),
                ("reason", "事实清楚，证据确凿"),
                ("decided_on", "2026-06-15"),
                ("measures_shown", "1"),
                ("measures", &first_measure),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.html);
    let listing = app
        .get(format!("/v1/listings/{listing_id}"), &app.admin_token)
        .await;
    assert_eq!(listing.body["status"], "listed", "{:?}", listing.body);
    assert_eq!(listing.body["published_on"], "2026-06-15");
    assert_eq!(listing.body["measures"], json!([first_measure]));
    assert_eq!(listing.body["proposed_by"], a_id.as_str());
    assert_ne!(listing.body["decided_by"], a_id.as_str());

    // Published: the public list has it, and the decision prints.
    let public = app
        .get("/v1/public/blacklist?q=%E7%8E%8B%E6%8E%A7%E5%8F%B0", "")
        .await;
    assert_eq!(public.body["items"].as_array().unwrap().len(), 1);
    let document = b
        .get(&app, &format!("{listing_path}/documents/decision"))
        .await;
    assert_eq!(document.status, 200);
    assert!(document.html.contains("王控台"));

    // Every step is the API's audited use case.
    let audit = app
        .get(
            format!("/v1/audit?target_id={listing_id}&limit=50"),
            &app.admin_token,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "listing.propose",
        "listing.notice",
        "listing.consent",
        "listing.decision",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // The penalty annulled on review: the bureau revokes, and the public list drops it.
    let page = a.get(&app, &listing_path).await;
    assert!(
        page.html.contains("/revoke\""),
        "the revoke form is offered"
    );
    let revoked = a
        .post(
            &app,
            &format!("{listing_path}/revoke"),
            &[
                ("csrf", &Browser::csrf(&page)),
                ("reason", "处罚决定经行政复议被撤销"),
            ],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);
    let listing = app
        .get(format!("/v1/listings/{listing_id}"), &app.admin_token)
        .await;
    assert_eq!(listing.body["status"], "revoked", "{:?}", listing.body);
    let public = app
        .get("/v1/public/blacklist?q=%E7%8E%8B%E6%8E%A7%E5%8F%B0", "")
        .await;
    assert_eq!(public.body["items"].as_array().unwrap().len(), 0);
}

/// The subject's id, found through the API by its ID number.
async fn subject_page_id(app: &TestApp, id_number: &str) -> String {
    let found = app
        .get(format!("/v1/subjects?q={id_number}"), &app.admin_token)
        .await;
    found.body["items"][0]["id"].as_str().unwrap().to_owned()
}

/// CONTRACT §6.8 ¶5: a CSV of up to 1,000 rows, answered as a table and a
/// CSV download, and recorded like the API's screenings.
async fn a_platform_screens_a_csv_and_downloads_the_results_impl(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let listed_id = resident_id("44030519900101234");
    app.publish_listing(
        &a,
        &b,
        json!({"kind": "anchor", "name": "赵名单", "id_number": listed_id}),
    )
    .await;
    let platform = app.create_org("表格平台", "platform").await;
    let (_, _, mut shop) = app.staffer(&platform, "platform", false).await;
    let page = shop.get(&app, "/console/screening").await;
    let csrf = Browser::csrf(&page);

    let csv = format!(
        "\u{feff}name,id_number,uscc,platform,handle\r\n赵名单,{listed_id},,,\r\n钱清白,{},,,\r\n,,,douyin,nobody_here\r\n",
        resident_id("44030519900101999")
    );
    let answered = shop
        .post_multipart(
            &app,
            "/console/screening/csv",
            &[("csrf", &csrf)],
            &[("file", "anchors.csv", "text/csv", csv.as_bytes())],
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.html);
    assert!(answered.html.contains("命中"));
    let href = value_between(&answered.html, "id=\"download-csv\" href=\"", "\"")
        .unwrap_or_else(|| value_between(&answered.html, "href=\"data:", "\"").unwrap());
    let encoded = href.rsplit(',').next().unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[1].contains("hit"), "{text}");
    assert!(lines[2].contains("clear"), "{text}");
    assert!(
        !text.contains(&listed_id),
        "the download never holds a full ID number"
    );

    // Recorded like the API's: three screenings of this organization.
    let (_, shop_token) = app.user_in(&platform, "platform").await;
    let records = app.get("/v1/screenings?limit=50", &shop_token).await;
    assert_eq!(records.status, 200, "{:?}", records.body);
    assert_eq!(records.body["items"].as_array().unwrap().len(), 3);

    // A file without the header names the columns it wants.
    let bad = shop
        .post_multipart(
            &app,
            "/console/screening/csv",
            &[("csrf", &Browser::csrf(&answered))],
            &[("file", "x.csv", "text/csv", "a,b\r\n1,2\r\n".as_bytes())],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id_number"));
}

fn value_between(html: &str, start: &str, end: &str) -> Option<String> {
    let at = html.find(start)? + start.len();
    let rest = &html[at..];
    Some(rest[..rest.find(end)?].to_owned())
}

/// CONTRACT §6.8 ¶4: the audit log with filters and the verification; the
/// organization tree and the users, changed through the admin's forms.
async fn auditors_verify_and_admins_keep_the_tree_impl(app: TestApp) {
    let watchers = app.create_org("审计协会", "consumer_association").await;
    let (_, _, mut auditor) = app.staffer(&watchers, "auditor", false).await;
    let page = auditor.get(&app, "/console/audit").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("user.created"));
    let verified = auditor
        .post(
            &app,
            "/console/audit/verify",
            &[("csrf", &Browser::csrf(&page))],
        )
        .await;
    assert_eq!(verified.status, 200);
    assert!(
        verified.html.contains("哈希链校验通过"),
        "{}",
        verified.html
    );
    let refused = auditor.get(&app, "/console/audit?actor=not-a-user").await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("id=\"actor-error\""));
    // Auditors read the tree but change nothing.
    let tree = auditor.get(&app, "/console/admin").await;
    assert_eq!(tree.status, 200);
    assert!(tree.html.contains("审计协会"));
    assert!(!tree.html.contains("/console/admin/users/"));
    let forged = auditor
        .post(
            &app,
            "/console/admin/organizations",
            &[
                ("csrf", &Browser::csrf(&tree)),
                ("name", "审计员建的局"),
                ("kind", "regulator"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    let mut admin = app.console_sign_in(ADMIN_EMAIL).await;
    let page = admin.get(&app, "/console/admin").await;
    assert_eq!(page.status, 200);
    let csrf = Browser::csrf(&page);
    let province = app
        .regulator_org("浙江省市场监督管理局", "provincial", None)
        .await;
    // A county bureau without its parent: refused beside the parent's input.
    let orphan = admin
        .post(
            &app,
            "/console/admin/organizations",
            &[
                ("csrf", &csrf),
                ("name", "某区市场监督管理局"),
                ("kind", "regulator"),
                ("level", "county"),
                ("parent_id", ""),
            ],
        )
        .await;
    assert_eq!(orphan.status, 422, "{}", orphan.html);
    assert!(orphan.html.contains("某区市场监督管理局"), "kept");
    let created = admin
        .post(
            &app,
            "/console/admin/organizations",
            &[
                ("csrf", &csrf),
                ("name", "杭州市市场监督管理局"),
                ("kind", "regulator"),
                ("level", "city"),
                ("parent_id", &province),
                ("region_code", "330100"),
            ],
        )
        .await;
    let page = follow(&app, &mut admin, created).await;
    assert!(page.html.contains("杭州市市场监督管理局"));
    let orgs = app
        .get("/v1/organizations?limit=500", &app.admin_token)
        .await;
    let hangzhou: Value = orgs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "杭州市市场监督管理局")
        .cloned()
        .unwrap();
    assert_eq!(hangzhou["parent_id"], province.as_str());
    let hangzhou = hangzhou["id"].as_str().unwrap().to_owned();

    let short = admin
        .post(
            &app,
            "/console/admin/users",
            &[
                ("csrf", &csrf),
                ("email", "new.official@hz.gov.cn"),
                ("password", "short"),
                ("role", "regulator"),
                ("organization_id", &hangzhou),
            ],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.html.contains("new.official@hz.gov.cn"));
    let made = admin
        .post(
            &app,
            "/console/admin/users",
            &[
                ("csrf", &csrf),
                ("email", "new.official@hz.gov.cn"),
                ("password", PASSWORD),
                ("role", "regulator"),
                ("organization_id", &hangzhou),
                ("display_name", "新科员"),
                ("can_approve", "1"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let users = app.get("/v1/users?limit=500", &app.admin_token).await;
    let user = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "new.official@hz.gov.cn")
        .cloned()
        .unwrap();
    assert_eq!(user["can_approve"], true);
    let mut official = app.console_sign_in("new.official@hz.gov.cn").await;
    assert_eq!(official.get(&app, "/console/work").await.status, 200);

    // Disabled through the form: out at the next click.
    let id = user["id"].as_str().unwrap();
    let changed = admin
        .post(
            &app,
            &format!("/console/admin/users/{id}"),
            &[
                ("csrf", &csrf),
                ("role", "regulator"),
                ("can_approve", "1"),
                ("disabled", "1"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.html);
    assert_eq!(official.get(&app, "/console/work").await.status, 303);
    let users = app.get("/v1/users?limit=500", &app.admin_token).await;
    assert!(users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["email"] == "new.official@hz.gov.cn" && u["disabled"] == true));
}

both_backends!(
    an_anchor_registered_without_an_id_is_flagged_and_completed,
    an_anchor_registered_without_an_id_is_flagged_and_completed_impl
);

/// From the first try by a new official: an anchor registered without a
/// resident ID is flagged on its page (platforms cannot find it by ID), and
/// the ID is added there; a number failing its check is refused in Chinese,
/// with what was typed kept.
async fn an_anchor_registered_without_an_id_is_flagged_and_completed_impl(app: TestApp) {
    let bureau = app.create_org("补充身份局", "regulator").await;
    let (_, _, mut a) = app.staffer(&bureau, "regulator", false).await;
    let page = a.get(&app, "/console/subjects").await;
    let created = a
        .post(
            &app,
            "/console/subjects",
            &[
                ("csrf", &Browser::csrf(&page)),
                ("kind", "anchor"),
                ("name", "李无证"),
            ],
        )
        .await;
    let path = path_of(&created);
    let page = follow(&app, &mut a, created).await;
    assert!(page.html.contains("未登记身份证号"), "{}", page.html);

    let good = resident_id("33010619920307123");
    let mut bad = good.clone();
    let last = if bad.ends_with('0') { "1" } else { "0" };
    bad.replace_range(17.., last);
    let refused = a
        .post(
            &app,
            &format!("{path}/identity"),
            &[("csrf", &Browser::csrf(&page)), ("id_number", &bad)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("请核对身份证件原件"));
    assert!(refused.html.contains(&bad), "what was typed is kept");

    let added = a
        .post(
            &app,
            &format!("{path}/identity"),
            &[("csrf", &Browser::csrf(&refused)), ("id_number", &good)],
        )
        .await;
    let page = follow(&app, &mut a, added).await;
    assert!(!page.html.contains("未登记身份证号"));
    assert!(page
        .html
        .contains(&format!("{}**********{}", &good[..4], &good[14..])));

    // A violation recorded by mistake is revoked on the subject's page, with a reason.
    let recorded = a
        .post_multipart(
            &app,
            &format!("{path}/violations"),
            &[
                ("csrf", &Browser::csrf(&page)),
                ("category", "false_advertising"),
                ("severity", "minor"),
                ("decided_on", "2026-11-20"),
                ("description", "录错了的一条"),
            ],
            &[],
        )
        .await;
    let page = follow(&app, &mut a, recorded).await;
    let violation = value_between(&page.html, "action=\"/console/violations/", "/revoke\"")
        .expect("a revoke form for the bureau's own violation");
    let revoked = a
        .post(
            &app,
            &format!("/console/violations/{violation}/revoke"),
            &[("csrf", &Browser::csrf(&page)), ("reason", "录入错误")],
        )
        .await;
    let page = follow(&app, &mut a, revoked).await;
    assert!(page.html.contains("违法行为已撤销"));
    let v = app
        .get(format!("/v1/violations/{violation}"), &app.admin_token)
        .await;
    assert_eq!(v.body["status"], "revoked", "{:?}", v.body);
}
