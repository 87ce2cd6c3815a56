//! Validation of an operation list against a schema, before any call: what
//! Weaviate cannot change in place is refused with the field and the fix.

use std::collections::BTreeMap;

use serde_json::Value;

use super::file::{class_name, property_name, property_type, Operation};
use super::rebuild::rebuild_target;

/// An operation that cannot run; `index` is its 0-based position in its list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {}: {message}", index + 1)]
pub struct OpsError {
    /// 0-based index of the operation.
    pub index: usize,
    /// What is wrong and what to do instead.
    pub message: String,
}

/// What validation knows of the server: classes by name and aliases. When
/// `known` is false (planning offline, or after a `raw` call), only checks
/// that need no server state run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// Class definitions by name, as `GET /v1/schema` returns them.
    pub classes: BTreeMap<String, Value>,
    /// Alias name → collection.
    pub aliases: BTreeMap<String, String>,
    /// Whether `classes` and `aliases` are the server's real state.
    pub known: bool,
}

impl Schema {
    /// A schema from a `GET /v1/schema` document (`{"classes": [...]}`).
    pub fn from_document(document: &Value) -> Schema {
        let classes = document
            .get("classes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|class| Some((class_name(class).ok()?.to_string(), class.clone())))
            .collect();
        Schema {
            classes,
            aliases: BTreeMap::new(),
            known: true,
        }
    }

    fn class(&self, name: &str) -> Result<Option<&Value>, String> {
        match self.classes.get(name) {
            Some(class) => Ok(Some(class)),
            None if self.known => Err(format!("collection `{name}` does not exist")),
            None => Ok(None),
        }
    }
}

/// Immutable settings of a class, as JSON pointers.
const IMMUTABLE: &[&str] = &[
    "/class",
    "/vectorizer",
    "/vectorIndexType",
    "/shardingConfig",
    "/moduleConfig",
    "/multiTenancyConfig/enabled",
    "/vectorIndexConfig/distance",
    "/vectorIndexConfig/efConstruction",
    "/vectorIndexConfig/maxConnections",
    "/vectorIndexConfig/multivector",
    "/invertedIndexConfig/indexTimestamps",
    "/invertedIndexConfig/indexNullState",
    "/invertedIndexConfig/indexPropertyLength",
];

/// Immutable settings of each named vector under `vectorConfig`.
const IMMUTABLE_NAMED: &[&str] = &[
    "/vectorizer",
    "/vectorIndexType",
    "/vectorIndexConfig/distance",
    "/vectorIndexConfig/efConstruction",
    "/vectorIndexConfig/maxConnections",
    "/vectorIndexConfig/multivector",
];

/// Checks `ops` in order against `schema`, simulating each one, so a later
/// operation sees what an earlier one created. Nothing is sent anywhere.
pub fn validate(ops: &[Operation], schema: &Schema) -> Result<(), OpsError> {
    let mut schema = schema.clone();
    for (index, op) in ops.iter().enumerate() {
        step(op, &mut schema).map_err(|message| OpsError { index, message })?;
    }
    Ok(())
}

fn step(op: &Operation, schema: &mut Schema) -> Result<(), String> {
    match op {
        Operation::CreateCollection { class } => {
            let name = class_name(class)?.to_string();
            if schema.classes.contains_key(&name) || schema.aliases.contains_key(&name) {
                return Err(format!(
                    "collection `{name}` already exists: use `update_collection` or \
                     `add_property`, or `rebuild_collection` to change what cannot change in place"
                ));
            }
            schema.classes.insert(name, class.clone());
        }
        Operation::DeleteCollection { collection } => {
            schema.class(collection)?;
            schema.classes.remove(collection);
        }
        Operation::AddProperty {
            collection,
            property,
        } => add_property(schema, collection, property)?,
        Operation::UpdateCollection { collection, config } => {
            if let Some(current) = schema.class(collection)? {
                let merged = merged_update(current, config)?;
                schema.classes.insert(collection.clone(), merged);
            }
        }
        Operation::CreateAlias { alias, collection } => {
            schema.class(collection)?;
            if schema.aliases.contains_key(alias) || schema.classes.contains_key(alias) {
                return Err(format!(
                    "alias `{alias}` already exists (as an alias or a collection): use `update_alias`"
                ));
            }
            schema.aliases.insert(alias.clone(), collection.clone());
        }
        Operation::UpdateAlias { alias, collection } => {
            schema.class(collection)?;
            if schema.known && !schema.aliases.contains_key(alias) {
                return Err(format!(
                    "alias `{alias}` does not exist: use `create_alias`"
                ));
            }
            schema.aliases.insert(alias.clone(), collection.clone());
        }
        Operation::DeleteAlias { alias } => {
            if schema.known && schema.aliases.remove(alias).is_none() {
                return Err(format!("alias `{alias}` does not exist"));
            }
        }
        Operation::AddTenants { collection, .. } | Operation::RemoveTenants { collection, .. } => {
            multi_tenant(schema, collection)?
        }
        Operation::RebuildCollection {
            collection,
            drop_properties,
            rename_properties,
            retype_properties,
            ..
        } => {
            if let Some(current) = schema.class(collection)? {
                let target = rebuild_target(
                    current,
                    drop_properties,
                    rename_properties,
                    retype_properties,
                )?;
                schema.classes.insert(collection.clone(), target);
            }
        }
        Operation::Raw { .. } => schema.known = false,
    }
    Ok(())
}

fn add_property(schema: &mut Schema, collection: &str, property: &Value) -> Result<(), String> {
    let name = property_name(property)?;
    let data_type = property_type(property)?;
    let Some(class) = schema.class(collection)? else {
        return Ok(());
    };
    let existing = class
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| {
            p.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
    if let Some(existing) = existing {
        let old_type = existing.get("dataType").cloned().unwrap_or(Value::Null);
        if &old_type != data_type {
            return Err(format!(
                "property `{collection}.{name}` exists with dataType {old_type}; Weaviate cannot \
                 retype a property: use `rebuild_collection` with \"retype_properties\": {{\"{name}\": ...}}"
            ));
        }
        return Err(format!(
            "property `{collection}.{name}` already exists: remove this `add_property`, or use \
             `rebuild_collection` to change it"
        ));
    }
    let mut class = class.clone();
    match class.get_mut("properties").and_then(Value::as_array_mut) {
        Some(properties) => properties.push(property.clone()),
        None => class["properties"] = Value::Array(vec![property.clone()]),
    }
    schema.classes.insert(collection.to_string(), class);
    Ok(())
}

fn multi_tenant(schema: &Schema, collection: &str) -> Result<(), String> {
    let Some(class) = schema.class(collection)? else {
        return Ok(());
    };
    if class.pointer("/multiTenancyConfig/enabled") != Some(&Value::Bool(true)) {
        return Err(format!(
            "collection `{collection}` is not multi-tenant (multiTenancyConfig.enabled is immutable): \
             use `rebuild_collection` or create a multi-tenant collection"
        ));
    }
    Ok(())
}

/// The class `PUT /v1/schema/{name}` receives: `current` deep-merged with
/// `config`, refused when an immutable setting would change.
pub fn merged_update(current: &Value, config: &Value) -> Result<Value, String> {
    if config
        .get("properties")
        .is_some_and(|p| p != current.get("properties").unwrap_or(&Value::Null))
    {
        return Err(
            "`properties` cannot change through `update_collection`: use `add_property` \
                    to add one, `rebuild_collection` to drop, rename or retype one"
                .into(),
        );
    }
    let mut merged = current.clone();
    merge(&mut merged, config);
    for pointer in IMMUTABLE {
        refuse_change(current, &merged, pointer)?;
    }
    let named = current
        .get("vectorConfig")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    for (vector, _) in named {
        for pointer in IMMUTABLE_NAMED {
            refuse_change(
                current,
                &merged,
                &format!("/vectorConfig/{vector}{pointer}"),
            )?;
        }
    }
    Ok(merged)
}

fn refuse_change(current: &Value, merged: &Value, pointer: &str) -> Result<(), String> {
    let (old, new) = (current.pointer(pointer), merged.pointer(pointer));
    if old.is_none() || old == new {
        return Ok(());
    }
    let field = pointer.trim_start_matches('/').replace('/', ".");
    Err(format!(
        "`{field}` is immutable in Weaviate (current {}, wanted {}): use `rebuild_collection` \
         (a new collection with the wanted settings, objects copied over), or a new collection \
         and `update_alias`",
        old.map(Value::to_string).unwrap_or_default(),
        new.map(Value::to_string).unwrap_or_else(|| "absent".into()),
    ))
}

/// Deep-merges `patch` into `target`: objects merge key by key, anything
/// else replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_document(&json!({"classes": [{
            "class": "TextChunk", "vectorizer": "none", "vectorIndexType": "hnsw",
            "vectorIndexConfig": {"distance": "cosine", "ef": -1},
            "multiTenancyConfig": {"enabled": false},
            "properties": [{"name": "text", "dataType": ["text"]}]
        }]}))
    }

    fn check(ops: Value) -> Result<(), OpsError> {
        let ops: Vec<Operation> = serde_json::from_value(ops).unwrap();
        validate(&ops, &schema())
    }

    #[test]
    fn immutable_settings_are_refused_with_the_field() {
        let err = check(
            json!([{"op": "update_collection", "collection": "TextChunk",
            "config": {"vectorIndexConfig": {"distance": "dot"}}}]),
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("`vectorIndexConfig.distance` is immutable"),
            "{err}"
        );
        assert!(err.message.contains("rebuild_collection"), "{err}");
        let err = check(
            json!([{"op": "update_collection", "collection": "TextChunk",
            "config": {"vectorizer": "text2vec-openai"}}]),
        )
        .unwrap_err();
        assert!(err.message.contains("`vectorizer`"), "{err}");
        check(
            json!([{"op": "update_collection", "collection": "TextChunk",
            "config": {"vectorIndexConfig": {"ef": 64}, "description": "chunks"}}]),
        )
        .unwrap();
    }

    #[test]
    fn add_property_refuses_an_existing_name_and_a_retype() {
        let err = check(json!([{"op": "add_property", "collection": "TextChunk",
            "property": {"name": "text", "dataType": ["int"]}}]))
        .unwrap_err();
        assert!(err.message.contains("retype_properties"), "{err}");
        let err = check(json!([{"op": "add_property", "collection": "TextChunk",
            "property": {"name": "text", "dataType": ["text"]}}]))
        .unwrap_err();
        assert!(err.message.contains("already exists"), "{err}");
    }

    #[test]
    fn later_operations_see_earlier_ones() {
        check(json!([
            {"op": "create_collection", "class": {"class": "Other", "vectorizer": "none"}},
            {"op": "add_property", "collection": "Other", "property": {"name": "x", "dataType": ["int"]}},
            {"op": "rebuild_collection", "collection": "Other", "drop_properties": ["x"]},
            {"op": "create_alias", "alias": "OtherAlias", "collection": "Other"},
            {"op": "delete_collection", "collection": "Other"}
        ]))
        .unwrap();
        let err =
            check(json!([{"op": "add_tenants", "collection": "TextChunk", "tenants": ["a"]}]))
                .unwrap_err();
        assert!(err.message.contains("not multi-tenant"), "{err}");
    }
}
