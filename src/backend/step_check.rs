//! The check a lease-locked backend (Neo4j, Weaviate) runs before each
//! step: renew the lease on the server, then re-read the step's history
//! record, which must still be what the runner saw.

use super::lease::{Checkpoint, LeaseHandle};
use super::{Backend, BackendError, RecordState, Step};
use crate::migration::Direction;

/// Renews `lease` and checks `step`'s record on `backend`: absent before an
/// upgrade, cleanly applied before a downgrade. Anything else means another
/// run took over, reported as the lease's [`BackendError::LockLost`].
pub(crate) async fn before_step<B: Backend + ?Sized>(
    backend: &B,
    lease: &LeaseHandle,
    step: &Step<'_>,
) -> Result<(), BackendError> {
    let revision_id = &step.migration.revision_id;
    lease.checkpoint(Checkpoint::BeforeStep, revision_id).await;
    lease.ensure().await?;
    let records = backend.read_history().await?;
    let record = records.iter().find(|r| &r.revision_id == revision_id);
    let expected = match step.direction {
        Direction::Up => record.is_none(),
        Direction::Down => record.is_some_and(|r| r.state == RecordState::Applied),
    };
    if !expected {
        tracing::error!(revision = %revision_id, "the step's history record changed under a held lock");
        return Err(lease.lost_error());
    }
    Ok(())
}
