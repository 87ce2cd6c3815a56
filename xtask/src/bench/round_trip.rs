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

/// Times `test` and `upgrade` + `downgrade base` on the project in `dir`
/// (written by `super::write_project`), `rounds` interleaved rounds; prints
/// the medians.
pub fn run(
    psql: &Path,
    binary: &Path,
    dir: &Path,
    admin_url: &str,
    n_migrations: usize,
    rounds: usize,
) -> anyhow::Result<()> {
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
