//! The `.weaviate.json` file and its operations, as serde reads them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::validate::OpsError;

/// A `.weaviate.json` file: header fields and the up/down operation lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeaviateFile {
    /// What the migration does.
    pub message: String,
    /// Parent revision id; `null` or absent for the root.
    #[serde(default)]
    pub revises: Option<String>,
    /// When `new` created it.
    #[serde(default)]
    pub created: Option<String>,
    /// Downgrading across it is refused; required when an `up` operation has
    /// no inverse (it deletes data) or when `down` is empty.
    #[serde(default)]
    pub irreversible: bool,
    /// Operations applied on upgrade, in order.
    pub up: Vec<Operation>,
    /// Operations applied on downgrade, in order.
    #[serde(default)]
    pub down: Vec<Operation>,
}

impl WeaviateFile {
    /// Checks that need no server: every operation is well formed, and a
    /// file whose `up` cannot be undone declares `"irreversible": true`.
    pub fn check(&self) -> Result<(), OpsError> {
        for (index, op) in self.up.iter().chain(&self.down).enumerate() {
            op.check().map_err(|message| OpsError { index, message })?;
        }
        if self.irreversible {
            return Ok(());
        }
        if let Some((index, op)) = self.up.iter().enumerate().find(|(_, op)| !op.has_inverse()) {
            return Err(OpsError {
                index,
                message: format!(
                    "`{}` destroys objects and has no inverse: declare \"irreversible\": true \
                     (downgrading across it is then refused)",
                    op.name()
                ),
            });
        }
        if self.down.is_empty() && !self.up.is_empty() {
            return Err(OpsError {
                index: 0,
                message: "the `down` list is empty: write the operations that undo `up` \
                          (`rebuild_collection` drops, renames or retypes properties), or declare \
                          \"irreversible\": true"
                    .into(),
            });
        }
        Ok(())
    }
}

/// A tenant to add: a bare name, or a name with an activity status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TenantSpec {
    /// `"tenant_a"`.
    Name(String),
    /// `{"name": "tenant_a", "activityStatus": "COLD"}`.
    Full {
        /// Tenant name.
        name: String,
        /// `HOT`/`ACTIVE`, `COLD`/`INACTIVE`, …
        #[serde(
            rename = "activityStatus",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        activity_status: Option<String>,
    },
}

impl TenantSpec {
    /// The tenant's name.
    pub fn name(&self) -> &str {
        match self {
            TenantSpec::Name(name) | TenantSpec::Full { name, .. } => name,
        }
    }
}

/// One Weaviate operation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /v1/schema` with a collection (class) definition.
    CreateCollection {
        /// The class definition as Weaviate takes it (`class` is its name).
        class: serde_json::Value,
    },
    /// `DELETE /v1/schema/{collection}`: destroys its objects (no inverse).
    DeleteCollection {
        /// Collection name.
        #[serde(alias = "name")]
        collection: String,
    },
    /// `POST /v1/schema/{collection}/properties`.
    AddProperty {
        /// Collection name.
        collection: String,
        /// The property definition (`name`, `dataType`, …).
        property: serde_json::Value,
    },
    /// `PUT /v1/schema/{collection}` with the current definition merged with
    /// `config`; only mutable settings may change.
    UpdateCollection {
        /// Collection name.
        collection: String,
        /// Partial class definition, deep-merged into the current one.
        config: serde_json::Value,
    },
    /// `POST /v1/aliases` (Weaviate 1.32+).
    CreateAlias {
        /// Alias name.
        alias: String,
        /// Collection it points to.
        collection: String,
    },
    /// `PUT /v1/aliases/{alias}`: points the alias at another collection.
    UpdateAlias {
        /// Alias name.
        alias: String,
        /// Collection it points to from now on.
        collection: String,
    },
    /// `DELETE /v1/aliases/{alias}`.
    DeleteAlias {
        /// Alias name.
        alias: String,
    },
    /// `POST /v1/schema/{collection}/tenants`.
    AddTenants {
        /// A multi-tenant collection.
        collection: String,
        /// Tenants to add.
        tenants: Vec<TenantSpec>,
    },
    /// `DELETE /v1/schema/{collection}/tenants`: destroys their objects (no inverse).
    RemoveTenants {
        /// A multi-tenant collection.
        collection: String,
        /// Tenant names.
        tenants: Vec<String>,
    },
    /// What Weaviate cannot do in place (drop, rename or retype a property):
    /// build a new collection with the wanted schema, copy every object with
    /// its vectors and id, then put it back under the original name.
    RebuildCollection {
        /// Collection name (kept).
        collection: String,
        /// Properties to leave out.
        #[serde(default)]
        drop_properties: Vec<String>,
        /// Old name → new name.
        #[serde(default)]
        rename_properties: BTreeMap<String, String>,
        /// Property (new name) → Weaviate data type (`text`, `int`, `number`, …).
        #[serde(default)]
        retype_properties: BTreeMap<String, String>,
        /// Objects per page and per batch (default 200).
        #[serde(default)]
        batch_size: Option<u32>,
    },
    /// Escape hatch: any request.
    Raw {
        /// HTTP method.
        method: String,
        /// Path below the server root, e.g. `/v1/schema/X`.
        path: String,
        /// Request body.
        #[serde(default)]
        body: Option<serde_json::Value>,
    },
}

impl Operation {
    /// The `op` tag, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::CreateCollection { .. } => "create_collection",
            Operation::DeleteCollection { .. } => "delete_collection",
            Operation::AddProperty { .. } => "add_property",
            Operation::UpdateCollection { .. } => "update_collection",
            Operation::CreateAlias { .. } => "create_alias",
            Operation::UpdateAlias { .. } => "update_alias",
            Operation::DeleteAlias { .. } => "delete_alias",
            Operation::AddTenants { .. } => "add_tenants",
            Operation::RemoveTenants { .. } => "remove_tenants",
            Operation::RebuildCollection { .. } => "rebuild_collection",
            Operation::Raw { .. } => "raw",
        }
    }

    /// Whether some operation can undo this one without losing objects.
    pub fn has_inverse(&self) -> bool {
        !matches!(
            self,
            Operation::DeleteCollection { .. } | Operation::RemoveTenants { .. }
        )
    }

    /// Shape checks that need no server.
    fn check(&self) -> Result<(), String> {
        match self {
            Operation::CreateCollection { class } => check_collection_name(class_name(class)?),
            Operation::AddProperty { property, .. } => {
                property_name(property)?;
                property_type(property)?;
                Ok(())
            }
            Operation::UpdateCollection { config, .. } if !config.is_object() => {
                Err("`config` must be a JSON object (a partial class definition)".into())
            }
            Operation::Raw { method, path, .. } => {
                let known = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
                if !known.contains(&method.to_ascii_uppercase().as_str()) {
                    return Err(format!(
                        "unknown HTTP method `{method}`: use one of {known:?}"
                    ));
                }
                if !path.starts_with('/') {
                    return Err(format!("`path` must start with `/` (got `{path}`)"));
                }
                Ok(())
            }
            Operation::RebuildCollection {
                batch_size: Some(0),
                ..
            } => Err("`batch_size` must be at least 1".into()),
            _ => Ok(()),
        }
    }
}

/// The `class` field of a class definition.
pub(crate) fn class_name(class: &serde_json::Value) -> Result<&str, String> {
    class
        .get("class")
        .and_then(|name| name.as_str())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| "the class definition has no `class` (its name)".to_string())
}

/// Weaviate's rule for a collection name, `[A-Z][_0-9A-Za-z]*`, with the
/// fix when only the first letter's case is wrong. Works on characters, not
/// bytes: a name may start with any letter (`Élève`).
fn check_collection_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first = chars.next();
    let rest_ok = chars.clone().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match first {
        Some(first) if first.is_ascii_uppercase() && rest_ok => Ok(()),
        Some(first) if first.is_ascii_lowercase() && rest_ok => Err(format!(
            "collection names start with an uppercase letter (Weaviate would store \
             `{name}` capitalised): write `{}{}`",
            first.to_ascii_uppercase(),
            chars.as_str()
        )),
        _ => Err(format!(
            "collection name `{name}` is not one Weaviate accepts: it must match \
             `[A-Z][_0-9A-Za-z]*` (an ASCII capital letter, then ASCII letters, digits or `_`)"
        )),
    }
}

/// The `name` field of a property definition.
pub(crate) fn property_name(property: &serde_json::Value) -> Result<&str, String> {
    property
        .get("name")
        .and_then(|name| name.as_str())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| "the property definition has no `name`".to_string())
}

/// The `dataType` of a property definition, e.g. `["text"]`.
pub(crate) fn property_type(property: &serde_json::Value) -> Result<&serde_json::Value, String> {
    property
        .get("dataType")
        .filter(|data_type| data_type.is_array())
        .ok_or_else(|| {
            "the property definition has no `dataType` list (e.g. [\"text\"])".to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), String> {
        let file: WeaviateFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        file.check().map_err(|e| e.to_string())
    }

    #[test]
    fn destructive_up_operations_need_irreversible() {
        let drop = r#"{"message": "m", "up": [{"op": "delete_collection", "collection": "A"}],
            "down": [{"op": "create_collection", "class": {"class": "A"}}]}"#;
        assert!(check(drop).unwrap_err().contains("\"irreversible\": true"));
        let declared = r#"{"message": "m", "irreversible": true,
            "up": [{"op": "delete_collection", "name": "A"}]}"#;
        check(declared).unwrap();
        let lower = r#"{"message": "m", "up": [{"op": "create_collection", "class": {"class": "textChunk"}}],
            "down": [{"op": "delete_collection", "collection": "TextChunk"}]}"#;
        assert!(check(lower).unwrap_err().contains("write `TextChunk`"));
    }

    #[test]
    fn non_ascii_collection_names_are_refused_not_a_panic() {
        for name in [
            "Élève",
            "élève",
            "Über",
            "Text Chunk",
            "_Hidden",
            "9Lives",
            "Ab-c",
        ] {
            let text = format!(
                r#"{{"message": "m", "up": [{{"op": "create_collection", "class": {{"class": "{name}"}}}}],
                "down": [{{"op": "delete_collection", "collection": "{name}"}}]}}"#
            );
            let error = check(&text).unwrap_err();
            assert!(error.contains("[A-Z][_0-9A-Za-z]*"), "{name}: {error}");
        }
    }
}
