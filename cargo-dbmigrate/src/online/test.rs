//! `test`: the round-trip (stairway) harness of [`dbmigrate_core::testing`] over
//! the project's migrations. PostgreSQL runs in a scratch database created
//! from the given URL and dropped afterwards; Neo4j and Weaviate migrations
//! run on the given servers (their objects are created, then removed again).

use std::io::Write;
use std::process::ExitCode;

use dbmigrate_core::backend::postgres::{PostgresBackend, PostgresConfig};
use dbmigrate_core::backend::{Backend, Step, TestBackend};
use dbmigrate_core::testing::{FreshDatabase, RoundTripError, Stairway};
use dbmigrate_core::{BackendKind, Direction, Migration};
use serde::Serialize;

use super::connect::{self, Settings};
use crate::config::Project;
use crate::exit::{self, UsageError};
use crate::OutputFormat;

const APPLIED_BY: &str = "cargo-dbmigrate-test";

/// The outcome of one migration's round trip.
#[derive(Debug, Serialize)]
struct Outcome {
    revision: String,
    slug: String,
    backend: BackendKind,
    ok: bool,
}

/// What `test --format json` prints.
#[derive(Debug, Serialize)]
struct TestReport {
    ok: bool,
    servers: Vec<String>,
    migrations: Vec<Outcome>,
    error: Option<String>,
}

/// Runs the round trip; exits [`exit::FAILURE`] when a migration fails it.
pub async fn run(
    project: &Project,
    settings: &Settings,
    format: OutputFormat,
    secrets: &[String],
) -> anyhow::Result<ExitCode> {
    let history = project.load_history()?;
    let migrations = history.migrations();
    let needs = |kind| migrations.iter().any(|m| m.backend == kind);
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
    let others = connect::test_backends(settings).await?;
    let servers = servers(fresh.as_ref(), &others, secrets);
    for server in &servers {
        eprintln!("testing on {server}");
    }
    let postgres = fresh
        .as_ref()
        .map(|f| PostgresBackend::new(f.pool.clone(), PostgresConfig::default()));
    let result = round_trip(migrations, fresh.as_ref(), postgres.as_ref(), &others).await;
    for backend in &others {
        tear_down(migrations, backend.as_ref()).await;
    }
    drop(postgres);
    if let Some(fresh) = fresh {
        if let Err(error) = fresh.drop_database().await {
            eprintln!("warning: {}", connect::scrub(&error.to_string(), secrets));
        }
    }
    let report = outcome(migrations, servers, result, secrets);
    print(&report, format)?;
    Ok(ExitCode::from(if report.ok {
        exit::SUCCESS
    } else {
        exit::FAILURE
    }))
}

async fn round_trip(
    migrations: &[Migration],
    fresh: Option<&FreshDatabase>,
    postgres: Option<&PostgresBackend>,
    others: &[Box<dyn TestBackend>],
) -> Result<(), RoundTripError> {
    let mut stairway = Stairway::new(migrations);
    if let (Some(fresh), Some(postgres)) = (fresh, postgres) {
        stairway = stairway.postgres(postgres, &fresh.pool, "public");
    }
    for backend in others {
        stairway = stairway.backend(backend.as_ref());
    }
    stairway.run().await.map(drop)
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

/// Reverts, newest first, what the round trip left applied on a shared server.
async fn tear_down(migrations: &[Migration], backend: &dyn Backend) {
    let applied = match backend.read_history().await {
        Ok(records) => records,
        Err(error) => {
            eprintln!(
                "warning: cannot read the test history on {}: {error}",
                backend.location()
            );
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
                "warning: {} is irreversible: its objects stay on {}",
                migration.revision_id,
                backend.location()
            );
        } else if let Err(error) = backend.apply(&step).await {
            eprintln!(
                "warning: cleaning up {} on {}: {error}",
                migration.revision_id,
                backend.location()
            );
        }
    }
}

/// Every migration before the failing one passed (the stairway stops at the first failure).
fn outcome(
    migrations: &[Migration],
    servers: Vec<String>,
    result: Result<(), RoundTripError>,
    secrets: &[String],
) -> TestReport {
    let failed = match &result {
        Ok(()) => None,
        Err(RoundTripError::SchemaMismatch { revision_id, .. })
        | Err(RoundTripError::Backend { revision_id, .. }) => Some(revision_id.as_str()),
        Err(RoundTripError::NoBackend { path, .. }) => migrations
            .iter()
            .find(|m| &m.path == path)
            .map(|m| m.revision_id.as_str()),
        Err(_) => migrations.first().map(|m| m.revision_id.as_str()),
    };
    let mut outcomes = Vec::new();
    for migration in migrations {
        let ok = Some(migration.revision_id.as_str()) != failed;
        outcomes.push(Outcome {
            revision: migration.revision_id.clone(),
            slug: migration.slug.clone(),
            backend: migration.backend,
            ok,
        });
        if !ok {
            break;
        }
    }
    TestReport {
        ok: result.is_ok(),
        servers,
        migrations: outcomes,
        error: result
            .err()
            .map(|error| connect::scrub(&error.to_string(), secrets)),
    }
}

fn print(report: &TestReport, format: OutputFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => crate::inspect::print_json(&mut out, report)?,
        OutputFormat::Text => {
            for step in &report.migrations {
                let status = if step.ok { "ok" } else { "FAILED" };
                writeln!(
                    out,
                    "{status}  {} {} ({})",
                    step.revision, step.slug, step.backend
                )?;
            }
            match &report.error {
                Some(error) => writeln!(out, "\n{error}")?,
                None => writeln!(
                    out,
                    "\nround trip ok: {} migration(s)",
                    report.migrations.len()
                )?,
            }
        }
    }
    out.flush()?;
    Ok(())
}
