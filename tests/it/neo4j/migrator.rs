//! The Neo4j backend under `Migrator`: edututor PostgreSQL + Neo4j
//! base -> head -> base -> head, eight concurrent boots, a dirty record that
//! blocks until repair.

use std::time::Duration;

use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::Backend;
use dbmigrate_core::runner::Repair;
use dbmigrate_core::testing::FreshDatabase;
use dbmigrate_core::{Direction, History, Migrator, Target};

use super::edututor::{edututor, edututor_dir};
use super::support::*;
use crate::common;
use crate::guards::{Neo4jGuard, PgGuard};

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

/// Removes the test's nodes, constraints and indexes (all named with its
/// suffix, as is its bookkeeping prefix `__T<suffix>_`), also on panic.
pub(super) fn scratch(names: &Names) -> Neo4jGuard {
    Neo4jGuard(names.prefix[3..names.prefix.len() - 1].to_owned())
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

fn applied(report: &dbmigrate_core::Report) -> Vec<(&str, Direction)> {
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
    let _scratch = scratch(&names);
    let suffix = names.label.trim_start_matches("Edu").to_owned();
    let fresh = FreshDatabase::create(&common::database_url(), "neo4j_edututor")
        .await
        .expect("scratch database");
    let _dropped_also_on_panic = PgGuard(fresh.name.clone());
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
    let _scratch = scratch(&names);
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
    let _scratch = scratch(&names);
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
