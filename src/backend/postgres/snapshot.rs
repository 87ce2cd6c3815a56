//! The PostgreSQL schema snapshot for round-trip tests: every object of
//! every non-system schema, keyed by kind and qualified name, read in one
//! catalog round trip (`snapshot.sql`); the history table is left out.

use sqlx::Row;

use crate::backend::BackendError;
use crate::migration::Migration;
use crate::testing::{SchemaObject, SchemaSnapshot, TestBackend};

use super::backend::PostgresBackend;

const SNAPSHOT_SQL: &str = include_str!("snapshot.sql");

/// Removes every non-system schema (and so every object and extension in
/// it), then recreates `public` as `initdb` makes it.
const RESET_SQL: &str = "DO $reset$ DECLARE s text; BEGIN \
   FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') \
     AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%' LOOP \
     EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $reset$; \
 CREATE SCHEMA public AUTHORIZATION pg_database_owner; \
 GRANT USAGE ON SCHEMA public TO PUBLIC; \
 COMMENT ON SCHEMA public IS 'standard public schema'";

#[async_trait::async_trait]
impl TestBackend for PostgresBackend {
    async fn snapshot(&self) -> Result<SchemaSnapshot, BackendError> {
        let history = format!(
            "{}.{}",
            quote_ident(&self.config.schema),
            quote_ident(&self.config.table)
        );
        // Unnamed statement: a step's session reset runs `DEALLOCATE ALL`
        // on pooled connections, which would orphan a cached one.
        let rows = sqlx::query(SNAPSHOT_SQL)
            .persistent(false)
            .bind(history)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.error(&e))?;
        let objects = rows.iter().map(|row| {
            let columns: Option<String> = row.get(3);
            SchemaObject {
                kind: row.get(0),
                name: row.get(1),
                definition: row.get(2),
                columns: columns
                    .map(|c| c.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                position: row.get(4),
            }
        });
        Ok(SchemaSnapshot::new(objects.collect()))
    }

    async fn execute_script(
        &self,
        migration: &Migration,
        script: &str,
    ) -> Result<(), BackendError> {
        super::apply::script(self, migration, script).await
    }

    async fn reset(&self) -> Result<bool, BackendError> {
        sqlx::raw_sql(RESET_SQL)
            .execute(&self.pool)
            .await
            .map_err(|e| self.error(&e))?;
        Ok(true)
    }
}

/// `"name"` with inner quotes doubled, as `quote_ident` would (always quoted).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
