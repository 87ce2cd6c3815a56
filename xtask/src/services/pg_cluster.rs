//! A private PostgreSQL cluster (Debian's binaries, `initdb` + `pg_ctl`) on 127.0.0.1,
//! with PostgreSQL's default durability (fsync, synchronous_commit and full_page_writes
//! on), and a streaming standby of it (`pg_basebackup -R`). Run as the `postgres` system
//! user when we are root (the server refuses root). Stopped and deleted on drop, also
//! on panic.
//!
//! Shared code: xtask (`bench`, `services`) compiles it as `services::pg_cluster`, and
//! the integration tests include the same file with `#[path]`, so it uses `std` only.

// Each includer uses a part of it.
#![allow(dead_code)]

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A failure, with what ran and what it printed.
pub type Error = String;

/// A running scratch cluster in `dir/data`, its log in `dir/log`.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PgCluster {
    /// Creates (`initdb`, trust authentication for local and loopback connections,
    /// replication included) and starts a cluster in `dir` (emptied first) on `port`.
    pub fn start(dir: &Path, port: u16) -> Result<PgCluster, Error> {
        let cluster = PgCluster::empty(dir, port)?;
        cluster.run(
            "initdb",
            &[
                "-D",
                "data",
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        cluster.start_again()?;
        Ok(cluster)
    }

    /// A hot standby of `primary` in `dir` (emptied first) on `port`: a base backup
    /// taken with `pg_basebackup -R` (which writes `standby.signal` and the
    /// `primary_conninfo` that streams from the primary), then started. Read-only.
    pub fn start_standby(primary: &PgCluster, dir: &Path, port: u16) -> Result<PgCluster, Error> {
        let standby = PgCluster::empty(dir, port)?;
        let source = primary.port.to_string();
        standby.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &source,
                "-U",
                "postgres",
                "-D",
                "data",
                "-R",
                "-X",
                "stream",
                // An immediate checkpoint, not a spread one that can take minutes.
                "-c",
                "fast",
                "--no-sync",
            ],
        )?;
        standby.start_again()?;
        Ok(standby)
    }

    fn empty(dir: &Path, port: u16) -> Result<PgCluster, Error> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        if let Some((uid, gid)) = cluster_owner() {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {} to postgres: {e}", dir.display()))?;
        }
        Ok(PgCluster {
            dir: dir.to_path_buf(),
            bin: bin_dir().ok_or(
                "no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql".to_string(),
            )?,
            port,
        })
    }

    /// Starts the stopped cluster (crash recovery runs first), loopback only, its Unix
    /// socket in its own folder.
    pub fn start_again(&self) -> Result<(), Error> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.display()
        );
        self.run(
            "pg_ctl",
            &["-D", "data", "-l", "log", "-w", "-o", &options, "start"],
        )
    }

    /// Stops the server as a crash would: no checkpoint, no WAL flush.
    pub fn crash(&self) -> Result<(), Error> {
        self.run("pg_ctl", &["-D", "data", "-w", "-m", "immediate", "stop"])
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// `bin/<program>` of the PostgreSQL these clusters run.
    pub fn program(&self, program: &str) -> PathBuf {
        self.bin.join(program)
    }

    /// Runs a PostgreSQL program in the cluster's folder, as the cluster's owner.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<(), Error> {
        let mut command = Command::new(self.bin.join(program));
        command.args(args).current_dir(&self.dir);
        if let Some((uid, gid)) = cluster_owner() {
            command.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        let output = command
            .output()
            .map_err(|e| format!("failed to run {program}: {e}"))?;
        if !output.status.success() {
            // The server's own log says why it did not start; it goes with the folder.
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "{program} {args:?} failed: {}{}\n--- last lines of its log ---\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr).trim(),
                tail.join("\n")
            ));
        }
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", "data", "-w", "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `bin` folder of the newest installed PostgreSQL (`/usr/lib/postgresql/<v>/bin`).
pub fn bin_dir() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

/// The `postgres` user's uid and gid when we run as root, else `None`.
fn cluster_owner() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .to_string();
    if euid != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let fields: Vec<&str> = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)?;
    Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
}
