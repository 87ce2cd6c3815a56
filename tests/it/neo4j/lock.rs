//! The lease lock: concurrent migrators, a dead holder's lock taken over,
//! lease renewal and unlock sparing a successor.

use std::time::Duration;

use dbmigrate_core::backend::{Backend, BackendError};

use super::support::*;

#[tokio::test]
async fn eight_concurrent_migrators_apply_each_migration_once() {
    let graph = graph();
    let names = names("Counter");
    let label = names.label.clone();
    let migrations = vec![
        cypher(
            "20240102_0000_bbb001",
            None,
            &format!("CREATE CONSTRAINT {label}_name IF NOT EXISTS FOR (c:{label}) REQUIRE c.name IS UNIQUE;"),
            &format!("DROP CONSTRAINT {label}_name IF EXISTS;"),
        ),
        cypher(
            "20240102_0100_bbb002",
            Some("20240102_0000_bbb001"),
            &format!("MERGE (c:{label} {{name: 'runs'}}) SET c.n = coalesce(c.n, 0) + 1;"),
            &format!("MATCH (c:{label} {{name: 'runs'}}) DELETE c;"),
        ),
        cypher(
            "20240102_0200_bbb003",
            Some("20240102_0100_bbb002"),
            &format!("CREATE INDEX {label}_n IF NOT EXISTS FOR (c:{label}) ON (c.n);\nMATCH (c:{label} {{name: 'runs'}}) SET c.n = c.n + 1;"),
            &format!("DROP INDEX {label}_n IF EXISTS;"),
        ),
    ];
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let backend = backend(&graph, &names, Duration::from_secs(30));
            let migrations = migrations.clone();
            tokio::spawn(async move {
                migrate_up(&backend, &migrations, &format!("migrator {i}")).await
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("migrator task");
    }
    assert_eq!(total, 3, "each migration applied by exactly one migrator");
    let history = backend(&graph, &names, Duration::from_secs(30))
        .read_history()
        .await
        .expect("history");
    assert_eq!(history.len(), 3);
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (c:{label} {{name: 'runs'}}) RETURN c.n AS n")
        )
        .await,
        2
    );
    cleanup(
        &graph,
        &names,
        &[&format!("{label}_name"), &format!("{label}_n")],
    )
    .await;
}

#[tokio::test]
async fn a_dead_holders_lock_is_taken_over_after_its_lease() {
    let graph = graph();
    let names = names("Lock");
    let lock_label = format!("{}Lock", names.prefix);
    let backend = backend(&graph, &names, Duration::from_secs(30));
    backend
        .lock("first", Duration::from_secs(5))
        .await
        .expect("creates the constraint and locks");
    backend.unlock().await.expect("unlock");

    // A process killed while holding the lock: its lease ran out.
    let dead = format!("CREATE (:`{lock_label}` {{name: 'lock', token: 'dead', owner: 'killed process', expires_at: datetime() - duration('PT1S')}})");
    graph.run(neo4rs::query(&dead)).await.expect("dead lock");
    backend
        .lock("survivor", Duration::from_secs(5))
        .await
        .expect("takes over an expired lease");
    let owner = format!("MATCH (l:`{lock_label}`) WHERE l.owner = 'survivor' RETURN count(l) AS n");
    assert_eq!(count(&graph, &owner).await, 1);
    backend.unlock().await.expect("unlock");

    // A live holder: others time out naming it, then take over once its lease lapses.
    let live = format!("CREATE (:`{lock_label}` {{name: 'lock', token: 'live', owner: 'busy process', expires_at: datetime() + duration('PT3S')}})");
    graph.run(neo4rs::query(&live)).await.expect("live lock");
    let error = backend
        .lock("waiter", Duration::from_millis(300))
        .await
        .expect_err("held");
    let message = error.to_string();
    assert!(
        matches!(error, BackendError::LockTimeout { .. })
            && message.contains("busy process (lease expires at "),
        "{message}"
    );
    backend
        .lock("waiter", Duration::from_secs(60))
        .await
        .expect("taken over after the lease");
    backend.unlock().await.expect("unlock");
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (l:`{lock_label}`) RETURN count(l) AS n")
        )
        .await,
        0
    );
    cleanup(&graph, &names, &[]).await;
}

#[tokio::test]
async fn the_holder_renews_its_lease_and_unlocks_only_its_own_lock() {
    let graph = graph();
    let names = names("Lease");
    let lock_label = format!("{}Lock", names.prefix);
    let holder = backend(&graph, &names, Duration::from_millis(1500));
    let other = backend(&graph, &names, Duration::from_millis(1500));
    holder
        .lock("holder", Duration::from_secs(5))
        .await
        .expect("lock");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let error = other
        .lock("other", Duration::from_millis(200))
        .await
        .expect_err("lease renewed");
    assert!(
        error
            .to_string()
            .contains("held by holder (lease expires at "),
        "{error}"
    );

    // Someone took the lock over (the holder stalled past its lease): the
    // holder's unlock must leave the new owner's lock alone.
    let steal = format!("MATCH (l:`{lock_label}`) SET l.token = 'thief', l.owner = 'thief'");
    graph.run(neo4rs::query(&steal)).await.expect("steal");
    holder.unlock().await.expect("unlock");
    let owner = format!("MATCH (l:`{lock_label}`) WHERE l.owner = 'thief' RETURN count(l) AS n");
    assert_eq!(count(&graph, &owner).await, 1);
    cleanup(&graph, &names, &[]).await;
}
