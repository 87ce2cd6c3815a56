//! Group commit: consecutive `Transaction: single` steps of a locked run
//! share one transaction, each step inside a savepoint, so a durable server
//! flushes (or merely writes) one commit record per group instead of one a
//! step. Each step is still one round trip and reports when it ends; a
//! failed step rolls back to its savepoint and the group's earlier steps
//! commit, so a run that fails leaves what one commit a step would.
//!
//! A group commits (asynchronously, like a step alone) once it has lasted
//! [`GROUP_BUDGET`], and always before a step that must run alone (see
//! [`runs_alone`]; also the run's first step, and every step while the
//! database has deferrable constraints), a `Transaction: none` step, another backend's step
//! ([`crate::backend::Backend::flush`], synchronously), the end of the run
//! and after a failed or cancelled step.

use std::time::{Duration, Instant};

use crate::backend::{RecordState, Step};
use crate::migration::Direction;

use super::sql::{self, SESSION_RESET};
use super::PostgresConfig;

/// How long a group of steps stays open before it commits: a step's locks
/// are held at most this long after it ended, plus the time of the step
/// running when the budget ran out, and `now()` in a grouped step is the
/// group's start, at most this much earlier than the step's own start.
/// A suggested budget for [`super::PostgresBackend::with_group_budget`];
/// the backend's default is zero, every step committed on its own.
pub const GROUP_BUDGET: Duration = Duration::from_millis(200);

/// The savepoint each grouped step runs in.
const SAVEPOINT: &str = "dbmigrate_step";

/// Ends an open group: its steps commit without waiting for the disk.
pub(super) const COMMIT_ASYNC: &str = "SET LOCAL synchronous_commit = off;\nCOMMIT;\n";

/// Ends an open group and flushes it and every earlier asynchronous
/// commit: the group's history rows wrote WAL, so this commit waits.
pub(super) const COMMIT_FLUSH: &str = "SET LOCAL synchronous_commit = on;\nCOMMIT;\n";

/// Whether any deferrable constraint exists: then a grouped step's
/// deferred checks would run at the group's commit, not at its own, so
/// every step commits on its own.
const DEFERRABLE_EXISTS: &str =
    "SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint WHERE condeferrable);\n";

/// The open group of a locked run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    /// When its first step started.
    pub started: Instant,
    /// How many steps it holds.
    pub steps: usize,
}

/// Whether a section must run in a transaction of its own, as it would
/// with one commit a step: it controls the transaction (`COMMIT`,
/// `SAVEPOINT`, `SET TRANSACTION`, …), adds an enum value (which later
/// statements of the same transaction cannot use) or touches deferrable
/// constraints (whose checks run at commit). Read from the statements' words,
/// so comments and string literals never count.
pub(super) fn runs_alone(section: &str) -> bool {
    crate::sql::split(section).iter().any(|statement| {
        let words: Vec<String> = crate::sql::words(statement.text)
            .iter()
            .map(|w| w.to_ascii_uppercase())
            .collect();
        controls_transaction(&words)
            || adds_enum_value(&words)
            || words
                .iter()
                .any(|w| w == "DEFERRABLE" || w == "DEFERRED" || w == "CONSTRAINTS")
    })
}

fn controls_transaction(words: &[String]) -> bool {
    let first = |n: usize| words.get(n).map_or("", String::as_str);
    match first(0) {
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" => {
            true
        }
        "PREPARE" => first(1) == "TRANSACTION",
        "SET" => {
            first(1) == "TRANSACTION" || (first(1) == "SESSION" && first(2) == "CHARACTERISTICS")
        }
        _ => false,
    }
}

/// `ALTER TYPE … ADD VALUE`, also inside a `DO` block or function body.
fn adds_enum_value(words: &[String]) -> bool {
    let alters_type = words.windows(2).any(|w| w[0] == "ALTER" && w[1] == "TYPE");
    alters_type && words.windows(2).any(|w| w[0] == "ADD" && w[1] == "VALUE")
}

/// How a grouped step's query begins and ends.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    /// Commit the open group first (its budget is spent, or this step runs alone).
    pub close_before: bool,
    /// Open a new group (none is open, or it was just closed).
    pub begin: bool,
    /// Ask whether deferrable constraints exist (not known yet this run).
    pub check_deferrable: bool,
    /// Commit right after this step (it runs alone).
    pub close_after: bool,
}

/// The one simple query of a grouped step, split where failures are told
/// apart: `prefix` (closing the old group, opening this one, the savepoint,
/// the timeouts) comes before the section, `suffix` after it.
pub(super) struct Query {
    /// Everything before the section.
    pub prefix: String,
    /// The whole query.
    pub text: String,
    /// Statements that close the previous group (they come first).
    pub closing: usize,
    /// Statements up to the savepoint (included): a failure after them
    /// rolls back to it.
    pub to_savepoint: usize,
    /// Statements up to the release of the savepoint (included): once
    /// they completed, the step belongs to the group.
    pub to_release: usize,
}

/// `SAVEPOINT; timeouts; section; history row; session reset; RELEASE`,
/// with the group's commit and begin around it as `shape` says.
pub(super) fn query(config: &PostgresConfig, step: &Step<'_>, shape: Shape) -> Query {
    let migration = step.migration;
    let mut prefix = String::new();
    if shape.close_before {
        prefix.push_str(COMMIT_ASYNC);
    }
    if shape.begin {
        prefix.push_str("BEGIN;\n");
    }
    prefix.push_str(&format!("SAVEPOINT {SAVEPOINT};\n"));
    for (name, value) in sql::timeouts(config, migration) {
        prefix.push_str(&format!("SET LOCAL {name} = '{}ms';\n", value.as_millis()));
    }
    let record = match step.direction {
        Direction::Up => sql::upsert_record_at(
            config,
            migration,
            step.applied_by,
            RecordState::Applied.as_str(),
            "statement_timestamp()",
            sql::ELAPSED_SINCE_STATEMENT,
        ),
        Direction::Down => sql::delete_record(config, &migration.revision_id),
    };
    let mut suffix = format!("{record}\n{SESSION_RESET}");
    if shape.check_deferrable {
        suffix.push_str(DEFERRABLE_EXISTS);
    }
    suffix.push_str(&format!("RELEASE SAVEPOINT {SAVEPOINT};\n"));
    let before_close = crate::sql::split(&suffix).len();
    if shape.close_after {
        suffix.push_str(COMMIT_ASYNC);
    }
    let section = sql::section_text(migration, step.direction);
    let count = |text: &str| crate::sql::split(text).len();
    let closing = if shape.close_before {
        count(COMMIT_ASYNC)
    } else {
        0
    };
    Query {
        to_savepoint: count(&prefix) - sql::timeouts(config, migration).len(),
        to_release: count(&prefix) + count(&section) + before_close,
        closing,
        text: format!("{prefix}{section}{suffix}"),
        prefix,
    }
}

/// After a failed statement inside the savepoint: undo the step, commit the
/// group's earlier steps, and reset the session outside any transaction.
pub(super) fn after_failure(savepoint_set: bool) -> String {
    if savepoint_set {
        format!(
            "ROLLBACK TO SAVEPOINT {SAVEPOINT};\nRELEASE SAVEPOINT {SAVEPOINT};\n{COMMIT_ASYNC}{SESSION_RESET}"
        )
    } else {
        format!("ROLLBACK;\n{SESSION_RESET}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_that_must_commit_on_their_own() {
        assert!(runs_alone("ALTER TYPE mood ADD VALUE 'meh';"));
        assert!(runs_alone("alter type mood add value if not exists 'meh'"));
        assert!(runs_alone(
            "DO $$ BEGIN ALTER TYPE mood ADD VALUE 'meh'; END $$;"
        ));
        assert!(runs_alone("CREATE TABLE t (id int);\nCOMMIT;"));
        assert!(runs_alone("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;"));
        assert!(runs_alone(
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u DEFERRABLE;"
        ));
        assert!(runs_alone("SET CONSTRAINTS ALL DEFERRED;"));
        assert!(!runs_alone(
            "-- ALTER TYPE mood ADD VALUE 'x'\nCREATE TABLE t (note text DEFAULT 'ALTER TYPE x ADD VALUE');"
        ));
        assert!(!runs_alone(
            "CREATE TYPE mood AS ENUM ('ok');\nALTER TABLE t ADD COLUMN value int;"
        ));
        assert!(!runs_alone(
            "SET search_path = app;\nSET SESSION AUTHORIZATION DEFAULT;"
        ));
        assert!(!runs_alone("CREATE TABLE \"COMMIT\" (id int);"));
    }
}
