//! Group commit: consecutive transactional steps share one transaction
//! (each in a savepoint) until the group's time budget is spent. A budget
//! of an hour puts a whole test run in one group, zero commits each step;
//! both must give the same results, and no test depends on timing.

use super::*;
use dbmigrate_core::backend::{Backend, Step};

const ONE_GROUP: Duration = Duration::from_secs(3600);

fn grouped(history: History, pool: &PgPool, budget: Duration) -> Migrator {
    let backend =
        PostgresBackend::new(pool.clone(), PostgresConfig::default()).with_group_budget(budget);
    Migrator::from_history(history)
        .backend(Box::new(backend))
        .lock_timeout(Duration::from_secs(120))
}

/// Records the top-level transaction a step ran in (a savepoint's own
/// subtransaction id would differ).
const PROBE: &str = "INSERT INTO public.probe VALUES (txid_current());";

/// The first step of every test timeline: it commits on its own.
const CREATE_PROBE: &str = "CREATE TABLE public.probe (tx bigint);";

/// How many top-level transactions the probing steps ran in.
async fn transactions(db: &TestDb) -> i64 {
    db.scalar_i64("SELECT count(DISTINCT tx) FROM public.probe")
        .await
}

const FAILING: &str = "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1 / 0;";

fn failing_specs() -> [Spec<'static>; 5] {
    [
        spec(
            "CREATE TABLE a (id int);\nCREATE TABLE probe (tx bigint);",
            "DROP TABLE a, probe;",
        ),
        spec(
            "CREATE TABLE b (id int);\nINSERT INTO probe VALUES (txid_current());",
            "DROP TABLE b;",
        ),
        spec(
            "CREATE TABLE c (id int);\nINSERT INTO probe VALUES (txid_current());",
            "DROP TABLE c;",
        ),
        spec(FAILING, "DROP TABLE half;"),
        spec("CREATE TABLE e (id int);", "DROP TABLE e;"),
    ]
}

/// Runs the failing timeline with `budget`; the error text, and how many
/// transactions created `b` and `c`.
async fn fail_in_the_middle(budget: Duration) -> (String, i64) {
    let db = TestDb::create().await;
    let error = grouped(timeline(&failing_specs()), &db.pool, budget)
        .upgrade(Target::Head)
        .await
        .expect_err("division by zero");
    let report = error.report().expect("a failed step carries its report");
    assert_eq!(report.applied.len(), 3, "{error}");
    for table in ["a", "b", "c"] {
        assert!(db.exists(table).await, "{table} was reported applied");
    }
    assert!(!db.exists("half").await, "the failed step left nothing");
    assert!(!db.exists("e").await);
    assert_eq!(history_rows(&db).await, 3);
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM dbmigrate_history WHERE state <> 'applied'")
            .await,
        0,
        "no dirty record"
    );
    let transactions = transactions(&db).await;
    db.drop().await;
    (error.to_string(), transactions)
}

#[tokio::test]
async fn a_failure_in_the_middle_of_a_group_keeps_exactly_the_earlier_steps() {
    let (grouped_error, grouped_transactions) = fail_in_the_middle(ONE_GROUP).await;
    let (alone_error, alone_transactions) = fail_in_the_middle(Duration::ZERO).await;
    assert_eq!(grouped_transactions, 1, "b and c shared one transaction");
    assert_eq!(alone_transactions, 2, "a zero budget commits each step");
    assert_eq!(
        grouped_error, alone_error,
        "reported as with one commit a step"
    );
    assert!(
        grouped_error.contains("division by zero"),
        "{grouped_error}"
    );
    assert!(
        grouped_error.contains(&format!("migrations/{}_step_3.sql:7", revision_id(3))),
        "{grouped_error}"
    );
}

#[tokio::test]
async fn a_value_added_to_an_enum_is_usable_by_the_next_step_of_the_run() {
    let db = TestDb::create().await;
    let specs = [
        spec(
            "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE feeling (m mood);",
            "DROP TABLE feeling;\nDROP TYPE mood;",
        ),
        spec("CREATE TABLE other (id int);", "DROP TABLE other;"),
        spec(
            "-- adds a value\nALTER TYPE mood ADD VALUE 'meh';",
            "SELECT 1;",
        ),
        spec(
            "INSERT INTO feeling VALUES ('meh');",
            "DELETE FROM feeling;",
        ),
    ];
    // The type exists before the run, as in a real project.
    grouped(timeline(&specs), &db.pool, ONE_GROUP)
        .upgrade(Target::Revision(revision_id(0)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    grouped(timeline(&specs), &db.pool, ONE_GROUP)
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("the new value must be committed before its use: {e}"));
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM feeling WHERE m = 'meh'")
            .await,
        1
    );
    assert_eq!(history_rows(&db).await, 4);
    db.drop().await;
}

#[tokio::test]
async fn a_transaction_none_step_between_grouped_steps_runs_outside_the_group() {
    let db = TestDb::create().await;
    let specs = [
        spec("CREATE TABLE first (id int);", "DROP TABLE first;"),
        spec("CREATE TABLE t (id int);", "DROP TABLE t;"),
        Spec {
            header: "-- Transaction: none",
            up: "CREATE INDEX CONCURRENTLY t_id ON t (id);",
            down: "DROP INDEX CONCURRENTLY t_id;",
        },
        spec("CREATE TABLE after (id int);\nCREATE TABLE probe (tx bigint);\nINSERT INTO probe VALUES (txid_current());", "DROP TABLE after, probe;"),
        spec("CREATE TABLE last (id int);\nINSERT INTO probe VALUES (txid_current());", "DROP TABLE last;"),
    ];
    let runner = grouped(timeline(&specs), &db.pool, ONE_GROUP);
    let report = runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 5);
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) FROM pg_index WHERE indexrelid = 't_id'::regclass AND indisvalid"
        )
        .await,
        1
    );
    assert_eq!(
        transactions(&db).await,
        1,
        "the steps after it form a new group"
    );
    runner
        .downgrade(Target::Base)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(history_rows(&db).await, 0);
    db.drop().await;
}

#[tokio::test]
async fn a_pg_dump_style_step_leaks_nothing_into_the_next_step_of_its_group() {
    let db = TestDb::create().await;
    let dump_style = format!("{DUMP_STYLE}\n{PROBE}");
    let ordinary = format!("{ORDINARY}\n{PROBE}");
    let timed = format!("CREATE TABLE timed (id int);\n{PROBE}");
    let settings = format!(
        "CREATE TABLE settings AS SELECT current_setting('lock_timeout') AS lock_timeout, \
         current_setting('search_path') AS search_path;\n{PROBE}"
    );
    let specs = [
        spec(CREATE_PROBE, "DROP TABLE public.probe;"),
        spec(&dump_style, "DROP TABLE public.dumped;"),
        spec(&ordinary, "DROP TABLE plain;"),
        Spec {
            header: "-- Lock-Timeout: 5s",
            up: &timed,
            down: "DROP TABLE timed;",
        },
        spec(&settings, "DROP TABLE settings;"),
    ];
    let runner = grouped(timeline(&specs), &db.pool, ONE_GROUP);
    runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("one group must behave like one run per migration: {e}"));
    assert_eq!(
        transactions(&db).await,
        1,
        "the steps shared one transaction"
    );
    let alone: (String, String) =
        sqlx::query_as("SELECT current_setting('lock_timeout'), current_setting('search_path')")
            .fetch_one(&db.pool)
            .await
            .expect("a fresh session's settings");
    let seen: (String, String) =
        sqlx::query_as("SELECT lock_timeout, search_path FROM public.settings")
            .fetch_one(&db.pool)
            .await
            .expect("the last step's settings");
    assert_eq!(
        seen, alone,
        "neither pg_dump's nor Lock-Timeout's settings leaked"
    );
    runner
        .downgrade(Target::Base)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(history_rows(&db).await, 0);
    db.drop().await;
}

/// Another backend's step, and the end of the run, come after
/// [`Backend::flush`]: it commits the open group.
#[tokio::test]
async fn flush_commits_the_open_group() {
    let db = TestDb::create().await;
    let history = timeline(&[
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        spec("CREATE TABLE b (id int);", "DROP TABLE b;"),
    ]);
    let backend = PostgresBackend::new(db.pool.clone(), PostgresConfig::default())
        .with_group_budget(ONE_GROUP);
    backend.ensure_history().await.expect("history table");
    backend
        .lock("test", Duration::from_secs(60))
        .await
        .expect("lock");
    for migration in history.migrations() {
        backend
            .apply(&Step {
                migration,
                direction: Direction::Up,
                applied_by: "test",
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(db.exists("a").await, "the first step commits on its own");
    assert!(!db.exists("b").await, "the second one is in the open group");
    backend.flush().await.expect("flush");
    assert!(db.exists("b").await, "flush committed the group");
    assert_eq!(history_rows(&db).await, 2);
    backend.unlock().await.expect("unlock");
    db.drop().await;
}

/// A cancelled run (Ctrl-C) stops the running step and keeps the steps
/// of its group that were reported applied.
#[tokio::test]
async fn a_cancelled_step_keeps_the_earlier_steps_of_its_group() {
    let db = TestDb::create().await;
    let specs = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        spec("CREATE TABLE b (id int);", "DROP TABLE b;"),
        spec("CREATE TABLE c (id int);", "DROP TABLE c;"),
        spec(
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(3600);",
            "DROP TABLE slow;",
        ),
    ];
    let cancel = dbmigrate_core::runner::Cancel::new();
    let runner = grouped(timeline(&specs), &db.pool, ONE_GROUP).cancel_on(cancel.clone());
    let sleeping = async {
        let query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND state = 'active' AND query LIKE 'SAVEPOINT%pg_sleep(3600)%'";
        while db.scalar_i64(query).await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(runner.upgrade(Target::Head), sleeping);
    let error = result.expect_err("cancelled");
    assert_eq!(
        error.report().expect("its report").applied.len(),
        3,
        "{error}"
    );
    for table in ["a", "b", "c"] {
        assert!(db.exists(table).await, "{table} was reported applied");
    }
    assert!(!db.exists("slow").await);
    assert_eq!(history_rows(&db).await, 3);
    db.drop().await;
}

/// A step that sets its own isolation level must start its transaction:
/// inside a group it runs on its own, never in a savepoint (where
/// PostgreSQL refuses `SET TRANSACTION` as "called in a subtransaction").
#[tokio::test]
async fn a_step_that_sets_its_isolation_level_runs_alone_inside_a_group() {
    let db = TestDb::create().await;
    let specs = [
        spec(CREATE_PROBE, "DROP TABLE probe;"),
        spec("CREATE TABLE b (id int);", "DROP TABLE b;"),
        spec(
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE c (level text DEFAULT current_setting('transaction_isolation'));\nINSERT INTO c DEFAULT VALUES;",
            "DROP TABLE c;",
        ),
        spec("CREATE TABLE d (id int);", "DROP TABLE d;"),
    ];
    grouped(timeline(&specs), &db.pool, ONE_GROUP)
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(history_rows(&db).await, 4);
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM c WHERE level = 'serializable'")
            .await,
        1,
        "the step ran at its own isolation level"
    );
    assert!(db.exists("d").await);
    db.drop().await;
}
