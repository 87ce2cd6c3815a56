//! The command line: clap definitions only. `main` turns them into calls.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::online::OnlineCommand;

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// `--format` as typed: `sarif` exists only for `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum FormatArg {
    /// Readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0 (`lint` only).
    Sarif,
}

impl FormatArg {
    /// The format of every command but `lint`; `sarif` is a usage error there.
    pub fn plain(self) -> Result<OutputFormat, crate::exit::UsageError> {
        match self {
            FormatArg::Text => Ok(OutputFormat::Text),
            FormatArg::Json => Ok(OutputFormat::Json),
            FormatArg::Sarif => Err(crate::exit::UsageError(
                "--format sarif is only for `lint`\n  help: use --format json".into(),
            )),
        }
    }

    /// The format of `lint`.
    pub fn lint(self) -> crate::lint::LintFormat {
        match self {
            FormatArg::Text => crate::lint::LintFormat::Text,
            FormatArg::Json => crate::lint::LintFormat::Json,
            FormatArg::Sarif => crate::lint::LintFormat::Sarif,
        }
    }
}

/// `cargo dbmigrate`: scaffold, inspect, apply and revert migrations for
/// PostgreSQL, Neo4j and Weaviate on one timeline.
#[derive(Debug, Parser)]
#[command(name = "cargo dbmigrate", bin_name = "cargo dbmigrate", version, after_help = crate::exit::HELP)]
pub struct Cli {
    /// Path to the Cargo.toml of the package whose migrations to use.
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Output format (`sarif` only for `lint`).
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// No step lines and no progress bar: only the result and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log what the library does on stderr (-v info, -vv debug, -vvv trace);
    /// `RUST_LOG`, when set, wins.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command; the offline ones are here, the database ones come from `online.rs`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new migration from the template, revising the current head.
    New(NewArgs),
    /// List the migrations in timeline order.
    History,
    /// List the heads (more than one means two branches need `rebase`).
    Heads,
    /// Show one migration: header, options, checksum and both sections.
    Show {
        /// Revision: full stem, revision id, or a unique prefix of its rev.
        revision: String,
    },
    /// Check the files, the revision graph and the checksums; with connection
    /// settings, also each database's history (edited, dirty, unknown revisions).
    Check {
        /// Check only the files, even when connection settings are present.
        #[arg(long)]
        offline: bool,
        #[command(flatten)]
        connection: crate::online::ConnectionArgs,
    },
    /// Re-parent the newer branch onto the other head so history is linear again.
    Rebase {
        /// Say what would change without writing any file.
        #[arg(long)]
        dry_run: bool,
    },
    /// Lint migrations for zero-downtime dangers: locks, table rewrites, the
    /// expand/contract order (see docs/lint.md). With connection settings only
    /// the migrations no database has applied, with live table sizes.
    Lint(crate::lint::LintArgs),
    /// Commands that talk to the databases.
    #[command(flatten)]
    Online(OnlineCommand),
    /// Moving to dbmigrate from another tool.
    #[command(flatten)]
    Import(crate::import::ImportCommand),
    /// Print a shell completion script for `cargo-dbmigrate`, e.g.
    /// `cargo dbmigrate completions bash > ~/.local/share/bash-completion/completions/cargo-dbmigrate`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

/// `new "message" [--target …] [--revises …]`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// What the migration does; becomes the `Message:` header and the file's slug.
    pub message: String,
    /// The backend (default: `default-target` from the config, else postgres).
    #[arg(long, value_parser = parse_backend, value_name = "postgres|neo4j|weaviate")]
    pub target: Option<dbmigrate_core::BackendKind>,
    /// The parent revision (default: the current head).
    #[arg(long, value_name = "REV")]
    pub revises: Option<String>,
}

fn parse_backend(text: &str) -> Result<dbmigrate_core::BackendKind, String> {
    text.parse()
}

/// The runner's migration lock, for the commands that take it (issue
/// 13.7). Separate from `Lock-Timeout` / `lock-timeout`, which bound
/// PostgreSQL's wait for table locks inside a step.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
#[command(next_help_heading = "Migration lock")]
pub struct LockArgs {
    /// Seconds to wait for the migration lock while another run holds it,
    /// then fail [default: $DBMIGRATE_LOCK_WAIT_SECONDS, else 60]
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub lock_wait_seconds: Option<std::time::Duration>,
    /// Neo4j and Weaviate: seconds the lock's lease lasts unrenewed; a killed
    /// run is taken over after about this long, a run stalled longer is
    /// fenced out [default: $DBMIGRATE_LEASE_SECONDS, else 10]
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub lease_seconds: Option<std::time::Duration>,
}

/// A positive number of seconds (`0.5`, `90`) of at least a millisecond
/// and at most a year; anything else (zero, `1e20`, `nan`) is refused.
pub fn positive_seconds(text: &str) -> Result<std::time::Duration, String> {
    const YEAR: f64 = 365.0 * 24.0 * 3600.0;
    match text.trim().parse::<f64>() {
        Ok(seconds) if (0.001..=YEAR).contains(&seconds) => {
            Ok(std::time::Duration::from_secs_f64(seconds))
        }
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0.001 and one year"
        )),
    }
}

/// The arguments without the `dbmigrate` that cargo inserts when it runs
/// `cargo dbmigrate …` as `cargo-dbmigrate dbmigrate …`.
pub fn normalized_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<_> = args.into_iter().collect();
    if args.get(1).is_some_and(|arg| arg == "dbmigrate") {
        args.remove(1);
    }
    args
}

/// True when the command line asks for `--format json` (read before
/// parsing, so a usage error can be JSON too).
pub fn asks_for_json(args: &[std::ffi::OsString]) -> bool {
    args.windows(2)
        .any(|pair| pair[0] == "--format" && pair[1] == "json")
        || args.iter().any(|arg| arg == "--format=json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_invocations() {
        for argv in [
            &["cargo-dbmigrate", "dbmigrate", "history"][..],
            &["cargo-dbmigrate", "history"],
        ] {
            let args = normalized_args(argv.iter().map(Into::into));
            let cli = Cli::try_parse_from(args).expect("parses");
            assert!(matches!(cli.command, Command::History));
        }
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
