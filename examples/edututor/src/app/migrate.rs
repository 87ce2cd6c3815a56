//! Boot-time migration: connect to the three databases and bring them to the
//! head of the embedded timeline with one `Migrator`, then render its report.

use std::time::Duration;

use anyhow::Context as _;
use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::weaviate::{WeaviateClient, WeaviateConfig};
use dbmigrate_core::{Direction, Migrations, Migrator, Report, Target};
use sqlx::postgres::PgPoolOptions;

use super::config::{redact, Config};

/// The app's connections, shared by the migrator and the app itself.
pub struct Connections {
    /// PostgreSQL.
    pub pool: sqlx::PgPool,
    /// Neo4j.
    pub graph: neo4rs::Graph,
    /// Neo4j's location without credentials.
    pub neo4j_location: String,
    /// Weaviate.
    pub weaviate: WeaviateClient,
}

impl Connections {
    /// Connects to all three; errors name the server, never a password.
    pub async fn open(config: &Config) -> anyhow::Result<Connections> {
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&config.database_url)
            .await
            .with_context(|| {
                format!(
                    "cannot connect to PostgreSQL at {}",
                    redact(&config.database_url)
                )
            })?;
        let neo4j_location = redact(&config.neo4j_uri);
        let graph = neo4rs::ConfigBuilder::default()
            .uri(&config.neo4j_uri)
            .user(&config.neo4j_user)
            .password(&config.neo4j_password)
            .build()
            .and_then(neo4rs::Graph::connect)
            .with_context(|| format!("cannot connect to Neo4j at {neo4j_location}"))?;
        let weaviate = WeaviateClient::new(
            &config.weaviate_url,
            config.weaviate_api_key.clone(),
            WeaviateConfig::default(),
        )
        .with_context(|| {
            format!(
                "cannot create a Weaviate client for {}",
                redact(&config.weaviate_url)
            )
        })?;
        Ok(Connections {
            pool,
            graph,
            neo4j_location,
            weaviate,
        })
    }
}

/// Upgrades every database to the head of `migrations`. Neo4j gets an
/// explicit backend so that its messages name the server (without password).
pub async fn upgrade(
    migrations: &'static Migrations,
    connections: &Connections,
) -> anyhow::Result<Report> {
    let neo4j_config = Neo4jConfig {
        location: connections.neo4j_location.clone(),
        ..Neo4jConfig::default()
    };
    let neo4j = Neo4jBackend::new(connections.graph.clone(), neo4j_config);
    let report = Migrator::new(migrations)
        .postgres(connections.pool.clone())
        .backend(Box::new(neo4j))
        .weaviate(connections.weaviate.clone())
        .upgrade(Target::Head)
        .await
        .context("failed to migrate the databases at boot")?;
    Ok(report)
}

/// A few lines for a person: what was applied, or that nothing was pending.
pub fn render(report: &Report) -> String {
    let from = report.from.as_deref().unwrap_or("base");
    let to = report.to.as_deref().unwrap_or("base");
    if report.applied.is_empty() {
        return format!(
            "migrations: up to date at {to} ({} applied earlier, nothing to do)",
            report.n_already_applied
        );
    }
    let mut out = format!(
        "migrations: {from} -> {to}, {} applied",
        report.applied.len()
    );
    for step in &report.applied {
        let verb = match step.direction {
            Direction::Up => "applied",
            Direction::Down => "reverted",
        };
        out.push_str(&format!(
            "\n  {verb:<8} {:<9} {} ({:.0?})",
            step.backend.to_string(),
            step.file_name,
            step.duration
        ));
    }
    for revision in &report.ahead {
        out.push_str(&format!(
            "\n  warning: the database holds {revision}, newer than this binary"
        ));
    }
    out
}
