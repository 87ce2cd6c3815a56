//! Round-trip (stairway) tests: every edututor migration goes up, down and
//! up again on the real PostgreSQL, Neo4j and Weaviate servers, each step's
//! schema is an insta snapshot under `tests/it/snapshots/`, and a migration
//! whose down section forgets an index fails with a message naming both.
//!
//! PostgreSQL runs in a fresh database per test. Neo4j Community has one
//! database and Weaviate one schema, shared with the other tests and the
//! demo: this run renames edututor's labels, index names and collections
//! with a unique token (`Concept` → `Concept<token>`), keeps its history under
//! a per-run prefix, and scopes each snapshot to its own names with the token
//! removed, so the snapshots read like the real migrations.

use std::time::Duration;

use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::postgres::{PostgresBackend, PostgresConfig};
use dbmigrate_core::backend::weaviate::{WeaviateBackend, WeaviateClient, WeaviateConfig};
use dbmigrate_core::backend::{Backend, Step};
use dbmigrate_core::testing::{
    load_history, FreshDatabase, RoundTripError, SchemaSnapshot, Stairway, StairwayEvent,
    StairwayReport,
};
use dbmigrate_core::{BackendKind, Direction, Migration, Section};

use crate::common;
use crate::guards::{Neo4jGuard, PgGuard, WeaviateGuard};

const EDUTUTOR_MIGRATIONS: &str = "examples/edututor/migrations";
const EDUTUTOR_FIXTURES: &str = "tests/fixtures/roundtrip/edututor";
const LEAKY_MIGRATIONS: &str = "tests/fixtures/roundtrip/leaky";
const TORTURE_MIGRATIONS: &str = "tests/fixtures/roundtrip/torture";
const MOVED_MIGRATIONS: &str = "tests/fixtures/roundtrip/moved";
const OPCLASS_MIGRATIONS: &str = "tests/fixtures/roundtrip/opclass";
const EMPTY_DOWN_MIGRATIONS: &str = "tests/fixtures/roundtrip/emptydown";
const UNREBUILDABLE_MIGRATIONS: &str = "tests/fixtures/roundtrip/unrebuildable";

/// The names edututor's Neo4j and Weaviate migrations (and fixtures) create;
/// each run appends its token to them.
const SHARED_NAMES: &[&str] = &[
    "Concept",
    "concept_name_unique",
    "concept_subject_grade",
    "TextChunk",
];

#[tokio::test(flavor = "multi_thread")]
async fn edututor_migrations_round_trip_on_all_three_servers() {
    let history = load_history(EDUTUTOR_MIGRATIONS).expect("edututor migrations parse");
    let fresh = FreshDatabase::create(&common::database_url(), "roundtrip_edututor")
        .await
        .expect("create a scratch PostgreSQL database");
    let _dropped_also_on_panic = PgGuard(fresh.name.clone());
    let postgres = PostgresBackend::new(fresh.pool.clone(), PostgresConfig::default());
    let servers = SharedServers::connect();
    let migrations: Vec<Migration> = history
        .migrations()
        .iter()
        .map(|m| servers.rename(m))
        .collect();

    let result = Stairway::new(&migrations)
        .backend(&postgres)
        .backend(&servers.neo4j)
        .backend(&servers.weaviate)
        .scope(BackendKind::Neo4j, |snapshot| servers.scope(snapshot))
        .scope(BackendKind::Weaviate, |snapshot| servers.scope(snapshot))
        .fixtures(EDUTUTOR_FIXTURES)
        .rewrite_fixtures(|script| servers.rename_text(script))
        .run()
        .await;

    servers.tear_down(&migrations).await;
    drop(postgres);
    fresh
        .drop_database()
        .await
        .expect("drop the scratch database");
    let report = result.unwrap_or_else(|error| panic!("round trip failed:\n{error}"));
    record_timings(&report);
    assert_eq!(report.steps.len(), history.migrations().len());
    for step in &report.steps {
        insta::assert_snapshot!(step.snapshot_name(), step.snapshot_text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_down_that_forgets_an_index_fails_naming_the_migration_and_the_index() {
    let history = load_history(LEAKY_MIGRATIONS).expect("leaky fixture parses");
    let fresh = FreshDatabase::create(&common::database_url(), "roundtrip_leaky")
        .await
        .expect("create a scratch PostgreSQL database");
    let _dropped_also_on_panic = PgGuard(fresh.name.clone());
    let postgres = PostgresBackend::new(fresh.pool.clone(), PostgresConfig::default());

    let result = Stairway::new(history.migrations())
        .backend(&postgres)
        .run()
        .await;

    drop(postgres);
    fresh
        .drop_database()
        .await
        .expect("drop the scratch database");
    let error = result.expect_err("a leaky down section must fail the round trip");
    assert!(
        matches!(error, RoundTripError::StepFailed { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(
            "20240101_1000_aa0002 index_widget_names: downgrade did not restore the schema"
        ),
        "{message}"
    );
    assert!(
        message.contains("index public.widgets_name_idx: left behind"),
        "{message}"
    );
    insta::assert_snapshot!(message);
}

/// Round-trips `dir` on a scratch PostgreSQL database; the database is
/// dropped before the result is returned.
async fn round_trip_postgres(
    dir: &str,
    keep_going: bool,
    strict: bool,
) -> Result<StairwayReport, RoundTripError> {
    observed_round_trip(dir, keep_going, strict, &|_| {}).await
}

/// [`round_trip_postgres`], with `listener` called on each step's events.
async fn observed_round_trip(
    dir: &str,
    keep_going: bool,
    strict: bool,
    listener: &(dyn Fn(StairwayEvent<'_>) + Send + Sync),
) -> Result<StairwayReport, RoundTripError> {
    let history = load_history(dir).expect("the fixture migrations parse");
    let fresh = FreshDatabase::create(&common::database_url(), "roundtrip_pg")
        .await
        .expect("create a scratch PostgreSQL database");
    let _dropped_also_on_panic = PgGuard(fresh.name.clone());
    let postgres = PostgresBackend::new(fresh.pool.clone(), PostgresConfig::default());
    let result = Stairway::new(history.migrations())
        .backend(&postgres)
        .keep_going(keep_going)
        .strict(strict)
        .on_event(listener)
        .run()
        .await;
    drop(postgres);
    fresh
        .drop_database()
        .await
        .expect("drop the scratch database");
    result
}

#[tokio::test(flavor = "multi_thread")]
async fn the_torture_corpus_keeps_going_and_names_every_broken_down() {
    let report = round_trip_postgres(TORTURE_MIGRATIONS, true, false)
        .await
        .unwrap_or_else(|error| panic!("keep-going returns the table, not an error:\n{error}"));
    assert_eq!(report.steps.len(), 48);
    assert!(!report.passed());
    // Tolerated kinds pass with their note; the same kinds of object with a
    // real difference fail.
    let verdict = |slug: &str| {
        let step = report
            .steps
            .iter()
            .find(|step| step.slug == slug)
            .expect(slug);
        format!("{} {}", step.verdict.label(), step.summary())
    };
    assert_eq!(verdict("drop_member_city"), "ok ");
    assert_eq!(
        verdict("email_varchar"),
        "not inverse column public.member.email: text → character varying(100)"
    );
    assert_eq!(verdict("recent_members_view"), "ok ");
    assert_eq!(
        verdict("recent_members_nickname"),
        "not inverse view public.recent_members: body differs"
    );
    assert_eq!(verdict("greeting_shout"), "ok ");
    assert_eq!(
        verdict("greeting_trimmed"),
        "not inverse function public.greeting(who text): body differs"
    );
    insta::assert_snapshot!(report.table());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_column_is_a_note_by_default_and_a_failure_when_strict() {
    let report = round_trip_postgres(MOVED_MIGRATIONS, false, false)
        .await
        .unwrap_or_else(|error| panic!("a moved column alone must pass:\n{error}"));
    let notes: Vec<String> = report.steps[1]
        .notes()
        .iter()
        .map(|note| note.line())
        .collect();
    assert_eq!(
        notes,
        [
            "column public.gadgets.label: position 2 → 3 [column-position]",
            "column public.gadgets.price: position 3 → 2 [column-position]",
            // Found on Lemmy's history: a view over `SELECT *` re-created by
            // the down follows the moved column.
            "view public.gadget_list: column order id, label, price → id, price, label [column-position]"
        ]
    );
    let error = round_trip_postgres(MOVED_MIGRATIONS, false, true)
        .await
        .expect_err("--strict makes a moved column fail");
    let message = error.to_string();
    assert!(
        message.contains("    column public.gadgets.label: position 2 → 3\n"),
        "{message}"
    );
    assert!(
        message.contains(
            "    view public.gadget_list: column order id, label, price → id, price, label\n"
        ),
        "{message}"
    );
}

/// Found on crates.io's history: a keep-going rebuild drops every schema,
/// and on a session that had used an ltree index PostgreSQL's per-session
/// operator-class cache still named the extension's dropped options
/// function, so `DROP SCHEMA … CASCADE` failed with "cache lookup failed for
/// function" and the run stopped with no table. The reset now runs on a
/// connection of its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_drops_an_index_whose_operator_class_the_steps_session_cached() {
    let (_, verdicts) = keep_going_verdicts(OPCLASS_MIGRATIONS).await;
    assert_eq!(
        verdicts,
        [
            "create_place ok false",
            "place_tree ok false",
            "place_note not inverse true"
        ]
    );
}

/// vaultwarden's history has 20 downs that are only a comment; each cost a
/// rebuild from base. A down without a statement, whose second up then
/// fails in one transaction, leaves the first up's schema: the run checks
/// that with a snapshot and goes on. A down running a statement is rebuilt.
#[tokio::test(flavor = "multi_thread")]
async fn a_down_of_comments_only_is_judged_without_a_rebuild() {
    let (report, verdicts) = keep_going_verdicts(EMPTY_DOWN_MIGRATIONS).await;
    assert_eq!(
        verdicts,
        [
            "shelf ok false",
            "shelf_label not inverse false",
            "crate ok false",
            "crate_note not inverse true"
        ]
    );
    let label = &report.steps[1];
    assert_eq!(
        label.summary(),
        "column public.shelf.label: left behind",
        "{}",
        label.findings_text(None)
    );
    assert!(
        label
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("upgrading again:") && e.contains("already exists")),
        "{:?}",
        label.error
    );
}

/// A step is judged and reported before its database is rebuilt from base:
/// when that rebuild fails, the run stops with the error, and the step's
/// own verdict (here `not inverse`) is what it reported, not lost. It was
/// reported as `stopped` before.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_rebuild_stops_the_run_after_the_step_is_reported() {
    let finished = std::sync::Mutex::new(Vec::new());
    let listener = |event: StairwayEvent<'_>| {
        if let StairwayEvent::Finished { step, .. } = event {
            let line = format!("{} {}", step.slug, step.verdict.label());
            finished.lock().unwrap().push(line);
        }
    };
    let result = observed_round_trip(UNREBUILDABLE_MIGRATIONS, true, false, &listener).await;
    let error = result.expect_err("the rebuild from base fails");
    assert_eq!(
        error.what_failed(),
        "rebuilding from base failed",
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("ledger_scan.sql:11") && message.contains("lo_create(424242)"),
        "{message}"
    );
    assert_eq!(
        finished.into_inner().unwrap(),
        ["ledger ok", "ledger_scan not inverse"]
    );
}

/// A keep-going run of the fixture migrations in `dir`, and each step as
/// `slug verdict rebuilt`.
async fn keep_going_verdicts(dir: &str) -> (StairwayReport, Vec<String>) {
    let report = round_trip_postgres(dir, true, false)
        .await
        .unwrap_or_else(|error| panic!("keep-going returns the table, not an error:\n{error}"));
    let verdicts = report
        .steps
        .iter()
        .map(|step| format!("{} {} {}", step.slug, step.verdict.label(), step.rebuilt))
        .collect();
    (report, verdicts)
}

/// Writes the per-backend timings where `cargo xtask test-migrations` reads them.
fn record_timings(report: &StairwayReport) {
    let summary = report.timing_summary();
    eprintln!("round-trip timings:\n{summary}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("roundtrip-timings.txt");
    let _ = std::fs::write(path, summary);
}

/// The Neo4j and Weaviate servers, shared with other tests: this run's
/// names carry `token`, its bookkeeping lives under its own prefix.
struct SharedServers {
    neo4j: Neo4jBackend,
    weaviate: WeaviateBackend,
    token: String,
    /// Remove this run's nodes, schema, collections and aliases when the
    /// servers go, also on panic.
    _guards: (Neo4jGuard, WeaviateGuard),
}

impl SharedServers {
    fn connect() -> SharedServers {
        let suffix = common::unique_suffix();
        let (uri, user, password) = common::neo4j_config();
        let graph = neo4rs::Graph::new(uri, user, password).expect("connect to NEO4J_URI");
        let neo4j_config = Neo4jConfig {
            label_prefix: format!("__RT{suffix}_"),
            lease: Duration::from_secs(30),
            ..Neo4jConfig::default()
        };
        let weaviate_config = WeaviateConfig {
            collection_prefix: format!("Rt{suffix}"),
            ..WeaviateConfig::default()
        };
        let client = WeaviateClient::new(&common::weaviate_url(), None, weaviate_config)
            .expect("a client for WEAVIATE_URL");
        SharedServers {
            neo4j: Neo4jBackend::new(graph, neo4j_config),
            weaviate: WeaviateBackend::new(client),
            token: format!("Rt{suffix}"),
            _guards: (Neo4jGuard(suffix.clone()), WeaviateGuard(suffix)),
        }
    }

    /// `text` with every shared name given this run's token.
    fn rename_text(&self, text: &str) -> String {
        SHARED_NAMES.iter().fold(text.to_string(), |text, name| {
            text.replace(name, &format!("{name}{}", self.token))
        })
    }

    /// A Neo4j or Weaviate migration with its shared names renamed.
    fn rename(&self, migration: &Migration) -> Migration {
        let mut renamed = migration.clone();
        if migration.backend != BackendKind::Postgres {
            renamed.up = self.rename_section(&migration.up);
            renamed.down = self.rename_section(&migration.down);
        }
        renamed
    }

    /// A section with every shared name given this run's token (Weaviate
    /// operations renamed in their JSON form).
    fn rename_section(&self, section: &Section) -> Section {
        match section {
            Section::Weaviate(operations) => {
                let json = serde_json::to_string(operations).expect("operations serialize");
                let renamed = serde_json::from_str(&self.rename_text(&json));
                Section::Weaviate(renamed.expect("renamed operations parse"))
            }
            script => Section::Script(self.rename_text(script.script())),
        }
    }

    /// This run's constraints, indexes, collections and aliases, token removed.
    fn scope(&self, snapshot: SchemaSnapshot) -> SchemaSnapshot {
        snapshot.scoped(
            |object| object.name.contains(&self.token) || object.definition.contains(&self.token),
            |text| text.replace(&self.token, ""),
        )
    }

    /// Downgrades what the stairway left applied. Best effort: the test's
    /// verdict comes from the stairway's result; the guards remove the rest.
    async fn tear_down(&self, migrations: &[Migration]) {
        for backend in [&self.neo4j as &dyn Backend, &self.weaviate] {
            let applied = backend.read_history().await.unwrap_or_default();
            for migration in migrations.iter().rev().filter(|migration| {
                applied
                    .iter()
                    .any(|record| record.revision_id == migration.revision_id)
            }) {
                let step = Step {
                    migration,
                    direction: Direction::Down,
                    applied_by: "roundtrip teardown",
                };
                if let Err(error) = backend.apply(&step).await {
                    eprintln!("teardown: {}: {error}", migration.revision_id);
                }
            }
        }
    }
}
