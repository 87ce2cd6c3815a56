//! The operations of a [`Migrator`]: upgrade, downgrade, plan, stamp,
//! status, repair, redo. Read without a lock, which may only conclude "up to
//! date"; otherwise lock, re-read and decide (gaps, dirty records,
//! divergence) from that read.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::backend::{AppliedMigration, Backend, RecordChange, RecordState, Step};
use crate::graph::History;
use crate::migration::{BackendKind, Direction, Migration};
use crate::target::Target;

use super::cancel;
use super::checks::{analyse, Analysis, Stored};
use super::error::RunError;
use super::lock::LockGuard;
use super::migrator::Migrator;
use super::plan::{resolve, revision_at, steps};
use super::report::{PlannedStep, Report, StepReport};

/// What a run does, decided from one read of the histories.
struct Decision<'h> {
    direction: Direction,
    target: usize,
    pending: Vec<&'h Migration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Apply,
    Plan,
    Stamp,
}

impl Migrator {
    /// Applies the pending migrations up to `target`.
    pub async fn upgrade(&self, target: Target) -> Result<Report, RunError> {
        self.run(Some(Direction::Up), &target, self.apply_mode())
            .await
    }

    /// Reverts applied migrations down to `target` (`Target::Relative(-1)`:
    /// the last one). Refused across an irreversible migration, and on a
    /// database that holds revisions newer than this binary.
    pub async fn downgrade(&self, target: Target) -> Result<Report, RunError> {
        self.run(Some(Direction::Down), &target, self.apply_mode())
            .await
    }

    /// The steps and exact calls an upgrade or downgrade would make, without
    /// locking or changing anything.
    pub async fn plan(&self, direction: Direction, target: Target) -> Result<Report, RunError> {
        self.run(Some(direction), &target, Mode::Plan).await
    }

    /// Records the history as if `target` had been reached, running nothing.
    pub async fn stamp(&self, target: Target) -> Result<Report, RunError> {
        self.run(None, &target, Mode::Stamp).await
    }

    /// Reverts the last applied migration and applies it again.
    pub async fn redo(&self) -> Result<Report, RunError> {
        let mut report = self.downgrade(Target::Relative(-1)).await?;
        let Some(revision_id) = report.from.clone() else {
            return Ok(report);
        };
        match self.upgrade(Target::Revision(revision_id)).await {
            Ok(up) => {
                report.applied.extend(up.applied);
                report.planned.extend(up.planned);
                report.history_reads += up.history_reads;
                report.to = up.to;
                Ok(report)
            }
            Err(RunError::Step {
                path,
                revision_id,
                backend,
                direction,
                help,
                report: up,
                cause,
            }) => {
                report.applied.extend(up.applied.iter().cloned());
                Err(RunError::Step {
                    path,
                    revision_id,
                    backend,
                    direction,
                    help,
                    report: Box::new(report),
                    cause,
                })
            }
            Err(other) => Err(other),
        }
    }

    fn apply_mode(&self) -> Mode {
        if self.options.dry_run {
            Mode::Plan
        } else {
            Mode::Apply
        }
    }

    pub(super) async fn read_all(&self, report: &mut Report) -> Result<Vec<Stored>, RunError> {
        let mut stored = Vec::with_capacity(self.backends.len());
        for backend in self.backends.values() {
            let records = backend.read_history().await?;
            report.history_reads += 1;
            stored.push(Stored {
                kind: backend.kind(),
                location: backend.location(),
                records,
            });
        }
        Ok(stored)
    }

    pub(super) async fn analyse_now(
        &self,
        history: &History,
        report: &mut Report,
    ) -> Result<(Vec<Stored>, Analysis), RunError> {
        let stored = self.read_all(report).await?;
        let configured: Vec<BackendKind> = self.backends.keys().copied().collect();
        let analysis = analyse(history, &stored, &configured);
        Ok((stored, analysis))
    }

    /// Refuses what must be refused, warns about a database ahead of us.
    fn admit(
        &self,
        analysis: Analysis,
        direction: Direction,
        report: &mut Report,
    ) -> Result<usize, RunError> {
        let position = analysis.position;
        report.ahead = analysis.ahead.iter().map(|(_, id)| id.clone()).collect();
        if let Some((location, _)) = analysis.ahead.first() {
            if direction == Direction::Down || !self.options.allow_ahead {
                return Err(RunError::Ahead {
                    location: location.clone(),
                    revisions: report.ahead.join(", "),
                });
            }
            tracing::warn!(
                %location,
                revisions = %report.ahead.join(", "),
                "the database holds revisions newer than this binary (rolling deploy?); nothing to do for them"
            );
        }
        match analysis.into_blocking_error() {
            Some(error) => Err(error),
            None => Ok(position),
        }
    }

    async fn run(
        &self,
        direction: Option<Direction>,
        target: &Target,
        mode: Mode,
    ) -> Result<Report, RunError> {
        let history = self.history()?;
        let mut report = Report {
            dry_run: mode == Mode::Plan,
            ..Report::default()
        };
        let (_, analysis) = self.analyse_now(history, &mut report).await?;
        if mode == Mode::Plan {
            let decision = self.decide(history, direction, target, analysis, &mut report)?;
            check_reversible(decision.direction, &decision.pending)?;
            report.planned = self.plan_steps(decision.direction, &decision.pending)?;
            report.to = revision_at(history, decision.target);
            return Ok(report);
        }
        // Without the lock, the histories may show another replica's run
        // half-way: a gap, a dirty record, a divergence may be gone a moment
        // later. So this read may only conclude "up to date"; anything else
        // is decided from a read taken under the lock.
        let clean = analysis.problems.is_empty() && analysis.dirty.is_empty();
        let mut unlocked = report.clone();
        let mut kinds = match self.decide(history, direction, target, analysis, &mut unlocked) {
            Ok(decision) if clean && decision.pending.is_empty() => return Ok(unlocked),
            Ok(decision) if clean => self.involved(&decision.pending)?,
            _ => BTreeSet::new(),
        };
        loop {
            if kinds.is_empty() {
                kinds = self.backends.keys().copied().collect();
            }
            let backends: Vec<&dyn Backend> =
                kinds.iter().map(|k| self.backends[k].as_ref()).collect();
            let guard = cancel::waiting(
                self.options.cancel.as_ref(),
                "waiting for the migration lock",
                LockGuard::acquire(
                    backends,
                    &self.options.applied_by,
                    self.options.lock_timeout,
                ),
            )
            .await?;
            report.locked = true;
            let result = self
                .run_locked(history, direction, target, mode, &kinds, &mut report)
                .await;
            let released = guard.release().await;
            match result {
                // The timeline moved while we waited: lock every backend.
                Ok(false) if kinds.len() < self.backends.len() => kinds.clear(),
                Ok(false) => return Err(RunError::HistoryMoved),
                Ok(true) => return released.map(|()| report).map_err(RunError::from),
                Err(error) => return Err(error),
            }
        }
    }

    /// What a run does from the histories just read: the direction, the
    /// target position and the pending steps; refuses what must be refused.
    fn decide<'h>(
        &self,
        history: &'h History,
        direction: Option<Direction>,
        target: &Target,
        analysis: Analysis,
        report: &mut Report,
    ) -> Result<Decision<'h>, RunError> {
        let position = analysis.position;
        let target = resolve(history, target, position)?;
        let direction = direction.unwrap_or(if target >= position {
            Direction::Up
        } else {
            Direction::Down
        });
        let position = self.admit(analysis, direction, report)?;
        report.from = revision_at(history, position);
        report.to = report.from.clone();
        report.n_already_applied = position;
        if direction == Direction::Up && target < position {
            return Err(wrong_direction(
                history,
                target,
                position,
                "before",
                "cargo dbmigrate downgrade",
            ));
        }
        let pending = steps(history, direction, position, target)?;
        Ok(Decision {
            direction,
            target,
            pending,
        })
    }

    /// Under the lock: reads again, decides, runs. `Ok(false)` when the
    /// pending steps need a backend that is not locked.
    async fn run_locked(
        &self,
        history: &History,
        direction: Option<Direction>,
        target: &Target,
        mode: Mode,
        kinds: &BTreeSet<BackendKind>,
        report: &mut Report,
    ) -> Result<bool, RunError> {
        for kind in kinds {
            self.backends[kind].ensure_history().await?;
        }
        if mode == Mode::Apply {
            self.resume_interrupted(history, kinds, report).await?;
        }
        let (_, analysis) = self.analyse_now(history, report).await?;
        let decision = self.decide(history, direction, target, analysis, report)?;
        if mode != Mode::Stamp {
            check_reversible(decision.direction, &decision.pending)?;
        }
        if !self.involved(&decision.pending)?.is_subset(kinds) {
            return Ok(false);
        }
        if mode == Mode::Stamp {
            self.stamp_locked(&decision.pending, decision.direction, report)
                .await?;
            report.to =
                decision
                    .pending
                    .last()
                    .map_or(report.to.clone(), |m| match decision.direction {
                        Direction::Up => Some(m.revision_id.clone()),
                        Direction::Down => m.parent.clone(),
                    });
            return Ok(true);
        }
        self.notify(super::Progress::Started {
            direction: decision.direction,
            n_steps: decision.pending.len(),
        });
        let mut previous: Option<BackendKind> = None;
        for (index, migration) in decision.pending.into_iter().enumerate() {
            // A crash must not keep this step and lose an earlier one.
            if let Some(kind) = previous.filter(|k| *k != migration.backend) {
                self.backends[&kind].flush().await?;
            }
            previous = Some(migration.backend);
            let direction = decision.direction;
            self.notify(super::Progress::StepStarted {
                migration,
                direction,
                index,
            });
            self.run_step(migration, decision.direction, mode, None, report)
                .await?;
            report.to = match decision.direction {
                Direction::Up => Some(migration.revision_id.clone()),
                Direction::Down => migration.parent.clone(),
            };
        }
        Ok(true)
    }

    /// Under the lock, before deciding: finishes every step an interrupted
    /// run left dirty with recorded progress (a Weaviate rebuild), when this
    /// binary has that migration unchanged.
    async fn resume_interrupted(
        &self,
        history: &History,
        kinds: &BTreeSet<BackendKind>,
        report: &mut Report,
    ) -> Result<(), RunError> {
        for kind in kinds {
            let backend = self.backends[kind].as_ref();
            let records = backend.read_history().await?;
            report.history_reads += 1;
            for record in records.iter().filter(|r| r.progress.is_some()) {
                let RecordState::Dirty(direction) = record.state else {
                    continue;
                };
                let Some(migration) = history.migrations().iter().find(|m| {
                    m.revision_id == record.revision_id && m.checksum.to_hex() == record.checksum
                }) else {
                    continue;
                };
                self.run_step(migration, direction, Mode::Apply, Some(record), report)
                    .await?;
            }
        }
        Ok(())
    }

    async fn run_step(
        &self,
        migration: &Migration,
        direction: Direction,
        mode: Mode,
        interrupted: Option<&AppliedMigration>,
        report: &mut Report,
    ) -> Result<(), RunError> {
        let backend = self.backends[&migration.backend].as_ref();
        let step = Step {
            migration,
            direction,
            applied_by: &self.options.applied_by,
        };
        let started = Instant::now();
        let result = match (mode, interrupted) {
            (Mode::Stamp, _) => backend
                .write_record(RecordChange::stamp(&step))
                .await
                .map(|()| started.elapsed()),
            (_, Some(record)) => match backend.resume(&step, record).await {
                Ok(Some(took)) => Ok(took),
                Ok(None) => return Ok(()),
                Err(error) => Err(error),
            },
            _ => cancel::apply(backend, &step, self.options.cancel.as_ref()).await,
        };
        let progress = match &result {
            Err(_) if !backend.capabilities().transactional_ddl => {
                recorded_progress(backend, &migration.revision_id).await
            }
            _ => None,
        };
        match result {
            Ok(_) => {
                let duration = started.elapsed();
                tracing::info!(
                    revision = %migration.revision_id,
                    backend = %migration.backend,
                    direction = ?direction,
                    duration_ms = duration.as_millis() as u64,
                    stamp = mode == Mode::Stamp,
                    "{} {}", if direction == Direction::Up { "applied" } else { "reverted" }, migration.file_name
                );
                let step = StepReport::new(migration, direction, duration);
                self.notify(super::Progress::StepFinished(&step));
                report.applied.push(step);
                Ok(())
            }
            Err(source) => Err(RunError::Step {
                help: match (&source, progress) {
                    (crate::backend::BackendError::LockLost { .. }, _) => lost_help(migration),
                    (_, Some(progress)) => format!(
                        "{progress}: run `cargo dbmigrate upgrade` again (once the cause is fixed), which resumes it from there"
                    ),
                    (crate::backend::BackendError::Cancelled { started, .. }, None) => cancel::help(
                        migration,
                        direction,
                        backend.capabilities().transactional_ddl,
                        *started,
                    ),
                    _ => {
                        let ddl = backend.capabilities().transactional_ddl;
                        super::advice::failure_help(
                            step_help(migration, direction, ddl),
                            migration,
                            direction,
                            ddl && migration.options.transaction
                                == crate::migration::TransactionMode::Single,
                            &source,
                        )
                    }
                },
                path: migration.path.clone(),
                revision_id: migration.revision_id.clone(),
                backend: migration.backend,
                direction: direction.verb(),
                report: Box::new(report.clone()),
                cause: Box::new(source),
            }),
        }
    }

    fn involved(&self, pending: &[&Migration]) -> Result<BTreeSet<BackendKind>, RunError> {
        let mut kinds = BTreeSet::new();
        for migration in pending {
            if !self.backends.contains_key(&migration.backend) {
                return Err(RunError::MissingBackend {
                    path: migration.path.clone(),
                    revision_id: migration.revision_id.clone(),
                    backend: migration.backend,
                });
            }
            kinds.insert(migration.backend);
        }
        Ok(kinds)
    }

    fn plan_steps(
        &self,
        direction: Direction,
        pending: &[&Migration],
    ) -> Result<Vec<PlannedStep>, RunError> {
        let mut planned = Vec::with_capacity(pending.len());
        for migration in pending {
            let step = Step {
                migration,
                direction,
                applied_by: &self.options.applied_by,
            };
            let calls = self.backends[&migration.backend].plan(&step)?;
            planned.push(PlannedStep {
                revision_id: migration.revision_id.clone(),
                file_name: migration.file_name.clone(),
                message: migration.message.clone(),
                backend: migration.backend,
                direction,
                calls,
            });
        }
        Ok(planned)
    }
}

fn wrong_direction(
    history: &History,
    target: usize,
    position: usize,
    side: &'static str,
    command: &'static str,
) -> RunError {
    RunError::WrongDirection {
        target: super::plan::revision_name(history, target),
        side,
        current: super::plan::revision_name(history, position),
        command,
    }
}

fn check_reversible(direction: Direction, pending: &[&Migration]) -> Result<(), RunError> {
    match pending
        .iter()
        .find(|m| direction == Direction::Down && m.options.irreversible)
    {
        Some(m) => Err(RunError::Irreversible {
            path: m.path.clone(),
            revision_id: m.revision_id.clone(),
        }),
        None => Ok(()),
    }
}

/// The progress a failed step recorded in its dirty record, if any.
async fn recorded_progress(backend: &dyn Backend, revision_id: &str) -> Option<String> {
    let records = backend.read_history().await.ok()?;
    let record = records.into_iter().find(|r| r.revision_id == revision_id)?;
    record.progress.map(|p| p.summary)
}

/// What a failed step left behind: nothing (its transaction rolled back), or
/// a dirty record to resolve by hand; worded for the step's direction.
fn step_help(migration: &Migration, direction: Direction, transactional_ddl: bool) -> String {
    let id = &migration.revision_id;
    let atomic = transactional_ddl
        && migration.options.transaction == crate::migration::TransactionMode::Single;
    match (atomic, direction) {
        (true, Direction::Up) => format!(
            "nothing of `{id}` was applied (its transaction rolled back); fix {} and run again",
            migration.path
        ),
        (true, Direction::Down) => format!(
            "`{id}` is still applied: its down section's transaction rolled back; fix the down section of {} and run again",
            migration.path
        ),
        (false, Direction::Up) => format!(
            "`{id}` may be half-applied and is recorded dirty: check which of its statements took effect, \
             then run `cargo dbmigrate repair {id} --applied` (all in place) or `--forget` (none in place)"
        ),
        (false, Direction::Down) => format!(
            "`{id}` may be half-reverted and is recorded dirty: check which of its down statements took effect, \
             then run `cargo dbmigrate repair {id} --forget` (all reverted) or `--applied` (none reverted)"
        ),
    }
}

/// A run fenced out of `migration`: what it left and who carries on.
fn lost_help(migration: &Migration) -> String {
    format!(
        "this run stalled longer than its lease and another run took the lock over, so it stopped \
         before `{}` could commit (a step it had started may be recorded dirty); the run holding \
         the lock now carries on: check `cargo dbmigrate status` once it finishes",
        migration.revision_id
    )
}
