//! Connection settings: a flag, else the environment, else `.env` in the
//! project root; and the migrator built from them. Secrets are collected so
//! that every message can be scrubbed of them.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use dbmigrate_core::backend::postgres::{PostgresBackend, PostgresConfig};
use dbmigrate_core::backend::{redact_url, redact_urls_in, NOT_A_URL};
use dbmigrate_core::{History, Migrator};

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

/// The resolved settings.
#[derive(Debug, Default)]
pub struct Settings {
    database_url: Option<String>,
    neo4j: Option<(String, String, String)>,
    neo4j_database: Option<String>,
    weaviate: Option<(String, Option<String>)>,
}

impl Settings {
    /// Flags, else the environment, else `<root>/.env`.
    pub fn resolve(args: &ConnectionArgs, root: &Path) -> Settings {
        let dotenv = read_dotenv(&root.join(".env"));
        let lookup = |flag: &Option<String>, name: &str| -> Option<String> {
            flag.clone()
                .or_else(|| std::env::var(name).ok())
                .or_else(|| dotenv.get(name).cloned())
                .filter(|value| !value.is_empty())
        };
        let neo4j = lookup(&args.neo4j_uri, "NEO4J_URI").map(|uri| {
            let user = lookup(&None, "NEO4J_USER").unwrap_or_else(|| "neo4j".to_string());
            (
                uri,
                user,
                lookup(&None, "NEO4J_PASSWORD").unwrap_or_default(),
            )
        });
        let weaviate = lookup(&args.weaviate_url, "WEAVIATE_URL")
            .map(|url| (url, lookup(&None, "WEAVIATE_API_KEY")));
        Settings {
            database_url: lookup(&args.database_url, "DATABASE_URL"),
            neo4j,
            neo4j_database: lookup(&None, "NEO4J_DATABASE"),
            weaviate,
        }
    }

    /// Every connection string as given: a message that quotes one whole
    /// (even a mistyped one) shows its redacted form instead, see [`scrub`].
    /// Passwords are never searched for as text: `a` or `postgres` would
    /// turn unrelated words into `***` and so reveal themselves.
    pub fn secrets(&self) -> Vec<String> {
        [
            self.database_url.as_deref(),
            self.neo4j.as_ref().map(|n| n.0.as_str()),
            self.weaviate.as_ref().map(|w| w.0.as_str()),
        ]
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect()
    }
}

impl Settings {
    /// Refuses a connection string that is not `scheme://host…` before any
    /// driver sees it (sqlx reads `postgresql:/u:pw@h` as "localhost" and
    /// waits). Its text is not shown: a mistyped URL may hold a password.
    pub fn check_urls(&self) -> anyhow::Result<()> {
        let given = [
            (
                "--database-url / DATABASE_URL",
                self.database_url.as_deref(),
            ),
            (
                "--neo4j-uri / NEO4J_URI",
                self.neo4j.as_ref().map(|n| n.0.as_str()),
            ),
            (
                "--weaviate-url / WEAVIATE_URL",
                self.weaviate.as_ref().map(|w| w.0.as_str()),
            ),
        ];
        for (name, url) in given {
            if url.is_some_and(|url| redact_url(url) == NOT_A_URL) {
                anyhow::bail!(crate::exit::UsageError(format!(
                    "{name} is not a URL: expected scheme://[user[:password]@]host[:port][/path] (its text is not shown: it may hold a password)\n  help: check the `://` after the scheme and percent-encode `#`, `/`, `?`, `@` in the password (`%23`, `%2F`, `%3F`, `%40`)"
                )));
            }
        }
        Ok(())
    }

    /// True when no database is configured at all.
    pub fn is_empty(&self) -> bool {
        self.database_url.is_none() && self.neo4j.is_none() && self.weaviate.is_none()
    }

    /// The PostgreSQL URL, if any.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The Neo4j URI, user and password, if any.
    pub fn neo4j(&self) -> Option<(&str, &str, &str)> {
        self.neo4j
            .as_ref()
            .map(|(uri, user, password)| (uri.as_str(), user.as_str(), password.as_str()))
    }
}

/// Neo4j and Weaviate backends for `cargo dbmigrate test`, when configured:
/// their bookkeeping uses a `Test` prefix so the real history is not touched.
pub fn test_backends(
    settings: &Settings,
) -> anyhow::Result<Vec<Box<dyn dbmigrate_core::testing::TestBackend>>> {
    let mut backends: Vec<Box<dyn dbmigrate_core::testing::TestBackend>> = Vec::new();
    if let Some((uri, user, password)) = &settings.neo4j {
        let backend = connect_neo4j(settings, uri, user, password)?;
        let config = dbmigrate_core::backend::neo4j::Neo4jConfig {
            label_prefix: "__DbmigrateTest".into(),
            ..Default::default()
        };
        backends.push(Box::new(backend.with_config(config)));
    }
    if let Some((url, api_key)) = &settings.weaviate {
        use dbmigrate_core::backend::weaviate::{WeaviateBackend, WeaviateClient, WeaviateConfig};
        let config = WeaviateConfig {
            collection_prefix: "DbmigrateTest".into(),
            ..Default::default()
        };
        let client = WeaviateClient::new(url, api_key.clone(), config)
            .context("cannot connect to Weaviate")?;
        backends.push(Box::new(WeaviateBackend::new(client)));
    }
    Ok(backends)
}

/// Connects to Neo4j with the resolved settings (database from `NEO4J_DATABASE`).
fn connect_neo4j(
    settings: &Settings,
    uri: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<dbmigrate_core::backend::neo4j::Neo4jBackend> {
    dbmigrate_core::backend::neo4j::Neo4jBackend::connect(
        uri,
        user,
        password,
        settings.neo4j_database.as_deref(),
    )
    .context("cannot connect to Neo4j")
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

/// The migrator for the project's history and every configured database.
pub async fn migrator(
    history: History,
    settings: &Settings,
    project: &Project,
) -> anyhow::Result<Migrator> {
    let mut migrator = Migrator::from_history(history);
    if let Some(timeout) = project.settings.lock_timeout {
        migrator = migrator.lock_timeout(timeout.max(std::time::Duration::from_secs(1)));
    }
    let Some(url) = &settings.database_url else {
        if settings.neo4j.is_none() && settings.weaviate.is_none() {
            anyhow::bail!(crate::exit::UsageError(
                "no database to talk to\n  help: pass --database-url, set DATABASE_URL (or NEO4J_URI / WEAVIATE_URL), or put them in .env in the project root".into()
            ));
        }
        return add_others(migrator, settings);
    };
    let backend = PostgresBackend::connect(url)
        .await
        .context("cannot connect to PostgreSQL")?;
    migrator = migrator.backend(Box::new(backend.with_config(postgres_config(project))));
    add_others(migrator, settings)
}

fn postgres_config(project: &Project) -> PostgresConfig {
    let mut config = match project
        .settings
        .history_table
        .as_deref()
        .map(|t| t.split_once('.'))
    {
        Some(Some((schema, table))) => PostgresConfig::for_table(schema, table),
        Some(None) => PostgresConfig::for_table(
            "public",
            project
                .settings
                .history_table
                .as_deref()
                .unwrap_or_default(),
        ),
        None => PostgresConfig::default(),
    };
    config.lock_timeout = project.settings.lock_timeout;
    config.statement_timeout = project.settings.statement_timeout;
    config
}

fn add_others(mut migrator: Migrator, settings: &Settings) -> anyhow::Result<Migrator> {
    if let Some((uri, user, password)) = &settings.neo4j {
        let backend = connect_neo4j(settings, uri, user, password)?;
        migrator = migrator.backend(Box::new(backend));
    }
    if let Some((url, api_key)) = &settings.weaviate {
        let backend =
            dbmigrate_core::backend::weaviate::WeaviateBackend::connect(url, api_key.clone())
                .context("cannot connect to Weaviate")?;
        migrator = migrator.backend(Box::new(backend));
    }
    Ok(migrator)
}

/// `KEY=value` lines; `export`, comments, blank lines and quotes handled.
fn read_dotenv(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .map(|text| parse_dotenv(&text))
        .unwrap_or_default()
}

fn parse_dotenv(text: &str) -> HashMap<String, String> {
    let mut values = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        values.insert(key.trim().to_string(), value.to_string());
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines() {
        let values = parse_dotenv(
            "# c\nexport DATABASE_URL=\"postgres://a:b@h/d\"\nNEO4J_USER='neo'\n\nBAD\nX = 1\n",
        );
        assert_eq!(values["DATABASE_URL"], "postgres://a:b@h/d");
        assert_eq!(values["NEO4J_USER"], "neo");
        assert_eq!(values["X"], "1");
        assert_eq!(values.len(), 3);
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
