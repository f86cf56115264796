//! Settings read once from the environment and passed down (no global state).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rand::RngCore;

use crate::domain::screening::SCREENING_RECORD_DAYS;

/// Which database a URL points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path (relative to the working directory, or absolute).
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!("LIVECREDIT_DATABASE_URL: sqlite:// needs a file path, e.g. sqlite://data/livecredit.db");
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            bail!(
                "LIVECREDIT_DATABASE_URL must start with sqlite:// or postgres:// (got {:?})",
                redact(url)
            )
        }
    }

    /// Where it points, without credentials or parameters: for logs and metrics.
    pub fn label(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
                rest.split('?').next().unwrap_or(rest).to_owned()
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Hides a password in a URL before it reaches a log line or an error.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A PostgreSQL URL without its password, and the password (percent-decoded),
/// whether it sat in the user info (`postgres://u:PASSWORD@h/db`) or in the
/// query (`?password=…`, which libpq accepts too). `livecredit backup` hands
/// the password to pg_dump in `PGPASSWORD`, never on its command line, where
/// any local user could read it with `ps`.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let Some(authority_start) = url.find("://").map(|i| i + 3) else {
        return (url.to_owned(), None);
    };
    let rest = &url[authority_start..];
    let authority_end = authority_start + rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &url[authority_start..authority_end];
    let mut password = None;
    let mut stripped = url.to_owned();
    if let Some(at) = authority.rfind('@') {
        if let Some(colon) = authority[..at].find(':') {
            password = Some(decode(&authority[colon + 1..at]));
            stripped = format!(
                "{}{}",
                &url[..authority_start + colon],
                &url[authority_start + at..]
            );
        }
    }
    if let Some(question) = stripped.find('?') {
        let (base, query) = stripped.split_at(question);
        let (query, fragment) = query[1..]
            .split_once('#')
            .map_or((&query[1..], None), |(q, f)| (q, Some(f)));
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.strip_prefix("password=") {
                Some(value) => password = Some(decode(value)),
                None => kept.push(pair),
            }
        }
        let mut rebuilt = base.to_owned();
        if !kept.is_empty() {
            rebuilt.push('?');
            rebuilt.push_str(&kept.join("&"));
        }
        if let Some(fragment) = fragment {
            rebuilt.push('#');
            rebuilt.push_str(fragment);
        }
        stripped = rebuilt;
    }
    (stripped, password)
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    /// PostgreSQL standbys of the primary for public reads and screening.
    pub database_read_urls: Vec<DatabaseUrl>,
    /// A replica further behind the primary than this serves no reads.
    pub read_max_lag: std::time::Duration,
    /// How often background upkeep (expiries, score decay, key purge) runs.
    pub upkeep_every: std::time::Duration,
    pub bind: String,
    pub data_dir: PathBuf,
    /// Where evidence files are kept (content-addressed); default `data_dir/evidence`.
    pub evidence_dir: PathBuf,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub jwt_secret: Secret,
    pub id_pepper: Secret,
    pub calendar_path: Option<PathBuf>,
    pub rate_limit_per_org: u32,
    /// Requests per second per client address over the public endpoints and
    /// the public web page (burst 2×); 0: off.
    pub public_rate_limit: u32,
    /// Full resident-ID queries of the public search per client address per hour; 0: off.
    pub public_id_queries_per_hour: u32,
    /// Screening records older than this many days are purged; 0: kept forever.
    pub screening_retention_days: u32,
    pub webhook_allow_private: bool,
    /// Browser session cookies (the portal) carry `Secure`; false only for
    /// plain-HTTP local use (`LIVECREDIT_COOKIE_SECURE=false`).
    pub cookie_secure: bool,
    /// Largest number of pooled database connections.
    pub db_pool_size: u32,
    /// Hex Ed25519 seed that signs snapshots; unset: keys in the data folder.
    pub signing_key: Option<String>,
    /// Browser origins allowed to call the API cross-origin; empty: none (closed).
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for login throttling).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// A secret byte string whose `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database_url.backend_name())
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("evidence_dir", &self.evidence_dir)
            .finish_non_exhaustive()
    }
}

/// Reads one variable; empty counts as unset.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A whole number from `name`, or `default` when unset.
fn whole_number(name: &str, default: u32) -> anyhow::Result<u32> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{name} must be a whole number (got {v:?})")),
    }
}

fn parse_bool(name: &str, value: Option<String>, default: bool) -> anyhow::Result<bool> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => bail!("{name} must be true or false (got {other:?})"),
    }
}

impl Settings {
    /// Reads the environment. Secrets that are not configured are generated
    /// once and kept in the data folder (see [`load_or_create_secret`]).
    pub fn from_env() -> anyhow::Result<Self> {
        let database_url = DatabaseUrl::parse(
            &var("LIVECREDIT_DATABASE_URL").unwrap_or_else(|| "sqlite://data/livecredit.db".into()),
        )?;
        let data_dir = PathBuf::from(var("LIVECREDIT_DATA_DIR").unwrap_or_else(|| "data".into()));
        let jwt_secret = match var("LIVECREDIT_JWT_SECRET") {
            Some(s) if s.len() < 32 => bail!("LIVECREDIT_JWT_SECRET must be at least 32 bytes"),
            Some(s) => Secret::new(s.into_bytes()),
            None => load_or_create_secret(&data_dir, "jwt-secret", "LIVECREDIT_JWT_SECRET")?,
        };
        let id_pepper = match var("LIVECREDIT_ID_PEPPER") {
            Some(s) if s.len() < 32 => bail!("LIVECREDIT_ID_PEPPER must be at least 32 bytes"),
            Some(s) => Secret::new(s.into_bytes()),
            None => load_or_create_secret(&data_dir, "id-pepper", "LIVECREDIT_ID_PEPPER")?,
        };
        let rate_limit_per_org = whole_number("LIVECREDIT_RATE_LIMIT_PER_ORG", 100)?;
        let public_rate_limit = whole_number("LIVECREDIT_PUBLIC_RATE_LIMIT", 20)?;
        let public_id_queries_per_hour = whole_number("LIVECREDIT_PUBLIC_ID_QUERIES_PER_HOUR", 20)?;
        let screening_retention_days =
            whole_number("LIVECREDIT_SCREENING_RETENTION_DAYS", SCREENING_RECORD_DAYS)?;
        if (1..SCREENING_RECORD_DAYS).contains(&screening_retention_days) {
            tracing::warn!(
                days = screening_retention_days,
                "LIVECREDIT_SCREENING_RETENTION_DAYS is below the 3 years (1095 days) for which \
                 Order 117 has platforms' checks kept"
            );
        }
        let db_pool_size = match var("LIVECREDIT_DB_POOL_SIZE") {
            None => 16,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| {
                    format!("LIVECREDIT_DB_POOL_SIZE must be a positive number (got {v:?})")
                })?,
        };
        let database_read_urls = match var("LIVECREDIT_DATABASE_READ_URL") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| match DatabaseUrl::parse(u) {
                    Ok(url @ DatabaseUrl::Postgres(_)) => Ok(url),
                    _ => bail!(
                        "LIVECREDIT_DATABASE_READ_URL: each URL must be a postgres:// URL (got {:?})",
                        redact(u)
                    ),
                })
                .collect::<anyhow::Result<_>>()?,
        };
        if !database_read_urls.is_empty() && !matches!(database_url, DatabaseUrl::Postgres(_)) {
            bail!("LIVECREDIT_DATABASE_READ_URL needs a PostgreSQL LIVECREDIT_DATABASE_URL (replicas are PostgreSQL standbys)");
        }
        let read_max_lag = match var("LIVECREDIT_DATABASE_READ_MAX_LAG_MS") {
            None => std::time::Duration::from_secs(2),
            Some(v) => std::time::Duration::from_millis(v.trim().parse().with_context(|| {
                format!("LIVECREDIT_DATABASE_READ_MAX_LAG_MS must be a whole number of milliseconds (got {v:?})")
            })?),
        };
        let upkeep_every = match var("LIVECREDIT_UPKEEP_SECONDS") {
            None => std::time::Duration::from_secs(60),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(std::time::Duration::from_secs)
                .with_context(|| {
                    format!("LIVECREDIT_UPKEEP_SECONDS must be a positive number of seconds (got {v:?})")
                })?,
        };
        let evidence_dir = var("LIVECREDIT_EVIDENCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("evidence"));
        Ok(Self {
            database_url,
            database_read_urls,
            read_max_lag,
            upkeep_every,
            bind: var("LIVECREDIT_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            data_dir,
            evidence_dir,
            admin_email: var("LIVECREDIT_ADMIN_EMAIL"),
            admin_password: var("LIVECREDIT_ADMIN_PASSWORD"),
            jwt_secret,
            id_pepper,
            calendar_path: var("LIVECREDIT_CALENDAR").map(PathBuf::from),
            rate_limit_per_org,
            public_rate_limit,
            public_id_queries_per_hour,
            screening_retention_days,
            webhook_allow_private: parse_bool(
                "LIVECREDIT_WEBHOOK_ALLOW_PRIVATE",
                var("LIVECREDIT_WEBHOOK_ALLOW_PRIVATE"),
                false,
            )?,
            cookie_secure: parse_bool(
                "LIVECREDIT_COOKIE_SECURE",
                var("LIVECREDIT_COOKIE_SECURE"),
                true,
            )?,
            db_pool_size,
            signing_key: var("LIVECREDIT_SIGNING_KEY"),
            trusted_proxies: match var("LIVECREDIT_TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(v) => v
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        p.parse().with_context(|| {
                            format!("LIVECREDIT_TRUSTED_PROXIES: {p:?} is not an IP address")
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
            },
            cors_origins: var("LIVECREDIT_CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// Returns the secret kept in `data_dir/name`, creating it (32 random bytes,
/// hex, mode 0600) on first use. A warning says production should set `env_name`.
pub fn load_or_create_secret(
    data_dir: &Path,
    name: &str,
    env_name: &str,
) -> anyhow::Result<Secret> {
    let path = data_dir.join(name);
    if let Ok(existing) = fs::read_to_string(&path) {
        let trimmed = existing.trim();
        if trimmed.len() >= 32 {
            tracing::warn!(file = %path.display(), "{env_name} is not set; using the generated secret kept in the data folder. Set it in production.");
            return Ok(Secret::new(trimmed.as_bytes().to_vec()));
        }
        bail!(
            "{} is shorter than 32 bytes; delete it or set {env_name}",
            path.display()
        );
    }
    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data folder {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let value = hex::encode(bytes);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(value.as_bytes())?;
            file.sync_all()?;
            tracing::warn!(file = %path.display(), "{env_name} is not set; generated a random secret and kept it in the data folder. Set it in production.");
            Ok(Secret::new(value.into_bytes()))
        }
        // Another process created it between our read and our create: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            load_or_create_secret(data_dir, name, env_name)
        }
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn labels_carry_no_credentials() {
        let url = DatabaseUrl::parse("postgres://u:secret@db1:5433/lc?sslmode=require").unwrap();
        assert_eq!(url.label(), "db1:5433/lc");
        assert_eq!(
            DatabaseUrl::parse("postgres://h/db").unwrap().label(),
            "h/db"
        );
    }

    #[test]
    fn redact_hides_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn passwords_are_split_off_postgres_urls() {
        assert_eq!(
            split_password("postgres://lc:s3cr%40t%2Fx@db:5432/livecredit?sslmode=disable"),
            (
                "postgres://lc@db:5432/livecredit?sslmode=disable".to_owned(),
                Some("s3cr@t/x".to_owned())
            )
        );
        assert_eq!(
            split_password("postgresql://lc@db/livecredit?password=p%26w&application_name=x"),
            (
                "postgresql://lc@db/livecredit?application_name=x".to_owned(),
                Some("p&w".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://lc@/livecredit?password=pw"),
            (
                "postgres://lc@/livecredit".to_owned(),
                Some("pw".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://lc@db/livecredit"),
            ("postgres://lc@db/livecredit".to_owned(), None)
        );
        assert_eq!(
            split_password("postgres://db/livecredit"),
            ("postgres://db/livecredit".to_owned(), None)
        );
    }

    #[test]
    fn generated_secrets_are_kept_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_secret(dir.path(), "s", "X").unwrap();
        let second = load_or_create_secret(dir.path(), "s", "X").unwrap();
        assert_eq!(first.bytes(), second.bytes());
        assert_eq!(first.bytes().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("s"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
