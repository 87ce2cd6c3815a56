//! From another tool's history to a position on the imported timeline: every
//! applied version must have an imported file, a clean record and (where the
//! tool keeps one) the same checksum, and the applied versions must be a
//! prefix of the timeline. Pure, so every refusal is unit tested.

use super::convert::MARKER;
use super::source::Tool;
use super::tool_history::{table, ToolHistory, ToolRecord};

/// An imported migration, read back from its marker comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Its revision id.
    pub revision_id: String,
    /// Its file, for messages.
    pub path: String,
    /// The source version.
    pub version: String,
    /// The source tool's checksum of it, when import computed one.
    pub checksum: Option<String>,
}

/// The marker of a file imported from `tool`, if the text has one.
pub fn read_marker(tool: Tool, revision_id: &str, path: &str, text: &str) -> Option<Imported> {
    let line = text.lines().find(|line| line.contains(MARKER))?;
    let fields = line.split_once(MARKER)?.1;
    let field = |name: &str| {
        fields
            .split_whitespace()
            .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    };
    (field("tool")? == tool.name()).then(|| Imported {
        revision_id: revision_id.to_string(),
        path: path.to_string(),
        version: field("version").unwrap_or_default(),
        checksum: field("checksum"),
    })
}

/// The index in `imported` of the last applied migration (`None`: nothing
/// applied), or every reason to refuse.
pub fn position(
    tool: Tool,
    imported: &[Imported],
    history: &ToolHistory,
) -> Result<Option<usize>, Vec<String>> {
    match history {
        ToolHistory::Head(records) => head_position(tool, imported, records),
        ToolHistory::Applied(records) => applied_position(tool, imported, records),
    }
}

fn head_position(
    tool: Tool,
    imported: &[Imported],
    records: &[ToolRecord],
) -> Result<Option<usize>, Vec<String>> {
    let record = match records {
        [] => return Ok(None),
        [record] => record,
        _ => return Err(vec![format!("`{}` holds {} heads ({})\n  help: merge the branches with {} and upgrade to the merge first, then adopt", table(tool), records.len(), records.iter().map(|r| r.version.as_str()).collect::<Vec<_>>().join(", "), tool.name())]),
    };
    if !record.ok {
        return Err(vec![format!("`{}` says version {} is dirty: its last run failed half-way\n  help: check what the migration did, fix the database by hand, then `migrate force <version>` to the version it really is at, and adopt again", table(tool), record.version)]);
    }
    find(tool, imported, &record.version)
        .map(Some)
        .map_err(|e| vec![e])
}

fn applied_position(
    tool: Tool,
    imported: &[Imported],
    records: &[ToolRecord],
) -> Result<Option<usize>, Vec<String>> {
    let mut problems = Vec::new();
    let mut applied = Vec::new();
    for record in records {
        if let Some(kind) = record
            .kind
            .as_deref()
            .filter(|k| !matches!(*k, "SQL" | "JDBC" | "CYPHER"))
        {
            problems.push(format!("`{}` has a {kind} record for version {}\n  help: adopt reads plain versioned records only; repair the history with {} first", table(tool), record.version, tool.name()));
            continue;
        }
        if !record.ok {
            problems.push(format!("`{}` records version {} as failed\n  help: check what it did, fix the database by hand and remove the failed record with {} (`flyway repair`, or delete the row for sqlx), then adopt again", table(tool), record.version, tool.name()));
            continue;
        }
        let index = match find(tool, imported, &record.version) {
            Ok(index) => index,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let file = &imported[index];
        if let (Some(recorded), Some(ours)) = (
            normalise(record.checksum.as_deref()),
            normalise(file.checksum.as_deref()),
        ) {
            if recorded != ours {
                problems.push(format!("{}: version {} was changed after {} applied it (recorded checksum {recorded}, the imported file's source {ours})\n  help: restore the source file as it was applied (see `git log -p`), import again, then adopt", file.path, record.version, tool.name()));
            }
        }
        applied.push(index);
    }
    let last = applied.iter().copied().max();
    if let Some(last) = last {
        for (index, file) in imported.iter().enumerate().take(last) {
            if !applied.contains(&index) {
                problems.push(format!("{}: version {} is not applied but the later version {} is (a gap)\n  help: apply it with {} (or by hand) first, then adopt", file.path, file.version, imported[last].version, tool.name()));
            }
        }
    }
    if problems.is_empty() {
        Ok(last)
    } else {
        Err(problems)
    }
}

fn find(tool: Tool, imported: &[Imported], version: &str) -> Result<usize, String> {
    imported.iter().position(|file| same_version(&file.version, version)).ok_or_else(|| {
        format!("version {version} is applied (in `{}`) but no imported file has it\n  help: import the folder that holds version {version} (restore it from version control), then adopt", table(tool))
    })
}

/// Versions compare as written, or as numbers (`000001` is golang-migrate's `1`).
fn same_version(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<u128>(), b.parse::<u128>()), (Ok(x), Ok(y)) if x == y)
}

fn normalise(checksum: Option<&str>) -> Option<String> {
    checksum
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(versions: &[(&str, Option<&str>)]) -> Vec<Imported> {
        versions
            .iter()
            .enumerate()
            .map(|(i, (version, checksum))| Imported {
                revision_id: format!("20000101_000{i}_0000000{i}"),
                path: format!("migrations/m{i}.sql"),
                version: version.to_string(),
                checksum: checksum.map(str::to_string),
            })
            .collect()
    }

    fn record(version: &str, ok: bool, checksum: Option<&str>) -> ToolRecord {
        ToolRecord {
            version: version.into(),
            ok,
            checksum: checksum.map(str::to_string),
            kind: None,
        }
    }

    fn refused(tool: Tool, imported: &[Imported], history: ToolHistory) -> String {
        position(tool, imported, &history)
            .expect_err("refused")
            .join("\n")
    }

    #[test]
    fn markers_round_trip() {
        let text = "-- Message: x\n-- dbmigrate-import tool=sqlx version=20240101 checksum=abc\n-- migrate:up\nSELECT 1;\n";
        let found = read_marker(Tool::Sqlx, "r", "p", text).expect("marker");
        assert_eq!(
            (found.version.as_str(), found.checksum.as_deref()),
            ("20240101", Some("abc"))
        );
        assert_eq!(
            read_marker(Tool::Flyway, "r", "p", text),
            None,
            "another tool's import"
        );
    }

    #[test]
    fn applied_prefix_maps_to_its_last_version() {
        let imported = files(&[("1", Some("aa")), ("2", Some("bb")), ("3", None)]);
        let history = ToolHistory::Applied(vec![
            record("1", true, Some("AA")),
            record("2", true, Some("bb")),
        ]);
        assert_eq!(position(Tool::Sqlx, &imported, &history), Ok(Some(1)));
        assert_eq!(
            position(Tool::Sqlx, &imported, &ToolHistory::Applied(vec![])),
            Ok(None)
        );
        let head = ToolHistory::Head(vec![record("000003", true, None)]);
        assert_eq!(
            position(Tool::GolangMigrate, &imported, &head),
            Ok(Some(2)),
            "000003 is version 3"
        );
    }

    #[test]
    fn edited_failed_unknown_and_gap_are_refused() {
        let imported = files(&[("1", Some("aa")), ("2", Some("bb")), ("3", Some("cc"))]);
        let edited = refused(
            Tool::Sqlx,
            &imported,
            ToolHistory::Applied(vec![record("1", true, Some("ff"))]),
        );
        assert!(edited.contains("migrations/m0.sql: version 1 was changed after sqlx applied it (recorded checksum ff, the imported file's source aa)"), "{edited}");
        let failed = refused(
            Tool::Sqlx,
            &imported,
            ToolHistory::Applied(vec![record("1", false, Some("aa"))]),
        );
        assert!(
            failed.contains("`_sqlx_migrations` records version 1 as failed"),
            "{failed}"
        );
        let unknown = refused(
            Tool::Sqlx,
            &imported,
            ToolHistory::Applied(vec![record("9", true, None)]),
        );
        assert!(
            unknown.contains(
                "version 9 is applied (in `_sqlx_migrations`) but no imported file has it"
            ),
            "{unknown}"
        );
        let gap = refused(
            Tool::Sqlx,
            &imported,
            ToolHistory::Applied(vec![record("1", true, None), record("3", true, None)]),
        );
        assert!(
            gap.contains(
                "migrations/m1.sql: version 2 is not applied but the later version 3 is (a gap)"
            ),
            "{gap}"
        );
        let dirty = refused(
            Tool::GolangMigrate,
            &imported,
            ToolHistory::Head(vec![record("2", false, None)]),
        );
        assert!(
            dirty.contains("`schema_migrations` says version 2 is dirty"),
            "{dirty}"
        );
        let heads = refused(
            Tool::Alembic,
            &imported,
            ToolHistory::Head(vec![record("1", true, None), record("2", true, None)]),
        );
        assert!(heads.contains("`alembic_version` holds 2 heads"), "{heads}");
        let mut undo = record("1", true, None);
        undo.kind = Some("UNDO_SQL".into());
        let undo = refused(Tool::Flyway, &imported, ToolHistory::Applied(vec![undo]));
        assert!(
            undo.contains("has a UNDO_SQL record for version 1"),
            "{undo}"
        );
    }
}
