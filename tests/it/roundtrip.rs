//! Round-trip (stairway) tests: every edututor migration goes up, down and
//! up again on the real PostgreSQL, Neo4j and Weaviate servers, each step's
//! schema is an insta snapshot under `tests/it/snapshots/`, and a migration
//! whose down section forgets an index fails with a message naming both.
//!
//! PostgreSQL runs in a fresh database per test. Neo4j Community has one
//! database and Weaviate one schema, shared with the other tests: history
//! goes under a per-run prefix, and snapshots are scoped to the edututor
//! labels and collections (`Concept`, `PREREQUISITE`, `TextChunk`).

use std::time::Duration;

use dbmigrate::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate::backend::postgres::{PostgresBackend, PostgresConfig};
use dbmigrate::backend::weaviate::{Call, WeaviateBackend, WeaviateClient, WeaviateConfig};
use dbmigrate::backend::{Backend, Step};
use dbmigrate::testing::{load_history, FreshDatabase, Stairway, StairwayReport};
use dbmigrate::{BackendKind, Direction, Migration};

use crate::common;

const EDUTUTOR_MIGRATIONS: &str = "examples/edututor/migrations";
const EDUTUTOR_FIXTURES: &str = "tests/fixtures/roundtrip/edututor";
const LEAKY_MIGRATIONS: &str = "tests/fixtures/roundtrip/leaky";

/// Neo4j labels and relationship types the edututor migrations own.
const NEO4J_SCOPE: &[&str] = &[":Concept(", ":PREREQUISITE("];
/// Weaviate collections (and their rebuild copies) the edututor migrations own.
const WEAVIATE_SCOPE: &str = "TextChunk";

/// Serialises the tests of this module that touch the shared edututor
/// labels and collections on Neo4j and Weaviate.
static SHARED_NAMES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn edututor_migrations_round_trip_on_all_three_servers() {
    let _guard = SHARED_NAMES.lock().await;
    let history = load_history(EDUTUTOR_MIGRATIONS).expect("edututor migrations parse");
    let fresh = FreshDatabase::create(&common::database_url(), "roundtrip_edututor")
        .await
        .expect("create a scratch PostgreSQL database");
    let postgres = PostgresBackend::new(fresh.pool.clone(), PostgresConfig::default());
    let servers = SharedServers::connect();
    servers.clean_slate().await;

    let result = Stairway::new(history.migrations())
        .postgres(&postgres, &fresh.pool, "public")
        .backend(&servers.neo4j)
        .backend(&servers.weaviate)
        .scope(BackendKind::Neo4j, neo4j_scope)
        .scope(BackendKind::Weaviate, weaviate_scope)
        .fixtures(EDUTUTOR_FIXTURES)
        .run()
        .await;

    servers.tear_down(history.migrations()).await;
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
    let postgres = PostgresBackend::new(fresh.pool.clone(), PostgresConfig::default());

    let result = Stairway::new(history.migrations())
        .postgres(&postgres, &fresh.pool, "public")
        .run()
        .await;

    drop(postgres);
    fresh
        .drop_database()
        .await
        .expect("drop the scratch database");
    let message = result
        .expect_err("a leaky down section must fail the round trip")
        .to_string();
    assert!(
        message.contains("20240101_1000_aa0002 index_widget_names: downgrade left behind"),
        "{message}"
    );
    assert!(
        message.contains(
            "+ index widgets.widgets_name_idx: CREATE INDEX widgets_name_idx ON widgets USING btree (name)"
        ),
        "{message}"
    );
    insta::assert_snapshot!(message);
}

/// Keeps the constraint and index lines of the edututor labels.
fn neo4j_scope(snapshot: &str) -> String {
    let mut kept: String = snapshot
        .lines()
        .filter(|line| NEO4J_SCOPE.iter().any(|label| line.contains(label)))
        .map(|line| format!("{line}\n"))
        .collect();
    if kept.is_empty() {
        kept.push_str("(no constraints or indexes on Concept or PREREQUISITE)\n");
    }
    kept
}

/// Keeps the `TextChunk` collections and the aliases pointing at them.
fn weaviate_scope(snapshot: &str) -> String {
    let Ok(mut document) = serde_json::from_str::<serde_json::Value>(snapshot) else {
        return snapshot.to_string();
    };
    let in_scope = |value: &serde_json::Value, key: &str| {
        value[key]
            .as_str()
            .is_some_and(|name| name.starts_with(WEAVIATE_SCOPE))
    };
    if let Some(classes) = document["classes"].as_array_mut() {
        classes.retain(|class| in_scope(class, "class"));
    }
    if let Some(aliases) = document["aliases"].as_array_mut() {
        aliases.retain(|alias| in_scope(alias, "class") || in_scope(alias, "alias"));
    }
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// Writes the per-backend timings where `cargo xtask test-migrations` reads them.
fn record_timings(report: &StairwayReport) {
    let summary = report.timing_summary();
    eprintln!("round-trip timings:\n{summary}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("roundtrip-timings.txt");
    let _ = std::fs::write(path, summary);
}

/// The Neo4j and Weaviate servers, shared with other tests: this run's
/// bookkeeping lives under its own prefix.
struct SharedServers {
    graph: neo4rs::Graph,
    neo4j: Neo4jBackend,
    weaviate: WeaviateBackend,
    neo4j_prefix: String,
    weaviate_prefix: String,
}

impl SharedServers {
    fn connect() -> SharedServers {
        let suffix = common::unique_suffix();
        let (uri, user, password) = common::neo4j_config();
        let graph = neo4rs::Graph::new(uri, user, password).expect("connect to NEO4J_URI");
        let neo4j_prefix = format!("__RT{suffix}_");
        let neo4j_config = Neo4jConfig {
            label_prefix: neo4j_prefix.clone(),
            lease: Duration::from_secs(30),
            ..Neo4jConfig::default()
        };
        let weaviate_prefix = format!("Rt{suffix}");
        let weaviate_config = WeaviateConfig {
            collection_prefix: weaviate_prefix.clone(),
            ..WeaviateConfig::default()
        };
        let client = WeaviateClient::new(&common::weaviate_url(), None, weaviate_config)
            .expect("a client for WEAVIATE_URL");
        SharedServers {
            neo4j: Neo4jBackend::new(graph.clone(), neo4j_config),
            graph,
            weaviate: WeaviateBackend::new(client),
            neo4j_prefix,
            weaviate_prefix,
        }
    }

    /// Removes edututor's schema left by an earlier run (or the demo), so the
    /// first snapshot is the empty base schema.
    async fn clean_slate(&self) {
        for statement in [
            "DROP INDEX concept_subject_grade IF EXISTS",
            "DROP CONSTRAINT concept_name_unique IF EXISTS",
            "MATCH (:Concept)-[r:PREREQUISITE {source: 'migration_e5f6a7'}]->(:Concept) DELETE r",
        ] {
            self.graph
                .run(neo4rs::query(statement))
                .await
                .expect(statement);
        }
        self.delete_weaviate_classes(|name| name.starts_with(WEAVIATE_SCOPE))
            .await;
    }

    /// Downgrades what the stairway left applied, then removes this run's
    /// bookkeeping and fixture data. Best effort: the test's verdict comes
    /// from the stairway's result.
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
        let prefix = &self.neo4j_prefix;
        let statements = [
            "MATCH (c:Concept {subject: 'roundtrip-fixture'}) DETACH DELETE c".to_string(),
            format!("MATCH (n:`{prefix}Migration`) DETACH DELETE n"),
            format!("MATCH (n:`{prefix}Lock`) DETACH DELETE n"),
            format!("DROP CONSTRAINT `{prefix}Migration_revision_id` IF EXISTS"),
            format!("DROP CONSTRAINT `{prefix}Lock_name` IF EXISTS"),
        ];
        for statement in statements {
            if let Err(error) = self.graph.run(neo4rs::query(&statement)).await {
                eprintln!("teardown: {statement}: {error}");
            }
        }
        let own = self.weaviate_prefix.clone();
        self.delete_weaviate_classes(move |name| name.starts_with(&own))
            .await;
    }

    async fn delete_weaviate_classes(&self, doomed: impl Fn(&str) -> bool) {
        let client = self.weaviate.client();
        let aliases = client.send(&Call::new("GET", "/v1/aliases", None)).await;
        if let Some(answer) = aliases.ok().filter(|answer| answer.ok()) {
            for alias in answer.body["aliases"].as_array().into_iter().flatten() {
                let name = alias["alias"].as_str().unwrap_or_default();
                if doomed(name) || doomed(alias["class"].as_str().unwrap_or_default()) {
                    let call = Call::new("DELETE", format!("/v1/aliases/{name}"), None);
                    client.expect(&call).await.expect("delete alias");
                }
            }
        }
        let schema = client
            .expect(&Call::new("GET", "/v1/schema", None))
            .await
            .expect("read schema");
        for class in schema["classes"].as_array().into_iter().flatten() {
            let name = class["class"].as_str().unwrap_or_default();
            if doomed(name) {
                let call = Call::new("DELETE", format!("/v1/schema/{name}"), None);
                client.expect(&call).await.expect("delete collection");
            }
        }
    }
}
