//! Line diffs between two schema snapshots, rendered so a reviewer sees what
//! a downgrade left behind (`+`) or removed too much (`-`).

use std::fmt;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// In both snapshots.
    Same(String),
    /// Only in the expected (earlier) snapshot: missing now.
    Missing(String),
    /// Only in the actual (later) snapshot: left behind.
    Extra(String),
}

/// The difference between an expected and an actual snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDiff {
    /// Every line, in order; [`SnapshotDiff::changes`] keeps only the changed ones.
    pub lines: Vec<DiffLine>,
}

impl SnapshotDiff {
    /// Whether the two snapshots are equal.
    pub fn is_empty(&self) -> bool {
        self.lines
            .iter()
            .all(|line| matches!(line, DiffLine::Same(_)))
    }

    /// Lines present in the actual snapshot only.
    pub fn extra(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|line| match line {
            DiffLine::Extra(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// Lines present in the expected snapshot only.
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|line| match line {
            DiffLine::Missing(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// The changed lines only, `-`/`+` prefixed, in snapshot order.
    pub fn changes(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                DiffLine::Same(_) => continue,
                DiffLine::Missing(text) => out.push_str(&format!("- {text}\n")),
                DiffLine::Extra(text) => out.push_str(&format!("+ {text}\n")),
            }
        }
        out
    }
}

impl fmt::Display for SnapshotDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.changes())
    }
}

/// Diffs `expected` against `actual` line by line (longest common subsequence).
/// Snapshots are a few hundred lines, so the quadratic table is cheap.
pub fn diff_lines(expected: &str, actual: &str) -> SnapshotDiff {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    let table = lcs_table(&old, &new);
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::with_capacity(old.len().max(new.len()));
    while i < old.len() && j < new.len() {
        if old[i] == new[j] {
            lines.push(DiffLine::Same(old[i].to_string()));
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            lines.push(DiffLine::Missing(old[i].to_string()));
            i += 1;
        } else {
            lines.push(DiffLine::Extra(new[j].to_string()));
            j += 1;
        }
    }
    lines.extend(
        old[i..]
            .iter()
            .map(|text| DiffLine::Missing(text.to_string())),
    );
    lines.extend(
        new[j..]
            .iter()
            .map(|text| DiffLine::Extra(text.to_string())),
    );
    SnapshotDiff { lines }
}

/// `table[i][j]` = length of the longest common subsequence of `old[i..]` and `new[j..]`.
fn lcs_table(old: &[&str], new: &[&str]) -> Vec<Vec<u32>> {
    let mut table = vec![vec![0u32; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            table[i][j] = if old[i] == new[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_snapshots_have_no_changes() {
        let diff = diff_lines("a\nb\n", "a\nb\n");
        assert!(diff.is_empty());
        assert_eq!(diff.changes(), "");
    }

    #[test]
    fn a_leftover_line_is_marked_extra() {
        let diff = diff_lines("table a\ntable c\n", "table a\nindex b\ntable c\n");
        assert_eq!(diff.changes(), "+ index b\n");
        assert_eq!(diff.extra().collect::<Vec<_>>(), ["index b"]);
        assert_eq!(diff.missing().count(), 0);
    }

    #[test]
    fn a_changed_line_is_missing_then_extra() {
        let diff = diff_lines("x\ncolumn t.a: text\ny\n", "x\ncolumn t.a: integer\ny\n");
        assert_eq!(
            diff.changes(),
            "- column t.a: text\n+ column t.a: integer\n"
        );
    }
}
