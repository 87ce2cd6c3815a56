//! `cargo xtask ci`: everything CI runs, in the order a reviewer would — format,
//! lints, real servers up, the whole test suite against them, the migration
//! round-trips, the demo app — then the servers down again, pass or fail.

use std::time::Instant;

use anyhow::Context as _;
use xshell::cmd;

use crate::{paths, services};

/// `cargo xtask ci` options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Leave the servers running afterwards.
    #[arg(long)]
    keep_services: bool,
    /// Skip the format, clippy and doc steps.
    #[arg(long)]
    skip_lints: bool,
}

/// Runs `cargo xtask ci [--keep-services] [--skip-lints]`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    if !args.skip_lints {
        step("format", || cargo(&["fmt", "--all", "--check"], &[]))?;
        step("clippy", || {
            cargo(
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            )
        })?;
        step("doc", || {
            cargo(
                &["doc", "--no-deps", "--workspace", "--all-features"],
                &[("RUSTDOCFLAGS".into(), "-D warnings".into())],
            )
        })?;
    }
    // Build everything before the servers start, so a compile error costs no server start.
    step("build", || {
        cargo(&["test", "--workspace", "--all-features", "--no-run"], &[])
    })?;
    // Needs no server; after `build`, so it recompiles only the packaged crates.
    step("package", crate::package::run)?;

    // The real tools the import tests apply with (cached in <cache>/peers; warm: seconds).
    step("peers install", || crate::peers::install(&[]))?;
    let env = step("services up", || services::up(&[]))?;
    let vars = env.vars();
    let outcome = (|| {
        // A failure's panic message, not 30 frames of tokio, is what a CI
        // log excerpt must keep; `RUST_BACKTRACE=1 cargo test <name>` locally
        // gives the frames.
        let mut test_vars = vars.clone();
        test_vars.push(("RUST_BACKTRACE".into(), "0".into()));
        step("tests", || {
            cargo(&["test", "--workspace", "--all-features"], &test_vars)
        })?;
        step("test-migrations", || {
            crate::test_migrations::run(&crate::test_migrations::Args::default())
        })?;
        // Small counts: about a minute; fails on any inconsistency.
        step("chaos", || {
            crate::chaos::run_on(&crate::chaos::Options::ci(), &vars)
        })?;
        step("demo", crate::demo::run)
    })();

    if args.keep_services {
        eprintln!("ci: leaving the servers running (--keep-services)");
    } else if let Err(error) = services::down(&[], false) {
        eprintln!("ci: warning: failed to stop the servers: {error:#}");
    }
    outcome?;
    eprintln!("ci: all green in {:.0?}", started.elapsed());
    Ok(())
}

/// Runs one named step, printing its name and duration.
fn step<T>(name: &str, body: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    eprintln!("ci: ── {name}");
    let started = Instant::now();
    let result = body().with_context(|| format!("ci step `{name}` failed"));
    eprintln!(
        "ci: ── {name}: {} in {:.1?}",
        if result.is_ok() { "ok" } else { "FAILED" },
        started.elapsed()
    );
    result
}

/// Runs `cargo <args>` in the workspace root with extra environment variables; fails on a
/// non-zero exit.
fn cargo(args: &[&str], vars: &[(String, String)]) -> anyhow::Result<()> {
    let shell = paths::workspace_shell()?;
    let cargo = paths::cargo();
    cmd!(shell, "{cargo} {args...}")
        .envs(vars.iter().cloned())
        .quiet()
        .run()?;
    Ok(())
}
