//! Configuration of the Neo4j backend and the names it derives from it.

use std::time::Duration;

/// How [`super::Neo4jBackend`] stores its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neo4jConfig {
    /// The database to migrate; `None` takes the server's default database.
    pub database: Option<String>,
    /// Prefix of the bookkeeping labels (`{prefix}Migration`, `{prefix}Lock`)
    /// and constraint names. Default `__Dbmigrate`; tests sharing a server
    /// give each run its own prefix.
    pub label_prefix: String,
    /// How long the lock lease lasts without renewal (default
    /// [`DEFAULT_LEASE`](crate::backend::lease::DEFAULT_LEASE), 10 s). The
    /// holder renews it every third of this and stops trusting it after four
    /// fifths without a renewal; a holder that died is taken over after it.
    pub lease: Duration,
    /// Overrides the owner name recorded on the lock (e.g. a pod name).
    pub owner: Option<String>,
    /// Where the server is, for messages (never with a password).
    pub location: String,
    /// When set, schema snapshots keep only the constraints and indexes whose
    /// name or labels/relationship types start with this (tests sharing one
    /// server each snapshot their own labels).
    pub schema_scope: Option<String>,
    /// How long one server answer may take before the step fails, used by
    /// [`super::Neo4jBackend::connect_with`] (neo4rs applies its connection
    /// timeout to every response). Default [`super::RESPONSE_TIMEOUT`],
    /// 30 minutes: set it just above your longest statement (a big data
    /// migration, an index coming online) so a hung server fails the step
    /// after that long instead. A graph given to [`super::Neo4jBackend::new`]
    /// keeps the timeout it was built with.
    pub response_timeout: Duration,
}

impl Default for Neo4jConfig {
    fn default() -> Self {
        Neo4jConfig {
            database: None,
            label_prefix: "__Dbmigrate".into(),
            lease: crate::backend::lease::DEFAULT_LEASE,
            owner: None,
            location: "neo4j".into(),
            schema_scope: None,
            response_timeout: super::RESPONSE_TIMEOUT,
        }
    }
}

/// The bookkeeping labels and constraint names, already quoted for Cypher.
#[derive(Debug, Clone)]
pub(super) struct Names {
    /// The raw prefix, to leave bookkeeping out of schema snapshots.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub prefix: String,
    /// `` `__DbmigrateMigration` ``
    pub migration: String,
    /// `` `__DbmigrateLock` ``
    pub lock: String,
    /// Uniqueness constraint on the migration nodes' `revision_id`.
    pub migration_constraint: String,
    /// Uniqueness constraint on the lock node's `name`.
    pub lock_constraint: String,
}

impl Names {
    pub fn new(prefix: &str) -> Names {
        Names {
            prefix: prefix.to_owned(),
            migration: quote(&format!("{prefix}Migration")),
            lock: quote(&format!("{prefix}Lock")),
            migration_constraint: quote(&format!("{prefix}Migration_revision_id")),
            lock_constraint: quote(&format!("{prefix}Lock_name")),
        }
    }
}

/// Quotes a label or name with backticks, doubling any backtick inside.
pub(super) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        let names = Names::new("T`x");
        assert_eq!(names.migration, "`T``xMigration`");
        assert_eq!(names.lock_constraint, "`T``xLock_name`");
    }
}
