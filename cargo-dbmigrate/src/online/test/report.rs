//! The end of `test`: a table of every migration (ok / not inverse /
//! irreversible / down failed …), each failure with its objects capped to a
//! few lines, and the full report in a file whose path is printed. JSON
//! output carries the same table.

use std::io::Write;
use std::path::{Path, PathBuf};

use dbmigrate_core::testing::{
    Finding, RoundTripError, StairwayReport, StepReport, Verdict, DETAIL_LINES,
};
use dbmigrate_core::BackendKind;
use serde::Serialize;

use super::super::connect;
use crate::config::Project;
use crate::OutputFormat;

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row {
    revision: String,
    slug: String,
    backend: BackendKind,
    verdict: Verdict,
    #[serde(skip_serializing_if = "String::is_empty")]
    summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failures: Vec<Finding>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<Finding>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    rebuilt: bool,
}

/// What `test` prints (`--format json` prints exactly this).
#[derive(Debug, Serialize)]
pub struct Rendered {
    ok: bool,
    servers: Vec<String>,
    migrations: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_file: Option<String>,
    error: Option<String>,
    #[serde(skip)]
    table: String,
    #[serde(skip)]
    failures: String,
}

impl Rendered {
    /// Renders the report, writing the full one to a file when anything
    /// failed or was noted.
    pub fn new(
        project: &Project,
        report: &StairwayReport,
        servers: Vec<String>,
        error: Option<RoundTripError>,
        secrets: &[String],
    ) -> Rendered {
        let scrub = |text: &str| connect::scrub(text, secrets);
        let error = error.map(|error| scrub(&error.to_string()));
        let report_file = write_full_report(project, report, &scrub);
        let failures = report
            .steps
            .iter()
            .filter(|step| step.verdict.failed())
            .map(|step| {
                let header = format!(
                    "{} {} ({}) {}:\n",
                    step.revision_id,
                    step.slug,
                    step.backend,
                    step.verdict.label()
                );
                header + &step.findings_text(Some(DETAIL_LINES)) + &format!("  --> {}\n", step.path)
            })
            .collect::<Vec<_>>()
            .join("\n");
        Rendered {
            ok: error.is_none() && report.passed(),
            servers,
            migrations: report.steps.iter().map(|step| row(step, &scrub)).collect(),
            report_file,
            error,
            table: scrub(&report.table()),
            failures: scrub(&failures),
        }
    }

    /// Whether every migration passed.
    pub fn ok(&self) -> bool {
        self.ok
    }

    /// Prints to stdout as text or JSON.
    pub fn print(&self, format: OutputFormat) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        match format {
            OutputFormat::Json => crate::inspect::print_json(&mut out, self)?,
            OutputFormat::Text => self.print_text(&mut out)?,
        }
        out.flush()?;
        Ok(())
    }

    fn print_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "\n{}", self.table)?;
        if !self.failures.is_empty() {
            writeln!(out, "{}", self.failures)?;
        }
        if let Some(error) = &self.error {
            writeln!(out, "{error}\n")?;
        }
        if let Some(path) = &self.report_file {
            writeln!(out, "full report: {path}")?;
        }
        writeln!(out, "{}", self.counts())
    }

    /// `247 migrations: 240 ok, 3 not inverse, 2 irreversible (not tested), …`.
    fn counts(&self) -> String {
        let order = [
            Verdict::Ok,
            Verdict::NotInverse,
            Verdict::DownFailed,
            Verdict::UpFailed,
            Verdict::Irreversible,
            Verdict::Stopped,
            Verdict::NotRun,
        ];
        let parts: Vec<String> = order
            .iter()
            .filter_map(|verdict| {
                let n = self
                    .migrations
                    .iter()
                    .filter(|row| row.verdict == *verdict)
                    .count();
                let label = match verdict {
                    Verdict::Irreversible => "irreversible (not tested)",
                    other => other.label(),
                };
                (n > 0).then(|| format!("{n} {label}"))
            })
            .collect();
        let verdict = if self.ok {
            "round trip ok"
        } else {
            "round trip FAILED"
        };
        format!(
            "{verdict}: {} migration(s): {}",
            self.migrations.len(),
            parts.join(", ")
        )
    }
}

fn row(step: &StepReport, scrub: &dyn Fn(&str) -> String) -> Row {
    Row {
        revision: step.revision_id.clone(),
        slug: step.slug.clone(),
        backend: step.backend,
        verdict: step.verdict,
        summary: scrub(&step.summary()),
        failures: step.failures().cloned().collect(),
        notes: step.notes().into_iter().cloned().collect(),
        rebuilt: step.rebuilt,
    }
}

/// Writes every finding and note, uncapped, to
/// `<target>/dbmigrate/test-report.txt`; `None` when there is nothing to say
/// or the file cannot be written (a warning says why).
fn write_full_report(
    project: &Project,
    report: &StairwayReport,
    scrub: &dyn Fn(&str) -> String,
) -> Option<String> {
    let mut text = String::new();
    for step in &report.steps {
        let findings = step.findings_text(None);
        if !findings.is_empty() {
            text.push_str(&format!(
                "{} {} ({}) {}\n  --> {}\n{findings}\n",
                step.revision_id,
                step.slug,
                step.backend,
                step.verdict.label(),
                step.path
            ));
        }
    }
    if text.is_empty() {
        return None;
    }
    let path = report_path(&project.root);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, scrub(&(report.table() + "\n" + &text))));
    match written {
        Ok(()) => Some(path.display().to_string()),
        Err(error) => {
            eprintln!("warning: cannot write {}: {error}", path.display());
            None
        }
    }
}

/// `$CARGO_TARGET_DIR/dbmigrate/test-report.txt`, else under `<root>/target`.
fn report_path(root: &Path) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join("target"),
    };
    target.join("dbmigrate").join("test-report.txt")
}
