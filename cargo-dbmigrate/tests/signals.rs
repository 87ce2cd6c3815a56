//! Ctrl-C and SIGTERM during `cargo dbmigrate upgrade`, sent with `nix` to
//! the real process while its step runs `pg_sleep` on the real server of
//! `DATABASE_URL` (each test in its own database, dropped by a guard). The
//! tests wait for events — the server showing the statement active, the
//! process's own message — never for a fixed time.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DATABASE_URL is not set: this test needs a real server. Run `cargo xtask services up` \
             and `eval \"$(cargo xtask services env)\"`, or run the whole suite with `.ci/run`"
        ),
    }
}

/// A scratch database and a package whose migrations target it; dropped
/// (the database with `FORCE`, ending any session left running) also when
/// the test panics.
struct Scratch {
    _temp: tempfile::TempDir,
    root: PathBuf,
    name: String,
    options: PgConnectOptions,
    child: Option<Child>,
}

impl Scratch {
    async fn new(files: &[(&str, &str)]) -> Scratch {
        let admin = PgConnectOptions::from_str(&database_url()).expect("DATABASE_URL parses");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("dbm_sig_{}_{nanos}", std::process::id());
        let mut conn = PgConnection::connect_with(&admin).await.expect("connect");
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("app");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("migrations")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        for (file, text) in files {
            std::fs::write(root.join("migrations").join(file), text).unwrap();
        }
        Scratch {
            _temp: temp,
            root,
            options: admin.database(&name),
            name,
            child: None,
        }
    }

    /// The database's URL: DATABASE_URL with its database replaced.
    fn url(&self) -> String {
        let url = database_url();
        let (base, query) = url
            .split_once('?')
            .map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
        let server = &base[..base.rfind('/').expect("a database in DATABASE_URL")];
        match query {
            Some(query) => format!("{server}/{}?{query}", self.name),
            None => format!("{server}/{}", self.name),
        }
    }

    /// Starts `cargo dbmigrate upgrade`; its stderr lines arrive on the channel.
    fn spawn_upgrade(&mut self) -> (Pid, mpsc::Receiver<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .args(["dbmigrate", "upgrade"])
            .current_dir(&self.root)
            .env_remove("NEO4J_URI")
            .env_remove("WEAVIATE_URL")
            .env("DATABASE_URL", self.url())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cargo-dbmigrate");
        let stderr = child.stderr.take().expect("piped stderr");
        let (lines, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = Pid::from_raw(child.id() as i32);
        self.child = Some(child);
        (pid, receiver)
    }

    /// Waits for the process to end: its exit code and all of its stderr.
    fn wait(&mut self, lines: mpsc::Receiver<String>) -> (i32, String) {
        let status = self.child.take().expect("spawned").wait().expect("wait");
        let stderr: Vec<String> = lines.iter().collect();
        (status.code().unwrap_or(-1), stderr.join("\n"))
    }

    async fn connect(&self) -> PgConnection {
        PgConnection::connect_with(&self.options)
            .await
            .expect("connect to the scratch database")
    }

    /// Waits until another session runs a statement containing `pattern`.
    async fn wait_until_active(&self, pattern: &str) {
        let mut conn = self.connect().await;
        loop {
            let active: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%' || $1 || '%'",
            )
            .bind(pattern)
            .fetch_one(&mut conn)
            .await
            .expect("pg_stat_activity");
            if active > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = self.connect().await;
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    async fn text(&self, sql: &str) -> String {
        let mut conn = self.connect().await;
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let name = self.name.clone();
        // The test's runtime may be gone (a panic): drop on a thread of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin =
                    PgConnectOptions::from_str(&database_url()).expect("DATABASE_URL parses");
                let mut conn = PgConnection::connect_with(&admin)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .map_err(std::io::Error::other)?;
                let _ = conn.close().await;
                Ok::<(), std::io::Error>(())
            })
        });
        if let Ok(Err(error)) = dropped.join() {
            eprintln!("dropping the scratch database failed: {error}");
        }
    }
}

fn file(name: &str, revises: &str, header: &str, up: &str) -> (String, String) {
    (
        format!("{name}.sql"),
        format!("-- Message: {name}\n-- Revises: {revises}\n{header}\n-- migrate:up\n{up}\n\n-- migrate:down\nSELECT 1;\n"),
    )
}

const SLEEP: &str = "pg_sleep(3600)";

async fn advisory_locks(scratch: &Scratch) -> i64 {
    scratch
        .scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
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
            .scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()")
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
