//! The PostgreSQL schema snapshot for round-trip tests: every object of
//! every non-system schema, keyed by kind and qualified name, read in one
//! catalog round trip (`snapshot.sql`); the history table is left out.
//! During a run ([`TestBackend::snapshots`]) one session keeps the query
//! prepared (planned once) and each snapshot reads again only the units
//! whose catalog rows changed since the previous one (see `snapshot.sql`).

use std::collections::BTreeMap;

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Connection as _, Executor as _, Row};

use crate::backend::BackendError;
use crate::migration::Migration;
use crate::testing::{Owned, SchemaObject, SchemaSnapshot, Snapshots, TestBackend};

use super::backend::PostgresBackend;

const SNAPSHOT_SQL: &str = include_str!("snapshot.sql");

/// How the snapshot query is planned, measured on a 250- and a 1,000-table
/// schema (`cargo xtask bench`, round-trip case). The catalogs' statistics
/// in a new database say no user objects exist, so the planner expects one
/// row where there are thousands: nested loops over them grow with the
/// square of the schema (22–46 ms a snapshot at 250 tables, 7–14 ms with
/// hash joins). Once autovacuum analyses the grown catalogs, the estimated
/// cost passes `jit_above_cost` and every snapshot paid about 600 ms of JIT
/// compilation for a query that runs in milliseconds. A generic plan is
/// kept for the run, so it is planned once.
const SESSION_SETTINGS: &str =
    "SET jit = off; SET enable_nestloop = off; SET plan_cache_mode = force_generic_plan";

/// [`SESSION_SETTINGS`] for one transaction on a pooled connection.
const LOCAL_SETTINGS: &str = "SET LOCAL jit = off; SET LOCAL enable_nestloop = off";

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
        // Unnamed statement: a step's session reset runs `DEALLOCATE ALL`
        // on pooled connections, which would orphan a cached one. The
        // planner settings last as long as this transaction.
        let mut tx = self.pool.begin().await.map_err(|e| self.error(&e))?;
        let conn: &mut PgConnection = &mut tx;
        conn.execute(LOCAL_SETTINGS)
            .await
            .map_err(|e| self.error(&e))?;
        let rows = query(&self.history(), &Units::default())
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.error(&e))?;
        tx.rollback().await.map_err(|e| self.error(&e))?;
        let (_, units) = Units::default().merge(&rows);
        Ok(units.snapshot())
    }

    fn snapshots(&self) -> Option<Box<dyn Snapshots + '_>> {
        Some(Box::new(Session {
            backend: self,
            conn: None,
            units: Units::default(),
        }))
    }

    async fn execute_script(
        &self,
        migration: &Migration,
        script: &str,
    ) -> Result<(), BackendError> {
        super::apply::script(self, migration, script).await
    }

    /// Its database is the run's own (a scratch database): every
    /// non-system schema goes, whatever `owned` names.
    ///
    /// Runs on a connection of its own, closed afterwards: on a pooled
    /// session that ran the steps, `DROP SCHEMA … CASCADE` failed now and
    /// then with "cache lookup failed for function" (crates.io's history).
    async fn reset(&self, _owned: Option<Owned<'_>>) -> Result<bool, BackendError> {
        let options = self.pool.connect_options();
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(|e| self.error(&e))?;
        let result = conn.execute(RESET_SQL).await;
        let _ = conn.close().await;
        result.map_err(|e| self.error(&e))?;
        Ok(true)
    }
}

impl PostgresBackend {
    fn history(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.config.schema),
            quote_ident(&self.config.table)
        )
    }
}

/// The snapshot query with the units of the previous snapshot.
fn query<'q>(
    history: &str,
    units: &Units,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let (ids, stamps): (Vec<i64>, Vec<String>) = units
        .units
        .iter()
        .map(|(id, unit)| (*id, unit.stamp.clone()))
        .unzip();
    sqlx::query(SNAPSHOT_SQL)
        .bind(history.to_string())
        .bind(ids)
        .bind(stamps)
        .bind(units.xmax.clone())
}

/// One unit of a snapshot: its stamp and its objects.
#[derive(Debug, Clone, Default)]
struct Unit {
    stamp: String,
    objects: Vec<SchemaObject>,
}

/// A snapshot as the query's units, and the first transaction id it could
/// not see (rows written later are read again).
#[derive(Debug, Clone, Default)]
struct Units {
    units: BTreeMap<i64, Unit>,
    xmax: Option<String>,
}

impl Units {
    /// The units of `rows`, reusing this snapshot's objects of every unit
    /// the query did not read again; `false` when one of those is unknown.
    fn merge(&self, rows: &[PgRow]) -> (bool, Units) {
        let mut read: BTreeMap<i64, Vec<SchemaObject>> = BTreeMap::new();
        let mut next = Units::default();
        let mut complete = true;
        for row in rows {
            let unit: Option<i64> = row.get(5);
            let kind: Option<String> = row.get(0);
            let Some(kind) = kind else {
                let mark: Option<String> = row.get(1);
                let stamp: String = row.get(2);
                match (mark.as_deref(), unit) {
                    (Some("xmax"), _) => next.xmax = Some(stamp),
                    (Some("read"), Some(unit)) => {
                        next.units.entry(unit).or_default().stamp = stamp;
                    }
                    (_, Some(unit)) => match self.units.get(&unit) {
                        Some(old) if old.stamp == stamp => {
                            next.units.insert(unit, old.clone());
                        }
                        _ => complete = false,
                    },
                    _ => {}
                }
                continue;
            };
            let columns: Option<String> = row.get(3);
            read.entry(unit.unwrap_or_default())
                .or_default()
                .push(SchemaObject {
                    kind,
                    name: row.get(1),
                    definition: row.get(2),
                    columns: columns
                        .map(|c| c.split(',').map(str::to_string).collect())
                        .unwrap_or_default(),
                    position: row.get(4),
                });
        }
        for (unit, objects) in read {
            if let Some(next) = next.units.get_mut(&unit) {
                next.objects = objects;
            }
        }
        (complete, next)
    }

    fn snapshot(&self) -> SchemaSnapshot {
        let objects = self
            .units
            .values()
            .flat_map(|unit| unit.objects.iter().cloned());
        SchemaSnapshot::new(objects.collect())
    }
}

/// A run's snapshots on one session of their own: the query is prepared
/// once (a generic plan, so it is not planned again each time) and no step
/// ever resets that session.
struct Session<'a> {
    backend: &'a PostgresBackend,
    conn: Option<PgConnection>,
    units: Units,
}

impl Session<'_> {
    async fn read(&mut self) -> Result<Vec<PgRow>, sqlx::Error> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let options = self.backend.pool.connect_options();
                let mut conn = PgConnection::connect_with(&options).await?;
                conn.execute(SESSION_SETTINGS).await?;
                self.conn.insert(conn)
            }
        };
        query(&self.backend.history(), &self.units)
            .fetch_all(conn)
            .await
    }
}

#[async_trait::async_trait]
impl Snapshots for Session<'_> {
    async fn snapshot(&mut self) -> Result<SchemaSnapshot, BackendError> {
        for _ in 0..2 {
            let rows = match self.read().await {
                Ok(rows) => rows,
                Err(error) => {
                    // A broken session is opened again next time.
                    self.conn = None;
                    self.units = Units::default();
                    return Err(self.backend.error(&error));
                }
            };
            let (complete, units) = self.units.merge(&rows);
            if complete {
                self.units = units;
                return Ok(self.units.snapshot());
            }
            // A unit the query took as known is not: read everything.
            self.units = Units::default();
        }
        let message = "the snapshot's units did not add up twice".to_string();
        Err(self.backend.error(&sqlx::Error::Protocol(message)))
    }

    async fn close(self: Box<Self>) {
        if let Some(conn) = self.conn {
            let _ = conn.close().await;
        }
    }
}

/// `"name"` with inner quotes doubled, as `quote_ident` would (always quoted).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
