//! Shared helpers of the Neo4j tests: the server, per-test names, parsed
//! migrations, counting queries and clean-up.

use std::time::Duration;

use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::{Backend, Step};
use dbmigrate_core::parse::parse_migration;
use dbmigrate_core::{Direction, Migration};

use crate::common;

/// A connection pool to the test server.
pub(super) fn graph() -> neo4rs::Graph {
    let (uri, user, password) = common::neo4j_config();
    let config = neo4rs::ConfigBuilder::default()
        .uri(uri)
        .user(user)
        .password(password)
        .connection_timeout(dbmigrate_core::backend::neo4j::RESPONSE_TIMEOUT)
        .build()
        .expect("NEO4J_URI");
    neo4rs::Graph::connect(config).expect("connect to NEO4J_URI")
}

/// A test's own names: bookkeeping prefix and a data label.
pub(super) struct Names {
    pub prefix: String,
    pub label: String,
}

pub(super) fn names(what: &str) -> Names {
    let suffix = common::unique_suffix();
    Names {
        prefix: format!("__T{suffix}_"),
        label: format!("{what}_{suffix}"),
    }
}

pub(super) fn backend(graph: &neo4rs::Graph, names: &Names, lease: Duration) -> Neo4jBackend {
    let config = Neo4jConfig {
        label_prefix: names.prefix.clone(),
        lease,
        ..Neo4jConfig::default()
    };
    Neo4jBackend::new(graph.clone(), config)
}

/// Parses a `.cypher` migration written the way users write them.
pub(super) fn cypher(revision: &str, parent: Option<&str>, up: &str, down: &str) -> Migration {
    let revises = parent
        .map(|p| format!("// Revises: {p}\n"))
        .unwrap_or_default();
    let text = format!(
        "// Message: step {revision}\n{revises}\n// migrate:up\n{up}\n\n// migrate:down\n{down}\n"
    );
    let path = format!("tests/neo4j/{revision}_step.cypher");
    parse_migration(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn step<'a>(migration: &'a Migration, direction: Direction) -> Step<'a> {
    Step {
        migration,
        direction,
        applied_by: "dbmigrate tests",
    }
}

pub(super) async fn count(graph: &neo4rs::Graph, cypher: &str) -> i64 {
    let mut rows = graph.execute(neo4rs::query(cypher)).await.expect(cypher);
    let row = rows.next().await.expect(cypher).expect("one row");
    row.get::<i64>("n").expect("column n")
}

/// Removes a test's nodes, its bookkeeping and the constraints and indexes it named.
pub(super) async fn cleanup(graph: &neo4rs::Graph, names: &Names, schema: &[&str]) {
    for name in schema {
        let _ = graph
            .run(neo4rs::query(&format!(
                "DROP CONSTRAINT `{name}` IF EXISTS"
            )))
            .await;
        let _ = graph
            .run(neo4rs::query(&format!("DROP INDEX `{name}` IF EXISTS")))
            .await;
    }
    for label in [
        names.label.clone(),
        format!("{}Migration", names.prefix),
        format!("{}Lock", names.prefix),
    ] {
        graph
            .run(neo4rs::query(&format!(
                "MATCH (n:`{label}`) DETACH DELETE n"
            )))
            .await
            .expect("cleanup");
    }
    for constraint in ["Migration_revision_id", "Lock_name"] {
        let query = format!("DROP CONSTRAINT `{}{constraint}` IF EXISTS", names.prefix);
        graph.run(neo4rs::query(&query)).await.expect("cleanup");
    }
}

/// Applies what is missing, the way the runner does: lock, read, apply, unlock.
pub(super) async fn migrate_up(
    backend: &Neo4jBackend,
    migrations: &[Migration],
    owner: &str,
) -> usize {
    backend.ensure_history().await.expect("ensure history");
    backend
        .lock(owner, Duration::from_secs(60))
        .await
        .expect("lock");
    let applied: Vec<String> = backend
        .read_history()
        .await
        .expect("history")
        .into_iter()
        .map(|record| record.revision_id)
        .collect();
    let mut n_applied = 0;
    for migration in migrations
        .iter()
        .filter(|m| !applied.contains(&m.revision_id))
    {
        backend
            .apply(&step(migration, Direction::Up))
            .await
            .expect("apply");
        n_applied += 1;
    }
    backend.unlock().await.expect("unlock");
    n_applied
}

pub(super) fn schema_and_data(label: &str) -> Vec<Migration> {
    let constraint = format!("{label}_name");
    vec![
        cypher(
            "20240101_0000_aaa001",
            None,
            &format!("CREATE CONSTRAINT {constraint} IF NOT EXISTS FOR (c:{label}) REQUIRE c.name IS UNIQUE;\nCREATE INDEX {label}_grade IF NOT EXISTS FOR (c:{label}) ON (c.grade);"),
            &format!("DROP INDEX {label}_grade IF EXISTS;\nDROP CONSTRAINT {constraint} IF EXISTS;"),
        ),
        cypher(
            "20240101_0100_aaa002",
            Some("20240101_0000_aaa001"),
            &format!("CREATE (:{label} {{name: 'a;1', grade: 1}});\n// a comment; not a statement\nCREATE (:{label} {{name: 'b', grade: 2}});"),
            &format!("MATCH (c:{label}) WHERE c.name IN ['a;1', 'b'] DELETE c;"),
        ),
    ]
}
