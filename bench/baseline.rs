//! The benchmark baseline: the smallest actix-web + diesel service that
//! answers one indexed single-row lookup as JSON, against livecredit's own
//! database. `bench/run.sh` reports livecredit's throughput as a ratio to it.
//!
//! `GET /subjects/by-id-hash/{hash}` → `{"id","name","band"}` or 404.
//! Configured like livecredit: `LIVECREDIT_DATABASE_URL`, `LIVECREDIT_BIND`,
//! `LIVECREDIT_DB_POOL_SIZE`.

use actix_web::{get, web, App, HttpResponse, HttpServer};
use diesel::prelude::*;
use livecredit::config::DatabaseUrl;
use livecredit::db::schema::subjects;
use livecredit::db::Db;

#[get("/subjects/by-id-hash/{hash}")]
async fn lookup(db: web::Data<Db>, hash: web::Path<String>) -> HttpResponse {
    let hash = hash.into_inner();
    let row = db
        .run(move |conn| -> Result<_, livecredit::db::DbError> {
            Ok(subjects::table
                .filter(subjects::id_number_hash.eq(hash))
                .select((subjects::id, subjects::name, subjects::band))
                .first::<(String, String, String)>(conn)
                .optional()?)
        })
        .await;
    match row {
        Ok(Some((id, name, band))) => {
            HttpResponse::Ok().json(serde_json::json!({"id": id, "name": name, "band": band}))
        }
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(
        &std::env::var("LIVECREDIT_DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://data/livecredit.db".into()),
    )?;
    let bind = std::env::var("LIVECREDIT_BIND").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let pool_size = std::env::var("LIVECREDIT_DB_POOL_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let db = web::Data::new(Db::open(&url, pool_size)?);
    let server =
        HttpServer::new(move || App::new().app_data(db.clone()).service(lookup)).bind(&bind)?;
    eprintln!("baseline listening on http://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}
