//! The runner's wait for the migration lock is its own setting
//! (`--lock-wait-seconds`, `DBMIGRATE_LOCK_WAIT_SECONDS`), not a migration's
//! `Lock-Timeout` header (issue 13.7). Two replicas run `cargo-dbmigrate
//! upgrade` as processes against a scratch database on the real server of
//! `DATABASE_URL`; the first one's step blocks on an advisory lock the test
//! holds, so "the step is still running" is an event the test controls, and
//! every wait is for something the server or the process shows.

mod pg_scratch;

use std::time::Duration;

use nix::unistd::Pid;
use pg_scratch::Scratch;
use sqlx::Connection as _;

/// The advisory lock the slow step waits for; the test holds it.
const GATE: i64 = 713_001;

/// One migration whose header says `Lock-Timeout: 1s` and whose step waits
/// for the gate (with PostgreSQL's `lock_timeout` lifted, so only the
/// test decides when it ends), then leaves a row: its effect.
fn files() -> Vec<(String, String)> {
    let up = format!(
        "SET LOCAL lock_timeout = 0;\nSELECT pg_advisory_xact_lock({GATE});\n\
         CREATE TABLE effect (id int);\nINSERT INTO effect VALUES (1);"
    );
    vec![(
        "20240101_1000_aa0001_slow.sql".into(),
        format!("-- Message: slow\n-- Revises: base\n-- Lock-Timeout: 1s\n-- migrate:up\n{up}\n\n-- migrate:down\nDROP TABLE effect;\n"),
    )]
}

async fn scratch() -> Scratch {
    let files = files();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    Scratch::new(&files).await
}

/// Holds the gate on a session of its own until dropped or released.
async fn hold_gate(scratch: &Scratch) -> sqlx::PgConnection {
    let mut gate = scratch.connect().await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(GATE)
        .execute(&mut gate)
        .await
        .expect("take the gate");
    gate
}

/// The sessions that poll for the migration lock right now.
async fn lock_sessions(scratch: &Scratch) -> Vec<i32> {
    let mut conn = scratch.connect().await;
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await
    .expect("pg_stat_activity")
}

/// Waits until the replica `pid` has been polling for the migration lock
/// for `seconds` by the server's clock (a session other than `holders`),
/// or has ended; true when it is still waiting.
async fn still_waiting_after(
    scratch: &mut Scratch,
    pid: Pid,
    holders: &[i32],
    seconds: u32,
) -> bool {
    let mut conn = scratch.connect().await;
    loop {
        if scratch.has_exited(pid) {
            return false;
        }
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND query LIKE '%pg_try_advisory_lock%' AND pid <> ALL($1) AND pid <> pg_backend_pid() \
             AND now() - backend_start > make_interval(secs => $2)",
        )
        .bind(holders)
        .bind(f64::from(seconds))
        .fetch_one(&mut conn)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            return !scratch.has_exited(pid);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_second_replica_waits_for_the_lock_past_the_lock_timeout_header() {
    let mut scratch = scratch().await;
    let gate = hold_gate(&scratch).await;
    let (first, first_lines) = scratch.spawn(&["upgrade", "--lock-wait-seconds", "120"]);
    scratch
        .wait_until_active(&format!("pg_advisory_xact_lock({GATE})"))
        .await;
    let holders = lock_sessions(&scratch).await;
    let (second, second_lines) = scratch.spawn(&["upgrade", "--lock-wait-seconds", "120"]);
    assert!(
        still_waiting_after(&mut scratch, second, &holders, 3).await,
        "the second replica gave up within the 1 s of `Lock-Timeout`: {}",
        scratch.wait_for(second, second_lines).1
    );
    gate.close().await.expect("release the gate");
    let (code, stderr) = scratch.wait_for(first, first_lines);
    assert_eq!(code, 0, "first replica: {stderr}");
    let (code, stderr) = scratch.wait_for(second, second_lines);
    assert_eq!(code, 0, "second replica: {stderr}");
    assert_eq!(
        scratch
            .text("SELECT string_agg(revision_id || ':' || state, ',') FROM dbmigrate_history")
            .await,
        "20240101_1000_aa0001:applied"
    );
    assert_eq!(
        scratch.scalar("SELECT count(*) FROM effect").await,
        1,
        "applied once"
    );
}

#[tokio::test]
async fn a_too_short_lock_wait_fails_naming_the_setting() {
    let mut scratch = scratch().await;
    let gate = hold_gate(&scratch).await;
    let (first, first_lines) = scratch.spawn(&["upgrade"]);
    scratch
        .wait_until_active(&format!("pg_advisory_xact_lock({GATE})"))
        .await;
    for args in [
        &["upgrade", "--lock-wait-seconds", "0.3"][..],
        &["redo", "--lock-wait-seconds", "0.3"],
    ] {
        let (waiter, lines) = scratch.spawn(args);
        let (code, stderr) = scratch.wait_for(waiter, lines);
        assert_ne!(code, 0, "{args:?}: {stderr}");
        assert!(
            stderr.contains("timed out after")
                && stderr.contains("waiting for the migration lock")
                && stderr.contains("--lock-wait-seconds")
                && stderr.contains("DBMIGRATE_LOCK_WAIT_SECONDS"),
            "{args:?}: {stderr}"
        );
    }
    gate.close().await.expect("release the gate");
    let (code, stderr) = scratch.wait_for(first, first_lines);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(scratch.scalar("SELECT count(*) FROM effect").await, 1);
}

#[test]
fn lock_flags_refuse_what_is_not_a_sane_number_of_seconds() {
    for args in [
        ["upgrade", "--lock-wait-seconds", "0"],
        // Beyond what a Duration holds: this panicked before it was refused.
        ["upgrade", "--lease-seconds", "1e20"],
        ["upgrade", "--lease-seconds", "-1"],
        ["repair", "--lease-seconds", "soon"],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .arg("dbmigrate")
            .args(args)
            .output()
            .expect("run cargo-dbmigrate");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(args[1])
                && stderr.contains("is not a number of seconds between 0.001 and one year"),
            "{args:?}: {stderr}"
        );
    }
}
