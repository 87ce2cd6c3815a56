//! Steps through the `Backend` trait: up/down/up, plan, failures and repair,
//! statement timeout.

use std::time::Duration;

use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::{Backend, BackendError, RecordChange, RecordState};
use dbmigrate_core::parse::parse_migration;
use dbmigrate_core::testing::TestBackend;
use dbmigrate_core::Direction;

use super::support::*;

#[tokio::test]
async fn up_down_up_through_the_backend() {
    let graph = graph();
    let names = names("Concept");
    let _scratch = super::migrator::scratch(&names); // removed also on panic
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

    let before = backend.snapshot().await.expect("snapshot").render();
    assert_eq!(migrate_up(&backend, &migrations, "up-down-up").await, 2);
    let after = backend.snapshot().await.expect("snapshot").render();
    assert!(
        after.contains(&format!(
            "constraint {}_name: UNIQUENESS NODE :{}(name)",
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
    assert_eq!(backend.snapshot().await.expect("snapshot").render(), before);
    assert_eq!(
        count(
            &graph,
            &format!("MATCH (c:{}) RETURN count(c) AS n", names.label)
        )
        .await,
        0
    );

    assert_eq!(migrate_up(&backend, &migrations, "up-down-up").await, 2);
    assert_eq!(backend.snapshot().await.expect("snapshot").render(), after);
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
    let _scratch = super::migrator::scratch(&names); // removed also on panic
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
    assert!(texts[3].starts_with("SHOW INDEXES") && schema[3].bookkeeping);
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
async fn a_failing_statement_leaves_a_dirty_record_until_repair() {
    let graph = graph();
    let names = names("Broken");
    let _scratch = super::migrator::scratch(&names); // removed also on panic
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
        .write_record(RecordChange::Removed {
            revision_id: "20240103_0000_ccc001",
        })
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
        .write_record(RecordChange::Applied {
            migration: &broken,
            applied_by: "repair",
        })
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
    let _scratch = super::migrator::scratch(&names); // removed also on panic
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
async fn statement_timeout_stops_an_auto_commit_statement() {
    let graph = graph();
    let names = names("Slow");
    let _scratch = super::migrator::scratch(&names); // removed also on panic
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
