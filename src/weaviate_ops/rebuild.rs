//! The pure half of `rebuild_collection`: the target class definition and
//! how each object's properties are carried over.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The name of the temporary collection a rebuild copies through. Fixed, so
/// a rebuild that died half way is easy to find.
pub fn rebuild_temp_name(collection: &str) -> String {
    format!("{collection}_DbmigrateRebuild")
}

/// The class definition a rebuild creates: `current` without the dropped
/// properties, with renamed and retyped ones.
pub fn rebuild_target(
    current: &Value,
    drop_properties: &[String],
    rename_properties: &BTreeMap<String, String>,
    retype_properties: &BTreeMap<String, String>,
) -> Result<Value, String> {
    let mut target = current.clone();
    let collection = current
        .get("class")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let properties = current
        .get("properties")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = properties
        .iter()
        .filter_map(|p| p.get("name")?.as_str())
        .collect();
    for name in drop_properties.iter().chain(rename_properties.keys()) {
        if !names.contains(&name.as_str()) {
            return Err(format!(
                "property `{collection}.{name}` does not exist (it has {names:?})"
            ));
        }
    }
    let mut kept = Vec::new();
    for mut property in properties {
        let name = property
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if drop_properties.contains(&name) {
            continue;
        }
        if let Some(new_name) = rename_properties.get(&name) {
            property["name"] = Value::String(new_name.clone());
        }
        kept.push(property);
    }
    let mut seen = Vec::new();
    for property in &kept {
        let name = property["name"].as_str().unwrap_or_default().to_string();
        if seen.contains(&name) {
            return Err(format!(
                "two properties of `{collection}` would be named `{name}`"
            ));
        }
        seen.push(name);
    }
    for (name, data_type) in retype_properties {
        let property = kept
            .iter_mut()
            .find(|p| p["name"].as_str() == Some(name))
            .ok_or_else(|| {
                format!("retyped property `{collection}.{name}` is not in the rebuilt collection")
            })?;
        retype(property, data_type);
    }
    target["properties"] = Value::Array(kept);
    if current.pointer("/multiTenancyConfig/enabled") == Some(&Value::Bool(true)) {
        // Weaviate refuses a definition with both (it reports a default one).
        if let Some(target) = target.as_object_mut() {
            target.remove("shardingConfig");
        }
    }
    Ok(target)
}

fn retype(property: &mut Value, data_type: &str) {
    property["dataType"] = Value::Array(vec![Value::String(data_type.to_string())]);
    if let Some(property) = property.as_object_mut() {
        if !data_type.starts_with("text") {
            property.remove("tokenization");
            property.insert("indexSearchable".into(), Value::Bool(false));
        } else if !property.contains_key("tokenization") {
            property.insert("tokenization".into(), Value::String("word".into()));
        }
        if !matches!(data_type, "int" | "number" | "date") {
            property.insert("indexRangeFilters".into(), Value::Bool(false));
        }
    }
}

/// An object's properties as the rebuilt collection takes them: dropped
/// ones left out, renamed ones renamed, retyped ones converted.
pub fn map_properties(
    properties: &Map<String, Value>,
    drop_properties: &[String],
    rename_properties: &BTreeMap<String, String>,
    retype_properties: &BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut mapped = Map::new();
    for (name, value) in properties {
        if drop_properties.contains(name) {
            continue;
        }
        let name = rename_properties.get(name).unwrap_or(name);
        let value = match retype_properties.get(name) {
            Some(data_type) => convert_value(value, data_type),
            None => value.clone(),
        };
        mapped.insert(name.clone(), value);
    }
    mapped
}

/// Converts a scalar for a retyped property where the conversion is
/// lossless (number → text, numeric text → int/number); anything else is
/// passed through and Weaviate's validation decides.
pub fn convert_value(value: &Value, data_type: &str) -> Value {
    match (data_type, value) {
        ("text", Value::Number(n)) => Value::String(n.to_string()),
        ("text", Value::Bool(b)) => Value::String(b.to_string()),
        ("int", Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| value.clone()),
        ("number", Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| value.clone()),
        ("int", Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            Value::from(n.as_f64().unwrap_or_default() as i64)
        }
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn target_drops_renames_and_retypes() {
        let current = json!({"class": "C", "vectorizer": "none", "properties": [
            {"name": "a", "dataType": ["text"], "tokenization": "word"},
            {"name": "b", "dataType": ["int"]},
            {"name": "c", "dataType": ["text"], "tokenization": "word"}]});
        let drop = vec!["b".to_string()];
        let rename = BTreeMap::from([("a".to_string(), "title".to_string())]);
        let retype = BTreeMap::from([("c".to_string(), "int".to_string())]);
        let target = rebuild_target(&current, &drop, &rename, &retype).unwrap();
        assert_eq!(
            target["properties"],
            json!([{"name": "title", "dataType": ["text"], "tokenization": "word"},
                   {"name": "c", "dataType": ["int"], "indexSearchable": false}])
        );
        let object = json!({"a": "x", "b": 1, "c": "42"});
        let mapped = map_properties(object.as_object().unwrap(), &drop, &rename, &retype);
        assert_eq!(Value::Object(mapped), json!({"title": "x", "c": 42}));
        let err =
            rebuild_target(&current, &["zz".to_string()], &rename, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("`C.zz` does not exist"), "{err}");
    }
}
