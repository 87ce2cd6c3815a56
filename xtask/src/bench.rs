//! `cargo xtask bench`: PostgreSQL on a server with DEFAULT durability
//! (its own cluster on 127.0.0.1:57300 under the target folder; `--shared`
//! uses `DATABASE_URL` instead, whose fsync is off). Three cases:
//!
//! - N small migrations (1,000 by default): `psql -1 -f` (no bookkeeping,
//!   one transaction), `psql -f` with one transaction a migration,
//!   `sqlx migrate run` when sqlx-cli is installed, and
//!   `cargo dbmigrate upgrade`; interleaved rounds (the order rotates), the
//!   median of each. Target: dbmigrate ≤ 1.15× `psql -1` and ahead of sqlx-cli.
//! - one migration of `--big-mb` megabytes (5 by default): `cargo dbmigrate
//!   upgrade` and `plan` against `psql -1 -f`. Target: ≤ 1.5×.
//!
//! - round trip (`--round-trip 250`, 0 skips it): `cargo dbmigrate test` on
//!   a history of N small migrations against `upgrade` + `downgrade base`,
//!   in two shapes: one table a migration, and the issue's (3 in 5 create a
//!   table, the others add a column or an index: 250 grow to 150 tables),
//!   and the floor: the same statements by psql alone (plain, the
//!   stairway's moves, and those moves with the least catalog read).
//!
//! ```text
//! cargo xtask bench [--migrations 1000] [--rounds 5] [--big-mb 5] [--round-trip 250] [--release] [--shared] [--check]
//! ```

mod big;
mod cluster;
mod round_trip;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::paths::target_dir;

/// The ratio `cargo dbmigrate upgrade` / `psql -1 -f` must stay under.
const TARGET_RATIO: f64 = 1.15;

/// `cargo xtask bench` options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// How many small migrations.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    migrations: usize,
    /// Interleaved rounds (the median is reported).
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    rounds: usize,
    /// The size of the big migration, in megabytes.
    #[arg(long, value_name = "MB", default_value_t = 5)]
    big_mb: usize,
    /// Benchmark a release build of cargo-dbmigrate.
    #[arg(long)]
    release: bool,
    /// Use the shared server of `DATABASE_URL` (fsync off) instead of an own cluster.
    #[arg(long)]
    shared: bool,
    /// Migrations in the round-trip case (`cargo dbmigrate test` against
    /// `upgrade` + `downgrade base`); 0 skips it.
    #[arg(long, value_name = "N", default_value_t = 250)]
    round_trip: usize,
    /// Fail when a ratio is above its target.
    #[arg(long)]
    check: bool,
}

/// The server the bench runs on: its own durable cluster, or `DATABASE_URL`.
struct Server {
    admin_url: String,
    settings: String,
    _cluster: Option<cluster::Cluster>,
}

fn server(options: &Options, psql: &Path) -> anyhow::Result<Server> {
    if options.shared {
        let admin_url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()).context(
            "DATABASE_URL is not set: run `cargo xtask services up` and `eval \"$(cargo xtask services env)\"`",
        )?;
        return Ok(Server {
            admin_url,
            settings:
                "the shared test server (fsync=off, synchronous_commit=off, full_page_writes=off)"
                    .into(),
            _cluster: None,
        });
    }
    let cluster = cluster::Cluster::start(&target_dir())?;
    Ok(Server {
        admin_url: cluster.url("postgres"),
        settings: format!(
            "own cluster on 127.0.0.1:{}, defaults: {}",
            cluster::PORT,
            cluster.settings(psql)
        ),
        _cluster: Some(cluster),
    })
}

/// Runs `cargo xtask bench`.
pub fn run(options: &Options) -> anyhow::Result<()> {
    let psql = find_psql()?;
    let binary = build_cli(options.release)?;
    let server = server(options, &psql)?;
    println!("server: {}", server.settings);
    let sqlx = find_sqlx();
    if sqlx.is_none() {
        println!("sqlx-cli not found on PATH or in ~/.cache/dbmigrate/peers/bin: to compare with it, run\n  cargo install sqlx-cli --no-default-features --features postgres,rustls --root ~/.cache/dbmigrate/peers");
    }
    let dir = target_dir().join(format!("bench-project-{}", std::process::id()));
    let result = small(
        options,
        &psql,
        &binary,
        sqlx.as_deref(),
        &dir,
        &server.admin_url,
    )
    .and_then(|ok| {
        Ok((
            ok,
            large(options, &psql, &binary, &dir.join("big"), &server.admin_url)?,
        ))
    })
    .and_then(|ratios| {
        if options.round_trip > 0 {
            let case = round_trip::Case {
                psql: &psql,
                binary: &binary,
                admin_url: &server.admin_url,
                n_migrations: options.round_trip,
                rounds: options.rounds.min(3),
            };
            round_trip::run_shapes(&case, &dir.join("round-trip"))?;
        }
        Ok(ratios)
    });
    let _ = std::fs::remove_dir_all(&dir);
    let (small_ratio, big_ratio) = result?;
    if options.check && (small_ratio > TARGET_RATIO || big_ratio > big::TARGET_RATIO) {
        bail!("above target: {small_ratio:.2}× psql -1 (target {TARGET_RATIO}), big file {big_ratio:.2}× (target {})", big::TARGET_RATIO);
    }
    Ok(())
}

/// The N-small-migrations case; returns dbmigrate / psql -1.
fn small(
    options: &Options,
    psql: &Path,
    binary: &Path,
    sqlx: Option<&Path>,
    dir: &Path,
    admin_url: &str,
) -> anyhow::Result<f64> {
    let scripts = write_project(dir, options.migrations)?;
    let mut names = vec![
        "psql -1 -f (one transaction)",
        "psql -f (one transaction a migration)",
    ];
    if sqlx.is_some() {
        names.push("sqlx migrate run");
    }
    names.push("cargo dbmigrate upgrade");
    names.push("cargo dbmigrate upgrade, nothing pending");
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    for round in 0..options.rounds {
        let database = |n: usize| format!("dbm_bench_{n}_{}_{round}", std::process::id());
        let count = names.len() - 1;
        for step in 0..count {
            // Interleaved: each round starts with a different contestant.
            let n = (step + round) % count;
            let name = database(n);
            sql(
                psql,
                admin_url,
                &format!("CREATE DATABASE \"{name}\" TEMPLATE template0"),
            )?;
            let url = with_database(admin_url, &name);
            let measured = match (n, sqlx) {
                (0, _) => time_psql(psql, &["-1"], &scripts[0], &url),
                (1, _) => time_psql(psql, &[], &scripts[1], &url),
                (2, Some(sqlx)) => time_sqlx(sqlx, dir, &url),
                _ => time_runner(binary, dir, &url).and_then(|runner| {
                    times[count].push(time_runner(binary, dir, &url)?);
                    Ok(runner)
                }),
            };
            let _ = sql(
                psql,
                admin_url,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
            times[n].push(measured?);
        }
    }
    let medians: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
    let build = if options.release { "release" } else { "debug" };
    println!(
        "{} small migrations, median of {} interleaved round(s), {build} build",
        options.migrations, options.rounds
    );
    let psql1 = medians[0].as_secs_f64();
    for (name, time) in names.iter().zip(&medians) {
        println!(
            "  {name:<42} {:>8.0} ms  {:>5.2}× psql -1",
            time.as_secs_f64() * 1000.0,
            time.as_secs_f64() / psql1
        );
    }
    let runner = medians[names.len() - 2].as_secs_f64();
    if sqlx.is_some() {
        println!(
            "  dbmigrate / sqlx-cli                       {:>8.2}",
            runner / medians[2].as_secs_f64()
        );
    }
    println!("  target: dbmigrate <= {TARGET_RATIO}× psql -1");
    Ok(runner / psql1)
}

/// The big-file case; returns upgrade / psql -1.
fn large(
    options: &Options,
    psql: &Path,
    binary: &Path,
    dir: &Path,
    admin_url: &str,
) -> anyhow::Result<f64> {
    let script = big::write_project(dir, options.big_mb)?;
    let size = std::fs::metadata(&script)?.len() as f64 / 1e6;
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..options.rounds.min(3) {
        for (n, runs) in times.iter_mut().enumerate() {
            let name = format!("dbm_bench_big_{n}_{}_{round}", std::process::id());
            sql(
                psql,
                admin_url,
                &format!("CREATE DATABASE \"{name}\" TEMPLATE template0"),
            )?;
            let url = with_database(admin_url, &name);
            let measured = match n {
                0 => time_psql(psql, &["-1"], &script, &url),
                1 => time_cli(binary, dir, &url, "upgrade"),
                _ => time_cli(binary, dir, &url, "plan"),
            };
            let _ = sql(
                psql,
                admin_url,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
            runs.push(measured?);
        }
    }
    let [psql1, upgrade, plan] = times.map(|mut t| median(&mut t).as_secs_f64());
    println!(
        "one {size:.1} MB migration, median of {} round(s)",
        options.rounds.min(3)
    );
    println!(
        "  psql -1 -f                                 {:>8.0} ms",
        psql1 * 1000.0
    );
    println!(
        "  cargo dbmigrate upgrade                    {:>8.0} ms  {:>5.2}× psql -1 (target <= {})",
        upgrade * 1000.0,
        upgrade / psql1,
        big::TARGET_RATIO
    );
    println!(
        "  cargo dbmigrate plan                       {:>8.0} ms",
        plan * 1000.0
    );
    Ok(upgrade / psql1)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// `sqlx` on PATH, or in the peers folder `cargo xtask peers install` fills.
fn find_sqlx() -> Option<PathBuf> {
    let peers = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/dbmigrate/peers/bin/sqlx"));
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("sqlx"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(peers)
        .find(|candidate| candidate.is_file())
}

fn time_sqlx(sqlx: &Path, dir: &Path, url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = Command::new(sqlx)
        .args(["migrate", "run", "--source"])
        .arg(dir.join("sqlx_migrations"))
        .args(["--database-url", url])
        .stdout(Stdio::null())
        .status()
        .context("failed to run sqlx")?;
    if !status.success() {
        bail!("sqlx migrate run failed ({status})");
    }
    Ok(started.elapsed())
}

fn time_psql(psql: &Path, extra: &[&str], script: &Path, url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = Command::new(psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(extra)
        .arg("-f")
        .arg(script)
        .arg(url)
        .stdout(Stdio::null())
        .status()
        .context("failed to run psql")?;
    if !status.success() {
        bail!("psql -f {} failed ({status})", script.display());
    }
    Ok(started.elapsed())
}

fn time_runner(binary: &Path, dir: &Path, url: &str) -> anyhow::Result<Duration> {
    time_cli(binary, dir, url, "upgrade")
}

fn time_cli(binary: &Path, dir: &Path, url: &str, command: &str) -> anyhow::Result<Duration> {
    time_cli_args(binary, dir, url, &[command])
}

fn time_cli_args(binary: &Path, dir: &Path, url: &str, args: &[&str]) -> anyhow::Result<Duration> {
    let command = args.join(" ");
    let started = Instant::now();
    let status = Command::new(binary)
        .arg("dbmigrate")
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        // PostgreSQL only: the other servers of `services env` stay out of it.
        .env_remove("NEO4J_URI")
        .env_remove("WEAVIATE_URL")
        .stdout(Stdio::null())
        .status()
        .context("failed to run cargo-dbmigrate")?;
    if !status.success() {
        bail!("cargo dbmigrate {command} failed ({status})");
    }
    Ok(started.elapsed())
}

/// An empty Cargo package with a `migrations/` folder.
fn write_package(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::create_dir_all(dir.join("migrations"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )?;
    std::fs::write(dir.join("src/lib.rs"), "")?;
    Ok(())
}

/// A package with `n` chained migrations, the same as sqlx-cli migrations,
/// and their up statements as two scripts: plain (for `psql -1`) and with
/// BEGIN/COMMIT around each migration.
fn write_project(dir: &Path, n: usize) -> anyhow::Result<[PathBuf; 2]> {
    write_package(dir)?;
    let migrations = dir.join("migrations");
    let sqlx = dir.join("sqlx_migrations");
    std::fs::create_dir_all(&sqlx)?;
    let mut script = String::new();
    let mut each = String::new();
    let mut parent = "base".to_string();
    for i in 0..n {
        let revision_id = format!("20240101_1200_{:08x}", 0xbe00_0000_usize + i);
        let up = format!("CREATE TABLE bench_{i} (id bigint PRIMARY KEY, name text NOT NULL);\nINSERT INTO bench_{i} VALUES (1, 'x');");
        let text = format!("-- Message: bench {i}\n-- Revises: {parent}\n\n-- migrate:up\n{up}\n\n-- migrate:down\nDROP TABLE bench_{i};\n");
        std::fs::write(
            migrations.join(format!("{revision_id}_bench_{i}.sql")),
            text,
        )?;
        std::fs::write(
            sqlx.join(format!("{:06}_bench_{i}.sql", i + 1)),
            format!("{up}\n"),
        )?;
        script.push_str(&up);
        script.push('\n');
        each.push_str(&format!("BEGIN;\n{up}\nCOMMIT;\n"));
        parent = revision_id;
    }
    let paths = [
        dir.join("one_transaction.sql"),
        dir.join("transaction_each.sql"),
    ];
    std::fs::write(&paths[0], script)?;
    std::fs::write(&paths[1], each)?;
    Ok(paths)
}

fn build_cli(release: bool) -> anyhow::Result<PathBuf> {
    let mut command = Command::new(crate::paths::cargo());
    command.args(["build", "-q", "-p", "cargo-dbmigrate"]);
    if release {
        command.arg("--release");
    }
    let status = command.status().context("failed to run cargo build")?;
    if !status.success() {
        bail!("building cargo-dbmigrate failed");
    }
    Ok(target_dir()
        .join(if release { "release" } else { "debug" })
        .join("cargo-dbmigrate"))
}

fn find_psql() -> anyhow::Result<PathBuf> {
    if Command::new("psql")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return Ok(PathBuf::from("psql"));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/psql"))
        .filter(|path| path.exists())
        .collect();
    found.sort();
    found
        .pop()
        .context("psql not found on PATH or under /usr/lib/postgresql")
}

fn sql(psql: &Path, url: &str, statement: &str) -> anyhow::Result<()> {
    let status = Command::new(psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", statement, url])
        .stdout(Stdio::null())
        .status()
        .context("failed to run psql")?;
    if !status.success() {
        bail!("psql failed: {}", statement);
    }
    Ok(())
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = base[authority_start..]
        .find('/')
        .map_or(base, |slash| &base[..authority_start + slash]);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_in_url() {
        assert_eq!(
            with_database("postgres://u:p@h:5/postgres", "x"),
            "postgres://u:p@h:5/x"
        );
        assert_eq!(
            with_database("postgres://h?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
