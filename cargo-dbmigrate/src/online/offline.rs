//! `plan --offline <from>..<to>`: Alembic's offline (`--sql`) mode. The
//! script a DBA runs by hand — per step the SQL with its transaction,
//! timeouts and history bookkeeping, the Cypher with its history node
//! writes, Weaviate's HTTP calls — planned without any connection: no
//! setting is read, so `DATABASE_URL` and friends may point anywhere.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use dbmigrate_core::backend::{ConnectOptions, PlannedCall};
use dbmigrate_core::runner::{plan_offline, OfflinePlan};
use dbmigrate_core::{BackendKind, Target};

use crate::config::Project;
use crate::exit::UsageError;
use crate::OutputFormat;

/// What the history records of an offline script say ran them.
pub const APPLIED_BY: &str = "cargo dbmigrate plan --offline";

/// `from..to`, or `to` alone (from base).
fn parse_range(text: &str) -> anyhow::Result<(Target, Target)> {
    let parse = |part: &str| {
        Target::parse(part).map_err(|error| anyhow::Error::from(UsageError(error.to_string())))
    };
    match text.split_once("..") {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => Ok((parse(from)?, parse(to)?)),
        Some(_) => Err(UsageError(format!(
            "`{text}` is not a range\n  help: write <from>..<to>, e.g. `base..head` (an upgrade) or `head..base` (a downgrade)"
        ))
        .into()),
        None => Ok((Target::Base, parse(text)?)),
    }
}

/// Prints the offline script of `range`, for every backend or only `backend`.
pub fn plan(
    project: &Project,
    range: &str,
    backend: Option<BackendKind>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let (from, to) = parse_range(range)?;
    let history = project.load_history()?;
    let options = ConnectOptions {
        history_table: project.settings.history_table.clone(),
        lock_timeout: project.settings.lock_timeout,
        statement_timeout: project.settings.statement_timeout,
        // The same bookkeeping names the runner would write to.
        bookkeeping_prefix: super::connect::prefix_from_env()?,
        ..ConnectOptions::default()
    };
    let mut plan = plan_offline(&history, &from, &to, &options, APPLIED_BY)?;
    if let Some(kind) = backend {
        plan.setup.retain(|setup| setup.backend == kind);
        plan.steps.retain(|step| step.backend == kind);
    }
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan)?;
            writeln!(out)?;
        }
        OutputFormat::Text => script(&plan, backend, out)?,
    }
    out.flush().context("failed to write the output")?;
    Ok(ExitCode::SUCCESS)
}

/// A backend's line comment (`--`, `//`; Weaviate's HTTP calls take `--`).
fn comment(kind: BackendKind) -> &'static str {
    kind.descriptor().comment_prefix().unwrap_or("--")
}

fn script(
    plan: &OfflinePlan,
    backend: Option<BackendKind>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let first = backend.or_else(|| plan.steps.first().map(|step| step.backend));
    let c = first.map_or("--", comment);
    let (verb, from, to) = (
        plan.direction.verb(),
        plan.from.as_deref().unwrap_or("base"),
        plan.to.as_deref().unwrap_or("base"),
    );
    writeln!(
        out,
        "{c} dbmigrate offline script: {verb} {from}..{to}, {} step(s){}",
        plan.steps.len(),
        backend.map_or(String::new(), |kind| format!(" on {kind}"))
    )?;
    writeln!(
        out,
        "{c} Run it in order, once, with no other migration run going on: it takes no migration lock.\n"
    )?;
    for setup in &plan.setup {
        writeln!(
            out,
            "{} {}: the history store, created when missing",
            comment(setup.backend),
            setup.backend
        )?;
        for call in &setup.calls {
            writeln!(out, "{}", runnable(call))?;
        }
        writeln!(out)?;
    }
    for step in &plan.steps {
        writeln!(
            out,
            "{} {} {} ({}, {})",
            comment(step.backend),
            step.revision_id,
            super::render::slug(&step.file_name, &step.revision_id),
            step.backend,
            step.direction
        )?;
        for call in &step.calls {
            writeln!(out, "{}", runnable(call))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// A call's text as its shell takes it: cypher-shell runs a statement only
/// once it ends with `;` (its `:param`/`:begin` commands and `//` comments
/// take none), so the last statement line of a Cypher call gets one.
fn runnable(call: &PlannedCall) -> String {
    let text = call.text.trim_end_matches('\n');
    if call.language != "cypher" {
        return text.to_string();
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let statement = lines.iter_mut().rev().find(|line| {
        let line = line.trim_start();
        !line.is_empty() && !line.starts_with("//") && !line.starts_with(':')
    });
    if let Some(line) = statement {
        if !line.trim_end().ends_with(';') {
            line.push(';');
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(matches!(
            parse_range("base..head").unwrap(),
            (Target::Base, Target::Head)
        ));
        assert!(matches!(
            parse_range("head").unwrap(),
            (Target::Base, Target::Head)
        ));
        assert!(parse_range("..head").is_err());
        assert!(parse_range("head..").is_err());
    }
}
