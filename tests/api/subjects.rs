use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn subjects_are_registered_with_checked_identifiers(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let id_number = resident_id("33010219900307123");
    let r = app
        .post(
            "/v1/subjects",
            &reg,
            json!({"kind": "anchor", "name": " 张伟 ", "aliases": ["伟哥", "Zhang Wei", "伟哥"],
                "id_number": id_number.to_lowercase(), "region_code": "330102",
                "accounts": [{"platform": "Douyin", "handle": "@ZhangWei88"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let anchor = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["name"], "张伟");
    assert_eq!(r.body["aliases"], json!(["伟哥", "Zhang Wei"]));
    assert_eq!(
        r.body["id_number_masked"],
        format!("3301**********{}", &id_number[14..])
    );
    assert_eq!(
        r.body["accounts"],
        json!([{"platform": "douyin", "handle": "zhangwei88"}])
    );
    assert!(
        !r.body.to_string().contains(&id_number[4..14]),
        "full ID leaked: {}",
        r.body
    );

    let code = uscc("91330100MA2H12345");
    let merchant = app
        .create_subject(&reg, json!({"kind": "merchant", "name": "杭州美丽服饰有限公司", "uscc": code.to_lowercase()}))
        .await;
    let got = app.get(&format!("/v1/subjects/{merchant}"), &reg).await;
    assert_eq!(got.body["uscc"], code.as_str());
    assert!(got.body["id_number_masked"].is_null());

    // Duplicates name the subject that holds the identifier.
    let dup = app
        .post(
            "/v1/subjects",
            &reg,
            json!({"kind": "anchor", "name": "李四", "id_number": id_number}),
        )
        .await;
    assert_problem(&dup, 409);
    assert_eq!(dup.body["existing_subject_id"], anchor.as_str());
    let dup = app
        .post(
            "/v1/subjects",
            &reg,
            json!({"kind": "merchant", "name": "另一家", "uscc": code}),
        )
        .await;
    assert_eq!(dup.body["existing_subject_id"], merchant.as_str());
    let dup = app
        .post("/v1/subjects", &reg, json!({"kind": "anchor", "name": "王五", "accounts": [{"platform": "douyin", "handle": "zhangwei88"}]}))
        .await;
    assert_problem(&dup, 409);
    assert_eq!(dup.body["existing_subject_id"], anchor.as_str());

    // Bad input names the field, and never echoes the full number.
    let mut bad_check = id_number.clone();
    bad_check.replace_range(17..18, if &id_number[17..] == "0" { "1" } else { "0" });
    let bad = app
        .post(
            "/v1/subjects",
            &reg,
            json!({"kind": "anchor", "name": "x", "id_number": bad_check}),
        )
        .await;
    assert_invalid_field(&bad, "id_number");
    assert!(!bad.body.to_string().contains(&bad_check));
    let feb30 = resident_id("33010219900230123");
    assert_invalid_field(
        &app.post(
            "/v1/subjects",
            &reg,
            json!({"kind": "anchor", "name": "x", "id_number": feb30}),
        )
        .await,
        "id_number",
    );
    assert_invalid_field(
        &app.post(
            "/v1/subjects",
            &reg,
            json!({"kind": "merchant", "name": "x", "id_number": id_number}),
        )
        .await,
        "id_number",
    );
    assert_invalid_field(
        &app.post(
            "/v1/subjects",
            &reg,
            json!({"kind": "anchor", "name": "x", "uscc": code}),
        )
        .await,
        "uscc",
    );
    assert_invalid_field(
        &app.post(
            "/v1/subjects",
            &reg,
            json!({"kind": "merchant", "name": "x", "uscc": "91330100MA2H1234I0"}),
        )
        .await,
        "uscc",
    );
    assert_invalid_field(
        &app.post("/v1/subjects", &reg, json!({"kind": "robot", "name": "x"}))
            .await,
        "kind",
    );
    assert_invalid_field(
        &app.post("/v1/subjects", &reg, json!({"kind": "anchor", "name": ""}))
            .await,
        "name",
    );
    assert_invalid_field(
        &app.post("/v1/subjects", &reg, json!({"kind": "anchor", "name": "x", "accounts": [{"platform": "douyin", "handle": "a b"}]})).await,
        "accounts[0]",
    );
}
both_backends!(
    subjects_are_registered_with_checked_identifiers,
    subjects_are_registered_with_checked_identifiers
);

async fn subjects_are_found_by_name_alias_and_identifier(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let id_number = resident_id("11010519880808456");
    let code = uscc("91110105MA01ABCDE");
    let anchor = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "李佳", "aliases": ["Jiajia_Live"], "id_number": id_number,
            "accounts": [{"platform": "kuaishou", "handle": "LiJia2026"}]}))
        .await;
    let merchant = app
        .create_subject(
            &reg,
            json!({"kind": "merchant", "name": "北京优品商贸有限公司", "uscc": code}),
        )
        .await;
    app.create_subject(&reg, json!({"kind": "anchor", "name": "王芳"}))
        .await;

    let ids = |r: &Reply| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |q: &str| app.get(format!("/v1/subjects?q={}", urlencoding(q)), &reg);
    assert_eq!(ids(&search("李佳").await), vec![anchor.clone()]);
    assert_eq!(ids(&search("jiajia").await), vec![anchor.clone()]);
    assert_eq!(ids(&search(&id_number).await), vec![anchor.clone()]);
    assert_eq!(ids(&search("@lijia2026").await), vec![anchor.clone()]);
    assert_eq!(ids(&search(&code).await), vec![merchant.clone()]);
    assert_eq!(ids(&search("优品").await), vec![merchant.clone()]);
    // A name in pinyin, with or without spaces or capitals, and in traditional characters.
    assert_eq!(ids(&search("li jia").await), vec![anchor.clone()]);
    assert_eq!(ids(&search("LiJia").await), vec![anchor.clone()]);
    assert_eq!(ids(&search("優品").await), vec![merchant.clone()]);
    assert!(ids(&search("100%_").await).is_empty());
    assert_eq!(
        ids(&app.get("/v1/subjects?kind=merchant", &reg).await),
        vec![merchant.clone()]
    );
    assert_eq!(ids(&app.get("/v1/subjects", &reg).await).len(), 3);
    // The 422 names the parameter itself now (it said `query` before issue 14).
    assert_invalid_field(&app.get("/v1/subjects?kind=robot", &reg).await, "kind");

    // Keyset pages stay stable while rows are inserted: nothing skipped or repeated.
    let page1 = app.get("/v1/subjects?limit=2", &reg).await;
    let cursor = page1.body["next_cursor"].as_str().unwrap().to_owned();
    let late = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "后来者"}))
        .await;
    let page2 = app
        .get(&format!("/v1/subjects?limit=2&cursor={cursor}"), &reg)
        .await;
    let mut seen = ids(&page1);
    seen.extend(ids(&page2));
    assert_eq!(seen.len(), 4);
    assert_eq!(seen.last(), Some(&late));
    assert!(page2.body["next_cursor"].is_null());
}
both_backends!(
    subjects_are_found_by_name_alias_and_identifier,
    subjects_are_found_by_name_alias_and_identifier
);

pub fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn identifiers_are_added_but_replaced_only_with_a_reason(app: TestApp) {
    let (_, reg) = app.user_with_role("regulator").await;
    let anchor = app
        .create_subject(&reg, json!({"kind": "anchor", "name": "赵六"}))
        .await;
    let first = resident_id("44030519950101789");
    let second = resident_id("44030519950101790");
    let added = app
        .patch(
            &format!("/v1/subjects/{anchor}"),
            &reg,
            json!({"id_number": first, "aliases": ["小六"]}),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(added.body["aliases"], json!(["小六"]));
    assert!(added.body["id_number_masked"]
        .as_str()
        .unwrap()
        .starts_with("4403"));
    // The same number again is no change; another one through PATCH is refused.
    assert_eq!(
        app.patch(
            &format!("/v1/subjects/{anchor}"),
            &reg,
            json!({"id_number": first})
        )
        .await
        .status,
        200
    );
    assert_problem(
        &app.patch(
            &format!("/v1/subjects/{anchor}"),
            &reg,
            json!({"id_number": second}),
        )
        .await,
        409,
    );

    let no_reason = app
        .post(
            &format!("/v1/subjects/{anchor}/identifiers"),
            &reg,
            json!({"identifier": "id_number", "value": second, "reason": ""}),
        )
        .await;
    assert_invalid_field(&no_reason, "reason");
    let replaced = app
        .post(
            &format!("/v1/subjects/{anchor}/identifiers"),
            &reg,
            json!({"identifier": "id_number", "value": second, "reason": "公安机关更正身份证号"}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert!(replaced.body["id_number_masked"]
        .as_str()
        .unwrap()
        .ends_with(&second[14..]));
    let removed = app
        .post(
            &format!("/v1/subjects/{anchor}/identifiers"),
            &reg,
            json!({"identifier": "id_number", "value": null, "reason": "误登记"}),
        )
        .await;
    assert!(removed.body["id_number_masked"].is_null());

    let audit = app
        .get(&format!("/v1/audit?target_id={anchor}"), &app.admin_token)
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "subject.created",
            "subject.updated",
            "subject.updated",
            "subject.identifier_replaced",
            "subject.identifier_removed"
        ]
    );
    let replaced_entry = &audit.body["items"][3];
    assert_eq!(replaced_entry["details"]["reason"], "公安机关更正身份证号");
    assert!(
        !audit.body.to_string().contains(&second),
        "full ID in the audit log"
    );

    // Accounts can be replaced; taking another subject's account is refused.
    let other = app.create_subject(&reg, json!({"kind": "anchor", "name": "钱七", "accounts": [{"platform": "taobao", "handle": "qianqi"}]})).await;
    let taken = app
        .patch(
            &format!("/v1/subjects/{anchor}"),
            &reg,
            json!({"accounts": [{"platform": "taobao", "handle": "QianQi"}]}),
        )
        .await;
    assert_problem(&taken, 409);
    assert_eq!(taken.body["existing_subject_id"], other.as_str());
    assert_problem(
        &app.patch("/v1/subjects/nope", &reg, json!({"name": "x"}))
            .await,
        404,
    );
}
both_backends!(
    identifiers_are_added_but_replaced_only_with_a_reason,
    identifiers_are_added_but_replaced_only_with_a_reason
);
