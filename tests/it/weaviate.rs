//! Weaviate backend against a real server (`WEAVIATE_URL`): edututor's
//! migrations with 1,000 objects surviving every direction, refusals before
//! any call, a failed copy leaving a dirty record and the original intact,
//! the lease lock, and 8 concurrent migrators.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dbmigrate::backend::weaviate::{Call, WeaviateBackend, WeaviateClient, WeaviateConfig};
use dbmigrate::backend::{Backend, BackendError, RecordState, Step};
use dbmigrate::{Direction, Migration};
use serde_json::{json, Value};

use crate::common;

const EDUTUTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/edututor/migrations");

/// One test's names: its collections and its history/lock prefix.
struct Scope {
    suffix: String,
    client: WeaviateClient,
}

impl Scope {
    fn new() -> Scope {
        Scope::with_config(WeaviateConfig::default())
    }

    fn with_config(mut config: WeaviateConfig) -> Scope {
        let suffix = common::unique_suffix();
        config.collection_prefix = format!("Dbm{suffix}");
        let client = WeaviateClient::new(&common::weaviate_url(), None, config).expect("client");
        Scope { suffix, client }
    }

    fn backend(&self) -> WeaviateBackend {
        WeaviateBackend::new(self.client.clone())
    }

    fn collection(&self, name: &str) -> String {
        format!("{name}_{}", self.suffix)
    }

    fn prefix(&self) -> &str {
        &self.client.config.collection_prefix
    }

    /// An edututor migration with its collection renamed for this test.
    fn edututor(&self, file_name: &str) -> Migration {
        let text =
            std::fs::read_to_string(format!("{EDUTUTOR}/{file_name}")).expect("edututor migration");
        self.migration(
            file_name,
            &text.replace(
                "\"TextChunk\"",
                &format!("\"{}\"", self.collection("TextChunk")),
            ),
        )
    }

    fn migration(&self, file_name: &str, text: &str) -> Migration {
        dbmigrate::parse::parse_migration(&format!("migrations/{file_name}"), text)
            .expect("valid migration")
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.client
            .expect(&Call::new(method, path, body))
            .await
            .expect("weaviate call")
    }

    async fn exists(&self, collection: &str) -> bool {
        self.client
            .send(&Call::new("GET", format!("/v1/schema/{collection}"), None))
            .await
            .expect("call")
            .ok()
    }

    /// Every object of `collection`: id → (properties, vector).
    async fn objects(&self, collection: &str) -> BTreeMap<String, (Value, Value)> {
        let (mut all, mut after) = (BTreeMap::new(), String::new());
        loop {
            let path = format!("/v1/objects?class={collection}&limit=400&include=vector{after}");
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
    async fn class_snapshot(&self, backend: &WeaviateBackend, collection: &str) -> Option<Value> {
        let snapshot: Value =
            serde_json::from_str(&backend.snapshot_schema().await.expect("snapshot")).unwrap();
        snapshot["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["class"] == collection)
            .cloned()
    }

    async fn cleanup(&self, collections: &[String]) {
        let own = [
            format!("{}History", self.prefix()),
            format!("{}Lock", self.prefix()),
        ];
        for collection in collections.iter().chain(&own) {
            self.send("DELETE", &format!("/v1/schema/{collection}"), None)
                .await;
        }
    }
}

fn step(migration: &Migration, direction: Direction) -> Step<'_> {
    Step {
        migration,
        direction,
        applied_by: "tests/it/weaviate.rs",
    }
}

/// Inserts `n` objects with 8-dimensional vectors, in batches.
async fn insert_chunks(scope: &Scope, collection: &str, n: usize) {
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

#[tokio::test]
async fn edututor_round_trip_keeps_every_object_and_the_schema() {
    let scope = Scope::new();
    let backend = scope.backend();
    let text_chunk = scope.collection("TextChunk");
    let create = scope.edututor("20241203_0900_f6a7b8_text_chunk_collection.weaviate.json");
    let add_score = scope.edututor("20241203_1000_a7b8c9_add_difficulty_score.weaviate.json");
    backend.ensure_history().await.unwrap();

    backend.apply(&step(&create, Direction::Up)).await.unwrap();
    let schema_6 = scope
        .class_snapshot(&backend, &text_chunk)
        .await
        .expect("TextChunk created");
    insert_chunks(&scope, &text_chunk, 1000).await;
    let objects = scope.objects(&text_chunk).await;
    assert_eq!(objects.len(), 1000);

    backend
        .apply(&step(&add_score, Direction::Up))
        .await
        .unwrap();
    let schema_7 = scope.class_snapshot(&backend, &text_chunk).await.unwrap();
    assert!(schema_7.to_string().contains("difficulty_score"));
    assert_eq!(scope.objects(&text_chunk).await, objects, "after 7 up");

    backend
        .apply(&step(&add_score, Direction::Down))
        .await
        .unwrap();
    assert_eq!(
        scope.class_snapshot(&backend, &text_chunk).await.unwrap(),
        schema_6,
        "7 down restores 6's schema"
    );
    assert_eq!(
        scope.objects(&text_chunk).await,
        objects,
        "after 7 down (rebuild)"
    );
    assert!(
        !scope
            .exists(&format!("{text_chunk}_DbmigrateRebuild"))
            .await,
        "temporary collection removed"
    );

    backend
        .apply(&step(&add_score, Direction::Up))
        .await
        .unwrap();
    assert_eq!(
        scope.class_snapshot(&backend, &text_chunk).await.unwrap(),
        schema_7
    );
    assert_eq!(
        scope.objects(&text_chunk).await,
        objects,
        "after 7 up again"
    );

    let history = backend.read_history().await.unwrap();
    let ids: Vec<_> = history
        .iter()
        .map(|r| (r.revision_id.as_str(), r.state))
        .collect();
    assert_eq!(
        ids,
        [
            ("20241203_0900_f6a7b8", RecordState::Applied),
            ("20241203_1000_a7b8c9", RecordState::Applied)
        ]
    );
    assert_eq!(history[1].checksum, add_score.checksum.to_hex());

    backend
        .apply(&step(&add_score, Direction::Down))
        .await
        .unwrap();
    backend
        .apply(&step(&create, Direction::Down))
        .await
        .unwrap();
    assert_eq!(
        scope.class_snapshot(&backend, &text_chunk).await,
        None,
        "base has no TextChunk"
    );
    assert!(backend.read_history().await.unwrap().is_empty());
    backend.apply(&step(&create, Direction::Up)).await.unwrap();
    backend
        .apply(&step(&add_score, Direction::Up))
        .await
        .unwrap();
    assert_eq!(
        scope.class_snapshot(&backend, &text_chunk).await.unwrap(),
        schema_7,
        "head again"
    );
    scope.cleanup(&[text_chunk]).await;
}

#[tokio::test]
async fn read_history_creates_nothing_and_plan_lists_every_call() {
    let scope = Scope::new();
    let backend = scope.backend();
    assert!(backend.read_history().await.unwrap().is_empty());
    assert!(
        !scope.exists(&format!("{}History", scope.prefix())).await,
        "read_history created the collection"
    );
    let add_score = scope.edututor("20241203_1000_a7b8c9_add_difficulty_score.weaviate.json");
    let calls = backend.plan(&step(&add_score, Direction::Down)).unwrap();
    let texts: Vec<&str> = calls
        .iter()
        .map(|c| c.text.lines().next().unwrap())
        .collect();
    assert!(texts.contains(&"GET /v1/schema"), "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("POST /v1/batch/objects")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("DELETE /v1/objects/")),
        "{texts:?}"
    );
    assert!(calls.iter().any(|c| c.bookkeeping) && calls.iter().any(|c| !c.bookkeeping));
    assert!(
        calls.iter().any(|c| c.text.contains("include=vector")),
        "{calls:?}"
    );
    assert!(
        !scope.exists(&format!("{}History", scope.prefix())).await,
        "plan touched the server"
    );
}

#[tokio::test]
async fn immutable_changes_are_refused_before_any_call() {
    let scope = Scope::new();
    let backend = scope.backend();
    let text_chunk = scope.collection("TextChunk");
    let create = scope.edututor("20241203_0900_f6a7b8_text_chunk_collection.weaviate.json");
    backend.ensure_history().await.unwrap();
    backend.apply(&step(&create, Direction::Up)).await.unwrap();
    let before = scope.class_snapshot(&backend, &text_chunk).await.unwrap();
    let history_before = backend.read_history().await.unwrap();

    let cases = [
        (
            json!({"op": "update_collection", "collection": text_chunk, "config": {"vectorIndexConfig": {"distance": "dot"}}}),
            "vectorIndexConfig.distance",
        ),
        (
            json!({"op": "update_collection", "collection": text_chunk, "config": {"vectorizer": "text2vec-openai"}}),
            "`vectorizer` is immutable",
        ),
        (
            json!({"op": "update_collection", "collection": text_chunk, "config": {"shardingConfig": {"desiredCount": 3}}}),
            "shardingConfig",
        ),
        (
            json!({"op": "add_property", "collection": text_chunk, "property": {"name": "grade", "dataType": ["text"]}}),
            "retype_properties",
        ),
    ];
    for (index, (op, field)) in cases.into_iter().enumerate() {
        // A harmless first operation: refusal must come before it runs.
        let first = json!({"op": "add_property", "collection": text_chunk, "property": {"name": "early", "dataType": ["text"]}});
        let file = json!({"message": "refused", "revises": create.revision_id, "up": [first, op], "down": [
            {"op": "rebuild_collection", "collection": text_chunk, "drop_properties": ["early"]}]});
        let name = format!("20241205_090{index}_abcde{index}_refused.weaviate.json");
        let migration = scope.migration(&name, &serde_json::to_string_pretty(&file).unwrap());
        let error = backend
            .apply(&step(&migration, Direction::Up))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, BackendError::Refused { .. }), "{message}");
        assert!(
            message.contains(field) && message.contains("rebuild_collection"),
            "{message}"
        );
        assert!(message.contains("operation 2"), "{message}");
    }
    assert_eq!(
        scope.class_snapshot(&backend, &text_chunk).await.unwrap(),
        before,
        "schema changed"
    );
    assert_eq!(
        backend.read_history().await.unwrap(),
        history_before,
        "history changed"
    );
    scope.cleanup(&[text_chunk]).await;
}

#[tokio::test]
async fn a_failed_copy_leaves_a_dirty_record_and_the_original_intact() {
    let scope = Scope::new();
    let backend = scope.backend();
    let codes = scope.collection("Codes");
    let create = scope.migration(
        "20241205_1000_c0de01_codes.weaviate.json",
        &json!({"message": "codes", "up": [{"op": "create_collection", "class": {"class": codes, "vectorizer": "none",
            "properties": [{"name": "code", "dataType": ["text"]}, {"name": "n", "dataType": ["int"]}]}}],
            "down": [{"op": "delete_collection", "collection": codes}]})
        .to_string(),
    );
    backend.ensure_history().await.unwrap();
    backend.apply(&step(&create, Direction::Up)).await.unwrap();
    let objects: Vec<Value> = (0..450)
        .map(|i| {
            let code = if i == 333 {
                "not a number".to_string()
            } else {
                format!("{}", i * 3)
            };
            json!({"class": codes, "id": format!("10000000-0000-4000-8000-{i:012}"),
                   "properties": {"code": code, "n": i}, "vector": [i as f32 / 450.0, 0.5, -0.25]})
        })
        .collect();
    scope
        .send(
            "POST",
            "/v1/batch/objects",
            Some(json!({ "objects": objects })),
        )
        .await;
    let original = scope.objects(&codes).await;
    let schema = scope.class_snapshot(&backend, &codes).await.unwrap();

    let retype = scope.migration(
        "20241205_1100_c0de02_codes_to_int.weaviate.json",
        &json!({"message": "codes to int", "revises": create.revision_id,
            "up": [{"op": "rebuild_collection", "collection": codes, "retype_properties": {"code": "int"}, "batch_size": 100}],
            "down": [{"op": "rebuild_collection", "collection": codes, "retype_properties": {"code": "text"}}]})
        .to_string(),
    );
    let error = backend
        .apply(&step(&retype, Direction::Up))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, BackendError::Statement { .. }), "{message}");
    assert!(
        message.contains("is unchanged") && message.contains("not a number"),
        "{message}"
    );

    let history = backend.read_history().await.unwrap();
    let record = history
        .iter()
        .find(|r| r.revision_id == retype.revision_id)
        .expect("a record");
    assert_eq!(record.state, RecordState::Dirty(Direction::Up));
    assert_eq!(
        scope.objects(&codes).await,
        original,
        "original objects changed"
    );
    assert_eq!(
        scope.class_snapshot(&backend, &codes).await.unwrap(),
        schema,
        "original schema changed"
    );
    assert!(
        !scope.exists(&format!("{codes}_DbmigrateRebuild")).await,
        "temporary collection left behind"
    );

    // A raw call to a bad path after a good operation: dirty too.
    let raw = scope.migration(
        "20241205_1200_c0de03_bad_raw.weaviate.json",
        &json!({"message": "bad raw", "revises": create.revision_id,
            "up": [{"op": "add_property", "collection": codes, "property": {"name": "extra", "dataType": ["text"]}},
                   {"op": "raw", "method": "POST", "path": "/v1/no/such/endpoint", "body": {}}],
            "down": [{"op": "rebuild_collection", "collection": codes, "drop_properties": ["extra"]}]})
        .to_string(),
    );
    let message = backend
        .apply(&step(&raw, Direction::Up))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("operation 2 (`raw`)") && message.contains("/v1/no/such/endpoint"),
        "{message}"
    );
    let history = backend.read_history().await.unwrap();
    assert!(history
        .iter()
        .any(|r| r.revision_id == raw.revision_id && r.state == RecordState::Dirty(Direction::Up)));
    scope.cleanup(&[codes]).await;
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_a_timeout_names_the_holder() {
    let scope = Scope::new();
    let holder = scope.backend();
    holder
        .lock("holder-host pid 1", Duration::from_secs(10))
        .await
        .unwrap();
    let waiter = scope.backend();
    let error = waiter
        .lock("waiter", Duration::from_millis(800))
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::LockTimeout { .. }), "{error}");
    assert!(error.to_string().contains("holder-host pid 1"), "{error}");
    holder.unlock().await.unwrap();
    waiter
        .lock("waiter", Duration::from_secs(10))
        .await
        .unwrap();
    waiter.unlock().await.unwrap();

    // A crashed holder: its lease object stays, expired.
    let lock_class = format!("{}Lock", scope.prefix());
    let lock_path = format!("/v1/objects?class={lock_class}&limit=1");
    holder
        .lock("soon-crashed", Duration::from_secs(10))
        .await
        .unwrap();
    let lease = scope.send("GET", &lock_path, None).await["objects"][0].clone();
    std::mem::forget(holder);
    let mut expired = lease.clone();
    expired["properties"]["expires_at_ms"] = json!(1000.0);
    let id = lease["id"].as_str().unwrap();
    scope
        .send(
            "PUT",
            &format!("/v1/objects/{lock_class}/{id}"),
            Some(expired),
        )
        .await;
    let taker = scope.backend();
    taker.lock("taker", Duration::from_secs(10)).await.unwrap();
    let now = scope.send("GET", &lock_path, None).await;
    assert_eq!(now["objects"][0]["properties"]["owner"], "taker");
    taker.unlock().await.unwrap();
    scope.cleanup(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_migrators_apply_each_migration_once() {
    let scope = Arc::new(Scope::new());
    let text_chunk = scope.collection("TextChunk");
    let migrations = Arc::new(vec![
        scope.edututor("20241203_0900_f6a7b8_text_chunk_collection.weaviate.json"),
        scope.edututor("20241203_1000_a7b8c9_add_difficulty_score.weaviate.json"),
    ]);
    let mut tasks = Vec::new();
    for replica in 0..8 {
        let (scope, migrations) = (scope.clone(), migrations.clone());
        tasks.push(tokio::spawn(async move {
            let backend = scope.backend();
            backend.ensure_history().await.unwrap();
            backend
                .lock(&format!("replica {replica}"), Duration::from_secs(120))
                .await
                .unwrap();
            let applied: Vec<String> = backend
                .read_history()
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.revision_id)
                .collect();
            let mut n_applied = 0;
            for migration in migrations
                .iter()
                .filter(|m| !applied.contains(&m.revision_id))
            {
                backend
                    .apply(&step(migration, Direction::Up))
                    .await
                    .unwrap();
                n_applied += 1;
            }
            backend.unlock().await.unwrap();
            n_applied
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 2, "each migration applied exactly once");
    let history = scope.backend().read_history().await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|r| r.state == RecordState::Applied));
    scope.cleanup(&[text_chunk]).await;
}
