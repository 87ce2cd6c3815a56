//! The incremental PostgreSQL snapshots of a stairway run (one session, only
//! the units whose catalog rows changed read again) equal whole reads: on
//! every move of the torture corpus, and when a down changes an object an
//! earlier migration made that the step's own up never touched.

use dbmigrate_core::backend::postgres::{PostgresBackend, PostgresConfig};
use dbmigrate_core::backend::{Backend, Step};
use dbmigrate_core::testing::{load_history, FreshDatabase, Stairway, TestBackend, Verdict};
use dbmigrate_core::{Direction, Migration};

use crate::common;
use crate::guards::PgGuard;

const TORTURE_MIGRATIONS: &str = "tests/fixtures/roundtrip/torture";
const SNEAKY_MIGRATIONS: &str = "tests/fixtures/roundtrip/sneaky";
const RENAMES_MIGRATIONS: &str = "tests/fixtures/roundtrip/renames";

async fn apply(backend: &PostgresBackend, migration: &Migration, direction: Direction) -> bool {
    let step = Step {
        migration,
        direction,
        applied_by: "roundtrip-snapshots",
    };
    backend.apply(&step).await.is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_snapshots_equal_whole_reads_on_every_torture_move() {
    let compared = compare_every_move(TORTURE_MIGRATIONS).await;
    assert!(compared > 100, "only {compared} moves compared");
}

/// Renaming a function, an enum, a domain, a trigger function or a schema
/// changes how the relations that name them print: each is its own unit,
/// and the units that depend on it (pg_depend) are read again.
#[tokio::test(flavor = "multi_thread")]
async fn incremental_snapshots_equal_whole_reads_when_named_objects_are_renamed() {
    let compared = compare_every_move(RENAMES_MIGRATIONS).await;
    assert_eq!(compared, 18);
}

/// Applies every move of the history in `dir` (up, and down and up again
/// when reversible), comparing after each the run's incremental snapshot
/// with a whole read; returns how many moves were compared.
async fn compare_every_move(dir: &str) -> usize {
    let history = load_history(dir).expect("the fixture migrations parse");
    let fresh = FreshDatabase::create(&common::database_url(), "roundtrip_inc")
        .await
        .expect("create a scratch PostgreSQL database");
    let _dropped_also_on_panic = PgGuard(fresh.name.clone());
    let backend = PostgresBackend::new(fresh.pool.clone(), PostgresConfig::default());
    backend.ensure_history().await.expect("history");
    let mut snapshots = backend.snapshots().expect("PostgreSQL reads incrementally");
    let mut compared = 0;
    let migrations = history.migrations();
    for (index, migration) in migrations.iter().enumerate() {
        let mut moves = vec![Direction::Up];
        if !migration.options.irreversible {
            moves.extend([Direction::Down, Direction::Up]);
        }
        for direction in moves {
            let applied = apply(&backend, migration, direction).await;
            let incremental = snapshots.snapshot().await.expect("incremental snapshot");
            let whole = backend.snapshot().await.expect("whole snapshot");
            assert_eq!(
                incremental.render(),
                whole.render(),
                "{} {direction:?}",
                migration.file_name
            );
            compared += 1;
            if !applied {
                // A broken down: rebuild from base, as the stairway does.
                assert!(backend.reset(None).await.expect("reset"));
                backend.ensure_history().await.expect("history");
                for earlier in &migrations[..=index] {
                    assert!(apply(&backend, earlier, Direction::Up).await, "rebuild");
                }
                break;
            }
        }
    }
    snapshots.close().await;
    drop(backend);
    fresh
        .drop_database()
        .await
        .expect("drop the scratch database");
    compared
}

#[tokio::test(flavor = "multi_thread")]
async fn a_down_that_changes_an_older_object_is_caught_by_the_incremental_snapshot() {
    let history = load_history(SNEAKY_MIGRATIONS).expect("the sneaky migrations parse");
    let fresh = FreshDatabase::create(&common::database_url(), "roundtrip_sneaky")
        .await
        .expect("create a scratch PostgreSQL database");
    let _dropped_also_on_panic = PgGuard(fresh.name.clone());
    let backend = PostgresBackend::new(fresh.pool.clone(), PostgresConfig::default());
    let report = Stairway::new(history.migrations())
        .backend(&backend)
        .keep_going(true)
        .run()
        .await;
    drop(backend);
    fresh
        .drop_database()
        .await
        .expect("drop the scratch database");
    let report = report.expect("keep going returns the report");
    let expected = [
        ("accounts", ""),
        ("sneaky_view", "view public.account_names: columns + id"),
        ("sneaky_function", "function public.greet(): body differs"),
        ("sneaky_default", "column public.account.name: "),
        ("sneaky_index", "index public.account_name_idx: "),
        (
            "sneaky_grant",
            "grant table public.account to public: missing",
        ),
        ("sneaky_comment", "comment table public.account: "),
        ("sneaky_column_name", ""),
    ];
    for (step, (slug, summary)) in report.steps.iter().zip(expected) {
        assert_eq!(step.slug, slug);
        let failed = step.verdict == Verdict::NotInverse;
        assert_eq!(failed, slug != "accounts", "{}", report.table());
        assert!(step.summary().starts_with(summary), "{}", report.table());
    }
    // The rename shows in the view that names the column (another unit).
    let renamed = report.steps.last().expect("eight steps");
    assert!(
        renamed
            .failures()
            .any(|f| f.object == "view public.account_names"),
        "{}",
        report.table()
    );
}
