//! Copying every object of one collection into another (same ids,
//! properties mapped, vectors kept), page by page with the `after` cursor,
//! recording the cursor after each batch so an interrupted copy goes on
//! from there. Writes are batch upserts by id, so a batch copied twice
//! leaves one object each.

use std::collections::BTreeMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use serde_json::{json, Map, Value};

use super::client::{Call, WeaviateClient};
use super::progress::{RebuildProgress, Recorder, Stop};
use super::rebuild::tenants;
use crate::weaviate_ops::map_properties;

/// Marks the message of a batch whose objects the server refused: retrying
/// would be refused again.
pub const REFUSED: &str = "of the batch's objects were refused";

/// What the copy maps: the rebuild's changes, or nothing (copying back).
pub struct Mapping<'a> {
    /// Properties to leave out.
    pub drop_properties: &'a [String],
    /// Old name → new name.
    pub rename_properties: &'a BTreeMap<String, String>,
    /// Property → new data type.
    pub retype_properties: &'a BTreeMap<String, String>,
}

/// One copy: from, to, how, how many per batch.
pub struct Copy<'a> {
    /// The source collection.
    pub from: &'a str,
    /// The destination collection.
    pub to: &'a str,
    /// The property changes.
    pub mapping: &'a Mapping<'a>,
    /// Objects per page and batch.
    pub batch_size: u32,
}

impl Copy<'_> {
    /// Copies every object not yet copied according to `progress` (tenant
    /// index and cursor), recording the progress after each batch.
    pub async fn run(
        &self,
        client: &WeaviateClient,
        progress: &mut RebuildProgress,
        recorder: Option<&Recorder<'_>>,
    ) -> Result<(), Stop> {
        let tenants = tenants(client, self.from).await?;
        while let Some(tenant) = tenants.get(progress.tenant) {
            while self.batch(client, tenant.as_deref(), progress).await? {
                if let Some(recorder) = recorder {
                    recorder.save(Some(progress)).await?;
                }
            }
            progress.tenant += 1;
            progress.after = None;
        }
        Ok(())
    }

    /// Copies the next page of `tenant`; `false` when there was none.
    async fn batch(
        &self,
        client: &WeaviateClient,
        tenant: Option<&str>,
        progress: &mut RebuildProgress,
    ) -> Result<bool, Stop> {
        let (from, size) = (self.from, self.batch_size);
        let tenant_query = tenant.map(|t| format!("&tenant={t}")).unwrap_or_default();
        let cursor = progress
            .after
            .as_ref()
            .map(|id| format!("&after={id}"))
            .unwrap_or_default();
        let path =
            format!("/v1/objects?class={from}&limit={size}&include=vector{tenant_query}{cursor}");
        let page = client
            .expect(&Call::new("GET", path, None))
            .await
            .map_err(|e| e.to_string())?;
        let objects = page
            .get("objects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(last) = objects.last().and_then(|o| o["id"].as_str()) else {
            return Ok(false);
        };
        let batch: Vec<Value> = objects
            .iter()
            .map(|object| copy_object(object, self.to, tenant, self.mapping))
            .collect();
        write_batch(client, batch).await?;
        progress.done += objects.len() as u64;
        progress.after = Some(last.to_string());
        tracing::info!(
            from,
            to = self.to,
            copied = progress.done,
            "copying weaviate objects"
        );
        Ok(true)
    }
}

fn copy_object(object: &Value, to: &str, tenant: Option<&str>, mapping: &Mapping<'_>) -> Value {
    let empty = Map::new();
    let properties = object
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let properties = map_properties(
        properties,
        mapping.drop_properties,
        mapping.rename_properties,
        mapping.retype_properties,
    );
    let mut copy = json!({"class": to, "id": object["id"], "properties": properties});
    for key in ["vector", "vectors"] {
        if let Some(vector) = object
            .get(key)
            .filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()))
        {
            copy[key] = vector.clone();
        }
    }
    if let Some(tenant) = tenant {
        copy["tenant"] = json!(tenant);
    }
    copy
}

async fn write_batch(client: &WeaviateClient, objects: Vec<Value>) -> Result<(), String> {
    // On every replica: the next phase lists them from one replica.
    let call = Call::new(
        "POST",
        format!("/v1/batch/objects?{}", super::history::WRITE_CONSISTENCY),
        Some(json!({ "objects": objects })),
    );
    // In a cluster, a collection created a moment ago (the temporary one,
    // the recreated original) may not have its shard on every node yet:
    // that answer is worth a retry, and upserts by id repeat safely.
    let mut delays = ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(20))
        .with_jitter()
        .with_max_times(10)
        .build();
    loop {
        let results = client.expect(&call).await.map_err(|e| e.to_string())?;
        let failed = refused(&results);
        match (failed.first(), delays.next()) {
            (None, _) => return Ok(()),
            (Some(first), Some(delay)) if first.contains("could not find index") => {
                tokio::time::sleep(delay).await;
            }
            (Some(first), _) => return Err(format!("{} {REFUSED}, first {first}", failed.len())),
        }
    }
}

/// `object <id>: <messages>` for each object the batch answer refused.
fn refused(results: &Value) -> Vec<String> {
    results
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let errors = r.pointer("/result/errors/error")?.as_array()?;
            let messages: Vec<&str> = errors
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect();
            Some(format!("object {}: {}", r["id"], messages.join("; ")))
        })
        .collect()
}
