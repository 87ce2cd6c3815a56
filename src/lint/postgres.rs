//! PostgreSQL: squawk-linter's statement rules, told the file's transaction
//! mode, plus the rules only dbmigrate can know: `CONCURRENTLY` in a
//! transactional migration, a backfill in one transaction, a missing lock
//! timeout, and the expand/contract order across migrations.

use std::collections::{BTreeMap, BTreeSet};

use squawk_linter::{Linter, Rule as SquawkRule};
use squawk_syntax::SourceFile;

use crate::migration::{Migration, TransactionMode};

use super::engine::{first_line, own_violation, Context, Finding};
use super::live::describe_table;
use super::report::{Severity, Violation};
use super::sql::{statements, SqlStatement};
use super::suppress::{allows_in, Allow};

/// Squawk's rules about types and style rather than locks: warnings.
const STYLE_RULES: [SquawkRule; 11] = [
    SquawkRule::RequireStatementTimeout,
    SquawkRule::PreferBigintOverInt,
    SquawkRule::PreferBigintOverSmallint,
    SquawkRule::PreferIdentity,
    SquawkRule::PreferTextField,
    SquawkRule::PreferTimestampTz,
    SquawkRule::BanCharField,
    SquawkRule::IdentifierTooLong,
    SquawkRule::PreferRobustStmts,
    SquawkRule::PreferRepack,
    SquawkRule::RequireEnumValueOrdering,
];

/// What earlier migrations did that later ones depend on.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// `CHECK (column IS NOT NULL) NOT VALID` by constraint name: table, column, file number.
    checks: BTreeMap<String, (String, String, usize)>,
    /// (table, column) proven not null by a check validated outside the transaction that added it.
    validated: BTreeSet<(String, String)>,
    /// Columns added by the linted migrations (this release), by table.
    release_added: BTreeMap<String, BTreeSet<String>>,
    /// How many PostgreSQL files were read.
    files: usize,
    /// Squawk's `require-lock-timeout` fired in the file being linted. It
    /// speaks once for the whole file, so `missing-lock-timeout` stays
    /// silent on the file's later statements (the fix is one header line).
    lock_timeout_said: bool,
}

/// Where a byte offset of the up section is in the file.
fn position(migration: &Migration, offset: usize) -> (u32, u32) {
    let before = &migration.up.script()[..offset.min(migration.up.script().len())];
    let line = migration.up_line + before.matches('\n').count() as u32;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count() as u32
        + 1;
    (line, column)
}

impl State {
    /// Lints (when `linted`) one file and records what later files need.
    pub fn file(
        &mut self,
        migration: &Migration,
        context: &mut Context,
        linted: bool,
    ) -> (Vec<Finding>, Vec<Allow>) {
        self.files += 1;
        self.lock_timeout_said = false;
        let squawk = if linted {
            run_squawk(migration)
        } else {
            Vec::new()
        };
        let (mut findings, mut all_allows) = (Vec::new(), Vec::new());
        let mut previous_end = 0;
        for statement in statements(migration.up.script()) {
            let gap_line = position(migration, previous_end).0;
            let allows = allows_in(
                &migration.up.script()[previous_end..statement.start],
                gap_line,
                "--",
            );
            previous_end = statement.end;
            let text = &migration.up.script()[statement.start..statement.end];
            if linted {
                let mut violations = self.squawk_in(&squawk, &statement, migration, context, text);
                self.lock_timeout_said |= violations
                    .iter()
                    .any(|v| v.rule == SquawkRule::RequireLockTimeout.to_string());
                violations.extend(self.own_rules(
                    &statement,
                    migration,
                    context,
                    text,
                    &violations,
                ));
                self.release_added
                    .entry(statement.table.clone().unwrap_or_default())
                    .or_default()
                    .extend(statement.added.iter().cloned());
                findings.extend(violations.into_iter().map(|violation| Finding {
                    violation,
                    allows: allows.clone(),
                }));
                all_allows.extend(allows);
            }
            self.track(&statement, migration);
            context.created.extend(statement.creates.clone());
        }
        (findings, all_allows)
    }

    /// Squawk's violations inside this statement, with live sizes, minus the
    /// lock rules about a table created earlier in this run.
    fn squawk_in(
        &self,
        squawk: &[squawk_linter::Violation],
        statement: &SqlStatement,
        migration: &Migration,
        context: &Context,
        text: &str,
    ) -> Vec<Violation> {
        let is_new = is_new_table(statement, context);
        squawk
            .iter()
            .filter(|v| {
                let start = usize::from(v.text_range.start());
                start >= statement.start && start < statement.end.max(statement.start + 1)
            })
            .filter(|v| !is_new || STYLE_RULES.contains(&v.code))
            .filter(|v| v.code != SquawkRule::BanConcurrentIndexCreationInTransaction)
            .filter(|v| !timeout_from_header(v.code, migration, context))
            .map(|v| {
                let severity = if STYLE_RULES.contains(&v.code) {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                let mut why = v.message.trim_end_matches('.').to_string();
                if let Some(clause) = live_clause(v.code, statement, context) {
                    why = format!("{why}: {clause}");
                }
                let fix = timeout_fix(v.code)
                    .map(str::to_string)
                    .or_else(|| v.help.clone())
                    .unwrap_or_else(|| format!("see https://squawkhq.com/docs/{}", v.code));
                Violation {
                    rule: v.code.to_string(),
                    source: "squawk",
                    severity,
                    path: migration.path.clone(),
                    revision_id: migration.revision_id.clone(),
                    line: position(migration, usize::from(v.text_range.start())).0,
                    column: position(migration, usize::from(v.text_range.start())).1,
                    statement: first_line(text),
                    why,
                    fix,
                    suppressed: None,
                }
            })
            .collect()
    }

    /// dbmigrate's own rules on one statement; `squawk` holds what squawk
    /// already said about it, so the same danger is not reported twice.
    fn own_rules(
        &self,
        statement: &SqlStatement,
        migration: &Migration,
        context: &Context,
        text: &str,
        squawk: &[Violation],
    ) -> Vec<Violation> {
        let mut found = Vec::new();
        let at = position(migration, statement.start);
        let single = migration.options.transaction == TransactionMode::Single;
        let existing = !is_new_table(statement, context);
        let size = statement
            .table
            .as_ref()
            .and_then(|table| Some((table, context.options.live.tables.get(table)?)));
        let sized = |verb: &str, lock: &str| {
            size.map(|(table, size)| {
                format!("{verb} `{table}` ({}) under {lock}", describe_table(*size))
            })
        };
        if statement.concurrently && single {
            found.push(own_violation(
                "concurrently-in-transaction",
                migration,
                at,
                text,
                None,
            ));
        }
        if statement.update && single && existing {
            let detail = sized("updates", "row locks held until commit");
            found.push(own_violation(
                "backfill-in-transaction",
                migration,
                at,
                text,
                detail,
            ));
        }
        if statement.access_exclusive
            && existing
            && !self.lock_timeout_said
            && !has_lock_timeout(migration, context)
        {
            let detail = sized("waits for and holds", "ACCESS EXCLUSIVE");
            found.push(own_violation(
                "missing-lock-timeout",
                migration,
                at,
                text,
                detail,
            ));
        }
        if existing {
            found.extend(self.set_not_null(statement, migration, text, squawk));
            found.extend(self.contract(statement, migration, at, text));
        }
        found
    }

    fn set_not_null(
        &self,
        statement: &SqlStatement,
        migration: &Migration,
        text: &str,
        squawk: &[Violation],
    ) -> Vec<Violation> {
        let table = statement.table.clone().unwrap_or_default();
        let squawk_said = squawk
            .iter()
            .any(|v| v.rule == SquawkRule::AddingNotNullableField.to_string());
        let pending_checks = self.pending_checks(statement);
        statement
            .set_not_null
            .iter()
            .filter(|(column, _)| {
                !squawk_said && !self.validated.contains(&(table.clone(), column.clone()))
            })
            .filter(|(column, _)| !pending_checks.contains(column))
            .map(|(_, offset)| {
                own_violation(
                    "set-not-null-without-check",
                    migration,
                    position(migration, *offset),
                    text,
                    None,
                )
            })
            .collect()
    }

    /// Columns this very statement validates (`VALIDATE` and `SET NOT NULL` together).
    fn pending_checks(&self, statement: &SqlStatement) -> BTreeSet<String> {
        statement
            .validated
            .iter()
            .filter_map(|name| self.checks.get(name).map(|(_, column, _)| column.clone()))
            .collect()
    }

    fn contract(
        &self,
        statement: &SqlStatement,
        migration: &Migration,
        at: (u32, u32),
        text: &str,
    ) -> Vec<Violation> {
        let Some(table) = &statement.table else {
            return Vec::new();
        };
        let added = self.release_added.get(table).cloned().unwrap_or_default();
        statement
            .dropped
            .iter()
            .chain(&statement.renamed)
            .filter(|column| added.iter().any(|new| new != *column))
            .map(|column| {
                let replacement: Vec<&str> = added
                    .iter()
                    .map(String::as_str)
                    .filter(|new| new != column)
                    .collect();
                let detail = format!(
                    "`{table}.{column}` goes while this release adds `{}`",
                    replacement.join("`, `")
                );
                own_violation(
                    "contract-in-same-release",
                    migration,
                    at,
                    text,
                    Some(detail),
                )
            })
            .collect()
    }

    /// Records NOT VALID checks and their validation.
    fn track(&mut self, statement: &SqlStatement, migration: &Migration) {
        let table = statement.table.clone().unwrap_or_default();
        for (name, column) in &statement.not_valid_checks {
            self.checks
                .insert(name.clone(), (table.clone(), column.clone(), self.files));
        }
        let autocommit = migration.options.transaction == TransactionMode::None;
        for name in &statement.validated {
            if let Some((check_table, column, file)) = self.checks.get(name) {
                if *check_table == table && (*file != self.files || autocommit) {
                    self.validated.insert((table.clone(), column.clone()));
                }
            }
        }
    }
}

fn is_new_table(statement: &SqlStatement, context: &Context) -> bool {
    statement
        .table
        .as_ref()
        .is_some_and(|table| context.created.contains(table))
}

/// A `Lock-Timeout` header, the project default, or a `SET lock_timeout` in the section.
fn has_lock_timeout(migration: &Migration, context: &Context) -> bool {
    let sets_it = migration
        .up
        .script()
        .to_ascii_lowercase()
        .lines()
        .any(|line| {
            let line = line.trim_start();
            line.starts_with("set lock_timeout") || line.starts_with("set local lock_timeout")
        });
    migration.options.lock_timeout.is_some()
        || context.options.default_lock_timeout.is_some()
        || sets_it
}

/// The runner sets `lock_timeout` / `statement_timeout` from the header or
/// the project default before the section, which squawk cannot see.
fn timeout_from_header(rule: SquawkRule, migration: &Migration, context: &Context) -> bool {
    match rule {
        SquawkRule::RequireLockTimeout => has_lock_timeout(migration, context),
        SquawkRule::RequireStatementTimeout => {
            migration.options.statement_timeout.is_some()
                || context.options.default_statement_timeout.is_some()
        }
        _ => false,
    }
}

/// The dbmigrate way to set the timeouts squawk asks for.
fn timeout_fix(rule: SquawkRule) -> Option<&'static str> {
    match rule {
        SquawkRule::RequireLockTimeout => Some("add `-- Lock-Timeout: 5s` to the header (or `lock-timeout` in [package.metadata.dbmigrate]); the runner sets lock_timeout before the section"),
        SquawkRule::RequireStatementTimeout => Some("add `-- Statement-Timeout: 60s` to the header (or `statement-timeout` in [package.metadata.dbmigrate]); the runner sets statement_timeout before the section"),
        _ => None,
    }
}

/// "rewrites `users` (1.2 M rows, 310 MB) under ACCESS EXCLUSIVE" for squawk's lock rules.
fn live_clause(rule: SquawkRule, statement: &SqlStatement, context: &Context) -> Option<String> {
    let table = statement.table.as_ref()?;
    let size = context.options.live.tables.get(table)?;
    let (verb, lock) = match rule {
        SquawkRule::ChangingColumnType
        | SquawkRule::AddingFieldWithDefault
        | SquawkRule::AddingSerialPrimaryKeyField => ("rewrites", "ACCESS EXCLUSIVE"),
        SquawkRule::AddingNotNullableField
        | SquawkRule::ConstraintMissingNotValid
        | SquawkRule::DisallowedUniqueConstraint => ("scans", "ACCESS EXCLUSIVE"),
        SquawkRule::AddingForeignKeyConstraint => ("scans", "SHARE ROW EXCLUSIVE (writes blocked)"),
        SquawkRule::RequireConcurrentIndexCreation => ("indexes", "SHARE (writes blocked)"),
        _ if statement.access_exclusive => ("locks", "ACCESS EXCLUSIVE"),
        _ => return None,
    };
    Some(format!(
        "{verb} `{table}` ({}) under {lock}",
        describe_table(*size)
    ))
}

/// Squawk's default rules on the up section, told whether it runs in one transaction.
fn run_squawk(migration: &Migration) -> Vec<squawk_linter::Violation> {
    let parse = SourceFile::parse(migration.up.script());
    let mut linter = Linter::with_default_rules();
    linter.settings.assume_in_transaction =
        migration.options.transaction == TransactionMode::Single;
    linter.lint(&parse, migration.up.script())
}
