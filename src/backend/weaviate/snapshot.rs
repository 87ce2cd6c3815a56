//! The schema snapshot: `GET /v1/schema` and `GET /v1/aliases` without the
//! backend's own collections, sorted, as stable pretty JSON.

use serde_json::{json, Map, Value};

use super::client::{Call, WeaviateClient};
use crate::backend::BackendError;

/// Reads and normalises the schema; `own` are the bookkeeping collections.
pub async fn snapshot(client: &WeaviateClient, own: &[&str]) -> Result<String, BackendError> {
    let document = client.expect(&Call::new("GET", "/v1/schema", None)).await?;
    let aliases = client.send(&Call::new("GET", "/v1/aliases", None)).await?;
    let aliases = if aliases.ok() {
        aliases.body
    } else {
        Value::Null
    };
    Ok(normalise(&document, &aliases, own))
}

/// Sorted classes (properties by name), sorted aliases, sorted keys.
pub fn normalise(document: &Value, aliases: &Value, own: &[&str]) -> String {
    let mut classes = listed(document, "classes", "class", own);
    for class in &mut classes {
        if let Some(properties) = class.get_mut("properties").and_then(Value::as_array_mut) {
            properties.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        }
    }
    let aliases = listed(aliases, "aliases", "alias", own);
    let snapshot = sort_keys(json!({"aliases": aliases, "classes": classes}));
    serde_json::to_string_pretty(&snapshot).unwrap_or_default()
}

/// The entries of `document[list]` that belong to no `own` collection (their
/// `class` is not one of `own`), sorted by their `name_key` field.
fn listed(document: &Value, list: &str, name_key: &str, own: &[&str]) -> Vec<Value> {
    let mut entries: Vec<Value> = document
        .get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|entry| {
            entry["class"]
                .as_str()
                .is_some_and(|class| !own.contains(&class))
        })
        .cloned()
        .collect();
    entries.sort_by(|a, b| a[name_key].as_str().cmp(&b[name_key].as_str()));
    entries
}

/// The normalised schema document as objects: one `collection` per class
/// (its definition the class's pretty JSON) and one `alias` per alias.
#[cfg(feature = "testing")]
pub(crate) fn objects(text: &str) -> crate::testing::SchemaSnapshot {
    use crate::testing::{SchemaObject, SchemaSnapshot};
    let document: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let list = |key: &str| document[key].as_array().cloned().unwrap_or_default();
    let mut objects = Vec::new();
    for class in list("classes") {
        let name = class["class"].as_str().unwrap_or_default().to_string();
        let definition = serde_json::to_string_pretty(&class).unwrap_or_default();
        objects.push(SchemaObject::new("collection", &name, &definition));
    }
    for alias in list("aliases") {
        let name = alias["alias"].as_str().unwrap_or_default();
        let class = alias["class"].as_str().unwrap_or_default();
        objects.push(SchemaObject::new("alias", name, class));
    }
    SchemaSnapshot::new(objects)
}

fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_collections_are_left_out_and_order_is_stable() {
        let document = json!({"classes": [
            {"class": "B", "properties": [{"name": "z"}, {"name": "a"}]},
            {"class": "DbmigrateHistory"},
            {"class": "A"}]});
        let text = normalise(
            &document,
            &Value::Null,
            &["DbmigrateHistory", "DbmigrateLock"],
        );
        assert!(!text.contains("DbmigrateHistory"));
        let a = text.find("\"A\"").unwrap();
        assert!(a < text.find("\"B\"").unwrap());
        assert!(text.find("\"a\"").unwrap() < text.find("\"z\"").unwrap());
    }
}
