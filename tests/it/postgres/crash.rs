//! Steps commit without waiting for the disk, yet a crash of a durable
//! server never leaves a half-applied or out-of-order history, and a run
//! that reported success lost nothing.

use super::cluster::Cluster;
use super::*;

fn numbered(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("CREATE TABLE t_{i} (id int);\nINSERT INTO t_{i} VALUES ({i});"),
                format!("DROP TABLE t_{i};"),
            )
        })
        .collect()
}

fn numbered_timeline(texts: &[(String, String)]) -> History {
    let specs: Vec<Spec<'_>> = texts.iter().map(|(up, down)| spec(up, down)).collect();
    timeline(&specs)
}

async fn connect(cluster: &Cluster) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(&cluster.url())
        .await
        .expect("connect to the crash cluster")
}

/// History rows and `t_*` tables, after checking they name the same prefix.
async fn consistent_revision(pool: &PgPool) -> i64 {
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM dbmigrate_history")
        .fetch_one(pool)
        .await
        .expect("history");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\\_%'",
    )
    .fetch_one(pool)
    .await
    .expect("tables");
    assert_eq!(rows, tables, "every history row has its table and back");
    for i in 0..rows {
        let revision = revision_id(i as usize);
        let found: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM dbmigrate_history WHERE revision_id = '{revision}'"
        ))
        .fetch_one(pool)
        .await
        .expect("history row");
        assert_eq!(found, 1, "the history is a prefix: {revision} is missing");
    }
    rows
}

#[tokio::test]
async fn a_crash_keeps_an_earlier_consistent_revision_and_reported_success_is_durable() {
    let cluster = Cluster::start();
    let texts = numbered(400);
    // A run that reports success is on disk, even if the server dies at once.
    let first = numbered_timeline(&texts[..100]);
    let pool = connect(&cluster).await;
    migrator(first, &pool)
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    cluster.crash();
    pool.close().await;
    cluster.start_again();
    let pool = connect(&cluster).await;
    assert_eq!(
        consistent_revision(&pool).await,
        100,
        "a reported step was lost"
    );
    // A crash in the middle of a run leaves an earlier, consistent revision.
    let runner = migrator(numbered_timeline(&texts), &pool);
    let run = tokio::spawn(async move { runner.upgrade(Target::Head).await });
    let watcher = connect(&cluster).await;
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM dbmigrate_history")
            .fetch_one(&watcher)
            .await
            .expect("history");
        if rows >= 200 {
            break;
        }
        tokio::task::yield_now().await;
    }
    cluster.crash();
    let result = run.await.expect("the run task");
    assert!(result.is_err(), "the run cannot succeed without its server");
    watcher.close().await;
    pool.close().await;
    cluster.start_again();
    let pool = connect(&cluster).await;
    let revision = consistent_revision(&pool).await;
    assert!((100..400).contains(&revision), "{revision}");
    pool.close().await;
}
