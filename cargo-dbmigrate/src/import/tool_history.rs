//! Reads another tool's own history in a deployed database, read-only:
//! `_sqlx_migrations`, `__diesel_schema_migrations`, `refinery_schema_history`,
//! `alembic_version`, golang-migrate's `schema_migrations`,
//! `flyway_schema_history` (PostgreSQL) and neo4j-migrations'
//! `__Neo4jMigration` nodes (Neo4j).

use anyhow::Context as _;

use super::source::Tool;

/// One record of the tool's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRecord {
    /// The version as the tool recorded it.
    pub version: String,
    /// False for a failed or dirty record.
    pub ok: bool,
    /// The checksum the tool recorded, where it keeps one (as `import` writes it).
    pub checksum: Option<String>,
    /// The record's kind where the tool has several (Flyway's `type`).
    pub kind: Option<String>,
}

/// What the tool's history says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolHistory {
    /// Every applied version (sqlx, diesel, refinery, Flyway, neo4j-migrations), in applied order.
    Applied(Vec<ToolRecord>),
    /// Only the newest version (Alembic's heads, golang-migrate's row).
    Head(Vec<ToolRecord>),
}

/// The history table of a PostgreSQL tool.
pub fn table(tool: Tool) -> &'static str {
    match tool {
        Tool::Sqlx => "_sqlx_migrations",
        Tool::Diesel => "__diesel_schema_migrations",
        Tool::Refinery => "refinery_schema_history",
        Tool::Alembic => "alembic_version",
        Tool::GolangMigrate => "schema_migrations",
        Tool::Flyway => "flyway_schema_history",
        Tool::Neo4jMigrations => "__Neo4jMigration",
    }
}

type Row = (String, bool, Option<String>, Option<String>);

/// The query that reads `tool`'s table as (version, ok, checksum, kind) rows.
fn query(tool: Tool) -> &'static str {
    match tool {
        Tool::Sqlx => "SELECT version::text, success, encode(checksum, 'hex'), NULL::text FROM _sqlx_migrations ORDER BY version",
        Tool::Diesel => "SELECT version::text, true, NULL::text, NULL::text FROM __diesel_schema_migrations ORDER BY version",
        Tool::Refinery => "SELECT version::text, true, checksum::text, NULL::text FROM refinery_schema_history ORDER BY version",
        Tool::Alembic => "SELECT version_num::text, true, NULL::text, NULL::text FROM alembic_version",
        Tool::GolangMigrate => "SELECT version::text, NOT dirty, NULL::text, NULL::text FROM schema_migrations",
        Tool::Flyway => "SELECT version::text, success, checksum::text, type::text FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank",
        Tool::Neo4jMigrations => unreachable!("neo4j-migrations keeps its history in Neo4j"),
    }
}

/// Reads a PostgreSQL tool's history; the table must exist.
pub async fn read_postgres(tool: Tool, url: &str) -> anyhow::Result<ToolHistory> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .context("cannot connect to PostgreSQL")?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table(tool))
        .fetch_one(&pool)
        .await?;
    if !exists {
        anyhow::bail!("this database has no `{}` table\n  help: point --database-url (or DATABASE_URL) at the database {} migrated", table(tool), tool.name());
    }
    let rows: Vec<Row> = sqlx::query_as(query(tool))
        .fetch_all(&pool)
        .await
        .with_context(|| format!("cannot read `{}`", table(tool)))?;
    pool.close().await;
    let records = rows
        .into_iter()
        .map(|(version, ok, checksum, kind)| ToolRecord {
            version,
            ok,
            checksum,
            kind,
        })
        .collect();
    Ok(match tool {
        Tool::Alembic | Tool::GolangMigrate => ToolHistory::Head(records),
        _ => ToolHistory::Applied(records),
    })
}

/// Reads neo4j-migrations' `__Neo4jMigration` chain from its baseline.
pub async fn read_neo4j(graph: &neo4rs::Graph) -> anyhow::Result<ToolHistory> {
    let cypher = "MATCH p = (:__Neo4jMigration {version: 'BASELINE'})-[:MIGRATED_TO*]->(m:__Neo4jMigration) \
                  RETURN m.version AS version, toString(m.checksum) AS checksum ORDER BY length(p)";
    let mut rows = graph
        .execute(neo4rs::query(cypher))
        .await
        .context("cannot read the __Neo4jMigration nodes")?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().await? {
        let version: String = row.get("version")?;
        let checksum: Option<String> = row.get("checksum").ok();
        records.push(ToolRecord {
            version,
            ok: true,
            checksum,
            kind: None,
        });
    }
    Ok(ToolHistory::Applied(records))
}
