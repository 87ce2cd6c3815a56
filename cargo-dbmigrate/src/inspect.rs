//! The offline commands that read the migrations folder: `new`, `history`,
//! `heads` and `show`, each printed as text or JSON.

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;

use dbmigrate_core::{History, Migration, Target};
use serde::Serialize;

use crate::args::NewArgs;
use crate::config::{relative_to_cwd, Project};
use crate::exit::UsageError;
use crate::scaffold::{self, NewPlan, UtcTime};
use crate::OutputFormat;

/// One migration in a listing.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// `20241201_1000_a1b2c3`.
    pub revision_id: &'a str,
    /// The parent revision id; `None` for the root.
    pub revises: Option<&'a str>,
    /// `postgres`, `neo4j` or `weaviate`.
    pub backend: &'static str,
    /// The `Message:` header.
    pub message: &'a str,
    /// The file, as found.
    pub path: &'a str,
    /// SHA-256 of the normalised text.
    pub checksum: String,
}

impl<'a> Entry<'a> {
    /// The listing entry of a migration.
    pub fn of(migration: &'a Migration) -> Entry<'a> {
        Entry {
            revision_id: &migration.revision_id,
            revises: migration.parent.as_deref(),
            backend: migration.backend.name(),
            message: &migration.message,
            path: &migration.path,
            checksum: migration.checksum.to_hex(),
        }
    }
}

/// Prints `value` as pretty JSON followed by a newline.
pub fn print_json(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    // Rendered first, so a closed pipe surfaces as an io::Error (exit 0), not a serde error.
    let text = serde_json::to_string_pretty(value)?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// `new`: writes the migration and prints its path.
pub fn new(
    project: &Project,
    args: NewArgs,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    if !args.message.chars().any(char::is_alphanumeric) {
        return Err(UsageError(
            "the message is empty: it becomes the file's slug and `Message:` header
  help: say what the migration does, e.g. `cargo dbmigrate new \"add price index\"`"
                .into(),
        )
        .into());
    }
    // A file whose up section is still empty does not stop the next one:
    // only build, check and upgrade refuse it.
    let (history, unwritten) = project.load_history_lenient()?;
    for error in &unwritten {
        eprintln!(
            "warning: {error}\n  note: `new` goes on; the build, `check` and `upgrade` refuse the file until it is written"
        );
    }
    let parent = match &args.revises {
        Some(text) => resolve(&history, text)?,
        None => history.head(),
    };
    let revises = parent.map(|parent| parent.revision_id.clone());
    if revises.as_deref() != history.head().map(|head| head.revision_id.as_str()) {
        eprintln!(
            "warning: `{}` is not the head: the new migration starts a second branch, \
             which the build refuses until `cargo dbmigrate rebase` puts it back on one line",
            revises.as_deref().unwrap_or("base")
        );
    }
    let plan = NewPlan {
        message: args.message,
        backend: args.target.unwrap_or(project.default_target),
        revises,
        now: UtcTime::now(),
    };
    let taken: HashSet<String> = history
        .iter()
        .map(|migration| migration.rev.clone())
        .collect();
    let floor = scaffold::same_minute_floor(
        &plan.now.file_stamp(),
        history
            .iter()
            .map(|migration| migration.revision_id.as_str()),
    );
    let path = relative_to_cwd(&scaffold::write(project, &plan, &taken, floor)?);
    eprintln!("note: write the up and down sections; the build and `check` refuse an empty one");
    match format {
        OutputFormat::Text => writeln!(out, "{}", path.display())?,
        OutputFormat::Json => print_json(
            out,
            &serde_json::json!({ "path": path, "revises": plan.revises, "backend": plan.backend.name() }),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `history`: the timeline, root first, and its chain hash.
pub fn history(
    project: &Project,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let history = project.load_history()?;
    let entries: Vec<Entry> = history.migrations().iter().map(Entry::of).collect();
    let chain_hash = chain_hash(&history);
    match format {
        OutputFormat::Json => print_json(
            out,
            &serde_json::json!({ "migrations": entries, "chain_hash": chain_hash }),
        )?,
        OutputFormat::Text => {
            write_table(out, &entries)?;
            writeln!(
                out,
                "\n{} migration(s), chain hash {}",
                entries.len(),
                &chain_hash[..12]
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `heads`: the migrations nothing revises (one, unless two branches met).
pub fn heads(
    project: &Project,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let migrations = project.load_migrations()?;
    let heads = crate::rebase::heads(&migrations)?;
    let entries: Vec<Entry> = heads.iter().map(|migration| Entry::of(migration)).collect();
    match format {
        OutputFormat::Json => print_json(out, &serde_json::json!({ "heads": entries }))?,
        OutputFormat::Text if entries.is_empty() => {
            writeln!(out, "no migrations in {}", project.display_dir().display())?
        }
        OutputFormat::Text => {
            write_table(out, &entries)?;
            if entries.len() > 1 {
                writeln!(
                    out,
                    "\n{} heads: run `cargo dbmigrate rebase` to make the history linear",
                    entries.len()
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `show <rev>`: one migration in full.
pub fn show(
    project: &Project,
    text: &str,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let history = project.load_history()?;
    let Some(migration) = resolve(&history, text)? else {
        let message = format!("`{text}` resolves to base, before the first migration");
        return Err(UsageError(message).into());
    };
    match format {
        OutputFormat::Json => print_json(out, migration)?,
        OutputFormat::Text => write_details(out, migration)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn write_details(out: &mut dyn Write, migration: &Migration) -> std::io::Result<()> {
    let options = &migration.options;
    writeln!(out, "revision:     {}", migration.revision_id)?;
    writeln!(out, "file:         {}", migration.path)?;
    writeln!(out, "message:      {}", migration.message)?;
    writeln!(
        out,
        "revises:      {}",
        migration.parent.as_deref().unwrap_or("base")
    )?;
    writeln!(out, "backend:      {}", migration.backend)?;
    writeln!(
        out,
        "created:      {}",
        migration.created.as_deref().unwrap_or("-")
    )?;
    let transaction = match options.transaction {
        dbmigrate_core::TransactionMode::Single => "single",
        dbmigrate_core::TransactionMode::None => "none",
    };
    writeln!(out, "transaction:  {transaction}")?;
    writeln!(out, "irreversible: {}", options.irreversible)?;
    if let Some(timeout) = options.lock_timeout {
        writeln!(out, "lock timeout: {timeout:?}")?;
    }
    if let Some(timeout) = options.statement_timeout {
        writeln!(out, "statement timeout: {timeout:?}")?;
    }
    writeln!(out, "checksum:     {}", migration.checksum)?;
    writeln!(
        out,
        "\n== up (line {}) ==\n{}",
        migration.up_line,
        migration.up.to_string().trim_end()
    )?;
    writeln!(
        out,
        "\n== down (line {}) ==\n{}",
        migration.down_line,
        migration.down.to_string().trim_end()
    )
}

/// An aligned table: revision, parent, backend, short checksum, message.
fn write_table(out: &mut dyn Write, entries: &[Entry]) -> std::io::Result<()> {
    let width = entries
        .iter()
        .map(|entry| entry.revision_id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    writeln!(
        out,
        "{:width$}  {:width$}  {:8}  {:12}  MESSAGE",
        "REVISION", "REVISES", "BACKEND", "CHECKSUM"
    )?;
    for entry in entries {
        writeln!(
            out,
            "{:width$}  {:width$}  {:8}  {:12}  {}",
            entry.revision_id,
            entry.revises.unwrap_or("base"),
            entry.backend,
            &entry.checksum[..12],
            entry.message
        )?;
    }
    Ok(())
}

/// The chain hash of the whole timeline, as hex.
pub fn chain_hash(history: &History) -> String {
    history
        .chain_hash_upto(history.len().checked_sub(1))
        .to_hex()
}

/// The migration `text` names (`head`, a full stem, a revision id, a unique
/// rev prefix, `-1`, …) resolved by the library; `None` for `base`.
fn resolve<'a>(history: &'a History, text: &str) -> anyhow::Result<Option<&'a Migration>> {
    let usage = |error: dbmigrate_core::error::TargetError| UsageError(error.to_string());
    let target = Target::parse(text).map_err(usage)?;
    let index = history
        .resolve(&target, history.len().checked_sub(1))
        .map_err(usage)?;
    Ok(index.map(|index| &history.migrations()[index]))
}
