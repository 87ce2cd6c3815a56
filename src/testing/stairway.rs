//! The stairway: for each migration in timeline order, on the backend it
//! touches — snapshot, upgrade, snapshot, downgrade, compare with the first
//! snapshot, upgrade again, compare with the second. One pass, so the cost
//! grows linearly with the number of migrations.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::backend::{BackendError, Step, TestBackend};
use crate::migration::{BackendKind, Direction, Migration};

use super::diff::diff_lines;
use super::error::{Mismatch, RoundTripError};
use super::fixtures::{FixturePhase, Fixtures};

const APPLIED_BY: &str = "dbmigrate-stairway";

/// Keeps the part of a snapshot a stairway is about (see [`Stairway::scope`]).
pub type Scope<'a> = Box<dyn Fn(&str) -> String + Send + Sync + 'a>;

/// A database under test and how to snapshot its schema.
struct Floor<'a> {
    backend: &'a dyn TestBackend,
    #[cfg(feature = "postgres")]
    catalog: Option<(&'a sqlx::PgPool, String)>,
    scope: Option<Scope<'a>>,
}

impl Floor<'_> {
    async fn snapshot(&self) -> Result<String, BackendError> {
        let text = self.raw_snapshot().await?;
        Ok(match &self.scope {
            Some(scope) => scope(&text),
            None => text,
        })
    }

    async fn raw_snapshot(&self) -> Result<String, BackendError> {
        #[cfg(feature = "postgres")]
        if let Some((pool, schema)) = &self.catalog {
            return super::pg_snapshot::postgres_schema_snapshot(pool, schema)
                .await
                .map_err(|error| BackendError::Other(format!("schema snapshot: {error}")));
        }
        self.backend.snapshot_schema().await
    }
}

/// The round-trip harness. Build it with the migrations (timeline order) and
/// one backend per kind they touch, then [`Stairway::run`] it:
///
/// ```no_run
/// # #[cfg(all(feature = "postgres", feature = "neo4j"))]
/// # async fn round_trip(
/// #     history: &dbmigrate_core::History,
/// #     pg_backend: &dbmigrate_core::backend::postgres::PostgresBackend,
/// #     pool: &sqlx::PgPool,
/// #     neo4j_backend: &dbmigrate_core::backend::neo4j::Neo4jBackend,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// # use dbmigrate_core::testing::Stairway;
/// let report = Stairway::new(history.migrations())
///     .postgres(pg_backend, pool, "public")
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
    rewrite: Option<Scope<'a>>,
}

impl<'a> Stairway<'a> {
    /// A stairway over `migrations`, which must be in timeline order from base.
    pub fn new(migrations: &'a [Migration]) -> Stairway<'a> {
        Stairway {
            migrations,
            floors: Vec::new(),
            fixtures: Fixtures::default(),
            rewrite: None,
        }
    }

    /// Adds a backend; its schema is read with [`Backend::snapshot_schema`].
    pub fn backend(mut self, backend: &'a dyn TestBackend) -> Self {
        self.floors.push(Floor {
            backend,
            #[cfg(feature = "postgres")]
            catalog: None,
            scope: None,
        });
        self
    }

    /// Narrows every snapshot of the `kind` backend with `scope`, e.g. to the
    /// labels or collections of the migrations under test when the server is
    /// shared with other tests (Neo4j Community has a single database).
    pub fn scope(
        mut self,
        kind: BackendKind,
        scope: impl Fn(&str) -> String + Send + Sync + 'a,
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

    /// Adds a PostgreSQL backend whose schema is read from the catalogs of
    /// `schema` through `pool` ([`postgres_schema_snapshot`](super::postgres_schema_snapshot)).
    #[cfg(feature = "postgres")]
    pub fn postgres(
        mut self,
        backend: &'a dyn TestBackend,
        pool: &'a sqlx::PgPool,
        schema: &str,
    ) -> Self {
        self.floors.push(Floor {
            backend,
            catalog: Some((pool, schema.to_string())),
            scope: None,
        });
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

    /// Runs every step; stops at the first failure, naming the migration.
    pub async fn run(&self) -> Result<StairwayReport, RoundTripError> {
        let mut report = StairwayReport::default();
        for migration in self.migrations {
            self.floor(migration.backend, migration)?;
        }
        for floor in &self.floors {
            let started = Instant::now();
            floor
                .backend
                .ensure_history()
                .await
                .map_err(|source| RoundTripError::Backend {
                    revision_id: "base".into(),
                    slug: "history".into(),
                    backend: floor.backend.kind(),
                    action: "creating the history store".into(),
                    source: Box::new(source),
                })?;
            *report
                .time_per_backend
                .entry(floor.backend.kind())
                .or_default() += started.elapsed();
        }
        for migration in self.migrations {
            let started = Instant::now();
            let step = self.climb(migration).await?;
            *report
                .time_per_backend
                .entry(migration.backend)
                .or_default() += started.elapsed();
            report.steps.push(step);
        }
        Ok(report)
    }

    fn floor(
        &self,
        kind: BackendKind,
        migration: &Migration,
    ) -> Result<&Floor<'a>, RoundTripError> {
        self.floors
            .iter()
            .find(|floor| floor.backend.kind() == kind)
            .ok_or_else(|| RoundTripError::NoBackend {
                path: migration.path.clone(),
                backend: kind,
            })
    }

    /// One migration: the five moves of the round trip.
    async fn climb(&self, migration: &Migration) -> Result<StepReport, RoundTripError> {
        let floor = self.floor(migration.backend, migration)?;
        let before = self.snapshot(floor, migration).await?;
        self.run_fixtures(migration, FixturePhase::Before).await?;
        let up = self.apply(floor, migration, Direction::Up).await?;
        let after = self.snapshot(floor, migration).await?;
        self.run_fixtures(migration, FixturePhase::After).await?;
        let mut step = StepReport::new(migration, before, after, up);
        if migration.options.irreversible {
            return Ok(step);
        }
        step.down = Some(self.apply(floor, migration, Direction::Down).await?);
        let downgraded = self.snapshot(floor, migration).await?;
        compare(migration, &step.before, &downgraded, Mismatch::Downgrade)?;
        step.reup = Some(self.apply(floor, migration, Direction::Up).await?);
        let again = self.snapshot(floor, migration).await?;
        compare(migration, &step.after, &again, Mismatch::Reupgrade)?;
        self.run_fixtures(migration, FixturePhase::After).await?;
        Ok(step)
    }

    async fn snapshot(
        &self,
        floor: &Floor<'_>,
        migration: &Migration,
    ) -> Result<String, RoundTripError> {
        floor
            .snapshot()
            .await
            .map_err(|source| backend_error(migration, "schema snapshot", source))
    }

    async fn apply(
        &self,
        floor: &Floor<'_>,
        migration: &Migration,
        direction: Direction,
    ) -> Result<Duration, RoundTripError> {
        let step = Step {
            migration,
            direction,
            applied_by: APPLIED_BY,
        };
        let action = match direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        floor
            .backend
            .apply(&step)
            .await
            .map_err(|source| backend_error(migration, action, source))
    }

    async fn run_fixtures(
        &self,
        migration: &Migration,
        phase: FixturePhase,
    ) -> Result<(), RoundTripError> {
        for fixture in self.fixtures.for_step(&migration.revision_id, phase)? {
            let floor = self.floor(fixture.backend, migration)?;
            let action = format!("fixture {}", fixture.path.display());
            let script = match &self.rewrite {
                Some(rewrite) => rewrite(&fixture.script),
                None => fixture.script,
            };
            floor
                .backend
                .execute_script(migration, &script)
                .await
                .map_err(|source| backend_error(migration, &action, source))?;
        }
        Ok(())
    }
}

fn backend_error(migration: &Migration, action: &str, source: BackendError) -> RoundTripError {
    RoundTripError::Backend {
        revision_id: migration.revision_id.clone(),
        slug: migration.slug.clone(),
        backend: migration.backend,
        action: action.to_string(),
        source: Box::new(source),
    }
}

fn compare(
    migration: &Migration,
    expected: &str,
    actual: &str,
    mismatch: Mismatch,
) -> Result<(), RoundTripError> {
    let diff = diff_lines(expected, actual);
    if diff.is_empty() {
        return Ok(());
    }
    Err(RoundTripError::SchemaMismatch {
        revision_id: migration.revision_id.clone(),
        slug: migration.slug.clone(),
        path: migration.path.clone(),
        backend: migration.backend,
        mismatch,
        diff,
    })
}

/// What one migration's round trip saw.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Revision id.
    pub revision_id: String,
    /// Slug.
    pub slug: String,
    /// Message.
    pub message: String,
    /// The backend it touches.
    pub backend: BackendKind,
    /// Schema before the upgrade.
    pub before: String,
    /// Schema after the upgrade.
    pub after: String,
    /// Time of the first upgrade's statements.
    pub up: Duration,
    /// Time of the downgrade's statements; `None` for an irreversible migration.
    pub down: Option<Duration>,
    /// Time of the second upgrade's statements.
    pub reup: Option<Duration>,
}

impl StepReport {
    fn new(migration: &Migration, before: String, after: String, up: Duration) -> StepReport {
        StepReport {
            revision_id: migration.revision_id.clone(),
            slug: migration.slug.clone(),
            message: migration.message.clone(),
            backend: migration.backend,
            before,
            after,
            up,
            down: None,
            reup: None,
        }
    }

    /// The insta snapshot name: `<revision_id>_<slug>`.
    pub fn snapshot_name(&self) -> String {
        format!("{}_{}", self.revision_id, self.slug)
    }

    /// The reviewed text: which migration, what changed, and the whole schema
    /// after it. Holds no durations, ids or other unstable values.
    pub fn snapshot_text(&self) -> String {
        let change = diff_lines(&self.before, &self.after).changes();
        let change = if change.is_empty() {
            "(no schema change)\n".to_string()
        } else {
            change
        };
        let after = if self.after.trim().is_empty() {
            "(empty)\n"
        } else {
            &self.after
        };
        let reversible = if self.down.is_some() {
            ""
        } else {
            " (irreversible: not downgraded)"
        };
        format!(
            "migration: {} {}{reversible}\nbackend: {}\nmessage: {}\n\n## change\n{change}\n## schema after upgrade\n{}",
            self.revision_id, self.slug, self.backend, self.message, after
        )
    }
}

/// What a stairway run did.
#[derive(Debug, Clone, Default)]
pub struct StairwayReport {
    /// One entry per migration, in order.
    pub steps: Vec<StepReport>,
    /// Wall time spent on each backend (steps, snapshots, fixtures).
    pub time_per_backend: BTreeMap<BackendKind, Duration>,
}

impl StairwayReport {
    /// `postgres: 6 migrations round-tripped in 1.2s (statements 0.4s)`,
    /// one line per backend; the rest of the time is snapshots, fixtures and
    /// bookkeeping.
    pub fn timing_summary(&self) -> String {
        let mut out = String::new();
        for (backend, time) in &self.time_per_backend {
            let steps = self.steps.iter().filter(|step| step.backend == *backend);
            let (count, statements) = steps.fold((0, Duration::ZERO), |(count, total), step| {
                let moves = step.up + step.down.unwrap_or_default() + step.reup.unwrap_or_default();
                (count + 1, total + moves)
            });
            out.push_str(&format!(
                "{backend}: {count} migrations round-tripped in {time:.2?} (statements {statements:.2?})\n"
            ));
        }
        out
    }
}
