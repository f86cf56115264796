//! Small holes closed: CSV formulas, private database and backup files, the
//! PostgreSQL password kept off pg_dump's command line, CLI commands that
//! refuse a database filled with another pepper, and the Docker image and
//! the backup docs agreeing.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use livecredit::config::DatabaseUrl;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// What a command says when the database was filled with another pepper.
const OTHER_PEPPER: &str = "is not the pepper this database was filled with";

/// The pepper `settings_for` gives every test server.
const TEST_PEPPER: &str = "test-id-pepper-of-at-least-32-bytes!!";

async fn the_csv_export_neutralises_formulas(app: TestApp) {
    let ((_, a), (_, b)) = app.two_officials().await;
    let name = r#"=HYPERLINK("https://evil.example/","刘德华")"#;
    let (_, listing) = app
        .publish_listing(&a, &b, json!({"kind": "anchor", "name": name}))
        .await;
    let entry = app
        .call(reqwest::Method::GET, "/v1/public/blacklist", None, None)
        .await;
    let entry = &entry.body["items"][0];
    assert_eq!(entry["listing_id"], listing.as_str());

    let res = app
        .client
        .get(app.url("/v1/public/blacklist/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    let expected = format!(
        "listing_id,name,kind,id_number_masked,uscc,accounts,reason,legal_basis,authority,listed_on,expires_on,decision_no\r\n\
         {listing},\"'=HYPERLINK(\"\"https://evil.example/\"\",\"\"刘德华\"\")\",anchor,,,,{reason},{basis},{authority},{listed},{expires},{decision_no}\r\n",
        decision_no = entry["decision_no"].as_str().unwrap(),
        reason = entry["reason"].as_str().unwrap(),
        basis = entry["legal_basis"].as_str().unwrap(),
        authority = entry["authority"].as_str().unwrap(),
        listed = entry["listed_on"].as_str().unwrap(),
        expires = entry["expires_on"].as_str().unwrap(),
    );
    assert_eq!(
        std::str::from_utf8(&bytes).unwrap(),
        expected,
        "the exact bytes of the CSV export"
    );

    // NDJSON is data, not a spreadsheet: the name is given as it is.
    let ndjson = app
        .client
        .get(app.url("/v1/public/blacklist/export?format=ndjson"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line: serde_json::Value = serde_json::from_str(ndjson.trim_end()).unwrap();
    assert_eq!(line["subject"]["name"], name);
}
both_backends!(
    the_csv_export_neutralises_formulas,
    the_csv_export_neutralises_formulas
);

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The SQLite database, its WAL and shared-memory files, and a backup are
/// readable by their owner only, whatever the umask.
#[cfg(unix)]
#[actix_web::test]
async fn the_sqlite_files_and_backups_are_private() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (_, reg) = app.user_with_role("regulator").await;
    app.create_subject(&reg, json!({"kind": "anchor", "name": "权限"}))
        .await;
    let DatabaseUrl::Sqlite(path) = &app.database_url else {
        unreachable!()
    };
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
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
        .env("LIVECREDIT_ID_PEPPER", TEST_PEPPER)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&backup), 0o600);
    assert!(std::fs::metadata(&backup).unwrap().len() > 0);
}

/// A stand-in pg_dump that records its arguments and PGPASSWORD, then
/// writes the file it was asked for (or fails when FAKE_PG_DUMP_FAIL is set).
#[cfg(unix)]
fn fake_pg_dump(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("pg_dump");
    std::fs::write(
        &script,
        r#"#!/bin/sh
printf '%s\n' "$@" > "$FAKE_PG_DUMP_LOG.args"
printf '%s' "${PGPASSWORD-unset}" > "$FAKE_PG_DUMP_LOG.password"
[ -n "$FAKE_PG_DUMP_FAIL" ] && exit 3
while [ $# -gt 0 ]; do
  if [ "$1" = "--file" ]; then echo dump > "$2"; fi
  shift
done
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `livecredit backup` on PostgreSQL gives pg_dump the password in
/// PGPASSWORD and a URL without it, into a private file.
#[cfg(unix)]
#[test]
fn backup_passes_the_postgres_password_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_pg_dump(&bin);
    let log = dir.path().join("pg_dump");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let backup = |to: &std::path::Path, url: &str, fail: bool| -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_livecredit"));
        command
            .args(["backup", "--to"])
            .arg(to)
            .env("PATH", &path)
            .env("LIVECREDIT_DATABASE_URL", url)
            .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
            .env("FAKE_PG_DUMP_LOG", &log)
            .env_remove("PGPASSWORD");
        if fail {
            command.env("FAKE_PG_DUMP_FAIL", "1");
        }
        command.output().unwrap()
    };
    let read =
        |suffix: &str| std::fs::read_to_string(format!("{}.{suffix}", log.display())).unwrap();

    let to = dir.path().join("one.dump");
    let out = backup(
        &to,
        "postgres://backup:s3cr%40t@127.0.0.1:5432/livecredit?sslmode=disable",
        false,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only the password itself counts: the temporary folder's random name
    // may hold any short run of letters.
    let args = read("args");
    assert!(
        !args.contains("s3cr%40t") && !args.contains("s3cr@t"),
        "the password is on the command line: {args}"
    );
    assert!(
        args.lines()
            .any(|a| a == "--dbname=postgres://backup@127.0.0.1:5432/livecredit?sslmode=disable"),
        "{args}"
    );
    assert_eq!(read("password"), "s3cr@t");
    assert_eq!(std::fs::read_to_string(&to).unwrap(), "dump\n");
    assert_eq!(mode(&to), 0o600);

    // A password given as a query parameter is moved the same way.
    let to = dir.path().join("two.dump");
    let out = backup(
        &to,
        "postgres://backup@db/livecredit?password=pw%26x",
        false,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = read("args");
    assert!(
        !args.contains("pw%26x") && !args.contains("pw&x") && !args.contains("password="),
        "{args}"
    );
    assert_eq!(read("password"), "pw&x");

    // No password, no PGPASSWORD (libpq may take it from ~/.pgpass).
    let to = dir.path().join("three.dump");
    assert!(backup(&to, "postgres://backup@db/livecredit", false)
        .status
        .success());
    assert_eq!(read("password"), "unset");

    // A failed dump leaves no half-written file behind.
    let to = dir.path().join("four.dump");
    let out = backup(&to, "postgres://backup:pw@db/livecredit", true);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump failed"));
    assert!(!to.exists());

    // Without pg_dump, the error says where to run it.
    let out = Command::new(env!("CARGO_BIN_EXE_livecredit"))
        .args(["backup", "--to"])
        .arg(dir.path().join("five.dump"))
        .env("PATH", dir.path().join("nowhere"))
        .env("LIVECREDIT_DATABASE_URL", "postgres://backup@db/livecredit")
        .env("LIVECREDIT_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("postgres container"), "{stderr}");
}

fn database_url_text(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

/// Runs a CLI command against the test's database with a data folder of its
/// own: with `pepper` None, the command generates one there, as a command run
/// from the wrong directory would.
fn cli(
    app: &TestApp,
    data_dir: &std::path::Path,
    pepper: Option<&str>,
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_livecredit"));
    command
        .args(args)
        .env(
            "LIVECREDIT_DATABASE_URL",
            database_url_text(&app.database_url),
        )
        .env("LIVECREDIT_DATA_DIR", data_dir)
        .env_remove("LIVECREDIT_ID_PEPPER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(pepper) = pepper {
        command.env("LIVECREDIT_ID_PEPPER", pepper);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

async fn user_emails(app: &TestApp) -> Vec<String> {
    let r = app.get("/v1/users?limit=500", &app.admin_token).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn cli_commands_refuse_another_pepper(app: TestApp) {
    let wrong_dir = tempfile::tempdir().unwrap();
    let create = [
        "user",
        "create",
        "--email",
        "cli@livecredit.test",
        "--role",
        "auditor",
        "--password-stdin",
    ];
    let password = format!("{PASSWORD}\n");
    let out = cli(&app, wrong_dir.path(), None, &create, &password);
    assert!(!out.status.success(), "created with another pepper");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(OTHER_PEPPER), "{stderr}");
    assert!(!user_emails(&app)
        .await
        .contains(&"cli@livecredit.test".to_owned()));

    let out = cli(
        &app,
        wrong_dir.path(),
        None,
        &["demo-data", "--subjects", "5", "--password-stdin"],
        &password,
    );
    assert!(
        !out.status.success(),
        "demo data loaded with another pepper"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(OTHER_PEPPER));

    // Reading is allowed, with a warning.
    let out = cli(&app, wrong_dir.path(), None, &["audit", "verify"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(OTHER_PEPPER));

    // The service's own pepper is accepted.
    let out = cli(
        &app,
        wrong_dir.path(),
        Some(TEST_PEPPER),
        &create,
        &password,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(user_emails(&app)
        .await
        .contains(&"cli@livecredit.test".to_owned()));
}
both_backends!(
    cli_commands_refuse_another_pepper,
    cli_commands_refuse_another_pepper
);

/// The Docker image carries no pg_dump (`livecredit backup` cannot run in
/// it), so OPERATIONS.md must say to run pg_dump in the compose file's
/// postgres container, as that container's user and database.
#[test]
fn the_docker_image_and_the_backup_docs_agree() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dockerfile = std::fs::read_to_string(format!("{root}/Dockerfile")).unwrap();
    let runtime = dockerfile
        .rsplit_once("\nFROM ")
        .map(|(_, stage)| stage)
        .expect("a runtime stage");
    let carries_pg_dump = runtime.contains("postgresql-client");
    let operations = std::fs::read_to_string(format!("{root}/docs/OPERATIONS.md")).unwrap();
    let compose: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(format!("{root}/docker-compose.yml")).unwrap(),
    )
    .unwrap();
    let postgres = &compose["services"]["postgres"];
    assert!(postgres["image"]
        .as_str()
        .unwrap()
        .starts_with("postgres:16"));
    let user = postgres["environment"]["POSTGRES_USER"].as_str().unwrap();
    let database = postgres["environment"]["POSTGRES_DB"].as_str().unwrap();
    if carries_pg_dump {
        assert!(
            runtime.contains("postgresql-client-16") || runtime.contains("postgresql-client-17"),
            "pg_dump must be at the server's major version (16) or newer"
        );
        assert!(operations.contains("The livecredit image carries `pg_dump`"));
    } else {
        assert!(
            operations.contains("The livecredit image has **no `pg_dump`**"),
            "OPERATIONS.md must say the image has no pg_dump"
        );
        let command =
            format!("docker compose exec -T postgres pg_dump -U {user} --format=custom {database}");
        assert!(
            operations.contains(&command),
            "OPERATIONS.md must show `{command}`"
        );
    }
}
