//! `cargo dbmigrate`: a thin main. It parses the command line, loads the
//! project, calls the command, and maps the outcome to an exit code
//! (see [`exit`]). Results go to stdout, diagnostics to stderr.
#![warn(missing_docs)]

mod args;
mod check;
mod color;
mod config;
mod exit;
mod failure;
mod import;
mod inspect;
mod lint;
mod logging;
mod online;
mod rebase;
mod scaffold;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser as _;

pub use args::OutputFormat;
use args::{Cli, Command};
use config::Project;

fn main() -> ExitCode {
    let argv = args::normalized_args(std::env::args_os());
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(error) if error.use_stderr() && args::asks_for_json(&argv) => {
            let document = failure::document(exit::kind(exit::USAGE), &error.kind().to_string());
            println!("{:#}", serde_json::json!({ "error": document }));
            let _ = error.print();
            return ExitCode::from(exit::USAGE);
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    // How a failure is shown: JSON on stdout for `--format json` (and sarif).
    let format = match cli.format {
        args::FormatArg::Text => OutputFormat::Text,
        _ => OutputFormat::Json,
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => ExitCode::from(failure::report(&error, format)),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    logging::init(cli.verbose);
    // Completions need no project: they work from any folder.
    if let Command::Completions { shell } = cli.command {
        return completions(shell, &mut std::io::stdout().lock());
    }
    let project = Project::discover(cli.manifest_path.as_deref())?;
    if let Command::Lint(args) = &cli.command {
        return lint::lint_command(
            &project,
            args,
            cli.format.lint(),
            &mut std::io::stdout().lock(),
        );
    }
    let format = cli.format.plain()?;
    match cli.command {
        // The online commands print from runtime threads: no stdout lock is held for them.
        Command::Online(command) => run_online(command, &project, format, cli.quiet),
        command => run_offline(command, &project, format, &mut std::io::stdout().lock()),
    }
}

fn run_offline(
    command: Command,
    project: &Project,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::New(new_args) => inspect::new(project, new_args, format, out),
        Command::History => inspect::history(project, format, out),
        Command::Heads => inspect::heads(project, format, out),
        Command::Show { revision } => inspect::show(project, &revision, format, out),
        Command::Check {
            offline,
            connection,
        } => check::check(project, offline, &connection, format, out),
        Command::Rebase { dry_run } => rebase::rebase(project, dry_run, format, out),
        Command::Online(command) => run_online(command, project, format, false),
        Command::Import(command) => import::run(command, project, format, out),
        Command::Lint(args) => lint::lint_command(project, &args, format.into(), out),
        Command::Completions { shell } => completions(shell, out),
    }
}

/// `completions <shell>`: clap_complete's script for the `cargo-dbmigrate`
/// binary (cargo's own completion does not reach into `cargo <subcommand>`).
fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // The binary's own name: the help's "cargo dbmigrate" has a space, which
    // the generated scripts cannot carry in their function names.
    let mut command = <Cli as clap::CommandFactory>::command()
        .name("cargo-dbmigrate")
        .bin_name("cargo-dbmigrate")
        .display_name("cargo-dbmigrate");
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "cargo-dbmigrate", &mut script);
    let mut script = String::from_utf8(script)?;
    if shell == clap_complete::Shell::Bash {
        // clap_complete 4.6 spells a hyphenated binary's name two ways in the
        // bash script (`cargo__dbmigrate` in the subcommand walk,
        // `cargo__subcmd__dbmigrate` in the per-subcommand cases), so options
        // after a subcommand were never offered; one spelling fixes it.
        script = script.replace("cargo__subcmd__dbmigrate", "cargo__dbmigrate");
    }
    out.write_all(script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
fn run_online(
    command: online::OnlineCommand,
    project: &Project,
    format: OutputFormat,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(online::run(command, project, format, quiet))
}
