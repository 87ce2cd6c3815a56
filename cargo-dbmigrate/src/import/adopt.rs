//! `cargo dbmigrate adopt --from <tool>`: reads the tool's history in the
//! deployed database, maps it onto the imported files and stamps dbmigrate's
//! history to the same position (under dbmigrate's lock, nothing run). The
//! tool's own table is only read. A database already at (or past) that
//! position is left alone, so adopt can run on every deploy.

use std::io::Write;

use anyhow::Context as _;
use dbmigrate_core::{History, Target};

use crate::config::Project;
use crate::exit::HistoryBroken;
use crate::online::connect::{migrator, scrub, Settings};
use crate::online::ConnectionArgs;
use crate::OutputFormat;

use super::mapping::{position, read_marker, Imported};
use super::source::Tool;
use super::tool_history::{read_neo4j, read_postgres, table};

/// Runs `adopt`.
pub fn adopt(
    project: &Project,
    tool: Tool,
    connection: &ConnectionArgs,
    dry_run: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let settings = Settings::resolve(connection, &project.root)?;
    let secrets = settings.secrets();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(adopt_async(project, tool, &settings, dry_run, format, out))
        .map_err(|error| match error.downcast::<HistoryBroken>() {
            Ok(broken) => broken.into(),
            Err(error) => anyhow::anyhow!("{}", scrub(&format!("{error:#}"), &secrets)),
        })
}

async fn adopt_async(
    project: &Project,
    tool: Tool,
    settings: &Settings,
    dry_run: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let history = project.load_history()?;
    let imported = imported(tool, &history)?;
    let tool_history = match tool {
        Tool::Neo4jMigrations => {
            let (uri, user, password) = settings.neo4j().context("neo4j-migrations keeps its history in Neo4j\n  help: pass --neo4j-uri or set NEO4J_URI")?;
            let graph =
                neo4rs::Graph::new(uri, user, password).context("cannot connect to Neo4j")?;
            read_neo4j(&graph).await?
        }
        _ => {
            let url = settings.database_url().context("no database to read\n  help: pass --database-url or set DATABASE_URL to the database the tool migrated")?;
            read_postgres(tool, url).await?
        }
    };
    let index = position(tool, &imported, &tool_history).map_err(|problems| {
        for problem in &problems {
            eprintln!("error: {problem}");
        }
        HistoryBroken(format!(
            "cannot adopt the {} history: {} problem(s), nothing was stamped",
            tool.name(),
            problems.len()
        ))
    })?;
    let target = index.map(|i| imported[i].clone());
    let migrator = migrator(history, settings, project).await?;
    let status = migrator.status().await?;
    if let Some(problem) = status.problems.first() {
        anyhow::bail!("dbmigrate's own history has a problem: {problem}");
    }
    let history = migrator.history()?;
    let current = status
        .current
        .as_deref()
        .and_then(|id| history.position(id));
    let wanted = target
        .as_ref()
        .and_then(|t| history.position(&t.revision_id));
    let verdict = match wanted {
        None => Verdict::NothingApplied,
        Some(wanted) if current.is_some_and(|c| c >= wanted) => Verdict::Already,
        Some(_) if dry_run => Verdict::WouldStamp,
        Some(_) => {
            let revision_id = target
                .as_ref()
                .map(|t| t.revision_id.clone())
                .unwrap_or_default();
            migrator.stamp(Target::Revision(revision_id)).await?;
            Verdict::Stamped
        }
    };
    render(
        tool,
        &imported,
        index,
        &verdict,
        status.current.as_deref(),
        format,
        out,
    )
}

/// What adopt did.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    NothingApplied,
    Already,
    WouldStamp,
    Stamped,
}

/// Every migration of the timeline imported from `tool`, in timeline order.
fn imported(tool: Tool, history: &History) -> anyhow::Result<Vec<Imported>> {
    let mut imported = Vec::new();
    for migration in history.iter() {
        let text = std::fs::read_to_string(&migration.path)
            .with_context(|| format!("{}: cannot read", migration.path))?;
        if let Some(found) = read_marker(tool, &migration.revision_id, &migration.path, &text) {
            imported.push(found);
        }
    }
    anyhow::ensure!(!imported.is_empty(), "no migration in this project was imported from {}\n  help: run `cargo dbmigrate import --from {} <dir>` first", tool.name(), tool.name());
    Ok(imported)
}

fn render(
    tool: Tool,
    imported: &[Imported],
    index: Option<usize>,
    verdict: &Verdict,
    before: Option<&str>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let target = index.map(|i| imported[i].revision_id.as_str());
    if format == OutputFormat::Json {
        let document = serde_json::json!({
            "tool": tool.name(),
            "source_table": table(tool),
            "applied_by_tool": index.map_or(0, |i| i + 1),
            "target": target,
            "dbmigrate_before": before,
            "outcome": format!("{verdict:?}").to_lowercase(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    for (i, file) in imported.iter().enumerate() {
        let state = if index.is_some_and(|last| i <= last) {
            "applied"
        } else {
            "pending"
        };
        writeln!(out, "{:<20} {:<26} {state}", file.version, file.revision_id)?;
    }
    let n = index.map_or(0, |i| i + 1);
    let line = match verdict {
        Verdict::NothingApplied => {
            format!("{} has applied nothing yet: nothing to stamp", tool.name())
        }
        Verdict::Already => format!(
            "already adopted: dbmigrate stands at {} (at or past {})",
            before.unwrap_or("base"),
            target.unwrap_or("base")
        ),
        Verdict::WouldStamp => format!(
            "would stamp {n} migration(s) up to {}; `{}` stays untouched",
            target.unwrap_or("base"),
            table(tool)
        ),
        Verdict::Stamped => format!(
            "stamped {n} migration(s) up to {}; `{}` was left untouched",
            target.unwrap_or("base"),
            table(tool)
        ),
    };
    writeln!(out, "{line}")?;
    Ok(())
}
