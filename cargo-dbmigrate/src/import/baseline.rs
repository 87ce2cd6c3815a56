//! `cargo dbmigrate baseline`: one irreversible migration holding the live
//! database's schema from `pg_dump --schema-only`, then stamped — for a
//! database that never had a migration tool. psql meta-commands (`\restrict`
//! of pg_dump 15.14+) are dropped because the server cannot run them,
//! `set_config('search_path', '', false)` is dropped because it would outlive
//! the step (pg_dump qualifies every name anyway), and session `SET`s become
//! `SET LOCAL` so they end with the migration's transaction.

use std::io::Write;
use std::process::Command;

use anyhow::Context as _;
use dbmigrate_core::Target;

use crate::config::Project;
use crate::online::connect::{migrator, scrub, Settings};
use crate::online::ConnectionArgs;
use crate::scaffold::{random_rev, UtcTime};
use crate::OutputFormat;

/// What `clean_dump` changed, for the report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// The SQL to run.
    pub sql: String,
    /// One line per kind of change.
    pub notes: Vec<String>,
}

/// Makes a `pg_dump --schema-only` text runnable as one migration.
pub fn clean_dump(dump: &str) -> Cleaned {
    let (mut meta, mut set_config, mut sets) = (0, 0, 0);
    let mut sql = String::new();
    for line in dump.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('\\') {
            meta += 1;
        } else if trimmed.starts_with("SELECT pg_catalog.set_config(") && trimmed.contains("false)")
        {
            set_config += 1;
        } else if let Some(rest) = trimmed
            .strip_prefix("SET ")
            .filter(|_| !line.starts_with(' '))
        {
            sets += 1;
            sql.push_str("SET LOCAL ");
            sql.push_str(rest);
            sql.push('\n');
        } else {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    let mut notes = Vec::new();
    if meta > 0 {
        notes.push(format!(
            "dropped {meta} psql meta-command line(s) (\\restrict …): the server cannot run them"
        ));
    }
    if set_config > 0 {
        notes.push(format!("dropped {set_config} session-level set_config(…, false): it would outlive the migration; every name in the dump is schema-qualified"));
    }
    if sets > 0 {
        notes.push(format!(
            "made {sets} session SET(s) SET LOCAL, so they end with the migration's transaction"
        ));
    }
    Cleaned {
        sql: sql.trim().to_string() + "\n",
        notes,
    }
}

/// Runs `baseline`.
pub fn baseline(
    project: &Project,
    message: &str,
    connection: &ConnectionArgs,
    dry_run: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let settings = Settings::resolve(connection, &project.root)?;
    let secrets = settings.secrets();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (path, notes) = runtime
        .block_on(write_and_stamp(project, message, &settings, dry_run))
        .map_err(|e| anyhow::anyhow!("{}", scrub(&format!("{e:#}"), &secrets)))?;
    let shown = crate::config::relative_to_cwd(&path);
    if format == OutputFormat::Json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "file": shown, "dry_run": dry_run, "stamped": !dry_run, "notes": notes })
        )?;
    } else {
        for note in &notes {
            writeln!(out, "note: {note}")?;
        }
        let verb = if dry_run { "would write" } else { "wrote" };
        writeln!(
            out,
            "{verb} {} (irreversible){}",
            shown.display(),
            if dry_run { "" } else { " and stamped it" }
        )?;
    }
    Ok(())
}

async fn write_and_stamp(
    project: &Project,
    message: &str,
    settings: &Settings,
    dry_run: bool,
) -> anyhow::Result<(std::path::PathBuf, Vec<String>)> {
    anyhow::ensure!(project.load_migrations()?.is_empty(), "{} already holds migrations\n  help: a baseline starts a timeline; for a database another tool migrated, use `cargo dbmigrate import` and `adopt`", project.display_dir().display());
    let url = settings
        .database_url()
        .context("no database to read\n  help: pass --database-url or set DATABASE_URL")?;
    let table = project
        .settings
        .history_table
        .clone()
        .unwrap_or_else(|| "dbmigrate_history".into());
    refuse_recorded_history(url, &table).await?;
    let cleaned = clean_dump(&pg_dump(url, &table)?);
    let now = UtcTime::now();
    let file_name = format!(
        "{}_{}_{}.sql",
        now.file_stamp(),
        random_rev(&Default::default(), None),
        crate::scaffold::slug(message)
    );
    let text = format!(
        "-- Message: {message}\n-- Revises: base\n-- Created: {}\n-- Irreversible: true\n--\n-- The schema of the live database from pg_dump --schema-only.\n{}\n-- migrate:up\n{}",
        now.created(),
        cleaned.notes.iter().map(|n| format!("-- {n}\n")).collect::<String>(),
        cleaned.sql
    );
    let path = project.migrations_dir.join(&file_name);
    if dry_run {
        return Ok((path, cleaned.notes));
    }
    std::fs::create_dir_all(&project.migrations_dir)?;
    std::fs::write(&path, &text).with_context(|| format!("{}: cannot write", path.display()))?;
    let stamped = async {
        let history = project.load_history()?;
        let revision_id = history
            .head()
            .map(|m| m.revision_id.clone())
            .context("the baseline did not parse")?;
        migrator(history, settings, project)
            .await?
            .stamp(Target::Revision(revision_id))
            .await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(error) = stamped {
        // Leave nothing half-done behind: the next try starts clean.
        let _ = std::fs::remove_file(&path);
        return Err(error);
    }
    Ok((path, cleaned.notes))
}

/// Refuses a database that already holds dbmigrate records.
async fn refuse_recorded_history(url: &str, table: &str) -> anyhow::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .context("cannot connect to PostgreSQL")?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(&pool)
        .await?;
    let recorded = exists
        && sqlx::query_scalar::<_, bool>(&format!("SELECT EXISTS (SELECT 1 FROM {table})"))
            .fetch_one(&pool)
            .await?;
    pool.close().await;
    anyhow::ensure!(!recorded, "this database already has dbmigrate history in `{table}`\n  help: a baseline is for a database that never had a migration tool; see `cargo dbmigrate status`");
    Ok(())
}

/// `pg_dump --schema-only` of the database, without dbmigrate's own history table.
fn pg_dump(url: &str, table: &str) -> anyhow::Result<String> {
    let output = Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges", "--exclude-table", table, "--dbname", url])
        .output()
        .context("cannot run pg_dump\n  help: install the PostgreSQL client (Debian: apt-get install postgresql-client) matching the server's major version")?;
    if !output.status.success() {
        anyhow::bail!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).context("pg_dump wrote something that is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_commands_and_session_settings() {
        let dump = "\\restrict abc\nSET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.t (\n    id integer\n);\n\\unrestrict abc\n";
        let cleaned = clean_dump(dump);
        assert_eq!(
            cleaned.sql,
            "SET LOCAL statement_timeout = 0;\nCREATE TABLE public.t (\n    id integer\n);\n"
        );
        assert_eq!(cleaned.notes.len(), 3, "{:?}", cleaned.notes);
        assert!(cleaned.notes[0].contains("dropped 2 psql meta-command"));
    }
}
