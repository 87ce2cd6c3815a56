//! `CREATE INDEX CONCURRENTLY` cleanup: a failed build leaves an invalid
//! index behind; drop it (only if the statement created it) so a retry works,
//! and before a build drop the invalid leftover of an interrupted earlier
//! attempt (a crash or kill mid-step, resumed after `repair --forget`).

use sqlx::PgConnection;

use super::sql::literal;

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON
/// [ONLY] [schema.]table …` statement builds, schema-qualified like its table;
/// `None` for any other statement or an unnamed index.
pub(crate) fn index_name(statement: &str) -> Option<String> {
    let words = tokens(statement);
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let mut i = 0;
    let expect = |word: &str, i: &mut usize| -> bool {
        let found = upper.get(*i).is_some_and(|w| w == word);
        if found {
            *i += 1;
        }
        found
    };
    if !expect("CREATE", &mut i) {
        return None;
    }
    expect("UNIQUE", &mut i);
    if !(expect("INDEX", &mut i) && expect("CONCURRENTLY", &mut i)) {
        return None;
    }
    if expect("IF", &mut i) && !(expect("NOT", &mut i) && expect("EXISTS", &mut i)) {
        return None;
    }
    let name = words.get(i)?.clone();
    if name.eq_ignore_ascii_case("ON") {
        return None;
    }
    let mut table_at = i + 2;
    if upper.get(table_at).is_some_and(|w| w == "ONLY") {
        table_at += 1;
    }
    let table = words.get(table_at)?;
    Some(match schema_of(table) {
        Some(schema) => format!("{schema}.{name}"),
        None => name,
    })
}

/// Words, keeping `"quoted identifiers"` whole and cutting at `(`.
fn tokens(statement: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in statement.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if !quoted && (c.is_whitespace() || c == '(') => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `schema` of `schema.table` (dots inside quotes do not count).
fn schema_of(table: &str) -> Option<&str> {
    let mut quoted = false;
    for (i, c) in table.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => return Some(&table[..i]),
            _ => {}
        }
    }
    None
}

/// Before a `CREATE INDEX CONCURRENTLY` runs: drops an invalid index of the
/// name it builds that no session is building (what a crash, a kill or a
/// cancel in the middle of an earlier attempt leaves: a rerun would fail
/// with "already exists", or skip it with `IF NOT EXISTS`), and says so.
/// Returns whether an index of that name exists afterwards.
pub(crate) async fn prepare(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    let found: Option<(bool, bool)> = sqlx::query_as(&format!(
        "SELECT coalesce(NOT i.indisvalid, false), EXISTS (SELECT 1 FROM pg_stat_progress_create_index p \
         WHERE p.index_relid = i.indexrelid) \
         FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid WHERE c.oid = to_regclass({})",
        literal(name)
    ))
    .persistent(false)
    .fetch_optional(&mut *conn)
    .await?;
    match found {
        Some((true, false)) => {
            tracing::warn!(index = %name, "dropping the invalid index an interrupted CREATE INDEX CONCURRENTLY left, before building it again");
            drop_index(conn, name).await?;
            Ok(false)
        }
        Some((true, true)) => {
            tracing::warn!(index = %name, "an invalid index of this name is being built by another session: not dropping it");
            Ok(true)
        }
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

/// Drops the index if it exists and is invalid (after this step's own build failed).
pub(crate) async fn drop_if_invalid(
    conn: &mut PgConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
    let invalid: Option<bool> = sqlx::query_scalar(&format!(
        "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass({})",
        literal(name)
    ))
    .persistent(false)
    .fetch_optional(&mut *conn)
    .await?;
    if invalid == Some(true) {
        tracing::warn!(index = %name, "dropping the invalid index left by a failed CREATE INDEX CONCURRENTLY");
        drop_index(conn, name).await?;
    }
    Ok(())
}

async fn drop_index(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(
        conn,
        sqlx::raw_sql(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::index_name;

    #[test]
    fn finds_the_index_of_a_concurrent_build() {
        let check = |sql: &str, expected: Option<&str>| {
            assert_eq!(index_name(sql).as_deref(), expected, "{sql}")
        };
        check(
            "CREATE INDEX CONCURRENTLY users_email ON users (email)",
            Some("users_email"),
        );
        check(
            "create unique index concurrently if not exists ix on only app.t(c)",
            Some("app.ix"),
        );
        check(
            "CREATE INDEX CONCURRENTLY \"Odd Name\" ON \"my.schema\".t (c)",
            Some("\"my.schema\".\"Odd Name\""),
        );
        check("CREATE INDEX CONCURRENTLY ON users (email)", None);
        check("CREATE INDEX users_email ON users (email)", None);
    }
}
