//! `test`: the round-trip (stairway) harness of [`dbmigrate_core::testing`] over
//! the project's migrations. PostgreSQL runs in a scratch database created
//! from the given URL and dropped afterwards; Neo4j and Weaviate migrations
//! run on the given servers (their objects are created, then removed again),
//! which must be empty unless `--on-shared-server` names them.
//! Each step is printed as it ends; the end is a table of every migration
//! and, when anything differed, a full report in a file.

mod claims;
mod guard;
mod progress;
mod report;

use std::process::ExitCode;

use dbmigrate_core::backend::postgres::{PostgresBackend, PostgresConfig};
use dbmigrate_core::backend::Step;
use dbmigrate_core::testing::{
    FreshDatabase, RoundTripError, Stairway, StairwayEvent, StairwayReport, StepReport, TestBackend,
};
use dbmigrate_core::{BackendKind, Direction, Migration};

use super::connect::{self, Settings};
use crate::config::Project;
use crate::exit::{self, UsageError};
use crate::OutputFormat;

const APPLIED_BY: &str = "cargo-dbmigrate-test";

/// Options of `cargo dbmigrate test`.
#[derive(Debug, Clone, clap::Args)]
pub struct TestArgs {
    /// Continue past failing migrations (rebuilding from base when a down
    /// fails: the PostgreSQL scratch database, or on Neo4j and Weaviate
    /// what the run made there) and report every one in a final table.
    #[arg(long)]
    pub keep_going: bool,
    /// Fail on column position changes too (normally a `column-position` note).
    #[arg(long)]
    pub strict: bool,
    /// Allow the round trip on this Neo4j or Weaviate server although it
    /// already holds dbmigrate history or schema objects (repeatable).
    #[arg(long, value_name = "URL")]
    pub on_shared_server: Vec<String>,
}

/// Runs the round trip; exits [`exit::FAILURE`] when a migration fails it.
pub async fn run(
    project: &Project,
    settings: &Settings,
    args: &TestArgs,
    format: OutputFormat,
    secrets: &[String],
) -> anyhow::Result<ExitCode> {
    let history = project.load_history()?;
    let migrations = history.migrations();
    // "ok" over nothing would pass a CI check that tests nothing (a wrong
    // folder or --manifest-path).
    if migrations.is_empty() {
        return Err(UsageError(format!(
            "no migrations in {}: nothing to round-trip\n  help: check `migrations` in [package.metadata.dbmigrate], or pass --manifest-path",
            project.display_dir().display()
        ))
        .into());
    }
    let needs = |kind| migrations.iter().any(|m| m.backend == kind);
    let others = connect::test_backends(settings, needs).await?;
    guard::refuse_occupied(project, &history, settings, &others, &args.on_shared_server).await?;
    let owned = guard::owned(&history, settings, &others, &args.on_shared_server).await?;
    let fresh = match (needs(BackendKind::Postgres), settings.database_url()) {
        (false, _) => None,
        (true, Some(url)) => Some(FreshDatabase::create(url, "dbmigrate_test").await?),
        (true, None) => {
            return Err(UsageError(
                "the migrations include PostgreSQL ones but no PostgreSQL server is configured\n  help: pass --database-url or set DATABASE_URL (a user allowed to CREATE DATABASE)".into(),
            )
            .into())
        }
    };
    let servers = servers(fresh.as_ref(), &others, secrets);
    for server in &servers {
        eprintln!("testing on {server}");
    }
    let postgres = fresh
        .as_ref()
        .map(|f| PostgresBackend::new(f.pool.clone(), PostgresConfig::default()));
    let cancel = super::cancel_on_signals(
        "stopping the round trip, then removing its scratch database and what it made on the servers",
        "the scratch database `dbmigrate_test_…` and the run's objects on Neo4j/Weaviate may be left behind",
    )?;
    let (result, events) =
        round_trip(migrations, postgres.as_ref(), &others, &owned, args, cancel).await;
    for backend in &others {
        let owns = owned.contains(&backend.kind());
        tear_down(migrations, backend.as_ref(), owns).await;
    }
    drop(postgres);
    if let Some(fresh) = fresh {
        if let Err(error) = fresh.drop_database().await {
            eprintln!("warning: {}", connect::scrub(&error.to_string(), secrets));
        }
    }
    let (report, error) = match result {
        Ok(report) => (report, None),
        Err(RoundTripError::StepFailed { report, .. }) => (*report, None),
        // The run stopped on the database: the table keeps what was judged,
        // and names the migration that was running.
        Err(error) => {
            let running = events.started > events.finished.len();
            let stopped_at = running.then(|| error.what_failed());
            let report = StairwayReport::stopped(events.finished, migrations, stopped_at);
            (report, Some(error))
        }
    };
    let rendered = report::Rendered::new(project, &report, servers, error, secrets);
    rendered.print(format)?;
    // Where the time went: statements, and the rest (snapshots, bookkeeping).
    eprint!("{}", report.timing_summary());
    Ok(ExitCode::from(if rendered.ok() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    }))
}

/// What a run reported as it went: how many steps started, and the steps
/// it finished (for the table when it stops on an error that carries no
/// report).
#[derive(Default)]
struct Seen {
    started: usize,
    finished: Vec<StepReport>,
}

/// The run's result, and what it reported as it went.
async fn round_trip(
    migrations: &[Migration],
    postgres: Option<&PostgresBackend>,
    others: &[Box<dyn TestBackend>],
    owned: &[BackendKind],
    args: &TestArgs,
    cancel: dbmigrate_core::runner::Cancel,
) -> (Result<StairwayReport, RoundTripError>, Seen) {
    let printer = progress::Printer::new(migrations.len());
    let seen = std::sync::Mutex::new(Seen::default());
    let mut stairway = Stairway::new(migrations)
        .keep_going(args.keep_going)
        .strict(args.strict)
        .cancel_on(cancel)
        .on_event(|event| {
            if let Ok(mut seen) = seen.lock() {
                match &event {
                    StairwayEvent::Started { .. } => seen.started += 1,
                    StairwayEvent::Finished { step, .. } => seen.finished.push((*step).clone()),
                }
            }
            printer.event(event);
        });
    if let Some(postgres) = postgres {
        stairway = stairway.backend(postgres);
    }
    for backend in others {
        // A shared server holds other objects too: judge the migrations' own.
        let kind = backend.kind();
        let claims = claims::Claims::of(migrations, kind);
        let labels = claims.labels().map(str::to_string).collect();
        stairway = stairway
            .backend(backend.as_ref())
            .scope(kind, move |snapshot| {
                snapshot.scoped(|object| claims.covers(object), str::to_string)
            });
        // What the run makes there is its own to remove when a failed down
        // must be rebuilt from base (see `guard::owned`).
        if owned.contains(&kind) {
            stairway = stairway.owns(kind, labels);
        }
    }
    let result = stairway.run().await;
    printer.finish();
    drop(stairway);
    let seen = seen.into_inner().unwrap_or_default();
    (result, seen)
}

/// Where the run happens, for the user: the scratch database and the servers it touches.
fn servers(
    fresh: Option<&FreshDatabase>,
    others: &[Box<dyn TestBackend>],
    secrets: &[String],
) -> Vec<String> {
    let mut servers: Vec<String> = fresh
        .iter()
        .map(|f| {
            format!(
                "postgres: scratch database {} ({}), dropped afterwards",
                f.name,
                connect::scrub(&f.url, secrets)
            )
        })
        .collect();
    servers.extend(others.iter().map(|backend| {
        format!(
            "{}: {} (creates and removes the migrations' objects there)",
            backend.kind(),
            backend.location()
        )
    }));
    servers
}

/// Removes what the round trip left on a Neo4j or Weaviate server, then the
/// run's own bookkeeping (history, lock), also after a failed run. On a
/// server the run `owns` ([`guard::owned`]) what the migrations claim goes
/// at once, whatever their downs do; elsewhere what is still applied is
/// reverted newest first with its downs.
async fn tear_down(migrations: &[Migration], backend: &dyn TestBackend, owns: bool) {
    let location = backend.location();
    if owns {
        if let Err(error) = remove_owned(migrations, backend).await {
            eprintln!("warning: removing the test's objects on {location}: {error}");
        }
    }
    let applied = match backend.read_history().await {
        Ok(records) => records,
        Err(error) => {
            eprintln!("warning: cannot read the test history on {location}: {error}");
            return;
        }
    };
    for migration in migrations.iter().rev().filter(|m| {
        m.backend == backend.kind() && applied.iter().any(|r| r.revision_id == m.revision_id)
    }) {
        let step = Step {
            migration,
            direction: Direction::Down,
            applied_by: APPLIED_BY,
        };
        if migration.options.irreversible {
            eprintln!(
                "warning: {} is irreversible: its objects stay on {location}",
                migration.revision_id
            );
        } else if let Err(error) = backend.apply(&step).await {
            eprintln!(
                "warning: cleaning up {} on {location}: {error}",
                migration.revision_id
            );
        }
    }
    if let Err(error) = backend.unlock().await {
        eprintln!("warning: releasing the test lock on {location}: {error}");
    }
    match backend.read_history().await {
        Ok(left) if left.is_empty() => {
            if let Err(error) = backend.remove_bookkeeping().await {
                eprintln!("warning: removing the test bookkeeping on {location}: {error}");
            }
        }
        Ok(left) => eprintln!(
            "warning: {} test history record(s) stay on {location}, with their bookkeeping",
            left.len()
        ),
        Err(error) => eprintln!("warning: cannot read the test history on {location}: {error}"),
    }
}

/// Everything the migrations claim on `backend` and the test history, as a
/// rebuild from base removes them ([`TestBackend::reset`]).
async fn remove_owned(
    migrations: &[Migration],
    backend: &dyn TestBackend,
) -> Result<(), dbmigrate_core::backend::BackendError> {
    let claims = claims::Claims::of(migrations, backend.kind());
    let objects = backend
        .snapshot()
        .await?
        .scoped(|object| claims.covers(object), str::to_string);
    let labels: Vec<String> = claims.labels().map(str::to_string).collect();
    let revisions: Vec<String> = migrations
        .iter()
        .filter(|m| m.backend == backend.kind())
        .map(|m| m.revision_id.clone())
        .collect();
    let owned = dbmigrate_core::testing::Owned {
        objects: &objects,
        labels: &labels,
        revisions: &revisions,
    };
    backend.reset(Some(owned)).await.map(drop)
}
