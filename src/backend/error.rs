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
    #[error("timed out after {waited:?} waiting for the migration lock on {location}, held by {holder}\n  help: wait for that run to finish; if it died, its lock is released when its session ends (PostgreSQL) or its lease expires")]
    LockTimeout {
        /// The database.
        location: String,
        /// Who holds it and since when.
        holder: String,
        /// How long we waited.
        waited: std::time::Duration,
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
    /// Any other database error.
    #[error("{0}")]
    Other(String),
}
