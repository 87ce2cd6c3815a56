//! `cargo xtask bench`: applies N small PostgreSQL migrations with
//! `cargo dbmigrate upgrade` and compares the wall time with `psql -1 -f`
//! running the same statements (no bookkeeping) in one transaction.
//! Target: the runner costs at most 1.15× psql.
//!
//! ```text
//! cargo xtask bench [--migrations 1000] [--rounds 3] [--release] [--check]
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// The ratio `cargo dbmigrate upgrade` / `psql -1 -f` must stay under.
const TARGET_RATIO: f64 = 1.15;

struct Options {
    migrations: usize,
    rounds: usize,
    release: bool,
    check: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        migrations: 1000,
        rounds: 3,
        release: false,
        check: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--migrations" => {
                let value = args.next().context("--migrations needs a number")?;
                options.migrations = value.parse().context("--migrations needs a number")?;
            }
            "--rounds" => {
                let value = args.next().context("--rounds needs a number")?;
                options.rounds = value.parse::<usize>().context("--rounds needs a number")?.max(1);
            }
            "--release" => options.release = true,
            "--check" => options.check = true,
            other => bail!("unknown argument `{other}`\nusage: cargo xtask bench [--migrations N] [--rounds R] [--release] [--check]"),
        }
    }
    Ok(options)
}

/// Runs `cargo xtask bench`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    let admin_url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()).context(
        "DATABASE_URL is not set: run `cargo xtask services up` and `eval \"$(cargo xtask services env)\"`",
    )?;
    let psql = find_psql()?;
    let binary = build_cli(options.release)?;
    let dir = std::env::temp_dir().join(format!("dbmigrate-bench-{}", std::process::id()));
    let scripts = write_project(&dir, options.migrations)?;
    let result = (0..options.rounds).try_fold([Duration::MAX; 4], |best, round| {
        let times = round_trip(&psql, &binary, &dir, &scripts, &admin_url, round)?;
        anyhow::Ok([0, 1, 2, 3].map(|i| best[i].min(times[i])))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let [one_transaction, per_migration, runner, fixed] = result?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ratio = runner.as_secs_f64() / one_transaction.as_secs_f64();
    let build = if options.release { "release" } else { "debug" };
    println!(
        "{} migrations, best of {} round(s)",
        options.migrations, options.rounds
    );
    println!(
        "  psql -1 -f (one transaction)          {:>8.0} ms",
        ms(one_transaction)
    );
    println!(
        "  psql -f (one transaction a migration) {:>8.0} ms",
        ms(per_migration)
    );
    println!(
        "  cargo dbmigrate upgrade ({build:7})     {:>8.0} ms",
        ms(runner)
    );
    println!("  runner / psql -1                      {ratio:>8.2}  (target <= {TARGET_RATIO})");
    println!(
        "  runner / psql one transaction each    {:>8.2}",
        runner.as_secs_f64() / per_migration.as_secs_f64()
    );
    println!(
        "  cargo dbmigrate upgrade, nothing pending {:>5.0} ms  (fixed cost of the CLI)",
        ms(fixed)
    );
    println!(
        "  runner without that fixed cost / psql -1 {:>5.2}",
        runner.saturating_sub(fixed).as_secs_f64() / one_transaction.as_secs_f64()
    );
    if options.check && ratio > TARGET_RATIO {
        bail!("the runner took {ratio:.2}× psql -1, above the {TARGET_RATIO}× target");
    }
    Ok(())
}

/// One round on fresh databases: psql -1, psql per migration, the runner.
fn round_trip(
    psql: &Path,
    binary: &Path,
    dir: &Path,
    scripts: &[PathBuf; 2],
    admin_url: &str,
    round: usize,
) -> anyhow::Result<[Duration; 4]> {
    let names = ["psql1", "psqln", "runner"]
        .map(|n| format!("dbm_bench_{n}_{}_{round}", std::process::id()));
    for name in &names {
        sql(
            psql,
            admin_url,
            &format!("CREATE DATABASE \"{name}\" TEMPLATE template0"),
        )?;
    }
    let urls = names.clone().map(|name| with_database(admin_url, &name));
    let result = (|| {
        let one = time_psql(psql, &["-1"], &scripts[0], &urls[0])?;
        let each = time_psql(psql, &[], &scripts[1], &urls[1])?;
        let runner = time_runner(binary, dir, &urls[2])?;
        // Nothing pending: process start, cargo metadata, parsing, one history read.
        let fixed = time_runner(binary, dir, &urls[2])?;
        anyhow::Ok([one, each, runner, fixed])
    })();
    for name in &names {
        let _ = sql(
            psql,
            admin_url,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        );
    }
    result
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
    let started = Instant::now();
    let status = Command::new(binary)
        .args(["dbmigrate", "upgrade"])
        .current_dir(dir)
        .env("DATABASE_URL", url)
        // PostgreSQL only: the other servers of `services env` stay out of it.
        .env_remove("NEO4J_URI")
        .env_remove("WEAVIATE_URL")
        .stdout(Stdio::null())
        .status()
        .context("failed to run cargo-dbmigrate")?;
    if !status.success() {
        bail!("cargo dbmigrate upgrade failed ({status})");
    }
    Ok(started.elapsed())
}

/// A package with `n` chained migrations, and their up statements as two
/// scripts: plain (for `psql -1`) and with BEGIN/COMMIT around each migration.
fn write_project(dir: &Path, n: usize) -> anyhow::Result<[PathBuf; 2]> {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::create_dir_all(&migrations)?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )?;
    std::fs::write(dir.join("src/lib.rs"), "")?;
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
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "-q", "-p", "cargo-dbmigrate"]);
    if release {
        command.arg("--release");
    }
    let status = command.status().context("failed to run cargo build")?;
    if !status.success() {
        bail!("building cargo-dbmigrate failed");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target
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
