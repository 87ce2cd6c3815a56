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

    /// A reader of this backend's snapshots for one run, one after another,
    /// that may keep a session and read only what changed since its previous
    /// snapshot; `None` (the default) reads the whole schema each time.
    fn snapshots(&self) -> Option<Box<dyn Snapshots + '_>> {
        None
    }

    /// Runs a script (a fixture) outside bookkeeping, with `migration`'s
    /// options (transaction mode) and file for messages.
    async fn execute_script(&self, migration: &Migration, script: &str)
        -> Result<(), BackendError>;

    /// Removes what the run made and its history records, so the harness
    /// can rebuild a consistent state by applying ups from base after a
    /// failed down. `None`: the run owns the whole database (PostgreSQL's
    /// scratch database: every object goes); `Some`: only what [`Owned`]
    /// names goes. Returns `false` when the backend cannot (the default).
    async fn reset(&self, _owned: Option<Owned<'_>>) -> Result<bool, BackendError> {
        Ok(false)
    }

    /// Removes the backend's own bookkeeping (history records, lock, and the
    /// labels, constraints or collections holding them), so a round trip on
    /// a shared server leaves nothing of its own behind.
    async fn remove_bookkeeping(&self) -> Result<(), BackendError> {
        Ok(())
    }
}

/// What a rebuild from base removes on a server the run shares: the run's
/// objects and the data of its labels, which the harness knows held nothing
/// before the first step (see [`super::Stairway::owns`]).
#[derive(Debug, Clone, Copy)]
pub struct Owned<'a> {
    /// The run's objects now: a snapshot narrowed by the run's scope.
    pub objects: &'a SchemaSnapshot,
    /// Neo4j labels and relationship types the migrations name: none was
    /// on the server before the run, so every relationship of those types
    /// and every node carrying only those labels is the run's; a node that
    /// also carries another label was there before and only loses these.
    pub labels: &'a [String],
    /// The run's migrations on this backend: their history records go.
    pub revisions: &'a [String],
}

/// Snapshots of one backend, read one after another during one run.
#[async_trait::async_trait]
pub trait Snapshots: Send {
    /// The schema now (equal to [`TestBackend::snapshot`]).
    async fn snapshot(&mut self) -> Result<SchemaSnapshot, BackendError>;

    /// Ends the run: closes any session it holds.
    async fn close(self: Box<Self>) {}
}

/// The backend's own [`Snapshots`], else one reading the whole schema.
pub(crate) fn snapshots_of(backend: &dyn TestBackend) -> Box<dyn Snapshots + '_> {
    backend
        .snapshots()
        .unwrap_or_else(|| Box::new(Whole(backend)))
}

/// Reads the whole schema every time.
struct Whole<'a, B: ?Sized>(&'a B);

#[async_trait::async_trait]
impl<B: TestBackend + ?Sized> Snapshots for Whole<'_, B> {
    async fn snapshot(&mut self) -> Result<SchemaSnapshot, BackendError> {
        self.0.snapshot().await
    }
}
