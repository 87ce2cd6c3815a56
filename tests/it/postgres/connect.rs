//! Connection failures name their cause instead of a pool timeout.

use super::*;

/// A port of this lane's range where nothing listens.
const CLOSED: &str = "127.0.0.1:1";

async fn connect_error(url: &str) -> String {
    match PostgresBackend::connect(url).await {
        Ok(_) => panic!("connecting to {url} succeeded"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn a_refused_port_is_reported_as_refused() {
    let message = connect_error(&format!("postgres://app:s3cret@{CLOSED}/db")).await;
    assert!(
        message.contains(&format!("connection refused at {CLOSED}")),
        "{message}"
    );
    assert!(!message.contains("timed out"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn a_wrong_scheme_is_reported_as_such() {
    let message = connect_error(&format!("mysql://app:s3cret@{CLOSED}/db")).await;
    assert!(
        message.contains("unsupported scheme `mysql://`"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn a_refused_login_is_reported_at_once() {
    let url = common::database_url();
    let password =
        dbmigrate_core::backend::url_password(&url).expect("DATABASE_URL has a password");
    let wrong = url.replacen(&format!(":{password}@"), ":not-the-password@", 1);
    let message = connect_error(&wrong).await;
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "{message}");
}
