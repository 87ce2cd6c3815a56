//! The persisted progress of a `rebuild_collection`: its phase and copy
//! cursor, written into the step's dirty history record after every phase
//! change and every batch, so that `upgrade` resumes an interrupted rebuild
//! where it stopped and every message names the collection holding the data.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::client::WeaviateClient;
use super::history;
use crate::backend::lease::LeaseHandle;
use crate::backend::{BackendError, CopyObserver, CopyProgress, RecordState, StepProgress};
use crate::migration::{Direction, Migration};

/// Where a rebuild is, in the order it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebuildPhase {
    /// Copying the original's objects into the temporary collection.
    CopyingOut,
    /// Every object is in the temporary collection; the original is intact.
    CopiedOut,
    /// The original was deleted: the temporary collection holds the only copy.
    OriginalDropped,
    /// The original was recreated with the new schema, still empty.
    Recreated,
    /// Copying the objects back into the original.
    CopyingBack,
    /// Every object is back; the temporary collection is a leftover copy.
    CopiedBack,
    /// The temporary collection was deleted: the rebuild is complete.
    TempDropped,
}

/// A rebuild's progress as recorded in the dirty history record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildProgress {
    /// Index of the `rebuild_collection` operation in its section.
    pub op: usize,
    /// The collection being rebuilt.
    pub collection: String,
    /// The temporary collection.
    pub temp: String,
    /// The phase reached.
    pub phase: RebuildPhase,
    /// Objects copied in the current copy phase.
    pub done: u64,
    /// Objects to copy in the current copy phase, when known.
    pub total: Option<u64>,
    /// Index of the tenant being copied (0 without multi-tenancy).
    pub tenant: usize,
    /// The id of the last object copied of that tenant: the copy's cursor.
    pub after: Option<String>,
}

impl RebuildProgress {
    /// The state of a rebuild that is about to start.
    pub fn start(op: usize, collection: &str, temp: &str, total: Option<u64>) -> Self {
        RebuildProgress {
            op,
            collection: collection.to_string(),
            temp: temp.to_string(),
            phase: RebuildPhase::CopyingOut,
            done: 0,
            total,
            tenant: 0,
            after: None,
        }
    }

    /// Moves on to `phase`, resetting the copy cursor.
    pub fn enter(&mut self, phase: RebuildPhase) {
        self.phase = phase;
        self.tenant = 0;
        self.after = None;
    }

    /// The collection holding the only copy of some objects, if any.
    pub fn only_copy(&self) -> Option<&str> {
        use RebuildPhase::*;
        matches!(self.phase, OriginalDropped | Recreated | CopyingBack)
            .then_some(self.temp.as_str())
    }

    fn count(&self) -> String {
        match self.total {
            Some(total) => format!("{}/{total}", self.done),
            None => self.done.to_string(),
        }
    }

    /// For people: what was done and where the objects are now.
    pub fn summary(&self) -> String {
        let (c, t) = (&self.collection, &self.temp);
        let what = format!("the rebuild of `{c}` (operation {})", self.op + 1);
        match self.phase {
            RebuildPhase::CopyingOut => format!(
                "{what} stopped copying out ({} objects) into `{t}`; `{c}` is unchanged and `{t}` holds a partial copy",
                self.count()
            ),
            RebuildPhase::CopiedOut => format!(
                "{what} copied all {} objects into `{t}`; `{c}` is unchanged",
                self.done
            ),
            RebuildPhase::OriginalDropped => {
                format!("{what} deleted `{c}`: its objects are only in `{t}`")
            }
            RebuildPhase::Recreated => {
                format!("{what} recreated `{c}` empty: its objects are only in `{t}`")
            }
            RebuildPhase::CopyingBack => format!(
                "{what} stopped copying back ({} objects) from `{t}` into `{c}`: the rest are only in `{t}`",
                self.count()
            ),
            RebuildPhase::CopiedBack => format!(
                "{what} copied every object back into `{c}`; `{t}` is a leftover copy"
            ),
            RebuildPhase::TempDropped => format!("{what} finished (`{t}` deleted)"),
        }
    }

    /// The progress as the runner shows it.
    pub fn to_step_progress(&self) -> StepProgress {
        StepProgress {
            summary: self.summary(),
            only_copy: self.only_copy().map(str::to_string),
            state: serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

/// Called after every recorded rebuild progress; returning `true` makes the
/// rebuild stop there at once, as if the process had been killed right
/// after writing it (no clean-up). For fault tests.
#[derive(Clone)]
pub struct FaultHook(Arc<FaultFn>);

/// The function inside a [`FaultHook`].
type FaultFn = dyn Fn(&RebuildProgress) -> bool + Send + Sync;

impl FaultHook {
    /// A hook from a function.
    pub fn new(hook: impl Fn(&RebuildProgress) -> bool + Send + Sync + 'static) -> FaultHook {
        FaultHook(Arc::new(hook))
    }

    fn fires(&self, progress: &RebuildProgress) -> bool {
        (self.0)(progress)
    }
}

impl std::fmt::Debug for FaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaultHook")
    }
}

/// Why a rebuild (or any operation) stopped: the server refused a call, or
/// the lease was lost before one.
#[derive(Debug)]
pub enum Stop {
    /// A call failed; the message says which.
    Failed(String),
    /// The lease is lost: no further call was made.
    Fenced(BackendError),
}

impl From<String> for Stop {
    fn from(message: String) -> Self {
        Stop::Failed(message)
    }
}

/// Writes a step's dirty record with its progress, and fences each call.
pub struct Recorder<'a> {
    /// The client.
    pub client: &'a WeaviateClient,
    /// The history collection.
    pub history_class: &'a str,
    /// The step's migration.
    pub migration: &'a Migration,
    /// The step's direction.
    pub direction: Direction,
    /// Who runs it.
    pub applied_by: &'a str,
    /// The held lease, if any.
    pub lease: Option<&'a LeaseHandle>,
    /// The fault tests' hook.
    pub fault: Option<&'a FaultHook>,
    /// Where copy progress goes (a progress bar), if anywhere.
    pub copies: Option<CopyObserver>,
}

/// The observer of copy progress a backend was given (see
/// [`Backend::observe_copies`](crate::backend::Backend::observe_copies)).
#[derive(Default)]
pub struct CopyWatch(std::sync::Mutex<Option<CopyObserver>>);

impl CopyWatch {
    /// Replaces the observer.
    pub fn set(&self, observer: Option<CopyObserver>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = observer;
    }

    /// The observer, if any.
    pub fn get(&self) -> Option<CopyObserver> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl std::fmt::Debug for CopyWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CopyWatch")
    }
}

impl Recorder<'_> {
    /// Fails when the lease is lost or no longer trusted: the check right
    /// before each call of a step.
    pub fn fence(&self) -> Result<(), Stop> {
        match self.lease {
            Some(lease) => lease.check().map_err(Stop::Fenced),
            None => Ok(()),
        }
    }

    /// Records `progress` (or none) in the step's dirty record.
    pub async fn save(&self, progress: Option<&RebuildProgress>) -> Result<(), Stop> {
        self.fence()?;
        let state = RecordState::Dirty(self.direction);
        let text = progress.map(|p| serde_json::to_string(p).unwrap_or_default());
        history::put(
            self.client,
            self.history_class,
            self.migration,
            state,
            self.applied_by,
            std::time::Duration::ZERO,
            text.as_deref(),
        )
        .await
        .map_err(|e| Stop::Failed(e.to_string()))?;
        if let (Some(observer), Some(progress)) = (&self.copies, progress) {
            let back = match progress.phase {
                RebuildPhase::CopyingOut => Some(false),
                RebuildPhase::CopyingBack => Some(true),
                _ => None,
            };
            if let Some(back) = back {
                observer(&CopyProgress {
                    collection: progress.collection.clone(),
                    back,
                    done: progress.done,
                    total: progress.total,
                });
            }
        }
        match (self.fault, progress) {
            (Some(fault), Some(progress)) if fault.fires(progress) => Err(Stop::Failed(format!(
                "injected fault after recording: {}",
                progress.summary()
            ))),
            _ => Ok(()),
        }
    }
}
