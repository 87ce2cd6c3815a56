//! The Weaviate backend under the runner (`Migrator`): 8 replicas upgrading
//! at once apply each migration once; head → -1 → head → base → head keeps
//! 1,000 objects identical wherever the collection exists.

use std::sync::Arc;

use dbmigrate_core::backend::Backend;
use dbmigrate_core::{History, Migration, Migrator, Target};

use super::scope::{insert_chunks, Scope};

/// Edututor's Weaviate line (6 → 7) as a timeline of its own.
fn timeline(scope: &Scope) -> Vec<Migration> {
    let mut create = scope.edututor("20241203_0900_f6a7b8_text_chunk_collection.weaviate.json");
    create.parent = None;
    let add_score = scope.edututor("20241203_1000_a7b8c9_add_difficulty_score.weaviate.json");
    vec![create, add_score]
}

fn migrator(scope: &Scope, migrations: Vec<Migration>, replica: usize) -> Migrator {
    Migrator::from_history(History::new(migrations).expect("timeline"))
        .backend(Box::new(scope.backend()))
        .applied_by(format!("replica {replica}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_replicas_through_the_runner_then_every_direction_keeps_the_objects() {
    let scope = Arc::new(Scope::new());
    let text_chunk = scope.collection("TextChunk");
    let mut tasks = Vec::new();
    for replica in 0..8 {
        let scope = scope.clone();
        tasks.push(tokio::spawn(async move {
            let runner = migrator(&scope, timeline(&scope), replica);
            let report = runner
                .upgrade(Target::Head)
                .await
                .map_err(|e| e.to_string());
            report.map(|report| report.applied.len())
        }));
    }
    let mut n_applied = 0;
    for task in tasks {
        n_applied += task
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("a replica failed: {e}"));
    }
    assert_eq!(
        n_applied, 2,
        "the 8 replicas together applied each migration once"
    );

    let runner = migrator(&scope, timeline(&scope), 99);
    insert_chunks(&scope, &text_chunk, 1000).await;
    let objects = scope.objects(&text_chunk).await;
    assert_eq!(objects.len(), 1000);
    let head_schema = scope.class_snapshot(&scope.backend(), &text_chunk).await;

    runner
        .downgrade(Target::Relative(-1))
        .await
        .expect("downgrade -1");
    assert_eq!(scope.objects(&text_chunk).await, objects, "after 7 down");
    runner.upgrade(Target::Head).await.expect("upgrade head");
    assert_eq!(scope.objects(&text_chunk).await, objects, "after 7 up");
    runner
        .downgrade(Target::Base)
        .await
        .expect("downgrade base");
    assert!(!scope.exists(&text_chunk).await, "base has no TextChunk");
    runner
        .upgrade(Target::Head)
        .await
        .expect("upgrade head again");
    assert_eq!(
        scope.class_snapshot(&scope.backend(), &text_chunk).await,
        head_schema
    );
    let history = scope.backend().read_history().await.unwrap();
    assert_eq!(history.len(), 2);
    scope.cleanup(&[text_chunk]).await;
}
