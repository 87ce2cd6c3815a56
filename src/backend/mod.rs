//! The backend trait: what a database must do to hold a migration history.
//! A backend only stores; ordering, checksums, divergence and dirty checks
//! live once, in the runner.

#[cfg(feature = "runtime")]
mod connect;
mod descriptor;
#[cfg(feature = "runtime")]
mod error;
#[cfg(any(feature = "neo4j", feature = "weaviate"))]
mod held_lease;
#[cfg(any(feature = "neo4j", feature = "weaviate"))]
pub mod lease;
mod prefix;
#[cfg(any(feature = "neo4j", feature = "weaviate"))]
mod step_check;
#[cfg(feature = "runtime")]
mod types;
#[cfg(feature = "runtime")]
mod url;

#[cfg(feature = "neo4j")]
pub mod neo4j;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "weaviate")]
pub mod weaviate;

#[cfg(feature = "runtime")]
pub use connect::{
    ConnectFn, ConnectOptions, Connecting, Connection, Connector, PlanOfflineFn, SetupOfflineFn,
};
#[cfg(feature = "testing")]
pub use connect::{ConnectForTestsFn, ConnectingForTests};
pub use descriptor::{Descriptor, Layout, SectionCheck, TestIsolation, DESCRIPTORS};
#[cfg(feature = "runtime")]
pub use error::BackendError;
pub use prefix::{BookkeepingPrefix, BookkeepingPrefixError, BookkeepingPrefixErrorKind};
#[cfg(feature = "runtime")]
pub use types::{
    AppliedMigration, Capabilities, CopyObserver, CopyProgress, PlannedCall, RecordChange,
    RecordState, Step, StepProgress, UnknownState,
};
#[cfg(feature = "runtime")]
pub use url::{is_secret_key, redact_url, redact_urls_in, url_password, NOT_A_URL};

#[cfg(feature = "runtime")]
use std::time::Duration;

#[cfg(feature = "runtime")]
use crate::migration::BackendKind;

/// Storage operations of one database. Implemented by
/// [`postgres::PostgresBackend`], [`neo4j::Neo4jBackend`] and
/// [`weaviate::WeaviateBackend`].
#[cfg(feature = "runtime")]
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Which backend this is; migrations of this kind are sent here.
    fn kind(&self) -> BackendKind;

    /// What the database can promise.
    fn capabilities(&self) -> Capabilities;

    /// Where it is, for messages: a URL with any password removed.
    fn location(&self) -> String;

    /// Every history record, oldest first, in one round trip. A database
    /// whose history store does not exist yet has an empty history (and this
    /// call must not create it).
    async fn read_history(&self) -> Result<Vec<AppliedMigration>, BackendError>;

    /// Creates the history store (table, constraint, collection) when missing.
    async fn ensure_history(&self) -> Result<(), BackendError>;

    /// Takes the migration lock for `owner`, waiting at most `timeout`. A
    /// timeout names the current holder. The lock is held until
    /// [`Backend::unlock`] or until the backend is dropped.
    ///
    /// When this backend value already holds the lock, `lock` returns `Ok`
    /// at once: locks are not counted, and one `unlock` releases. (A lease
    /// that was lost is not held: `lock` then takes a new one.) Another
    /// backend value on the same database is another contender and waits.
    async fn lock(&self, owner: &str, timeout: Duration) -> Result<(), BackendError>;

    /// Releases the lock taken by [`Backend::lock`]; a no-op when not held.
    async fn unlock(&self) -> Result<(), BackendError>;

    /// Gives the lock up without waiting, from synchronous code: the
    /// runner's lock guard calls it when a run is dropped (cancelled) before
    /// it could call [`Backend::unlock`]. PostgreSQL drops its lock
    /// connection (ending the session releases the advisory lock). Added
    /// after the first trait draft, with a default so every backend still
    /// compiles: a lease-based lock may keep the default no-op, its lease
    /// expires on its own.
    fn abandon_lock(&self) {}

    /// Where to report the progress of steps that copy data (a progress
    /// bar); `None` stops reporting. The default ignores it: only Weaviate's
    /// `rebuild_collection` copies.
    fn observe_copies(&self, _observer: Option<CopyObserver>) {}

    /// Asks the database to stop the statement a step of this backend is
    /// running now (a cancelled run, see [`crate::runner::Cancel`]); the
    /// step then fails with [`BackendError::Cancelled`] and cleans up as on
    /// any error. Best effort and without waiting for the step: the default
    /// does nothing, and the step runs to its end.
    async fn interrupt(&self) {}

    /// Makes every step this backend applied so far durable. A backend may
    /// commit steps without waiting for the disk (PostgreSQL does, then
    /// flushes once); the runner calls this before another backend's step
    /// runs, so a crash can never keep a later step and lose an earlier
    /// one, and [`Backend::unlock`] flushes before the run reports success.
    async fn flush(&self) -> Result<(), BackendError> {
        Ok(())
    }

    /// Runs one step and records it: `Up` runs the up section and writes an
    /// applied record; `Down` runs the down section and removes the record.
    /// Atomic where the database allows; otherwise the record is written
    /// dirty before and clean after, so a failure leaves a dirty record.
    /// Returns the time the statements took.
    async fn apply(&self, step: &Step<'_>) -> Result<Duration, BackendError>;

    /// The exact calls [`Backend::apply`] would make for `step`, bookkeeping
    /// included, without touching the database.
    fn plan(&self, step: &Step<'_>) -> Result<Vec<PlannedCall>, BackendError>;

    /// Writes a clean history record or removes one, without running any
    /// migration statement (`stamp`, `repair`).
    async fn write_record(&self, change: RecordChange<'_>) -> Result<(), BackendError>;

    /// Finishes a step an interrupted run left dirty with recorded progress
    /// (`record.progress`), from where it stopped, and records it clean.
    /// `Ok(None)`: this backend cannot resume it (the default).
    async fn resume(
        &self,
        step: &Step<'_>,
        record: &AppliedMigration,
    ) -> Result<Option<Duration>, BackendError> {
        let _ = (step, record);
        Ok(None)
    }

    /// Writes several record changes as one unit (`stamp`, `adopt`): all or
    /// none where the database has transactions. The default writes them one
    /// by one, for a store without transactions.
    async fn write_records(&self, changes: &[RecordChange<'_>]) -> Result<(), BackendError> {
        for change in changes {
            self.write_record(*change).await?;
        }
        Ok(())
    }
}

/// What only tests and fixtures need from a backend (snapshots, scripts,
/// wiping): defined with the round-trip harness, re-exported here.
#[cfg(feature = "testing")]
pub use crate::testing::TestBackend;
