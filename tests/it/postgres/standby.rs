//! An application replica connected to a read-only streaming standby: it
//! boots with one history read when the primary is migrated, and fails at
//! once, saying so, when migrations are pending (a standby grants advisory
//! locks, which are local to it, but can never apply a migration).

use super::cluster::Cluster;
use super::*;

async fn connect(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// Polls until the standby has replayed everything the primary wrote so far.
async fn caught_up(primary: &PgPool, standby: &PgPool) {
    let written: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await
        .unwrap();
    loop {
        let replayed: bool =
            sqlx::query_scalar("SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)")
                .bind(&written)
                .fetch_one(standby)
                .await
                .unwrap();
        if replayed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_replica_on_a_standby_boots_when_up_to_date_and_refuses_pending_at_once() {
    // Each on a port free when it starts: another `cargo test` run cannot clash.
    let primary_cluster = Cluster::start();
    let standby_cluster = primary_cluster.start_standby();
    let primary = connect(&primary_cluster.url()).await;
    let standby = connect(&standby_cluster.url()).await;
    let specs = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        spec("CREATE TABLE b (id int);", "DROP TABLE b;"),
    ];
    migrator(timeline(&specs[..1]), &primary)
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    caught_up(&primary, &standby).await;

    let booted = migrator(timeline(&specs[..1]), &standby)
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("an up-to-date standby must boot: {e}"));
    assert_eq!(
        (booted.history_reads, booted.locked, booted.applied.len()),
        (1, false, 0)
    );

    // Another replica on the standby holds the (standby-local) advisory
    // lock: without the read-only check the run would wait for it.
    let mut holder = PgConnection::connect(&standby_cluster.url()).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(PostgresConfig::default().lock_key)
        .execute(&mut holder)
        .await
        .unwrap();
    let error = migrator(timeline(&specs), &standby)
        .lock_timeout(Duration::from_secs(2))
        .upgrade(Target::Head)
        .await
        .expect_err("a standby cannot apply a migration");
    let message = error.to_string();
    assert!(
        matches!(error, RunError::Backend(BackendError::ReadOnly { .. })),
        "{message}"
    );
    assert!(
        message.contains("connected to a read-only standby") && message.contains("help:"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{}", standby_cluster.port())),
        "{message}"
    );
    let _ = holder.close().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM dbmigrate_history")
        .fetch_one(&primary)
        .await
        .unwrap();
    assert_eq!(rows, 1, "nothing was applied anywhere");
    primary.close().await;
    standby.close().await;
}
