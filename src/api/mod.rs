//! The HTTP API: one module per resource, the route table and the OpenAPI document.

pub mod audit;
pub mod auth;
pub mod evidence;
pub mod idempotency;
pub mod json;
pub mod listings;
pub mod ops;
pub mod organizations;
pub mod pagination;
pub mod params;
pub mod public;
pub mod reference;
pub mod repairs;
pub mod review;
pub mod scores;
pub mod screening;
pub mod subjects;
pub mod users;
pub mod violations;
pub mod watch;

use std::sync::OnceLock;

use actix_web::{web, HttpRequest, HttpResponse};
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
    // The requests platforms and the public send by the thousand come
    // first: the router tries resources in this order, and each patterned
    // one it passes costs a regular-expression match.
    cfg.service(screening::screen_one)
        .service(screening::screen_batch)
        .service(public::blacklist)
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(auth::login)
        .service(auth::refresh)
        .service(auth::logout)
        .service(auth::me)
        .service(organizations::create_organization)
        .service(organizations::list_organizations)
        .service(organizations::get_organization)
        .service(users::create_user)
        .service(users::list_users)
        .service(users::update_user)
        .service(subjects::create_subject)
        .service(subjects::list_subjects)
        .service(subjects::get_subject)
        .service(subjects::update_subject)
        .service(subjects::change_identifier)
        .service(subjects::add_relation)
        .service(subjects::list_relations)
        .service(subjects::end_relation)
        .service(violations::record_violation)
        .service(violations::list_violations)
        .service(violations::get_violation)
        .service(violations::revoke_violation)
        .service(violations::decide_penalty)
        .service(scores::get_score)
        .service(listings::propose_listing)
        .service(listings::list_listings)
        .service(listings::get_listing)
        .service(listings::serve_notice)
        .service(listings::lodge_objection)
        .service(listings::decide_listing)
        .service(listings::record_hearing)
        .service(listings::withdraw_hearing)
        .service(listings::give_consent)
        .service(listings::get_document)
        .service(review::list_review_flags)
        .service(review::clear_review_flag)
        .service(review::convert_review_flag)
        .service(reference::listing_grounds)
        .service(reference::measures)
        .service(listings::reissue_access_code)
        .service(repairs::apply_for_repair)
        .service(repairs::list_repairs)
        .service(repairs::get_repair)
        .service(repairs::answer_repair)
        .service(repairs::supplement_repair)
        .service(repairs::decide_repair)
        .service(repairs::extend_repair)
        .service(repairs::get_repair_decision)
        .service(repairs::portal_sign_in)
        .service(evidence::upload_evidence)
        .service(evidence::download_evidence)
        .service(listings::reinstate_listing)
        .service(listings::revoke_listing)
        .service(public::export)
        .service(public::snapshot)
        .service(public::signing_keys)
        .service(public::changes)
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

/// Requests no route took: a path of the API with a method it does not
/// have is a 405 naming the methods it has (`Allow`); anything else a 404.
/// Both are problem+json like everything else.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    match allowed_methods(req.path()) {
        Some(allow) => Err(ApiError::MethodNotAllowed { allow }),
        None => Err(ApiError::not_found("no such route")),
    }
}

/// The methods the document gives the path, as an `Allow` value; `None`
/// when the path is none of its paths (a `{parameter}` matches any one
/// non-empty segment).
fn allowed_methods(path: &str) -> Option<String> {
    static TABLE: OnceLock<Vec<(Vec<String>, String)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                let allow: Vec<&str> = methods
                    .iter()
                    .filter(|(_, has)| *has)
                    .map(|(name, _)| *name)
                    .collect();
                (
                    template.split('/').map(str::to_owned).collect(),
                    allow.join(", "),
                )
            })
            .collect()
    });
    let segments: Vec<&str> = path.split('/').collect();
    table
        .iter()
        .find(|(template, _)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty())
                })
        })
        .map(|(_, allow)| allow.clone())
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
                    // An operation that states its own (a file upload) keeps them.
                    responses
                        .entry("413".into())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name("PayloadTooLarge")));
                    responses.entry("415".into()).or_insert_with(|| {
                        RefOr::Ref(Ref::from_response_name("UnsupportedMediaType"))
                    });
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

/// Security stated on every operation: those that declare none are public,
/// and say so with an empty list (`security: []`) rather than by omission.
/// An operation with no 4xx of its own (the health, metrics, key and
/// snapshot reads take no input) still meets the server's generic refusals.
struct Explicit;

impl Modify for Explicit {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::ResponseBuilder;
        for item in openapi.paths.paths.values_mut() {
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
                op.security.get_or_insert_with(Vec::new);
                let responses = &mut op.responses.responses;
                if !responses.keys().any(|code| code.starts_with('4')) {
                    responses.insert(
                        "4XX".into(),
                        ResponseBuilder::new()
                            .description(
                                "A request refused before the operation runs \
                                 (a malformed request line or header)",
                            )
                            .into(),
                    );
                }
            }
        }
    }
}

/// Text the server refuses, as patterns: `json::parse_json` refuses every
/// control character but tab, CR and LF in any string of a body, and names
/// (`name`, `display_name`, `aliases`, `external_ref`) and the portal's
/// credentials (`notice_no`, `access_code`) refuse those too; a
/// text with a `minLength` must hold more than white space (it is trimmed).
mod text_patterns {
    pub const TEXT: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
    pub const TEXT_NOT_BLANK: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
    pub const NAME: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
    pub const NAME_NOT_BLANK: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
    pub const NAMES: [&str; 6] = [
        "name",
        "display_name",
        "aliases",
        "external_ref",
        "notice_no",
        "access_code",
    ];
    /// Lists of texts whose items are each 1 to so many characters: an
    /// alias as long as a name, a missing item of a repair as the service says.
    pub const ITEM_LENGTHS: [(&str, usize); 2] = [
        ("aliases", 200),
        ("missing", crate::service::repairs::MAX_MISSING_CHARS),
    ];
}

/// Puts the text patterns on every string of every request body that has
/// no pattern, format or enumeration of its own (the items of the lists in
/// `ITEM_LENGTHS` also get their lengths), so that generated clients refuse what the server does.
struct TextRules;

impl TextRules {
    fn request_schemas(doc: &serde_json::Value) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        let refs = |value: &serde_json::Value, out: &mut Vec<String>| {
            let text = value.to_string();
            for part in text.split("\"#/components/schemas/").skip(1) {
                if let Some(name) = part.split('"').next() {
                    out.push(name.to_owned());
                }
            }
        };
        if let Some(paths) = doc["paths"].as_object() {
            for item in paths.values() {
                for op in item.as_object().into_iter().flat_map(|o| o.values()) {
                    refs(&op["requestBody"], &mut pending);
                }
            }
        }
        while let Some(name) = pending.pop() {
            if names.contains(&name) {
                continue;
            }
            refs(&doc["components"]["schemas"][&name], &mut pending);
            names.push(name);
        }
        names
    }

    fn patch(property: &str, schema: &mut serde_json::Value) {
        use serde_json::{json, Value};
        let is_string = match &schema["type"] {
            Value::String(t) => t == "string",
            Value::Array(types) => types.iter().any(|t| t == "string"),
            _ => false,
        };
        if schema["type"] == "array"
            || schema["type"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "array"))
        {
            if let Some(items) = schema.get_mut("items") {
                Self::patch(property, items);
                let item_length = text_patterns::ITEM_LENGTHS
                    .iter()
                    .find(|(name, _)| *name == property);
                if let Some((_, max)) = item_length {
                    items["minLength"] = json!(1);
                    items["maxLength"] = json!(max);
                    items["pattern"] = json!(if text_patterns::NAMES.contains(&property) {
                        text_patterns::NAME_NOT_BLANK
                    } else {
                        text_patterns::TEXT_NOT_BLANK
                    });
                }
            }
            return;
        }
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        if !is_string
            || ["pattern", "format", "enum"]
                .iter()
                .any(|k| object.contains_key(*k))
        {
            return;
        }
        let not_blank = object.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0;
        let name = text_patterns::NAMES.contains(&property);
        let pattern = match (name, not_blank) {
            (true, true) => text_patterns::NAME_NOT_BLANK,
            (true, false) => text_patterns::NAME,
            (false, true) => text_patterns::TEXT_NOT_BLANK,
            (false, false) => text_patterns::TEXT,
        };
        object.insert("pattern".into(), json!(pattern));
    }
}

impl Modify for TextRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(mut doc) = serde_json::to_value(&*openapi) else {
            return;
        };
        for name in Self::request_schemas(&doc) {
            // `get_mut`, not indexing: indexing a missing member adds a null.
            let Some(properties) = doc
                .pointer_mut(&format!("/components/schemas/{name}/properties"))
                .and_then(serde_json::Value::as_object_mut)
            else {
                continue;
            };
            for (property, schema) in properties.iter_mut() {
                Self::patch(property, schema);
            }
        }
        // Parameters: no query text holds a control character, and an
        // Idempotency-Key is 1 to 255 visible ASCII characters.
        if let Some(paths) = doc
            .get_mut("paths")
            .and_then(serde_json::Value::as_object_mut)
        {
            let operations = paths
                .values_mut()
                .filter_map(serde_json::Value::as_object_mut)
                .flat_map(|item| item.values_mut());
            for operation in operations {
                let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(serde_json::Value::as_array_mut)
                else {
                    continue;
                };
                for parameter in parameters.iter_mut().filter_map(|p| p.as_object_mut()) {
                    let text = |key: &str| {
                        parameter
                            .get(key)
                            .and_then(|v| v.as_str())
                            .unwrap_or("")
                            .to_owned()
                    };
                    let (place, name) = (text("in"), text("name"));
                    if name == "Idempotency-Key" {
                        parameter.insert(
                            "schema".into(),
                            serde_json::json!({"type": "string", "minLength": 1,
                                "maxLength": 255, "pattern": "^[!-~]+$"}),
                        );
                    }
                    if place != "query" {
                        continue;
                    }
                    if let Some(schema) = parameter.get_mut("schema") {
                        Self::patch("name", schema);
                    }
                }
            }
        }
        // utoipa-gen 5.5 writes `` as
        // maxProperties; an update must change something (`{}` is refused).
        if let Some(update) = doc
            .pointer_mut("/components/schemas/UpdateUser")
            .and_then(serde_json::Value::as_object_mut)
        {
            update.remove("maxProperties");
            update.insert("minProperties".into(), serde_json::json!(1));
        }
        // The document was made by utoipa and only given keywords: it reads back.
        match serde_json::from_value(doc) {
            Ok(patched) => *openapi = patched,
            Err(e) => tracing::error!(error = %e, "the OpenAPI text rules could not be applied"),
        }
    }
}

/// An optional query parameter may be sent empty: it is then absent
/// (`api::params::Query`). OpenAPI says so with `allowEmptyValue`, which
/// utoipa has no field for (nor reads back: this runs after `TextRules`).
struct EmptyIsAbsent;

impl Modify for EmptyIsAbsent {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{extensions::Extensions, Required};
        for item in openapi.paths.paths.values_mut() {
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
                for parameter in op.parameters.iter_mut().flatten() {
                    if matches!(parameter.parameter_in, ParameterIn::Query)
                        && !matches!(parameter.required, Required::True)
                    {
                        parameter
                            .extensions
                            .get_or_insert_with(Extensions::default)
                            .insert("allowEmptyValue".into(), serde_json::Value::Bool(true));
                    }
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
        organizations::get_organization,
        users::create_user, users::list_users, users::update_user,
        subjects::create_subject, subjects::list_subjects, subjects::get_subject,
        subjects::update_subject, subjects::change_identifier,
        subjects::add_relation, subjects::list_relations, subjects::end_relation,
        violations::record_violation, violations::list_violations, violations::get_violation,
        violations::revoke_violation, violations::decide_penalty,
        scores::get_score,
        listings::propose_listing, listings::list_listings, listings::get_listing,
        listings::serve_notice, listings::lodge_objection, listings::record_hearing,
        listings::withdraw_hearing, listings::give_consent, listings::decide_listing,
        listings::get_document,
        review::list_review_flags, review::clear_review_flag, review::convert_review_flag,
        reference::listing_grounds, reference::measures,
        repairs::apply_for_repair, repairs::list_repairs, repairs::get_repair,
        repairs::answer_repair, repairs::supplement_repair, repairs::decide_repair,
        repairs::extend_repair, repairs::get_repair_decision,
        repairs::portal_sign_in, listings::reissue_access_code,
        evidence::upload_evidence, evidence::download_evidence,
        listings::reinstate_listing, listings::revoke_listing,
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
    servers((url = "/", description = "The server this document is served from")),
    modifiers(&BearerAuth, &CommonResponses, &Explicit, &TextRules, &EmptyIsAbsent),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "auth", description = "Login, token refresh and logout"),
        (name = "organizations", description = "Regulators, platforms and consumer associations (admins write; admins and auditors read)"),
        (name = "users", description = "Accounts and roles (admins write; admins and auditors read)"),
        (name = "subjects", description = "Anchors, merchants, live-room operators and MCNs, and their relations (regulators write; admins and auditors read)"),
        (name = "violations", description = "Violations: append-only, revocable with a reason"),
        (name = "listings", description = "The blacklist procedure: notice, objections, decision, reinstatement, revocation"),
        (name = "repairs", description = "Credit repair under SAMR Order 107: application (online by the subject, in person by a regulator), acceptance, supplement, decision and its document"),
        (name = "evidence", description = "Evidence files (PDF, JPEG, PNG, MP4 up to 10 MiB, told by content): uploaded by officials and by subjects in the portal, downloaded only as attachments"),
        (name = "portal", description = "The listed subject's sign-in with the notice's access code; a subject's token reads and acts on their own records only"),
        (name = "public", description = "The published blacklist: no login needed"),
        (name = "reference", description = "Reference data from the law (Order 44): listing grounds and measures; no login needed"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn request_texts_carry_the_rules_the_server_applies() {
        let doc: Value = serde_json::from_str(&openapi_json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let property = |schema: &str, name: &str| schemas[schema]["properties"][name].clone();
        assert_eq!(
            property("CreateOrganization", "name")["pattern"],
            text_patterns::NAME_NOT_BLANK
        );
        assert_eq!(
            property("CreateUser", "display_name")["pattern"],
            text_patterns::NAME
        );
        assert_eq!(
            property("RecordViolation", "description")["pattern"],
            text_patterns::TEXT_NOT_BLANK
        );
        assert_eq!(
            property("RecordViolation", "decision_no")["pattern"],
            text_patterns::TEXT
        );
        assert_eq!(
            property("CreateSubject", "aliases")["items"]["pattern"],
            text_patterns::NAME_NOT_BLANK
        );
        // Patterns of their own are kept.
        assert_eq!(
            property("CreateSubject", "id_number")["pattern"],
            "^[0-9]{17}[0-9Xx]$"
        );
        assert_eq!(property("CreateUser", "email")["format"], "email");
        assert!(property("CreateUser", "email").get("pattern").is_none());
        assert_eq!(schemas["UpdateUser"]["minProperties"], 1);
        assert!(schemas["UpdateUser"].get("maxProperties").is_none());
    }

    #[test]
    fn known_paths_list_their_methods() {
        assert_eq!(
            allowed_methods("/v1/subjects").as_deref(),
            Some("GET, POST")
        );
        assert_eq!(
            allowed_methods("/v1/subjects/x").as_deref(),
            Some("GET, PATCH")
        );
        assert_eq!(
            allowed_methods("/v1/repairs/x/decision").as_deref(),
            Some("POST")
        );
        assert_eq!(allowed_methods("/v1/subjects/"), None);
        assert_eq!(allowed_methods("/v1/subjects//violations"), None);
        assert_eq!(allowed_methods("/v1/nothing"), None);
    }
}
