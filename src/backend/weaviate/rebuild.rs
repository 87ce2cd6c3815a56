//! `rebuild_collection`, Weaviate's documented way to drop, rename or retype
//! a property: create a temporary collection with the wanted schema, copy
//! every object (same id, properties, vectors) in batches, delete the
//! original, recreate it under its own name (so applications keep querying
//! the same name), copy back, delete the temporary one.
//!
//! A failure while copying into the temporary collection leaves the
//! original untouched (the temporary one is removed). A failure after the
//! original was deleted keeps the temporary collection: it holds the data.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::client::{Call, WeaviateClient};
use crate::weaviate_ops::{map_properties, rebuild_target, rebuild_temp_name};

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

/// What the copy maps: the rebuild's changes, or nothing (copying back).
struct Mapping<'a> {
    drop_properties: &'a [String],
    rename_properties: &'a BTreeMap<String, String>,
    retype_properties: &'a BTreeMap<String, String>,
}

/// Runs the rebuild.
pub async fn run(client: &WeaviateClient, rebuild: &Rebuild<'_>) -> Result<(), String> {
    let collection = rebuild.collection;
    let temp = rebuild_temp_name(collection);
    let current = get(client, &format!("/v1/schema/{collection}")).await?;
    let target = rebuild_target(
        &current,
        rebuild.drop_properties,
        rebuild.rename_properties,
        rebuild.retype_properties,
    )?;
    refuse_leftover(client, collection, &temp).await?;
    let tenants = tenants(client, collection, &current).await?;
    let mapping = Mapping {
        drop_properties: rebuild.drop_properties,
        rename_properties: rebuild.rename_properties,
        retype_properties: rebuild.retype_properties,
    };
    let copied = copy_out(client, rebuild, &target, &tenants, &mapping).await?;
    let kept = |message: String| {
        format!("{message}; the objects of `{collection}` are kept in `{temp}`: copy them back, then `repair`")
    };
    delete(client, collection).await.map_err(kept)?;
    create(client, &target, &tenants).await.map_err(kept)?;
    let empty = BTreeMap::new();
    let identity = Mapping {
        drop_properties: &[],
        rename_properties: &empty,
        retype_properties: &empty,
    };
    let batch_size = rebuild.batch_size;
    let copied_back = copy_all(client, &temp, collection, &tenants, &identity, batch_size)
        .await
        .map_err(kept)?;
    if copied_back != copied {
        return Err(kept(format!(
            "copied {copied} objects out but {copied_back} back"
        )));
    }
    delete(client, &temp).await?;
    tracing::info!(collection, objects = copied, "rebuilt weaviate collection");
    Ok(())
}

/// Phase one: the temporary collection with the target schema, filled. On
/// failure it is removed and the original is untouched.
async fn copy_out(
    client: &WeaviateClient,
    rebuild: &Rebuild<'_>,
    target: &Value,
    tenants: &[Option<String>],
    mapping: &Mapping<'_>,
) -> Result<usize, String> {
    let (collection, temp) = (rebuild.collection, rebuild_temp_name(rebuild.collection));
    let mut temp_class = target.clone();
    temp_class["class"] = json!(temp);
    create(client, &temp_class, tenants).await?;
    let batch_size = rebuild.batch_size;
    match copy_all(client, collection, &temp, tenants, mapping, batch_size).await {
        Ok(copied) => Ok(copied),
        Err(message) => {
            let _ = delete(client, &temp).await;
            Err(format!(
                "copying `{collection}` into `{temp}` failed, `{collection}` is unchanged: {message}"
            ))
        }
    }
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
    ]
}

/// Tenant names of a multi-tenant collection; `[None]` otherwise.
async fn tenants(
    client: &WeaviateClient,
    collection: &str,
    class: &Value,
) -> Result<Vec<Option<String>>, String> {
    if class.pointer("/multiTenancyConfig/enabled") != Some(&Value::Bool(true)) {
        return Ok(vec![None]);
    }
    let answer = get(client, &format!("/v1/schema/{collection}/tenants")).await?;
    let names = answer.as_array().into_iter().flatten();
    Ok(names
        .filter_map(|t| Some(Some(t["name"].as_str()?.to_string())))
        .collect())
}

async fn create(
    client: &WeaviateClient,
    class: &Value,
    tenants: &[Option<String>],
) -> Result<(), String> {
    client
        .expect(&Call::new("POST", "/v1/schema", Some(class.clone())))
        .await
        .map_err(|e| e.to_string())?;
    let names: Vec<Value> = tenants
        .iter()
        .flatten()
        .map(|name| json!({ "name": name }))
        .collect();
    if !names.is_empty() {
        let path = format!(
            "/v1/schema/{}/tenants",
            class["class"].as_str().unwrap_or_default()
        );
        client
            .expect(&Call::new("POST", path, Some(Value::Array(names))))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn delete(client: &WeaviateClient, collection: &str) -> Result<(), String> {
    client
        .expect(&Call::new(
            "DELETE",
            format!("/v1/schema/{collection}"),
            None,
        ))
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn copy_all(
    client: &WeaviateClient,
    from: &str,
    to: &str,
    tenants: &[Option<String>],
    mapping: &Mapping<'_>,
    batch_size: u32,
) -> Result<usize, String> {
    let mut copied = 0;
    for tenant in tenants {
        copied += copy(client, from, to, tenant.as_deref(), mapping, batch_size).await?;
    }
    Ok(copied)
}

/// Copies every object of `from` (one tenant) into `to`, page by page with
/// the `after` cursor.
async fn copy(
    client: &WeaviateClient,
    from: &str,
    to: &str,
    tenant: Option<&str>,
    mapping: &Mapping<'_>,
    batch_size: u32,
) -> Result<usize, String> {
    let tenant_query = tenant.map(|t| format!("&tenant={t}")).unwrap_or_default();
    let (mut after, mut copied) = (None::<String>, 0usize);
    loop {
        let cursor = after
            .as_ref()
            .map(|id| format!("&after={id}"))
            .unwrap_or_default();
        let path = format!(
            "/v1/objects?class={from}&limit={batch_size}&include=vector{tenant_query}{cursor}"
        );
        let page = client
            .expect(&Call::new("GET", path, None))
            .await
            .map_err(|e| e.to_string())?;
        let objects = page
            .get("objects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if objects.is_empty() {
            return Ok(copied);
        }
        let batch: Vec<Value> = objects
            .iter()
            .map(|object| copy_object(object, to, tenant, mapping))
            .collect();
        write_batch(client, batch).await?;
        copied += objects.len();
        tracing::info!(from, to, copied, "copying weaviate objects");
        after = objects
            .last()
            .and_then(|o| o["id"].as_str())
            .map(str::to_string);
        if objects.len() < batch_size as usize {
            return Ok(copied);
        }
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
    let call = Call::new(
        "POST",
        "/v1/batch/objects",
        Some(json!({ "objects": objects })),
    );
    let results = client.expect(&call).await.map_err(|e| e.to_string())?;
    let failed: Vec<String> = results
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
        .collect();
    match failed.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "{} of the batch's objects were refused, first {first}",
            failed.len()
        )),
    }
}
