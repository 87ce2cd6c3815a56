//! Ctrl-C and SIGTERM during `cargo dbmigrate upgrade` (and `test`), sent with `nix` to
//! the real process while its step runs `pg_sleep` on the real server of
//! `DATABASE_URL` (each test in its own database, dropped by a guard). The
//! tests wait for events — the server showing the statement active, the
//! process's own message — never for a fixed time.

mod pg_scratch;

use nix::sys::signal::{kill, Signal};
use pg_scratch::Scratch;

fn file(name: &str, revises: &str, header: &str, up: &str) -> (String, String) {
    (
        format!("{name}.sql"),
        format!("-- Message: {name}\n-- Revises: {revises}\n{header}\n-- migrate:up\n{up}\n\n-- migrate:down\nSELECT 1;\n"),
    )
}

const SLEEP: &str = "pg_sleep(3600)";

async fn advisory_locks(scratch: &Scratch) -> i64 {
    scratch
        .scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        .await
}

fn project_files(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect()
}

#[tokio::test]
async fn ctrl_c_cancels_the_running_statement_rolls_back_and_releases_the_lock() {
    let files = [
        file(
            "20240101_1000_aa0001_first",
            "base",
            "",
            "CREATE TABLE first (id int);",
        ),
        file(
            "20240101_1100_aa0002_slow",
            "20240101_1000_aa0001",
            "",
            &format!("CREATE TABLE slow (id int);\nSELECT {SLEEP};"),
        ),
    ];
    let mut scratch = Scratch::new(&project_files(&files)).await;
    let (pid, lines) = scratch.spawn_upgrade();
    scratch.wait_until_active(SLEEP).await;
    kill(pid, Signal::SIGINT).expect("send SIGINT");
    let (code, stderr) = scratch.wait(lines);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("Interrupted: cancelling"), "{stderr}");
    assert!(
        stderr.contains("20240101_1100_aa0002_slow.sql:")
            && stderr.contains("transaction rolled back, so nothing of it was applied"),
        "{stderr}"
    );
    assert_eq!(
        scratch
            .text("SELECT string_agg(revision_id || ':' || state, ',') FROM dbmigrate_history")
            .await,
        "20240101_1000_aa0001:applied"
    );
    assert_eq!(
        scratch
            .scalar("SELECT count(*) FROM pg_class WHERE relname = 'slow'")
            .await,
        0
    );
    assert_eq!(advisory_locks(&scratch).await, 0, "the lock was released");
    assert_eq!(
        scratch
            .scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3600)%' AND state = 'active' AND datname = current_database() AND pid <> pg_backend_pid()")
            .await,
        0,
        "the statement stopped on the server"
    );
}

#[tokio::test]
async fn sigterm_leaves_a_transaction_none_step_dirty_with_what_committed() {
    let files = [file(
        "20240101_1000_aa0001_online",
        "base",
        "-- Transaction: none",
        &format!("CREATE TABLE before_sleep (id int);\nSELECT {SLEEP};\nCREATE TABLE after_sleep (id int);"),
    )];
    let mut scratch = Scratch::new(&project_files(&files)).await;
    let (pid, lines) = scratch.spawn_upgrade();
    scratch.wait_until_active(SLEEP).await;
    kill(pid, Signal::SIGTERM).expect("send SIGTERM");
    let (code, stderr) = scratch.wait(lines);
    assert_eq!(code, 1, "{stderr}");
    // The sleep is the second statement, on line 6 of the file.
    assert!(
        stderr.contains("20240101_1000_aa0001_online.sql:6: cancelled")
            && stderr.contains("is recorded dirty")
            && stderr.contains("cargo dbmigrate repair 20240101_1000_aa0001"),
        "{stderr}"
    );
    assert_eq!(
        scratch.text("SELECT state FROM dbmigrate_history").await,
        "dirty_up"
    );
    assert_eq!(
        scratch
            .text("SELECT coalesce(string_agg(relname::text, ','), '') FROM pg_class WHERE relname IN ('before_sleep', 'after_sleep')")
            .await,
        "before_sleep",
        "the statement before the cancelled one committed, the one after did not run"
    );
    assert_eq!(advisory_locks(&scratch).await, 0, "the lock was released");
}

/// A statement that ignores cancel requests: the first signal cannot end
/// the run, only the second can.
const STUBBORN: &str = "DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(3600); \
EXCEPTION WHEN query_canceled THEN RAISE NOTICE 'ignored'; END; END LOOP; END $$;";

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let files = [file("20240101_1000_aa0001_stubborn", "base", "", STUBBORN)];
    let mut scratch = Scratch::new(&project_files(&files)).await;
    let (pid, lines) = scratch.spawn_upgrade();
    scratch.wait_until_active(SLEEP).await;
    kill(pid, Signal::SIGINT).expect("send SIGINT");
    let notice = lines
        .iter()
        .find(|line| line.contains("press Ctrl-C again"));
    assert!(notice.is_some(), "the first signal was acknowledged");
    kill(pid, Signal::SIGINT).expect("send the second SIGINT");
    let (code, stderr) = scratch.wait(lines);
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("Interrupted again: exiting now"),
        "{stderr}"
    );
}

/// Ctrl-C during `test` killed the process: its scratch database stayed on
/// the server (and the run's objects on Neo4j/Weaviate), with no table.
/// Now the running up is cancelled on the server, the run stops, the
/// scratch database is dropped and the table ends with that step `stopped`.
#[tokio::test]
async fn ctrl_c_stops_a_round_trip_and_drops_its_scratch_database() {
    let files = [file(
        "20240101_1000_aa0001_slow",
        "base",
        "",
        "SELECT pg_sleep(3599);",
    )];
    let mut scratch = Scratch::new(&project_files(&files)).await;
    let (pid, lines) = scratch.spawn(&["test"]);
    // `test` names its scratch database after its process id.
    let prefix = format!("dbmigrate_test_{pid}_%");
    let mut conn = scratch.connect().await;
    let scratch_database: String = loop {
        let active: Option<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_stat_activity WHERE datname LIKE $1 \
             AND state = 'active' AND query LIKE '%pg_sleep(3599)%'",
        )
        .bind(&prefix)
        .fetch_optional(&mut conn)
        .await
        .expect("pg_stat_activity");
        if let Some(name) = active {
            break name;
        }
        assert!(
            !scratch.has_exited(pid),
            "`test` ended before its slow step"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let _dropped_also_on_panic = LeftBehind(scratch_database.clone());
    kill(pid, Signal::SIGINT).expect("send SIGINT");
    let (code, stderr) = scratch.wait(lines);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Interrupted: stopping the round trip"),
        "{stderr}"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&scratch_database)
        .fetch_one(&mut conn)
        .await
        .expect("pg_database");
    assert_eq!(left, 0, "{scratch_database} was dropped");
    let sleeping: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
         AND query LIKE '%pg_sleep(3599)%' AND pid <> pg_backend_pid()",
    )
    .bind(&scratch_database)
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_activity");
    assert_eq!(sleeping, 0, "the statement stopped on the server");
}

/// The `test` run's own scratch database, dropped if the run left it, also
/// when the test panics.
struct LeftBehind(String);

impl Drop for LeftBehind {
    fn drop(&mut self) {
        let url = pg_scratch::database_url();
        if let Err(error) = dbmigrate_core::testing::drop_database_from_guard(&url, &self.0) {
            eprintln!("dropping {} failed: {error}", self.0);
        }
    }
}
