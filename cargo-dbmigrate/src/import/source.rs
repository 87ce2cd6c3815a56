//! What every format reader returns: the source tool, its migrations in the
//! tool's own order, and the problems found, each with file, line and fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// A migration tool whose folders `import` reads and whose history `adopt` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    /// sqlx-cli: `<version>_<desc>.sql` or `.up.sql`/`.down.sql`.
    Sqlx,
    /// diesel_cli: `<version>_<name>/up.sql|down.sql|metadata.toml`.
    Diesel,
    /// refinery: `V{n}__{name}.sql` (and `U{n}__` unversioned).
    Refinery,
    /// Alembic: `versions/*.py` revision scripts.
    Alembic,
    /// golang-migrate: `{version}_{title}.up.sql|.down.sql`.
    GolangMigrate,
    /// Flyway: `V{version}__{desc}.sql`, `U…` undo.
    Flyway,
    /// neo4j-migrations: `V{version}__{desc}.cypher`.
    Neo4jMigrations,
}

impl Tool {
    /// The name written in `--from` and in the imported files.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::Refinery => "refinery",
            Tool::Alembic => "alembic",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Flyway => "flyway",
            Tool::Neo4jMigrations => "neo4j-migrations",
        }
    }

    /// How the tool names its migration files (for an error that found none).
    pub fn file_names(self) -> &'static str {
        match self {
            Tool::Sqlx => "`<version>_<desc>.sql`, or `.up.sql` with `.down.sql`",
            Tool::Diesel => "`<version>_<name>/up.sql` folders with `down.sql`",
            Tool::Refinery => "`V{n}__{name}.sql`",
            Tool::Alembic => "`versions/*.py` revision scripts",
            Tool::GolangMigrate => "`{version}_{title}.up.sql` with `.down.sql`",
            Tool::Flyway => "`V{version}__{desc}.sql`",
            Tool::Neo4jMigrations => "`V{version}__{desc}.cypher`",
        }
    }
}

/// One file of the source project, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Where it was read.
    pub path: PathBuf,
    /// Its statements, byte for byte.
    pub text: String,
}

/// One migration of the source project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMigration {
    /// The version exactly as the tool records it in its history.
    pub version: String,
    /// Its description, in words.
    pub description: String,
    /// The forward statements.
    pub up: Piece,
    /// The undo statements, when the tool has them for this migration.
    pub down: Option<Piece>,
    /// The tool runs it outside a transaction.
    pub no_transaction: bool,
    /// Why it is run outside a transaction (shown in the table).
    pub no_transaction_reason: Option<String>,
    /// The checksum the tool records for it, where the tool keeps one.
    pub source_checksum: Option<String>,
    /// The timestamp its version stands for (`YYYYMMDDHHMM…`), when it is one.
    pub timestamp: Option<String>,
}

/// A reason to refuse an import, pointing at a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line; 0 for the whole file.
    pub line: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Problem {
    /// A problem at `path:line`.
    pub fn new(
        path: &Path,
        line: u32,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Problem {
        Problem {
            path: path.to_path_buf(),
            line,
            message: message.into(),
            help: help.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": {}\n  help: {}", self.message, self.help)
    }
}

/// What a format reader found.
#[derive(Debug, Default)]
pub struct SourceProject {
    /// The migrations, in the order the tool applies them.
    pub migrations: Vec<SourceMigration>,
    /// Everything that stops the import.
    pub problems: Vec<Problem>,
}

/// Reads a file; a failure becomes a problem.
pub fn read(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                problems.push(Problem::new(
                    path,
                    0,
                    "not UTF-8",
                    "save the file as UTF-8; dbmigrate keeps statements as text",
                ));
                None
            }
        },
        Err(error) => {
            problems.push(Problem::new(
                path,
                0,
                format!("cannot read: {error}"),
                "check the file's permissions",
            ));
            None
        }
    }
}

/// The sorted file names (not paths) in `dir`.
pub fn file_names(dir: &Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))?
    {
        let entry = entry?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// `create_users` → `create users`.
pub fn words(name: &str) -> String {
    name.replace('_', " ").trim().to_string()
}

/// The line (1-based) of byte offset `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> u32 {
    text[..offset.min(text.len())].matches('\n').count() as u32 + 1
}

/// Refuses two migrations with one version (`duplicates` of the tool's own rule).
pub fn check_duplicates(migrations: &[SourceMigration], problems: &mut Vec<Problem>) {
    for (index, migration) in migrations.iter().enumerate() {
        if let Some(first) = migrations[..index]
            .iter()
            .find(|earlier| earlier.version == migration.version)
        {
            problems.push(Problem::new(
                &migration.up.path,
                0,
                format!(
                    "version {} is used twice (also by {})",
                    migration.version,
                    first.up.path.display()
                ),
                "give one of them a new version, as the tool itself would refuse to run both",
            ));
        }
    }
}
