//! What the round-trip harness needs from a backend beyond storage: a
//! structured schema snapshot, running a fixture script, and wiping the
//! database to rebuild it from base. Implemented with each backend, beside
//! its storage code, and only with the `testing` feature.

use crate::backend::{Backend, BackendError};
use crate::migration::Migration;

use super::snapshot::SchemaSnapshot;

/// A [`Backend`] the stairway can test on.
#[async_trait::async_trait]
pub trait TestBackend: Backend {
    /// Every object of the schema, keyed by kind and qualified name, with
    /// the backend's own bookkeeping left out.
    async fn snapshot(&self) -> Result<SchemaSnapshot, BackendError>;

    /// Runs a script (a fixture) outside bookkeeping, with `migration`'s
    /// options (transaction mode) and file for messages.
    async fn execute_script(&self, migration: &Migration, script: &str)
        -> Result<(), BackendError>;

    /// Removes every object and the history, so the harness can rebuild a
    /// consistent state by applying ups from base after a failed down.
    /// Returns `false` when the backend cannot (a shared server).
    async fn reset(&self) -> Result<bool, BackendError> {
        Ok(false)
    }

    /// Removes the backend's own bookkeeping (history records, lock, and the
    /// labels, constraints or collections holding them), so a round trip on
    /// a shared server leaves nothing of its own behind.
    async fn remove_bookkeeping(&self) -> Result<(), BackendError> {
        Ok(())
    }
}
