//! `Migrator`: the migrations, the backends by kind, and the run options.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::backend::Backend;
use crate::embedded::Migrations;
use crate::graph::History;
use crate::migration::BackendKind;

use super::error::RunError;

/// Applies and reverts the migrations of one timeline across backends.
///
/// ```no_run
/// # #[cfg(feature = "postgres")]
/// # async fn boot(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// # use dbmigrate_core::{Migrator, Target};
/// # static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::Migrations::from_embedded(&[]);
/// let report = Migrator::new(&MIGRATIONS).postgres(pool).upgrade(Target::Head).await?;
/// # let _ = report;
/// # Ok(())
/// # }
/// ```
pub struct Migrator {
    source: Source,
    pub(super) backends: BTreeMap<BackendKind, Box<dyn Backend>>,
    pub(super) options: Options,
    /// Who hears each step as it completes (see [`Migrator::on_progress`]).
    pub(super) progress: Option<super::ProgressObserver>,
}

enum Source {
    Embedded(&'static Migrations),
    Owned(History),
}

/// Run options.
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub lock_timeout: Duration,
    pub applied_by: String,
    pub allow_ahead: bool,
    pub dry_run: bool,
    pub cancel: Option<super::Cancel>,
}

/// How `repair` resolves a dirty (or unknown) record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Its effects are in place: record it as cleanly applied.
    MarkApplied,
    /// Its effects are not in place: remove its record.
    Forget,
}

impl Migrator {
    /// A migrator for the migrations embedded in the binary.
    pub fn new(migrations: &'static Migrations) -> Migrator {
        Migrator::with_source(Source::Embedded(migrations))
    }

    /// A migrator for a history read from files (the CLI).
    pub fn from_history(history: History) -> Migrator {
        Migrator::with_source(Source::Owned(history))
    }

    fn with_source(source: Source) -> Migrator {
        Migrator {
            source,
            backends: BTreeMap::new(),
            options: Options {
                lock_timeout: Duration::from_secs(60),
                applied_by: default_applied_by(),
                allow_ahead: true,
                dry_run: false,
                cancel: None,
            },
            progress: None,
        }
    }

    /// Adds a backend; migrations of its kind run there. A second backend
    /// of the same kind replaces the first.
    pub fn backend(mut self, backend: Box<dyn Backend>) -> Migrator {
        if let Some(observer) = &self.progress {
            backend.observe_copies(Some(copies_to(observer.clone())));
        }
        self.backends.insert(backend.kind(), backend);
        self
    }

    /// Adds PostgreSQL through a pool, with the default
    /// [`PostgresConfig`](crate::backend::postgres::PostgresConfig).
    #[cfg(feature = "postgres")]
    pub fn postgres(self, pool: sqlx::PgPool) -> Migrator {
        use crate::backend::postgres::{PostgresBackend, PostgresConfig};
        self.backend(Box::new(PostgresBackend::new(
            pool,
            PostgresConfig::default(),
        )))
    }

    /// Adds Neo4j through a connected graph, with the default
    /// [`Neo4jConfig`](crate::backend::neo4j::Neo4jConfig).
    #[cfg(feature = "neo4j")]
    pub fn neo4j(self, graph: neo4rs::Graph) -> Migrator {
        use crate::backend::neo4j::{Neo4jBackend, Neo4jConfig};
        self.backend(Box::new(Neo4jBackend::new(graph, Neo4jConfig::default())))
    }

    /// Adds Weaviate through a client.
    #[cfg(feature = "weaviate")]
    pub fn weaviate(self, client: crate::backend::weaviate::WeaviateClient) -> Migrator {
        self.backend(Box::new(crate::backend::weaviate::WeaviateBackend::new(
            client,
        )))
    }

    /// How long to wait for each migration lock (default 60 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.options.lock_timeout = timeout;
        self
    }

    /// Who applies the migrations, as recorded in history (default: binary
    /// name, dbmigrate version, host and pid).
    pub fn applied_by(mut self, applied_by: impl Into<String>) -> Migrator {
        self.options.applied_by = applied_by.into();
        self
    }

    /// Whether an upgrade accepts a database that holds revisions newer than
    /// this binary (a rolling deploy); default true, with a warning.
    pub fn allow_ahead(mut self, allow: bool) -> Migrator {
        self.options.allow_ahead = allow;
        self
    }

    /// Plan only: runs report the calls they would make and touch nothing.
    pub fn dry_run(mut self, dry_run: bool) -> Migrator {
        self.options.dry_run = dry_run;
        self
    }

    /// Stops runs when `cancel` fires (Ctrl-C): a lock wait ends, the
    /// running step is interrupted on the database (its transaction rolls
    /// back; a `Transaction: none` step stays dirty), no other step starts,
    /// the locks are released, and the run returns
    /// [`BackendError::Cancelled`](crate::backend::BackendError::Cancelled).
    pub fn cancel_on(mut self, cancel: super::Cancel) -> Migrator {
        self.options.cancel = Some(cancel);
        self
    }

    /// Calls `observer` with each [`Progress`](super::Progress) event while
    /// a run applies or reverts steps (a CLI prints each step as it
    /// completes); the final [`Report`](super::Report) is unchanged.
    pub fn on_progress(
        mut self,
        observer: impl Fn(super::Progress<'_>) + Send + Sync + 'static,
    ) -> Migrator {
        let observer: super::ProgressObserver = std::sync::Arc::new(observer);
        for backend in self.backends.values() {
            backend.observe_copies(Some(copies_to(observer.clone())));
        }
        self.progress = Some(observer);
        self
    }

    pub(super) fn notify(&self, event: super::Progress<'_>) {
        if let Some(observer) = &self.progress {
            observer(event);
        }
    }

    /// The configured backend of a kind.
    pub fn backend_of(&self, kind: BackendKind) -> Option<&dyn Backend> {
        self.backends.get(&kind).map(|b| b.as_ref())
    }

    /// The timeline this migrator runs.
    pub fn history(&self) -> Result<&History, RunError> {
        match &self.source {
            Source::Embedded(migrations) => migrations
                .history()
                .map_err(|e| RunError::Migrations(e.to_string())),
            Source::Owned(history) => Ok(history),
        }
    }
}

/// A backend's copy progress, passed on as [`Progress::Copying`](super::Progress::Copying).
fn copies_to(observer: super::ProgressObserver) -> crate::backend::CopyObserver {
    std::sync::Arc::new(move |copy| observer(super::Progress::Copying(copy)))
}

fn default_applied_by() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".to_string());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string());
    format!(
        "{binary} (dbmigrate {}) on {host} pid {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    )
}
