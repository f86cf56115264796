//! The HTTP API: one module per resource, the route table and the OpenAPI document.

pub mod audit;
pub mod auth;
pub mod idempotency;
pub mod json;
pub mod listings;
pub mod ops;
pub mod organizations;
pub mod pagination;
pub mod public;
pub mod scores;
pub mod screening;
pub mod subjects;
pub mod users;
pub mod violations;
pub mod watch;

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::error::{ApiError, Problem};

macro_rules! problem_response {
    ($name:ident, $description:literal) => {
        #[derive(ToResponse)]
        #[response(description = $description, content_type = "application/problem+json")]
        pub struct $name(#[allow(dead_code)] Problem);
    };
}

problem_response!(
    BadRequest,
    "Malformed request (not JSON, or not the JSON expected)"
);
problem_response!(Unauthorized, "No token, or a bad, expired or revoked one");
problem_response!(Forbidden, "The caller's role may not do this");
problem_response!(NotFound, "No such resource (or not visible to the caller)");
problem_response!(
    Conflict,
    "Conflicts with the current state (a duplicate, or a transition not allowed now)"
);
problem_response!(
    Unprocessable,
    "Validation failed; `errors` names each offending field"
);
problem_response!(
    TooManyRequests,
    "Rate limited; retry after the `Retry-After` seconds"
);
problem_response!(PayloadTooLarge, "The body is larger than 2 MiB");
problem_response!(
    UnsupportedMediaType,
    "The body is not sent as `application/json`"
);
problem_response!(
    ServiceUnavailable,
    "The database is unavailable; retry after the `Retry-After` seconds"
);

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(auth::login)
        .service(auth::refresh)
        .service(auth::logout)
        .service(auth::me)
        .service(organizations::create_organization)
        .service(organizations::list_organizations)
        .service(users::create_user)
        .service(users::list_users)
        .service(users::update_user)
        .service(subjects::create_subject)
        .service(subjects::list_subjects)
        .service(subjects::get_subject)
        .service(subjects::update_subject)
        .service(subjects::change_identifier)
        .service(violations::record_violation)
        .service(violations::list_violations)
        .service(violations::get_violation)
        .service(violations::revoke_violation)
        .service(scores::get_score)
        .service(listings::propose_listing)
        .service(listings::list_listings)
        .service(listings::get_listing)
        .service(listings::serve_notice)
        .service(listings::lodge_objection)
        .service(listings::decide_listing)
        .service(listings::apply_for_repair)
        .service(listings::decide_repair)
        .service(listings::reinstate_listing)
        .service(listings::revoke_listing)
        .service(public::blacklist)
        .service(public::export)
        .service(public::snapshot)
        .service(public::signing_keys)
        .service(public::changes)
        .service(screening::screen_one)
        .service(screening::screen_batch)
        .service(screening::list_screenings)
        .service(screening::get_screening)
        .service(watch::add_watch)
        .service(watch::list_watches)
        .service(watch::remove_watch)
        .service(watch::list_events)
        .service(watch::create_webhook)
        .service(watch::list_webhooks)
        .service(watch::delete_webhook)
        .service(watch::list_deliveries)
        .service(audit::list_audit)
        .service(audit::verify_audit);
}

/// Unknown routes get a problem+json 404 like everything else.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such route"))
}

/// Answers every operation can give, added to the document in one place:
/// 413 and 415 wherever a body is taken, 503 wherever the database is read.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr};
        for (path, item) in openapi.paths.paths.iter_mut() {
            let uses_database = path.starts_with("/v1/") || path == "/readyz";
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut op.responses.responses;
                if op.request_body.is_some() {
                    responses.insert(
                        "413".into(),
                        RefOr::Ref(Ref::from_response_name("PayloadTooLarge")),
                    );
                    responses.insert(
                        "415".into(),
                        RefOr::Ref(Ref::from_response_name("UnsupportedMediaType")),
                    );
                }
                if uses_database {
                    responses.entry("503".into()).or_insert_with(|| {
                        RefOr::Ref(Ref::from_response_name("ServiceUnavailable"))
                    });
                }
            }
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        scheme.description =
            Some("Access token from `POST /v1/auth/login` (HS256, 15 minutes).".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "livecredit",
        description = "The credit blacklist registry for live-stream selling: regulators record violations and run the listing procedure; platforms screen anchors and merchants; the public reads the blacklist.\n\nErrors are `application/problem+json` (RFC 9457). Lists take `limit` and `cursor` and return `{items, next_cursor}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics,
        auth::login, auth::refresh, auth::logout, auth::me,
        organizations::create_organization, organizations::list_organizations,
        users::create_user, users::list_users, users::update_user,
        subjects::create_subject, subjects::list_subjects, subjects::get_subject,
        subjects::update_subject, subjects::change_identifier,
        violations::record_violation, violations::list_violations, violations::get_violation,
        violations::revoke_violation,
        scores::get_score,
        listings::propose_listing, listings::list_listings, listings::get_listing,
        listings::serve_notice, listings::lodge_objection, listings::decide_listing,
        listings::apply_for_repair, listings::decide_repair, listings::reinstate_listing,
        listings::revoke_listing,
        audit::list_audit, audit::verify_audit,
        public::blacklist, public::export, public::snapshot, public::signing_keys, public::changes,
        screening::screen_one, screening::screen_batch, screening::list_screenings, screening::get_screening,
        watch::add_watch, watch::list_watches, watch::remove_watch, watch::list_events,
        watch::create_webhook, watch::list_webhooks, watch::delete_webhook, watch::list_deliveries,
    ),
    components(
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, TooManyRequests,
            PayloadTooLarge, UnsupportedMediaType, ServiceUnavailable),
        schemas(public::ExportFormat, crate::domain::procedure::Status, crate::domain::registry::SubjectKind),
    ),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "auth", description = "Login, token refresh and logout"),
        (name = "organizations", description = "Regulators, platforms and consumer associations (admins write; admins and auditors read)"),
        (name = "users", description = "Accounts and roles (admins write; admins and auditors read)"),
        (name = "subjects", description = "Anchors and merchants (regulators write; admins and auditors read)"),
        (name = "violations", description = "Violations: append-only, revocable with a reason"),
        (name = "listings", description = "The blacklist procedure: notice, objections, decision, credit repair, revocation"),
        (name = "public", description = "The published blacklist: no login needed"),
        (name = "screening", description = "Screening anchors and merchants before onboarding (platforms screen; admins and auditors read every platform's history)"),
        (name = "watchlist", description = "Watched subjects and their events (platforms; admins and auditors read every platform's)"),
        (name = "webhooks", description = "Signed event deliveries (platforms; admins and auditors read every platform's, never a secret)"),
        (name = "audit", description = "The hash-chained audit log (auditors, admins)"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document as served and as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
