//! Scratch PostgreSQL databases for the CLI tests that run `cargo-dbmigrate`
//! as a process against the server of `DATABASE_URL`: [`ScratchDatabase`],
//! one database dropped by its guard (through
//! `dbmigrate_core::testing::drop_database`) also on panic, and [`Scratch`],
//! such a database with a package whose migrations target it, whose guard
//! also kills the processes it started.

#![allow(dead_code)] // each test binary uses a part

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use nix::unistd::Pid;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

pub fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DATABASE_URL is not set: this test needs a real server. Run `cargo xtask services up` \
             and `eval \"$(cargo xtask services env)\"`, or run the whole suite with `.ci/run`"
        ),
    }
}

/// A scratch database on the server of `DATABASE_URL`, dropped (ending any
/// session left in it) when the guard goes, also when the test panics.
pub struct ScratchDatabase {
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates `dbm_<tag>_<pid>_<n>_<nanos>` from `template0` (`n` counts
    /// this process's databases: tests create them side by side). Blocks;
    /// usable inside a test's runtime or without one.
    pub fn create(tag: &str) -> ScratchDatabase {
        static CREATED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("dbm_{tag}_{}_{n}_{nanos}", std::process::id());
        assert!(
            name.len() <= 63,
            "{name} is longer than PostgreSQL's 63-byte names"
        );
        let admin_url = database_url();
        create_on_server(&admin_url, &name)
            .unwrap_or_else(|error| panic!("create database {name}: {error}"));
        ScratchDatabase {
            url: with_database(&admin_url, &name),
            name,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `DATABASE_URL` with its database replaced by this one.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connection options for it.
    pub fn options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url).expect("the scratch URL parses")
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let dropped =
            dbmigrate_core::testing::drop_database_from_guard(&database_url(), &self.name);
        if let Err(error) = dropped {
            eprintln!("dropping scratch database {} failed: {error}", self.name);
        }
    }
}

/// Creates database `name` on the server of `admin_url`, on a thread and
/// runtime of its own: the caller may be inside a runtime.
fn create_on_server(admin_url: &str, name: &str) -> Result<(), String> {
    let (admin_url, name) = (admin_url.to_string(), name.to_string());
    let done = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        runtime.block_on(async {
            let options = PgConnectOptions::from_str(&admin_url).map_err(|e| e.to_string())?;
            let mut conn = PgConnection::connect_with(&options)
                .await
                .map_err(|e| e.to_string())?;
            let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE template0");
            let done = sqlx::raw_sql(&sql).execute(&mut conn).await.map(drop);
            let _ = conn.close().await;
            done.map_err(|e| e.to_string())
        })
    })
    .join();
    done.unwrap_or_else(|_| Err("the admin thread panicked".to_string()))
}

/// `url` with its database replaced by `name` (a query string is kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Writes a package at `root`, named after that folder, with an empty
/// library, a `[workspace]` of its own (so no parent workspace claims it) and
/// `files` (name, text) in its `migrations/` folder.
pub fn write_package(root: &Path, files: &[(&str, &str)]) {
    let name = root.file_name().expect("a folder name").to_string_lossy();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("src/lib.rs"), "").unwrap();
    for (file, text) in files {
        std::fs::write(root.join("migrations").join(file), text).unwrap();
    }
}

/// A scratch database and a package whose migrations target it; the
/// database is dropped and the processes started are killed also when the
/// test panics.
pub struct Scratch {
    _temp: tempfile::TempDir,
    root: PathBuf,
    children: Vec<Child>,
    // Dropped after `Drop::drop` has killed the processes.
    database: ScratchDatabase,
}

impl Scratch {
    pub async fn new(files: &[(&str, &str)]) -> Scratch {
        let database = ScratchDatabase::create("sig");
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("app");
        write_package(&root, files);
        Scratch {
            _temp: temp,
            root,
            children: Vec::new(),
            database,
        }
    }

    /// The database's URL: DATABASE_URL with its database replaced.
    pub fn url(&self) -> String {
        self.database.url().to_string()
    }

    /// Starts `cargo dbmigrate upgrade`; its stderr lines arrive on the channel.
    pub fn spawn_upgrade(&mut self) -> (Pid, mpsc::Receiver<String>) {
        self.spawn(&["upgrade"])
    }

    /// Starts `cargo dbmigrate <args>` on the scratch database (killed by
    /// the guard if still running); its stderr lines arrive on the channel.
    pub fn spawn(&mut self, args: &[&str]) -> (Pid, mpsc::Receiver<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .arg("dbmigrate")
            .args(args)
            .current_dir(&self.root)
            .env_remove("NEO4J_URI")
            .env_remove("WEAVIATE_URL")
            .env_remove("DBMIGRATE_LOCK_WAIT_SECONDS")
            .env_remove("DBMIGRATE_LEASE_SECONDS")
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
        self.children.push(child);
        (pid, receiver)
    }

    /// Waits for the first process started to end: its exit code and all
    /// of its stderr.
    pub fn wait(&mut self, lines: mpsc::Receiver<String>) -> (i32, String) {
        let pid = Pid::from_raw(self.children.first().expect("spawned").id() as i32);
        self.wait_for(pid, lines)
    }

    /// Whether the process `pid` has ended (without waiting for it).
    pub fn has_exited(&mut self, pid: Pid) -> bool {
        self.children
            .iter_mut()
            .find(|child| child.id() as i32 == pid.as_raw())
            .is_none_or(|child| !matches!(child.try_wait(), Ok(None)))
    }

    /// Waits for the process `pid` to end: its exit code and all of its stderr.
    pub fn wait_for(&mut self, pid: Pid, lines: mpsc::Receiver<String>) -> (i32, String) {
        let index = self
            .children
            .iter()
            .position(|child| child.id() as i32 == pid.as_raw())
            .expect("a process of this guard");
        let status = self.children.remove(index).wait().expect("wait");
        let stderr: Vec<String> = lines.iter().collect();
        (status.code().unwrap_or(-1), stderr.join("\n"))
    }

    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect_with(&self.database.options())
            .await
            .expect("connect to the scratch database")
    }

    /// Waits until another session runs a statement containing `pattern`.
    pub async fn wait_until_active(&self, pattern: &str) {
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

    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = self.connect().await;
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn text(&self, sql: &str) -> String {
        let mut conn = self.connect().await;
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
