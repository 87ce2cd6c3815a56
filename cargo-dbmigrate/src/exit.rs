//! The process exit codes of `cargo dbmigrate`, in one public place, and
//! how an error that ended a command maps to one. Every command uses the
//! same table (also printed by `--help` and in the README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok (also: output stopped early by a closed pipe) |
//! | 1 | a database operation failed (connection, statement, lock) |
//! | 2 | usage: bad argument, configuration or connection string |
//! | 3 | the migration files or their revision graph are invalid |
//! | 4 | a database needs attention: dirty, edited, unknown or ahead |

use dbmigrate_core::error::TargetError;
use dbmigrate_core::runner::RunError;

/// Everything went as asked (also: output stopped early by a closed pipe).
pub const SUCCESS: u8 = 0;
/// A database operation failed: connection, statement, lock, refused step.
pub const FAILURE: u8 = 1;
/// The command line, the configuration or a connection string is invalid.
pub const USAGE: u8 = 2;
/// The migration files or their revision graph are invalid (malformed
/// file, missing parent, cycle, two heads).
pub const HISTORY_BROKEN: u8 = 3;
/// A database needs attention: a dirty record, an applied migration edited
/// since, a revision the files do not know, a gap, or a database ahead.
pub const NEEDS_ATTENTION: u8 = 4;

/// The table above, for `--help`.
pub const HELP: &str = "Exit codes:
  0  ok (also when the output is closed early, e.g. `| head`)
  1  a database operation failed (connection, statement, lock)
  2  usage: bad argument, configuration or connection string
  3  the migration files or their revision graph are invalid
  4  a database needs attention: dirty, edited, unknown revision, gap, ahead";

/// An error that means [`HISTORY_BROKEN`]; its message is the summary.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HistoryBroken(pub String);

/// An error that means [`USAGE`] (bad configuration or argument).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// An error that means [`NEEDS_ATTENTION`]: the command ran and found
/// databases that need a person (`status`, `check`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NeedsAttention(pub String);

/// An error already classified and rendered safe to show (secrets
/// redacted): the online commands turn every error into one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Classified {
    /// The exit code.
    pub code: u8,
    /// The message, `help:` lines included.
    pub message: String,
    /// The migration file it is about and the line in it, when known (a
    /// failed step: its file, and the failing statement's line).
    pub location: Option<(String, Option<u32>)>,
    /// What a failed run applied before it failed, as JSON (`--format json`
    /// shows it beside the error, in the one document on stdout).
    pub partial: Option<serde_json::Value>,
}

/// The exit code for an error that ended a command.
pub fn code_for(error: &anyhow::Error) -> u8 {
    if is_broken_pipe(error) {
        return SUCCESS;
    }
    if let Some(classified) = error.downcast_ref::<Classified>() {
        return classified.code;
    }
    for cause in error.chain() {
        if cause.is::<HistoryBroken>() {
            return HISTORY_BROKEN;
        }
        if cause.is::<UsageError>() || cause.is::<TargetError>() {
            return USAGE;
        }
        if cause.is::<NeedsAttention>() {
            return NEEDS_ATTENTION;
        }
        if let Some(run) = cause.downcast_ref::<RunError>() {
            return run_code(run);
        }
    }
    FAILURE
}

/// What a refused or failed run means.
fn run_code(error: &RunError) -> u8 {
    match error {
        RunError::Migrations(_) => HISTORY_BROKEN,
        RunError::Target(_) | RunError::WrongDirection { .. } | RunError::MissingBackend { .. } => {
            USAGE
        }
        RunError::ChecksumMismatch { .. }
        | RunError::Dirty { .. }
        | RunError::Interrupted { .. }
        | RunError::UnknownRevision { .. }
        | RunError::Gap { .. }
        | RunError::Ahead { .. } => NEEDS_ATTENTION,
        _ => FAILURE,
    }
}

/// The `kind` of a JSON error for an exit code.
pub fn kind(code: u8) -> &'static str {
    match code {
        USAGE => "usage",
        HISTORY_BROKEN => "invalid_files",
        NEEDS_ATTENTION => "needs_attention",
        _ => "failed",
    }
}

/// True when the output was closed early (`cargo dbmigrate history | head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    }) || error
        .downcast_ref::<Classified>()
        .is_some_and(|classified| classified.code == SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_code() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(
            code_for(&anyhow::Error::from(pipe).context("writing")),
            SUCCESS
        );
        assert_eq!(code_for(&HistoryBroken("x".into()).into()), HISTORY_BROKEN);
        assert_eq!(code_for(&UsageError("x".into()).into()), USAGE);
        assert_eq!(
            code_for(&NeedsAttention("x".into()).into()),
            NEEDS_ATTENTION
        );
        let unknown = TargetError::Unknown { text: "zzz".into() };
        assert_eq!(code_for(&anyhow::Error::from(unknown)), USAGE);
        let run = RunError::Migrations("bad".into());
        assert_eq!(code_for(&anyhow::Error::from(run)), HISTORY_BROKEN);
        assert_eq!(code_for(&anyhow::anyhow!("io")), FAILURE);
    }
}
