//! A scratch PostgreSQL database and package for the CLI tests that run
//! `cargo-dbmigrate` as a process against the server of `DATABASE_URL`;
//! the guard drops the database (with `FORCE`) and kills the process, also
//! on panic.

#![allow(dead_code)] // each test binary uses a part

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
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

/// A scratch database and a package whose migrations target it; dropped
/// (the database with `FORCE`, ending any session left running) also when
/// the test panics.
pub struct Scratch {
    _temp: tempfile::TempDir,
    root: PathBuf,
    name: String,
    options: PgConnectOptions,
    children: Vec<Child>,
}

impl Scratch {
    pub async fn new(files: &[(&str, &str)]) -> Scratch {
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
            children: Vec::new(),
        }
    }

    /// The database's URL: DATABASE_URL with its database replaced.
    pub fn url(&self) -> String {
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
        PgConnection::connect_with(&self.options)
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
                dbmigrate_core::testing::drop_database(&mut conn, &name)
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
