//! Admins and auditors read every platform's records (CONTRACT §4; Order 117:
//! a regulator checks that platforms screened before onboarding), and write
//! none of them; a platform still sees only its own.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// Two platforms with records of every kind, an auditor, and the ids.
struct World {
    first: String,
    first_org: String,
    second: String,
    second_org: String,
    auditor: String,
    /// The first platform's screening, watch and webhook.
    screening: String,
    watch: String,
    hook: String,
    /// The second platform's screening.
    rival_screening: String,
    subject: String,
}

fn ids(reply: &Reply, key: &str) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {:?}", reply.body))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

async fn organization_of(app: &TestApp, token: &str) -> String {
    app.get("/v1/me", token).await.body["organization_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn screening_id(app: &TestApp, token: &str, body: Value) -> String {
    let r = app.post("/v1/screening", token, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["screening_id"].as_str().unwrap().to_owned()
}

/// A receiver that accepts every delivery.
async fn receiver() -> String {
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().default_service(actix_web::web::to(actix_web::HttpResponse::Ok))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let address = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    format!("http://{address}/hook")
}

async fn world(app: &TestApp) -> World {
    let (_, regulator) = app.user_with_role("regulator").await;
    let (_, first) = app.user_with_role("platform").await;
    let (_, second) = app.user_with_role("platform").await;
    let (_, auditor) = app.user_with_role("auditor").await;
    let code = uscc("91330106MA2B3C4D5");
    let subject = app
        .create_subject(
            &regulator,
            json!({"kind": "merchant", "name": "监看商贸有限公司", "uscc": code}),
        )
        .await;
    let screening = screening_id(app, &first, json!({"uscc": code})).await;
    let rival_screening = screening_id(app, &second, json!({"name": "无此人"})).await;
    let watched = app
        .post("/v1/watchlist", &first, json!({"subject_id": subject}))
        .await;
    assert_eq!(watched.status, 201, "{:?}", watched.body);
    // Both watch the subject: an overseer's feed must still carry each event once.
    let rival_watch = app
        .post("/v1/watchlist", &second, json!({"subject_id": subject}))
        .await;
    assert_eq!(rival_watch.status, 201, "{:?}", rival_watch.body);
    let hook = app
        .post("/v1/webhooks", &first, json!({"url": receiver().await}))
        .await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);
    app.record_violation(
        &regulator,
        &subject,
        json!({"category": "other", "severity": "minor", "description": "d"}),
    )
    .await;
    let world = World {
        first_org: organization_of(app, &first).await,
        second_org: organization_of(app, &second).await,
        first,
        second,
        auditor,
        screening,
        watch: watched.body["id"].as_str().unwrap().to_owned(),
        hook: hook.body["id"].as_str().unwrap().to_owned(),
        rival_screening,
        subject,
    };
    // The delivery worker picks the event up within seconds.
    for _ in 0..60 {
        let deliveries = app
            .get(
                format!("/v1/webhooks/{}/deliveries", world.hook),
                &world.first,
            )
            .await;
        if deliveries.body["items"][0]["status"] == "delivered" {
            return world;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the webhook delivery was never made");
}

async fn auditors_and_admins_read_every_platforms_records(app: TestApp) {
    let w = world(&app).await;
    for (who, token) in [("auditor", w.auditor.as_str()), ("admin", &app.admin_token)] {
        // Screenings: every platform's, or one platform's when asked.
        let all = app.get("/v1/screenings", token).await;
        assert_eq!(all.status, 200, "{who}: {:?}", all.body);
        let all = ids(&all, "screening_id");
        assert!(
            all.contains(&w.screening) && all.contains(&w.rival_screening),
            "{who}: {all:?}"
        );
        let first = app
            .get(
                format!("/v1/screenings?organization_id={}", w.first_org),
                token,
            )
            .await;
        assert_eq!(
            ids(&first, "screening_id"),
            vec![w.screening.clone()],
            "{who}"
        );
        assert_eq!(
            first.body["items"][0]["organization_id"],
            w.first_org.as_str()
        );
        let one = app
            .get(format!("/v1/screenings/{}", w.screening), token)
            .await;
        assert_eq!(one.status, 200, "{who}: {:?}", one.body);
        assert_eq!(one.body["organization_id"], w.first_org.as_str());

        // Watchlists.
        let watches = app.get("/v1/watchlist", token).await;
        assert_eq!(watches.status, 200, "{who}: {:?}", watches.body);
        assert!(ids(&watches, "id").contains(&w.watch), "{who}");
        let second = app
            .get(
                format!("/v1/watchlist?organization_id={}", w.second_org),
                token,
            )
            .await;
        assert!(!ids(&second, "id").contains(&w.watch), "{who}");
        assert!(second.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["organization_id"] == w.second_org.as_str()));

        // Webhooks, never with a secret, and their deliveries.
        let hooks = app.get("/v1/webhooks", token).await;
        assert_eq!(hooks.status, 200, "{who}: {:?}", hooks.body);
        assert!(ids(&hooks, "id").contains(&w.hook), "{who}");
        assert!(
            hooks.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h.get("secret").is_none()),
            "{who}: {:?}",
            hooks.body
        );
        let deliveries = app
            .get(format!("/v1/webhooks/{}/deliveries", w.hook), token)
            .await;
        assert_eq!(deliveries.status, 200, "{who}: {:?}", deliveries.body);
        assert_eq!(deliveries.body["items"][0]["status"], "delivered", "{who}");

        // Events: one platform's feed, or every event some feed carries, once.
        let feed = app
            .get(format!("/v1/events?organization_id={}", w.first_org), token)
            .await;
        assert_eq!(feed.status, 200, "{who}: {:?}", feed.body);
        assert!(feed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "violation.recorded" && e["subject_id"] == w.subject.as_str()));
        let every = app.get("/v1/events", token).await;
        let seqs: Vec<i64> = every.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect();
        assert!(!seqs.is_empty(), "{who}");
        assert_eq!(
            seqs.iter().collect::<HashSet<_>>().len(),
            seqs.len(),
            "{who}: an event watched twice is listed once: {seqs:?}"
        );

        // Accounts.
        assert_eq!(app.get("/v1/users", token).await.status, 200, "{who}");
        assert_eq!(
            app.get("/v1/organizations", token).await.status,
            200,
            "{who}"
        );

        // A filter that is no organization id is a 422, one that names no
        // organization an empty list.
        assert_invalid_field(
            &app.get("/v1/screenings?organization_id=nope", token).await,
            "organization_id",
        );
        let nobody = app
            .get(
                "/v1/watchlist?organization_id=00000000-0000-7000-8000-000000000000",
                token,
            )
            .await;
        assert_eq!(nobody.status, 200, "{who}: {:?}", nobody.body);
        assert!(ids(&nobody, "id").is_empty());

        // Reading is all: no platform write, on the platform's own records either.
        let writes = [
            (
                Method::POST,
                "/v1/screening".to_owned(),
                Some(json!({"name": "张伟"})),
            ),
            (
                Method::POST,
                "/v1/watchlist".to_owned(),
                Some(json!({"subject_id": w.subject})),
            ),
            (Method::DELETE, format!("/v1/watchlist/{}", w.watch), None),
            (
                Method::POST,
                "/v1/webhooks".to_owned(),
                Some(json!({"url": "https://hooks.example.com/x"})),
            ),
            (Method::DELETE, format!("/v1/webhooks/{}", w.hook), None),
        ];
        for (method, path, body) in writes {
            let r = app.call(method.clone(), &path, Some(token), body).await;
            assert_eq!(r.status, 403, "{who}: {method} {path}");
            assert_problem(&r, 403);
        }
    }
    // The records the overseers could not touch are all still there.
    assert!(ids(&app.get("/v1/watchlist", &w.first).await, "id").contains(&w.watch));
    assert!(ids(&app.get("/v1/webhooks", &w.first).await, "id").contains(&w.hook));
}
both_backends!(
    auditors_and_admins_read_every_platforms_records,
    auditors_and_admins_read_every_platforms_records
);

async fn a_platform_still_sees_only_its_own(app: TestApp) {
    let w = world(&app).await;
    let own = app.get("/v1/screenings", &w.second).await;
    assert_eq!(ids(&own, "screening_id"), vec![w.rival_screening.clone()]);
    assert_problem(
        &app.get(format!("/v1/screenings/{}", w.screening), &w.second)
            .await,
        404,
    );
    assert_problem(
        &app.get(format!("/v1/webhooks/{}/deliveries", w.hook), &w.second)
            .await,
        404,
    );
    assert!(!ids(&app.get("/v1/watchlist", &w.second).await, "id").contains(&w.watch));
    assert!(!ids(&app.get("/v1/webhooks", &w.second).await, "id").contains(&w.hook));
    // Naming another organization is refused, not quietly narrowed; naming its own is fine.
    for path in [
        "/v1/screenings",
        "/v1/watchlist",
        "/v1/webhooks",
        "/v1/events",
    ] {
        assert_problem(
            &app.get(format!("{path}?organization_id={}", w.first_org), &w.second)
                .await,
            403,
        );
        let mine = app
            .get(
                format!("{path}?organization_id={}", w.second_org),
                &w.second,
            )
            .await;
        assert_eq!(mine.status, 200, "{path}: {:?}", mine.body);
    }
    // The first platform still sees its own.
    let first = app.get("/v1/screenings", &w.first).await;
    assert_eq!(ids(&first, "screening_id"), vec![w.screening.clone()]);
    assert_eq!(
        app.get(format!("/v1/screenings/{}", w.screening), &w.first)
            .await
            .status,
        200
    );
}
both_backends!(
    a_platform_still_sees_only_its_own,
    a_platform_still_sees_only_its_own
);
