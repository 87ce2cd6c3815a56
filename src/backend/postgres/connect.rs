//! Opening the pool: the real cause of a failure at once (connection
//! refused at host:port, an unsupported scheme, a refused login) instead of
//! sqlx's pool timing out after retrying for its whole acquire timeout.
//! Only what can recover by itself is retried, briefly: a server that is
//! starting up or shutting down (SQLSTATE 57P03) or out of connection slots
//! (53300), up to [`ATTEMPTS`] times over about three seconds.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::backend::BackendError;

/// Connection attempts when the server says it cannot accept one yet.
const ATTEMPTS: u32 = 6;

/// A small lazy pool on `url`, after one direct connection proved the server
/// takes our login. `location` is the URL without its password.
pub(super) async fn open_pool(url: &str, location: &str) -> Result<PgPool, BackendError> {
    let failure = |message: String| BackendError::Connection {
        location: location.to_string(),
        message,
    };
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("postgres" | "postgresql")) {
        return Err(failure(match scheme {
            Some(scheme) => format!(
                "unsupported scheme `{scheme}://`: a PostgreSQL URL starts with postgres:// or postgresql://"
            ),
            None => "not a URL: expected postgres://user@host:port/database".to_string(),
        }));
    }
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| failure(crate::backend::redact_urls_in(&e.to_string())))?;
    let probe = first_connection(&options)
        .await
        .map_err(|e| failure(crate::backend::redact_urls_in(&describe(&e, &options))))?;
    let _ = probe.close().await;
    Ok(PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options))
}

async fn first_connection(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    let mut attempt = 1;
    loop {
        match PgConnection::connect_with(options).await {
            Err(error) if attempt < ATTEMPTS && recoverable(&error) => {
                tracing::warn!(%error, attempt, "PostgreSQL cannot take a connection yet; retrying");
                tokio::time::sleep(Duration::from_millis(100 << attempt.min(4))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Starting up or shutting down, or out of connection slots.
fn recoverable(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "57P03" || code == "53300")
}

/// What went wrong, in the user's terms.
fn describe(error: &sqlx::Error, options: &PgConnectOptions) -> String {
    let at = format!("{}:{}", options.get_host(), options.get_port());
    match error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused at {at}: is PostgreSQL running and listening there?")
        }
        sqlx::Error::Io(io) => format!("cannot reach {at}: {io}"),
        sqlx::Error::Tls(tls) => format!("TLS with {at} failed: {tls}"),
        other => other.to_string(),
    }
}
