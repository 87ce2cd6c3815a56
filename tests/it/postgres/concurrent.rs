//! Resuming a `Transaction: none` step whose `CREATE INDEX CONCURRENTLY` was
//! interrupted (a server crash, a kill): the invalid index it left is
//! dropped and built again, instead of "already exists" on every retry or a
//! silent skip with `IF NOT EXISTS`.

use super::*;

async fn index_state(db: &TestDb, name: &str) -> Option<(bool, bool)> {
    sqlx::query_as(
        "SELECT i.indisvalid, i.indisunique FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
    )
    .bind(name)
    .fetch_optional(&db.pool)
    .await
    .expect("pg_index")
}

#[tokio::test]
async fn resuming_a_dirty_step_drops_the_invalid_indexes_it_creates() {
    let db = TestDb::create().await;
    let specs = [
        spec(
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (1), (2);",
            "DROP TABLE t;",
        ),
        Spec {
            header: "-- Transaction: none",
            up: "CREATE UNIQUE INDEX CONCURRENTLY t_id_unique ON t (id);\n\
                 CREATE INDEX CONCURRENTLY IF NOT EXISTS t_id_plain ON t (id);",
            down: "DROP INDEX CONCURRENTLY t_id_plain;\nDROP INDEX CONCURRENTLY t_id_unique;",
        },
    ];
    let runner = migrator(timeline(&specs), &db.pool);
    runner
        .upgrade(Target::Revision(revision_id(0)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // What a crash in the middle of the second step leaves: its record
    // dirty, and the concurrent builds it had started invalid (a unique
    // build over duplicates fails half-way, as a crash would stop it).
    runner
        .stamp(Target::Revision(revision_id(1)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql(&format!(
        "UPDATE dbmigrate_history SET state = 'dirty_up' WHERE revision_id = '{}'",
        revision_id(1)
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    for name in ["t_id_unique", "t_id_plain"] {
        sqlx::raw_sql(&format!(
            "CREATE UNIQUE INDEX CONCURRENTLY {name} ON t (id)"
        ))
        .execute(&db.pool)
        .await
        .expect_err("duplicate key");
        assert_eq!(
            index_state(&db, name).await,
            Some((false, true)),
            "{name} is left invalid"
        );
    }
    let refused = runner.upgrade(Target::Head).await.expect_err("dirty");
    assert!(matches!(refused, RunError::Dirty { .. }), "{refused}");
    // The operator fixes the data and forgets the record; the step runs again.
    sqlx::raw_sql("DELETE FROM t WHERE id = 1")
        .execute(&db.pool)
        .await
        .unwrap();
    runner
        .repair(None, Repair::Forget)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("the resumed step must succeed: {e}"));
    assert_eq!(report.applied.len(), 1);
    assert_eq!(index_state(&db, "t_id_unique").await, Some((true, true)));
    assert_eq!(
        index_state(&db, "t_id_plain").await,
        Some((true, false)),
        "the invalid leftover was rebuilt as the step says, not skipped by IF NOT EXISTS"
    );
    db.drop().await;
}
