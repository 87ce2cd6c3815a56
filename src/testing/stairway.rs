//! The stairway: for each migration in timeline order, on the backend it
//! touches — snapshot, upgrade, snapshot, downgrade, compare with the first
//! snapshot, upgrade again, compare with the second. One pass: the last
//! snapshot of a step is the first of the next, so the cost grows linearly
//! with the number of migrations.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::migration::{BackendKind, Direction, Migration, TransactionMode};
use crate::runner::Cancel;

use super::backend::{Snapshots, TestBackend};
use super::error::RoundTripError;
use super::fixtures::{FixturePhase, Fixtures};
use super::judge::{judge, Policy};
use super::report::StairwayReport;
use super::snapshot::SchemaSnapshot;
use super::step::{StepReport, Verdict};

mod moves;

use moves::{ensure_history, failed};

const APPLIED_BY: &str = "dbmigrate-stairway";

/// Narrows a snapshot to what a stairway is about (see [`Stairway::scope`]).
pub type Scope<'a> = Box<dyn Fn(SchemaSnapshot) -> SchemaSnapshot + Send + Sync + 'a>;

/// What a running stairway tells its caller, as it happens.
#[derive(Debug, Clone, Copy)]
pub enum StairwayEvent<'r> {
    /// Step `index` (0-based) of `total` starts.
    Started {
        /// Position in the timeline, from 0.
        index: usize,
        /// Number of migrations.
        total: usize,
        /// The migration.
        migration: &'r Migration,
    },
    /// Step `index` ended.
    Finished {
        /// Position in the timeline, from 0.
        index: usize,
        /// Number of migrations.
        total: usize,
        /// What it found.
        step: &'r StepReport,
    },
}

type Rewrite<'a> = Box<dyn Fn(&str) -> String + Send + Sync + 'a>;
type Listener<'a> = Box<dyn Fn(StairwayEvent<'_>) + Send + Sync + 'a>;

/// A database under test.
struct Floor<'a> {
    backend: &'a dyn TestBackend,
    scope: Option<Scope<'a>>,
    /// Its snapshots during a run (opened at the first one).
    snapshots: tokio::sync::Mutex<Option<Box<dyn Snapshots + 'a>>>,
    /// Labels whose data the run owns on a shared server ([`Stairway::owns`]).
    owned_labels: Option<Vec<String>>,
    /// Whether the (scoped) snapshot before the floor's first step was empty.
    base_clear: std::sync::OnceLock<bool>,
}

/// The round-trip harness. Build it with the migrations (timeline order) and
/// one backend per kind they touch, then [`Stairway::run`] it:
///
/// ```no_run
/// # #[cfg(all(feature = "postgres", feature = "neo4j"))]
/// # async fn round_trip(
/// #     history: &dbmigrate_core::History,
/// #     pg_backend: &dbmigrate_core::backend::postgres::PostgresBackend,
/// #     neo4j_backend: &dbmigrate_core::backend::neo4j::Neo4jBackend,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// # use dbmigrate_core::testing::Stairway;
/// let report = Stairway::new(history.migrations())
///     .backend(pg_backend)
///     .backend(neo4j_backend)
///     .fixtures("tests/fixtures/roundtrip/edututor")
///     .run()
///     .await?;
/// for step in &report.steps {
///     insta::assert_snapshot!(step.snapshot_name(), step.snapshot_text());
/// }
/// # Ok(())
/// # }
/// ```
pub struct Stairway<'a> {
    migrations: &'a [Migration],
    floors: Vec<Floor<'a>>,
    fixtures: Fixtures,
    rewrite: Option<Rewrite<'a>>,
    keep_going: bool,
    policy: Policy,
    listener: Option<Listener<'a>>,
    cancel: Option<Cancel>,
}

impl<'a> Stairway<'a> {
    /// A stairway over `migrations`, which must be in timeline order from base.
    pub fn new(migrations: &'a [Migration]) -> Stairway<'a> {
        Stairway {
            migrations,
            floors: Vec::new(),
            fixtures: Fixtures::default(),
            rewrite: None,
            keep_going: false,
            policy: Policy::default(),
            listener: None,
            cancel: None,
        }
    }

    /// Adds a backend; its schema is read with [`TestBackend::snapshot`].
    pub fn backend(mut self, backend: &'a dyn TestBackend) -> Self {
        self.floors.push(Floor {
            backend,
            scope: None,
            snapshots: tokio::sync::Mutex::new(None),
            owned_labels: None,
            base_clear: std::sync::OnceLock::new(),
        });
        self
    }

    /// Narrows every snapshot of the `kind` backend with `scope`, e.g. to the
    /// labels or collections of the migrations under test when the server is
    /// shared with other tests (Neo4j Community has a single database).
    pub fn scope(
        mut self,
        kind: BackendKind,
        scope: impl Fn(SchemaSnapshot) -> SchemaSnapshot + Send + Sync + 'a,
    ) -> Self {
        if let Some(floor) = self
            .floors
            .iter_mut()
            .find(|floor| floor.backend.kind() == kind)
        {
            floor.scope = Some(Box::new(scope));
        }
        self
    }

    /// Declares that on the `kind` backend (a server shared with others,
    /// narrowed with [`Stairway::scope`], which must keep names as the
    /// server spells them) the run owns every object its scope keeps and
    /// what carries `labels` (see [`Owned`](super::Owned)): the caller has checked that
    /// none was there before. When the scoped snapshot before its first
    /// step is empty too, a failed down there is rebuilt from base
    /// ([`Stairway::keep_going`]) by removing those and the run's history
    /// records ([`TestBackend::reset`]); otherwise the run stops at such a
    /// step, as it does on a backend without this declaration.
    pub fn owns(mut self, kind: BackendKind, labels: Vec<String>) -> Self {
        if let Some(floor) = self
            .floors
            .iter_mut()
            .find(|floor| floor.backend.kind() == kind)
        {
            floor.owned_labels = Some(labels);
        }
        self
    }

    /// Reads data fixtures from `dir` (see [`Fixtures`]).
    pub fn fixtures(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        self.fixtures = Fixtures::from_dir(dir);
        self
    }

    /// Rewrites every fixture script before it runs: pair it with migrations
    /// renamed the same way (labels, collections) so that runs sharing a
    /// server do not see each other, and a [`Stairway::scope`] that undoes it.
    pub fn rewrite_fixtures(mut self, rewrite: impl Fn(&str) -> String + Send + Sync + 'a) -> Self {
        self.rewrite = Some(Box::new(rewrite));
        self
    }

    /// Continues past a failing step: the report then holds every
    /// migration's verdict, and [`Stairway::run`] returns it instead of the
    /// first failure. After a failed down the database is rebuilt from base.
    pub fn keep_going(mut self, keep_going: bool) -> Self {
        self.keep_going = keep_going;
        self
    }

    /// Makes column position changes fail instead of being noted.
    pub fn strict(mut self, strict: bool) -> Self {
        self.policy.strict = strict;
        self
    }

    /// Stops the run once `cancel` fires (Ctrl-C): the running up or down is
    /// abandoned (its session ends when the caller drops the scratch
    /// database), no other move starts, and [`Stairway::run`] returns
    /// [`RoundTripError::Interrupted`] (the steps finished so far were
    /// reported to the listener).
    pub fn cancel_on(mut self, cancel: Cancel) -> Self {
        self.cancel = Some(cancel);
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(Cancel::is_cancelled)
    }

    /// Calls `listener` as each step starts and ends (progress output).
    pub fn on_event(mut self, listener: impl Fn(StairwayEvent<'_>) + Send + Sync + 'a) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Runs every step. Without [`Stairway::keep_going`] it stops at the
    /// first failing migration and returns [`RoundTripError::StepFailed`].
    pub async fn run(&self) -> Result<StairwayReport, RoundTripError> {
        let result = self.climb_all().await;
        for floor in &self.floors {
            if let Some(snapshots) = floor.snapshots.lock().await.take() {
                snapshots.close().await;
            }
        }
        result
    }

    async fn climb_all(&self) -> Result<StairwayReport, RoundTripError> {
        let mut report = StairwayReport::default();
        for migration in self.migrations {
            self.floor(migration)?;
        }
        for floor in &self.floors {
            let started = Instant::now();
            ensure_history(floor.backend, "base").await?;
            *report
                .time_per_backend
                .entry(floor.backend.kind())
                .or_default() += started.elapsed();
        }
        let mut current: BTreeMap<BackendKind, SchemaSnapshot> = BTreeMap::new();
        let total = self.migrations.len();
        for (index, migration) in self.migrations.iter().enumerate() {
            if self.cancelled() {
                return Err(RoundTripError::Interrupted);
            }
            self.emit(StairwayEvent::Started {
                index,
                total,
                migration,
            });
            let started = Instant::now();
            let climbed = self.climb(migration, &mut current).await;
            // A move cut short reads as a failed step: it was not judged.
            if self.cancelled() {
                return Err(RoundTripError::Interrupted);
            }
            let (mut step, inconsistent) = climbed?;
            step.settle();
            step.elapsed = started.elapsed();
            *report
                .time_per_backend
                .entry(migration.backend)
                .or_default() += step.elapsed;
            self.emit(StairwayEvent::Finished {
                index,
                total,
                step: &step,
            });
            let mut stop =
                step.verdict == Verdict::UpFailed || (step.verdict.failed() && !self.keep_going);
            report.steps.push(step);
            // The step is judged and reported before its database is rebuilt:
            // a rebuild that fails stops the run, but keeps this verdict.
            if inconsistent && !stop {
                let started = Instant::now();
                let rebuilt = self.rebuild(self.floor(migration)?, index).await;
                if self.cancelled() {
                    return Err(RoundTripError::Interrupted);
                }
                match rebuilt? {
                    Some(snapshot) => {
                        if let Some(step) = report.steps.last_mut() {
                            step.rebuilt = true;
                        }
                        current.insert(migration.backend, snapshot);
                    }
                    None => stop = true,
                }
                *report
                    .time_per_backend
                    .entry(migration.backend)
                    .or_default() += started.elapsed();
            }
            if stop {
                break;
            }
        }
        report.fill_not_run(self.migrations);
        match report.steps.iter().position(|step| step.verdict.failed()) {
            Some(failed) if !self.keep_going => Err(RoundTripError::StepFailed {
                step: Box::new(report.steps[failed].clone()),
                report: Box::new(report),
            }),
            _ => Ok(report),
        }
    }

    fn emit(&self, event: StairwayEvent<'_>) {
        if let Some(listener) = &self.listener {
            listener(event);
        }
    }

    fn floor(&self, migration: &Migration) -> Result<&Floor<'a>, RoundTripError> {
        self.floors
            .iter()
            .find(|floor| floor.backend.kind() == migration.backend)
            .ok_or_else(|| RoundTripError::NoBackend {
                path: migration.path.clone(),
                backend: migration.backend,
            })
    }

    /// One migration: the five moves of the round trip, judged; `true`
    /// when it left its database inconsistent, so that it must be rebuilt
    /// from base before the run goes on.
    async fn climb(
        &self,
        migration: &Migration,
        current: &mut BTreeMap<BackendKind, SchemaSnapshot>,
    ) -> Result<(StepReport, bool), RoundTripError> {
        let floor = self.floor(migration)?;
        let mut step = StepReport::new(migration, Verdict::Ok);
        step.before = match current.remove(&migration.backend) {
            Some(snapshot) => snapshot,
            None => self.snapshot(floor, migration).await?,
        };
        floor
            .base_clear
            .get_or_init(|| step.before.objects().is_empty());
        self.run_fixtures(migration, FixturePhase::Before).await?;
        match self.apply(floor, migration, Direction::Up).await {
            Ok(time) => step.up = time,
            Err(error) => return Ok((failed(step, Verdict::UpFailed, error), false)),
        }
        step.after = self.snapshot(floor, migration).await?;
        self.run_fixtures(migration, FixturePhase::After).await?;
        if migration.options.irreversible {
            step.verdict = Verdict::Irreversible;
            current.insert(migration.backend, step.after.clone());
            return Ok((step, false));
        }
        let (consistent, last) = self.down_and_up(floor, migration, &mut step).await?;
        if consistent {
            // The schema as the step left it is the next step's "before"
            // (unless an after-fixture ran since, which may change it).
            let fixtures = self
                .fixtures
                .for_step(&migration.revision_id, FixturePhase::After);
            if let (Some(last), Ok(fixtures)) = (last, fixtures) {
                if fixtures.is_empty() {
                    current.insert(migration.backend, last);
                }
            }
        }
        Ok((step, !consistent))
    }

    /// Down, compare, up again, compare. Returns whether the database is
    /// left in the state the first upgrade made (else it must be rebuilt),
    /// and the last snapshot taken, which shows the database as left.
    async fn down_and_up(
        &self,
        floor: &Floor<'_>,
        migration: &Migration,
        step: &mut StepReport,
    ) -> Result<(bool, Option<SchemaSnapshot>), RoundTripError> {
        match self.apply(floor, migration, Direction::Down).await {
            Ok(time) => step.down = Some(time),
            Err(error) => {
                *step = failed(step.clone(), Verdict::DownFailed, error);
                let now = self.snapshot(floor, migration).await?;
                // Only a down that ran in one PostgreSQL transaction is
                // known to have changed nothing: elsewhere data statements
                // may have run before the failure, unseen by a snapshot.
                let unchanged = now.fingerprint() == step.after.fingerprint();
                return Ok((rolls_back(migration) && unchanged, Some(now)));
            }
        }
        let downgraded = self.snapshot(floor, migration).await?;
        step.downgrade = judge(&step.before, &downgraded, &self.policy);
        match self.apply(floor, migration, Direction::Up).await {
            Ok(time) => step.reup = Some(time),
            Err(error) => {
                *step = failed(step.clone(), Verdict::NotInverse, error);
                step.error = step.error.take().map(|e| format!("upgrading again: {e}"));
                // A down with no statement (a comment only, as real histories
                // hold by the dozen) changed nothing but its history record, and
                // a second up that failed in one PostgreSQL transaction changed
                // nothing: when the schema is the first up's, the next step can
                // run on it, without a rebuild from base.
                if !runs_nothing(migration, Direction::Down) || !rolls_back(migration) {
                    return Ok((false, None));
                }
                let now = self.snapshot(floor, migration).await?;
                let unchanged = now.fingerprint() == step.after.fingerprint();
                return Ok((unchanged, Some(now)));
            }
        }
        let again = self.snapshot(floor, migration).await?;
        step.reupgrade = judge(&step.after, &again, &self.policy);
        if !step.downgrade.passes() || !step.reupgrade.passes() {
            step.verdict = Verdict::NotInverse;
        }
        self.run_fixtures(migration, FixturePhase::After).await?;
        Ok((step.reupgrade.passes(), Some(again)))
    }
}

/// Whether a failed `direction` of `migration` left its database as it
/// was: it ran in one PostgreSQL transaction, which the failure rolled back.
fn rolls_back(migration: &Migration) -> bool {
    migration.backend == BackendKind::Postgres
        && migration.options.transaction != TransactionMode::None
}

/// Whether `migration`'s `direction` section holds no statement, only
/// blanks and comments (PostgreSQL: the only backend asked).
fn runs_nothing(migration: &Migration, direction: Direction) -> bool {
    migration.backend == BackendKind::Postgres
        && crate::sql::split(migration.section(direction).script()).is_empty()
}
