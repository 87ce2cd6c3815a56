//! The commands that talk to the databases: `status`, `current`, `upgrade`,
//! `downgrade`, `redo`, `stamp`, `repair`, `plan`, `test` (round trip), and
//! the database half of `check`. They build a
//! [`Migrator`](dbmigrate_core::Migrator) from the project's files and the
//! connection settings, call it, and render its report. No password ever
//! reaches the output: URLs are redacted and every message is scrubbed of
//! the secrets we were given.

pub(crate) mod connect;
mod live;
mod log;
mod offline;
mod render;
mod test;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use dbmigrate_core::runner::{Repair, RunError};
use dbmigrate_core::{Direction, Target};

use crate::exit::UsageError;
use crate::OutputFormat;

pub use connect::ConnectionArgs;
// `lint` reads pending migrations and table sizes with the same settings.
pub use connect::{migrator, scrub, Settings};

/// Commands that need a database connection.
#[derive(Debug, clap::Subcommand)]
pub enum OnlineCommand {
    /// Show where each database stands: position, pending, chain hash, dirty records.
    Status {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Every migration in timeline order with its state in its database
    /// (applied, pending, dirty, edited since applied), applied_at,
    /// applied_by and duration; exit 4 when a line needs attention.
    Log {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Print the current revision of each database.
    Current {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Apply pending migrations up to a target (default: head).
    Upgrade {
        /// `head`, a revision (id or unique prefix of its rev) or `+N`.
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
        /// Print the exact statements, bookkeeping included, and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        lock: crate::args::LockArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Revert applied migrations down to a target (default: -1, the last one).
    Downgrade {
        /// `base`, a revision (id or unique prefix of its rev) or `-N`.
        #[arg(default_value = "-1", allow_hyphen_values = true)]
        target: String,
        /// Print the exact statements, bookkeeping included, and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        lock: crate::args::LockArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Revert the last applied migration and apply it again.
    Redo {
        #[command(flatten)]
        lock: crate::args::LockArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Record the history as if a revision had been reached, running nothing.
    Stamp {
        /// The revision to record (`base` clears the history).
        rev: String,
        #[command(flatten)]
        lock: crate::args::LockArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Resolve a dirty migration after checking its effects by hand.
    Repair {
        /// The revision (default: the only dirty one).
        rev: Option<String>,
        /// A dirty record whose effects are in place (finished by hand, or
        /// the fixed file's statements all took effect): record it as applied.
        #[arg(long, conflicts_with_all = ["forget", "accept_checksum"])]
        applied: bool,
        /// A dirty record whose effects are not in place (undone by hand):
        /// remove its record, so the next upgrade runs it again.
        #[arg(long, conflicts_with = "accept_checksum")]
        forget: bool,
        /// A cleanly applied migration whose file was edited since in a way
        /// that changes nothing applied (a comment, formatting): record the
        /// file's checksum; prints the old and the new one.
        #[arg(long, requires = "rev")]
        accept_checksum: bool,
        #[command(flatten)]
        lock: crate::args::LockArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Print the exact statements an upgrade (or downgrade) to a target would run.
    Plan {
        /// `head`, `base`, a revision, `+N` or `-N` (default: head); with
        /// `--offline`, a range `<from>..<to>` (`to` alone: from base).
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
        /// Connect to nothing: print the whole script from `<from>` to
        /// `<to>` (an earlier `<to>` is a downgrade), bookkeeping included,
        /// for a DBA to run by hand (psql, cypher-shell, HTTP).
        #[arg(long)]
        offline: bool,
        /// With `--offline`: only this database's steps.
        #[arg(long, requires = "offline", value_parser = parse_backend, value_name = "postgres|neo4j|weaviate")]
        backend: Option<dbmigrate_core::BackendKind>,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Round-trip every migration (up, down, up, comparing schemas) in a scratch
    /// PostgreSQL database; Neo4j and Weaviate migrations run on the given servers.
    Test {
        #[command(flatten)]
        test: test::TestArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

impl OnlineCommand {
    fn connection(&self) -> &ConnectionArgs {
        match self {
            OnlineCommand::Status { connection }
            | OnlineCommand::Current { connection }
            | OnlineCommand::Log { connection }
            | OnlineCommand::Upgrade { connection, .. }
            | OnlineCommand::Downgrade { connection, .. }
            | OnlineCommand::Redo { connection, .. }
            | OnlineCommand::Stamp { connection, .. }
            | OnlineCommand::Repair { connection, .. }
            | OnlineCommand::Plan { connection, .. }
            | OnlineCommand::Test { connection, .. } => connection,
        }
    }

    /// The migration lock flags of the commands that take the lock.
    fn lock(&self) -> crate::args::LockArgs {
        match self {
            OnlineCommand::Upgrade { lock, .. }
            | OnlineCommand::Downgrade { lock, .. }
            | OnlineCommand::Redo { lock, .. }
            | OnlineCommand::Stamp { lock, .. }
            | OnlineCommand::Repair { lock, .. } => *lock,
            _ => crate::args::LockArgs::default(),
        }
    }
}

/// Runs an online command.
pub async fn run(
    command: OnlineCommand,
    project: &crate::config::Project,
    format: OutputFormat,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    if let OnlineCommand::Plan {
        target,
        offline: true,
        backend,
        ..
    } = &command
    {
        let mut out = std::io::stdout().lock();
        return offline::plan(project, target, *backend, format, &mut out);
    }
    let settings =
        connect::Settings::resolve(command.connection(), &project.root)?.with_lock(command.lock());
    let secrets = settings.secrets();
    settings.check_urls()?;
    let result = match command {
        OnlineCommand::Test { test, .. } => {
            test::run(project, &settings, &test, format, &secrets).await
        }
        command => {
            let live = live::LiveReporter::new(live::LiveOptions::new(format, quiet));
            let result = run_with(command, project, format, &settings, &live).await;
            live.finish();
            result
        }
    };
    result.map_err(|error| classified(&error, &secrets))
}

/// `error` with its exit code kept and its text scrubbed of connection strings.
fn classified(error: &anyhow::Error, secrets: &[String]) -> anyhow::Error {
    crate::exit::Classified {
        code: crate::exit::code_for(error),
        message: connect::scrub(&format!("{error:#}"), secrets),
        location: step_location(error),
        partial: error
            .chain()
            .find_map(|e| e.downcast_ref::<RunError>())
            .and_then(RunError::report)
            .and_then(|report| serde_json::to_value(report).ok()),
    }
    .into()
}

/// The file of a failed step and, when the database named one, the line of
/// the failing statement.
fn step_location(error: &anyhow::Error) -> Option<(String, Option<u32>)> {
    let RunError::Step { path, cause, .. } = error.chain().find_map(|e| e.downcast_ref())? else {
        return None;
    };
    match cause.as_ref() {
        dbmigrate_core::backend::BackendError::Statement { path, line, .. } => {
            Some((path.clone(), Some(*line)))
        }
        _ => Some((path.clone(), None)),
    }
}

async fn run_with(
    command: OnlineCommand,
    project: &crate::config::Project,
    format: OutputFormat,
    settings: &connect::Settings,
    live: &live::LiveReporter,
) -> anyhow::Result<ExitCode> {
    let history = project.load_history()?;
    let observer = live.clone();
    let mut migrator = connect::migrator(history, settings, project)
        .await?
        .on_progress(move |event| observer.event(event));
    if matches!(
        command,
        OnlineCommand::Upgrade { dry_run: false, .. }
            | OnlineCommand::Downgrade { dry_run: false, .. }
            | OnlineCommand::Redo { .. }
    ) {
        migrator = migrator.cancel_on(cancel_on_signals(
            "cancelling the running statement, then releasing the lock",
            "the server may still finish or roll back the step it was running: check `cargo dbmigrate status`",
        )?);
    }
    // Not locked: the live reporter writes step lines while the run goes on.
    let mut out = std::io::stdout();
    match command {
        OnlineCommand::Status { .. } => {
            let status = migrator.status().await?;
            render::status(&status, format, &mut out)?;
            if !status.problems.is_empty() {
                out.flush().context("failed to write the output")?;
                return Ok(ExitCode::from(crate::exit::NEEDS_ATTENTION));
            }
        }
        OnlineCommand::Log { .. } => {
            let entries = log::entries(&migrator).await?;
            log::render(&entries, format, &mut out)?;
            if log::needs_attention(&entries) {
                out.flush().context("failed to write the output")?;
                return Ok(ExitCode::from(crate::exit::NEEDS_ATTENTION));
            }
        }
        OnlineCommand::Current { .. } => {
            render::current(&migrator.status().await?, format, &mut out)?
        }
        OnlineCommand::Upgrade {
            target, dry_run, ..
        } => {
            let migrator = migrator.dry_run(dry_run);
            let result = migrator.upgrade(parse_target(&target)?).await;
            finish(result, format, live, &mut out)?;
        }
        OnlineCommand::Downgrade {
            target, dry_run, ..
        } => {
            let migrator = migrator.dry_run(dry_run);
            let result = migrator.downgrade(parse_target(&target)?).await;
            finish(result, format, live, &mut out)?;
        }
        OnlineCommand::Redo { .. } => finish(migrator.redo().await, format, live, &mut out)?,
        OnlineCommand::Stamp { rev, .. } => {
            let report = migrator.stamp(parse_target(&rev)?).await?;
            render::stamped(&report, format, &mut out)?;
        }
        OnlineCommand::Repair {
            rev,
            applied,
            forget,
            accept_checksum,
            ..
        } => {
            if let (true, Some(rev)) = (accept_checksum, &rev) {
                let accepted = migrator.accept_checksum(rev).await?;
                render::accepted(&accepted, format, &mut out)?;
                out.flush().context("failed to write the output")?;
                return Ok(ExitCode::SUCCESS);
            }
            let action = match (applied, forget) {
                (true, false) => Repair::MarkApplied,
                (false, true) => Repair::Forget,
                _ => return Err(UsageError("say what to record: `--applied` (its effects are in place), `--forget` (they are not) or `--accept-checksum` (a clean migration's edited file)".into()).into()),
            };
            let revision_id = migrator.repair(rev.as_deref(), action).await?;
            render::repaired(&revision_id, action, format, &mut out)?;
        }
        OnlineCommand::Test { .. } => unreachable!("`test` builds no migrator"),
        OnlineCommand::Plan { target, .. } => {
            let target = parse_target(&target)?;
            let direction = plan_direction(&migrator, &target).await?;
            let report = migrator.plan(direction, target).await?;
            render::report(&report, format, 0, &mut out)?;
        }
    }
    out.flush().context("failed to write the output")?;
    Ok(ExitCode::SUCCESS)
}

fn parse_backend(text: &str) -> Result<dbmigrate_core::BackendKind, String> {
    text.parse()
}

/// What the databases' histories say about the files (the online half of `check`).
#[derive(Debug, Default)]
pub struct DatabaseCheck {
    /// Each database read: `postgres (location)`.
    pub databases: Vec<String>,
    /// Edited applied migrations, dirty records, unknown revisions, gaps.
    pub problems: Vec<String>,
}

/// Reads every configured database's history and lists its problems;
/// `None` when no connection is configured (flags, environment, `.env`).
pub fn check_databases(
    project: &crate::config::Project,
    connection: &ConnectionArgs,
) -> anyhow::Result<Option<DatabaseCheck>> {
    let settings = connect::Settings::resolve(connection, &project.root)?;
    if settings.is_empty() {
        return Ok(None);
    }
    let secrets = settings.secrets();
    settings.check_urls()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let history = project.load_history()?;
        let migrator = connect::migrator(history, &settings, project).await?;
        let status = migrator.status().await?;
        anyhow::Ok(status)
    });
    let status = result.map_err(|error| classified(&error, &secrets))?;
    Ok(Some(DatabaseCheck {
        databases: status
            .backends
            .iter()
            .map(|b| format!("{} ({})", b.backend, b.location))
            .collect(),
        problems: status
            .problems
            .iter()
            .map(|p| connect::scrub(p, &secrets))
            .collect(),
    }))
}

fn parse_target(text: &str) -> anyhow::Result<Target> {
    Target::parse(text).map_err(|error| UsageError(error.to_string()).into())
}

/// `plan base` and `plan -N` plan a downgrade; other targets an upgrade,
/// unless they lie before the current revision.
async fn plan_direction(
    migrator: &dbmigrate_core::Migrator,
    target: &Target,
) -> anyhow::Result<Direction> {
    Ok(match target {
        Target::Base => Direction::Down,
        Target::Relative(n) if *n < 0 => Direction::Down,
        Target::Revision(_) => {
            let status = migrator.status().await?;
            let history = migrator.history()?;
            let current = status
                .current
                .as_deref()
                .and_then(|id| history.position(id));
            let wanted = history.resolve(target, current)?;
            if wanted < current {
                Direction::Down
            } else {
                Direction::Up
            }
        }
        _ => Direction::Up,
    })
}

/// Renders a run's report (also the part a failed run applied) and returns its error.
fn finish(
    result: Result<dbmigrate_core::Report, RunError>,
    format: OutputFormat,
    live: &live::LiveReporter,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    live.finish();
    let n_printed = live.n_printed();
    match result {
        Ok(report) => render::report(&report, format, n_printed, out),
        Err(error) => {
            // In JSON the partial report goes into the error's one document.
            if let (Some(report), OutputFormat::Text) = (error.report(), format) {
                render::partial(report, format, n_printed, out)?;
            }
            Err(error.into())
        }
    }
}

/// The first SIGINT or SIGTERM cancels the run (the library stops the
/// running statement, rolls back or marks dirty, releases the lock; `test`
/// then removes what it made), saying `doing`; a second one exits at once,
/// warning of `left`.
pub(crate) fn cancel_on_signals(
    doing: &'static str,
    left: &'static str,
) -> anyhow::Result<dbmigrate_core::runner::Cancel> {
    use tokio::signal::unix::{signal, SignalKind};
    let cancel = dbmigrate_core::runner::Cancel::new();
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let handle = cancel.clone();
    tokio::spawn(async move {
        tokio::select! { _ = interrupt.recv() => {}, _ = terminate.recv() => {} }
        eprintln!("Interrupted: {doing} (press Ctrl-C again to exit at once)");
        handle.cancel();
        tokio::select! { _ = interrupt.recv() => {}, _ = terminate.recv() => {} }
        eprintln!("Interrupted again: exiting now, without waiting; {left}");
        std::process::exit(130);
    });
    Ok(cancel)
}
