//! What the lint found: violations with their place, why and fix.

use serde::Serialize;

/// How bad a violation is. Errors fail `lint` (and the build with `lint = "deny"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; never fails anything.
    Warning,
    /// Takes a dangerous lock or breaks the running release.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule id (`require-concurrent-index-creation`, `missing-lock-timeout`, …).
    pub rule: String,
    /// `squawk` for squawk-linter's rules, `dbmigrate` for the ones dbmigrate adds.
    pub source: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The migration file, as the parser recorded it.
    pub path: String,
    /// The migration's revision id.
    pub revision_id: String,
    /// 1-based line in the file.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// The first line of the statement.
    pub statement: String,
    /// Why it is dangerous, in one sentence (with live sizes when known).
    pub why: String,
    /// The safe rewrite.
    pub fix: String,
    /// The reason of the `dbmigrate:allow` comment that suppressed it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

impl Violation {
    /// `path:line:column`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.path, self.line, self.column)
    }
}

/// Every violation of one lint run, in file order; suppressed ones included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// The revision ids that were linted, in timeline order.
    pub linted: Vec<String>,
    /// The violations, suppressed ones included (see [`Violation::suppressed`]).
    pub violations: Vec<Violation>,
}

impl LintReport {
    /// The violations no comment suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.suppressed.is_none())
    }

    /// The number of active violations of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.active().filter(|v| v.severity == severity).count()
    }
}
