//! The SQL text the PostgreSQL backend sends: quoting, the history table,
//! and the exact statements of a step (so `plan` and `apply` share them).

use std::time::Duration;

use crate::backend::{PlannedCall, RecordState, Step};
use crate::migration::{Direction, Migration, TransactionMode};

use super::PostgresConfig;

/// `"name"` with embedded quotes doubled.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An escape-string literal (`E'…'`), correct whatever
/// `standard_conforming_strings` says.
pub(crate) fn literal(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('\'', "''")
        .replace('\0', "");
    format!("E'{escaped}'")
}

fn opt_literal(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_string(), literal)
}

/// `"schema"."table"` of the history table.
pub(crate) fn history_table(config: &PostgresConfig) -> String {
    format!("{}.{}", ident(&config.schema), ident(&config.table))
}

/// Creates the history table (and its schema, unless `public`) when missing.
pub(crate) fn create_history(config: &PostgresConfig) -> String {
    let schema = if config.schema == "public" {
        String::new()
    } else {
        format!("CREATE SCHEMA IF NOT EXISTS {};\n", ident(&config.schema))
    };
    format!(
        "{schema}CREATE TABLE IF NOT EXISTS {} (
    revision_id text PRIMARY KEY,
    parent text,
    message text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms bigint NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'dirty_up', 'dirty_down')),
    applied_by text NOT NULL DEFAULT '',
    seq bigserial NOT NULL
);",
        history_table(config)
    )
}

/// Every record, oldest first, all columns as text (one simple query).
pub(crate) fn select_history(config: &PostgresConfig) -> String {
    format!(
        "SELECT revision_id, parent, message, checksum, \
         (extract(epoch FROM applied_at) * 1000)::bigint::text, duration_ms::text, state, applied_by \
         FROM {} ORDER BY seq",
        history_table(config)
    )
}

/// Writes the record of `step` in `state`, replacing any record of the revision.
pub(crate) fn upsert_record(
    config: &PostgresConfig,
    migration: &Migration,
    applied_by: &str,
    state: &str,
    duration_ms: &str,
) -> String {
    upsert_record_at(config, migration, applied_by, state, "now()", duration_ms)
}

/// [`upsert_record`] with `applied_at` given as an SQL expression.
pub(crate) fn upsert_record_at(
    config: &PostgresConfig,
    migration: &Migration,
    applied_by: &str,
    state: &str,
    applied_at: &str,
    duration_ms: &str,
) -> String {
    format!(
        "INSERT INTO {} (revision_id, parent, message, checksum, applied_at, duration_ms, state, applied_by) \
         VALUES ({}, {}, {}, {}, {applied_at}, {duration_ms}, {}, {}) \
         ON CONFLICT (revision_id) DO UPDATE SET parent = EXCLUDED.parent, message = EXCLUDED.message, \
         checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at, duration_ms = EXCLUDED.duration_ms, \
         state = EXCLUDED.state, applied_by = EXCLUDED.applied_by;",
        history_table(config),
        literal(&migration.revision_id),
        opt_literal(migration.parent.as_deref()),
        literal(&migration.message),
        literal(&migration.checksum.to_hex()),
        literal(state),
        literal(applied_by),
    )
}

/// Removes the record of a revision.
pub(crate) fn delete_record(config: &PostgresConfig, revision_id: &str) -> String {
    format!(
        "DELETE FROM {} WHERE revision_id = {};",
        history_table(config),
        literal(revision_id)
    )
}

/// Sets the state of a record.
pub(crate) fn set_state(
    config: &PostgresConfig,
    revision_id: &str,
    state: &str,
    duration_ms: &str,
) -> String {
    format!(
        "UPDATE {} SET state = {}, duration_ms = {duration_ms} WHERE revision_id = {};",
        history_table(config),
        literal(state),
        literal(revision_id)
    )
}

/// The server-side time since the transaction (single) or the dirty record (none) started.
const ELAPSED_SINCE_NOW: &str = "(extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint";
/// The server-side time since this round trip reached the server: a grouped
/// step's own duration, where `now()` is the group's start.
pub(crate) const ELAPSED_SINCE_STATEMENT: &str =
    "(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint";
const ELAPSED_SINCE_RECORD: &str =
    "(extract(epoch FROM clock_timestamp() - applied_at) * 1000)::bigint";

/// The step's `lock_timeout` and `statement_timeout`, where set.
pub(crate) fn timeouts(
    config: &PostgresConfig,
    migration: &Migration,
) -> Vec<(&'static str, Duration)> {
    let lock = migration.options.lock_timeout.or(config.lock_timeout);
    let statement = migration
        .options
        .statement_timeout
        .or(config.statement_timeout);
    [("lock_timeout", lock), ("statement_timeout", statement)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
}

/// Puts the session back as a new one would be, except for the advisory
/// lock it holds: `DISCARD ALL` minus `pg_advisory_unlock_all()`. Every step
/// ends with it (in its own implicit transaction after the COMMIT, in the
/// same round trip; after a ROLLBACK on failure), so what one migration sets
/// for its session (pg_dump's `set_config('search_path', '', false)`,
/// `SET ROLE`, `default_transaction_read_only`, temporary tables, prepared
/// statements, `LISTEN`, held cursors) never reaches the next.
pub(crate) const SESSION_RESET: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; \
DEALLOCATE ALL; UNLISTEN *; DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES;\n";

/// A single-transaction step commits without waiting for its WAL flush:
/// its statements and history row still commit or vanish together, and a
/// crash can only lose a suffix of the run's steps (WAL is replayed in
/// order), leaving an earlier consistent revision. [`FLUSH`] makes them
/// durable before the run reports success.
pub(crate) const ASYNC_COMMIT: &str = "SET LOCAL synchronous_commit = off;\n";

/// A synchronous commit of a transaction that wrote WAL: it returns only once
/// the WAL up to its commit record, and so every earlier asynchronous commit
/// of the run, is flushed (and confirmed by synchronous standbys). It must
/// write WAL (a transactional logical message, which changes no table):
/// PostgreSQL commits a transaction that wrote none asynchronously whatever
/// `synchronous_commit` says, so `SELECT txid_current()` would not do.
pub(crate) const FLUSH: &str = "BEGIN; SET LOCAL synchronous_commit = on; \
SELECT pg_logical_emit_message(true, 'dbmigrate', 'flush'); COMMIT;";

fn call(text: String, bookkeeping: bool) -> PlannedCall {
    PlannedCall {
        language: "sql",
        text,
        bookkeeping,
    }
}

/// The calls of a step, in order. For `Transaction: single` their texts,
/// concatenated, are the one simple query `apply` sends.
pub(crate) fn step_calls(config: &PostgresConfig, step: &Step<'_>) -> Vec<PlannedCall> {
    match step.migration.options.transaction {
        TransactionMode::Single => single_calls(config, step),
        TransactionMode::None => none_calls(config, step),
    }
}

fn single_calls(config: &PostgresConfig, step: &Step<'_>) -> Vec<PlannedCall> {
    let migration = step.migration;
    let mut calls = vec![
        call("BEGIN;\n".to_string(), true),
        call(ASYNC_COMMIT.to_string(), true),
    ];
    for (name, value) in timeouts(config, migration) {
        calls.push(call(
            format!("SET LOCAL {name} = '{}ms';\n", value.as_millis()),
            true,
        ));
    }
    calls.push(call(section_text(migration, step.direction), false));
    let record = match step.direction {
        Direction::Up => upsert_record(
            config,
            migration,
            step.applied_by,
            RecordState::Applied.as_str(),
            ELAPSED_SINCE_NOW,
        ),
        Direction::Down => delete_record(config, &migration.revision_id),
    };
    calls.push(call(format!("{record}\n"), true));
    calls.push(call("COMMIT;\n".to_string(), true));
    calls.push(call(SESSION_RESET.to_string(), true));
    calls
}

/// The section, ended so that the next statement starts on a new line
/// (a final `-- comment` without newline would swallow it).
pub(crate) fn section_text(migration: &Migration, direction: Direction) -> String {
    let section = migration.section(direction).script().trim_end();
    let terminated = crate::sql::split(section).last().is_none_or(|last| {
        let end = last.text.as_ptr() as usize - section.as_ptr() as usize + last.text.len();
        section[end..].trim_start().starts_with(';')
    });
    if terminated {
        format!("{section}\n")
    } else {
        format!("{section}\n;\n")
    }
}

fn none_calls(config: &PostgresConfig, step: &Step<'_>) -> Vec<PlannedCall> {
    let migration = step.migration;
    let id = &migration.revision_id;
    let mut calls = vec![match step.direction {
        Direction::Up => call(
            upsert_record(
                config,
                migration,
                step.applied_by,
                RecordState::Dirty(Direction::Up).as_str(),
                "0",
            ),
            true,
        ),
        Direction::Down => call(
            set_state(
                config,
                id,
                RecordState::Dirty(Direction::Down).as_str(),
                "duration_ms",
            ),
            true,
        ),
    }];
    let timeouts = timeouts(config, migration);
    for (name, value) in &timeouts {
        calls.push(call(
            format!("SET {name} = '{}ms';", value.as_millis()),
            true,
        ));
    }
    for statement in crate::sql::split(migration.section(step.direction).script()) {
        calls.push(call(format!("{};", statement.text), false));
    }
    for (name, _) in &timeouts {
        calls.push(call(format!("RESET {name};"), true));
    }
    calls.push(match step.direction {
        Direction::Up => call(
            set_state(
                config,
                id,
                RecordState::Applied.as_str(),
                ELAPSED_SINCE_RECORD,
            ),
            true,
        ),
        Direction::Down => call(delete_record(config, id), true),
    });
    calls.push(call(SESSION_RESET.to_string(), true));
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's a \\ test"), "E'it''s a \\\\ test'");
        assert_eq!(opt_literal(None), "NULL");
    }
}
