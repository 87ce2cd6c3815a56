//! The runner and the PostgreSQL backend against a real server: each test
//! creates its own database `dbm_<suffix>` and drops it at the end.

use std::str::FromStr;
use std::time::Duration;

use dbmigrate_core::backend::postgres::{PostgresBackend, PostgresConfig};
use dbmigrate_core::backend::BackendError;
use dbmigrate_core::runner::{Repair, RunError};
use dbmigrate_core::{BackendKind, Direction, History, Migration, Migrator, Target};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::common;

mod cluster;
mod concurrent;
mod connect;
mod crash;
mod errors;
mod session;
mod standby;

/// A scratch database on the test server.
struct TestDb {
    name: String,
    options: PgConnectOptions,
    pool: PgPool,
    /// Cleared by [`TestDb::drop`]; while set, `Drop` removes the database
    /// (a test that panics before its own `drop().await`).
    armed: bool,
}

impl TestDb {
    async fn create() -> TestDb {
        let admin =
            PgConnectOptions::from_str(&common::database_url()).expect("DATABASE_URL parses");
        let name = format!("dbm_{}", common::unique_suffix());
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .expect("connect to DATABASE_URL");
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        let options = admin.database(&name);
        let pool = TestDb::pool_on(&options, 4).await;
        TestDb {
            name,
            options,
            pool,
            armed: true,
        }
    }

    async fn pool_on(options: &PgConnectOptions, max: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max)
            .connect_with(options.clone())
            .await
            .expect("connect to the test database")
    }

    async fn new_pool(&self, max: u32) -> PgPool {
        TestDb::pool_on(&self.options, max).await
    }

    async fn scalar_i64(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    async fn exists(&self, relation: &str) -> bool {
        sqlx::query_scalar::<_, bool>(&format!("SELECT to_regclass('{relation}') IS NOT NULL"))
            .fetch_one(&self.pool)
            .await
            .expect("to_regclass")
    }

    async fn drop(mut self) {
        self.armed = false;
        self.pool.close().await;
        let admin =
            PgConnectOptions::from_str(&common::database_url()).expect("DATABASE_URL parses");
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .expect("connect to DATABASE_URL");
        dbmigrate_core::testing::drop_database(&mut conn, &self.name)
            .await
            .expect("drop database");
        let _ = conn.close().await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // On a thread and runtime of its own (the test's may be unwinding);
        // FORCE ends the pool's sessions; never a second panic.
        let url = common::database_url();
        if let Err(error) = dbmigrate_core::testing::drop_database_from_guard(&url, &self.name) {
            eprintln!("dropping the test database {} failed: {error}", self.name);
        }
    }
}

/// One migration file of a test timeline.
struct Spec<'a> {
    header: &'a str,
    up: &'a str,
    down: &'a str,
}

const fn spec<'a>(up: &'a str, down: &'a str) -> Spec<'a> {
    Spec {
        header: "",
        up,
        down,
    }
}

fn revision_id(n: usize) -> String {
    format!("20240101_1200_{:06x}", 0xa00000 + n)
}

fn migration(n: usize, spec: &Spec<'_>) -> Migration {
    let parent = if n == 0 {
        "base".to_string()
    } else {
        revision_id(n - 1)
    };
    let path = format!("migrations/{}_step_{n}.sql", revision_id(n));
    let text = format!(
        "-- Message: step {n}\n-- Revises: {parent}\n{}\n-- migrate:up\n{}\n\n-- migrate:down\n{}\n",
        spec.header, spec.up, spec.down
    );
    dbmigrate_core::parse::parse_migration(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn timeline(specs: &[Spec<'_>]) -> History {
    History::new(
        specs
            .iter()
            .enumerate()
            .map(|(n, s)| migration(n, s))
            .collect(),
    )
    .expect("a linear history")
}

fn migrator(history: History, pool: &PgPool) -> Migrator {
    Migrator::from_history(history)
        .postgres(pool.clone())
        .lock_timeout(Duration::from_secs(120))
}

/// The edututor PostgreSQL migrations, re-linked into one PostgreSQL-only line.
fn edututor_postgres() -> History {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/edututor/migrations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/edututor/migrations")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| {
            BackendKind::from_file_name(&path.to_string_lossy()) == Some(BackendKind::Postgres)
        })
        .collect();
    // File names start with the creation time, which is the timeline order here.
    paths.sort();
    let mut previous: Option<String> = None;
    let mut postgres = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read migration");
        let mut migration = dbmigrate_core::parse::parse_migration(&path.to_string_lossy(), &text)
            .unwrap_or_else(|e| panic!("{e}"));
        migration.parent = previous.replace(migration.revision_id.clone());
        postgres.push(migration);
    }
    History::new(postgres).expect("re-linked PostgreSQL line")
}

async fn history_rows(db: &TestDb) -> i64 {
    db.scalar_i64("SELECT count(*) FROM dbmigrate_history")
        .await
}

#[tokio::test]
async fn edututor_base_head_base_head() {
    let db = TestDb::create().await;
    let runner = Migrator::from_history(edututor_postgres()).postgres(db.pool.clone());
    let report = runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 6);
    assert_eq!(report.to.as_deref(), Some("20241204_0920_d0e1f2"));
    sqlx::raw_sql(
        "INSERT INTO users (email, display_name, role) VALUES ('a@example.org', 'A', 'student')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let report = runner
        .downgrade(Target::Base)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 6);
    assert!(report
        .applied
        .iter()
        .all(|s| s.direction == Direction::Down));
    assert!(!db.exists("users").await && !db.exists("guardian_consents").await);
    assert_eq!(history_rows(&db).await, 0);
    let report = runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 6);
    assert_eq!(history_rows(&db).await, 6);
    let state: String =
        sqlx::query_scalar("SELECT string_agg(state, ',' ORDER BY seq) FROM dbmigrate_history")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(state, ["applied"; 6].join(","));
    db.drop().await;
}

#[tokio::test]
async fn sixteen_concurrent_migrators_apply_each_migration_once() {
    let db = TestDb::create().await;
    let specs = || {
        vec![
            spec(
                "CREATE TABLE counter (revision text);",
                "DROP TABLE counter;",
            ),
            spec(
                "INSERT INTO counter VALUES ('1'); CREATE TABLE t1 (id int);",
                "DROP TABLE t1;",
            ),
            spec(
                "INSERT INTO counter VALUES ('2'); CREATE TABLE t2 (id int);",
                "DROP TABLE t2;",
            ),
            spec(
                "INSERT INTO counter VALUES ('3'); CREATE INDEX t1_id ON t1 (id);",
                "DROP INDEX t1_id;",
            ),
            Spec {
                header: "-- Transaction: none",
                up:
                    "INSERT INTO counter VALUES ('4');\nCREATE INDEX CONCURRENTLY t2_id ON t2 (id);",
                down: "DROP INDEX CONCURRENTLY t2_id;",
            },
        ]
    };
    let mut tasks = Vec::new();
    for replica in 0..16 {
        let pool = db.new_pool(2).await;
        let history = timeline(&specs());
        tasks.push(tokio::spawn(async move {
            let runner = migrator(history, &pool).applied_by(format!("replica {replica}"));
            let result = runner.upgrade(Target::Head).await.map(|r| r.applied.len());
            pool.close().await;
            result.map_err(|e| e.to_string())
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
        n_applied, 5,
        "the 16 replicas together applied each migration once"
    );
    assert_eq!(history_rows(&db).await, 5);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM counter").await, 4);
    assert_eq!(
        db.scalar_i64("SELECT count(DISTINCT revision) FROM counter")
            .await,
        4
    );
    db.drop().await;
}

#[tokio::test]
async fn a_migration_failing_halfway_leaves_no_trace() {
    let db = TestDb::create().await;
    let specs = [
        spec("CREATE TABLE ok (id int);", "DROP TABLE ok;"),
        spec(
            "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1 / 0;",
            "DROP TABLE half;",
        ),
    ];
    let error = migrator(timeline(&specs), &db.pool)
        .upgrade(Target::Head)
        .await
        .expect_err("division by zero");
    let report = error.report().expect("a failed step carries its report");
    assert_eq!(
        report.applied.len(),
        1,
        "the first migration was applied: {error}"
    );
    let message = error.to_string();
    assert!(message.contains("division by zero"), "{message}");
    assert!(message.contains("transaction rolled back"), "{message}");
    assert!(
        message.contains(&format!("migrations/{}_step_1.sql", revision_id(1))),
        "{message}"
    );
    assert!(db.exists("ok").await);
    assert!(
        !db.exists("half").await,
        "the failed migration's table was rolled back"
    );
    assert_eq!(history_rows(&db).await, 1);
    db.drop().await;
}

#[tokio::test]
async fn a_syntax_error_names_file_and_line() {
    let db = TestDb::create().await;
    let specs = [spec(
        "CREATE TABLE a (id int);\n\nCREATE TABLEE b (id int);",
        "DROP TABLE a;",
    )];
    let error = migrator(timeline(&specs), &db.pool)
        .upgrade(Target::Head)
        .await
        .expect_err("syntax error");
    let first = migration(0, &specs[0]);
    let expected = format!("{}:{}:", first.path, first.up_line + 2);
    assert!(
        error.to_string().contains(&expected),
        "expected `{expected}` in: {error}"
    );
    db.drop().await;
}

#[tokio::test]
async fn an_edited_applied_migration_is_refused() {
    let db = TestDb::create().await;
    let original = [spec("CREATE TABLE a (id int);", "DROP TABLE a;")];
    migrator(timeline(&original), &db.pool)
        .upgrade(Target::Head)
        .await
        .unwrap();
    let edited = [spec("CREATE TABLE a (id bigint);", "DROP TABLE a;")];
    let error = migrator(timeline(&edited), &db.pool)
        .upgrade(Target::Head)
        .await
        .expect_err("edited");
    let message = error.to_string();
    let (old, new) = (
        migration(0, &original[0]).checksum.to_hex(),
        migration(0, &edited[0]).checksum.to_hex(),
    );
    assert!(
        matches!(error, RunError::ChecksumMismatch { .. }),
        "{message}"
    );
    assert!(
        message.contains(&migration(0, &edited[0]).path),
        "{message}"
    );
    assert!(
        message.contains(&old) && message.contains(&new),
        "{message}"
    );
    db.drop().await;
}

#[tokio::test]
async fn dirty_record_blocks_until_repair() {
    let db = TestDb::create().await;
    let broken = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        Spec {
            header: "-- Transaction: none",
            up: "CREATE TABLE b (id int);\nINSERT INTO missing VALUES (1);",
            down: "DROP TABLE b;",
        },
    ];
    let error = migrator(timeline(&broken), &db.pool)
        .upgrade(Target::Head)
        .await
        .expect_err("missing table");
    assert!(
        error
            .to_string()
            .contains(&format!("{}:", migration(1, &broken[1]).path)),
        "{error}"
    );
    assert!(error.to_string().contains("recorded dirty"), "{error}");
    let state: String =
        sqlx::query_scalar("SELECT state FROM dbmigrate_history WHERE revision_id = $1")
            .bind(revision_id(1))
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(state, "dirty_up");
    let runner = migrator(timeline(&broken), &db.pool);
    let refused = runner.upgrade(Target::Head).await.expect_err("dirty");
    assert!(matches!(refused, RunError::Dirty { .. }), "{refused}");
    assert!(
        refused.to_string().contains("cargo dbmigrate repair"),
        "{refused}"
    );
    let status = runner.status().await.unwrap();
    assert_eq!(
        status.backends[0].dirty,
        [format!("{} (up)", revision_id(1))]
    );
    // The operator undoes the half-applied statement, then forgets the record.
    sqlx::raw_sql("DROP TABLE b")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        runner.repair(None, Repair::Forget).await.unwrap(),
        revision_id(1)
    );
    let fixed = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        Spec {
            header: "-- Transaction: none",
            up: "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);",
            down: "DROP TABLE b;",
        },
    ];
    let report = migrator(timeline(&fixed), &db.pool)
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 1);
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM dbmigrate_history WHERE state = 'applied'")
            .await,
        2
    );
    db.drop().await;
}

#[tokio::test]
async fn repair_can_mark_a_dirty_migration_applied() {
    let db = TestDb::create().await;
    let specs = [Spec {
        header: "-- Transaction: none",
        up: "CREATE TABLE a (id int);\nSELECT 1/0;",
        down: "DROP TABLE a;",
    }];
    migrator(timeline(&specs), &db.pool)
        .upgrade(Target::Head)
        .await
        .expect_err("division by zero");
    let runner = migrator(timeline(&specs), &db.pool);
    runner
        .repair(Some(&revision_id(0)), Repair::MarkApplied)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.applied.is_empty());
    db.drop().await;
}

#[tokio::test]
async fn create_index_concurrently_does_not_wait_on_the_runner_and_cleans_up() {
    let db = TestDb::create().await;
    let specs = [
        spec(
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (1);",
            "DROP TABLE t;",
        ),
        Spec {
            header: "-- Transaction: none",
            up: "CREATE INDEX CONCURRENTLY t_id ON t (id);",
            down: "DROP INDEX CONCURRENTLY t_id;",
        },
        Spec {
            header: "-- Transaction: none",
            up: "CREATE UNIQUE INDEX CONCURRENTLY t_id_unique ON t (id);",
            down: "DROP INDEX CONCURRENTLY t_id_unique;",
        },
    ];
    // The lock session is idle in autocommit: both concurrent builds start
    // while the runner holds its lock, and the first one completes.
    let error = migrator(timeline(&specs), &db.pool)
        .upgrade(Target::Head)
        .await
        .expect_err("duplicate key");
    assert_eq!(error.report().map(|r| r.applied.len()), Some(2), "{error}");
    assert!(db.exists("t_id").await);
    assert!(
        !db.exists("t_id_unique").await,
        "the invalid index of the failed build was dropped"
    );
    db.drop().await;
}

#[tokio::test]
async fn an_older_binary_boots_with_a_warning_and_refuses_to_downgrade() {
    let db = TestDb::create().await;
    let newer = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        spec("CREATE TABLE b (id int);", "DROP TABLE b;"),
    ];
    migrator(timeline(&newer), &db.pool)
        .upgrade(Target::Head)
        .await
        .unwrap();
    let older = migrator(timeline(&newer[..1]), &db.pool);
    let report = older
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.ahead, [revision_id(1)]);
    assert!(report.applied.is_empty() && !report.locked);
    let refused = older.downgrade(Target::Base).await.expect_err("ahead");
    assert!(matches!(refused, RunError::Ahead { .. }), "{refused}");
    let strict = migrator(timeline(&newer[..1]), &db.pool).allow_ahead(false);
    assert!(matches!(
        strict.upgrade(Target::Head).await,
        Err(RunError::Ahead { .. })
    ));
    db.drop().await;
}

#[tokio::test]
async fn an_unknown_revision_in_the_middle_is_refused() {
    let db = TestDb::create().await;
    let theirs = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        spec("CREATE TABLE b (id int);", "DROP TABLE b;"),
    ];
    migrator(timeline(&theirs), &db.pool)
        .upgrade(Target::Head)
        .await
        .unwrap();
    // Our binary has a different second migration (other revision id) and a third.
    let mut ours = vec![migration(0, &theirs[0])];
    let mut other = migration(1, &spec("CREATE TABLE c (id int);", "DROP TABLE c;"));
    other.revision_id = "20240101_1200_bbbbbb".into();
    other.rev = "bbbbbb".into();
    ours.push(other);
    let runner = Migrator::from_history(History::new(ours).unwrap()).postgres(db.pool.clone());
    let error = runner
        .upgrade(Target::Head)
        .await
        .expect_err("unknown revision");
    assert!(matches!(error, RunError::UnknownRevision { .. }), "{error}");
    assert!(error.to_string().contains(&revision_id(1)), "{error}");
    db.drop().await;
}

#[tokio::test]
async fn nothing_pending_costs_one_read_and_no_lock() {
    let db = TestDb::create().await;
    let specs = [spec("CREATE TABLE a (id int);", "DROP TABLE a;")];
    let runner = migrator(timeline(&specs), &db.pool);
    let first = runner.upgrade(Target::Head).await.unwrap();
    assert!(first.locked);
    let again = runner.upgrade(Target::Head).await.unwrap();
    assert_eq!(
        (again.history_reads, again.locked, again.applied.len()),
        (1, false, 0)
    );
    let advisory = db
        .scalar_i64("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        .await;
    assert_eq!(advisory, 0, "no advisory lock is left behind");
    db.drop().await;
}

#[tokio::test]
async fn reading_history_creates_nothing() {
    let db = TestDb::create().await;
    let runner = migrator(
        timeline(&[spec("CREATE TABLE a (id int);", "DROP TABLE a;")]),
        &db.pool,
    );
    let status = runner.status().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((status.n_pending, status.current.clone()), (1, None));
    let plan = runner.plan(Direction::Up, Target::Head).await.unwrap();
    let sql: String = plan.planned[0]
        .calls
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert!(
        sql.starts_with("BEGIN;")
            && sql.contains("CREATE TABLE a")
            && sql.contains("INSERT INTO \"public\".\"dbmigrate_history\""),
        "{sql}"
    );
    assert!(
        sql.contains("COMMIT;\n") && sql.trim_end().ends_with("DISCARD SEQUENCES;"),
        "the step commits, then resets its session: {sql}"
    );
    assert!(
        !db.exists("dbmigrate_history").await,
        "status and plan must not create the history table"
    );
    db.drop().await;
}

#[tokio::test]
async fn downgrade_across_an_irreversible_migration_is_refused_before_anything_runs() {
    let db = TestDb::create().await;
    let specs = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        Spec {
            header: "-- Irreversible: true",
            up: "CREATE TABLE b (id int);",
            down: "",
        },
        spec("CREATE TABLE c (id int);", "DROP TABLE c;"),
    ];
    let runner = migrator(timeline(&specs), &db.pool);
    runner.upgrade(Target::Head).await.unwrap();
    let error = runner
        .downgrade(Target::Base)
        .await
        .expect_err("irreversible");
    assert!(matches!(error, RunError::Irreversible { .. }), "{error}");
    assert!(
        error.to_string().contains(&migration(1, &specs[1]).path),
        "{error}"
    );
    assert!(db.exists("c").await, "nothing ran");
    let report = runner.downgrade(Target::Relative(-1)).await.unwrap();
    assert_eq!(report.to, Some(revision_id(1)));
    db.drop().await;
}

#[tokio::test]
async fn a_lock_timeout_names_the_holder() {
    let db = TestDb::create().await;
    let config = PostgresConfig::default();
    let holder_options = db.options.clone().application_name("the-other-replica");
    let mut holder = PgConnection::connect_with(&holder_options).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(config.lock_key)
        .execute(&mut holder)
        .await
        .unwrap();
    let backend = PostgresBackend::new(db.pool.clone(), config);
    let runner = Migrator::from_history(timeline(&[spec(
        "CREATE TABLE a (id int);",
        "DROP TABLE a;",
    )]))
    .backend(Box::new(backend))
    .lock_timeout(Duration::from_millis(300));
    let error = runner
        .upgrade(Target::Head)
        .await
        .expect_err("lock held elsewhere");
    let message = error.to_string();
    assert!(
        matches!(error, RunError::Backend(BackendError::LockTimeout { .. })),
        "{message}"
    );
    assert!(
        message.contains("the-other-replica") && message.contains("pid"),
        "{message}"
    );
    let _ = holder.close().await;
    runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.drop().await;
}

#[tokio::test]
async fn stamp_and_redo() {
    let db = TestDb::create().await;
    let specs = [
        spec("CREATE TABLE a (id int);", "DROP TABLE a;"),
        spec("CREATE TABLE b (id int);", "DROP TABLE b;"),
    ];
    let runner = migrator(timeline(&specs), &db.pool);
    sqlx::raw_sql("CREATE TABLE a (id int)")
        .execute(&db.pool)
        .await
        .unwrap();
    let stamped = runner
        .stamp(Target::Revision(revision_id(0)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stamped.to, Some(revision_id(0)));
    runner.upgrade(Target::Head).await.unwrap();
    let redo = runner.redo().await.unwrap_or_else(|e| panic!("{e}"));
    let steps: Vec<(String, Direction)> = redo
        .applied
        .iter()
        .map(|s| (s.revision_id.clone(), s.direction))
        .collect();
    assert_eq!(
        steps,
        [
            (revision_id(1), Direction::Down),
            (revision_id(1), Direction::Up)
        ]
    );
    assert!(db.exists("b").await);
    db.drop().await;
}

#[tokio::test]
async fn a_cancelled_run_releases_the_lock_only_after_its_step() {
    let db = TestDb::create().await;
    let specs = [spec(
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(1);",
        "DROP TABLE slow;",
    )];
    let runner = migrator(timeline(&specs), &db.pool);
    // Drop the run once its step sleeps on the server.
    let sleeping = async {
        let query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'BEGIN;%pg_sleep%'";
        while db.scalar_i64(query).await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        result = runner.upgrade(Target::Head) => panic!("the run was not cancelled: {result:?}"),
        () = sleeping => {}
    }
    drop(runner);
    // The step's one round trip already reached the server: it commits with
    // its history row, and only then does the lock session end.
    let report = migrator(timeline(&specs), &db.pool)
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.applied.is_empty(),
        "the cancelled run's step committed before the lock was free"
    );
    assert_eq!(history_rows(&db).await, 1);
    db.drop().await;
}

#[tokio::test]
async fn embedded_migrations_boot_through_migrator_new() {
    let db = TestDb::create().await;
    let text = "-- Message: boot\n-- migrate:up\nCREATE TABLE booted (id int);\n-- migrate:down\nDROP TABLE booted;\n";
    let checksum: &'static str =
        Box::leak(dbmigrate_core::checksum(text).to_hex().into_boxed_str());
    let files: &'static [dbmigrate_core::EmbeddedFile] =
        Box::leak(Box::new([dbmigrate_core::EmbeddedFile {
            file_name: "20240101_1200_c0ffee_boot.sql",
            path: "migrations/20240101_1200_c0ffee_boot.sql",
            contents: text,
            checksum,
        }]));
    let migrations: &'static dbmigrate_core::Migrations =
        Box::leak(Box::new(dbmigrate_core::Migrations::from_embedded(files)));
    let report = Migrator::new(migrations)
        .postgres(db.pool.clone())
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.to.as_deref(), Some("20240101_1200_c0ffee"));
    assert!(db.exists("booted").await);
    db.drop().await;
}
