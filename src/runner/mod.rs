//! The runner: one algorithm for every backend. It reads each backend's
//! history, checks it against the binary's timeline (checksums, dirty
//! records, unknown revisions, gaps), and — only when something is pending
//! — locks, re-reads and applies the steps in order.

mod advice;
mod cancel;
mod checks;
mod error;
mod lock;
mod migrator;
mod offline;
mod plan;
mod progress;
mod repair;
mod report;
mod run;
mod stamp;
mod status;

pub use cancel::Cancel;
pub use error::RunError;
pub use migrator::{Migrator, Repair};
pub use offline::{plan_offline, OfflinePlan, PlannedSetup};
pub use progress::{Progress, ProgressObserver};
pub use repair::AcceptedChecksum;
pub use report::{BackendStatus, PlannedStep, Report, Status, StepReport};
