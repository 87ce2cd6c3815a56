//! Neo4j node counts per label and Weaviate object counts per collection
//! (and the aliases pointing at them), for the lint's live messages.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use dbmigrate_core::backend::redact_url;
use dbmigrate_core::backend::weaviate::{Call, WeaviateClient, WeaviateConfig};
use serde_json::{json, Value};

/// Nodes per label, from the count store (one cheap query per label).
pub async fn neo4j_labels(
    uri: &str,
    user: &str,
    password: &str,
    database: Option<&str>,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let failed = || {
        format!(
            "cannot count nodes per label in Neo4j at {}",
            redact_url(uri)
        )
    };
    let mut config = neo4rs::ConfigBuilder::default()
        .uri(uri)
        .user(user)
        .password(password);
    if let Some(database) = database {
        config = config.db(database);
    }
    let graph = config
        .build()
        .and_then(neo4rs::Graph::connect)
        .with_context(failed)?;
    let mut labels = Vec::new();
    let mut rows = graph
        .execute(neo4rs::query("CALL db.labels() YIELD label RETURN label"))
        .await
        .with_context(failed)?;
    while let Some(row) = rows.next().await.with_context(failed)? {
        labels.push(row.get::<String>("label").with_context(failed)?);
    }
    let mut counts = BTreeMap::new();
    for label in labels {
        let cypher = format!(
            "MATCH (n:`{}`) RETURN count(n) AS n",
            label.replace('`', "``")
        );
        let mut rows = graph
            .execute(neo4rs::query(&cypher))
            .await
            .with_context(failed)?;
        if let Some(row) = rows.next().await.with_context(failed)? {
            let nodes: i64 = row.get("n").with_context(failed)?;
            counts.insert(label, nodes.max(0) as u64);
        }
    }
    Ok(counts)
}

/// What Weaviate holds: objects per collection (all tenants) and, per
/// collection, the aliases that point at it.
pub struct WeaviateCounts {
    /// Objects per collection.
    pub objects: BTreeMap<String, u64>,
    /// Collection → aliases.
    pub aliased: BTreeMap<String, BTreeSet<String>>,
}

/// Reads the collections' object counts (an `Aggregate` per collection and
/// tenant) and the aliases.
pub async fn weaviate(url: &str, api_key: Option<&str>) -> anyhow::Result<WeaviateCounts> {
    let client = WeaviateClient::new(url, api_key.map(str::to_owned), WeaviateConfig::default())?;
    let schema = client
        .expect(&Call::new("GET", "/v1/schema", None))
        .await
        .context("cannot read the Weaviate schema")?;
    let mut objects = BTreeMap::new();
    for class in schema["classes"].as_array().into_iter().flatten() {
        let Some(name) = class["class"].as_str() else {
            continue;
        };
        let multi_tenant = class
            .pointer("/multiTenancyConfig/enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(count) = count(&client, name, multi_tenant).await? {
            objects.insert(name.to_string(), count);
        }
    }
    let mut aliased: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let answer = client.send(&Call::new("GET", "/v1/aliases", None)).await?;
    if answer.ok() {
        for alias in answer.body["aliases"].as_array().into_iter().flatten() {
            if let (Some(alias), Some(class)) = (alias["alias"].as_str(), alias["class"].as_str()) {
                aliased
                    .entry(class.to_string())
                    .or_default()
                    .insert(alias.to_string());
            }
        }
    }
    Ok(WeaviateCounts { objects, aliased })
}

/// Objects in `collection`, summed over its tenants; `None` when the server
/// does not say (a tenant that is not active).
async fn count(
    client: &WeaviateClient,
    collection: &str,
    multi_tenant: bool,
) -> anyhow::Result<Option<u64>> {
    let tenants: Vec<Option<String>> = if multi_tenant {
        let answer = client
            .expect(&Call::new(
                "GET",
                format!("/v1/schema/{collection}/tenants"),
                None,
            ))
            .await?;
        answer
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|tenant| tenant["name"].as_str().map(|name| Some(name.to_string())))
            .collect()
    } else {
        vec![None]
    };
    let mut total = 0;
    for tenant in tenants {
        let args = tenant
            .map(|tenant| format!("(tenant: {tenant:?})"))
            .unwrap_or_default();
        let query = format!("{{ Aggregate {{ {collection}{args} {{ meta {{ count }} }} }} }}");
        let call = Call::new("POST", "/v1/graphql", Some(json!({ "query": query })));
        let answer = client.expect(&call).await?;
        let pointer = format!("/data/Aggregate/{collection}/0/meta/count");
        match answer.pointer(&pointer).and_then(Value::as_u64) {
            Some(count) => total += count,
            None => return Ok(None),
        }
    }
    Ok(Some(total))
}
