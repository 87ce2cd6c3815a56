//! `check`: every file parses, the files form one linear history, and the
//! checksums and chain hash are computed. Problems exit with
//! [`HISTORY_BROKEN`](crate::exit::HISTORY_BROKEN).
//!
//! When connection settings are present (flags, environment, `.env`), each
//! configured database's history is read too (through `online.rs`): edited
//! applied migrations, dirty records and unknown revisions are errors.

use std::io::Write;
use std::process::ExitCode;

use dbmigrate_core::History;
use serde::Serialize;

use crate::config::Project;
use crate::exit;
use crate::inspect::{chain_hash, print_json};
use crate::online::ConnectionArgs;
use crate::OutputFormat;

/// What `check` found.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// True when nothing is wrong.
    pub ok: bool,
    /// The number of migration files that parsed.
    pub migrations: usize,
    /// The head revision, when the history is valid.
    pub head: Option<String>,
    /// The chain hash of the whole history, when it is valid.
    pub chain_hash: Option<String>,
    /// Every problem, each `path:line: message` with a help line.
    pub errors: Vec<String>,
    /// The offline zero-downtime lint's findings, `path:line:column: severity[rule]: why`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lint: Vec<String>,
    /// The databases whose history was checked (none without connection settings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
}

/// Checks the files and the graph without touching any database.
pub fn offline_check(project: &Project) -> (CheckReport, Option<History>) {
    let mut report = CheckReport::default();
    let dir = project.display_dir();
    if !project.migrations_dir.is_dir() {
        report.errors.push(format!(
            "{}: migrations folder not found\n  help: create it, set `migrations` in [package.metadata.dbmigrate], or run `cargo dbmigrate new \"message\"`",
            dir.display()
        ));
        return (report, None);
    }
    let migrations = match dbmigrate_core::parse::load_dir(&dir) {
        Ok(migrations) => migrations,
        Err(errors) => {
            report.errors = errors.iter().map(ToString::to_string).collect();
            return (report, None);
        }
    };
    report.migrations = migrations.len();
    match History::new(migrations) {
        Ok(history) => {
            report.ok = true;
            report.head = history.head().map(|head| head.revision_id.clone());
            report.chain_hash = Some(chain_hash(&history));
            (report, Some(history))
        }
        Err(error) => {
            report.errors.push(error.to_string());
            (report, None)
        }
    }
}

/// `check`: prints the report; exits [`exit::HISTORY_BROKEN`] when the
/// files are invalid, [`exit::NEEDS_ATTENTION`] when a database's history
/// disagrees with them. `offline` skips the databases.
pub fn check(
    project: &Project,
    offline: bool,
    connection: &ConnectionArgs,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let (mut report, history) = offline_check(project);
    if let Some(history) = &history {
        crate::lint::add_to_check(project, history, &mut report)?;
    }
    let mut code = if report.ok {
        exit::SUCCESS
    } else {
        exit::HISTORY_BROKEN
    };
    if history.is_some() && !offline {
        if let Some(found) = crate::online::check_databases(project, connection)? {
            report.databases = found.databases;
            if !found.problems.is_empty() {
                code = exit::NEEDS_ATTENTION;
            }
            report.ok = report.ok && found.problems.is_empty();
            report.errors.extend(found.problems);
        }
    }
    match format {
        OutputFormat::Json => print_json(out, &report)?,
        OutputFormat::Text if report.ok => {
            writeln!(
                out,
                "ok: {} migration(s), head {}, chain hash {}",
                report.migrations,
                report.head.as_deref().unwrap_or("base"),
                report.chain_hash.as_deref().map_or("-", |hash| &hash[..12]),
            )?;
            // On stderr, so the result line reads the same with or without databases.
            for line in &report.lint {
                eprintln!("{line}");
            }
            for database in &report.databases {
                eprintln!("ok: the history of {database} matches the files");
            }
        }
        OutputFormat::Text => {
            for database in &report.databases {
                eprintln!("checked the history of {database}");
            }
            for line in &report.lint {
                eprintln!("{line}");
            }
            for error in &report.errors {
                eprintln!("error: {error}");
            }
            eprintln!("error: check failed: {} problem(s)", report.errors.len());
        }
    }
    Ok(ExitCode::from(code))
}
