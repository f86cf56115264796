//! Oversight in the console: auditors (and admins) read the audit log with
//! filters and verify its hash chain; admins keep the organization tree
//! (levels, parents) and the users (role, `can_approve`, disabling), which
//! auditors may read. Every read and write is the API's use case in
//! `service::audit` and `service::accounts`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::cases::{choice, FormError, Refusal};
use super::{posted, signed_in, Chrome, Staffer};
use crate::db::audit::{Filter, Verification};
use crate::db::DbConn;
use crate::domain::accounts::{OrganizationKind, OrganizationLevel, Role};
use crate::service::accounts::{
    self, CreateOrganization, CreateUser, OrganizationView, UpdateUser, UserView,
};
use crate::service::audit::{self, AuditEntryView};
use crate::service::page::{Page, PageRequest, MAX_LIMIT};
use crate::service::{roles, Actor, ServiceError, ServiceResult};
use crate::web::labels::{level_label, organization_kind_label, role_label};
use crate::web::session::{redirect, render, Ctx, Submitted};

/// The most organizations or users the admin page lists (a registry has a
/// few hundred bureaus and platforms; beyond this the page says so).
const MAX_ROWS: usize = 5_000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(audit_log))
        .route("/audit/verify", web::post().to(verify))
        .route("/admin", web::get().to(admin))
        .route("/admin/organizations", web::post().to(create_organization))
        .route("/admin/users", web::post().to(create_user))
        .route("/admin/users/{id}", web::post().to(update_user));
}

// ---- the audit log ----

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    filter: AuditQuery,
    entries: Vec<AuditEntryView>,
    /// The link to the next page, with the filters.
    next: Option<String>,
    verification: Option<Verification>,
    error: Option<FormError>,
}

impl Refusal for AuditPage {
    fn refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
}

#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default)]
struct AuditQuery {
    action: String,
    actor: String,
    target_type: String,
    target_id: String,
    #[serde(skip_serializing)]
    cursor: String,
}

impl AuditQuery {
    fn filter(&self) -> Filter {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Filter {
            action: given(&self.action),
            actor: given(&self.actor),
            target_type: given(&self.target_type),
            target_id: given(&self.target_id),
        }
    }
}

async fn audit_log(ctx: Ctx) -> HttpResponse {
    let staffer = match signed_in(&ctx, roles::AUDIT_READERS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let query = web::Query::<AuditQuery>::from_query(ctx.req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    audit_page(ctx, staffer, query, None).await
}

async fn audit_page(
    ctx: Ctx,
    mut staffer: Staffer,
    query: AuditQuery,
    verification: Option<Verification>,
) -> HttpResponse {
    let (actor, filter) = (staffer.actor(), query.filter());
    let cursor = Some(query.cursor.clone()).filter(|c| !c.is_empty());
    let found = ctx
        .db
        .run(move |conn| audit::list(conn, &actor, &filter, Some(100), cursor.as_deref()))
        .await;
    let (entries, next, error) = match found {
        Ok(page) => {
            let next = page.next_cursor.map(|cursor| {
                let mut q = serde_urlencoded::to_string(&query).unwrap_or_default();
                q.push_str("&cursor=");
                q.push_str(&cursor);
                format!("/console/audit?{q}")
            });
            (page.items, next, None)
        }
        // A filter the service refuses comes back beside its input.
        Err(e) => (
            Vec::new(),
            None,
            Some(FormError {
                form: "filter",
                problem: e.into(),
                values: Submitted::default(),
            }),
        ),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.problem.status);
    let page = AuditPage {
        chrome: staffer.chrome(&ctx, "audit"),
        filter: query,
        entries,
        next,
        verification,
        error,
    };
    staffer.page(status, render(page))
}

async fn verify(ctx: Ctx, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = Submitted::of(form.into_inner());
    let staffer = match posted(&ctx, &form.text("csrf"), roles::AUDIT_READERS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let actor = staffer.actor();
    match ctx.db.run(move |conn| audit::verify(conn, &actor)).await {
        Ok(verdict) => audit_page(ctx, staffer, AuditQuery::default(), Some(verdict)).await,
        Err(e) => staffer.problem(e.into()),
    }
}

// ---- organizations and users ----

/// One organization in the tree: its depth below the roots, and its users.
struct OrgRow {
    org: OrganizationView,
    depth: usize,
    parent_name: Option<String>,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct AdminPage {
    chrome: Chrome,
    may_change: bool,
    orgs: Vec<OrgRow>,
    users: Vec<UserView>,
    names: HashMap<String, String>,
    /// The lists were cut at [`MAX_ROWS`].
    truncated: bool,
    roles: Vec<(&'static str, (&'static str, &'static str))>,
    kinds: Vec<(&'static str, (&'static str, &'static str))>,
    levels: Vec<(&'static str, (&'static str, &'static str))>,
    error: Option<FormError>,
}

impl Refusal for AdminPage {
    fn refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
}

impl AdminPage {
    fn kind_label(&self, kind: &OrganizationKind) -> (&'static str, &'static str) {
        organization_kind_label(*kind)
    }

    fn level_label(&self, level: &OrganizationLevel) -> (&'static str, &'static str) {
        level_label(*level)
    }

    fn role_label(&self, role: &Role) -> (&'static str, &'static str) {
        role_label(*role)
    }

    fn org_name(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }
}

/// Every row of a paged list, up to [`MAX_ROWS`]; `true` when cut.
fn all_of<T>(
    conn: &mut DbConn,
    actor: &Actor,
    list: fn(&mut DbConn, &Actor, &PageRequest) -> ServiceResult<Page<T>>,
) -> ServiceResult<(Vec<T>, bool)> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = PageRequest::parse(Some(MAX_LIMIT), cursor.as_deref())?;
        let got = list(conn, actor, &page)?;
        rows.extend(got.items);
        match got.next_cursor {
            Some(next) if rows.len() < MAX_ROWS => cursor = Some(next),
            Some(_) => return Ok((rows, true)),
            None => return Ok((rows, false)),
        }
    }
}

/// Organizations in tree order: each parent followed by its children.
fn tree(orgs: Vec<OrganizationView>) -> Vec<OrgRow> {
    let names: HashMap<String, String> = orgs
        .iter()
        .map(|o| (o.id.clone(), o.name.clone()))
        .collect();
    let mut children: HashMap<Option<String>, Vec<OrganizationView>> = HashMap::new();
    for org in orgs {
        // A parent not in the list (cut) makes its children roots.
        let parent = org.parent_id.clone().filter(|p| names.contains_key(p));
        children.entry(parent).or_default().push(org);
    }
    let mut rows = Vec::new();
    let mut stack: Vec<(OrganizationView, usize)> = children
        .remove(&None)
        .unwrap_or_default()
        .into_iter()
        .rev()
        .map(|o| (o, 0))
        .collect();
    while let Some((org, depth)) = stack.pop() {
        if let Some(kids) = children.remove(&Some(org.id.clone())) {
            stack.extend(kids.into_iter().rev().map(|o| (o, depth + 1)));
        }
        rows.push(OrgRow {
            parent_name: org.parent_id.as_ref().and_then(|p| names.get(p).cloned()),
            org,
            depth,
        });
    }
    rows
}

async fn admin(ctx: Ctx) -> HttpResponse {
    match signed_in(&ctx, roles::OVERSEERS).await {
        Ok(staffer) => admin_page(ctx, staffer, None).await,
        Err(response) => response,
    }
}

async fn admin_page(ctx: Ctx, mut staffer: Staffer, error: Option<FormError>) -> HttpResponse {
    let actor = staffer.actor();
    let found = ctx
        .db
        .run(move |conn| {
            let (orgs, cut_orgs) = all_of(conn, &actor, accounts::list_organizations)?;
            let (users, cut_users) = all_of(conn, &actor, accounts::list_users)?;
            Ok::<_, ServiceError>((orgs, users, cut_orgs || cut_users))
        })
        .await;
    let (orgs, users, truncated) = match found {
        Ok(found) => found,
        Err(e) => return staffer.problem(e.into()),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.problem.status);
    let page = AdminPage {
        chrome: staffer.chrome(&ctx, "admin"),
        may_change: staffer.role == Role::Admin,
        names: orgs
            .iter()
            .map(|o| (o.id.clone(), o.name.clone()))
            .collect(),
        orgs: tree(orgs),
        users,
        truncated,
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), role_label(*r)))
            .collect(),
        kinds: OrganizationKind::ALL
            .iter()
            .map(|k| (k.as_str(), organization_kind_label(*k)))
            .collect(),
        levels: OrganizationLevel::ALL
            .iter()
            .map(|l| (l.as_str(), level_label(*l)))
            .collect(),
        error,
    };
    staffer.page(status, render(page))
}

/// Runs an admin's form: the input parsed from the form, then the use case;
/// success goes back to the admin page, a refusal shows beside the form.
async fn admin_form<T: Send + 'static>(
    ctx: Ctx,
    form: Submitted,
    key: &'static str,
    input: impl FnOnce(&Submitted) -> Result<T, ServiceError>,
    run: impl FnOnce(&mut DbConn, &Actor, T) -> ServiceResult<()> + Send + 'static,
) -> HttpResponse {
    let staffer = match posted(&ctx, &form.text("csrf"), roles::ADMINS).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let actor = staffer.actor();
    let result = match input(&form) {
        Ok(input) => ctx.db.write(move |conn| run(conn, &actor, input)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => staffer.finish(redirect(&format!("/console/admin?done={key}#{key}"))),
        Err(e) => {
            let error = FormError {
                form: key,
                problem: e.into(),
                values: form,
            };
            admin_page(ctx, staffer, Some(error)).await
        }
    }
}

async fn create_organization(ctx: Ctx, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = Submitted::of(form.into_inner());
    let input = |form: &Submitted| -> Result<CreateOrganization, ServiceError> {
        Ok(CreateOrganization {
            name: form.text("name"),
            kind: choice("kind", &form.text("kind"))?,
            region_code: form.optional("region_code"),
            level: form
                .optional("level")
                .map(|l| choice("level", &l))
                .transpose()?,
            parent_id: form.optional("parent_id"),
        })
    };
    admin_form(ctx, form, "organization", input, |conn, actor, input| {
        accounts::create_organization(conn, actor, input).map(drop)
    })
    .await
}

async fn create_user(ctx: Ctx, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = Submitted::of(form.into_inner());
    let input = |form: &Submitted| -> Result<CreateUser, ServiceError> {
        Ok(CreateUser {
            email: form.text("email"),
            password: form.text("password"),
            role: choice("role", &form.text("role"))?,
            organization_id: form.text("organization_id"),
            display_name: form.optional("display_name"),
            can_approve: form.has("can_approve"),
        })
    };
    // Argon2 runs on the database's blocking thread with the insert.
    admin_form(ctx, form, "user", input, |conn, actor, input| {
        let user = input.into_user()?;
        accounts::create_user(conn, actor, &user, None).map(drop)
    })
    .await
}

async fn update_user(
    ctx: Ctx,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (id, form) = (path.into_inner(), Submitted::of(form.into_inner()));
    let input = |form: &Submitted| -> Result<UpdateUser, ServiceError> {
        Ok(UpdateUser {
            role: Some(choice("role", &form.text("role"))?),
            disabled: Some(form.has("disabled")),
            can_approve: Some(form.has("can_approve")),
        })
    };
    admin_form(
        ctx,
        form,
        "user-change",
        input,
        move |conn, actor, change| accounts::update_user(conn, actor, &id, change).map(drop),
    )
    .await
}
