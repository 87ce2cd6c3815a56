//! Neo4j backend against the real server from `NEO4J_URI`: up/down/up, eight
//! concurrent migrators, a failing statement and its repair, lock takeover
//! and renewal, and the edututor `.cypher` migrations, through the
//! [`Backend`] trait and through [`Migrator`] (with PostgreSQL).
//!
//! Neo4j Community has one user database, so every test uses its own
//! bookkeeping label prefix and its own data labels, and removes them at the
//! end. The edututor files run with `Concept` renamed per run: the real names
//! belong to the round-trip test.

use std::time::Duration;

use dbmigrate::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate::backend::{Backend, BackendError, RecordState, RepairAction, Step};
use dbmigrate::parse::parse_migration;
use dbmigrate::runner::Repair;
use dbmigrate::testing::FreshDatabase;
use dbmigrate::{Direction, History, Migration, Migrator, Target};

use crate::common;

/// A connection pool to the test server.
fn graph() -> neo4rs::Graph {
    let (uri, user, password) = common::neo4j_config();
    neo4rs::Graph::new(uri, user, password).expect("connect to NEO4J_URI")
}

/// A test's own names: bookkeeping prefix and a data label.
struct Names {
    prefix: String,
    label: String,
}

fn names(what: &str) -> Names {
    let suffix = common::unique_suffix();
    Names {
        prefix: format!("__T{suffix}_"),
        label: format!("{what}_{suffix}"),
    }
}

fn backend(graph: &neo4rs::Graph, names: &Names, lease: Duration) -> Neo4jBackend {
    let config = Neo4jConfig {
        label_prefix: names.prefix.clone(),
        lease,
        ..Neo4jConfig::default()
    };
    Neo4jBackend::new(graph.clone(), config)
}

/// Parses a `.cypher` migration written the way users write them.
fn cypher(revision: &str, parent: Option<&str>, up: &str, down: &str) -> Migration {
    let revises = parent
        .map(|p| format!("// Revises: {p}\n"))
        .unwrap_or_default();
    let text = format!(
        "// Message: step {revision}\n{revises}\n// migrate:up\n{up}\n\n// migrate:down\n{down}\n"
    );
    let path = format!("tests/neo4j/{revision}_step.cypher");
    parse_migration(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn step<'a>(migration: &'a Migration, direction: Direction) -> Step<'a> {
    Step {
        migration,
        direction,
        applied_by: "dbmigrate tests",
    }
}

async fn count(graph: &neo4rs::Graph, cypher: &str) -> i64 {
    let mut rows = graph.execute(neo4rs::query(cypher)).await.expect(cypher);
    let row = rows.next().await.expect(cypher).expect("one row");
    row.get::<i64>("n").expect("column n")
}

/// Removes a test's nodes, its bookkeeping and the constraints and indexes it named.
async fn cleanup(graph: &neo4rs::Graph, names: &Names, schema: &[&str]) {
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
async fn migrate_up(backend: &Neo4jBackend, migrations: &[Migration], owner: &str) -> usize {
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

fn schema_and_data(label: &str) -> Vec<Migration> {
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

#[tokio::test]
async fn up_down_up_through_the_backend() {
    let graph = graph();
    let names = names("Concept");
    let config = Neo4jConfig {
        label_prefix: names.prefix.clone(),
        schema_scope: Some(names.label.clone()),
        ..Neo4jConfig::default()
    };
    let backend = Neo4jBackend::new(graph.clone(), config);
    let migrations = schema_and_data(&names.label);

    assert!(backend
        .read_history()
        .await
        .expect("read before ensure")
        .is_empty());
    let bookkeeping = format!(
        "SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH '{}' RETURN count(*) AS n",
        names.prefix
    );
    assert_eq!(
        count(&graph, &bookkeeping).await,
        0,
        "read_history must not create anything"
    );
    assert!(!backend.location().contains('@'));

    let before = backend.snapshot_schema().await.expect("snapshot");
    assert_eq!(migrate_up(&backend, &migrations, "up-down-up").await, 2);
    let after = backend.snapshot_schema().await.expect("snapshot");
    assert!(
        after.contains(&format!(
            "constraint {}_name UNIQUENESS NODE :{}(name)",
            names.label, names.label
        )),
        "{after}"
    );
    let history = backend.read_history().await.expect("history");
    let ids: Vec<&str> = history.iter().map(|r| r.revision_id.as_str()).collect();
    assert_eq!(ids, ["20240101_0000_aaa001", "20240101_0100_aaa002"]);
    assert!(history.iter().all(|r| r.state == RecordState::Applied));
    assert_eq!(history[1].checksum, migrations[1].checksum.to_hex());
    assert_eq!(history[1].parent.as_deref(), Some("20240101_0000_aaa001"));
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (c:{}) RETURN count(c) AS n", names.label)
        )
        .await,
        2
    );

    for migration in migrations.iter().rev() {
        backend
            .apply(&step(migration, Direction::Down))
            .await
            .expect("down");
    }
    assert!(backend.read_history().await.expect("history").is_empty());
    assert_eq!(backend.snapshot_schema().await.expect("snapshot"), before);
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (c:{}) RETURN count(c) AS n", names.label)
        )
        .await,
        0
    );

    assert_eq!(migrate_up(&backend, &migrations, "up-down-up").await, 2);
    assert_eq!(backend.snapshot_schema().await.expect("snapshot"), after);
    cleanup(
        &graph,
        &names,
        &[
            &format!("{}_name", names.label),
            &format!("{}_grade", names.label),
        ],
    )
    .await;
}

#[tokio::test]
async fn plan_shows_statements_and_bookkeeping() {
    let graph = graph();
    let names = names("Plan");
    let backend = backend(&graph, &names, Duration::from_secs(30));
    let migrations = schema_and_data(&names.label);

    let schema: Vec<_> = backend
        .plan(&step(&migrations[0], Direction::Up))
        .expect("plan");
    let texts: Vec<&str> = schema.iter().map(|call| call.text.as_str()).collect();
    assert!(
        texts[0].contains("m.state = $state") && texts[0].contains("'dirty_up'"),
        "{texts:#?}"
    );
    assert!(texts[1].starts_with("CREATE CONSTRAINT") && !schema[1].bookkeeping);
    assert_eq!(texts[3], "CALL db.awaitIndexes(300)");
    assert!(texts[4].contains("'applied'") && schema[4].bookkeeping);

    let data = backend
        .plan(&step(&migrations[1], Direction::Up))
        .expect("plan");
    let texts: Vec<&str> = data.iter().map(|call| call.text.as_str()).collect();
    assert_eq!(texts[0], ":begin");
    assert_eq!(texts.len(), 5, "{texts:#?}");
    assert_eq!(texts[4], ":commit");
    assert!(
        backend.read_history().await.expect("history").is_empty(),
        "plan touches nothing"
    );
}

#[tokio::test]
async fn eight_concurrent_migrators_apply_each_migration_once() {
    let graph = graph();
    let names = names("Counter");
    let label = names.label.clone();
    let migrations = vec![
        cypher(
            "20240102_0000_bbb001",
            None,
            &format!("CREATE CONSTRAINT {label}_name IF NOT EXISTS FOR (c:{label}) REQUIRE c.name IS UNIQUE;"),
            &format!("DROP CONSTRAINT {label}_name IF EXISTS;"),
        ),
        cypher(
            "20240102_0100_bbb002",
            Some("20240102_0000_bbb001"),
            &format!("MERGE (c:{label} {{name: 'runs'}}) SET c.n = coalesce(c.n, 0) + 1;"),
            &format!("MATCH (c:{label} {{name: 'runs'}}) DELETE c;"),
        ),
        cypher(
            "20240102_0200_bbb003",
            Some("20240102_0100_bbb002"),
            &format!("CREATE INDEX {label}_n IF NOT EXISTS FOR (c:{label}) ON (c.n);\nMATCH (c:{label} {{name: 'runs'}}) SET c.n = c.n + 1;"),
            &format!("DROP INDEX {label}_n IF EXISTS;"),
        ),
    ];
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let backend = backend(&graph, &names, Duration::from_secs(30));
            let migrations = migrations.clone();
            tokio::spawn(async move {
                migrate_up(&backend, &migrations, &format!("migrator {i}")).await
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("migrator task");
    }
    assert_eq!(total, 3, "each migration applied by exactly one migrator");
    let history = backend(&graph, &names, Duration::from_secs(30))
        .read_history()
        .await
        .expect("history");
    assert_eq!(history.len(), 3);
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (c:{label} {{name: 'runs'}}) RETURN c.n AS n")
        )
        .await,
        2
    );
    cleanup(
        &graph,
        &names,
        &[&format!("{label}_name"), &format!("{label}_n")],
    )
    .await;
}

#[tokio::test]
async fn a_failing_statement_leaves_a_dirty_record_until_repair() {
    let graph = graph();
    let names = names("Broken");
    let label = names.label.clone();
    let backend = backend(&graph, &names, Duration::from_secs(30));
    backend.ensure_history().await.expect("ensure history");
    let up = |second: &str| {
        format!("CREATE CONSTRAINT {label}_id IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE;\n{second}\nCREATE (:{label} {{id: 2}});")
    };
    let broken = cypher(
        "20240103_0000_ccc001",
        None,
        &up("CREATE (:{label} {id: 1)};"),
        "// nothing to undo",
    );

    let error = backend
        .apply(&step(&broken, Direction::Up))
        .await
        .expect_err("the second statement is broken");
    let message = error.to_string();
    assert!(
        matches!(error, BackendError::Statement { line: 5, .. }),
        "{message}"
    );
    assert!(
        message.starts_with(
            "tests/neo4j/20240103_0000_ccc001_step.cypher:5: Neo.ClientError.Statement.SyntaxError"
        ),
        "{message}"
    );
    let history = backend.read_history().await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, RecordState::Dirty(Direction::Up));

    backend
        .repair("20240103_0000_ccc001", RepairAction::Forget)
        .await
        .expect("repair");
    assert!(backend.read_history().await.expect("history").is_empty());
    let fixed = cypher(
        "20240103_0000_ccc001",
        None,
        &up(&format!("CREATE (:{label} {{id: 1}});")),
        "// nothing to undo",
    );
    backend
        .apply(&step(&fixed, Direction::Up))
        .await
        .expect("the fixed file applies");
    let history = backend.read_history().await.expect("history");
    assert_eq!(
        (history[0].state, history[0].checksum.clone()),
        (RecordState::Applied, fixed.checksum.to_hex())
    );
    assert_eq!(
        count(&graph, &format!("MATCH (n:{label}) RETURN count(n) AS n")).await,
        2
    );

    backend
        .repair("20240103_0000_ccc001", RepairAction::MarkApplied(&broken))
        .await
        .expect("mark applied");
    let history = backend.read_history().await.expect("history");
    assert_eq!(
        (history[0].state, history[0].checksum.clone()),
        (RecordState::Applied, broken.checksum.to_hex())
    );
    cleanup(&graph, &names, &[&format!("{label}_id")]).await;
}

#[tokio::test]
async fn a_failing_data_only_migration_rolls_back_and_records_nothing() {
    let graph = graph();
    let names = names("Atomic");
    let label = names.label.clone();
    let backend = backend(&graph, &names, Duration::from_secs(30));
    backend.ensure_history().await.expect("ensure history");
    let broken = cypher(
        "20240104_0000_ddd001",
        None,
        &format!("CREATE (:{label});\nCREATE (:{label} {{v: 1 / 0}});"),
        "// nothing to undo",
    );
    let error = backend
        .apply(&step(&broken, Direction::Up))
        .await
        .expect_err("division by zero");
    assert!(
        matches!(error, BackendError::Statement { line: 5, .. }),
        "{error}"
    );
    assert!(backend.read_history().await.expect("history").is_empty());
    assert_eq!(
        count(&graph, &format!("MATCH (n:{label}) RETURN count(n) AS n")).await,
        0
    );
    cleanup(&graph, &names, &[]).await;
}

#[tokio::test]
async fn a_dead_holders_lock_is_taken_over_after_its_lease() {
    let graph = graph();
    let names = names("Lock");
    let lock_label = format!("{}Lock", names.prefix);
    let backend = backend(&graph, &names, Duration::from_secs(30));
    backend
        .lock("first", Duration::from_secs(5))
        .await
        .expect("creates the constraint and locks");
    backend.unlock().await.expect("unlock");

    // A process killed while holding the lock: its lease ran out.
    let dead = format!("CREATE (:`{lock_label}` {{name: 'lock', token: 'dead', owner: 'killed process', expires_at: datetime() - duration('PT1S')}})");
    graph.run(neo4rs::query(&dead)).await.expect("dead lock");
    backend
        .lock("survivor", Duration::from_secs(5))
        .await
        .expect("takes over an expired lease");
    let owner = format!("MATCH (l:`{lock_label}`) WHERE l.owner = 'survivor' RETURN count(l) AS n");
    assert_eq!(count(&graph, &owner).await, 1);
    backend.unlock().await.expect("unlock");

    // A live holder: others time out naming it, then take over once its lease lapses.
    let live = format!("CREATE (:`{lock_label}` {{name: 'lock', token: 'live', owner: 'busy process', expires_at: datetime() + duration('PT3S')}})");
    graph.run(neo4rs::query(&live)).await.expect("live lock");
    let error = backend
        .lock("waiter", Duration::from_millis(300))
        .await
        .expect_err("held");
    let message = error.to_string();
    assert!(
        matches!(error, BackendError::LockTimeout { .. })
            && message.contains("busy process (lease expires at "),
        "{message}"
    );
    backend
        .lock("waiter", Duration::from_secs(60))
        .await
        .expect("taken over after the lease");
    backend.unlock().await.expect("unlock");
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (l:`{lock_label}`) RETURN count(l) AS n")
        )
        .await,
        0
    );
    cleanup(&graph, &names, &[]).await;
}

#[tokio::test]
async fn the_holder_renews_its_lease_and_unlocks_only_its_own_lock() {
    let graph = graph();
    let names = names("Lease");
    let lock_label = format!("{}Lock", names.prefix);
    let holder = backend(&graph, &names, Duration::from_millis(1500));
    let other = backend(&graph, &names, Duration::from_millis(1500));
    holder
        .lock("holder", Duration::from_secs(5))
        .await
        .expect("lock");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let error = other
        .lock("other", Duration::from_millis(200))
        .await
        .expect_err("lease renewed");
    assert!(
        error
            .to_string()
            .contains("held by holder (lease expires at "),
        "{error}"
    );

    // Someone took the lock over (the holder stalled past its lease): the
    // holder's unlock must leave the new owner's lock alone.
    let steal = format!("MATCH (l:`{lock_label}`) SET l.token = 'thief', l.owner = 'thief'");
    graph.run(neo4rs::query(&steal)).await.expect("steal");
    holder.unlock().await.expect("unlock");
    let owner = format!("MATCH (l:`{lock_label}`) WHERE l.owner = 'thief' RETURN count(l) AS n");
    assert_eq!(count(&graph, &owner).await, 1);
    cleanup(&graph, &names, &[]).await;
}

/// Parses an edututor migration with its Neo4j label and schema names made
/// unique to this run (`Concept` becomes `Concept_<suffix>`): the server is
/// shared with the round-trip test, which owns the real names.
fn edututor(path: &std::path::Path, suffix: &str) -> Migration {
    let mut text = std::fs::read_to_string(path).expect("edututor migration");
    if path.extension().is_some_and(|ext| ext == "cypher") {
        text = text.replace("Concept", &format!("Concept{suffix}"));
        text = text.replace("concept_", &format!("concept{suffix}_"));
    }
    parse_migration(&path.to_string_lossy(), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn edututor_dir() -> std::path::PathBuf {
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
    let before = backend.snapshot_schema().await.expect("snapshot");
    backend
        .apply(&step(&constraint, Direction::Up))
        .await
        .expect("constraint up");
    let after = backend.snapshot_schema().await.expect("snapshot");
    assert!(
        after.contains(&format!(
            "constraint concept{suffix}_name_unique UNIQUENESS NODE :{concept}(name)"
        )),
        "{after}"
    );
    assert!(
        after.contains(&format!(
            "index concept{suffix}_subject_grade RANGE NODE :{concept}(subject, grade)"
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
    assert_eq!(backend.snapshot_schema().await.expect("snapshot"), before);
    backend
        .apply(&step(&constraint, Direction::Up))
        .await
        .expect("constraint up again");
    assert_eq!(backend.snapshot_schema().await.expect("snapshot"), after);
    backend
        .apply(&step(&constraint, Direction::Down))
        .await
        .expect("constraint down");
    assert!(backend.read_history().await.expect("history").is_empty());
    cleanup(&graph, &names, &[]).await;
}

/// The edututor migrations 1-5 (PostgreSQL 1-3, Neo4j 4-5), with the Neo4j
/// label and schema names made unique to this run so the test can share the
/// server with the round-trip test, which owns the real `Concept` names.
fn edututor_through_neo4j(suffix: &str) -> History {
    let mut paths: Vec<_> = std::fs::read_dir(edututor_dir())
        .expect("examples/edututor/migrations")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().as_ref() < "20241202_1001")
        })
        .collect();
    paths.sort();
    let migrations = paths.iter().map(|path| edututor(path, suffix)).collect();
    History::new(migrations).expect("edututor 1-5 form one line")
}

fn neo4j_migrator(history: History, graph: &neo4rs::Graph, names: &Names) -> Migrator {
    let config = Neo4jConfig {
        label_prefix: names.prefix.clone(),
        ..Neo4jConfig::default()
    };
    Migrator::from_history(history)
        .backend(Box::new(Neo4jBackend::new(graph.clone(), config)))
        .lock_timeout(Duration::from_secs(120))
}

fn applied(report: &dbmigrate::Report) -> Vec<(&str, Direction)> {
    report
        .applied
        .iter()
        .map(|step| (step.revision_id.as_str(), step.direction))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn edututor_postgres_and_neo4j_base_head_base_head_through_the_migrator() {
    let graph = graph();
    let names = names("Edu");
    let suffix = names.label.trim_start_matches("Edu").to_owned();
    let fresh = FreshDatabase::create(&common::database_url(), "neo4j_edututor")
        .await
        .expect("scratch database");
    let history = edututor_through_neo4j(&suffix);
    let migrator = neo4j_migrator(history, &graph, &names).postgres(fresh.pool.clone());

    let plan = migrator
        .plan(Direction::Up, Target::Head)
        .await
        .expect("plan");
    let neo4j_calls: Vec<&str> = plan.planned[3]
        .calls
        .iter()
        .map(|call| call.text.as_str())
        .collect();
    assert!(
        neo4j_calls
            .iter()
            .any(|text| text.starts_with("CREATE CONSTRAINT concept")),
        "{neo4j_calls:#?}"
    );

    let up = migrator.upgrade(Target::Head).await.expect("upgrade head");
    assert_eq!(up.applied.len(), 5);
    assert_eq!(applied(&up)[4], ("20241202_1000_e5f6a7", Direction::Up));
    let neo4j = Neo4jBackend::new(
        graph.clone(),
        Neo4jConfig {
            label_prefix: names.prefix.clone(),
            ..Neo4jConfig::default()
        },
    );
    assert_eq!(neo4j.read_history().await.expect("history").len(), 2);

    let down = migrator
        .downgrade(Target::Base)
        .await
        .expect("downgrade base");
    assert_eq!(applied(&down)[0], ("20241202_1000_e5f6a7", Direction::Down));
    assert_eq!(down.applied.len(), 5);
    assert!(neo4j.read_history().await.expect("history").is_empty());
    let constraints = format!(
        "SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH 'concept{suffix}' RETURN count(*) AS n"
    );
    assert_eq!(count(&graph, &constraints).await, 0);

    assert_eq!(
        migrator
            .upgrade(Target::Head)
            .await
            .expect("upgrade again")
            .applied
            .len(),
        5
    );
    assert_eq!(count(&graph, &constraints).await, 1);
    assert!(migrator
        .upgrade(Target::Head)
        .await
        .expect("nothing pending")
        .applied
        .is_empty());

    migrator.downgrade(Target::Base).await.expect("clean up");
    drop(migrator);
    fresh
        .drop_database()
        .await
        .expect("drop the scratch database");
    cleanup(&graph, &names, &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_concurrent_migrators_through_the_migrator() {
    let graph = graph();
    let names = names("Boot");
    let label = names.label.clone();
    let migrations = vec![
        cypher(
            "20240105_0000_eee001",
            None,
            &format!("CREATE CONSTRAINT {label}_name IF NOT EXISTS FOR (c:{label}) REQUIRE c.name IS UNIQUE;"),
            &format!("DROP CONSTRAINT {label}_name IF EXISTS;"),
        ),
        cypher(
            "20240105_0100_eee002",
            Some("20240105_0000_eee001"),
            &format!("MERGE (c:{label} {{name: 'boots'}}) SET c.n = coalesce(c.n, 0) + 1;"),
            &format!("MATCH (c:{label} {{name: 'boots'}}) DELETE c;"),
        ),
    ];
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let migrator = neo4j_migrator(
                History::new(migrations.clone()).expect("line"),
                &graph,
                &names,
            );
            tokio::spawn(async move {
                migrator
                    .upgrade(Target::Head)
                    .await
                    .map(|report| report.applied.len())
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task").expect("upgrade");
    }
    assert_eq!(total, 2);
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (c:{label} {{name: 'boots'}}) RETURN c.n AS n")
        )
        .await,
        1
    );
    cleanup(&graph, &names, &[&format!("{label}_name")]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dirty_record_blocks_the_migrator_until_repair() {
    let graph = graph();
    let names = names("Dirty");
    let label = names.label.clone();
    let up = |second: &str| {
        format!("CREATE INDEX {label}_x IF NOT EXISTS FOR (n:{label}) ON (n.x);\n{second}")
    };
    let down = format!("DROP INDEX {label}_x IF EXISTS;");
    let broken = cypher(
        "20240106_0000_fff001",
        None,
        &up("MATCH (n:{label} RETURN n;"),
        &down,
    );
    let migrator = neo4j_migrator(History::new(vec![broken]).expect("line"), &graph, &names);
    let error = migrator
        .upgrade(Target::Head)
        .await
        .expect_err("syntax error")
        .to_string();
    assert!(
        error.contains("20240106_0000_fff001_step.cypher:5: Neo.ClientError.Statement.SyntaxError"),
        "{error}"
    );
    let error = migrator
        .upgrade(Target::Head)
        .await
        .expect_err("dirty")
        .to_string();
    assert!(
        error.contains("is dirty") && error.contains("repair 20240106_0000_fff001"),
        "{error}"
    );

    migrator
        .repair(Some("20240106_0000_fff001"), Repair::Forget)
        .await
        .expect("repair");
    let fixed = cypher(
        "20240106_0000_fff001",
        None,
        &up(&format!("MATCH (n:{label}) SET n.x = 1;")),
        &down,
    );
    let migrator = neo4j_migrator(History::new(vec![fixed]).expect("line"), &graph, &names);
    assert_eq!(
        migrator
            .upgrade(Target::Head)
            .await
            .expect("fixed file")
            .applied
            .len(),
        1
    );
    migrator.downgrade(Target::Base).await.expect("down");
    cleanup(&graph, &names, &[]).await;
}

#[tokio::test]
async fn statement_timeout_stops_an_auto_commit_statement() {
    let graph = graph();
    let names = names("Slow");
    let label = names.label.clone();
    let backend = backend(&graph, &names, Duration::from_secs(30));
    backend.ensure_history().await.expect("ensure history");
    let text = format!(
        "// Message: slow\n// Transaction: none\n// Statement-Timeout: 1s\n\n// migrate:up\n\
         UNWIND range(1, 4000000000) AS x WITH x WHERE x < 0 CREATE (:{label});\n\n\
         // migrate:down\n// nothing to undo\n"
    );
    let slow = parse_migration("tests/neo4j/20240107_0000_abc001_slow.cypher", &text)
        .unwrap_or_else(|e| panic!("{e}"));
    let error = backend
        .apply(&step(&slow, Direction::Up))
        .await
        .expect_err("the server stops it")
        .to_string();
    assert!(
        error.starts_with("tests/neo4j/20240107_0000_abc001_slow.cypher:6: Neo.ClientError.Transaction.TransactionTimedOut"),
        "{error}"
    );
    cleanup(&graph, &names, &[]).await;
}
