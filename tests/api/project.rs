//! Checks on the project's files: the committed OpenAPI document, the
//! compose file, and the command line.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::*;

/// The committed spec must be what the code generates.
/// `UPDATE_OPENAPI=1 cargo test openapi` rewrites it.
#[test]
fn committed_openapi_matches_the_code() {
    let generated = livecredit::api::openapi_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test committed_openapi` and commit it"
    );
}

/// Every operation has an id, a summary, a tag, its 4xx answers as problems, and security declared.
#[test]
fn openapi_operations_are_complete() {
    let spec: serde_json::Value = serde_json::from_str(&livecredit::api::openapi_json()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: operationId"));
            assert!(
                ids.insert(id.to_owned()),
                "{name}: duplicate operationId {id}"
            );
            assert!(op["summary"].is_string(), "{name}: summary");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: tag"
            );
            let public = path.starts_with("/v1/public")
                || path.starts_with("/v1/reference")
                || !path.starts_with("/v1/")
                || path == "/v1/auth/login"
                || path == "/v1/auth/refresh";
            if !public {
                assert!(op["security"].is_array(), "{name}: security");
                assert!(op["responses"]["401"].is_object(), "{name}: 401 response");
            }
            let has_4xx = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .any(|k| k.starts_with('4'));
            let takes_input = op["parameters"].as_array().is_some_and(|p| !p.is_empty())
                || op["requestBody"].is_object();
            assert!(
                has_4xx || !takes_input,
                "{name}: takes input but declares no 4xx response"
            );
        }
    }
}

/// The compose file parses, and its environment names only variables the binary reads.
#[test]
fn compose_file_parses_and_names_real_variables() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    let compose: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let services = &compose["services"];
    let postgres = &services["postgres"];
    assert!(postgres["image"]
        .as_str()
        .unwrap()
        .starts_with("postgres:16"));
    assert!(postgres["healthcheck"]["test"].is_sequence());
    assert!(postgres["volumes"].is_sequence());
    let app = &services["livecredit"];
    assert!(app["build"].is_mapping() || app["build"].is_string());
    let known: BTreeSet<&str> = [
        "LIVECREDIT_DATABASE_URL",
        "LIVECREDIT_BIND",
        "LIVECREDIT_ADMIN_EMAIL",
        "LIVECREDIT_ADMIN_PASSWORD",
        "LIVECREDIT_JWT_SECRET",
        "LIVECREDIT_ID_PEPPER",
        "LIVECREDIT_DATA_DIR",
        "LIVECREDIT_CALENDAR",
        "LIVECREDIT_RATE_LIMIT_PER_ORG",
        "LIVECREDIT_PUBLIC_RATE_LIMIT",
        "LIVECREDIT_PUBLIC_ID_QUERIES_PER_HOUR",
        "LIVECREDIT_SCREENING_RETENTION_DAYS",
        "LIVECREDIT_WEBHOOK_ALLOW_PRIVATE",
        "LIVECREDIT_DB_POOL_SIZE",
        "LIVECREDIT_LOG_FORMAT",
        "LIVECREDIT_CORS_ORIGINS",
        "LIVECREDIT_TRUSTED_PROXIES",
        "LIVECREDIT_SIGNING_KEY",
        "RUST_LOG",
    ]
    .into();
    let env = app["environment"]
        .as_mapping()
        .expect("environment as a mapping");
    assert!(env.contains_key("LIVECREDIT_DATABASE_URL"));
    for key in env.keys() {
        let key = key.as_str().unwrap();
        assert!(
            known.contains(key),
            "compose names {key}, which livecredit does not read"
        );
        // Every variable the compose file names must appear in the code that reads the environment.
        let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.rs"))
            .unwrap()
            + &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/telemetry.rs"))
                .unwrap();
        assert!(
            key == "RUST_LOG" || source.contains(key),
            "{key} is not read in src/config.rs"
        );
    }
    let url = env
        .get("LIVECREDIT_DATABASE_URL")
        .unwrap()
        .as_str()
        .unwrap();
    assert!(url.starts_with("postgres://"));
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    for line in example
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
    {
        let key = line.split('=').next().unwrap().trim_start_matches("# ");
        assert!(
            known.contains(key),
            ".env.example names {key}, which livecredit does not read"
        );
    }
}

/// `livecredit user create --password-stdin` makes a user who can log in.
#[actix_web::test]
async fn cli_creates_a_user_who_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("cli.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args([
            "user",
            "create",
            "--email",
            "Auditor@Example.cn",
            "--role",
            "auditor",
            "--password-stdin",
        ])
        .env(
            "LIVECREDIT_DATABASE_URL",
            format!("sqlite://{}", db_path.display()),
        )
        .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
        // The server below has the test pepper: a CLI with another would be refused.
        .env(
            "LIVECREDIT_ID_PEPPER",
            "test-id-pepper-of-at-least-32-bytes!!",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user_id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(!user_id.is_empty());

    // Too short a password is refused with the rule named.
    let mut child = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args([
            "user",
            "create",
            "--email",
            "x@example.cn",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .env(
            "LIVECREDIT_DATABASE_URL",
            format!("sqlite://{}", db_path.display()),
        )
        .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
        // The server below has the test pepper: a CLI with another would be refused.
        .env(
            "LIVECREDIT_ID_PEPPER",
            "test-id-pepper-of-at-least-32-bytes!!",
        )
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));

    let settings = settings_for(livecredit::config::DatabaseUrl::Sqlite(db_path), dir.path());
    let app = livecredit::app::Application::build(settings).await.unwrap();
    let address = format!("http://{}", app.address());
    actix_web::rt::spawn(app.run_until_stopped());
    let res = reqwest::Client::new()
        .post(format!("{address}/v1/auth/login"))
        .json(&serde_json::json!({"email": "auditor@example.cn", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], user_id.as_str());
    assert_eq!(body["user"]["role"], "auditor");
}

/// `livecredit backup` writes a copy that opens on its own with the audit chain intact.
#[actix_web::test]
async fn a_backup_restores_with_its_audit_chain() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (_, reg) = app.user_with_role("regulator").await;
    let subject = app
        .create_subject(&reg, serde_json::json!({"kind": "anchor", "name": "备份"}))
        .await;
    let livecredit::config::DatabaseUrl::Sqlite(path) = &app.database_url else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    let out = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args(["backup", "--to"])
        .arg(&backup)
        .env(
            "LIVECREDIT_DATABASE_URL",
            format!("sqlite://{}", path.display()),
        )
        .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second backup to the same file is refused rather than overwriting it.
    let again = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args(["backup", "--to"])
        .arg(&backup)
        .env(
            "LIVECREDIT_DATABASE_URL",
            format!("sqlite://{}", path.display()),
        )
        .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!again.status.success());

    let verify = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args(["audit", "verify"])
        .env(
            "LIVECREDIT_DATABASE_URL",
            format!("sqlite://{}", backup.display()),
        )
        .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let verdict: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    let live = app.get("/v1/audit/verify", &app.admin_token).await.body;
    assert_eq!(verdict["head_hash"], live["head_hash"]);
    assert_eq!(verdict["entries"], live["entries"]);

    // The restored copy serves the same data.
    let restored = livecredit::app::Application::build(settings_for(
        livecredit::config::DatabaseUrl::Sqlite(backup),
        dir.path(),
    ))
    .await
    .unwrap();
    let address = format!("http://{}", restored.address());
    actix_web::rt::spawn(restored.run_until_stopped());
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{address}/v1/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let got = reqwest::Client::new()
        .get(format!("{address}/v1/subjects/{subject}"))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
}
