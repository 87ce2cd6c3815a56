//! `cargo xtask demo`: starts the three servers, builds the edututor app and
//! runs it twice — the first boot migrates PostgreSQL, Neo4j and Weaviate and
//! uses the new schema; the second finds nothing pending.

use std::fs::File;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context as _};
use xshell::cmd;

use crate::paths::{cargo, target_dir, workspace_shell};
use crate::services;
use crate::test_migrations::server_env;

/// Runs `cargo xtask demo`.
pub fn run() -> anyhow::Result<()> {
    let env = server_env()?;
    let started_servers = !env.is_empty();
    eprintln!("demo: building examples/edututor");
    let (shell, cargo) = (workspace_shell()?, cargo());
    cmd!(shell, "{cargo} build --quiet --package edututor")
        .quiet()
        .run()
        .context("building edututor failed")?;
    let logs = target_dir().join("demo");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let binary = target_dir()
        .join("debug")
        .join(format!("edututor{}", std::env::consts::EXE_SUFFIX));
    let runs = [
        (
            1,
            "boot: migrates PostgreSQL, Neo4j and Weaviate to head, then uses them",
        ),
        (
            2,
            "boot again: nothing pending, one history read per database, no lock",
        ),
    ];
    for (run, what) in runs {
        eprintln!("\ndemo: ── run {run}, {what}");
        let log = logs.join(format!("edututor-run{run}.log"));
        boot(&binary, &env, &log)?;
    }
    eprintln!("\ndemo: app logs in {}", logs.display());
    if started_servers {
        let services = target_dir().join("services");
        eprintln!("demo: server logs in {}", services.display());
        eprintln!("demo: the servers keep running; stop them with `cargo xtask services down`");
    }
    Ok(())
}

/// Runs the app once: its report and summary on our stdout, its tracing log
/// into `log`; on failure, the log's tail.
fn boot(binary: &Path, env: &[(String, String)], log: &Path) -> anyhow::Result<()> {
    let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let status = Command::new(binary)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stderr(file)
        .status()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    if status.success() {
        eprintln!("demo: log: {}", log.display());
        return Ok(());
    }
    for line in services::tail(log, 30).unwrap_or_default().lines() {
        eprintln!("  | {line}");
    }
    bail!("edututor failed ({status}); full log: {}", log.display())
}
