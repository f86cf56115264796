//! `livecredit demo-data`: what it loads is consistent (audit chain, stored
//! scores, the public list, every listing state) and the same for the same seed.

use std::io::Write;
use std::process::{Command, Stdio};

use diesel::prelude::*;
use livecredit::app::Application;
use livecredit::config::{DatabaseUrl, Settings};
use livecredit::db::schema::subjects;
use livecredit::demo::{self, DemoOptions, DemoSummary};
use livecredit::domain::procedure::Status;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const SUBJECTS: u64 = 500;

fn options(seed: u64) -> DemoOptions {
    let mut options = DemoOptions::new(SUBJECTS);
    options.seed = seed;
    // Several batches, so batching shows in the audit log and the results.
    options.batch_size = 200;
    options.password = Some(PASSWORD.into());
    options
}

/// Runs the loader off the async threads.
async fn load(settings: &Settings, options: DemoOptions) -> DemoSummary {
    let settings = settings.clone();
    actix_web::rt::task::spawn_blocking(move || demo::run(&settings, options))
        .await
        .expect("the loader ran")
        .expect("the loader succeeded")
}

/// A database of each backend (PostgreSQL when one answers), in `dir`.
fn databases(dir: &std::path::Path, name: &str) -> Vec<(DatabaseUrl, Option<PgDatabase>)> {
    let mut found = vec![(DatabaseUrl::Sqlite(dir.join(format!("{name}.db"))), None)];
    if let Some(admin) = postgres_admin_url() {
        let pg = PgDatabase::create(&admin);
        found.push((DatabaseUrl::Postgres(pg.url.clone()), Some(pg)));
    }
    found
}

/// Subject names in id (registration) order.
fn names_in_order(url: &DatabaseUrl) -> Vec<String> {
    let db = livecredit::db::Db::open(url, 1).unwrap();
    let mut pooled = db.conn().unwrap();
    let conn: &mut livecredit::db::DbConn = &mut pooled;
    subjects::table
        .order(subjects::id)
        .select(subjects::name)
        .load(conn)
        .unwrap()
}

struct Server {
    address: String,
    client: reqwest::Client,
    token: String,
}

impl Server {
    async fn start(settings: Settings) -> Self {
        let app = Application::build(settings).await.expect("build app");
        let address = format!("http://{}", app.address());
        actix_web::rt::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let login: Value = client
            .post(format!("{address}/v1/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["access_token"].as_str().unwrap().to_owned();
        Self {
            address,
            client,
            token,
        }
    }

    async fn get(&self, path: &str) -> Value {
        let res = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }
}

/// Loads 500 subjects, serves them, and checks them through the API.
async fn loads_consistent_data(url: DatabaseUrl, dir: &std::path::Path) {
    let settings = settings_for(url, dir);
    let summary = load(&settings, options(7)).await;
    assert_eq!(summary.subjects, SUBJECTS);
    assert_eq!(summary.anchors + summary.merchants, SUBJECTS);
    assert!(summary.violations > 0 && summary.evidence > 0);
    assert!(summary.subject_names > SUBJECTS && summary.name_keys > summary.subject_names);
    assert_eq!(summary.active_listings(), 5, "{summary}");
    assert_eq!(summary.batches, 3);
    assert_eq!(summary.organizations * 2, summary.users);
    assert!((5..=10).contains(&summary.organizations));

    let server = Server::start(settings).await;

    let verdict = server.get("/v1/audit/verify").await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    // One entry per organization, user and batch row family (not per row), plus the admin's.
    assert!(verdict["entries"].as_i64().unwrap() < 100, "{verdict}");

    // The stored score of every subject with violations is the score computed now.
    let mut checked = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/subjects?limit=200&cursor={c}"),
            None => "/v1/subjects?limit=200".to_owned(),
        };
        let page = server.get(&path).await;
        for subject in page["items"].as_array().unwrap() {
            let id = subject["id"].as_str().unwrap();
            if subject["score_as_of"].is_null() {
                assert_eq!(subject["score"], 100.0);
                continue;
            }
            if checked >= 40 {
                continue;
            }
            let score = server.get(&format!("/v1/subjects/{id}/score")).await;
            assert_eq!(subject["score"], score["score"], "{id}");
            assert_eq!(subject["band"], score["band"], "{id}");
            checked += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(checked >= 40, "only {checked} subjects with violations");

    // About 1% of subjects are on the public list.
    let public = server.get("/v1/public/blacklist?limit=100").await;
    let entries = public["items"].as_array().unwrap().len() as u64;
    assert_eq!(entries, summary.active_listings());
    assert!((SUBJECTS / 200..=SUBJECTS / 50).contains(&entries));

    // Every state of the procedure is there, with a history that fits it.
    for status in Status::ALL {
        let page = server
            .get(&format!("/v1/listings?status={status}&limit=5"))
            .await;
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty(), "no {status} listing");
        for listing in items {
            assert_eq!(listing["status"], status.as_str());
            let actions: Vec<&str> = listing["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["action"].as_str().unwrap())
                .filter(|a| *a != "objection")
                .collect();
            assert_eq!(actions.first(), Some(&"propose"), "{listing}");
            if status == Status::Listed {
                assert_eq!(actions, ["propose", "notice", "decision"]);
                assert_ne!(listing["decided_by"], listing["proposed_by"]);
                assert!(!listing["violation_ids"].as_array().unwrap().is_empty());
            }
        }
    }
}

#[actix_web::test]
async fn loads_consistent_data_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    for (url, _pg) in databases(dir.path(), "consistent") {
        let backend_dir = dir.path().join(url.backend_name());
        loads_consistent_data(url, &backend_dir).await;
    }
}

#[actix_web::test]
async fn the_same_seed_gives_the_same_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (i, (url, pg)) in databases(dir.path(), "first")
        .into_iter()
        .chain(databases(dir.path(), "second"))
        .enumerate()
    {
        let settings = settings_for(url.clone(), &dir.path().join(format!("run{i}")));
        load(&settings, options(42)).await;
        runs.push((url, pg));
    }
    let first = names_in_order(&runs[0].0);
    assert_eq!(first.len() as u64, SUBJECTS);
    for (url, _) in &runs[1..] {
        assert_eq!(names_in_order(url), first, "{}", url.backend_name());
    }

    let other = dir.path().join("other-seed");
    let settings = settings_for(DatabaseUrl::Sqlite(other.join("x.db")), &other);
    load(&settings, options(43)).await;
    assert_ne!(names_in_order(&settings.database_url), first);
}

#[test]
fn the_command_loads_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "LIVECREDIT_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("cli.db").display()),
        ),
        (
            "LIVECREDIT_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args([
            "demo-data",
            "--subjects",
            "300",
            "--seed",
            "5",
            "--password-stdin",
        ])
        .envs(env.clone())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a demo password for officials\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("demo-data: 300 subjects (seed 5) loaded into sqlite"),
        "{stdout}"
    );
    assert!(stdout.contains("rows/s"), "{stdout}");
    assert!(stdout.contains("subject_name_keys"), "{stdout}");

    let verify = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args(["audit", "verify"])
        .envs(env.clone())
        .output()
        .unwrap();
    assert!(verify.status.success());
    let verdict: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(verdict["valid"], true);

    // A registry that already holds subjects is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args(["demo-data", "--subjects", "10"])
        .envs(env)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds 300 subjects"));
}
