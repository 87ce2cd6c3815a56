//! The table `import` prints: source version and file, the dbmigrate file,
//! and what changed on the way (or the same as one JSON document).

use std::io::Write;
use std::path::Path;

use crate::config::relative_to_cwd;
use crate::OutputFormat;

use super::command::Outcome;
use super::convert::ImportedFile;
use super::source::Tool;

/// Prints the import table.
pub fn print(
    tool: Tool,
    files: &[ImportedFile],
    outcomes: &[Outcome],
    out_dir: &Path,
    dry_run: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        let rows: Vec<_> = files
            .iter()
            .zip(outcomes)
            .map(|(file, outcome)| {
                serde_json::json!({
                    "version": file.source.version,
                    "source": relative_to_cwd(&file.source.up.path).display().to_string(),
                    "file": file.file_name,
                    "revision_id": file.revision_id,
                    "outcome": outcome,
                    "conversions": file.conversions,
                })
            })
            .collect();
        let document = serde_json::json!({ "tool": tool.name(), "dir": out_dir.display().to_string(), "dry_run": dry_run, "migrations": rows });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    let rows: Vec<[String; 4]> = files
        .iter()
        .map(|file| {
            [
                file.source.version.clone(),
                relative_to_cwd(&file.source.up.path).display().to_string(),
                file.file_name.clone(),
                if file.conversions.is_empty() {
                    "-".to_string()
                } else {
                    file.conversions.join("; ")
                },
            ]
        })
        .collect();
    let header = ["version", tool.name(), "dbmigrate file", "conversions"];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 4]| {
        format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    writeln!(out, "{}", line(header).trim_end())?;
    for row in &rows {
        writeln!(
            out,
            "{}",
            line([&row[0], &row[1], &row[2], &row[3]]).trim_end()
        )?;
    }
    let written = outcomes.iter().filter(|o| **o == Outcome::Written).count();
    let verb = if dry_run { "would write" } else { "wrote" };
    writeln!(
        out,
        "{verb} {written} of {} migration(s) into {} ({} unchanged)",
        files.len(),
        out_dir.display(),
        files.len() - written
    )?;
    Ok(())
}
