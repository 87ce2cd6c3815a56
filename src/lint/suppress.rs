//! `dbmigrate:allow rule-id reason` comments: before a statement they
//! suppress that statement's violation of the rule, in the header (before the
//! up marker) every violation of the rule in the file.

/// The word that starts a suppression comment.
const ALLOW: &str = "dbmigrate:allow";

/// One suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allow {
    /// The rule id it names.
    pub rule: String,
    /// Why the violation is acceptable; `None` when the comment gives none.
    pub reason: Option<String>,
    /// 1-based line in the file.
    pub line: u32,
}

impl Allow {
    /// True when this comment suppresses `rule`.
    pub fn covers(&self, rule: &str) -> bool {
        self.rule == rule
    }
}

/// The suppression on one line (`-- dbmigrate:allow id reason`), if any.
fn parse_line(line: &str, prefix: &str, line_no: u32) -> Option<Allow> {
    let comment = line.trim().strip_prefix(prefix)?.trim_start();
    let rest = comment.strip_prefix(ALLOW)?;
    let mut words = rest.trim().splitn(2, char::is_whitespace);
    let rule = words.next().filter(|word| !word.is_empty())?.to_string();
    let reason = words
        .next()
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(str::to_string);
    Some(Allow {
        rule,
        reason,
        line: line_no,
    })
}

/// The suppressions in `text`, whose first line is file line `first_line`.
pub(crate) fn allows_in(text: &str, first_line: u32, prefix: &str) -> Vec<Allow> {
    text.split('\n')
        .enumerate()
        .filter_map(|(index, line)| parse_line(line, prefix, first_line + index as u32))
        .collect()
}

/// The file-wide suppressions: those in the header, before the `migrate:up` marker.
pub(crate) fn header_allows(file_text: &str, prefix: &str) -> Vec<Allow> {
    let header_end = file_text
        .split('\n')
        .position(|line| {
            let line = line.trim();
            line.strip_prefix(prefix)
                .is_some_and(|rest| rest.trim() == "migrate:up")
        })
        .unwrap_or(0);
    let header: Vec<&str> = file_text.split('\n').take(header_end).collect();
    allows_in(&header.join("\n"), 1, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rule_and_reason() {
        let allows = allows_in(
            "-- dbmigrate:allow ban-drop-column the app stopped reading it in v41\n-- dbmigrate:allow renaming-table\nSELECT 1;",
            7,
            "--",
        );
        assert_eq!(allows.len(), 2);
        assert_eq!(allows[0].rule, "ban-drop-column");
        assert_eq!(
            allows[0].reason.as_deref(),
            Some("the app stopped reading it in v41")
        );
        assert_eq!((allows[1].line, allows[1].reason.as_deref()), (8, None));
    }

    #[test]
    fn header_stops_at_the_up_marker() {
        let text = "// Message: x\n// dbmigrate:allow neo4j-unbatched-write tiny label\n// migrate:up\n// dbmigrate:allow x y\n";
        let allows = header_allows(text, "//");
        assert_eq!(allows.len(), 1);
        assert_eq!(allows[0].line, 2);
    }
}
