//! A source project into dbmigrate files: names, the `Revises:` chain in the
//! tool's order, headers, and the tool's statements byte for byte inside the
//! sections. Everything here is a pure function of the source files, so an
//! import run twice writes the same bytes (and the same checksums).

use dbmigrate_core::BackendKind;

use crate::scaffold::{slug, UtcTime};

use super::source::{Problem, SourceMigration, SourceProject, Tool};

/// The first line of the marker comment that ties an imported file to its
/// source version; `adopt` reads it back.
pub const MARKER: &str = "dbmigrate-import";

/// Where a timeline without timestamps starts: 2000-01-01 00:00 UTC.
const SYNTHETIC_START: i64 = 946_684_800;

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    /// The source migration.
    pub source: SourceMigration,
    /// `20240101_1200_1a2b3c4d_create_users.sql`.
    pub file_name: String,
    /// `20240101_1200_1a2b3c4d`.
    pub revision_id: String,
    /// The file's text.
    pub text: String,
    /// What changed on the way, in words (for the table).
    pub conversions: Vec<String>,
}

/// Converts every migration, or returns every problem found.
pub fn convert(tool: Tool, project: &SourceProject) -> Result<Vec<ImportedFile>, Vec<Problem>> {
    let mut problems = project.problems.clone();
    let mut files: Vec<ImportedFile> = Vec::new();
    let mut previous_stamp: Option<i64> = None;
    for migration in &project.migrations {
        let stamp = match (
            parse_timestamp(migration.timestamp.as_deref()),
            previous_stamp,
        ) {
            (Some(at), Some(before)) if at > before => at,
            (Some(at), None) => at,
            (_, Some(before)) => before + 60,
            (None, None) => SYNTHETIC_START,
        };
        previous_stamp = Some(stamp);
        let parent = files.last().map(|file| file.revision_id.clone());
        match convert_one(tool, migration, stamp, parent) {
            Ok(file) => files.push(file),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

fn convert_one(
    tool: Tool,
    source: &SourceMigration,
    stamp: i64,
    parent: Option<String>,
) -> Result<ImportedFile, Problem> {
    let backend = if tool == Tool::Neo4jMigrations {
        BackendKind::Neo4j
    } else {
        BackendKind::Postgres
    };
    // Both backends an import writes have a comment layout.
    let c = backend.descriptor().comment_prefix().unwrap_or("--");
    for piece in std::iter::once(&source.up).chain(&source.down) {
        if let Some(line) = marker_line(&piece.text, c) {
            return Err(Problem::new(
                &piece.path,
                line,
                format!("a `{c} migrate:` line would end dbmigrate's section early"),
                "reword that comment, then import again",
            ));
        }
    }
    let rev = dbmigrate_core::checksum(&format!("{}:{}", tool.name(), source.version)).to_hex()
        [..8]
        .to_string();
    let revision_id = format!("{}_{rev}", UtcTime::from_unix(stamp).file_stamp());
    let message = if source.description.is_empty() {
        format!("{} {}", tool.name(), source.version)
    } else {
        source.description.clone()
    };
    let file_name = format!("{revision_id}_{}.{}", slug(&message), backend.extension());
    let mut conversions = Vec::new();
    let mut text = format!(
        "{c} Message: {message}\n{c} Revises: {}\n",
        parent.as_deref().unwrap_or("base")
    );
    if source.no_transaction {
        text.push_str(&format!("{c} Transaction: none\n"));
        conversions.push(format!(
            "Transaction: none ({})",
            source
                .no_transaction_reason
                .as_deref()
                .unwrap_or("the source says so")
        ));
    }
    if source.down.is_none() {
        text.push_str(&format!("{c} Irreversible: true\n"));
        conversions.push("Irreversible: true (no down)".to_string());
    }
    text.push_str(&format!(
        "{c}\n{c} {MARKER} tool={} version={}",
        tool.name(),
        source.version
    ));
    if let Some(checksum) = &source.source_checksum {
        text.push_str(&format!(" checksum={checksum}"));
    }
    text.push_str(&format!(
        "\n{c} The sections below hold the {} statements byte for byte.\n\n{c} migrate:up\n",
        tool.name()
    ));
    if source.up.text.trim().is_empty() {
        // The source tool runs an empty step (and records it): so does this.
        text.push_str(&format!(
            "{c} (the source's up step is empty: it runs nothing)\n"
        ));
        conversions.push("empty up kept as a no-op".to_string());
    } else {
        push_section(&mut text, &source.up.text);
    }
    if let Some(down) = &source.down {
        text.push_str(&format!("\n{c} migrate:down\n"));
        if down.text.trim().is_empty() {
            text.push_str(&format!(
                "{c} (the source's down step is empty: nothing to undo)\n"
            ));
            conversions.push("empty down kept as a no-op".to_string());
        } else {
            push_section(&mut text, &down.text);
        }
    }
    dbmigrate_core::parse::parse_migration(&file_name, &text).map_err(|error| {
        Problem::new(
            &source.up.path,
            0,
            format!("the converted file does not parse: {}", error.kind),
            "fix the source migration, then import again",
        )
    })?;
    Ok(ImportedFile {
        source: source.clone(),
        file_name,
        revision_id,
        text,
        conversions,
    })
}

fn push_section(text: &mut String, section: &str) {
    text.push_str(section);
    if !section.ends_with('\n') {
        text.push('\n');
    }
}

/// The line of a `-- migrate:…` comment in a source text, if any.
fn marker_line(text: &str, c: &str) -> Option<u32> {
    text.lines()
        .position(|line| {
            line.trim()
                .strip_prefix(c)
                .is_some_and(|rest| rest.trim_start().starts_with("migrate:"))
        })
        .map(|index| index as u32 + 1)
}

/// Seconds since the epoch of `YYYYMMDDHHMM[SS…]`, when it is a real time.
pub fn parse_timestamp(text: Option<&str>) -> Option<i64> {
    let text = text?;
    if text.len() < 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute) = (number(8..10)?, number(10..12)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
    {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60;
    // Reject dates like 31 February, which would roll over.
    (UtcTime::from_unix(seconds).date == (year, month as u32, day as u32)).then_some(seconds)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
