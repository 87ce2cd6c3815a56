//! Refusals before any call, and failures half way leaving a dirty record
//! and the original collection intact.

use dbmigrate_core::backend::{Backend, BackendError, RecordState};
use dbmigrate_core::Direction;
use serde_json::{json, Value};

use super::scope::{step, Scope};

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
