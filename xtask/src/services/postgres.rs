//! PostgreSQL: Debian's `postgresql` package (installed with apt-get when missing), a
//! private cluster in `target/services/postgres/data` on 127.0.0.1:56432 (see `ports`), owned by the
//! `postgres` system user when we run as root (initdb and postgres refuse root).

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

use super::layout::{create_dir, Layout};
use super::pg_cluster::bin_dir;
use super::ports::Port;
use super::process::{run_logged, spawn_logged};
use super::server::Server;
use super::service::Service;

/// The login role the tests use; it may create databases.
pub const USER: &str = "dbmigrate";
/// The test role's password (a throwaway, loopback only).
pub const PASSWORD: &str = "dbmigrate-test";
/// The database created for the tests.
pub const DATABASE: &str = "dbmigrate";

/// The PostgreSQL service.
pub struct Postgres;

impl Service for Postgres {
    fn server(&self) -> Server {
        Server::Postgres
    }

    fn ports(&self) -> Vec<(&'static str, u16)> {
        vec![("sql", Port::Postgres.get())]
    }

    fn env(&self) -> Vec<(String, String)> {
        let port = Port::Postgres.get();
        let url = format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}");
        vec![("DATABASE_URL".into(), url)]
    }

    fn prepare(&self, layout: &Layout) -> anyhow::Result<()> {
        let bin = match bin_dir() {
            Some(bin) => bin,
            None => install(layout)?,
        };
        init_cluster(layout, &bin)
    }

    fn spawn(&self, layout: &Layout) -> anyhow::Result<u32> {
        let bin = bin_dir().context("postgres binaries vanished after prepare")?;
        let data = layout.data_dir(Server::Postgres);
        let mut command = Command::new(bin.join("postgres"));
        command
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(Port::Postgres.get().to_string());
        for setting in [
            "listen_addresses=127.0.0.1".to_string(),
            format!("unix_socket_directories={}", data.display()),
            "max_connections=300".into(),
            "fsync=off".into(),
            "synchronous_commit=off".into(),
            "full_page_writes=off".into(),
        ] {
            command.arg("-c").arg(setting);
        }
        as_cluster_owner(&mut command, &data)?;
        spawn_logged(&mut command, &layout.log_file(Server::Postgres))
    }

    fn answers(&self, _layout: &Layout) -> bool {
        let Some(bin) = bin_dir() else { return false };
        // pg_isready only once something listens: see `probe::port_open`.
        if !super::probe::port_open(Port::Postgres.get()) {
            return false;
        }
        Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &Port::Postgres.get().to_string(),
                "-t",
                "2",
            ])
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn after_ready(&self, layout: &Layout) -> anyhow::Result<()> {
        create_role_and_database(layout)
    }

    fn stop_signal(&self) -> &'static str {
        // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to leave.
        "INT"
    }

    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }
}

/// Installs Debian's `postgresql` package; only root can.
fn install(layout: &Layout) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run \
         `sudo apt-get install -y postgresql`, then `cargo xtask services up` again"
    );
    let log = layout.dir(Server::Postgres).join("apt-get.log");
    eprintln!(
        "postgres: installing Debian's postgresql package (log: {})",
        log.display()
    );
    let apt = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_logged(&mut command, &log, &format!("apt-get {}", args.join(" ")))
    };
    apt(&["update"])?;
    apt(&["install", "-y", "--no-install-recommends", "postgresql"])?;
    bin_dir().context("apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb exists")
}

/// Runs `initdb` unless the data folder already holds a cluster.
fn init_cluster(layout: &Layout, bin: &Path) -> anyhow::Result<()> {
    let data = layout.data_dir(Server::Postgres);
    if data.join("PG_VERSION").is_file() {
        return Ok(());
    }
    if data.exists() {
        // A half-written cluster from an interrupted initdb: start over.
        std::fs::remove_dir_all(&data)
            .with_context(|| format!("failed to delete {}", data.display()))?;
    }
    create_dir(&data)?;
    if let Some((uid, gid)) = cluster_owner()? {
        std::os::unix::fs::chown(&data, Some(uid), Some(gid))
            .with_context(|| format!("failed to chown {} to postgres", data.display()))?;
    }
    let log = layout.dir(Server::Postgres).join("initdb.log");
    eprintln!(
        "postgres: creating a cluster in {} (log: {})",
        data.display(),
        log.display()
    );
    let mut command = Command::new(bin.join("initdb"));
    command
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"])
        .args(["--auth-local=trust", "--auth-host=scram-sha-256"]);
    as_cluster_owner(&mut command, &data)?;
    run_logged(&mut command, &log, "initdb")
}

/// Creates the test role and database when missing, through the cluster's Unix socket.
/// The SQL goes through stdin so the password never shows in a process list.
fn create_role_and_database(layout: &Layout) -> anyhow::Result<()> {
    let bin = bin_dir().context("postgres binaries vanished")?;
    let data = layout.data_dir(Server::Postgres);
    let sql = format!(
        "SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '{USER}', '{PASSWORD}') \
         WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{USER}') \\gexec\n\
         SELECT format('CREATE DATABASE %I OWNER %I', '{DATABASE}', '{USER}') \
         WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}') \\gexec\n"
    );
    let mut command = Command::new(bin.join("psql"));
    command
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .arg("-h")
        .arg(&data)
        .args(["-p", &Port::Postgres.get().to_string(), "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    as_cluster_owner(&mut command, &data)?;
    let mut child = command.spawn().context("failed to run psql")?;
    child
        .stdin
        .take()
        .context("psql has no stdin")?
        .write_all(sql.as_bytes())?;
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "failed to create role {USER} and database {DATABASE}: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// Makes `command` run as the `postgres` user when we are root, from `dir`.
fn as_cluster_owner(command: &mut Command, dir: &Path) -> anyhow::Result<()> {
    command.current_dir(dir);
    if let Some((uid, gid)) = cluster_owner()? {
        command
            .uid(uid)
            .gid(gid)
            .env("HOME", dir)
            .env("USER", "postgres");
    }
    Ok(())
}

/// The uid and gid of the `postgres` system user when we run as root, else `None`
/// (the cluster then belongs to whoever runs `cargo xtask`).
fn cluster_owner() -> anyhow::Result<Option<(u32, u32)>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .context("failed to look up the `postgres` user")?
        .context(
            "we run as root and there is no `postgres` user to own the cluster (initdb refuses \
             root): run `apt-get install -y postgresql`, which creates it",
        )?;
    Ok(Some((user.uid.as_raw(), user.gid.as_raw())))
}
