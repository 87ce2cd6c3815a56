//! A throwaway package of generated migrations, and `cargo-dbmigrate`
//! processes run on it with the scratch settings.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context as _};

use super::servers::Servers;

/// The debug `cargo-dbmigrate` that `cargo test --no-run` (CI's build
/// step) leaves; built here only when missing.
pub fn cli_binary() -> anyhow::Result<PathBuf> {
    let binary = crate::paths::target_dir().join("debug/cargo-dbmigrate");
    if !binary.exists() {
        let status = Command::new(crate::paths::cargo())
            .args(["build", "-q", "-p", "cargo-dbmigrate"])
            .current_dir(crate::paths::workspace_root())
            .status()
            .context("failed to run cargo build")?;
        if !status.success() {
            bail!("building cargo-dbmigrate failed");
        }
    }
    Ok(binary)
}

/// A package whose `migrations/` the runs apply, and where they connect.
pub struct Project {
    dir: tempfile::TempDir,
    binary: PathBuf,
    env: Vec<(String, String)>,
    parent: String,
    count: usize,
}

impl Project {
    /// An empty package connected to what `env` names (`DATABASE_URL`, …);
    /// the other servers' variables are removed.
    pub fn new(binary: &Path, env: Vec<(String, String)>) -> anyhow::Result<Project> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("src"))?;
        std::fs::create_dir_all(dir.path().join("migrations"))?;
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"chaos\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )?;
        std::fs::write(dir.path().join("src/lib.rs"), "")?;
        Ok(Project {
            dir,
            binary: binary.to_owned(),
            env,
            parent: "base".into(),
            count: 0,
        })
    }

    /// The settings for PostgreSQL at `url`, Neo4j and Weaviate of
    /// `servers` with the bookkeeping `prefix`; `None` leaves one out.
    pub fn env(
        servers: &Servers,
        url: Option<&str>,
        prefix: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if let Some(url) = url {
            env.push(("DATABASE_URL".into(), url.into()));
        }
        if let Some(prefix) = prefix {
            let (uri, user, password) = servers.neo4j.clone();
            env.extend([
                ("NEO4J_URI".into(), uri),
                ("NEO4J_USER".into(), user),
                ("NEO4J_PASSWORD".into(), password),
                ("WEAVIATE_URL".into(), servers.weaviate_url.clone()),
                ("DBMIGRATE_BOOKKEEPING_PREFIX".into(), prefix.into()),
            ]);
        }
        env
    }

    /// Appends a migration (`ext`: `sql`, `cypher`, `weaviate.json`) with
    /// `header` lines and sections; returns its revision id.
    pub fn add(&mut self, ext: &str, header: &str, up: &str, down: &str) -> anyhow::Result<String> {
        let i = self.count;
        let id = format!("20240101_{:02}{:02}_c{:05x}", i / 60, i % 60, i);
        let text = match ext {
            "weaviate.json" => {
                let parent = match self.parent.as_str() {
                    "base" => String::new(),
                    parent => format!("\"revises\": \"{parent}\", "),
                };
                let irreversible = if down == "[]" {
                    "\"irreversible\": true, "
                } else {
                    ""
                };
                format!("{{\"message\": \"chaos {i}\", {parent}{irreversible}\"up\": {up}, \"down\": {down}}}\n")
            }
            _ => {
                let c = if ext == "sql" { "--" } else { "//" };
                let header: String = header.lines().map(|l| format!("{c} {l}\n")).collect();
                format!(
                    "{c} Message: chaos {i}\n{c} Revises: {}\n{header}\n{c} migrate:up\n{up}\n\n{c} migrate:down\n{down}\n",
                    self.parent
                )
            }
        };
        let path = self
            .dir
            .path()
            .join(format!("migrations/{id}_chaos_{i}.{ext}"));
        std::fs::write(path, text)?;
        self.parent.clone_from(&id);
        self.count += 1;
        Ok(id)
    }

    /// `cargo dbmigrate <args>`, output discarded, not waited for.
    pub fn spawn(&self, args: &[&str]) -> anyhow::Result<Child> {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("failed to run cargo-dbmigrate")
    }

    /// `cargo dbmigrate <args>` to its end: exit code and stderr.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<(i32, String)> {
        let output = self.command(args).stdout(Stdio::null()).output()?;
        Ok((
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }

    /// Each migration's state from `log --format json` (`applied`,
    /// `pending`, `dirty`, …) by revision id.
    pub fn states(&self) -> anyhow::Result<std::collections::HashMap<String, String>> {
        let output = self.command(&["log", "--format", "json"]).output()?;
        let log: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
            format!(
                "`log --format json`: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        Ok(log["migrations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let field = |name: &str| m[name].as_str().unwrap_or_default().to_owned();
                (field("revision_id"), field("state"))
            })
            .collect())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg("dbmigrate")
            .args(args)
            .arg("--quiet")
            .current_dir(self.dir.path());
        for name in [
            "DATABASE_URL",
            "NEO4J_URI",
            "WEAVIATE_URL",
            "DBMIGRATE_LOCK_WAIT_SECONDS",
            "DBMIGRATE_LEASE_SECONDS",
            "RUST_LOG",
        ] {
            command.env_remove(name);
        }
        command.envs(self.env.iter().cloned()).stdin(Stdio::null());
        command
    }
}
