//! History records as objects of the `{prefix}History` collection, one per
//! revision under a deterministic id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::client::{Call, WeaviateClient};
use super::progress::RebuildProgress;
use crate::backend::{AppliedMigration, BackendError, RecordState};
use crate::migration::Migration;

/// The deterministic object id of `key` in `class`: SHA-256 of both, shaped
/// as a version-5-like UUID.
pub fn object_id(class: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("dbmigrate/{class}/{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The class definition of a bookkeeping collection: text and number
/// properties, no vectorizer, no vector index work.
pub fn bookkeeping_class(class: &str, texts: &[&str], numbers: &[&str]) -> Value {
    let text = texts
        .iter()
        .map(|name| json!({"name": name, "dataType": ["text"], "tokenization": "field"}));
    let number = numbers
        .iter()
        .map(|name| json!({"name": name, "dataType": ["number"]}));
    json!({
        "class": class,
        "description": "dbmigrate bookkeeping: do not edit",
        "vectorizer": "none",
        "properties": text.chain(number).collect::<Vec<_>>(),
    })
}

/// The history collection's definition.
pub fn history_class(class: &str) -> Value {
    bookkeeping_class(
        class,
        &[
            "revision_id",
            "parent",
            "message",
            "checksum",
            "state",
            "applied_by",
            "progress",
        ],
        &["applied_at_ms", "duration_ms"],
    )
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
}

/// The record of `migration` in `state`.
pub fn record(
    migration: &Migration,
    state: RecordState,
    applied_by: &str,
    duration: Duration,
) -> Value {
    let state = state.as_str();
    json!({
        "revision_id": migration.revision_id,
        "parent": migration.parent.clone().unwrap_or_default(),
        "message": migration.message,
        "checksum": migration.checksum.to_hex(),
        "state": state,
        "applied_by": applied_by,
        "applied_at_ms": now_ms(),
        "duration_ms": duration.as_millis() as f64,
    })
}

/// The consistency level of every write of dbmigrate's own objects (history
/// records, lock leases) and of a rebuild's copies: every replica
/// acknowledges before the call returns. Weaviate's list endpoint
/// (`GET /v1/objects?class=…`, how history and copies are read) takes no
/// consistency level and reads one replica, so after a QUORUM write a node
/// whose replica lags could show a finished step as dirty, or a copy
/// without its last objects. A node down stops migrations (not boots with
/// nothing pending, which only read) until it is back.
pub const WRITE_CONSISTENCY: &str = "consistency_level=ALL";

/// Writes (creates or replaces) a record in one call: a batch upsert.
pub fn upsert_call(class: &str, revision_id: &str, properties: Value) -> Call {
    let object =
        json!({"class": class, "id": object_id(class, revision_id), "properties": properties});
    Call::new(
        "POST",
        format!("/v1/batch/objects?{WRITE_CONSISTENCY}"),
        Some(json!({ "objects": [object] })),
    )
}

/// Writes the record of `migration` in `state`, with a step's progress
/// (JSON of a [`RebuildProgress`]) when it has one.
pub async fn put(
    client: &WeaviateClient,
    class: &str,
    migration: &Migration,
    state: RecordState,
    applied_by: &str,
    took: Duration,
    progress: Option<&str>,
) -> Result<(), BackendError> {
    let mut properties = record(migration, state, applied_by, took);
    if let Some(progress) = progress {
        properties["progress"] = json!(progress);
    }
    let call = upsert_call(class, &migration.revision_id, properties);
    let results = client.expect(&call).await?;
    let error = results
        .pointer("/0/result/errors/error/0/message")
        .and_then(|m| m.as_str());
    match error {
        None => Ok(()),
        Some(message) => Err(BackendError::Rejected {
            location: client.location().to_string(),
            what: "writing the history record".to_string(),
            message: message.to_string(),
        }),
    }
}

/// Deletes a record.
pub fn delete_call(class: &str, revision_id: &str) -> Call {
    Call::new(
        "DELETE",
        format!(
            "/v1/objects/{class}/{}?{WRITE_CONSISTENCY}",
            object_id(class, revision_id)
        ),
        None,
    )
}

/// Reads every record in one call.
pub fn read_call(class: &str) -> Call {
    Call::new(
        "GET",
        format!("/v1/objects?class={class}&limit=10000"),
        None,
    )
}

/// Turns `GET /v1/objects` objects into records, oldest first.
pub fn parse_records(body: &Value) -> Result<Vec<AppliedMigration>, String> {
    let objects = body
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut records = objects
        .iter()
        .map(parse_record)
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| (a.applied_at, &a.revision_id).cmp(&(b.applied_at, &b.revision_id)));
    Ok(records)
}

fn parse_record(object: &Value) -> Result<AppliedMigration, String> {
    let properties = &object["properties"];
    let text = |name: &str| {
        properties
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let number = |name: &str| {
        properties
            .get(name)
            .and_then(Value::as_f64)
            .unwrap_or_default()
            .max(0.0)
    };
    let state = text("state")
        .parse::<RecordState>()
        .map_err(|e| format!("object {}: {e}", object["id"]))?;
    let revision_id = text("revision_id");
    if revision_id.is_empty() {
        return Err(format!("object {} has no revision_id", object["id"]));
    }
    let parent = Some(text("parent")).filter(|parent| !parent.is_empty());
    let progress = Some(text("progress"))
        .filter(|p| !p.is_empty() && state != RecordState::Applied)
        .map(|p| {
            serde_json::from_str::<RebuildProgress>(&p)
                .map(|p| p.to_step_progress())
                .map_err(|e| format!("object {} has unreadable progress: {e}", object["id"]))
        })
        .transpose()?;
    Ok(AppliedMigration {
        revision_id,
        parent,
        message: text("message"),
        checksum: text("checksum"),
        applied_at: UNIX_EPOCH + Duration::from_millis(number("applied_at_ms") as u64),
        duration: Duration::from_millis(number("duration_ms") as u64),
        state,
        applied_by: text("applied_by"),
        progress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_stable_uuids() {
        let id = object_id("DbmigrateHistory", "20241203_0900_f6a7b8");
        assert_eq!(id, object_id("DbmigrateHistory", "20241203_0900_f6a7b8"));
        assert_ne!(id, object_id("OtherHistory", "20241203_0900_f6a7b8"));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "5");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }
}
