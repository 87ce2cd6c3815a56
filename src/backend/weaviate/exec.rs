//! Typed operations turned into HTTP calls: run them, or list them for `plan`.

use serde_json::{json, Value};

use super::client::{Call, WeaviateClient};
use super::progress::{RebuildProgress, Recorder, Stop};
use super::rebuild;
use crate::backend::lease::Checkpoint;
use crate::backend::BackendError;
use crate::weaviate_ops::{merged_update, Operation, Schema, TenantSpec};

/// Where the operations come from, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The migration file.
    pub path: &'a str,
    /// The line its section starts on.
    pub line: u32,
}

/// Parses a fixture script (a JSON list) into operations; a migration's
/// sections arrive parsed ([`crate::migration::Section::Weaviate`]).
#[cfg(feature = "testing")]
pub fn parse_ops(source: Source<'_>, section: &str) -> Result<Vec<Operation>, BackendError> {
    if section.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(section).map_err(|e| BackendError::Refused {
        path: source.path.to_string(),
        message: format!("the operation list is not valid: {e}"),
    })
}

/// The server's schema and aliases, for validation.
pub async fn read_schema(client: &WeaviateClient) -> Result<Schema, BackendError> {
    let document = client.expect(&Call::new("GET", "/v1/schema", None)).await?;
    let mut schema = Schema::from_document(&document);
    let aliases = client.send(&Call::new("GET", "/v1/aliases", None)).await?;
    if aliases.ok() {
        for alias in aliases
            .body
            .get("aliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(name), Some(class)) = (alias["alias"].as_str(), alias["class"].as_str()) {
                schema.aliases.insert(name.to_string(), class.to_string());
            }
        }
    }
    Ok(schema)
}

/// Runs `ops` in order; the first failure stops and names the operation.
/// Under a lease (the recorder's), renews it on the server right before
/// each operation and checks it before each call, stopping when it is
/// lost. With `resume`, starts at the interrupted `rebuild_collection`
/// and goes on from its recorded progress.
pub async fn run_ops(
    client: &WeaviateClient,
    source: Source<'_>,
    ops: &[Operation],
    recorder: Option<&Recorder<'_>>,
    mut resume: Option<RebuildProgress>,
) -> Result<(), BackendError> {
    let first = resume.as_ref().map_or(0, |progress| progress.op);
    for (index, op) in ops.iter().enumerate().skip(first) {
        if let Some(recorder) = recorder {
            if index > first && is_rebuild(&ops[index - 1]) {
                // The rebuild before finished: a later failure is an ordinary dirty step.
                recorder
                    .save(None)
                    .await
                    .map_err(|stop| stopped(source, index - 1, &ops[index - 1], stop))?;
            }
            if let Some(lease) = recorder.lease {
                let revision_id = recorder.migration.revision_id.as_str();
                lease.checkpoint(Checkpoint::MidStep, revision_id).await;
                lease.ensure().await?;
            }
        }
        tracing::info!(
            op = op.name(),
            index = index + 1,
            path = source.path,
            "weaviate operation"
        );
        run_op(client, op, index, resume.take(), recorder)
            .await
            .map_err(|stop| stopped(source, index, op, stop))?;
    }
    Ok(())
}

fn is_rebuild(op: &Operation) -> bool {
    matches!(op, Operation::RebuildCollection { .. })
}

fn stopped(source: Source<'_>, index: usize, op: &Operation, stop: Stop) -> BackendError {
    match stop {
        Stop::Fenced(error) => error,
        Stop::Failed(message) => BackendError::Statement {
            path: source.path.to_string(),
            line: source.line,
            message: format!("operation {} (`{}`): {message}", index + 1, op.name()),
        },
    }
}

/// The rebuild a `rebuild_collection` operation asks for (with the default
/// batch size filled in), shared by `run_op` and `plan_ops`; `None` for any
/// other operation.
fn rebuild_of(op: &Operation, default_batch: u32) -> Option<rebuild::Rebuild<'_>> {
    match op {
        Operation::RebuildCollection {
            collection,
            drop_properties,
            rename_properties,
            retype_properties,
            batch_size,
        } => Some(rebuild::Rebuild {
            collection,
            drop_properties,
            rename_properties,
            retype_properties,
            batch_size: batch_size.unwrap_or(default_batch),
        }),
        _ => None,
    }
}

async fn run_op(
    client: &WeaviateClient,
    op: &Operation,
    index: usize,
    resume: Option<RebuildProgress>,
    recorder: Option<&Recorder<'_>>,
) -> Result<(), Stop> {
    if let Some(plan) = rebuild_of(op, client.config.batch_size) {
        return rebuild::run(client, &plan, index, resume, recorder).await;
    }
    if let Some(recorder) = recorder {
        recorder.fence()?;
    }
    match op {
        Operation::UpdateCollection { collection, config } => {
            let path = format!("/v1/schema/{collection}");
            let current = client
                .expect(&Call::new("GET", &path, None))
                .await
                .map_err(|e| e.to_string())?;
            let merged = merged_update(&current, config)?;
            Ok(expect(client, &Call::new("PUT", path, Some(merged))).await?)
        }
        _ => {
            for call in static_calls(op) {
                expect(client, &call).await?;
            }
            Ok(())
        }
    }
}

async fn expect(client: &WeaviateClient, call: &Call) -> Result<(), String> {
    client
        .expect(call)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The calls of an operation whose calls do not depend on the server.
fn static_calls(op: &Operation) -> Vec<Call> {
    match op {
        Operation::CreateCollection { class } => {
            vec![Call::new("POST", "/v1/schema", Some(class.clone()))]
        }
        Operation::DeleteCollection { collection } => vec![Call::new(
            "DELETE",
            format!("/v1/schema/{collection}"),
            None,
        )],
        Operation::AddProperty {
            collection,
            property,
        } => {
            vec![Call::new(
                "POST",
                format!("/v1/schema/{collection}/properties"),
                Some(property.clone()),
            )]
        }
        Operation::CreateAlias { alias, collection } => {
            vec![Call::new(
                "POST",
                "/v1/aliases",
                Some(json!({"alias": alias, "class": collection})),
            )]
        }
        Operation::UpdateAlias { alias, collection } => {
            vec![Call::new(
                "PUT",
                format!("/v1/aliases/{alias}"),
                Some(json!({ "class": collection })),
            )]
        }
        Operation::DeleteAlias { alias } => {
            vec![Call::new("DELETE", format!("/v1/aliases/{alias}"), None)]
        }
        Operation::AddTenants {
            collection,
            tenants,
        } => {
            let tenants: Vec<Value> = tenants.iter().map(tenant_json).collect();
            vec![Call::new(
                "POST",
                format!("/v1/schema/{collection}/tenants"),
                Some(Value::Array(tenants)),
            )]
        }
        Operation::RemoveTenants {
            collection,
            tenants,
        } => {
            vec![Call::new(
                "DELETE",
                format!("/v1/schema/{collection}/tenants"),
                Some(json!(tenants)),
            )]
        }
        Operation::Raw { method, path, body } => {
            vec![Call::new(method, path.clone(), body.clone())]
        }
        Operation::UpdateCollection { .. } | Operation::RebuildCollection { .. } => Vec::new(),
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    }
}

fn tenant_json(tenant: &TenantSpec) -> Value {
    match tenant {
        TenantSpec::Name(name) => json!({ "name": name }),
        TenantSpec::Full {
            name,
            activity_status: Some(status),
        } => json!({"name": name, "activityStatus": status}),
        TenantSpec::Full {
            name,
            activity_status: None,
        } => json!({ "name": name }),
    }
}

/// The calls `run_ops` makes, rendered for `plan`; calls that depend on the
/// server's answers are described.
pub fn plan_ops(ops: &[Operation], default_batch: u32) -> Vec<String> {
    let mut texts = Vec::new();
    for op in ops {
        if let Some(plan) = rebuild_of(op, default_batch) {
            texts.extend(rebuild::plan(&plan));
            continue;
        }
        match op {
            Operation::UpdateCollection { collection, config } => {
                texts.push(format!("GET /v1/schema/{collection}"));
                texts.push(format!(
                    "PUT /v1/schema/{collection}\n(the current definition, deep-merged with)\n{}",
                    serde_json::to_string_pretty(config).unwrap_or_default()
                ));
            }
            _ => texts.extend(static_calls(op).iter().map(Call::render)),
        }
    }
    texts
}
