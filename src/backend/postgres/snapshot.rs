//! A minimal schema snapshot: tables and their columns, sorted. The full
//! catalog snapshot for round-trip tests lives in `crate::testing`.

use sqlx::Row;

use crate::backend::BackendError;

use super::backend::PostgresBackend;

/// `schema.table` then one indented line per column (`name type [not null] [default …]`).
pub(crate) async fn tables_and_columns(backend: &PostgresBackend) -> Result<String, BackendError> {
    let rows = sqlx::query(
        "SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.data_type::text, \
                c.is_nullable = 'NO', c.column_default::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE t.table_type = 'BASE TABLE' \
           AND c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg_toast%' \
           AND NOT (c.table_schema = $1 AND c.table_name = $2) \
         ORDER BY 1, 2, 3",
    )
    .bind(&backend.config.schema)
    .bind(&backend.config.table)
    .fetch_all(&backend.pool)
    .await
    .map_err(|e| backend.error(&e))?;
    let mut out = String::new();
    let mut last_table = String::new();
    for row in rows {
        let table = format!("{}.{}", row.get::<String, _>(0), row.get::<String, _>(1));
        if table != last_table {
            out.push_str(&table);
            out.push('\n');
            last_table = table;
        }
        out.push_str(&format!(
            "  {} {}",
            row.get::<String, _>(2),
            row.get::<String, _>(3)
        ));
        if row.get::<bool, _>(4) {
            out.push_str(" not null");
        }
        if let Some(default) = row.get::<Option<String>, _>(5) {
            out.push_str(&format!(" default {default}"));
        }
        out.push('\n');
    }
    Ok(out)
}
