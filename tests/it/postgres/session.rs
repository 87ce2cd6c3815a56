//! Each step of a run sees a fresh session, as if run alone, while the run
//! keeps its advisory lock.

use super::*;

/// What `pg_dump` writes at the top of every dump, plus the other kinds of
/// session state a migration can leave behind.
const DUMP_STYLE: &str = "SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;
CREATE TABLE public.dumped (id integer);
SET default_transaction_read_only = on;
CREATE TEMPORARY TABLE scratch (id integer);
PREPARE probe AS SELECT 1;
LISTEN dbmigrate_test;
DECLARE held CURSOR WITH HOLD FOR SELECT 1;";

/// An ordinary migration that fails if any of that state leaked into it.
const ORDINARY: &str = "CREATE TABLE plain (id integer);
CREATE TEMPORARY TABLE scratch (id integer);
PREPARE probe AS SELECT 2;
DECLARE held CURSOR WITH HOLD FOR SELECT 2;";

#[tokio::test]
async fn a_pg_dump_style_migration_leaks_nothing_into_the_next_step() {
    let db = TestDb::create().await;
    let specs = [
        spec(DUMP_STYLE, "DROP TABLE public.dumped;"),
        spec(ORDINARY, "DROP TABLE plain;"),
        Spec {
            header: "-- Transaction: none",
            up: "CREATE TABLE nontx (id integer);\nPREPARE probe AS SELECT 3;",
            down: "DROP TABLE nontx;",
        },
    ];
    let runner = migrator(timeline(&specs), &db.pool);
    let report = runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("one run must behave like one run per migration: {e}"));
    assert_eq!(report.applied.len(), 3);
    assert!(
        db.exists("public.plain").await,
        "created in the default schema"
    );
    assert!(db.exists("public.nontx").await);
    runner
        .downgrade(Target::Base)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!db.exists("public.dumped").await);
    assert_eq!(history_rows(&db).await, 0);
    db.drop().await;
}

/// A step run on a pooled connection (no lock held, as the round-trip
/// harness runs them) ends with the session reset, whose `DEALLOCATE ALL`
/// also removes sqlx's cached prepared statements: the pool must still serve
/// prepared queries on that connection afterwards.
#[tokio::test]
async fn the_pool_serves_prepared_queries_after_a_step_reset_its_connection() {
    use dbmigrate_core::backend::{Backend, Step};
    let db = TestDb::create().await;
    let single = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(db.options.clone())
        .await
        .expect("one-connection pool");
    let probe = || async {
        sqlx::query_scalar::<_, i32>("SELECT $1::int4 + 1")
            .bind(41)
            .fetch_one(&single)
            .await
    };
    assert_eq!(probe().await.expect("prepared before the step"), 42);
    let backend = PostgresBackend::new(single.clone(), PostgresConfig::default());
    backend.ensure_history().await.expect("history table");
    let history = timeline(&[spec("CREATE TABLE t (id int);", "DROP TABLE t;")]);
    let migration = history.migrations().first().expect("one migration");
    backend
        .apply(&Step {
            migration,
            direction: Direction::Up,
            applied_by: "test",
        })
        .await
        .expect("step applies on the pooled connection");
    assert_eq!(
        probe()
            .await
            .expect("the cached statement is gone with the reset"),
        42
    );
    single.close().await;
    db.drop().await;
}

/// Steps sharing one transaction (group commit) behave as steps committed
/// one by one.
mod group;
