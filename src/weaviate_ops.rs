//! The typed operations of a `.weaviate.json` migration. They live in the
//! driver-free half so the build helper refuses an unknown operation at build
//! time; the `weaviate` backend turns them into HTTP calls.

use serde::{Deserialize, Serialize};

/// A `.weaviate.json` file: header fields and the up/down operation lists.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
    /// There is no down list, and downgrading across it is refused.
    #[serde(default)]
    pub irreversible: bool,
    /// Operations applied on upgrade, in order.
    pub up: Vec<Operation>,
    /// Operations applied on downgrade, in order.
    #[serde(default)]
    pub down: Vec<Operation>,
}

/// One Weaviate schema operation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /v1/schema` with a collection (class) definition.
    CreateCollection {
        /// The class definition as Weaviate takes it.
        class: serde_json::Value,
    },
    /// `DELETE /v1/schema/{name}`.
    DeleteCollection {
        /// Collection name.
        name: String,
    },
    /// `POST /v1/schema/{collection}/properties`.
    AddProperty {
        /// Collection name.
        collection: String,
        /// The property definition.
        property: serde_json::Value,
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
