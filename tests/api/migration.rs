//! Upgrading a registry to procedure v2 (CONTRACT §6.2): records made before
//! migrate as effective penalties with no kinds recorded, nothing is lost,
//! and a listing in force stays in force — on both backends.

use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use livecredit::db::{Db, DbConn, PG_MIGRATIONS, SQLITE_MIGRATIONS};
use reqwest::Method;

use crate::helpers::*;

/// Applies every migration before procedure v2, one by one.
fn migrate_to_v1<DB: diesel::backend::Backend>(
    conn: &mut impl MigrationHarness<DB>,
    source: impl MigrationSource<DB>,
) {
    // Asking for the pending ones sets up diesel's migrations table.
    for migration in conn
        .pending_migrations(source)
        .expect("the embedded migrations")
    {
        if migration.name().to_string().contains("procedure_v2") {
            break;
        }
        conn.run_migration(&migration).expect("a v1 migration");
    }
}

/// A regulator, an anchor with one penalty, and a listing in force on it,
/// written as v1 wrote them.
const V1_ROWS: &[&str] = &[
    "INSERT INTO organizations (id, name, kind, region_code, created_at) VALUES ('00000000-0000-7000-8000-0000000000a1', '杭州市市场监督管理局', 'regulator', '330100', '2025-01-01 00:00:00')",
    "INSERT INTO users (id, email, password_hash, role, organization_id, display_name, disabled, created_at, updated_at) VALUES ('00000000-0000-7000-8000-0000000000b1', 'v1@livecredit.test', 'x', 'regulator', '00000000-0000-7000-8000-0000000000a1', NULL, FALSE, '2025-01-01 00:00:00', '2025-01-01 00:00:00')",
    "INSERT INTO subjects (id, kind, name, region_code, created_by, created_at, updated_at, score, band, score_as_of, policy_version) VALUES ('00000000-0000-7000-8000-0000000000c1', 'anchor', '旧数据主播', '330106', '00000000-0000-7000-8000-0000000000b1', '2026-05-01 00:00:00', '2026-05-01 00:00:00', 82.0, 'B', '2026-05-01', 1)",
    "INSERT INTO violations (id, subject_id, category, severity, decided_on, description, decision_no, fine_cents, legal_basis, status, recorded_by, authority_id, recorded_at) VALUES ('00000000-0000-7000-8000-0000000000d1', '00000000-0000-7000-8000-0000000000c1', 'false_advertising', 'serious', '2026-05-01', '虚假宣传', '杭市监处罚〔2026〕1号', 5000000, NULL, 'effective', '00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1', '2026-05-01 10:00:00')",
    "INSERT INTO listings (id, subject_id, status, reason, legal_basis, proposed_by, authority_id, noticed_by, served_on, objection_deadline, decided_by, decided_on, listed_on, expires_on, created_at, updated_at) VALUES ('00000000-0000-7000-8000-0000000000e1', '00000000-0000-7000-8000-0000000000c1', 'listed', '多次虚假宣传', '《市场监督管理严重违法失信名单管理办法》', '00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1', '00000000-0000-7000-8000-0000000000b1', '2026-05-02', '2026-05-11', '00000000-0000-7000-8000-0000000000b1', '2026-05-20', '2026-05-20', '2029-05-20', '2026-05-02 10:00:00', '2026-05-20 10:00:00')",
    "INSERT INTO listing_violations (listing_id, violation_id) VALUES ('00000000-0000-7000-8000-0000000000e1', '00000000-0000-7000-8000-0000000000d1')",
];

fn seed_v1(settings: &mut livecredit::config::Settings) {
    let db = Db::open(&settings.database_url, 1).expect("open");
    let mut pooled = db.conn().expect("connect");
    let conn: &mut DbConn = &mut pooled;
    match conn {
        DbConn::Pg(c) => {
            migrate_to_v1(c, PG_MIGRATIONS);
            for sql in V1_ROWS {
                diesel::sql_query(*sql).execute(c).expect(sql);
            }
        }
        DbConn::Sqlite(c) => {
            migrate_to_v1(c, SQLITE_MIGRATIONS);
            for sql in V1_ROWS {
                diesel::sql_query(*sql).execute(c).expect(sql);
            }
        }
    }
}

async fn records_made_before_v2_keep_their_meaning(backend: Backend) {
    let Some(app) = spawn_app_with(backend, seed_v1).await else {
        return;
    };
    let (_, reader) = app.user_with_role("auditor").await;
    let v = app
        .get(
            "/v1/violations/00000000-0000-7000-8000-0000000000d1",
            &reader,
        )
        .await;
    assert_eq!(v.status, 200, "{:?}", v.body);
    assert_eq!(v.body["status"], "effective");
    assert_eq!(v.body["decided_on"], "2026-05-01");
    assert_eq!(v.body["decision_no"], "杭市监处罚〔2026〕1号");
    assert_eq!(v.body["fine_cents"], 5000000);
    assert_eq!(v.body["penalty_kinds"], serde_json::json!([]));
    assert_eq!(v.body["heavier_penalty"], false);
    assert!(v.body["listing_ground"].is_null());
    let l = app
        .get("/v1/listings/00000000-0000-7000-8000-0000000000e1", &reader)
        .await;
    assert_eq!(l.body["status"], "listed", "{:?}", l.body);
    assert_eq!(l.body["expires_on"], "2029-05-20");
    assert_eq!(l.body["published_on"], "2026-05-20");
    assert_eq!(
        l.body["authority_id"],
        "00000000-0000-7000-8000-0000000000a1"
    );
    let public = app
        .call(Method::GET, "/v1/public/blacklist", None, None)
        .await;
    let entry = &public.body["items"][0];
    assert_eq!(entry["listing_id"], "00000000-0000-7000-8000-0000000000e1");
    assert_eq!(entry["authority"], "杭州市市场监督管理局");
    assert!(entry["decision_no"].is_null());
    // The organization has no level recorded: it decides without a parent's consent.
    let org = app
        .get(
            "/v1/organizations/00000000-0000-7000-8000-0000000000a1",
            &reader,
        )
        .await;
    assert!(org.body["level"].is_null(), "{:?}", org.body);
}

mod records_made_before_v2_keep_their_meaning {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        records_made_before_v2_keep_their_meaning(Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        records_made_before_v2_keep_their_meaning(Backend::Postgres).await;
    }
}
