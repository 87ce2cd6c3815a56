//! How to connect each backend from a URL and settings: one function per
//! database, held by its [`Descriptor`](super::Descriptor). A backend whose
//! cargo feature is off answers with [`BackendError::NotCompiled`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::{Backend, BackendError, BookkeepingPrefix, PlannedCall, Step};

/// Where one database is and how to keep its bookkeeping.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// Its URL (the descriptor's `url_env`, or the flag that overrides it).
    pub url: String,
    /// The values of the descriptor's `settings_env` variables that are set.
    pub settings: BTreeMap<&'static str, String>,
    /// Project settings the backend applies.
    pub options: ConnectOptions,
}

/// Project settings a backend applies when it connects.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// PostgreSQL's history table, `schema.table` or `table` (in `public`).
    pub history_table: Option<String>,
    /// PostgreSQL's `lock_timeout` for every migration without its own.
    pub lock_timeout: Option<Duration>,
    /// PostgreSQL's `statement_timeout` for every migration without its own.
    pub statement_timeout: Option<Duration>,
    /// Keep bookkeeping apart from the real history (`cargo dbmigrate test`).
    pub for_tests: bool,
    /// The lease of Neo4j's and Weaviate's migration lock (the backends'
    /// default, 10 s, when `None`).
    pub lease: Option<Duration>,
    /// Neo4j's and Weaviate's bookkeeping names start with this instead of
    /// `Dbmigrate` (`__<prefix>Migration`, `<prefix>History`), so several
    /// histories can share one server. Checked when made: see
    /// [`BookkeepingPrefix::new`] for the rule.
    pub bookkeeping_prefix: Option<BookkeepingPrefix>,
}

/// A backend being connected.
pub type Connecting = Pin<Box<dyn Future<Output = Result<Box<dyn Backend>, BackendError>> + Send>>;

/// Connects one backend.
pub type ConnectFn = fn(Connection) -> Connecting;

/// Plans one step without a connection (`plan --offline`): the calls
/// [`Backend::plan`] would give.
pub type PlanOfflineFn = fn(&ConnectOptions, &Step<'_>) -> Result<Vec<PlannedCall>, BackendError>;

/// The calls that create a backend's history store when missing, as
/// [`Backend::ensure_history`] makes them (`plan --offline`).
pub type SetupOfflineFn = fn(&ConnectOptions) -> Result<Vec<PlannedCall>, BackendError>;

/// A backend being connected for tests (it can also run scripts outside bookkeeping).
#[cfg(feature = "testing")]
pub type ConnectingForTests =
    Pin<Box<dyn Future<Output = Result<Box<dyn super::TestBackend>, BackendError>> + Send>>;

/// Connects one backend for tests, with bookkeeping apart from the real history.
#[cfg(feature = "testing")]
pub type ConnectForTestsFn = fn(Connection) -> ConnectingForTests;

/// Boxes a typed connect future as a [`Connecting`].
#[cfg(any(feature = "postgres", feature = "neo4j", feature = "weaviate"))]
fn boxed<B: Backend + 'static>(
    future: impl Future<Output = Result<B, BackendError>> + Send + 'static,
) -> Connecting {
    Box::pin(async move { Ok(Box::new(future.await?) as Box<dyn Backend>) })
}

/// Boxes a typed connect future as a [`ConnectingForTests`], with
/// [`ConnectOptions::for_tests`] set.
#[cfg(all(
    feature = "testing",
    any(feature = "postgres", feature = "neo4j", feature = "weaviate")
))]
fn boxed_for_tests<B: super::TestBackend + 'static, F>(
    connect: impl FnOnce(Connection) -> F,
    mut connection: Connection,
) -> ConnectingForTests
where
    F: Future<Output = Result<B, BackendError>> + Send + 'static,
{
    connection.options.for_tests = true;
    let future = connect(connection);
    Box::pin(async move { Ok(Box::new(future.await?) as Box<dyn super::TestBackend>) })
}

/// How to connect one backend: what its [`Descriptor`](super::Descriptor) holds.
#[derive(Debug, Clone, Copy)]
pub struct Connector {
    /// Connects it for migrating.
    pub connect: ConnectFn,
    /// Connects it for round-trip tests.
    #[cfg(feature = "testing")]
    pub connect_for_tests: ConnectForTestsFn,
    /// Plans a step without a connection.
    pub plan_offline: PlanOfflineFn,
    /// Plans the creation of its history store without a connection.
    pub setup_offline: SetupOfflineFn,
}

#[cfg(any(
    not(feature = "postgres"),
    not(feature = "neo4j"),
    not(feature = "weaviate")
))]
fn not_compiled(backend: &'static str) -> BackendError {
    BackendError::NotCompiled {
        backend,
        feature: backend,
    }
}

macro_rules! connector {
    // A backend that plans offline from its settings alone: `$config` turns
    // the project's settings into its own, `$backend::offline_calls` and
    // `$backend::offline_setup` plan with them.
    ($name:ident, $feature:literal, $connect:ident, offline: $config:ident => $backend:ty) => {
        connector!(
            $name,
            $feature,
            $connect,
            |options, step| Ok(<$backend>::offline_calls(&$config(options), step)),
            |options| Ok(<$backend>::offline_setup(&$config(options)))
        );
    };
    ($name:ident, $feature:literal, $connect:ident, $plan:expr, $setup:expr) => {
        /// The connector of one backend.
        #[cfg(feature = $feature)]
        pub(super) const $name: Connector = Connector {
            connect: |connection| boxed($connect(connection)),
            #[cfg(feature = "testing")]
            connect_for_tests: |connection| boxed_for_tests($connect, connection),
            plan_offline: $plan,
            setup_offline: $setup,
        };
        /// The connector of one backend, which this build leaves out.
        #[cfg(not(feature = $feature))]
        pub(super) const $name: Connector = Connector {
            connect: |_| Box::pin(std::future::ready(Err(not_compiled($feature)))),
            #[cfg(feature = "testing")]
            connect_for_tests: |_| Box::pin(std::future::ready(Err(not_compiled($feature)))),
            plan_offline: |_, _| Err(not_compiled($feature)),
            setup_offline: |_| Err(not_compiled($feature)),
        };
    };
}

connector!(
    POSTGRES,
    "postgres",
    postgres,
    offline: postgres_config => super::postgres::PostgresBackend
);
connector!(
    NEO4J,
    "neo4j",
    neo4j,
    offline: neo4j_config => super::neo4j::Neo4jBackend
);
connector!(
    WEAVIATE,
    "weaviate",
    weaviate,
    weaviate_plan,
    weaviate_setup
);

/// PostgreSQL's settings from the project's: history table and timeouts.
#[cfg(feature = "postgres")]
fn postgres_config(options: &ConnectOptions) -> super::postgres::PostgresConfig {
    use super::postgres::PostgresConfig;
    let mut config = match options.history_table.as_deref() {
        Some(name) => match name.split_once('.') {
            Some((schema, table)) => PostgresConfig::for_table(schema, table),
            None => PostgresConfig::for_table("public", name),
        },
        None => PostgresConfig::default(),
    };
    config.lock_timeout = options.lock_timeout;
    config.statement_timeout = options.statement_timeout;
    config
}

/// The bookkeeping prefix Neo4j and Weaviate use instead of their default
/// `Dbmigrate`: the configured one, else `DbmigrateTest` for round-trip tests.
#[cfg(any(feature = "neo4j", feature = "weaviate"))]
fn bookkeeping_prefix(options: &ConnectOptions) -> Option<String> {
    match &options.bookkeeping_prefix {
        Some(prefix) => Some(prefix.to_string()),
        None => options.for_tests.then(|| "DbmigrateTest".to_string()),
    }
}

/// Neo4j's settings from the project's: label prefix (`__<prefix>`) and lease.
#[cfg(feature = "neo4j")]
fn neo4j_config(options: &ConnectOptions) -> super::neo4j::Neo4jConfig {
    let mut config = super::neo4j::Neo4jConfig::default();
    if let Some(prefix) = bookkeeping_prefix(options) {
        config.label_prefix = format!("__{prefix}");
    }
    config.lease = options.lease.unwrap_or(config.lease);
    config
}

/// Weaviate's settings from the project's: collection prefix and lease.
#[cfg(feature = "weaviate")]
fn weaviate_config(options: &ConnectOptions) -> super::weaviate::WeaviateConfig {
    let mut config = super::weaviate::WeaviateConfig::default();
    if let Some(prefix) = bookkeeping_prefix(options) {
        config.collection_prefix = prefix;
    }
    config.lease_ttl = options.lease.unwrap_or(config.lease_ttl);
    config
}

/// A Weaviate backend that is never sent anything: its client connects
/// only on a request, and planning makes none.
#[cfg(feature = "weaviate")]
fn weaviate_offline(
    options: &ConnectOptions,
) -> Result<super::weaviate::WeaviateBackend, BackendError> {
    let client = super::weaviate::WeaviateClient::new(
        "http://offline.invalid",
        None,
        weaviate_config(options),
    )?;
    Ok(super::weaviate::WeaviateBackend::new(client))
}

#[cfg(feature = "weaviate")]
fn weaviate_plan(
    options: &ConnectOptions,
    step: &Step<'_>,
) -> Result<Vec<PlannedCall>, BackendError> {
    weaviate_offline(options)?.plan(step)
}

#[cfg(feature = "weaviate")]
fn weaviate_setup(options: &ConnectOptions) -> Result<Vec<PlannedCall>, BackendError> {
    Ok(weaviate_offline(options)?.offline_setup())
}

/// Connects PostgreSQL with the project's history table and timeouts.
#[cfg(feature = "postgres")]
async fn postgres(
    connection: Connection,
) -> Result<super::postgres::PostgresBackend, BackendError> {
    use super::postgres::PostgresBackend;
    let config = postgres_config(&connection.options);
    let backend = PostgresBackend::connect(&connection.url).await?;
    Ok(backend.with_config(config))
}

/// Connects Neo4j: user from `NEO4J_USER` (default `neo4j`), password from
/// `NEO4J_PASSWORD`, database from `NEO4J_DATABASE` (default: the server's).
#[cfg(feature = "neo4j")]
async fn neo4j(connection: Connection) -> Result<super::neo4j::Neo4jBackend, BackendError> {
    use super::neo4j::Neo4jBackend;
    let setting = |name: &str| connection.settings.get(name).map(String::as_str);
    let backend = Neo4jBackend::connect(
        &connection.url,
        setting("NEO4J_USER").unwrap_or("neo4j"),
        setting("NEO4J_PASSWORD").unwrap_or_default(),
        setting("NEO4J_DATABASE"),
    )?;
    Ok(backend.with_config(neo4j_config(&connection.options)))
}

/// Connects Weaviate: API key from `WEAVIATE_API_KEY`.
#[cfg(feature = "weaviate")]
async fn weaviate(
    connection: Connection,
) -> Result<super::weaviate::WeaviateBackend, BackendError> {
    use super::weaviate::{WeaviateBackend, WeaviateClient};
    let config = weaviate_config(&connection.options);
    let api_key = connection.settings.get("WEAVIATE_API_KEY").cloned();
    let client = WeaviateClient::new(&connection.url, api_key, config)?;
    Ok(WeaviateBackend::new(client))
}
