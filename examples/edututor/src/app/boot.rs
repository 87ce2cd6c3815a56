//! Boot: logging, configuration, migration at start, then a first use of
//! every database, and the exit code.

use std::process::ExitCode;

use anyhow::Context as _;

use super::config::Config;
use super::{curriculum, library, migrate, school};

/// The migrations under `migrations/`, embedded and checksummed by `build.rs`.
static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::embedded!();

/// Starts the runtime and the app; logs to stderr, report and summary to stdout.
#[tokio::main]
pub async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("edututor: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let connections = migrate::Connections::open(&config).await?;
    let report = migrate::upgrade(&MIGRATIONS, &connections).await?;
    println!("{}", migrate::render(&report));

    let school = school::enrol_demo_family(&connections.pool)
        .await
        .context("failed to use the PostgreSQL schema")?;
    let curriculum = curriculum::link_demo_concepts(&connections.graph)
        .await
        .context("failed to use the Neo4j schema")?;
    let library = library::store_and_find_demo_chunk(&connections.weaviate)
        .await
        .context("failed to use the Weaviate schema")?;

    println!("edututor is up:");
    println!("  postgres: {school}");
    println!("  neo4j:    {curriculum}");
    println!("  weaviate: {library}");
    Ok(())
}
