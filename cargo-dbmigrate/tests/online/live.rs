//! Live output (issue 16.1): a long upgrade prints each step as it
//! completes, so a pipe sees the first step while the run goes on.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::pg_scratch::ScratchDatabase;
use super::small_project;

/// The advisory lock key migration 2 waits for.
const GATE: i64 = 734_000_161;

/// `n` PostgreSQL migrations in one line; the second waits for [`GATE`].
fn numbered_migrations(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let id = revision(i);
            let parent = if i == 0 {
                "base".to_string()
            } else {
                revision(i - 1)
            };
            let up = if i == 1 {
                format!("SELECT pg_advisory_xact_lock({GATE});\nCREATE TABLE t{i} (id int);")
            } else {
                format!("CREATE TABLE t{i} (id int);")
            };
            let text = format!(
                "-- Message: step {i}\n-- Revises: {parent}\n-- Created: 2024-01-01 00:00:00Z\n\n\
                 -- migrate:up\n{up}\n\n-- migrate:down\nDROP TABLE t{i};\n"
            );
            (format!("{id}_step_{i}.sql"), text)
        })
        .collect()
}

fn revision(i: usize) -> String {
    format!("20240101_{:02}{:02}_{:06x}", i / 60, i % 60, 0xa00000 + i)
}

/// True once the run waits for [`GATE`] in `database` (it has applied step 1).
async fn run_waits_at_the_gate(admin_pool: &sqlx::PgPool, database: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = $1 AND d.datname = $2)",
    )
    .bind(GATE as i32)
    .bind(database)
    .fetch_one(admin_pool)
    .await
    .expect("read pg_locks")
}

#[tokio::test]
async fn a_piped_upgrade_shows_its_first_step_while_the_run_goes_on() {
    let files = numbered_migrations(300);
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (_temp, root) = small_project(&borrowed);
    let database = ScratchDatabase::create("live");
    let pool = sqlx::PgPool::connect(database.url())
        .await
        .expect("connect");
    let mut gate = pool.acquire().await.expect("a connection");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(GATE)
        .execute(&mut *gate)
        .await
        .expect("take the gate");

    let mut child = spawn_upgrade(&root, database.url());
    // The run is now held inside step 2: step 1 is applied and committed.
    let mut polls = 0;
    while !run_waits_at_the_gate(&pool, database.name()).await {
        polls += 1;
        if let Some(status) = child.try_wait().expect("child status") {
            panic!("the upgrade ended ({status}) before it reached step 2");
        }
        assert!(polls < 6_000, "the upgrade never reached step 2");
        // A poll interval while watching pg_locks, not a stand-in for the event.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Stop it there: whatever it printed is in the pipe.
    child.kill().expect("kill");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child.wait().unwrap();
    let first = format!("Applying {} step_0 (postgres)", revision(0));
    assert!(
        out.lines().next().is_some_and(|line| line.trim_start().starts_with(&first)),
        "the first step's line must be printed while the run is still going on (it was held at step 2): {out:?}"
    );
    assert!(!out.contains(&revision(1)), "{out}");

    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(GATE)
        .execute(&mut *gate)
        .await
        .expect("open the gate");
    drop(gate);
    pool.close().await;
    let (code, out, err) = super::run_in(
        &root,
        &["dbmigrate", "upgrade"],
        &[("DATABASE_URL", database.url())],
    );
    assert_eq!(code, 0, "{out}{err}");
    // Step 2 may have been committed by the killed run's server session
    // (its statements and bookkeeping went in one message) once the gate opened.
    assert!(out.matches("Applying").count() >= 298, "{out}");
    assert!(out.contains(&format!("now at {}", revision(299))), "{out}");
}

fn spawn_upgrade(root: &Path, url: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
        .args(["dbmigrate", "upgrade"])
        .current_dir(root)
        .env_remove("NEO4J_URI")
        .env_remove("WEAVIATE_URL")
        .env("DATABASE_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cargo-dbmigrate")
}
