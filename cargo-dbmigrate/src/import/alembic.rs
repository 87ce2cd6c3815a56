//! Alembic revision scripts (`versions/*.py`) whose `upgrade()` and
//! `downgrade()` hold only `op.execute("…")` calls with plain string
//! literals (and `pass`, comments, `with op.get_context().autocommit_block():`).
//! Anything else is Python dbmigrate cannot run: it is refused at its line.
//! The order is the `down_revision` chain; a branch, a merge or a missing
//! parent (a gap) is refused.

use std::collections::HashMap;
use std::path::Path;

use super::source::{file_names, line_of, read, Piece, Problem, SourceMigration, SourceProject};

/// One parsed revision script.
#[derive(Debug)]
struct Script {
    revision: String,
    down_revision: Option<String>,
    migration: SourceMigration,
}

const REFUSED_HELP: &str = "dbmigrate imports only `op.execute(\"<SQL>\")` calls: rewrite this step as op.execute with the SQL it runs (`alembic upgrade <prev>:<rev> --sql` prints it), then import again";

/// Reads an Alembic `versions` folder (or a project folder holding `versions/`).
pub fn read_dir(dir: &Path) -> anyhow::Result<SourceProject> {
    let dir = if dir.join("versions").is_dir() {
        dir.join("versions")
    } else {
        dir.to_path_buf()
    };
    let mut project = SourceProject::default();
    let mut scripts = Vec::new();
    for name in file_names(&dir)? {
        if !name.ends_with(".py") || name.starts_with("__") {
            continue;
        }
        let path = dir.join(&name);
        let Some(text) = read(&path, &mut project.problems) else {
            continue;
        };
        match parse_script(&path, &text) {
            Ok(script) => scripts.push(script),
            Err(problems) => project.problems.extend(problems),
        }
    }
    project.migrations = order(scripts, &mut project.problems);
    Ok(project)
}

/// Follows the `down_revision` chain from the root.
fn order(scripts: Vec<Script>, problems: &mut Vec<Problem>) -> Vec<SourceMigration> {
    let known: HashMap<&str, &Script> = scripts.iter().map(|s| (s.revision.as_str(), s)).collect();
    for script in &scripts {
        if let Some(parent) = script
            .down_revision
            .as_deref()
            .filter(|p| !known.contains_key(p))
        {
            problems.push(Problem::new(&script.migration.up.path, 0, format!("down_revision `{parent}` has no script (a gap in the chain)"), "restore the missing revision script into the folder; the chain must reach back to the first revision"));
        }
    }
    let mut ordered = Vec::new();
    let mut current: Option<&str> = None;
    loop {
        let children: Vec<&Script> = scripts
            .iter()
            .filter(|s| s.down_revision.as_deref() == current)
            .collect();
        match children.as_slice() {
            [] => break,
            [child] => {
                ordered.push(child.migration.clone());
                current = Some(&child.revision);
            }
            [first, second, ..] => {
                problems.push(Problem::new(&second.migration.up.path, 0, format!("revisions {} and {} both revise {}", first.revision, second.revision, current.unwrap_or("the base")), "merge the branches in Alembic first (`alembic merge`) and make the history linear, then import"));
                break;
            }
        }
    }
    ordered
}

fn parse_script(path: &Path, text: &str) -> Result<Script, Vec<Problem>> {
    let mut problems = Vec::new();
    let revision = assignment(text, "revision");
    let down = assignment(text, "down_revision");
    let (Some(revision), Some(down)) = (revision, down) else {
        return Err(vec![Problem::new(
            path,
            0,
            "no `revision = \"…\"` and `down_revision = …` assignments",
            "this is not an Alembic revision script; move it out of the versions folder",
        )]);
    };
    let down_revision = match down.as_str() {
        "None" => None,
        quoted => match unquote(quoted) {
            Some(parent) => Some(parent),
            None => {
                problems.push(Problem::new(
                    path,
                    line_of(text, text.find("down_revision").unwrap_or(0)),
                    format!("down_revision is `{quoted}`: merges are not imported"),
                    "make the history linear in Alembic first, then import",
                ));
                None
            }
        },
    };
    let Some(revision) = unquote(&revision) else {
        return Err(vec![Problem::new(
            path,
            0,
            "revision is not a string literal",
            "write `revision = \"<id>\"`",
        )]);
    };
    let up = function_sql(path, text, "upgrade", &mut problems);
    let down_sql = function_sql(path, text, "downgrade", &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let (up, up_autocommit) = up.unwrap_or_default();
    let down = down_sql.filter(|(sql, _)| !sql.is_empty());
    let description = docstring_title(text).unwrap_or_else(|| revision.clone());
    Ok(Script {
        down_revision,
        migration: SourceMigration {
            version: revision.clone(),
            description,
            up: Piece {
                path: path.to_path_buf(),
                text: up,
            },
            down: down.map(|(sql, _)| Piece {
                path: path.to_path_buf(),
                text: sql,
            }),
            no_transaction: up_autocommit,
            no_transaction_reason: up_autocommit.then(|| "autocommit_block()".to_string()),
            source_checksum: None,
            timestamp: None,
        },
        revision,
    })
}

/// The right-hand side of a top-level `name = …` (or `name: T = …`) line.
fn assignment(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let rest = rest.trim_start();
        let rest = if let Some(annotated) = rest.strip_prefix(':') {
            annotated.split_once('=')?.1
        } else {
            rest.strip_prefix('=')?
        };
        Some(
            rest.split('#')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        )
    })
}

fn unquote(value: &str) -> Option<String> {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))?;
    Some(inner.to_string())
}

fn docstring_title(text: &str) -> Option<String> {
    let start = text.trim_start();
    let body = start
        .strip_prefix("\"\"\"")
        .or_else(|| start.strip_prefix("'''"))?;
    let title = body
        .lines()
        .next()?
        .trim()
        .trim_end_matches("\"\"\"")
        .trim();
    (!title.is_empty()).then(|| title.to_string())
}

/// The SQL of `def name():`'s `op.execute` calls, joined, and whether an
/// `autocommit_block` was used; `None` when the function is missing.
fn function_sql(
    path: &Path,
    text: &str,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<(String, bool)> {
    let def = format!("def {name}(");
    let def_at = text
        .match_indices(&def)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || text.as_bytes()[at - 1] == b'\n')?;
    let body_start = text[def_at..]
        .find('\n')
        .map_or(text.len(), |n| def_at + n + 1);
    let mut cursor = body_start;
    let mut statements: Vec<String> = Vec::new();
    let mut autocommit = false;
    while cursor < text.len() {
        let line_end = text[cursor..].find('\n').map_or(text.len(), |n| cursor + n);
        let line = &text[cursor..line_end];
        let stmt = line.trim();
        if stmt.is_empty() || stmt.starts_with('#') || stmt == "pass" {
            cursor = line_end + 1;
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            break;
        }
        if stmt.replace(' ', "") == "withop.get_context().autocommit_block():" {
            autocommit = true;
            cursor = line_end + 1;
            continue;
        }
        let Some(call) = stmt.strip_prefix("op.execute(") else {
            problems.push(Problem::new(
                path,
                line_of(text, cursor),
                format!("`{}` in {name}() is not op.execute(\"…\")", shorten(stmt)),
                REFUSED_HELP,
            ));
            return None;
        };
        let _ = call;
        let literal_at = cursor + line.find("op.execute(").unwrap_or(0) + "op.execute(".len();
        match string_literal(text, literal_at) {
            Ok((sql, after)) => {
                statements.push(sql);
                cursor = after;
            }
            Err(message) => {
                problems.push(Problem::new(
                    path,
                    line_of(text, cursor),
                    format!("{message} in {name}()"),
                    REFUSED_HELP,
                ));
                return None;
            }
        }
    }
    Some((join_statements(&statements), autocommit))
}

/// Parses `"…"`, `'…'`, `"""…"""`, `'''…'''` (optionally `r`-prefixed) at
/// `at`, then `)` and the end of the line; returns the text and the offset
/// of the next line.
fn string_literal(text: &str, at: usize) -> Result<(String, usize), String> {
    let rest = text[at..].trim_start();
    let (raw, rest) = match rest.strip_prefix(['r', 'R']) {
        Some(after) => (true, after),
        None => (false, rest),
    };
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| rest.starts_with(q))
        .ok_or("op.execute takes something other than a plain string literal")?;
    let content_start = text.len() - rest.len() + quote.len();
    let content_len = text[content_start..]
        .find(quote)
        .ok_or("an unterminated string")?;
    let content = &text[content_start..content_start + content_len];
    if !raw && content.contains('\\') {
        return Err("a string with backslash escapes".into());
    }
    if quote.len() == 1 && content.contains('\n') {
        return Err("an unterminated string".into());
    }
    let after_quote = content_start + content_len + quote.len();
    let tail_end = text[after_quote..]
        .find('\n')
        .map_or(text.len(), |n| after_quote + n);
    let tail = text[after_quote..tail_end].trim();
    if tail != ")" && !tail.starts_with(") #") && !tail.starts_with(")#") {
        return Err("op.execute with more than one string literal argument".into());
    }
    Ok((content.to_string(), tail_end + 1))
}

/// The statements in order, each byte for byte; a `;` and a line end are
/// added between two only where the first does not end with `;` already.
fn join_statements(statements: &[String]) -> String {
    let mut sql = String::new();
    for statement in statements {
        if !sql.is_empty() {
            if !sql.trim_end().ends_with(';') {
                sql.push(';');
            }
            if !sql.ends_with('\n') {
                sql.push('\n');
            }
        }
        sql.push_str(statement);
    }
    sql
}

fn shorten(line: &str) -> String {
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}
