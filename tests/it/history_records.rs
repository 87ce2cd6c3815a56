//! A PostgreSQL history record holding a value dbmigrate never writes (an
//! unknown state, a negative time or duration) is an error naming the
//! record, never read as a default (issue 10.6). Each test has its own
//! scratch database, dropped by a guard also when the test panics.

use std::str::FromStr as _;

use dbmigrate_core::backend::postgres::PostgresBackend;
use dbmigrate_core::backend::{Backend, BackendError};
use dbmigrate_core::migration::BackendKind;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

use crate::common;

/// Runs `sql` on the server of `DATABASE_URL`, in database `database`
/// (the URL's own when `None`), on a runtime of its own.
fn run_sql(database: Option<&str>, sql: &str) {
    let mut options =
        PgConnectOptions::from_str(&common::database_url()).expect("DATABASE_URL parses");
    if let Some(database) = database {
        options = options.database(database);
    }
    let sql = sql.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(async {
                let mut connection = options.connect().await.expect("connect to the server");
                sqlx::raw_sql(&sql)
                    .execute(&mut connection)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                let _ = connection.close().await;
            })
    })
    .join()
    .expect("the admin statement ran");
}

/// A scratch database, dropped when the guard goes out of scope.
struct ScratchDatabase {
    name: String,
}

impl ScratchDatabase {
    fn create() -> ScratchDatabase {
        let name = format!("dbm_records_{}", common::unique_suffix());
        run_sql(
            None,
            &format!("CREATE DATABASE \"{name}\" TEMPLATE template0"),
        );
        ScratchDatabase { name }
    }

    fn url(&self) -> String {
        let url = common::database_url();
        let base = url.split('?').next().unwrap_or(&url);
        let (server, _) = base
            .rsplit_once('/')
            .expect("DATABASE_URL names a database");
        format!("{server}/{}", self.name)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Its own thread and runtime (the test's may be unwinding); never
        // panics: a failed drop only leaks the database, and says so.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(sqlx::Error::Io)?
                .block_on(async {
                    let mut admin = sqlx::PgConnection::connect(&common::database_url()).await?;
                    dbmigrate_core::testing::drop_database(&mut admin, &name).await?;
                    admin.close().await
                })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("dropping scratch database {} failed: {error}", self.name);
        }
    }
}

const CHECKSUM: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Stores one record with the given `state`, `applied_at` and
/// `duration_ms` SQL values, and returns what reading the history says.
async fn read_record(state: &str, applied_at: &str, duration_ms: &str) -> BackendError {
    let database = ScratchDatabase::create();
    let backend = PostgresBackend::connect(&database.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    backend
        .ensure_history()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    run_sql(
        Some(&database.name),
        &format!(
            "ALTER TABLE dbmigrate_history DROP CONSTRAINT dbmigrate_history_state_check;
             INSERT INTO dbmigrate_history (revision_id, parent, message, checksum, applied_at, duration_ms, state) \
             VALUES ('20240101_0000_aaaaaa', NULL, 'first', '{CHECKSUM}', {applied_at}, {duration_ms}, '{state}')"
        ),
    );
    let error = backend
        .read_history()
        .await
        .expect_err("a corrupt record is an error");
    backend.pool().close().await;
    match &error {
        BackendError::CorruptRecord {
            backend: BackendKind::Postgres,
            revision_id,
            ..
        } if revision_id == "20240101_0000_aaaaaa" => {}
        other => panic!("expected a corrupt record naming the revision, got {other:?}"),
    }
    error
}

#[tokio::test]
async fn an_unknown_history_state_is_an_error_naming_the_record() {
    let message = read_record("finished", "now()", "0").await.to_string();
    assert!(
        message.contains("postgres history record of `20240101_0000_aaaaaa` is corrupt")
            && message.contains("unknown state `finished`")
            && message.contains("help: "),
        "{message}"
    );
}

#[tokio::test]
async fn a_time_before_1970_is_an_error_naming_the_record() {
    let message = read_record("applied", "'1960-01-01T00:00:00Z'", "0")
        .await
        .to_string();
    assert!(
        message.contains("`applied_at` is -315619200000 ms"),
        "{message}"
    );
}

#[tokio::test]
async fn a_negative_duration_is_an_error_naming_the_record() {
    let message = read_record("dirty_up", "now()", "-5").await.to_string();
    assert!(message.contains("`duration_ms` is -5 ms"), "{message}");
}
