//! `rebuild_collection`, Weaviate's documented way to drop, rename or retype
//! a property: create a temporary collection with the wanted schema, copy
//! every object (same id, properties, vectors) in batches, delete the
//! original, recreate it under its own name (so applications keep querying
//! the same name), copy back, delete the temporary one.
//!
//! The rebuild is a state machine whose phase and copy cursor are recorded
//! in the step's dirty history record (`progress.rs`) after every phase and
//! batch; `upgrade` resumes an interrupted one from there, every call being
//! idempotent (same ids, create-if-absent, delete-if-present). An object
//! the new schema refuses while copying out removes the temporary
//! collection and leaves the original untouched.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::client::{Call, WeaviateClient};
use super::copy::{Copy, Mapping, REFUSED};
use super::progress::{RebuildPhase, RebuildProgress, Recorder, Stop};
use crate::weaviate_ops::{rebuild_target, rebuild_temp_name};

/// One rebuild's parameters.
#[derive(Debug)]
pub struct Rebuild<'a> {
    /// The collection, kept under its name.
    pub collection: &'a str,
    /// Properties to leave out.
    pub drop_properties: &'a [String],
    /// Old name → new name.
    pub rename_properties: &'a BTreeMap<String, String>,
    /// Property → new data type.
    pub retype_properties: &'a BTreeMap<String, String>,
    /// Objects per page and batch.
    pub batch_size: u32,
}

/// Runs the rebuild as operation `op` of its section, from the start or,
/// with `resume`, from the recorded progress of an interrupted run. Every
/// phase change and every batch is recorded through `recorder`, and the
/// lease is checked before each call.
pub async fn run(
    client: &WeaviateClient,
    rebuild: &Rebuild<'_>,
    op: usize,
    resume: Option<RebuildProgress>,
    recorder: Option<&Recorder<'_>>,
) -> Result<(), Stop> {
    let collection = rebuild.collection;
    let temp = rebuild_temp_name(collection);
    let mut progress = match resume {
        Some(progress) => progress,
        None => {
            refuse_leftover(client, collection, &temp).await?;
            let total = count(client, collection).await;
            let progress = RebuildProgress::start(op, collection, &temp, total);
            save(recorder, &progress).await?;
            progress
        }
    };
    loop {
        match progress.phase {
            RebuildPhase::CopyingOut => copy_out(client, rebuild, &mut progress, recorder).await?,
            RebuildPhase::CopiedOut => {
                fence(recorder)?;
                delete(client, collection)
                    .await
                    .map_err(|m| kept(&progress, m))?;
                progress.enter(RebuildPhase::OriginalDropped);
            }
            RebuildPhase::OriginalDropped => {
                fence(recorder)?;
                recreate(client, collection, &temp, recorder)
                    .await
                    .map_err(|m| kept(&progress, m))?;
                progress.enter(RebuildPhase::Recreated);
            }
            RebuildPhase::Recreated | RebuildPhase::CopyingBack => {
                copy_back(client, rebuild, &mut progress, recorder).await?
            }
            RebuildPhase::CopiedBack => {
                fence(recorder)?;
                delete(client, &temp).await?;
                progress.enter(RebuildPhase::TempDropped);
            }
            RebuildPhase::TempDropped => {
                tracing::info!(
                    collection,
                    objects = progress.done,
                    "rebuilt weaviate collection"
                );
                return Ok(());
            }
        }
        save(recorder, &progress).await?;
    }
}

/// A failure while the temporary collection holds the data: say so.
fn kept(progress: &RebuildProgress, message: String) -> String {
    format!(
        "{message}; {}: `cargo dbmigrate upgrade` resumes it",
        progress.summary()
    )
}

fn fence(recorder: Option<&Recorder<'_>>) -> Result<(), Stop> {
    recorder.map_or(Ok(()), Recorder::fence)
}

async fn save(recorder: Option<&Recorder<'_>>, progress: &RebuildProgress) -> Result<(), Stop> {
    match recorder {
        Some(recorder) => recorder.save(Some(progress)).await,
        None => Ok(()),
    }
}

/// Phase one: the temporary collection with the target schema, filled from
/// the original (which stays intact). A refused object removes the
/// temporary collection, since a retry would be refused again.
async fn copy_out(
    client: &WeaviateClient,
    rebuild: &Rebuild<'_>,
    progress: &mut RebuildProgress,
    recorder: Option<&Recorder<'_>>,
) -> Result<(), Stop> {
    let (collection, temp) = (rebuild.collection, progress.temp.clone());
    let answer = client
        .send(&Call::new("GET", format!("/v1/schema/{collection}"), None))
        .await
        .map_err(|e| e.to_string())?;
    if !answer.ok() {
        return Err(Stop::Failed(format!(
            "`{collection}` is missing although copying it out did not finish: {}",
            progress.summary()
        )));
    }
    let target = rebuild_target(
        &answer.body,
        rebuild.drop_properties,
        rebuild.rename_properties,
        rebuild.retype_properties,
    )?;
    if !exists(client, &temp).await? {
        let mut temp_class = target.clone();
        temp_class["class"] = json!(temp);
        let tenants = tenants(client, collection).await?;
        fence(recorder)?;
        create(client, &temp_class, &tenants, recorder).await?;
    }
    let mapping = Mapping {
        drop_properties: rebuild.drop_properties,
        rename_properties: rebuild.rename_properties,
        retype_properties: rebuild.retype_properties,
    };
    let copy = Copy {
        from: collection,
        to: &temp,
        mapping: &mapping,
        batch_size: rebuild.batch_size,
    };
    match copy.run(client, progress, recorder).await {
        Ok(()) => {
            progress.enter(RebuildPhase::CopiedOut);
            Ok(())
        }
        Err(Stop::Failed(message)) if message.contains(REFUSED) => {
            let _ = delete(client, &temp).await;
            if let Some(recorder) = recorder {
                let _ = recorder.save(None).await;
            }
            Err(Stop::Failed(format!(
                "copying `{collection}` into `{temp}` failed, `{collection}` is unchanged: {message}"
            )))
        }
        Err(other) => Err(other),
    }
}

/// Phase two: every object of the temporary collection back into the
/// recreated original; then the counts must agree.
async fn copy_back(
    client: &WeaviateClient,
    rebuild: &Rebuild<'_>,
    progress: &mut RebuildProgress,
    recorder: Option<&Recorder<'_>>,
) -> Result<(), Stop> {
    if progress.phase == RebuildPhase::Recreated {
        let copied = progress.done;
        progress.enter(RebuildPhase::CopyingBack);
        (progress.done, progress.total) = (0, Some(copied));
    }
    let empty = BTreeMap::new();
    let identity = Mapping {
        drop_properties: &[],
        rename_properties: &empty,
        retype_properties: &empty,
    };
    let temp = progress.temp.clone();
    let copy = Copy {
        from: &temp,
        to: rebuild.collection,
        mapping: &identity,
        batch_size: rebuild.batch_size,
    };
    if let Err(stop) = copy.run(client, progress, recorder).await {
        return Err(match stop {
            Stop::Failed(message) => Stop::Failed(kept(progress, message)),
            fenced => fenced,
        });
    }
    if progress.total.is_some_and(|total| total != progress.done) {
        let message = format!(
            "copied {} objects out but {} back",
            progress.total.unwrap_or_default(),
            progress.done
        );
        return Err(Stop::Failed(kept(progress, message)));
    }
    progress.enter(RebuildPhase::CopiedBack);
    Ok(())
}

/// Creates the original again from the temporary collection's definition,
/// unless an interrupted run already did.
async fn recreate(
    client: &WeaviateClient,
    collection: &str,
    temp: &str,
    recorder: Option<&Recorder<'_>>,
) -> Result<(), String> {
    let empty = BTreeMap::new();
    let temp_class = get(client, &format!("/v1/schema/{temp}")).await?;
    // The temporary collection has the target schema already; this only
    // leaves out what Weaviate reports but refuses back.
    let mut class = rebuild_target(&temp_class, &[], &empty, &empty)?;
    class["class"] = json!(collection);
    let tenants = tenants(client, temp).await?;
    create(client, &class, &tenants, recorder)
        .await
        .map_err(|stop| match stop {
            Stop::Failed(message) => message,
            Stop::Fenced(error) => error.to_string(),
        })
}

async fn exists(client: &WeaviateClient, collection: &str) -> Result<bool, String> {
    let call = Call::new("GET", format!("/v1/schema/{collection}"), None);
    Ok(client.send(&call).await.map_err(|e| e.to_string())?.ok())
}

/// The number of objects in `collection` (all tenants), for progress
/// messages; `None` when the server does not say.
async fn count(client: &WeaviateClient, collection: &str) -> Option<u64> {
    let mut total = 0;
    for tenant in tenants(client, collection).await.ok()? {
        let args = tenant
            .map(|t| format!("(tenant: {t:?})"))
            .unwrap_or_default();
        let query = format!("{{ Aggregate {{ {collection}{args} {{ meta {{ count }} }} }} }}");
        let call = Call::new("POST", "/v1/graphql", Some(json!({ "query": query })));
        let answer = client.expect(&call).await.ok()?;
        let pointer = format!("/data/Aggregate/{collection}/0/meta/count");
        total += answer.pointer(&pointer)?.as_u64()?;
    }
    Some(total)
}

/// A temporary collection left by an interrupted rebuild may hold the only
/// copy of the objects: stop and say what to check.
async fn refuse_leftover(
    client: &WeaviateClient,
    collection: &str,
    temp: &str,
) -> Result<(), String> {
    let call = Call::new("GET", format!("/v1/schema/{temp}"), None);
    if !client.send(&call).await.map_err(|e| e.to_string())?.ok() {
        return Ok(());
    }
    Err(format!(
        "collection `{temp}` exists, left by an interrupted rebuild of `{collection}`: if `{collection}` \
         holds all its objects delete `{temp}`, otherwise copy `{temp}` back into `{collection}` first; \
         then `repair` this migration"
    ))
}

async fn get(client: &WeaviateClient, path: &str) -> Result<Value, String> {
    let call = Call::new("GET", path, None);
    client.expect(&call).await.map_err(|e| e.to_string())
}

/// The calls of a rebuild, for `plan`.
pub fn plan(rebuild: &Rebuild<'_>) -> Vec<String> {
    let (collection, temp, n) = (
        rebuild.collection,
        rebuild_temp_name(rebuild.collection),
        rebuild.batch_size,
    );
    let changes = json!({
        "drop_properties": rebuild.drop_properties,
        "rename_properties": rebuild.rename_properties,
        "retype_properties": rebuild.retype_properties,
    });
    vec![
        format!("GET /v1/schema/{collection}"),
        format!("GET /v1/schema/{temp}"),
        format!("POST /v1/schema\n(the definition of {collection} renamed {temp}, with {changes})"),
        format!("GET /v1/objects?class={collection}&limit={n}&include=vector&after=<last id> (repeated until empty)"),
        format!("POST /v1/batch/objects\n({n} objects of {collection} into {temp}, same ids and vectors; repeated)"),
        format!("DELETE /v1/schema/{collection}"),
        format!("POST /v1/schema\n(the definition of {collection} with {changes})"),
        format!("GET /v1/objects?class={temp}&limit={n}&include=vector&after=<last id> (repeated until empty)"),
        format!("POST /v1/batch/objects\n({n} objects of {temp} back into {collection}; repeated)"),
        format!("DELETE /v1/schema/{temp}"),
        "POST /v1/batch/objects\n(the dirty history record with the rebuild's phase and copy cursor; after every phase and batch)".to_string(),
    ]
}

/// Tenant names of a multi-tenant collection, sorted; `[None]` otherwise.
pub(super) async fn tenants(
    client: &WeaviateClient,
    collection: &str,
) -> Result<Vec<Option<String>>, String> {
    let class = get(client, &format!("/v1/schema/{collection}")).await?;
    if class.pointer("/multiTenancyConfig/enabled") != Some(&Value::Bool(true)) {
        return Ok(vec![None]);
    }
    let answer = get(client, &format!("/v1/schema/{collection}/tenants")).await?;
    let names = answer.as_array().into_iter().flatten();
    let mut names: Vec<Option<String>> = names
        .filter_map(|t| Some(Some(t["name"].as_str()?.to_string())))
        .collect();
    names.sort();
    Ok(names)
}

/// Creates `class` with its tenants; a collection or tenant an interrupted
/// run already created is kept.
async fn create(
    client: &WeaviateClient,
    class: &Value,
    tenants: &[Option<String>],
    recorder: Option<&Recorder<'_>>,
) -> Result<(), Stop> {
    let answer = client
        .send(&Call::new("POST", "/v1/schema", Some(class.clone())))
        .await
        .map_err(|e| e.to_string())?;
    if !answer.ok() && !answer.message().contains("already exists") {
        return Err(Stop::Failed(format!(
            "POST /v1/schema: {}",
            answer.message()
        )));
    }
    let name = class["class"].as_str().unwrap_or_default();
    let path = format!("/v1/schema/{name}/tenants");
    let mut missing: Vec<&str> = tenants.iter().flatten().map(String::as_str).collect();
    if !missing.is_empty() {
        let present = get(client, &path).await?;
        let present: Vec<&str> = present
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str())
            .collect();
        missing.retain(|name| !present.contains(name));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<Value> = missing.iter().map(|name| json!({ "name": name })).collect();
    fence(recorder)?;
    client
        .expect(&Call::new("POST", path, Some(Value::Array(names))))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Deletes a collection; one already gone is fine (an interrupted run
/// deleted it before recording so).
async fn delete(client: &WeaviateClient, collection: &str) -> Result<(), String> {
    let call = Call::new("DELETE", format!("/v1/schema/{collection}"), None);
    let answer = client.send(&call).await.map_err(|e| e.to_string())?;
    if answer.ok() || answer.status == 404 {
        Ok(())
    } else {
        Err(format!(
            "DELETE /v1/schema/{collection}: {}",
            answer.message()
        ))
    }
}
