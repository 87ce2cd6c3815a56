//! dbmigrate's own rules: id, severity, why it is dangerous and the safe
//! rewrite. `docs/lint.md` lists the same table; a test keeps them in step.

use crate::migration::BackendKind;

use super::report::Severity;

/// One rule dbmigrate adds to squawk's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The id used in reports and in `dbmigrate:allow` comments.
    pub id: &'static str,
    /// The database whose files it reads.
    pub backend: BackendKind,
    /// Error or warning.
    pub severity: Severity,
    /// Why the statement is dangerous, in one sentence.
    pub why: &'static str,
    /// The safe rewrite.
    pub fix: &'static str,
}

const fn rule(
    id: &'static str,
    backend: BackendKind,
    severity: Severity,
    why: &'static str,
    fix: &'static str,
) -> Rule {
    Rule {
        id,
        backend,
        severity,
        why,
        fix,
    }
}

use BackendKind::{Neo4j, Postgres, Weaviate};
use Severity::{Error, Warning};

/// Every rule dbmigrate adds, PostgreSQL first.
pub const RULES: [Rule; 14] = [
    rule("concurrently-in-transaction", Postgres, Error,
        "`CONCURRENTLY` cannot run inside a transaction block, and this migration runs in one (`Transaction: single`), so the server refuses it",
        "put the statement in its own migration with `-- Transaction: none`"),
    rule("backfill-in-transaction", Postgres, Warning,
        "an UPDATE of an existing table inside the migration's one transaction holds its row locks until the whole backfill commits",
        "move the backfill to a `-- Transaction: none` migration and update in batches (`WHERE id IN (SELECT id … LIMIT 1000)`)"),
    rule("missing-lock-timeout", Postgres, Error,
        "the statement waits for an ACCESS EXCLUSIVE lock with no lock timeout, and every query on the table queues behind it meanwhile",
        "add `-- Lock-Timeout: 5s` to the header (or `lock-timeout` in [package.metadata.dbmigrate]) and retry on timeout"),
    rule("set-not-null-without-check", Postgres, Error,
        "`SET NOT NULL` scans the whole table under ACCESS EXCLUSIVE unless a validated `CHECK (column IS NOT NULL)` already proves it",
        "first `ADD CONSTRAINT … CHECK (column IS NOT NULL) NOT VALID`, then `VALIDATE CONSTRAINT` outside that transaction, then `SET NOT NULL`"),
    rule("contract-in-same-release", Postgres, Error,
        "the column is dropped or renamed in the same release that adds its replacement, so the release still running reads a column that is gone",
        "ship the expand step (add, backfill, write both) in one release and drop or rename the old column in a later one"),
    rule("suppression-without-reason", Postgres, Warning,
        "a `dbmigrate:allow` comment without a reason hides a danger without telling the reviewer why it is acceptable",
        "write the reason after the rule id: `-- dbmigrate:allow rule-id the table is empty in every environment`"),
    rule("neo4j-blocking-index", Neo4j, Warning,
        "a constraint or range index on a label with many nodes is populated before the migration continues, and a uniqueness constraint fails late on a duplicate",
        "create the index in its own migration before the release that needs it; check for duplicates first for a constraint"),
    rule("neo4j-unbatched-write", Neo4j, Warning,
        "a MATCH … SET/REMOVE/DELETE over a whole label runs as one transaction that holds every touched node's lock and all changes in memory",
        "wrap the write in `CALL { … } IN TRANSACTIONS OF 10000 ROWS` (the migration then runs it in an auto-commit transaction)"),
    rule("neo4j-drop-by-definition", Neo4j, Error,
        "Neo4j 5 drops constraints and indexes only by name; the `DROP … ON` form is refused",
        "drop by name: `DROP INDEX name IF EXISTS` / `DROP CONSTRAINT name IF EXISTS` (`SHOW INDEXES` lists the names)"),
    rule("neo4j-schema-and-data", Neo4j, Warning,
        "schema and data statements cannot share a transaction, so a failure between them leaves the file half applied",
        "split the file: one migration for the schema statements, one for the data statements"),
    rule("weaviate-rebuild-collection", Weaviate, Warning,
        "`rebuild_collection` copies every object and vector twice, and writes to the collection during the copy are lost",
        "stop writes to the collection for the duration, or add a new collection and switch the app over in a later release"),
    rule("weaviate-delete-aliased-collection", Weaviate, Error,
        "an alias still points to the collection, so every client reading through the alias fails once it is deleted",
        "point the alias at the replacement collection first (`PUT /v1/aliases/{alias}`), then delete"),
    rule("weaviate-property-not-written", Weaviate, Warning,
        "the running release does not write the new property, so objects it inserts meanwhile lack it and filters on it miss them",
        "deploy the writer first or backfill after the release; treat a missing value as unknown in queries"),
    rule("unknown-rule-suppressed", Postgres, Warning,
        "the `dbmigrate:allow` comment names a rule that does not exist, so it suppresses nothing",
        "use an id from `docs/lint.md` (squawk's ids or dbmigrate's)"),
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}

/// True for a rule id dbmigrate or squawk knows.
pub fn is_known(id: &str) -> bool {
    find(id).is_some() || id.parse::<squawk_linter::Rule>().is_ok()
}
