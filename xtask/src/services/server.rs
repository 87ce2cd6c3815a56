//! The three test servers by name, and the environment that points tests at them.

use std::fmt;
use std::process::Command;

/// One of the test servers `cargo xtask services` manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Server {
    /// PostgreSQL from Debian's `postgresql` package, a private cluster.
    #[value(alias = "postgresql", alias = "pg")]
    Postgres,
    /// Neo4j Community 5.26 from Maven Central, on Java 17.
    Neo4j,
    /// Weaviate built from its Go module.
    Weaviate,
}

impl Server {
    /// Every server, in start order.
    pub const ALL: [Server; 3] = [Server::Postgres, Server::Neo4j, Server::Weaviate];

    /// The name used on the command line and for the folder under `target/services/`.
    pub fn name(self) -> &'static str {
        match self {
            Server::Postgres => "postgres",
            Server::Neo4j => "neo4j",
            Server::Weaviate => "weaviate",
        }
    }

    /// A word of its process's command line, to recognise it in `/proc`.
    pub fn program(self) -> &'static str {
        match self {
            Server::Postgres => "postgres",
            Server::Neo4j => super::neo4j::MAIN_CLASS,
            Server::Weaviate => super::weaviate_cluster::BINARY,
        }
    }

    /// `servers`, or every server when it is empty, without duplicates, in start order.
    pub fn selection(servers: &[Server]) -> Vec<Server> {
        Server::ALL
            .into_iter()
            .filter(|server| servers.is_empty() || servers.contains(server))
            .collect()
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The environment variables that point tests and tools at the running servers
/// (`DATABASE_URL`, `NEO4J_URI`, `NEO4J_USER`, `NEO4J_PASSWORD`, `WEAVIATE_URL`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceEnv {
    vars: Vec<(String, String)>,
}

impl ServiceEnv {
    /// An environment made of `vars`, in order.
    pub fn new(vars: Vec<(String, String)>) -> ServiceEnv {
        ServiceEnv { vars }
    }

    /// The variables as `(name, value)` pairs; values hold test passwords.
    #[allow(dead_code)] // for `demo`, `test-migrations` and `ci`
    pub fn vars(&self) -> Vec<(String, String)> {
        self.vars.clone()
    }

    /// Sets every variable on `command` (for `demo`, `test-migrations`, `ci`).
    #[allow(dead_code)]
    pub fn apply(&self, command: &mut Command) {
        command.envs(self.vars.iter().map(|(name, value)| (name, value)));
    }

    /// `export NAME='value'` lines for `eval "$(cargo xtask services env)"`.
    pub fn shell_exports(&self) -> String {
        self.vars
            .iter()
            .map(|(name, value)| format!("export {name}='{}'\n", value.replace('\'', r"'\''")))
            .collect()
    }

    /// `NAME=value` lines with passwords replaced by `***`, safe to print or log.
    pub fn redacted(&self) -> Vec<String> {
        self.vars
            .iter()
            .map(|(name, value)| format!("{name}={}", redact(name, value)))
            .collect()
    }
}

/// `value` with any password it holds replaced by `***`.
fn redact(name: &str, value: &str) -> String {
    if name.ends_with("PASSWORD") {
        return "***".to_string();
    }
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_defaults_to_all_in_start_order() {
        assert_eq!(Server::selection(&[]), Server::ALL.to_vec());
        assert_eq!(
            Server::selection(&[Server::Weaviate, Server::Postgres, Server::Weaviate]),
            vec![Server::Postgres, Server::Weaviate]
        );
    }

    #[test]
    fn names_round_trip() {
        use clap::ValueEnum as _;
        for server in Server::ALL {
            assert_eq!(Server::from_str(server.name(), false).unwrap(), server);
        }
        assert_eq!(Server::from_str("pg", false).unwrap(), Server::Postgres);
        assert!(Server::from_str("mysql", false).is_err());
    }

    #[test]
    fn redacts_passwords() {
        let env = ServiceEnv::new(vec![
            (
                "DATABASE_URL".into(),
                "postgres://u:secret@127.0.0.1:1/db".into(),
            ),
            ("NEO4J_PASSWORD".into(), "secret".into()),
            ("WEAVIATE_URL".into(), "http://127.0.0.1:2".into()),
        ]);
        let shown = env.redacted().join(" ");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("postgres://u:***@127.0.0.1:1/db"), "{shown}");
        assert!(shown.contains("WEAVIATE_URL=http://127.0.0.1:2"), "{shown}");
    }

    #[test]
    fn exports_quote_for_the_shell() {
        let env = ServiceEnv::new(vec![("A".into(), "it's".into())]);
        assert_eq!(env.shell_exports(), "export A='it'\\''s'\n");
    }
}
