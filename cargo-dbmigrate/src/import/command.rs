//! `cargo dbmigrate import --from <tool> <dir>`: reads the folder, converts
//! it, prints the table and writes the files (or, with `--dry-run`, only
//! says what it would write). Writing twice changes nothing; a file that
//! exists with other text is never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::{relative_to_cwd, Project};
use crate::exit::HistoryBroken;
use crate::OutputFormat;

use super::convert::{convert, ImportedFile};
use super::source::{SourceProject, Tool};

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It will be (or was) written.
    Written,
    /// It exists with the same text.
    Unchanged,
}

/// Reads a source folder in the format of `tool`.
pub fn read_source(tool: Tool, dir: &Path) -> anyhow::Result<SourceProject> {
    anyhow::ensure!(
        dir.is_dir(),
        "{}: not a folder\n  help: give the {} migrations folder",
        dir.display(),
        tool.name()
    );
    match tool {
        Tool::Sqlx => super::sqlx::read_dir(dir),
        Tool::Diesel => super::diesel::read_dir(dir),
        Tool::Alembic => super::alembic::read_dir(dir),
        Tool::GolangMigrate => super::golang::read_dir(dir),
        Tool::Refinery | Tool::Flyway | Tool::Neo4jMigrations => {
            super::versioned::read_dir(dir, tool)
        }
    }
}

/// Reads and converts, printing every problem to stderr on failure.
pub fn load(tool: Tool, dir: &Path) -> anyhow::Result<Vec<ImportedFile>> {
    let source = read_source(tool, dir)?;
    // A folder the tool would find nothing in is a wrong path or tool, not
    // an empty history: say so rather than write nothing quietly.
    anyhow::ensure!(
        !source.migrations.is_empty() || !source.problems.is_empty(),
        "{}: no {} migration found there\n  help: {} names its files {}; give the folder that holds them, or the tool that wrote them with `--from`",
        dir.display(),
        tool.name(),
        tool.name(),
        tool.file_names()
    );
    convert(tool, &source).map_err(|problems| {
        for problem in &problems {
            eprintln!("error: {problem}");
        }
        HistoryBroken(format!(
            "{} problem(s) in {}: nothing was written",
            problems.len(),
            dir.display()
        ))
        .into()
    })
}

/// Runs `import`.
pub fn import(
    project: &Project,
    tool: Tool,
    dir: &Path,
    out_dir: Option<&Path>,
    dry_run: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let out_dir: PathBuf =
        out_dir.map_or_else(|| project.migrations_dir.clone(), Path::to_path_buf);
    if same_dir(dir, &out_dir) {
        anyhow::bail!(crate::exit::UsageError(format!(
            "{} is both the {} folder and the dbmigrate folder\n  help: move the {} files aside first (`git mv {} {}-migrations`), then import from there",
            dir.display(), tool.name(), tool.name(), dir.display(), tool.name()
        )));
    }
    let files = load(tool, dir)?;
    let outcomes = plan_writes(&files, &out_dir)?;
    if !dry_run {
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("{}: cannot create folder", out_dir.display()))?;
        for (file, outcome) in files.iter().zip(&outcomes) {
            if *outcome == Outcome::Written {
                let path = out_dir.join(&file.file_name);
                std::fs::write(&path, &file.text)
                    .with_context(|| format!("{}: cannot write", path.display()))?;
            }
        }
    }
    super::table::print(
        tool,
        &files,
        &outcomes,
        &relative_to_cwd(&out_dir),
        dry_run,
        format,
        out,
    )
}

/// Unchanged or written for each file; refuses to overwrite different text
/// and to mix the import with migrations that were already there.
fn plan_writes(files: &[ImportedFile], out_dir: &Path) -> anyhow::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for file in files {
        let path = out_dir.join(&file.file_name);
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == file.text => outcomes.push(Outcome::Unchanged),
            Ok(_) => anyhow::bail!("{}: exists with other text\n  help: an imported file may already be applied somewhere; delete it only if it is not, then import again", path.display()),
            Err(_) => outcomes.push(Outcome::Written),
        }
    }
    if out_dir.is_dir() {
        let ours: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
        for entry in std::fs::read_dir(out_dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if looks_like_migration(&name) && !ours.contains(&name.as_str()) {
                anyhow::bail!("{}: the folder already holds dbmigrate migrations ({name})\n  help: import into an empty folder (`--out <dir>`): the imported history must come first", out_dir.display());
            }
        }
    }
    Ok(outcomes)
}

fn looks_like_migration(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 14
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'_'
        && bytes[9..13].iter().all(u8::is_ascii_digit)
        && bytes[13] == b'_'
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Runs one of the moving-in commands.
pub fn run(
    command: super::ImportCommand,
    project: &Project,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<std::process::ExitCode> {
    match command {
        super::ImportCommand::Import {
            from,
            dir,
            out: out_dir,
            dry_run,
        } => import(
            project,
            from,
            &dir,
            out_dir.as_deref(),
            dry_run,
            format,
            out,
        )?,
        super::ImportCommand::Adopt {
            from,
            dry_run,
            connection,
        } => super::adopt::adopt(project, from, &connection, dry_run, format, out)?,
        super::ImportCommand::Baseline {
            message,
            dry_run,
            connection,
        } => super::baseline::baseline(project, &message, &connection, dry_run, format, out)?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}
