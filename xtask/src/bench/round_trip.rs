//! The round-trip case (issue 11.5): `cargo dbmigrate test` (every migration
//! up, down, up, with schema snapshots compared, in a scratch database it
//! creates) on a history of N small migrations, against what it replaces by
//! hand: a plain `upgrade` to head and `downgrade base` on a fresh database.

use std::path::Path;
use std::time::Duration;

use nix::sys::resource::{getrusage, UsageWho};

/// CPU time (user + system) of every child process waited for so far.
fn children_cpu() -> Duration {
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(Duration::ZERO, |usage| {
        let time = |t: nix::sys::time::TimeVal| {
            Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
        };
        time(usage.user_time()) + time(usage.system_time())
    })
}

/// What the round-trip case runs with.
pub struct Case<'a> {
    /// `psql`, for creating and dropping databases.
    pub psql: &'a Path,
    /// The `cargo-dbmigrate` binary timed.
    pub binary: &'a Path,
    /// The server's superuser URL.
    pub admin_url: &'a str,
    /// Migrations in each history.
    pub n_migrations: usize,
    /// Interleaved rounds (the median is reported).
    pub rounds: usize,
}

/// Both history shapes, each in its own project under `dir`: one table a
/// migration (the schema grows to N tables), and the shape (3 of
/// every 5 migrations create a table, the others add a column or an index
/// to one, so 250 migrations grow to 150 tables).
pub fn run_shapes(case: &Case<'_>, dir: &Path) -> anyhow::Result<()> {
    let n = case.n_migrations;
    let one_each = dir.join("one-table-each");
    super::write_project(&one_each, n)?;
    println!("history: one table a migration ({n} tables at head)");
    run(case, &one_each)?;
    let mixed = dir.join("mixed");
    let tables = write_mixed_project(&mixed, n)?;
    println!("history: 3 in 5 migrations create a table, the others add a column or an index ({tables} tables at head)");
    run(case, &mixed)
}

/// `n` chained migrations of the shape; returns the table count.
fn write_mixed_project(dir: &Path, n: usize) -> anyhow::Result<usize> {
    super::write_package(dir)?;
    let mut parent = "base".to_string();
    let mut tables = 0;
    for i in 0..n {
        // The most recent table, so a column or index lands on a table
        // created a step or two before.
        let last = tables.max(1) - 1;
        let (up, down) = match i % 5 {
            3 if tables > 0 => (
                format!("ALTER TABLE mixed_{last} ADD COLUMN note_{i} text;"),
                format!("ALTER TABLE mixed_{last} DROP COLUMN note_{i};"),
            ),
            4 if tables > 0 => (
                format!("CREATE INDEX mixed_{last}_name_{i} ON mixed_{last} (name);"),
                format!("DROP INDEX mixed_{last}_name_{i};"),
            ),
            _ => {
                tables += 1;
                (
                    format!("CREATE TABLE mixed_{last_new} (id bigint PRIMARY KEY, name text NOT NULL);\nINSERT INTO mixed_{last_new} VALUES (1, 'x');", last_new = tables - 1),
                    format!("DROP TABLE mixed_{};", tables - 1),
                )
            }
        };
        let revision_id = format!("20240101_1300_{:08x}", 0xbf00_0000_usize + i);
        let text = format!("-- Message: mixed {i}\n-- Revises: {parent}\n\n-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n");
        std::fs::write(
            dir.join("migrations")
                .join(format!("{revision_id}_mixed_{i}.sql")),
            text,
        )?;
        parent = revision_id;
    }
    Ok(tables)
}

/// Times `test` and `upgrade` + `downgrade base` on the project in `dir`,
/// in interleaved rounds; prints the medians.
fn run(case: &Case<'_>, dir: &Path) -> anyhow::Result<()> {
    let Case {
        psql,
        binary,
        admin_url,
        n_migrations,
        rounds,
    } = *case;
    let mut times = [Vec::new(), Vec::new()];
    let mut cpu = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for step in 0..2 {
            let n = (step + round) % 2;
            let name = format!("dbm_bench_rt_{n}_{}_{round}", std::process::id());
            super::sql(
                psql,
                admin_url,
                &format!("CREATE DATABASE \"{name}\" TEMPLATE template0"),
            )?;
            let url = super::with_database(admin_url, &name);
            let cpu_before = children_cpu();
            let measured = if n == 0 {
                // `test` makes (and drops) its own scratch database on this server.
                super::time_cli(binary, dir, &url, "test")
            } else {
                plain_round_trip(binary, dir, &url)
            };
            cpu[n].push(children_cpu().saturating_sub(cpu_before));
            let _ = super::sql(
                psql,
                admin_url,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
            times[n].push(measured?);
        }
    }
    let [test, plain] = times.map(|mut t| super::median(&mut t).as_secs_f64());
    let [test_cpu, plain_cpu] = cpu.map(|mut t| super::median(&mut t).as_secs_f64());
    println!("round trip of {n_migrations} small migrations, median of {rounds} round(s)");
    println!(
        "  upgrade + downgrade base                   {:>8.0} ms",
        plain * 1000.0
    );
    println!(
        "  cargo dbmigrate test (up, down, up, snapshots) {:>4.0} ms  {:>5.2}× upgrade + downgrade",
        test * 1000.0,
        test / plain
    );
    println!(
        "  tool CPU (user + system): test {:.0} ms ({:.0}% of its time), upgrade + downgrade {:.0} ms ({:.0}%)",
        test_cpu * 1000.0,
        100.0 * test_cpu / test,
        plain_cpu * 1000.0,
        100.0 * plain_cpu / plain
    );
    Ok(())
}

fn plain_round_trip(binary: &Path, dir: &Path, url: &str) -> anyhow::Result<Duration> {
    let up = super::time_cli(binary, dir, url, "upgrade")?;
    let down = super::time_cli_args(binary, dir, url, &["downgrade", "base"])?;
    Ok(up + down)
}
