//! The lease lock: timeouts name the holder, expired leases are taken over,
//! 8 concurrent migrators apply each migration once.

use std::sync::Arc;
use std::time::Duration;

use dbmigrate_core::backend::{Backend, BackendError, RecordState};
use dbmigrate_core::Direction;
use serde_json::json;

use super::scope::{step, Scope};

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
