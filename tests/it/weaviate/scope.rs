//! Per-test names (collections, history/lock prefix) and helpers to read
//! and write objects directly.

use std::collections::BTreeMap;

use dbmigrate_core::backend::weaviate::{Call, WeaviateBackend, WeaviateClient, WeaviateConfig};
use dbmigrate_core::backend::Step;
use dbmigrate_core::testing::TestBackend;
use dbmigrate_core::{Direction, Migration};
use serde_json::{json, Value};

use crate::common;
use crate::guards::WeaviateGuard;

/// Edututor's Weaviate migrations, embedded at build time.
const EDUTUTOR: [(&str, &str); 2] = [
    (
        "20241203_0900_f6a7b8_text_chunk_collection.weaviate.json",
        include_str!("../../../examples/edututor/migrations/20241203_0900_f6a7b8_text_chunk_collection.weaviate.json"),
    ),
    (
        "20241203_1000_a7b8c9_add_difficulty_score.weaviate.json",
        include_str!("../../../examples/edututor/migrations/20241203_1000_a7b8c9_add_difficulty_score.weaviate.json"),
    ),
];

/// One test's names: its collections and its history/lock prefix. The scope
/// made by `new`/`with_config` removes every collection named with its
/// suffix when it goes, also on panic.
pub struct Scope {
    suffix: String,
    /// The client, with this test's collection prefix.
    pub client: WeaviateClient,
    /// Only the first scope of a test cleans up (not `with_new_client` copies).
    _guard: Option<WeaviateGuard>,
}

impl Scope {
    /// With a 60 s lease: a renewal slower than about half the lease loses
    /// the lock (by design), and the shared 2-core CI machine can be that
    /// slow; tests about expiry pass their own config.
    pub fn new() -> Scope {
        Scope::with_config(WeaviateConfig {
            lease_ttl: std::time::Duration::from_secs(60),
            ..WeaviateConfig::default()
        })
    }

    pub fn with_config(mut config: WeaviateConfig) -> Scope {
        let suffix = common::unique_suffix();
        config.collection_prefix = format!("Dbm{suffix}");
        let client = WeaviateClient::new(&common::weaviate_url(), None, config).expect("client");
        Scope {
            _guard: Some(WeaviateGuard(suffix.clone())),
            suffix,
            client,
        }
    }

    /// The same names with a new client, for a runtime of its own (a
    /// client's connections belong to the runtime that opened them).
    pub fn with_new_client(&self) -> Scope {
        let config = self.client.config.clone();
        let client = WeaviateClient::new(&common::weaviate_url(), None, config).expect("client");
        Scope {
            suffix: self.suffix.clone(),
            client,
            _guard: None,
        }
    }

    pub fn backend(&self) -> WeaviateBackend {
        WeaviateBackend::new(self.client.clone())
    }

    pub fn collection(&self, name: &str) -> String {
        format!("{name}_{}", self.suffix)
    }

    pub fn prefix(&self) -> &str {
        &self.client.config.collection_prefix
    }

    /// An edututor migration with its collection renamed for this test.
    pub fn edututor(&self, file_name: &str) -> Migration {
        let (_, text) = EDUTUTOR
            .iter()
            .find(|(name, _)| *name == file_name)
            .expect("an edututor Weaviate migration");
        self.migration(
            file_name,
            &text.replace(
                "\"TextChunk\"",
                &format!("\"{}\"", self.collection("TextChunk")),
            ),
        )
    }

    pub fn migration(&self, file_name: &str, text: &str) -> Migration {
        dbmigrate_core::parse::parse_migration(&format!("migrations/{file_name}"), text)
            .expect("valid migration")
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.client
            .expect(&Call::new(method, path, body))
            .await
            .expect("weaviate call")
    }

    pub async fn exists(&self, collection: &str) -> bool {
        self.client
            .send(&Call::new("GET", format!("/v1/schema/{collection}"), None))
            .await
            .expect("call")
            .ok()
    }

    /// Every object of `collection`: id → (properties, vector).
    pub async fn objects(&self, collection: &str) -> BTreeMap<String, (Value, Value)> {
        self.tenant_objects(collection, None).await
    }

    /// Every object of one tenant (or of a single-tenant collection).
    pub async fn tenant_objects(
        &self,
        collection: &str,
        tenant: Option<&str>,
    ) -> BTreeMap<String, (Value, Value)> {
        let tenant = tenant.map(|t| format!("&tenant={t}")).unwrap_or_default();
        let (mut all, mut after) = (BTreeMap::new(), String::new());
        loop {
            let path =
                format!("/v1/objects?class={collection}&limit=400&include=vector{tenant}{after}");
            let page = self.send("GET", &path, None).await;
            let objects = page["objects"].as_array().cloned().unwrap_or_default();
            let Some(last) = objects.last() else {
                return all;
            };
            after = format!("&after={}", last["id"].as_str().unwrap());
            for object in &objects {
                let id = object["id"].as_str().unwrap().to_string();
                all.insert(id, (object["properties"].clone(), object["vector"].clone()));
            }
        }
    }

    /// This test's class in the backend's schema snapshot.
    pub async fn class_snapshot(
        &self,
        backend: &WeaviateBackend,
        collection: &str,
    ) -> Option<Value> {
        let snapshot = backend.snapshot().await.expect("snapshot");
        let class = snapshot
            .objects()
            .iter()
            .find(|object| object.kind == "collection" && object.name == collection)?;
        Some(serde_json::from_str(&class.definition).expect("a class is JSON"))
    }

    /// Best effort, never a panic: it runs from guards, also while a failed
    /// test unwinds (a second panic would abort the whole test binary), and
    /// a leftover with this test's unique names troubles no other test.
    pub async fn cleanup(&self, collections: &[String]) {
        let own = [
            format!("{}History", self.prefix()),
            format!("{}Lock", self.prefix()),
        ];
        for collection in collections.iter().chain(&own) {
            self.delete_collection(collection).await;
        }
        // The lock's fencing markers: `{prefix}Lock{N}`.
        let schema = match self
            .client
            .expect(&Call::new("GET", "/v1/schema", None))
            .await
        {
            Ok(schema) => schema,
            Err(error) => {
                eprintln!("cleanup: cannot list the schema: {error}");
                return;
            }
        };
        for class in schema["classes"].as_array().into_iter().flatten() {
            let name = class["class"].as_str().unwrap_or_default();
            if name.starts_with(self.prefix()) {
                self.delete_collection(name).await;
            }
        }
    }

    async fn delete_collection(&self, collection: &str) {
        let call = Call::new("DELETE", format!("/v1/schema/{collection}"), None);
        if let Err(error) = self.client.expect(&call).await {
            eprintln!("cleanup: cannot delete {collection}: {error}");
        }
    }
}

/// A step applied by the tests.
pub fn step(migration: &Migration, direction: Direction) -> Step<'_> {
    Step {
        migration,
        direction,
        applied_by: "tests/it/weaviate.rs",
    }
}

/// Inserts `n` objects with 8-dimensional vectors, in batches.
pub async fn insert_chunks(scope: &Scope, collection: &str, n: usize) {
    for start in (0..n).step_by(250) {
        let objects: Vec<Value> = (start..(start + 250).min(n))
            .map(|i| {
                let subject = ["math", "physics", "history"][i % 3];
                let vector: Vec<f32> = (0..8).map(|d| ((i * 31 + d * 7) % 97) as f32 / 97.0 - 0.37).collect();
                json!({
                    "class": collection,
                    "id": format!("00000000-0000-4000-8000-{i:012}"),
                    "properties": {"text": format!("chunk {i} of a lesson"), "source": format!("book-{}", i % 13),
                                   "subject": subject, "grade": (i % 12) as i64 + 1},
                    "vector": vector,
                })
            })
            .collect();
        let results = scope
            .send(
                "POST",
                "/v1/batch/objects",
                Some(json!({ "objects": objects })),
            )
            .await;
        assert!(
            results
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["result"]["errors"].is_null()),
            "{results}"
        );
    }
}
