//! Errors of a backend call.

/// A backend call failed. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The database answered with an error while running a migration statement.
    #[error("{path}:{line}: {message}")]
    Statement {
        /// The migration file.
        path: String,
        /// The 1-based line of the failing statement.
        line: u32,
        /// The database's message.
        message: String,
    },
    /// The lock could not be had in time.
    #[error("timed out after {waited:?} waiting for the migration lock on {location}, held by {holder}\n  help: wait for that run to finish, or wait longer for the lock with `--lock-wait-seconds` / `DBMIGRATE_LOCK_WAIT_SECONDS` (`Migrator::lock_timeout` in code; not the `Lock-Timeout` header, which bounds table locks); if it died, its lock is released when its session ends (PostgreSQL) or its lease expires")]
    LockTimeout {
        /// The database.
        location: String,
        /// Who holds it and since when.
        holder: String,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// The lease of a held lock was lost: it lapsed before it could be
    /// renewed (a stalled run) or a newer holder took it over.
    #[error("{location}: the migration lock (fencing token {fence}) was lost before this step could commit; nothing more was run\n  help: another run holds the lock now: run again; if steps stall longer than the lease, raise it with `--lease-seconds` / `DBMIGRATE_LEASE_SECONDS` (`lease` in code)")]
    LockLost {
        /// The database.
        location: String,
        /// The fencing token of the lost lease.
        fence: u64,
    },
    /// The database only reads (a PostgreSQL hot standby, or a session with
    /// `default_transaction_read_only`), so it cannot take the migration lock
    /// or apply anything; reported before any wait for the lock.
    #[error("{location}: {reason}: pending migrations cannot be applied here\n  help: migrate through the primary (point DATABASE_URL of one run, e.g. `cargo dbmigrate upgrade`, at it); replicas on the standby boot once it has replayed those migrations")]
    ReadOnly {
        /// The database.
        location: String,
        /// What makes it read-only (`connected to a read-only standby …`).
        reason: String,
    },
    /// The run was cancelled ([`crate::runner::Cancel`], e.g. on Ctrl-C):
    /// `at` is the statement the database stopped (`path:line`), or the
    /// step or lock wait that was not started.
    #[error("{at}: {}", if *started { "cancelled: the database stopped this statement" } else { "cancelled before this started" })]
    Cancelled {
        /// `path:line` of the stopped statement, the file of a step that did
        /// not start, or what was being waited for.
        at: String,
        /// Whether the step had started (its statement was stopped).
        started: bool,
    },
    /// Connecting or talking to the database failed.
    #[error("{location}: {message}")]
    Connection {
        /// The database.
        location: String,
        /// What failed.
        message: String,
    },
    /// The history store holds something unexpected.
    #[error("{location}: history is corrupt: {message}")]
    CorruptHistory {
        /// The database.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// One history record holds a value dbmigrate never writes (an unknown
    /// state, a time or duration that is not a count of milliseconds, a
    /// checksum that is not 64 hex digits); it is reported, never defaulted.
    #[error("{location}: the {backend} history record of `{revision_id}` is corrupt: {message}\n  help: dbmigrate did not write this value: correct the record in the database by hand, or delete it and record the revision again with `cargo dbmigrate stamp`")]
    CorruptRecord {
        /// The database.
        location: String,
        /// The backend holding the record.
        backend: crate::migration::BackendKind,
        /// The record's revision id.
        revision_id: String,
        /// What is wrong with it.
        message: String,
    },
    /// An operation is refused before anything runs.
    #[error("{path}: {message}")]
    Refused {
        /// The migration file.
        path: String,
        /// Why, and what to do instead.
        message: String,
    },
    /// The backend's cargo feature is off in this build.
    #[error("this build has no {backend} backend\n  help: enable the `{feature}` feature of dbmigrate-core")]
    NotCompiled {
        /// The backend's name.
        backend: &'static str,
        /// The cargo feature that compiles it.
        feature: &'static str,
    },
    /// The server answered a request with an error.
    #[error("{location}: {what} failed: {message}")]
    Rejected {
        /// The database.
        location: String,
        /// The request (`reading history`, `PUT /v1/schema/X`).
        what: String,
        /// The server's message.
        message: String,
    },
}
