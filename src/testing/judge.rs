//! Judging a round trip the way a careful reviewer would: two snapshots are
//! compared object by object; a difference the user can fix fails, and what
//! PostgreSQL cannot restore is a named [`Tolerance`], reported as a note.

use std::time::SystemTime;

use similar::TextDiff;

use super::snapshot::{SchemaObject, SchemaSnapshot};
use super::{body_whitespace, time_literal, view_order};

/// A difference the harness tolerates by default, always named in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tolerance {
    /// A column re-added by a down/up pair comes back last: PostgreSQL cannot
    /// put it back in place. Fails under [`Policy::strict`].
    ColumnPosition,
    /// A `'now'`/`'today'` literal frozen into a definition at creation holds
    /// the time of this run; every re-creation differs.
    FrozenTime,
    /// A PL/pgSQL or SQL function body re-created with other whitespace
    /// (indentation, line breaks) outside its literals: the same function.
    BodyWhitespace,
}

impl Tolerance {
    /// The name printed in notes and documented in the README.
    pub fn name(self) -> &'static str {
        match self {
            Tolerance::ColumnPosition => "column-position",
            Tolerance::FrozenTime => "frozen-time",
            Tolerance::BodyWhitespace => "body-whitespace",
        }
    }
}

/// How strictly to judge.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Column position changes fail instead of being noted.
    pub strict: bool,
    /// When the run started: time literals from then on are "frozen now".
    pub started: SystemTime,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            strict: false,
            started: SystemTime::now(),
        }
    }
}

/// One object that differs between the expected and the actual snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// `view public.member_alias`.
    pub object: String,
    /// One line: `columns + inbox, + shared_inbox`, `body differs`, `left behind`.
    pub summary: String,
    /// A compact unified diff of the definition, when it spans lines.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Set when the difference is tolerated (a note, not a failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Tolerance>,
}

impl Finding {
    /// `view public.x: columns + a, + b` (plus ` [column-position]` for a note).
    pub fn line(&self) -> String {
        match self.tolerance {
            Some(tolerance) => format!("{}: {} [{}]", self.object, self.summary, tolerance.name()),
            None => format!("{}: {}", self.object, self.summary),
        }
    }
}

/// Every difference between two snapshots, failures and notes apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectDiff {
    /// Differences the user should fix.
    pub failures: Vec<Finding>,
    /// Differences tolerated by name.
    pub notes: Vec<Finding>,
}

impl ObjectDiff {
    /// Whether the snapshots count as equal (notes allowed).
    pub fn passes(&self) -> bool {
        self.failures.is_empty()
    }

    fn push(&mut self, finding: Finding, strict: bool) {
        match finding.tolerance {
            Some(Tolerance::ColumnPosition) if strict => self.failures.push(Finding {
                tolerance: None,
                ..finding
            }),
            Some(_) => self.notes.push(finding),
            None => self.failures.push(finding),
        }
    }
}

/// Compares `expected` with `actual` object by object. Equal fingerprints
/// short-cut to an empty diff.
pub fn judge(expected: &SchemaSnapshot, actual: &SchemaSnapshot, policy: &Policy) -> ObjectDiff {
    let mut diff = ObjectDiff::default();
    if expected.fingerprint() == actual.fingerprint() {
        return diff;
    }
    let (old, new) = (expected.objects(), actual.objects());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a.key() == b.key() => {
                diff.extend(compare_object(a, b, policy), policy.strict);
                i += 1;
                j += 1;
            }
            (Some(a), b) if b.is_none_or(|b| a.key() < b.key()) => {
                diff.push(absent(a, "missing"), policy.strict);
                i += 1;
            }
            (_, Some(b)) => {
                diff.push(absent(b, "left behind"), policy.strict);
                j += 1;
            }
            (_, None) => break,
        }
    }
    diff
}

impl ObjectDiff {
    fn extend(&mut self, findings: Vec<Finding>, strict: bool) {
        for finding in findings {
            self.push(finding, strict);
        }
    }
}

fn absent(object: &SchemaObject, summary: &str) -> Finding {
    Finding {
        object: object.label(),
        summary: summary.to_string(),
        detail: String::new(),
        tolerance: None,
    }
}

/// The findings of one object present on both sides.
fn compare_object(old: &SchemaObject, new: &SchemaObject, policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding = |summary: String, detail: String, tolerance| Finding {
        object: old.label(),
        summary,
        detail,
        tolerance,
    };
    if let (Some(from), Some(to)) = (old.position, new.position) {
        if from != to {
            let summary = format!("position {from} → {to}");
            findings.push(finding(
                summary,
                String::new(),
                Some(Tolerance::ColumnPosition),
            ));
        }
    }
    if old.columns != new.columns && reordered_view(old, new, policy) {
        // Its `SELECT *` follows a table column that came back last.
        let summary = columns_summary(&old.columns, &new.columns);
        findings.push(finding(
            summary,
            String::new(),
            Some(Tolerance::ColumnPosition),
        ));
        return findings;
    }
    if old.columns != new.columns {
        findings.push(finding(
            columns_summary(&old.columns, &new.columns),
            String::new(),
            None,
        ));
    }
    if old.definition != new.definition {
        let (masked_old, masked_new) = (
            time_literal::mask(&old.definition, policy.started),
            time_literal::mask(&new.definition, policy.started),
        );
        if masked_old == masked_new {
            let summary = "a time literal frozen at creation differs (masked)".to_string();
            findings.push(finding(summary, String::new(), Some(Tolerance::FrozenTime)));
        } else if body_whitespace::same_but_whitespace(&masked_old, &masked_new) {
            let summary = "body differs in whitespace only, outside its literals".to_string();
            findings.push(finding(
                summary,
                String::new(),
                Some(Tolerance::BodyWhitespace),
            ));
        } else if old.columns == new.columns || !old.definition.contains('\n') {
            let (summary, detail) = definition_change(&masked_old, &masked_new);
            findings.push(finding(summary, detail, None));
        } else {
            // The columns finding names the change; the body diff shows it.
            if let Some(last) = findings.last_mut() {
                last.detail = definition_change(&masked_old, &masked_new).1;
            }
        }
    }
    findings
}

/// Whether a view (or materialised view) lists the same columns in another
/// order and its body only reorders its select list (see `view_order`).
fn reordered_view(old: &SchemaObject, new: &SchemaObject, policy: &Policy) -> bool {
    let mut columns = (old.columns.clone(), new.columns.clone());
    columns.0.sort_unstable();
    columns.1.sort_unstable();
    matches!(old.kind.as_str(), "view" | "materialized view")
        && columns.0 == columns.1
        && view_order::only_reordered(
            &time_literal::mask(&old.definition, policy.started),
            &time_literal::mask(&new.definition, policy.started),
        )
}

/// `columns + a, + b, - c` in the order of the actual (then expected) list.
fn columns_summary(old: &[String], new: &[String]) -> String {
    let added = new
        .iter()
        .filter(|c| !old.contains(c))
        .map(|c| format!("+ {c}"));
    let removed = old
        .iter()
        .filter(|c| !new.contains(c))
        .map(|c| format!("- {c}"));
    let changes: Vec<String> = added.chain(removed).collect();
    if changes.is_empty() {
        format!("column order {} → {}", old.join(", "), new.join(", "))
    } else {
        format!("columns {}", changes.join(", "))
    }
}

/// A one-line summary, and for a multi-line definition a unified diff.
fn definition_change(old: &str, new: &str) -> (String, String) {
    if !old.contains('\n') && !new.contains('\n') {
        return (changed_words(old, new), String::new());
    }
    let (old, new) = (with_newline(old), with_newline(new));
    let diff = TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(1)
        .header("expected", "actual")
        .to_string();
    ("body differs".to_string(), diff)
}

fn with_newline(text: &str) -> String {
    match text.ends_with('\n') {
        true => text.to_string(),
        false => format!("{text}\n"),
    }
}

/// Both sides of a one-line definition this short are shown whole.
const WHOLE_UP_TO: usize = 40;

/// What changed in a one-line definition. Short ones whole (`text →
/// character varying(100)`); else the changed words: `- default now()` or
/// `+ not null` when words are only missing or only added (as in the
/// columns summary: `+` is in the actual schema only), `increment 5 →
/// increment 1` (with the word before) when replaced; empty shows as
/// `(none)`.
fn changed_words(old: &str, new: &str) -> String {
    let show = |text: &str| match text.trim() {
        "" => "(none)".to_string(),
        text => text.to_string(),
    };
    let whole = format!("{} → {}", show(old), show(new));
    if old.chars().count() <= WHOLE_UP_TO && new.chars().count() <= WHOLE_UP_TO {
        return whole;
    }
    let diff = TextDiff::from_words(old, new);
    // (word before, missing words, added words) per run of changes.
    let mut groups: Vec<(String, String, String)> = Vec::new();
    let (mut context, mut open) = (String::new(), false);
    for change in diff.iter_all_changes() {
        let value = change.value();
        match change.tag() {
            // A space between changed words keeps their run open.
            similar::ChangeTag::Equal if open && value.trim().is_empty() => {
                let group = groups.last_mut().expect("a run is open");
                group.1.push_str(value);
                group.2.push_str(value);
            }
            similar::ChangeTag::Equal => {
                open = false;
                if !value.trim().is_empty() {
                    context = value.to_string();
                }
            }
            tag => {
                if !open {
                    groups.push((context.clone(), String::new(), String::new()));
                    open = true;
                }
                let group = groups.last_mut().expect("a group was just opened");
                match tag {
                    similar::ChangeTag::Delete => group.1.push_str(value),
                    _ => group.2.push_str(value),
                }
            }
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(
            |(context, missing, added)| match (missing.trim(), added.trim()) {
                (missing, "") => format!("- {missing}"),
                ("", added) => format!("+ {added}"),
                (missing, added) => format!("{context} {missing} → {context} {added}"),
            },
        )
        .collect();
    if parts.is_empty() || parts.len() > 3 {
        return whole;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, position: i64, definition: &str) -> SchemaObject {
        let mut object = SchemaObject::new("column", name, definition);
        object.position = Some(position);
        object
    }

    fn view(columns: &[&str], body: &str) -> SchemaObject {
        let mut object = SchemaObject::new("view", "public.v", body);
        object.columns = columns.iter().map(|c| c.to_string()).collect();
        object
    }

    fn check(old: Vec<SchemaObject>, new: Vec<SchemaObject>, strict: bool) -> ObjectDiff {
        let policy = Policy {
            strict,
            ..Policy::default()
        };
        judge(
            &SchemaSnapshot::new(old),
            &SchemaSnapshot::new(new),
            &policy,
        )
    }

    #[test]
    fn a_moved_column_is_a_note_and_fails_when_strict() {
        let old = vec![column("public.t.c", 3, "text")];
        let new = vec![column("public.t.c", 25, "text")];
        let diff = check(old.clone(), new.clone(), false);
        assert!(diff.passes());
        assert_eq!(
            diff.notes[0].line(),
            "column public.t.c: position 3 → 25 [column-position]"
        );
        let strict = check(old, new, true);
        assert_eq!(
            strict.failures[0].line(),
            "column public.t.c: position 3 → 25"
        );
    }

    #[test]
    fn a_changed_column_type_fails_even_when_it_also_moved() {
        let diff = check(
            vec![column("public.t.c", 3, "text")],
            vec![column("public.t.c", 25, "integer")],
            false,
        );
        assert_eq!(diff.failures[0].line(), "column public.t.c: text → integer");
        assert_eq!(diff.notes.len(), 1);
    }

    #[test]
    fn a_view_that_gained_columns_names_them_and_shows_its_body() {
        let diff = check(
            vec![view(&["a"], " SELECT t.a\n   FROM t;")],
            vec![view(
                &["a", "inbox", "shared"],
                " SELECT t.a,\n    t.inbox,\n    t.shared\n   FROM t;",
            )],
            false,
        );
        assert_eq!(diff.failures.len(), 1);
        assert_eq!(
            diff.failures[0].line(),
            "view public.v: columns + inbox, + shared"
        );
        assert!(
            diff.failures[0].detail.contains("+    t.inbox,"),
            "{}",
            diff.failures[0].detail
        );
    }

    #[test]
    fn a_view_whose_star_follows_a_moved_column_is_a_column_position_note() {
        let before = view(
            &["id", "parent_id", "content"],
            " SELECT t.id,\n    t.parent_id,\n    t.content\n   FROM t;",
        );
        let after = view(
            &["id", "content", "parent_id"],
            " SELECT t.id,\n    t.content,\n    t.parent_id\n   FROM t;",
        );
        let diff = check(vec![before.clone()], vec![after.clone()], false);
        assert!(diff.failures.is_empty(), "{:?}", diff.failures);
        assert_eq!(
            diff.notes[0].line(),
            "view public.v: column order id, parent_id, content → id, content, parent_id [column-position]"
        );
        let diff = check(vec![before.clone()], vec![after.clone()], true);
        assert_eq!(diff.failures.len(), 1, "strict makes it fail");
        // Reordered and an item changed: a failure, with the body diff.
        let mut changed = after;
        changed.definition = changed
            .definition
            .replace("t.content,", "upper(t.content) AS content,");
        let diff = check(vec![before], vec![changed], false);
        assert!(diff.notes.is_empty());
        assert_eq!(diff.failures.len(), 1);
        assert!(
            diff.failures[0].detail.contains("upper(t.content)"),
            "{}",
            diff.failures[0].detail
        );
    }

    #[test]
    fn a_one_line_change_names_only_the_changed_words() {
        let sequence = |increment: u32| {
            format!("bigint start 1 increment {increment} min 1 max 9223372036854775807 cache 1")
        };
        assert_eq!(
            changed_words(&sequence(5), &sequence(1)),
            "increment 5 → increment 1"
        );
        // Words only missing or only added (crates.io's history): not cut
        // mid-type as `zone → zone  not null` was.
        assert_eq!(
            changed_words(
                "timestamp without time zone not null default now()",
                "timestamp without time zone not null"
            ),
            "- default now()"
        );
        assert_eq!(
            changed_words(
                "timestamp with time zone",
                "timestamp with time zone not null"
            ),
            "timestamp with time zone → timestamp with time zone not null"
        );
        assert_eq!(
            changed_words(
                "character varying default '0.0.0'::character varying",
                "character varying not null"
            ),
            "varying default '0.0.0'::character varying → varying not null"
        );
        // Short definitions whole: a reordered key reads plainly.
        assert_eq!(
            changed_words("UNIQUE (owner_id, crate_id)", "UNIQUE (crate_id, owner_id)"),
            "UNIQUE (owner_id, crate_id) → UNIQUE (crate_id, owner_id)"
        );
        assert_eq!(
            changed_words("", "row level security"),
            "(none) → row level security"
        );
        assert_eq!(
            changed_words("text", "character varying(100)"),
            "text → character varying(100)"
        );
    }

    #[test]
    fn left_behind_and_missing_objects_are_named() {
        let index = SchemaObject::new("index", "public.i", "CREATE INDEX i ON t (a)");
        let table = SchemaObject::new("table", "public.t", "");
        let diff = check(
            vec![table.clone()],
            vec![table.clone(), index.clone()],
            false,
        );
        assert_eq!(diff.failures[0].line(), "index public.i: left behind");
        let diff = check(vec![table, index], vec![], false);
        assert_eq!(diff.failures[0].line(), "table public.t: missing");
        assert_eq!(diff.failures[1].line(), "index public.i: missing");
    }

    #[test]
    fn a_function_body_change_is_a_compact_unified_diff() {
        let old = SchemaObject::new("function", "public.f()", "BEGIN\n  RETURN 1;\nEND\n");
        let new = SchemaObject::new("function", "public.f()", "BEGIN\n  RETURN 2;\nEND\n");
        let diff = check(vec![old], vec![new], false);
        assert_eq!(diff.failures[0].line(), "function public.f(): body differs");
        assert_eq!(
            diff.failures[0].detail,
            "--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n BEGIN\n-  RETURN 1;\n+  RETURN 2;\n END\n"
        );
    }
}
