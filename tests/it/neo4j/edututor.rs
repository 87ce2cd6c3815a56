//! The edututor `.cypher` migrations (4: `Concept` constraint and index,
//! 5: `PREREQUISITE` relationships) up, down and up through the backend.

use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::Backend;
use dbmigrate_core::parse::parse_migration;
use dbmigrate_core::testing::TestBackend;
use dbmigrate_core::{Direction, Migration};

use super::support::*;

/// Parses an edututor migration with its Neo4j label and schema names made
/// unique to this run (`Concept` becomes `Concept_<suffix>`): the server is
/// shared with the round-trip test, which owns the real names.
pub(super) fn edututor(path: &std::path::Path, suffix: &str) -> Migration {
    let mut text = std::fs::read_to_string(path).expect("edututor migration");
    if path.extension().is_some_and(|ext| ext == "cypher") {
        text = text.replace("Concept", &format!("Concept{suffix}"));
        text = text.replace("concept_", &format!("concept{suffix}_"));
    }
    parse_migration(&path.to_string_lossy(), &text).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn edututor_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/edututor/migrations")
}

async fn prerequisites(graph: &neo4rs::Graph, concept: &str, source: &str) -> i64 {
    let query = format!(
        "MATCH (:{concept})-[r:PREREQUISITE]->(:{concept}) WHERE {source} RETURN count(r) AS n"
    );
    count(graph, &query).await
}

#[tokio::test]
async fn edututor_migrations_up_down_up() {
    let graph = graph();
    let names = names("Edututor");
    let _scratch = super::migrator::scratch(&names); // removed also on panic
    let suffix = names.label.trim_start_matches("Edututor").to_owned();
    let concept = format!("Concept{suffix}");
    let config = Neo4jConfig {
        label_prefix: names.prefix.clone(),
        schema_scope: Some(concept.clone()),
        ..Neo4jConfig::default()
    };
    let backend = Neo4jBackend::new(graph.clone(), config);
    let dir = edututor_dir();
    let constraint = edututor(
        &dir.join("20241202_0900_d4e5f6_concept_constraint.cypher"),
        &suffix,
    );
    let relationships = edututor(
        &dir.join("20241202_1000_e5f6a7_prerequisite_relationships.cypher"),
        &suffix,
    );
    assert_eq!(
        relationships.parent.as_deref(),
        Some("20241202_0900_d4e5f6")
    );

    backend.ensure_history().await.expect("ensure history");
    let before = backend.snapshot().await.expect("snapshot").render();
    backend
        .apply(&step(&constraint, Direction::Up))
        .await
        .expect("constraint up");
    let after = backend.snapshot().await.expect("snapshot").render();
    assert!(
        after.contains(&format!(
            "constraint concept{suffix}_name_unique: UNIQUENESS NODE :{concept}(name)"
        )),
        "{after}"
    );
    assert!(
        after.contains(&format!(
            "index concept{suffix}_subject_grade: RANGE NODE :{concept}(subject, grade)"
        )),
        "{after}"
    );

    // Math grade 3 has difficulties 1-2-3 (1 -> 2 already drawn by a teacher),
    // math grade 4 has 1-2, science grade 3 has a single concept.
    let seed = format!(
        "UNWIND [['m3a', 'math', 3, 1], ['m3b', 'math', 3, 2], ['m3c', 'math', 3, 3], \
                ['m4a', 'math', 4, 1], ['m4b', 'math', 4, 2], ['s3a', 'science', 3, 1]] AS c \
                CREATE (:{concept} {{name: c[0], subject: c[1], grade: c[2], difficulty: c[3]}})"
    );
    let query = neo4rs::query(&seed);
    graph.run(query).await.expect("seed");
    let by_hand = format!(
        "MATCH (a:{concept} {{name: 'm3a'}}), (b:{concept} {{name: 'm3b'}}) CREATE (a)-[:PREREQUISITE]->(b)"
    );
    graph.run(neo4rs::query(&by_hand)).await.expect("by hand");

    let ours = "r.source = 'migration_e5f6a7'";
    for _ in 0..2 {
        backend
            .apply(&step(&relationships, Direction::Up))
            .await
            .expect("relationships up");
        assert_eq!(prerequisites(&graph, &concept, ours).await, 2);
        assert_eq!(prerequisites(&graph, &concept, "r.source IS NULL").await, 1);
        backend
            .apply(&step(&relationships, Direction::Down))
            .await
            .expect("relationships down");
        assert_eq!(prerequisites(&graph, &concept, ours).await, 0);
        assert_eq!(
            prerequisites(&graph, &concept, "r.source IS NULL").await,
            1,
            "the down keeps hand-drawn links"
        );
    }
    let unseed = format!("MATCH (c:{concept}) DETACH DELETE c");
    graph.run(neo4rs::query(&unseed)).await.expect("unseed");

    backend
        .apply(&step(&constraint, Direction::Down))
        .await
        .expect("constraint down");
    assert_eq!(backend.snapshot().await.expect("snapshot").render(), before);
    backend
        .apply(&step(&constraint, Direction::Up))
        .await
        .expect("constraint up again");
    assert_eq!(backend.snapshot().await.expect("snapshot").render(), after);
    backend
        .apply(&step(&constraint, Direction::Down))
        .await
        .expect("constraint down");
    assert!(backend.read_history().await.expect("history").is_empty());
    cleanup(&graph, &names, &[]).await;
}
