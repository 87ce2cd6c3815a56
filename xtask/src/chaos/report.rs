//! `cargo xtask chaos` options, the loop over scenarios and the table.

use std::time::Instant;

use anyhow::bail;

use super::servers::Servers;

/// `cargo xtask chaos` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Seed of every random choice (fault points, delays); printed so a run can be repeated.
    #[arg(long, default_value_t = 13)]
    pub seed: u64,
    /// Runs of each scenario.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Migrations in the generated PostgreSQL history of the kill scenario.
    #[arg(long, default_value_t = 60)]
    pub migrations: usize,
    /// Simultaneous boots in the concurrency scenario.
    #[arg(long, default_value_t = 8)]
    pub boots: usize,
    /// Objects in the collection the rebuild scenario rebuilds.
    #[arg(long, default_value_t = 300)]
    pub objects: usize,
    /// Only these scenarios (default: all).
    #[arg(long, value_enum)]
    pub scenario: Vec<Which>,
}

/// The scenarios, for `--scenario`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// SIGKILL `upgrade` on PostgreSQL.
    Kill,
    /// SIGSTOP a Neo4j/Weaviate holder past its lease.
    Stall,
    /// Simultaneous boots on all three backends.
    Boots,
    /// SIGKILL during a Weaviate rebuild.
    Rebuild,
}

/// What one scenario saw over its runs.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Runs done.
    pub runs: u32,
    /// Faults injected (kills, stops).
    pub faults: u32,
    /// Checks that failed: a half-applied migration without a dirty record,
    /// an effect twice or missing, a record missing or doubled.
    pub inconsistencies: u32,
    /// Objects missing or changed after a run.
    pub lost_objects: u32,
    /// Runs that should have exited 0 and did not.
    pub failed_boots: u32,
    /// Runs blocked over a minute by a stopped holder (beyond the next
    /// run's 30 s lock wait plus its steps): a failure since issue 13.
    pub blocked: u32,
    /// What the inconsistencies were, for the report.
    pub notes: Vec<String>,
}

impl Tally {
    /// Records a broken invariant unless `ok`.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.inconsistencies += 1;
            self.notes.push(what());
        }
    }

    /// Records a run that should have exited 0.
    pub fn boot(&mut self, code: i32, stderr: &str) {
        if code != 0 {
            self.failed_boots += 1;
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            self.notes.push(format!("exit {code}: {first}"));
        }
    }
}

type Scenario = fn(&Servers, &Options, &mut fastrand::Rng, &mut Tally) -> anyhow::Result<()>;

impl Options {
    /// The counts `cargo xtask ci` runs: about a minute here.
    pub fn ci() -> Options {
        Options {
            seed: 13,
            runs: 2,
            migrations: 30,
            boots: 8,
            objects: 200,
            scenario: Vec::new(),
        }
    }
}

/// Runs every scenario `--runs` times on the servers of the environment.
pub fn run(options: &Options) -> anyhow::Result<()> {
    run_on(options, &[])
}

/// Runs every scenario `--runs` times on the servers `vars` name (else the
/// environment's) and prints the table; fails on any inconsistency, lost
/// object or failed boot.
pub fn run_on(options: &Options, vars: &[(String, String)]) -> anyhow::Result<()> {
    let servers = Servers::from_vars(vars)?;
    let started = Instant::now();
    let scenarios: [(Which, &str, Scenario); 4] = [
        (
            Which::Kill,
            "kill upgrade (PostgreSQL)",
            super::sigkill::run,
        ),
        (
            Which::Stall,
            "stop holder past lease (Neo4j+Weaviate)",
            super::stall::run,
        ),
        (
            Which::Boots,
            "simultaneous boots (all three)",
            super::boots::run,
        ),
        (Which::Rebuild, "kill Weaviate rebuild", super::rebuild::run),
    ];
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut rows = Vec::new();
    for (which, name, scenario) in scenarios {
        if !options.scenario.is_empty() && !options.scenario.contains(&which) {
            continue;
        }
        let mut tally = Tally::default();
        for _ in 0..options.runs {
            let mut run_rng = fastrand::Rng::with_seed(rng.u64(..));
            scenario(&servers, options, &mut run_rng, &mut tally)?;
            tally.runs += 1;
        }
        eprintln!(
            "chaos: {name}: {} runs, {} faults",
            tally.runs, tally.faults
        );
        rows.push((name, tally));
    }
    println!(
        "cargo xtask chaos --seed {} --runs {} --migrations {} --boots {} --objects {} ({:.0?})",
        options.seed,
        options.runs,
        options.migrations,
        options.boots,
        options.objects,
        started.elapsed()
    );
    println!(
        "{:<42} {:>5} {:>7} {:>16} {:>13} {:>13} {:>10}",
        "scenario", "runs", "faults", "inconsistencies", "lost objects", "failed boots", "blocked"
    );
    let mut bad = 0;
    for (name, tally) in &rows {
        println!(
            "{:<42} {:>5} {:>7} {:>16} {:>13} {:>13} {:>10}",
            name,
            tally.runs,
            tally.faults,
            tally.inconsistencies,
            tally.lost_objects,
            tally.failed_boots,
            tally.blocked
        );
        for note in tally.notes.iter().take(5) {
            println!("    {note}");
        }
        bad += tally.inconsistencies + tally.lost_objects + tally.failed_boots + tally.blocked;
    }
    if bad > 0 {
        bail!("chaos found {bad} problems (seed {})", options.seed);
    }
    Ok(())
}
