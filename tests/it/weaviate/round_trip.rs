//! Edututor's Weaviate migrations with 1,000 objects: identical after every
//! direction; `plan` and `read_history` touch nothing.

use dbmigrate_core::backend::{Backend, RecordState};
use dbmigrate_core::Direction;

use super::scope::{insert_chunks, step, Scope};

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
