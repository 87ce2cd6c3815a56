//! The catalog queries behind the PostgreSQL snapshot: one query per kind of
//! object, each turned into [`CatalogObject`]s that sort and render stably.

use sqlx::PgPool;

/// Where an object sorts in the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Section {
    Extension,
    Enum,
    Domain,
    Sequence,
    Table,
    View,
    Function,
}

/// One object of the snapshot: a header line and optional indented body.
#[derive(Debug, Clone)]
pub(super) struct CatalogObject {
    pub section: Section,
    /// The table an object belongs to (or its own name).
    pub group: String,
    /// Order inside a table: table, column, constraint, index, trigger.
    pub rank: u8,
    /// Sort key inside the rank (name, or zero-padded column position).
    pub sort: String,
    /// The object's own name.
    pub name: String,
    /// `kind qualified.name: definition`.
    pub line: String,
    /// Multi-line definition, rendered indented.
    pub body: Vec<String>,
}

impl CatalogObject {
    fn new(section: Section, group: &str, rank: u8, name: &str, line: String) -> CatalogObject {
        CatalogObject {
            section,
            group: group.to_string(),
            rank,
            sort: name.to_string(),
            name: name.to_string(),
            line,
            body: Vec::new(),
        }
    }

    pub(super) fn header(&self) -> String {
        self.line.clone()
    }
}

/// Reads every kind of object in `schema`.
pub(super) async fn read_all(
    pool: &PgPool,
    schema: &str,
) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let mut objects = Vec::new();
    objects.extend(extensions(pool).await?);
    objects.extend(enums(pool, schema).await?);
    objects.extend(domains(pool, schema).await?);
    objects.extend(sequences(pool, schema).await?);
    objects.extend(tables(pool, schema).await?);
    objects.extend(columns(pool, schema).await?);
    objects.extend(constraints(pool, schema).await?);
    objects.extend(indexes(pool, schema).await?);
    objects.extend(triggers(pool, schema).await?);
    objects.extend(views(pool, schema).await?);
    objects.extend(functions(pool, schema).await?);
    Ok(objects)
}

async fn extensions(pool: &PgPool) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT e.extname::text, n.nspname::text FROM pg_extension e \
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, schema)| {
            let line = format!("extension {name} (schema {schema})");
            CatalogObject::new(Section::Extension, &name, 0, &name, line)
        })
        .collect())
}

async fn enums(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.typname::text, string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) \
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
         JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 GROUP BY t.typname",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, labels)| {
            let line = format!("enum {name}: {labels}");
            CatalogObject::new(Section::Enum, &name, 0, &name, line)
        })
        .collect())
}

async fn domains(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT t.typname::text, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = $1 AND t.typtype = 'd'",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, base, not_null, default)| {
            let mut line = format!("domain {name}: {base}");
            if not_null {
                line.push_str(" not null");
            }
            if let Some(default) = default {
                line.push_str(&format!(" default {default}"));
            }
            CatalogObject::new(Section::Domain, &name, 0, &name, line)
        })
        .collect())
}

async fn sequences(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    type Row = (
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        bool,
        i64,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.sequencename::text, s.data_type::text, s.start_value, s.min_value, s.max_value, \
                s.increment_by, s.cycle, s.cache_size, \
                (SELECT t.relname || '.' || a.attname FROM pg_depend d \
                   JOIN pg_class t ON t.oid = d.refobjid \
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                  WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') \
                    AND d.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass \
                  LIMIT 1) \
         FROM pg_sequences s WHERE s.schemaname = $1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, data_type, start, min, max, increment, cycle, cache, owner)| {
            let mut line = format!(
                "sequence {name}: {data_type} start {start} increment {increment} min {min} max {max} cache {cache}{}",
                if cycle { " cycle" } else { "" }
            );
            if let Some(owner) = &owner {
                line.push_str(&format!(" owned by {owner}"));
            }
            let group = owner.as_deref().and_then(|o| o.split('.').next()).unwrap_or(&name).to_string();
            let mut object = CatalogObject::new(Section::Sequence, &name, 0, &name, line);
            object.group = group;
            object
        })
        .collect())
}

async fn tables(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, c.relkind::text, c.relpersistence::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f')",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, kind, persistence)| {
            let mut line = format!("table {name}");
            match kind.as_str() {
                "p" => line.push_str(" (partitioned)"),
                "f" => line.push_str(" (foreign)"),
                _ => {}
            }
            if persistence == "u" {
                line.push_str(" (unlogged)");
            }
            CatalogObject::new(Section::Table, &name, 0, &name, line)
        })
        .collect())
}

async fn columns(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, \
                row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), \
                format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
                CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_collation co ON co.oid = a.attcollation \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(column_object).collect())
}

type ColumnRow = (
    String,
    String,
    i64,
    String,
    bool,
    Option<String>,
    String,
    String,
    Option<String>,
);

fn column_object(row: ColumnRow) -> CatalogObject {
    let (table, name, position, data_type, not_null, default, identity, generated, collation) = row;
    let mut line = format!("column {table}.{name} #{position}: {data_type}");
    if let Some(collation) = collation {
        line.push_str(&format!(" collate {collation}"));
    }
    if not_null {
        line.push_str(" not null");
    }
    match (generated.as_str(), default) {
        ("s", Some(expression)) => {
            line.push_str(&format!(" generated always as ({expression}) stored"))
        }
        (_, Some(expression)) => line.push_str(&format!(" default {expression}")),
        _ => {}
    }
    match identity.as_str() {
        "a" => line.push_str(" generated always as identity"),
        "d" => line.push_str(" generated by default as identity"),
        _ => {}
    }
    let mut object = CatalogObject::new(Section::Table, &table, 1, &name, line);
    object.sort = format!("{position:05}");
    object
}

async fn constraints(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, con.conname::text, pg_get_constraintdef(con.oid, true) \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, name, definition)| {
            let line = format!("constraint {table}.{name}: {definition}");
            CatalogObject::new(Section::Table, &table, 2, &name, line)
        })
        .collect())
}

async fn indexes(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, pg_get_indexdef(i.oid), ix.indisvalid \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, name, definition, valid)| {
            let invalid = if valid { "" } else { " (INVALID)" };
            let line = format!("index {table}.{name}: {definition}{invalid}");
            CatalogObject::new(Section::Table, &table, 3, &name, line)
        })
        .collect())
}

async fn triggers(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid, true) \
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND NOT t.tgisinternal",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, name, definition)| {
            let line = format!("trigger {table}.{name}: {definition}");
            CatalogObject::new(Section::Table, &table, 4, &name, line)
        })
        .collect())
}

async fn views(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, c.relkind::text, pg_get_viewdef(c.oid, true) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, kind, definition)| {
            let kind = if kind == "m" {
                "materialized view"
            } else {
                "view"
            };
            let mut object =
                CatalogObject::new(Section::View, &name, 0, &name, format!("{kind} {name}:"));
            object.body = definition.lines().map(str::to_string).collect();
            object
        })
        .collect())
}

async fn functions(pool: &PgPool, schema: &str) -> Result<Vec<CatalogObject>, sqlx::Error> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT p.proname::text, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = $1 AND p.prokind IN ('f', 'p') AND NOT EXISTS ( \
           SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass \
              AND d.objid = p.oid AND d.deptype = 'e')",
    )
    .bind(schema)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, arguments, definition)| {
            let signature = format!("{name}({arguments})");
            let line = format!("function {signature}:");
            let mut object = CatalogObject::new(Section::Function, &signature, 0, &name, line);
            object.body = definition.lines().map(str::to_string).collect();
            object
        })
        .collect())
}
