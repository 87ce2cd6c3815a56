//! The process exit codes of `cargo dbmigrate`, in one public place.

use std::process::ExitCode;

/// Everything went as asked (also: output stopped early by a closed pipe).
pub const SUCCESS: u8 = 0;
/// The command failed: an I/O error, a database error, a refused operation.
pub const FAILURE: u8 = 1;
/// The command line could not be parsed, or the configuration is invalid.
pub const USAGE: u8 = 2;
/// The migration history is broken (malformed file, missing parent, two
/// heads, …) or `check` found a problem.
pub const HISTORY_BROKEN: u8 = 3;

/// An error that means [`HISTORY_BROKEN`]; its details were already printed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HistoryBroken(pub String);

/// An error that means [`USAGE`] (bad configuration or argument).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error that ended a command.
pub fn code_for(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        ExitCode::from(SUCCESS)
    } else if error.downcast_ref::<HistoryBroken>().is_some() {
        ExitCode::from(HISTORY_BROKEN)
    } else if error.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(USAGE)
    } else {
        ExitCode::from(FAILURE)
    }
}

/// True when the output was closed early (`cargo dbmigrate history | head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
