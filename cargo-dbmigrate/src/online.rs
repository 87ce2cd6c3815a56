//! The commands that talk to the databases. (placeholder: the runner engineer replaces this file)

use std::process::ExitCode;

/// Commands that need a database connection.
#[derive(Debug, clap::Subcommand)]
pub enum OnlineCommand {
    /// Show which migrations each database has applied.
    Status,
}

/// Runs an online command.
pub async fn run(
    command: OnlineCommand,
    project: &crate::config::Project,
    format: crate::OutputFormat,
) -> anyhow::Result<ExitCode> {
    let _ = (project, format);
    anyhow::bail!("`{command:?}` is not implemented yet")
}
