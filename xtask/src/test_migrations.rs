//! `cargo xtask test-migrations`: round-trips every edututor migration (up,
//! down, up, with schema snapshots) on real PostgreSQL, Neo4j and Weaviate,
//! and prints how long each backend took.
//!
//! The servers come from the environment when `DATABASE_URL`, `NEO4J_URI`
//! and `WEAVIATE_URL` are all set, else from `cargo xtask services up`.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use xshell::cmd;

use crate::paths::{cargo, target_dir, workspace_shell};
use crate::services;

/// The variables that point the tests at the servers.
const SERVER_VARS: [&str; 3] = ["DATABASE_URL", "NEO4J_URI", "WEAVIATE_URL"];

/// `cargo xtask test-migrations` options.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Passed to the test binary, after `--` (e.g. `-- --nocapture`).
    #[arg(last = true)]
    test_args: Vec<String>,
}

/// Runs `cargo xtask test-migrations [-- <extra test args>]`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let env = server_env()?;
    let timings = target_dir().join("tmp").join("roundtrip-timings.txt");
    let _ = std::fs::remove_file(&timings);

    eprintln!(
        "test-migrations: round-tripping examples/edututor/migrations (tests/it/roundtrip.rs)"
    );
    let started = Instant::now();
    let shell = workspace_shell()?;
    let (cargo, test_args) = (cargo(), &args.test_args);
    // --workspace, not --package dbmigrate: the same feature set as
    // `cargo test --workspace --all-features`, so CI reuses that build.
    let outcome = cmd!(
        shell,
        "{cargo} test --workspace --all-features --test it roundtrip:: -- {test_args...}"
    )
    .envs(env)
    .quiet()
    .run();
    let elapsed = started.elapsed();
    print_timings(&timings);
    if let Err(error) = outcome {
        bail!(
            "round-trip tests failed ({error}); if only a snapshot changed, review it with `cargo insta review`"
        );
    }
    eprintln!("test-migrations: ok in {elapsed:.1?} (build included)");
    Ok(())
}

/// The server environment: the caller's when complete, else `services up`'s.
pub(crate) fn server_env() -> anyhow::Result<Vec<(String, String)>> {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.is_empty());
    if SERVER_VARS.iter().all(|name| set(name)) {
        eprintln!("using the servers named by DATABASE_URL, NEO4J_URI and WEAVIATE_URL");
        return Ok(Vec::new());
    }
    eprintln!("starting the test servers (cargo xtask services up)");
    Ok(services::up(&[])?.vars())
}

/// Prints the per-backend timings the round-trip test wrote.
fn print_timings(path: &Path) {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            eprintln!("test-migrations: time per backend (statements, snapshots, fixtures):");
            for line in text.lines() {
                eprintln!("  {line}");
            }
        }
        _ => eprintln!(
            "test-migrations: no timings recorded (the edututor round trip did not finish)"
        ),
    }
}
