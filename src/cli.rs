//! The command line: `serve` (default), `migrate`, `user create`, `openapi`,
//! `keys`, `audit verify`, `demo-data`.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::{DatabaseUrl, Settings};
use crate::db::{audit, write_tx, Db};
use crate::domain::accounts::Role;
use crate::service::accounts::{self, CreateUser};
use crate::service::{Actor, ServiceError};
use crate::signing::KeyStore;

#[derive(Parser)]
#[command(
    name = "livecredit",
    version,
    about = "Credit blacklist registry for live-stream selling"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Write a consistent backup of the database while it runs.
    ///
    /// SQLite: an online copy (`VACUUM INTO`) that opens as a database of
    /// its own. PostgreSQL: runs `pg_dump --format=custom` (restore with `pg_restore`).
    Backup {
        /// File to write; must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Snapshot signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Exit 0 when the local service answers `/readyz` (for container health checks).
    Healthcheck,
    /// Load synthetic, realistic data for demos and benchmarks into an empty registry
    /// (migrates first; about 1% of subjects get an active listing).
    DemoData {
        /// How many subjects (anchors, merchants, MCNs and live-room operators) to create.
        #[arg(long)]
        subjects: u64,
        /// Average number of violations per subject.
        #[arg(long, default_value_t = crate::demo::DEFAULT_VIOLATIONS_PER_SUBJECT)]
        violations_per_subject: f64,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Subjects written per transaction.
        #[arg(long, default_value_t = crate::demo::DEFAULT_BATCH)]
        batch_size: usize,
        /// Read the demo regulators' password from standard input (else one is generated and printed).
        #[arg(long)]
        password_stdin: bool,
        /// On PostgreSQL, write with multi-row INSERTs instead of COPY (for comparison).
        #[arg(long)]
        no_copy: bool,
        /// PostgreSQL connections writing side by side (default: one per core, 2 to 4).
        #[arg(long, default_value_t = 0, hide_default_value = true)]
        writers: usize,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key current; the old one stays listed as retired.
    Rotate,
    /// List the public keys.
    List,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first bad entry when it is broken.
    Verify,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        /// admin, regulator, platform or auditor.
        #[arg(long)]
        role: String,
        /// Organization id; admins and auditors default to the system organization.
        #[arg(long)]
        organization: Option<String>,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        display_name: Option<String>,
    },
}

pub fn main() -> ExitCode {
    crate::telemetry::init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let settings = Settings::from_env()?;
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings).await?;
                app.run_until_stopped().await?;
                anyhow::Ok(())
            })?;
        }
        Command::Migrate => {
            let settings = Settings::from_env()?;
            let applied = Db::open(&settings.database_url, 1)?.migrate()?;
            println!("applied {applied} migration(s)");
        }
        Command::Openapi => print!("{}", crate::app::openapi_json()),
        Command::Healthcheck => return Ok(healthcheck()),
        Command::Backup { to } => {
            let settings = Settings::from_env()?;
            // Owner-only from the start (it holds personal data), and never
            // over an existing file.
            crate::db::create_private_file(&to).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!("{} exists already; choose a new file", to.display())
                } else {
                    anyhow::Error::new(e).context(format!("creating {}", to.display()))
                }
            })?;
            if let Err(e) = backup(&settings, &to) {
                let _ = std::fs::remove_file(&to);
                return Err(e);
            }
            println!("{}", to.display());
        }
        Command::DemoData {
            subjects,
            violations_per_subject,
            seed,
            batch_size,
            password_stdin,
            no_copy,
            writers,
        } => {
            let settings = Settings::from_env()?;
            let password = if password_stdin {
                let mut password = String::new();
                std::io::stdin().read_to_string(&mut password)?;
                Some(password.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let options = crate::demo::DemoOptions {
                subjects,
                violations_per_subject,
                seed,
                batch_size,
                password,
                pg_copy: !no_copy,
                progress: true,
                writers,
            };
            println!("{}", crate::demo::run(&settings, options)?);
        }
        Command::Keys { command } => {
            let settings = Settings::from_env()?;
            let store = KeyStore::new(&settings.data_dir, settings.signing_key.clone());
            if let KeysCommand::Rotate = command {
                let id = store.rotate()?;
                eprintln!("new current signing key {id}; running servers sign with it from their next snapshot");
            }
            println!("{}", serde_json::to_string_pretty(&store.list()?)?);
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let settings = Settings::from_env()?;
            let db = Db::open(&settings.database_url, 1)?;
            db.migrate()?;
            let mut conn = db.conn()?;
            // It only reads, so it goes on; but a wrong data folder is worth a word.
            if crate::db::pepper_differs(&mut conn, settings.id_pepper.bytes())? {
                eprintln!("warning: LIVECREDIT_ID_PEPPER is not the pepper this database was filled with; is LIVECREDIT_DATA_DIR the service's?");
            }
            let verdict = audit::verify(&mut conn)?;
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            if !verdict.valid {
                eprintln!(
                    "audit chain broken at entry {} ({} entries verified before it)",
                    verdict.first_bad_seq.unwrap_or_default(),
                    verdict.entries
                );
                return Ok(ExitCode::FAILURE);
            }
            eprintln!(
                "audit chain intact: {} entries, head {}",
                verdict.entries, verdict.head_hash
            );
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    role,
                    organization,
                    password_stdin: _,
                    display_name,
                },
        } => {
            let settings = Settings::from_env()?;
            let role: Role = role
                .parse()
                .map_err(|e: crate::domain::UnknownName| anyhow::anyhow!("--role {}", e.hint()))?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let db = Db::open(&settings.database_url, 1)?;
            db.migrate()?;
            let mut conn = db.conn()?;
            // As `serve` does: a command run with another data folder (and
            // so another generated pepper) refuses before it writes.
            crate::db::check_pepper(&mut conn, settings.id_pepper.bytes())?;
            let organization_id = match (organization, role) {
                (Some(id), _) => id,
                (None, Role::Admin | Role::Auditor) => {
                    write_tx(&mut conn, accounts::system_organization).map_err(describe)?
                }
                (None, _) => anyhow::bail!("--organization is required for the {role} role"),
            };
            let user = CreateUser {
                email,
                password,
                role,
                organization_id,
                display_name,
                can_approve: false,
            }
            .into_user()
            .map_err(describe)?;
            write_tx(&mut conn, |c| {
                accounts::create_user(c, &Actor::System, &user, Some("cli"))
            })
            .map_err(describe)?;
            println!("{}", user.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a backup of the database into `to`, an empty file made for it.
fn backup(settings: &Settings, to: &std::path::Path) -> anyhow::Result<()> {
    match &settings.database_url {
        DatabaseUrl::Sqlite(_) => {
            let db = Db::open(&settings.database_url, 1)?;
            let mut conn = db.conn()?;
            crate::db::backup_sqlite(&mut conn, to)
        }
        DatabaseUrl::Postgres(url) => {
            let (url, password) = crate::config::split_password(url);
            let mut pg_dump = std::process::Command::new("pg_dump");
            pg_dump
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(to)
                .arg(format!("--dbname={url}"));
            // libpq reads it from the environment, which other users cannot see.
            if let Some(password) = password {
                pg_dump.env("PGPASSWORD", password);
            }
            let status = pg_dump.status().map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!(
                        "pg_dump is not installed: install the PostgreSQL client tools, at the \
                         server's major version or newer. In the Docker image there is none: run \
                         pg_dump in the postgres container (docs/OPERATIONS.md, section 8)"
                    )
                } else {
                    anyhow::anyhow!("running pg_dump: {e}")
                }
            })?;
            if !status.success() {
                anyhow::bail!("pg_dump failed ({status})");
            }
            Ok(())
        }
    }
}

/// A use case's refusal as a one-line message for the terminal.
fn describe(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Invalid(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::Error::new(other),
    }
}

/// Asks the service on `LIVECREDIT_BIND` for `/readyz` over plain HTTP/1.1,
/// so the container image needs no curl.
fn healthcheck() -> ExitCode {
    use std::io::Write;
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;

    let bind = std::env::var("LIVECREDIT_BIND").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let port = bind.rsplit(':').next().unwrap_or("8080");
    let Some(address) = format!("127.0.0.1:{port}")
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        return ExitCode::FAILURE;
    };
    let answer = (|| -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply)
    })();
    match answer {
        Ok(reply) if reply.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
