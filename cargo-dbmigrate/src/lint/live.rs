//! What `lint` reads from the databases: which migrations are pending (from
//! `status`), PostgreSQL table sizes from the catalog, Neo4j node counts per
//! label and Weaviate object counts per collection (`counts.rs`).

use dbmigrate_core::backend::postgres::PostgresBackend;
use dbmigrate_core::backend::redact_url;
use dbmigrate_core::lint::{LiveFacts, TableSize};
use dbmigrate_core::{BackendKind, History};

use crate::config::Project;
use crate::online::{self, ConnectionArgs};

/// What the connected databases said.
pub struct Found {
    /// Index of the first migration some configured database has not applied.
    pub first_pending: usize,
    /// Sizes for the messages.
    pub facts: LiveFacts,
}

/// Reads the databases named by flags, environment or `.env`; `None` when none is configured.
pub fn read(
    project: &Project,
    history: &History,
    args: &ConnectionArgs,
) -> anyhow::Result<Option<Found>> {
    let settings = online::Settings::resolve(args, &project.root)?;
    if settings.is_empty() {
        return Ok(None);
    }
    let secrets = settings.secrets();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let found = runtime.block_on(async {
        let migrator = online::migrator(history.clone(), &settings, project).await?;
        let status = migrator.status().await?;
        let mut facts = LiveFacts::default();
        if let Some(url) = settings.database_url() {
            facts.tables = table_sizes(url).await?;
        }
        if let Some((uri, user, password)) = settings.neo4j() {
            let database = settings.setting(BackendKind::Neo4j, "NEO4J_DATABASE");
            facts.labels = super::counts::neo4j_labels(uri, user, password, database).await?;
        }
        if let Some(url) = settings.url(BackendKind::Weaviate) {
            let key = settings.setting(BackendKind::Weaviate, "WEAVIATE_API_KEY");
            let counts = super::counts::weaviate(url, key).await?;
            facts.collections = counts.objects;
            facts.aliased = counts.aliased;
        }
        anyhow::Ok(Found {
            first_pending: history.len() - status.n_pending,
            facts,
        })
    });
    found
        .map(Some)
        .map_err(|error| anyhow::anyhow!("{}", online::scrub(&format!("{error:#}"), &secrets)))
}

/// Rows (the planner's estimate; an exact count for tables never analysed
/// below 1 GB) and total size of every user table.
async fn table_sizes(url: &str) -> anyhow::Result<std::collections::BTreeMap<String, TableSize>> {
    let backend = PostgresBackend::connect(url).await?;
    let pool = backend.pool();
    let rows: Vec<(String, String, f64, i64)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, c.reltuples::float8, pg_total_relation_size(c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname = ANY (current_schemas(false))",
    )
    .fetch_all(pool)
    .await
    .map_err(|error| anyhow::anyhow!("cannot read table sizes from {}: {error}", redact_url(url)))?;
    let mut tables = std::collections::BTreeMap::new();
    for (schema, table, estimate, bytes) in rows {
        let rows = if estimate >= 0.0 {
            estimate as u64
        } else if bytes < 1 << 30 {
            let sql = format!("SELECT count(*) FROM {}.{}", quote(&schema), quote(&table));
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(pool)
                .await
                .unwrap_or(0) as u64
        } else {
            0
        };
        tables.entry(table).or_insert(TableSize {
            rows,
            bytes: bytes as u64,
        });
    }
    pool.close().await;
    Ok(tables)
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}
