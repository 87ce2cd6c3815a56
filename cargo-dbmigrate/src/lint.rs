//! `lint`: the zero-downtime lint over the project's migrations
//! (`dbmigrate_core::lint`). Offline it lints every migration, each judged as
//! its own deploy; with connection settings it lints only the migrations no
//! configured database has applied, as one run, with live table sizes in the
//! messages. `--all` lints the whole history. Errors exit 1.

mod counts;
mod live;
mod render;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use dbmigrate_core::lint::{self, LintInput, LintOptions, LintReport, Severity};
use dbmigrate_core::History;

use crate::config::Project;
use crate::exit;
use crate::online::ConnectionArgs;

pub use render::LintFormat;

/// `lint [--all] [connection flags]`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Lint the whole history, not only the migrations no known database has applied.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs the lint and prints it; exits 1 when an unsuppressed error remains.
pub fn lint_command(
    project: &Project,
    args: &LintArgs,
    format: LintFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let history = project.load_history()?;
    let report = run(project, &history, args)?;
    render::render(&report, format, out)?;
    let failed = report.count(Severity::Error) > 0;
    Ok(ExitCode::from(if failed {
        exit::FAILURE
    } else {
        exit::SUCCESS
    }))
}

/// `check`'s share: the offline lint of every migration. Its findings go to
/// the report as lines; with `lint = "deny"` an error is a check problem.
pub fn add_to_check(
    project: &Project,
    history: &History,
    report: &mut crate::check::CheckReport,
) -> anyhow::Result<()> {
    let options = LintOptions {
        default_lock_timeout: project.settings.lock_timeout,
        default_statement_timeout: project.settings.statement_timeout,
        ..LintOptions::default()
    };
    let lint_report = lint_history(history, &options)?;
    for violation in lint_report.active() {
        let line = format!(
            "{}: {}[{}]: {}\n  help: {}",
            violation.location(),
            violation.severity.name(),
            violation.rule,
            violation.why,
            violation.fix
        );
        if project.settings.lint_deny && violation.severity == Severity::Error {
            report.ok = false;
            report.errors.push(line);
        } else {
            report.lint.push(format!("lint: {line}"));
        }
    }
    Ok(())
}

fn run(project: &Project, history: &History, args: &LintArgs) -> anyhow::Result<LintReport> {
    let mut options = LintOptions {
        default_lock_timeout: project.settings.lock_timeout,
        default_statement_timeout: project.settings.statement_timeout,
        ..LintOptions::default()
    };
    if let Some(found) = live::read(project, history, &args.connection)? {
        options.first_linted = if args.all { 0 } else { found.first_pending };
        options.one_run = !args.all;
        options.live = found.facts;
    }
    lint_history(history, &options)
}

fn lint_history(history: &History, options: &LintOptions) -> anyhow::Result<LintReport> {
    let texts = history
        .iter()
        .map(|migration| {
            std::fs::read_to_string(&migration.path)
                .with_context(|| format!("cannot read {}", migration.path))
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    let inputs: Vec<LintInput<'_>> = history
        .iter()
        .zip(&texts)
        .map(|(migration, text)| LintInput { migration, text })
        .collect();
    Ok(lint::lint(&inputs, options))
}
