//! Rendering the runner's reports for a person (cargo-style verbs) or as JSON.

use std::io::Write;

use anyhow::Context as _;
use dbmigrate_core::runner::{AcceptedChecksum, Repair, Status};
use dbmigrate_core::{Direction, Report};

use crate::OutputFormat;

/// A cargo-style line: the verb right-aligned in 12 columns.
fn verb(out: &mut dyn Write, verb: &str, rest: &str) -> anyhow::Result<()> {
    writeln!(out, "{} {rest}", painted_verb(verb)).context("failed to write the output")
}

/// The verb right-aligned in 12 columns, bold green when stdout may carry colour.
pub fn painted_verb(verb: &str) -> String {
    if crate::color::stdout_allows_color() {
        format!("\x1b[1;32m{verb:>12}\x1b[0m")
    } else {
        format!("{verb:>12}")
    }
}

fn json(out: &mut dyn Write, value: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out).context("failed to write the output")
}

/// `initial_schema` from `20241201_1000_a1b2c3_initial_schema.sql`.
pub fn slug<'a>(file_name: &'a str, revision_id: &str) -> &'a str {
    let rest = file_name
        .strip_prefix(revision_id)
        .and_then(|r| r.strip_prefix('_'))
        .unwrap_or(file_name);
    rest.split('.').next().unwrap_or(rest)
}

fn millis(duration: std::time::Duration) -> String {
    format!("{}ms", duration.as_millis())
}

/// An upgrade, downgrade, redo or plan; the first `n_printed` steps were
/// already printed live.
pub fn report(
    report: &Report,
    format: OutputFormat,
    n_printed: usize,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return json(out, report);
    }
    for revision in &report.ahead {
        eprintln!("warning: the database holds {revision}, which is newer than these migrations (rolling deploy?)");
    }
    if report.dry_run {
        return planned(report, out);
    }
    steps(report, n_printed, out)?;
    let at = report.to.as_deref().unwrap_or("base");
    if report.applied.is_empty() {
        verb(out, "Up to date", &format!("at {at}"))
    } else {
        let total: std::time::Duration = report.applied.iter().map(|s| s.duration).sum();
        verb(
            out,
            "Finished",
            &format!(
                "{} step(s), now at {at} in {}",
                report.applied.len(),
                millis(total)
            ),
        )
    }
}

/// What a failed run applied before it failed (its first `n_printed`
/// steps were already printed live).
pub fn partial(
    report: &Report,
    format: OutputFormat,
    n_printed: usize,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => json(out, report),
        OutputFormat::Text => steps(report, n_printed, out),
    }
}

fn steps(report: &Report, n_printed: usize, out: &mut dyn Write) -> anyhow::Result<()> {
    for step in report.applied.iter().skip(n_printed) {
        writeln!(out, "{}", super::live::step_line(step)).context("failed to write the output")?;
    }
    Ok(())
}

/// The exact calls of a dry run, each step introduced by a comment line.
fn planned(report: &Report, out: &mut dyn Write) -> anyhow::Result<()> {
    if report.planned.is_empty() {
        return verb(
            out,
            "Up to date",
            &format!("at {}", report.to.as_deref().unwrap_or("base")),
        );
    }
    for step in &report.planned {
        let comment = step.backend.descriptor().comment_prefix().unwrap_or("--");
        writeln!(
            out,
            "{comment} {} {} ({}, {})",
            step.revision_id,
            slug(&step.file_name, &step.revision_id),
            step.backend,
            step.direction
        )?;
        for call in &step.calls {
            let text = call.text.trim_end_matches('\n');
            writeln!(out, "{text}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `status`: the timeline, then one block per backend.
pub fn status(status: &Status, format: OutputFormat, out: &mut dyn Write) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return json(out, status);
    }
    let dirty = status.backends.iter().find_map(|b| b.dirty.first());
    let current = match dirty {
        Some(dirty) => format!("dirty at {dirty}"),
        None => status.current.as_deref().unwrap_or("base").to_string(),
    };
    writeln!(
        out,
        "timeline: current {current}, head {}, {} pending",
        status.head.as_deref().unwrap_or("base"),
        status.n_pending
    )?;
    for backend in &status.backends {
        writeln!(out, "{} ({})", backend.backend, backend.location)?;
        // A dirty record is where the database stands, not an applied step.
        let position = match backend.dirty.first() {
            Some(dirty) => format!("dirty at {dirty}"),
            None => backend.current.as_deref().unwrap_or("base").to_string(),
        };
        writeln!(out, "  position  {position}")?;
        writeln!(out, "  applied   {}", backend.n_applied)?;
        writeln!(out, "  pending   {}", backend.n_pending)?;
        writeln!(out, "  chain     {}", backend.chain_hash)?;
        let dirty = if backend.dirty.is_empty() {
            "clean".to_string()
        } else {
            format!("DIRTY {}", backend.dirty.join(", "))
        };
        writeln!(out, "  state     {dirty}")?;
        if !backend.ahead.is_empty() {
            writeln!(out, "  ahead     {}", backend.ahead.join(", "))?;
        }
    }
    for problem in &status.problems {
        writeln!(out, "problem: {problem}")?;
    }
    Ok(())
}

/// `current`: one line per backend.
pub fn current(status: &Status, format: OutputFormat, out: &mut dyn Write) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        let map: serde_json::Map<String, serde_json::Value> = status
            .backends
            .iter()
            .map(|b| (b.backend.to_string(), serde_json::json!(b.current)))
            .collect();
        return json(out, &map);
    }
    for backend in &status.backends {
        match backend.dirty.first() {
            Some(dirty) => writeln!(out, "{}: dirty at {dirty}", backend.backend)?,
            None => writeln!(
                out,
                "{}: {}",
                backend.backend,
                backend.current.as_deref().unwrap_or("base")
            )?,
        }
    }
    Ok(())
}

/// `stamp`.
pub fn stamped(report: &Report, format: OutputFormat, out: &mut dyn Write) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return json(out, report);
    }
    for step in &report.applied {
        let action = if step.direction == Direction::Up {
            "Stamped"
        } else {
            "Unstamped"
        };
        verb(
            out,
            action,
            &format!(
                "{} {} ({})",
                step.revision_id,
                slug(&step.file_name, &step.revision_id),
                step.backend
            ),
        )?;
    }
    verb(
        out,
        "Finished",
        &format!("history now at {}", report.to.as_deref().unwrap_or("base")),
    )
}

/// `repair --accept-checksum`: the old and the new checksum.
pub fn accepted(
    accepted: &AcceptedChecksum,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return json(out, accepted);
    }
    verb(
        out,
        "Accepted",
        &format!(
            "{} ({}): checksum {} → {}",
            accepted.revision_id, accepted.backend, accepted.old, accepted.new
        ),
    )
}

/// `repair`.
pub fn repaired(
    revision_id: &str,
    action: Repair,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let what = match action {
        Repair::MarkApplied => "marked applied",
        Repair::Forget => "forgotten",
    };
    if format == OutputFormat::Json {
        return json(
            out,
            &serde_json::json!({ "repaired": revision_id, "action": what }),
        );
    }
    verb(out, "Repaired", &format!("{revision_id}: {what}"))
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs() {
        assert_eq!(
            slug(
                "20241201_1000_a1b2c3_initial_schema.sql",
                "20241201_1000_a1b2c3"
            ),
            "initial_schema"
        );
        assert_eq!(
            slug(
                "20241203_0900_f6a7b8_text_chunk.weaviate.json",
                "20241203_0900_f6a7b8"
            ),
            "text_chunk"
        );
    }
}
