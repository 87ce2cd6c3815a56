//! Where the three databases are, from the environment; the Neo4j password
//! is kept out of every message.

use anyhow::bail;

const HELP: &str = "start local servers with `cargo xtask services up` and \
                    `eval \"$(cargo xtask services env)\"`, or run `cargo xtask demo`";

/// The app's configuration.
pub struct Config {
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `NEO4J_URI`.
    pub neo4j_uri: String,
    /// `NEO4J_USER` (default `neo4j`).
    pub neo4j_user: String,
    /// `NEO4J_PASSWORD` (default empty: auth off).
    pub neo4j_password: String,
    /// `WEAVIATE_URL`.
    pub weaviate_url: String,
    /// `WEAVIATE_API_KEY`, if any.
    pub weaviate_api_key: Option<String>,
}

impl Config {
    /// Reads the configuration; a missing variable names itself and the fix.
    pub fn from_env() -> anyhow::Result<Config> {
        Ok(Config {
            database_url: required("DATABASE_URL")?,
            neo4j_uri: required("NEO4J_URI")?,
            neo4j_user: optional("NEO4J_USER").unwrap_or_else(|| "neo4j".into()),
            neo4j_password: optional("NEO4J_PASSWORD").unwrap_or_default(),
            weaviate_url: required("WEAVIATE_URL")?,
            weaviate_api_key: optional("WEAVIATE_API_KEY"),
        })
    }
}

fn required(name: &str) -> anyhow::Result<String> {
    match optional(name) {
        Some(value) => Ok(value),
        None => bail!("{name} is not set: {HELP}"),
    }
}

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// `uri` without any `user:password@` part, for messages.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}{}", &uri[..scheme_end + 3], &uri[at + 1..])
        }
        _ => uri.to_string(),
    }
}
