//! The lock guard: locks backends in a fixed order and always releases
//! them, also when a step fails or the run is dropped half-way.

use std::time::Duration;

use crate::backend::{Backend, BackendError};

/// Holds the migration locks of the backends of one run.
pub(crate) struct LockGuard<'a> {
    held: Vec<&'a dyn Backend>,
    armed: bool,
}

impl<'a> LockGuard<'a> {
    /// Locks `backends` in the order given; on a failure releases the ones
    /// already taken and returns the error.
    pub async fn acquire(
        backends: Vec<&'a dyn Backend>,
        owner: &str,
        timeout: Duration,
    ) -> Result<LockGuard<'a>, BackendError> {
        let mut guard = LockGuard {
            held: Vec::with_capacity(backends.len()),
            armed: true,
        };
        for backend in backends {
            if let Err(error) = backend.lock(owner, timeout).await {
                // Best effort: the error that matters is the lock failure.
                let _ = guard.release().await;
                return Err(error);
            }
            guard.held.push(backend);
        }
        Ok(guard)
    }

    /// Unlocks every held backend, newest first; returns the first error
    /// after trying them all.
    pub async fn release(mut self) -> Result<(), BackendError> {
        self.armed = false;
        let mut first_error = None;
        for backend in self.held.iter().rev() {
            if let Err(error) = backend.unlock().await {
                tracing::warn!(backend = %backend.kind(), %error, "releasing the migration lock failed");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            for backend in &self.held {
                backend.abandon_lock();
            }
        }
    }
}
