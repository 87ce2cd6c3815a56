//! How `lint` prints: text for a person, JSON, or SARIF 2.1.0 for code scanning.

use std::io::Write;

use dbmigrate_core::lint::{LintReport, Severity, Violation, RULES};
use serde_json::{json, Value};

/// `--format` of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintFormat {
    /// Readable text.
    Text,
    /// The report as one JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Prints the report.
pub fn render(report: &LintReport, format: LintFormat, out: &mut dyn Write) -> anyhow::Result<()> {
    match format {
        LintFormat::Text => text(report, out)?,
        LintFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(report)?)?,
        LintFormat::Sarif => writeln!(out, "{}", serde_json::to_string_pretty(&sarif(report))?)?,
    }
    Ok(())
}

fn text(report: &LintReport, out: &mut dyn Write) -> std::io::Result<()> {
    for violation in report.active() {
        writeln!(
            out,
            "{}[{}]: {}\n  --> {}\n   | {}\n  help: {}\n",
            violation.severity.name(),
            violation.rule,
            violation.why,
            violation.location(),
            violation.statement,
            violation.fix,
        )?;
    }
    let suppressed = report.violations.len() - report.active().count();
    writeln!(
        out,
        "{} migration(s) linted: {} error(s), {} warning(s), {} suppressed",
        report.linted.len(),
        report.count(Severity::Error),
        report.count(Severity::Warning),
        suppressed,
    )
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The SARIF 2.1.0 log: one run, the rules that fired, one result per violation
/// (suppressed ones carry an `inSource` suppression with the reason).
pub fn sarif(report: &LintReport) -> Value {
    let mut rule_ids: Vec<&str> = report.violations.iter().map(|v| v.rule.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids.iter().map(|id| sarif_rule(id)).collect();
    let results: Vec<Value> = report
        .violations
        .iter()
        .map(|v| sarif_result(v, &rule_ids))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cargo-dbmigrate",
                "informationUri": "https://github.com/dbmigrate/dbmigrate/blob/main/docs/lint.md",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn sarif_rule(id: &str) -> Value {
    let own = RULES.iter().find(|rule| rule.id == id);
    let description = own.map_or_else(|| format!("squawk rule {id}"), |rule| rule.why.to_string());
    json!({
        "id": id,
        "shortDescription": { "text": description },
        "helpUri": match own {
            Some(_) => format!("https://github.com/dbmigrate/dbmigrate/blob/main/docs/lint.md#{id}"),
            None => format!("https://squawkhq.com/docs/{id}"),
        },
    })
}

fn sarif_result(violation: &Violation, rule_ids: &[&str]) -> Value {
    let mut result = json!({
        "ruleId": violation.rule,
        "ruleIndex": rule_ids.iter().position(|id| *id == violation.rule),
        "level": level(violation.severity),
        "message": { "text": format!("{} (help: {})", violation.why, violation.fix) },
        "locations": [{ "physicalLocation": {
            "artifactLocation": { "uri": violation.path.replace('\\', "/") },
            "region": {
                "startLine": violation.line,
                "startColumn": violation.column,
                "snippet": { "text": violation.statement },
            },
        }}],
    });
    if let Some(reason) = &violation.suppressed {
        result["suppressions"] = json!([{ "kind": "inSource", "justification": reason }]);
    }
    result
}

impl From<crate::OutputFormat> for LintFormat {
    fn from(format: crate::OutputFormat) -> LintFormat {
        match format {
            crate::OutputFormat::Text => LintFormat::Text,
            crate::OutputFormat::Json => LintFormat::Json,
        }
    }
}
