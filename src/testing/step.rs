//! What one migration's round trip found: its verdict, the object-level
//! differences and notes, and how to render them short (a terminal) or in
//! full (the report file).

use std::time::Duration;

use crate::migration::{BackendKind, Migration};

use super::judge::{Finding, ObjectDiff};
use super::snapshot::SchemaSnapshot;

/// Lines of detail (a body diff) shown per object on a terminal.
pub const DETAIL_LINES: usize = 8;

/// How a migration's round trip ended. More verdicts may come (`stopped`
/// did): a `match` outside this crate needs a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// Up, down and up again restored the same schemas (notes allowed).
    Ok,
    /// The down section is not the inverse of the up section.
    NotInverse,
    /// Declared irreversible: upgraded, not downgraded, so not tested.
    Irreversible,
    /// The down section failed with an error.
    DownFailed,
    /// The up section failed with an error; later steps could not run.
    UpFailed,
    /// Stopped on an error of the harness or the database outside the
    /// step's own sections (a snapshot, a fixture, a rebuild): the run
    /// ended there, so the step was not judged.
    Stopped,
    /// Not run: an earlier step stopped the stairway.
    NotRun,
}

impl Verdict {
    /// `ok`, `not inverse`, `irreversible`, `down failed`, `up failed`,
    /// `stopped`, `not run`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::NotInverse => "not inverse",
            Verdict::Irreversible => "irreversible",
            Verdict::DownFailed => "down failed",
            Verdict::UpFailed => "up failed",
            Verdict::Stopped => "stopped",
            Verdict::NotRun => "not run",
        }
    }

    /// Whether this verdict fails the run.
    pub fn failed(self) -> bool {
        matches!(
            self,
            Verdict::NotInverse | Verdict::DownFailed | Verdict::UpFailed | Verdict::Stopped
        )
    }
}

/// What one migration's round trip saw.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Revision id.
    pub revision_id: String,
    /// Slug.
    pub slug: String,
    /// Message.
    pub message: String,
    /// The migration's file.
    pub path: String,
    /// The backend it touches.
    pub backend: BackendKind,
    /// How it ended.
    pub verdict: Verdict,
    /// Schema before the upgrade.
    pub before: SchemaSnapshot,
    /// Schema after the upgrade.
    pub after: SchemaSnapshot,
    /// After the downgrade against before the upgrade.
    pub downgrade: ObjectDiff,
    /// After upgrading again against after the first upgrade.
    pub reupgrade: ObjectDiff,
    /// The error of a failed up or down section (secrets are the caller's to scrub).
    pub error: Option<String>,
    /// The scratch database was rebuilt from base after this step.
    pub rebuilt: bool,
    /// Time of the first upgrade's statements.
    pub up: Duration,
    /// Time of the downgrade's statements; `None` when it did not run.
    pub down: Option<Duration>,
    /// Time of the second upgrade's statements.
    pub reup: Option<Duration>,
    /// Wall time of the whole step, snapshots and fixtures included.
    pub elapsed: Duration,
}

impl StepReport {
    pub(crate) fn new(migration: &Migration, verdict: Verdict) -> StepReport {
        StepReport {
            revision_id: migration.revision_id.clone(),
            slug: migration.slug.clone(),
            message: migration.message.clone(),
            path: migration.path.clone(),
            backend: migration.backend,
            verdict,
            before: SchemaSnapshot::new(Vec::new()),
            after: SchemaSnapshot::new(Vec::new()),
            downgrade: ObjectDiff::default(),
            reupgrade: ObjectDiff::default(),
            error: None,
            rebuilt: false,
            up: Duration::ZERO,
            down: None,
            reup: None,
            elapsed: Duration::ZERO,
        }
    }

    /// Makes the verdict agree with the findings: a step whose comparisons
    /// found a failure (an object left behind or missing, a definition that
    /// changed) is never `ok`, whatever path ended it; it is `not inverse`.
    pub(crate) fn settle(&mut self) {
        if self.verdict == Verdict::Ok && self.failures().next().is_some() {
            self.verdict = Verdict::NotInverse;
        }
    }

    /// The insta snapshot name: `<revision_id>_<slug>`.
    pub fn snapshot_name(&self) -> String {
        format!("{}_{}", self.revision_id, self.slug)
    }

    /// Failures of both comparisons, downgrade first.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.downgrade
            .failures
            .iter()
            .chain(&self.reupgrade.failures)
    }

    /// Tolerated differences of both comparisons, each once.
    pub fn notes(&self) -> Vec<&Finding> {
        let mut notes: Vec<&Finding> = Vec::new();
        for note in self.downgrade.notes.iter().chain(&self.reupgrade.notes) {
            if !notes.iter().any(|seen| seen.line() == note.line()) {
                notes.push(note);
            }
        }
        notes
    }

    /// One line for a table: the first failing object, or the error.
    pub fn summary(&self) -> String {
        let failures: Vec<String> = self.failures().map(Finding::line).collect();
        let error = self.error.as_deref().and_then(|error| error.lines().next());
        match (failures.len(), error) {
            (0, Some(error)) => error.to_string(),
            (0, None) => String::new(),
            (1, _) => failures[0].clone(),
            (n, _) => format!("{} (+{} more)", failures[0], n - 1),
        }
    }

    /// What went wrong (or was noted), each object on a line followed by at
    /// most `detail_lines` lines of its diff; `None` shows every line.
    pub fn findings_text(&self, detail_lines: Option<usize>) -> String {
        let mut out = String::new();
        if let Some(error) = &self.error {
            out.push_str(&format!("  error: {error}\n"));
        }
        let sections = [
            ("after down, against before up", &self.downgrade.failures),
            (
                "after up again, against the first up",
                &self.reupgrade.failures,
            ),
        ];
        for (title, findings) in sections {
            if findings.is_empty() {
                continue;
            }
            out.push_str(&format!("  {title}:\n"));
            for finding in findings {
                push_finding(&mut out, finding, detail_lines);
            }
        }
        for note in self.notes() {
            out.push_str(&format!("  note: {}\n", note.line()));
        }
        out
    }

    /// The reviewed text: which migration, what changed, and the whole schema
    /// after it. Holds no durations, ids or other unstable values.
    pub fn snapshot_text(&self) -> String {
        let change = self.change_text();
        let after = if self.after.is_empty() {
            "(empty)\n".to_string()
        } else {
            self.after.render()
        };
        let reversible = if self.verdict == Verdict::Irreversible {
            " (irreversible: not downgraded)"
        } else {
            ""
        };
        format!(
            "migration: {} {}{reversible}\nbackend: {}\nmessage: {}\n\n## change\n{change}\n## schema after upgrade\n{after}",
            self.revision_id, self.slug, self.backend, self.message
        )
    }

    /// The objects the upgrade added (`+`), removed (`-`) or changed (`~`).
    fn change_text(&self) -> String {
        let diff = super::judge::judge(&self.before, &self.after, &super::judge::Policy::default());
        let mut out = String::new();
        for finding in diff.failures.iter().chain(&diff.notes) {
            let line = match finding.summary.as_str() {
                "left behind" => format!("+ {}\n", finding.object),
                "missing" => format!("- {}\n", finding.object),
                _ => format!("~ {}\n", finding.line()),
            };
            out.push_str(&line);
            for detail in finding.detail.lines().skip(2) {
                out.push_str(&format!("    {detail}\n"));
            }
        }
        if out.is_empty() {
            out.push_str("(no schema change)\n");
        }
        out
    }
}

fn push_finding(out: &mut String, finding: &Finding, detail_lines: Option<usize>) {
    out.push_str(&format!("    {}\n", finding.line()));
    let lines: Vec<&str> = finding.detail.lines().collect();
    let shown = detail_lines.unwrap_or(lines.len()).min(lines.len());
    for line in &lines[..shown] {
        out.push_str(&format!("      {line}\n"));
    }
    if shown < lines.len() {
        out.push_str(&format!(
            "      … {} more line(s) in the report file\n",
            lines.len() - shown
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::judge::{judge, Policy};
    use crate::testing::{SchemaObject, StairwayReport};

    #[test]
    fn a_step_that_leaves_objects_behind_is_never_ok() {
        let text = "-- Message: leaky\n\n-- migrate:up\nSELECT 1;\n\n-- migrate:down\nSELECT 1;\n";
        let migration =
            crate::parse::parse_migration("20240101_0900_aa0001_leaky.sql", text).unwrap();
        let mut step = StepReport::new(&migration, Verdict::Ok);
        let index = SchemaObject::new("index", "public.i", "CREATE INDEX i ON public.t (a)");
        step.downgrade = judge(
            &SchemaSnapshot::new(Vec::new()),
            &SchemaSnapshot::new(vec![index]),
            &Policy::default(),
        );
        step.settle();
        assert_eq!(step.verdict, Verdict::NotInverse);
        let report = StairwayReport {
            steps: vec![step],
            ..StairwayReport::default()
        };
        assert!(!report.passed());
        assert!(
            report.table().starts_with(
                "not inverse  20240101_0900_aa0001 leaky (postgres): index public.i: left behind"
            ),
            "{}",
            report.table()
        );
    }
}
