//! Where the test servers are: read from the environment, never guessed.

/// The value of a required environment variable, or a failure that says how
/// to start the servers.
pub fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: this test needs a real server. Run `cargo xtask services up` \
             and `eval \"$(cargo xtask services env)\"`, or run the whole suite with `.ci/run`"
        ),
    }
}

/// `DATABASE_URL` of the test PostgreSQL server.
#[allow(dead_code)]
pub fn database_url() -> String {
    required_env("DATABASE_URL")
}

/// `NEO4J_URI`, `NEO4J_USER`, `NEO4J_PASSWORD` of the test Neo4j server.
#[allow(dead_code)]
pub fn neo4j_config() -> (String, String, String) {
    (
        required_env("NEO4J_URI"),
        std::env::var("NEO4J_USER").unwrap_or_else(|_| "neo4j".into()),
        std::env::var("NEO4J_PASSWORD").unwrap_or_default(),
    )
}

/// `WEAVIATE_URL` of the test Weaviate server.
#[allow(dead_code)]
pub fn weaviate_url() -> String {
    required_env("WEAVIATE_URL")
}

/// A short unique suffix for databases, label prefixes and collections.
#[allow(dead_code)]
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{}_{:x}", std::process::id(), n, nanos)
}
