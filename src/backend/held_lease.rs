//! The lease a lease-locked backend (Neo4j, Weaviate) holds between `lock`
//! and `unlock`, and what both do with it: re-enter, keep, release, and
//! check it before each step.

use std::sync::{Mutex, MutexGuard};

use super::lease::{Lease, LeaseHandle};
use super::{Backend, BackendError, Step};

/// The lease a backend holds, if any.
#[derive(Debug, Default)]
pub(crate) struct HeldLease(Mutex<Option<Lease>>);

impl HeldLease {
    fn slot(&self) -> MutexGuard<'_, Option<Lease>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The held lease's handle, if any.
    pub fn handle(&self) -> Option<LeaseHandle> {
        self.slot().as_ref().map(Lease::handle)
    }

    /// True when a live lease is held, so `lock` is a no-op for its holder;
    /// otherwise a lost lease is abandoned, ready for a new one.
    pub fn still_held(&self) -> bool {
        if self.handle().is_some_and(|lease| !lease.is_lost()) {
            return true;
        }
        self.abandon();
        false
    }

    /// Keeps a lease just acquired.
    pub fn keep(&self, lease: Lease) {
        *self.slot() = Some(lease);
    }

    /// Stops renewing the lease and, when a runtime is at hand, releases it
    /// in the background; otherwise it lapses when it expires.
    pub fn abandon(&self) {
        let held = self.slot().take();
        if let Some(lease) = held {
            lease.abandon();
        }
    }

    /// Releases the lease on the server (nothing when none is held).
    pub async fn release(&self) -> Result<(), BackendError> {
        let held = self.slot().take();
        match held {
            Some(lease) => lease.release().await,
            None => Ok(()),
        }
    }

    /// Before a locked step: renews the lease on the server and re-reads the
    /// step's history record, which must still be what the runner saw
    /// ([`super::step_check::before_step`]). `None` when no lease is held.
    pub async fn before_step<B: Backend + ?Sized>(
        &self,
        backend: &B,
        step: &Step<'_>,
    ) -> Result<Option<LeaseHandle>, BackendError> {
        let Some(lease) = self.handle() else {
            return Ok(None);
        };
        super::step_check::before_step(backend, &lease, step).await?;
        Ok(Some(lease))
    }
}
