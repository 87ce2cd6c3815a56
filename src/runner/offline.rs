//! Alembic's offline mode: the script of a run from one revision to another,
//! planned without any connection, for a DBA to run by hand.

use crate::backend::{ConnectOptions, PlannedCall, Step};
use crate::graph::History;
use crate::migration::{BackendKind, Direction};
use crate::target::Target;

use super::error::RunError;
use super::report::PlannedStep;

/// The calls of a run between two revisions, planned without a connection.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfflinePlan {
    /// The revision the script starts from (`None`: base).
    pub from: Option<String>,
    /// The revision it ends at (`None`: base).
    pub to: Option<String>,
    /// Up (an upgrade range) or down (a downgrade range).
    pub direction: Direction,
    /// Per backend the script writes to (upgrades only), the calls that
    /// create its history store when missing, as the runner does first.
    pub setup: Vec<PlannedSetup>,
    /// The steps in timeline order (newest first for a downgrade), each
    /// with its exact calls, bookkeeping included.
    pub steps: Vec<PlannedStep>,
}

/// The calls that create one backend's history store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedSetup {
    /// The backend.
    pub backend: BackendKind,
    /// Its calls.
    pub calls: Vec<PlannedCall>,
}

/// Plans the run from `from` to `to` (an earlier `to` is a downgrade)
/// without connecting: `options` are the project's connection settings
/// (history table, timeouts), `applied_by` what the records say ran them.
/// A downgrade across an irreversible migration is refused.
pub fn plan_offline(
    history: &History,
    from: &Target,
    to: &Target,
    options: &ConnectOptions,
    applied_by: &str,
) -> Result<OfflinePlan, RunError> {
    let start = super::plan::resolve(history, from, 0)?;
    let end = super::plan::resolve(history, to, start)?;
    let direction = if end < start {
        Direction::Down
    } else {
        Direction::Up
    };
    let migrations = super::plan::steps(history, direction, start, end)?;
    if let Some(m) = migrations
        .iter()
        .find(|m| direction == Direction::Down && m.options.irreversible)
    {
        return Err(RunError::Irreversible {
            path: m.path.clone(),
            revision_id: m.revision_id.clone(),
        });
    }
    let mut steps = Vec::with_capacity(migrations.len());
    for migration in migrations {
        let step = Step {
            migration,
            direction,
            applied_by,
        };
        let connector = migration.backend.descriptor().connector;
        steps.push(PlannedStep {
            revision_id: migration.revision_id.clone(),
            file_name: migration.file_name.clone(),
            message: migration.message.clone(),
            backend: migration.backend,
            direction,
            calls: (connector.plan_offline)(options, &step)?,
        });
    }
    let mut setup = Vec::new();
    if direction == Direction::Up {
        for descriptor in &crate::backend::DESCRIPTORS {
            if steps.iter().any(|s| s.backend == descriptor.kind) {
                setup.push(PlannedSetup {
                    backend: descriptor.kind,
                    calls: (descriptor.connector.setup_offline)(options)?,
                });
            }
        }
    }
    Ok(OfflinePlan {
        from: super::plan::revision_at(history, start),
        to: super::plan::revision_at(history, end),
        direction,
        setup,
        steps,
    })
}
