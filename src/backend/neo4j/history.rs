//! History nodes: one `{prefix}Migration` node per applied migration under a
//! uniqueness constraint on `revision_id`; the Cypher that reads and writes them.

use std::time::{Duration, UNIX_EPOCH};

use neo4rs::Row;

use super::config::Names;
use super::cypher::{Cypher, Param};
use crate::backend::{AppliedMigration, RecordState};
use crate::migration::{Direction, Migration};

/// The uniqueness constraint that backs the history (a schema statement).
pub(super) fn ensure_constraint(names: &Names) -> Cypher {
    Cypher::new(format!(
        "CREATE CONSTRAINT {} IF NOT EXISTS FOR (m:{}) REQUIRE m.revision_id IS UNIQUE",
        names.migration_constraint, names.migration
    ))
}

/// Every record, oldest first. Reading a label that does not exist creates nothing.
pub(super) fn read(names: &Names) -> Cypher {
    Cypher::new(format!(
        "MATCH (m:{}) RETURN m.revision_id AS revision_id, m.parent AS parent, \
         m.message AS message, m.checksum AS checksum, \
         m.applied_at.epochMillis AS applied_at_ms, m.duration_ms AS duration_ms, \
         m.state AS state, m.applied_by AS applied_by \
         ORDER BY m.applied_at, m.revision_id",
        names.migration
    ))
}

/// Writes the record of `migration` in `state`, replacing what was there.
/// A clean record takes the measured duration.
pub(super) fn write(
    names: &Names,
    migration: &Migration,
    state: RecordState,
    applied_by: &str,
) -> Cypher {
    let duration = match state {
        RecordState::Applied => Param::MeasuredMs,
        RecordState::Dirty(_) => Param::Int(0),
    };
    Cypher::new(format!(
        "MERGE (m:{} {{revision_id: $revision_id}}) \
         SET m.parent = $parent, m.message = $message, m.checksum = $checksum, \
         m.applied_at = datetime(), m.duration_ms = $duration_ms, m.state = $state, \
         m.applied_by = $applied_by",
        names.migration
    ))
    .param("revision_id", Param::Str(migration.revision_id.clone()))
    .param("parent", Param::OptStr(migration.parent.clone()))
    .param("message", Param::Str(migration.message.clone()))
    .param("checksum", Param::Str(migration.checksum.to_hex()))
    .param("duration_ms", duration)
    .param("state", Param::Str(state.as_str().into()))
    .param("applied_by", Param::Str(applied_by.into()))
}

/// Marks the record of a migration being reverted dirty, keeping what it
/// recorded when applied (or creating it when it was missing).
pub(super) fn mark_reverting(names: &Names, migration: &Migration, applied_by: &str) -> Cypher {
    Cypher::new(format!(
        "MERGE (m:{} {{revision_id: $revision_id}}) \
         ON CREATE SET m.parent = $parent, m.message = $message, m.checksum = $checksum, \
         m.applied_at = datetime(), m.duration_ms = 0, m.applied_by = $applied_by \
         SET m.state = $state",
        names.migration
    ))
    .param("revision_id", Param::Str(migration.revision_id.clone()))
    .param("parent", Param::OptStr(migration.parent.clone()))
    .param("message", Param::Str(migration.message.clone()))
    .param("checksum", Param::Str(migration.checksum.to_hex()))
    .param("applied_by", Param::Str(applied_by.into()))
    .param(
        "state",
        Param::Str(RecordState::Dirty(Direction::Down).as_str().into()),
    )
}

/// Removes the record of a revision.
pub(super) fn delete(names: &Names, revision_id: &str) -> Cypher {
    Cypher::new(format!(
        "MATCH (m:{} {{revision_id: $revision_id}}) DELETE m",
        names.migration
    ))
    .param("revision_id", Param::Str(revision_id.into()))
}

/// A history row as the read query returns it, or what is wrong with it.
pub(super) fn from_row(row: &Row) -> Result<AppliedMigration, String> {
    let revision_id: String = row
        .get("revision_id")
        .map_err(|e| format!("a record without revision_id ({e})"))?;
    let field =
        |name: &str, e: neo4rs::DeError| format!("record {revision_id}: bad `{name}` ({e})");
    let state: String = row.get("state").map_err(|e| field("state", e))?;
    let state = state
        .parse::<RecordState>()
        .map_err(|e| format!("record {revision_id}: {e}"))?;
    let applied_at_ms: i64 = row
        .get("applied_at_ms")
        .map_err(|e| field("applied_at", e))?;
    let duration_ms: Option<i64> = row
        .get("duration_ms")
        .map_err(|e| field("duration_ms", e))?;
    Ok(AppliedMigration {
        parent: row.get("parent").map_err(|e| field("parent", e))?,
        message: row
            .get::<Option<String>>("message")
            .map_err(|e| field("message", e))?
            .unwrap_or_default(),
        checksum: row.get("checksum").map_err(|e| field("checksum", e))?,
        applied_at: UNIX_EPOCH + Duration::from_millis(u64::try_from(applied_at_ms).unwrap_or(0)),
        duration: Duration::from_millis(u64::try_from(duration_ms.unwrap_or(0)).unwrap_or(0)),
        state,
        applied_by: row
            .get::<Option<String>>("applied_by")
            .map_err(|e| field("applied_by", e))?
            .unwrap_or_default(),
        revision_id,
    })
}

/// Milliseconds in a duration, for the `duration_ms` property.
pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
