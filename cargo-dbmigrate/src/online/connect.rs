//! Connection settings: a flag, else the environment, else `.env` in the
//! project root; and the migrator built from them. Secrets are collected so
//! that every message can be scrubbed of them.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use dbmigrate_core::backend::{
    redact_url, redact_urls_in, BookkeepingPrefix, ConnectOptions, Connection, Descriptor,
    TestBackend, TestIsolation, DESCRIPTORS, NOT_A_URL,
};
use dbmigrate_core::{BackendKind, History, Migrator};

use crate::config::Project;

/// Where the databases are. Unset flags fall back to the environment, then
/// to `.env` in the project root. (Values are never shown in `--help`.)
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectionArgs {
    /// PostgreSQL URL [default: $DATABASE_URL]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Neo4j URI (bolt://, neo4j://) [default: $NEO4J_URI; user, password and database from $NEO4J_USER, $NEO4J_PASSWORD, $NEO4J_DATABASE]
    #[arg(long, value_name = "URI")]
    pub neo4j_uri: Option<String>,
    /// Weaviate URL [default: $WEAVIATE_URL; API key from $WEAVIATE_API_KEY]
    #[arg(long, value_name = "URL")]
    pub weaviate_url: Option<String>,
}

impl ConnectionArgs {
    /// The value of a URL flag named by a descriptor (`--database-url`).
    fn url_flag(&self, flag: &str) -> Option<&String> {
        [
            ("--database-url", &self.database_url),
            ("--neo4j-uri", &self.neo4j_uri),
            ("--weaviate-url", &self.weaviate_url),
        ]
        .into_iter()
        .find(|(name, _)| *name == flag)
        .and_then(|(_, value)| value.as_ref())
    }
}

/// The resolved settings: one connection per configured database, in
/// descriptor order.
#[derive(Debug, Default)]
pub struct Settings {
    databases: Vec<(&'static Descriptor, Connection)>,
    lock: crate::args::LockArgs,
}

impl Settings {
    /// Flags, else the environment, else `<root>/.env`; a malformed `.env`
    /// is an error naming its line.
    pub fn resolve(args: &ConnectionArgs, root: &Path) -> anyhow::Result<Settings> {
        let dotenv = read_dotenv(&root.join(".env"))?;
        let lookup = |name: &str| -> Option<String> {
            std::env::var(name)
                .ok()
                .or_else(|| dotenv.get(name).cloned())
                .filter(|value| !value.is_empty())
        };
        let databases = DESCRIPTORS
            .iter()
            .filter_map(|descriptor| {
                let url = args
                    .url_flag(descriptor.url_flag)
                    .cloned()
                    .filter(|value| !value.is_empty())
                    .or_else(|| lookup(descriptor.url_env))?;
                let settings = descriptor
                    .settings_env
                    .iter()
                    .filter_map(|&name| Some((name, lookup(name)?)))
                    .collect();
                let connection = Connection {
                    url,
                    settings,
                    options: ConnectOptions::default(),
                };
                Some((descriptor, connection))
            })
            .collect();
        Ok(Settings {
            databases,
            lock: crate::args::LockArgs::default(),
        })
    }

    /// Every connection string as given: a message that quotes one whole
    /// (even a mistyped one) shows its redacted form instead, see [`scrub`].
    /// Passwords are never searched for as text: `a` or `postgres` would
    /// turn unrelated words into `***` and so reveal themselves.
    pub fn secrets(&self) -> Vec<String> {
        self.databases
            .iter()
            .map(|(_, connection)| connection.url.clone())
            .collect()
    }

    /// Refuses a connection string that is not `scheme://host…` before any
    /// driver sees it (sqlx reads `postgresql:/u:pw@h` as "localhost" and
    /// waits). Its text is not shown: a mistyped URL may hold a password.
    pub fn check_urls(&self) -> anyhow::Result<()> {
        for (descriptor, connection) in &self.databases {
            if redact_url(&connection.url) == NOT_A_URL {
                anyhow::bail!(crate::exit::UsageError(format!(
                    "{} / {} is not a URL: expected scheme://[user[:password]@]host[:port][/path] (its text is not shown: it may hold a password)\n  help: check the `://` after the scheme and percent-encode `#`, `/`, `?`, `@` in the password (`%23`, `%2F`, `%3F`, `%40`)",
                    descriptor.url_flag, descriptor.url_env
                )));
            }
        }
        Ok(())
    }

    /// These settings with the migration lock flags of the command.
    pub fn with_lock(self, lock: crate::args::LockArgs) -> Settings {
        Settings { lock, ..self }
    }

    /// True when no database is configured at all.
    pub fn is_empty(&self) -> bool {
        self.databases.is_empty()
    }

    /// The URL of a backend, if configured.
    pub fn url(&self, kind: BackendKind) -> Option<&str> {
        self.databases
            .iter()
            .find(|(descriptor, _)| descriptor.kind == kind)
            .map(|(_, connection)| connection.url.as_str())
    }

    /// The PostgreSQL URL, if any.
    pub fn database_url(&self) -> Option<&str> {
        self.url(BackendKind::Postgres)
    }

    /// The Neo4j URI, user and password, if any.
    pub fn neo4j(&self) -> Option<(&str, &str, &str)> {
        let (_, connection) = self
            .databases
            .iter()
            .find(|(descriptor, _)| descriptor.kind == BackendKind::Neo4j)?;
        let setting = |name: &str| connection.settings.get(name).map(String::as_str);
        Some((
            connection.url.as_str(),
            setting("NEO4J_USER").unwrap_or("neo4j"),
            setting("NEO4J_PASSWORD").unwrap_or_default(),
        ))
    }
}

impl Settings {
    /// A setting of a configured backend (`NEO4J_DATABASE`, `WEAVIATE_API_KEY`).
    pub fn setting(&self, kind: BackendKind, name: &str) -> Option<&str> {
        self.databases
            .iter()
            .find(|(descriptor, _)| descriptor.kind == kind)
            .and_then(|(_, connection)| connection.settings.get(name))
            .map(String::as_str)
    }
}

/// The backends `cargo dbmigrate test` runs on the configured servers (those
/// isolated by a bookkeeping prefix, so the real history is not touched),
/// of the kinds `needed` (those the migrations use): a server no migration
/// targets is not connected to, checked or written.
pub async fn test_backends(
    settings: &Settings,
    needed: impl Fn(BackendKind) -> bool,
) -> anyhow::Result<Vec<Box<dyn TestBackend>>> {
    let mut backends = Vec::new();
    for (descriptor, connection) in &settings.databases {
        if descriptor.test_isolation == TestIsolation::BookkeepingPrefix && needed(descriptor.kind)
        {
            let backend = (descriptor.connector.connect_for_tests)(connection.clone())
                .await
                .with_context(|| format!("cannot connect to {}", descriptor.name))?;
            backends.push(backend);
        }
    }
    Ok(backends)
}

/// `text` with every connection string of `connection_strings` and every
/// URL-like word redacted by structure ([`redact_url`]).
pub fn scrub(text: &str, connection_strings: &[String]) -> String {
    let mut text = text.to_string();
    for given in connection_strings.iter().filter(|given| !given.is_empty()) {
        text = text.replace(given.as_str(), &redact_url(given));
    }
    redact_urls_in(&text)
}

/// A positive number of seconds from the environment variable `name`.
fn seconds_from_env(name: &str) -> anyhow::Result<Option<std::time::Duration>> {
    let Ok(text) = std::env::var(name) else {
        return Ok(None);
    };
    match crate::args::positive_seconds(&text) {
        Ok(seconds) => Ok(Some(seconds)),
        Err(why) => anyhow::bail!(crate::exit::UsageError(format!(
            "{name}={why}\n  help: for example {name}=10"
        ))),
    }
}

/// `DBMIGRATE_BOOKKEEPING_PREFIX`: Neo4j's and Weaviate's bookkeeping
/// names start with it instead of `Dbmigrate` (several histories on one
/// server; the chaos runs' scratch histories). The library's rule
/// ([`BookkeepingPrefix::new`]) decides what is allowed.
pub fn prefix_from_env() -> anyhow::Result<Option<BookkeepingPrefix>> {
    const NAME: &str = "DBMIGRATE_BOOKKEEPING_PREFIX";
    let Ok(text) = std::env::var(NAME) else {
        return Ok(None);
    };
    match BookkeepingPrefix::new(text) {
        Ok(prefix) => Ok(Some(prefix)),
        Err(error) => anyhow::bail!(crate::exit::UsageError(format!("{NAME}: {error}"))),
    }
}

/// The migrator for the project's history and every configured database.
pub async fn migrator(
    history: History,
    settings: &Settings,
    project: &Project,
) -> anyhow::Result<Migrator> {
    let mut migrator = Migrator::from_history(history);
    // The wait for the migration lock is the runner's own setting; the
    // `lock-timeout` setting is PostgreSQL's per statement (issue 13.7).
    // The flag wins over the environment variable.
    let wait = match settings.lock.lock_wait_seconds {
        Some(wait) => Some(wait),
        None => seconds_from_env("DBMIGRATE_LOCK_WAIT_SECONDS")?,
    };
    if let Some(wait) = wait {
        migrator = migrator.lock_timeout(wait);
    }
    if settings.is_empty() {
        let flags: Vec<&str> = DESCRIPTORS.iter().map(|d| d.url_flag).collect();
        let envs: Vec<&str> = DESCRIPTORS.iter().map(|d| d.url_env).collect();
        anyhow::bail!(crate::exit::UsageError(format!(
            "no database to talk to\n  help: pass {}, set {}, or put them in .env in the project root",
            flags.join(" / "),
            envs.join(" / ")
        )));
    }
    let options = ConnectOptions {
        history_table: project.settings.history_table.clone(),
        lock_timeout: project.settings.lock_timeout,
        statement_timeout: project.settings.statement_timeout,
        lease: match settings.lock.lease_seconds {
            Some(lease) => Some(lease),
            None => seconds_from_env("DBMIGRATE_LEASE_SECONDS")?,
        },
        bookkeeping_prefix: prefix_from_env()?,
        ..ConnectOptions::default()
    };
    for (descriptor, connection) in &settings.databases {
        let connection = Connection {
            options: options.clone(),
            ..connection.clone()
        };
        let backend = (descriptor.connector.connect)(connection)
            .await
            .with_context(|| format!("cannot connect to {}", descriptor.name))?;
        migrator = migrator.backend(backend);
    }
    Ok(migrator)
}

/// `KEY=value` lines; `export`, comments, blank lines and quotes handled.
/// `<root>/.env`, read by dotenvy: `export`, quotes, `# comments` (also after
/// a value) and `${VAR}` expansion from earlier lines and the environment. A
/// missing file is no settings; a malformed line is an error naming the file
/// and line but never its text, which may hold a password.
fn read_dotenv(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let lines = match dotenvy::from_path_iter(path) {
        Ok(lines) => lines,
        Err(error) if error.not_found() => return Ok(HashMap::new()),
        Err(error) => {
            return Err(anyhow::anyhow!(
                "{}: cannot read ({})",
                path.display(),
                dotenv_error_kind(&error)
            ))
        }
    };
    let mut values = HashMap::new();
    for item in lines {
        match item {
            Ok((key, value)) => {
                values.insert(key, value);
            }
            Err(dotenvy::Error::LineParse(line, _)) => {
                let number = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| text.lines().position(|l| l.trim() == line.trim()))
                    .map_or_else(String::new, |index| format!(":{}", index + 1));
                anyhow::bail!(
                    "{}{number}: not a `NAME=value` line (its text is not shown: it may hold a \
                     secret)\nhelp: write `NAME=value`; quote a value that holds spaces, `#` or \
                     quotes, e.g. NAME=\"a b\"",
                    path.display()
                );
            }
            Err(error) => anyhow::bail!(
                "{}: cannot read ({})",
                path.display(),
                dotenv_error_kind(&error)
            ),
        }
    }
    Ok(values)
}

/// What went wrong reading `.env`, without any of its text.
fn dotenv_error_kind(error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::Io(io) => io.kind().to_string(),
        dotenvy::Error::EnvVar(_) => "an environment variable is not valid Unicode".into(),
        dotenvy::Error::LineParse(..) => "a malformed line".into(),
        _ => "not a .env file".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dotenv_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(".env");
        std::fs::write(&path, text).expect("write .env");
        (dir, path)
    }

    #[test]
    fn dotenv_lines_with_quotes_comments_and_expansion() {
        let (_dir, path) = dotenv_file(
            "# c\nexport DATABASE_URL=\"postgres://a:b@h/d\"\nNEO4J_USER='neo' # the user\n\n\
             HOST=h2\nWEAVIATE_URL=http://${HOST}:8080 # local\nX = 1\n",
        );
        let values = read_dotenv(&path).expect("reads");
        assert_eq!(values["DATABASE_URL"], "postgres://a:b@h/d");
        assert_eq!(values["NEO4J_USER"], "neo");
        assert_eq!(values["WEAVIATE_URL"], "http://h2:8080");
        assert_eq!(values["X"], "1");
        assert_eq!(values.len(), 5);
    }

    #[test]
    fn a_missing_dotenv_is_no_settings() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(read_dotenv(&dir.path().join(".env"))
            .expect("reads")
            .is_empty());
    }

    #[test]
    fn a_malformed_dotenv_line_is_named_but_never_shown() {
        let (_dir, path) = dotenv_file("A=1\nDATABASE_URL postgres://u:s3cret@h/d\n");
        let message = read_dotenv(&path).expect_err("malformed").to_string();
        assert!(message.contains(".env:2:"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn scrub_redacts_by_structure_only() {
        let given = vec!["postgres//postgres:postgres@h/d".to_string()];
        assert_eq!(
            scrub(
                "postgres: cannot use postgres//postgres:postgres@h/d at postgres://u:a@h/d",
                &given
            ),
            format!(
                "postgres: cannot use {} at postgres://u:***@h/d",
                dbmigrate_core::backend::NOT_A_URL
            )
        );
    }
}
