//! The round-trip case (issue 11.5): `cargo dbmigrate test` (every migration
//! up, down, up, with schema snapshots compared, in a scratch database it
//! creates) on a history of N small migrations, against what it replaces by
//! hand: a plain `upgrade` to head and `downgrade base` on a fresh database.
//! Beside them, the floor: the same statements run by psql alone, as a plain
//! upgrade and downgrade, as the stairway's moves (up, down, up), and as
//! those moves with the least catalog read after each (what the 3×
//! bar leaves room for: see the README's "Speed").

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

/// One migration's sections.
struct Pair {
    up: String,
    down: String,
}

/// Both history shapes, each in its own project under `dir`: one table a
/// migration (the schema grows to N tables), and the shape (3 of
/// every 5 migrations create a table, the others add a column or an index
/// to one, so 250 migrations grow to 150 tables).
pub fn run_shapes(case: &Case<'_>, dir: &Path) -> anyhow::Result<()> {
    let n = case.n_migrations;
    let one_each = dir.join("one-table-each");
    write_history(&one_each, "20240101_1200_be", &one_table_each(n))?;
    println!("history: one table a migration ({n} tables at head)");
    run(case, &one_each)?;
    let mixed = dir.join("mixed");
    let (pairs, tables) = mixed_shape(n);
    write_history(&mixed, "20240101_1300_bf", &pairs)?;
    println!("history: 3 in 5 migrations create a table, the others add a column or an index ({tables} tables at head)");
    run(case, &mixed)
}

/// `n` migrations, each creating a table with a row.
fn one_table_each(n: usize) -> Vec<Pair> {
    (0..n)
        .map(|i| Pair {
            up: format!("CREATE TABLE bench_{i} (id bigint PRIMARY KEY, name text NOT NULL);\nINSERT INTO bench_{i} VALUES (1, 'x');"),
            down: format!("DROP TABLE bench_{i};"),
        })
        .collect()
}

/// `n` migrations of the shape, and the table count at head.
fn mixed_shape(n: usize) -> (Vec<Pair>, usize) {
    let mut pairs = Vec::new();
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
        pairs.push(Pair { up, down });
    }
    (pairs, tables)
}

/// A package under `dir` with the chained migrations of `pairs` (revision
/// ids `<prefix>NNNNNN`), and the psql scripts of [`Floor`].
fn write_history(dir: &Path, prefix: &str, pairs: &[Pair]) -> anyhow::Result<()> {
    super::write_package(dir)?;
    let mut parent = "base".to_string();
    for (i, pair) in pairs.iter().enumerate() {
        let revision_id = format!("{prefix}{i:06x}");
        let text = format!(
            "-- Message: step {i}\n-- Revises: {parent}\n\n-- migrate:up\n{}\n\n-- migrate:down\n{}\n",
            pair.up, pair.down
        );
        std::fs::write(
            dir.join("migrations")
                .join(format!("{revision_id}_step_{i}.sql")),
            text,
        )?;
        parent = revision_id;
    }
    for floor in Floor::ALL {
        std::fs::write(floor.script(dir), floor.text(pairs))?;
    }
    Ok(())
}

/// The same history's statements run by psql alone, no tool involved: what
/// any round trip of this shape must cost at least on this server.
#[derive(Clone, Copy)]
enum Floor {
    /// Every up, then every down, as `upgrade` + `downgrade base` run them.
    Plain,
    /// Each migration up, down, up: the moves of `test`, nothing else.
    Moves,
    /// The same, with the least catalog read a snapshot can make after each
    /// move ([`LEAST_READ`]).
    MovesAndRead,
}

/// The catalogs the snapshot prints objects from, each with the column
/// that holds the OID its user rows (from 16384) are found by. A change
/// writes a row with a newer `xmin` or removes one, so any snapshot that
/// reads the catalogs must look at each of these rows at least once; the
/// tool's reads more (it groups rows by object, and prints the definitions
/// of the changed ones). `pg_depend`, which changes only along with these,
/// is left out.
const CATALOGS: [(&str, &str); 14] = [
    ("pg_class", "oid"),
    ("pg_attribute", "attrelid"),
    ("pg_attrdef", "adrelid"),
    ("pg_constraint", "oid"),
    ("pg_index", "indexrelid"),
    ("pg_type", "oid"),
    ("pg_proc", "oid"),
    ("pg_trigger", "tgrelid"),
    ("pg_rewrite", "ev_class"),
    ("pg_description", "objoid"),
    ("pg_namespace", "oid"),
    ("pg_sequence", "seqrelid"),
    ("pg_policy", "polrelid"),
    ("pg_enum", "enumtypid"),
];

/// One query of the count and newest row version (`xmin`) of each of
/// [`CATALOGS`]' user rows, prepared once (planned once, as the tool's
/// snapshot query is): the least catalog read. Run by [`LEAST_READ`].
fn prepare_least_read() -> String {
    let parts: Vec<String> = CATALOGS
        .iter()
        .map(|(catalog, id)| {
            format!("(SELECT count(*) || ' ' || max(age(xmin)) FROM {catalog} WHERE {id} >= 16384)")
        })
        .collect();
    format!("PREPARE least_read AS SELECT {};\n", parts.join(", "))
}

/// One least catalog read ([`prepare_least_read`]).
const LEAST_READ: &str = "EXECUTE least_read;\n";

impl Floor {
    const ALL: [Floor; 3] = [Floor::Plain, Floor::Moves, Floor::MovesAndRead];

    fn script(self, dir: &Path) -> std::path::PathBuf {
        dir.join(match self {
            Floor::Plain => "floor_plain.sql",
            Floor::Moves => "floor_moves.sql",
            Floor::MovesAndRead => "floor_moves_read.sql",
        })
    }

    /// Each move as the tool runs it: one transaction with its history
    /// row, committed without waiting for the flush.
    fn text(self, pairs: &[Pair]) -> String {
        let up = |i: usize| {
            format!(
                "BEGIN; SET LOCAL synchronous_commit = off;\n{}\nINSERT INTO floor_history VALUES ('{i}');\nCOMMIT;\n",
                pairs[i].up
            )
        };
        let down = |i: usize| {
            format!(
                "BEGIN; SET LOCAL synchronous_commit = off;\n{}\nDELETE FROM floor_history WHERE revision = '{i}';\nCOMMIT;\n",
                pairs[i].down
            )
        };
        let mut out = String::from("CREATE TABLE floor_history (revision text PRIMARY KEY);\n");
        let read = matches!(self, Floor::MovesAndRead);
        let least = if read { LEAST_READ } else { "" };
        if read {
            out.push_str(&prepare_least_read());
        }
        out.push_str(least);
        match self {
            Floor::Plain => {
                (0..pairs.len()).for_each(|i| out.push_str(&up(i)));
                (0..pairs.len()).rev().for_each(|i| out.push_str(&down(i)));
            }
            Floor::Moves | Floor::MovesAndRead => {
                for i in 0..pairs.len() {
                    for text in [up(i), down(i), up(i)] {
                        out.push_str(&text);
                        out.push_str(least);
                    }
                }
            }
        }
        out
    }

    fn label(self) -> &'static str {
        match self {
            Floor::Plain => "psql alone: every up, then every down",
            Floor::Moves => "psql alone: up, down, up each (test's moves)",
            Floor::MovesAndRead => "  + the least catalog read after each move",
        }
    }
}

/// What one round of [`run`] times: the tool's two runs, then the floors.
const MEASURES: usize = 2 + Floor::ALL.len();

/// Times `test` and `upgrade` + `downgrade base` on the project in `dir`,
/// and the same statements by psql alone ([`Floor`]), in interleaved
/// rounds; prints the medians.
fn run(case: &Case<'_>, dir: &Path) -> anyhow::Result<()> {
    let Case {
        psql,
        binary,
        admin_url,
        n_migrations,
        rounds,
    } = *case;
    let mut times: [Vec<Duration>; MEASURES] = Default::default();
    let mut cpu = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for step in 0..MEASURES {
            let n = (step + round) % MEASURES;
            let name = format!("dbm_bench_rt_{n}_{}_{round}", std::process::id());
            super::sql(
                psql,
                admin_url,
                &format!("CREATE DATABASE \"{name}\" TEMPLATE template0"),
            )?;
            let url = super::with_database(admin_url, &name);
            let cpu_before = children_cpu();
            let measured = match n {
                // `test` makes (and drops) its own scratch database on this server.
                0 => super::time_cli(binary, dir, &url, "test"),
                1 => plain_round_trip(binary, dir, &url),
                _ => super::time_psql(psql, &[], &Floor::ALL[n - 2].script(dir), &url),
            };
            if n < 2 {
                cpu[n].push(children_cpu().saturating_sub(cpu_before));
            }
            let _ = super::sql(
                psql,
                admin_url,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
            times[n].push(measured?);
        }
    }
    let medians = times.map(|mut t| super::median(&mut t).as_secs_f64());
    let [test, plain] = [medians[0], medians[1]];
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
    println!("  the floor, the same statements without the tool:");
    for (floor, time) in Floor::ALL.iter().zip(&medians[2..]) {
        println!(
            "  {:<44} {:>6.0} ms  {:>5.2}× upgrade + downgrade",
            floor.label(),
            time * 1000.0,
            time / plain
        );
    }
    Ok(())
}

fn plain_round_trip(binary: &Path, dir: &Path, url: &str) -> anyhow::Result<Duration> {
    let up = super::time_cli(binary, dir, url, "upgrade")?;
    let down = super::time_cli_args(binary, dir, url, &["downgrade", "base"])?;
    Ok(up + down)
}

#[cfg(test)]
mod tests {
    use super::{Floor, Pair, LEAST_READ};

    fn pairs() -> Vec<Pair> {
        (0..2)
            .map(|i| Pair {
                up: format!("CREATE TABLE t{i} ();"),
                down: format!("DROP TABLE t{i};"),
            })
            .collect()
    }

    /// The statements of each floor, in the order the tool would run them.
    fn sections(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|line| line.starts_with("CREATE TABLE t") || line.starts_with("DROP TABLE"))
            .collect()
    }

    #[test]
    fn the_plain_floor_runs_every_up_then_every_down_from_the_last() {
        let text = Floor::Plain.text(&pairs());
        assert_eq!(
            sections(&text),
            [
                "CREATE TABLE t0 ();",
                "CREATE TABLE t1 ();",
                "DROP TABLE t1;",
                "DROP TABLE t0;"
            ]
        );
        assert!(!text.contains(LEAST_READ) && !text.contains("PREPARE"));
        assert_eq!(text.matches("COMMIT;").count(), 4);
    }

    #[test]
    fn the_stairway_floors_run_up_down_up_and_one_read_after_each_move() {
        let moves = Floor::Moves.text(&pairs());
        let expected = [
            "CREATE TABLE t0 ();",
            "DROP TABLE t0;",
            "CREATE TABLE t0 ();",
            "CREATE TABLE t1 ();",
            "DROP TABLE t1;",
            "CREATE TABLE t1 ();",
        ];
        assert_eq!(sections(&moves), expected);
        assert!(!moves.contains(LEAST_READ) && !moves.contains("PREPARE"));
        let read = Floor::MovesAndRead.text(&pairs());
        assert_eq!(sections(&read), expected);
        // Prepared once, before any read; one read before the first move,
        // as `test` snapshots base.
        assert_eq!(read.matches("PREPARE least_read AS SELECT").count(), 1);
        assert!(read.find("PREPARE") < read.find(LEAST_READ));
        assert_eq!(read.matches(LEAST_READ).count(), 7);
        assert_eq!(read.matches("INSERT INTO floor_history").count(), 4);
        assert_eq!(read.matches("DELETE FROM floor_history").count(), 2);
    }
}
