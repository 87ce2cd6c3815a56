//! Scratch PostgreSQL databases: each round trip starts from an empty
//! database created from `template0` and dropped afterwards.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use super::error::RoundTripError;

/// An empty database created for one test; [`FreshDatabase::drop_database`]
/// removes it.
#[derive(Debug)]
pub struct FreshDatabase {
    /// The database's name.
    pub name: String,
    /// A URL of the new database (same server and credentials as the admin URL).
    pub url: String,
    /// A small pool on the new database.
    pub pool: PgPool,
    admin_url: String,
}

impl FreshDatabase {
    /// Creates `<prefix>_<unique>` on the server of `admin_url` (a URL whose
    /// user may `CREATE DATABASE`) from `template0`, and connects to it.
    pub async fn create(admin_url: &str, prefix: &str) -> Result<FreshDatabase, RoundTripError> {
        let name = unique_name(prefix);
        let mut admin = admin_connection(admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0"))
            .execute(&mut admin)
            .await
            .map_err(|error| {
                database_error(admin_url, format!("cannot create database {name}: {error}"))
            })?;
        let _ = admin.close().await;
        let options = PgConnectOptions::from_str(admin_url)
            .map_err(|error| database_error(admin_url, error.to_string()))?
            .database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|error| {
                database_error(admin_url, format!("cannot connect to {name}: {error}"))
            })?;
        let url = with_database(admin_url, &name);
        Ok(FreshDatabase {
            name,
            url,
            pool,
            admin_url: admin_url.to_string(),
        })
    }

    /// Closes the pool and drops the database (terminating leftover sessions).
    pub async fn drop_database(self) -> Result<(), RoundTripError> {
        let mut admin = admin_connection(&self.admin_url).await?;
        // A run cancelled mid-move abandoned a pooled session whose statement
        // still runs on the server; closing the pool would wait for it.
        // Ending the database's sessions first (each is this role's) lets
        // the close finish at once.
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .execute(&mut admin)
        .await;
        self.pool.close().await;
        drop_database(&mut admin, &self.name)
            .await
            .map_err(|error| {
                database_error(
                    &self.admin_url,
                    format!("cannot drop database {}: {error}", self.name),
                )
            })?;
        let _ = admin.close().await;
        Ok(())
    }
}

/// Drops database `name` (if it exists) on the server `admin` is connected
/// to, ending the sessions left in it; `admin` must not be connected to
/// `name` itself.
///
/// `DROP DATABASE … WITH (FORCE)` ends other sessions, but PostgreSQL refuses
/// it to a role that is not a superuser while an autovacuum worker is inside
/// the database (SQLSTATE 42501: the worker belongs to no role the caller is
/// a member of). A plain `DROP DATABASE` asks autovacuum workers to leave
/// and waits for them, so it is the answer to that refusal; a session that
/// connected in between makes it fail with 55006, and the next forced round
/// ends that session. After three rounds the last error is returned.
pub async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let forced = format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)");
    let plain = format!("DROP DATABASE IF EXISTS {quoted}");
    let mut round = 0;
    loop {
        round += 1;
        match sqlx::raw_sql(&forced).execute(&mut *admin).await {
            Err(error) if has_code(&error, "42501") => {}
            done => return done.map(drop),
        }
        match sqlx::raw_sql(&plain).execute(&mut *admin).await {
            Err(error) if has_code(&error, "55006") && round < 3 => {}
            done => return done.map(drop),
        }
    }
}

fn has_code(error: &sqlx::Error, code: &str) -> bool {
    error
        .as_database_error()
        .and_then(|database| database.code())
        .is_some_and(|found| found == code)
}

/// Drops database `name` on the server of `admin_url` (as
/// [`drop_database`] does) on a thread and runtime of its own, for a guard's
/// `Drop`: the caller may be inside a runtime, or unwinding from a panic.
pub fn drop_database_from_guard(admin_url: &str, name: &str) -> Result<(), RoundTripError> {
    let (admin_url, name) = (admin_url.to_string(), name.to_string());
    let failed = |message: String| database_error(&admin_url, message);
    let done = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| failed(format!("cannot start a runtime: {error}")))?;
                runtime.block_on(async {
                    let mut admin = admin_connection(&admin_url).await?;
                    let done = drop_database(&mut admin, &name).await;
                    let _ = admin.close().await;
                    done.map_err(|error| failed(format!("cannot drop database {name}: {error}")))
                })
            })
            .join()
    });
    done.unwrap_or_else(|_| Err(failed("the thread dropping it panicked".to_string())))
}

async fn admin_connection(admin_url: &str) -> Result<PgConnection, RoundTripError> {
    PgConnection::connect(admin_url)
        .await
        .map_err(|error| database_error(admin_url, format!("cannot connect: {error}")))
}

fn database_error(url: &str, message: String) -> RoundTripError {
    RoundTripError::Database {
        location: redact_password(url),
        message,
    }
}

/// `prefix_<pid>_<counter>_<nanos>`, lowercase, at most 63 bytes.
fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let prefix: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    format!("{prefix}_{}_{counter}_{nanos:x}", std::process::id())
}

/// `url` with its database path replaced by `database` (query kept).
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i);
    let server = path_start.map(|i| &base[..i]).unwrap_or(base);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// `url` with any password replaced by `***`, for messages.
pub(crate) fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.find('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_and_query_kept() {
        assert_eq!(
            with_database("postgres://u:p@h:1/db?sslmode=disable", "x"),
            "postgres://u:p@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }

    #[test]
    fn password_is_redacted() {
        assert_eq!(
            redact_password("postgres://u:secret@h:1/db"),
            "postgres://u:***@h:1/db"
        );
        assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
    }
}
