//! The connection: a `neo4rs::Graph` bound to one database, with errors
//! turned into [`BackendError`]s that name the location.

use neo4rs::{Graph, Query, Row, Txn};

use crate::backend::BackendError;

/// A graph, the database to use, and where it is for messages.
#[derive(Clone)]
pub(super) struct Db {
    pub graph: Graph,
    pub database: Option<String>,
    pub location: String,
}

impl Db {
    /// Runs one query in its own auto-commit transaction.
    pub async fn run(&self, query: Query) -> Result<(), neo4rs::Error> {
        match &self.database {
            Some(database) => self.graph.run_on(database.as_str(), query).await.map(drop),
            None => self.graph.run(query).await.map(drop),
        }
    }

    /// Runs one query in its own auto-commit transaction and collects its rows.
    pub async fn rows(&self, query: Query) -> Result<Vec<Row>, neo4rs::Error> {
        let mut stream = match &self.database {
            Some(database) => self.graph.execute_on(database.as_str(), query).await?,
            None => self.graph.execute(query).await?,
        };
        let mut rows = Vec::new();
        while let Some(row) = stream.next().await? {
            rows.push(row);
        }
        Ok(rows)
    }

    /// Starts an explicit transaction.
    pub async fn begin(&self) -> Result<Txn, neo4rs::Error> {
        match &self.database {
            Some(database) => self.graph.start_txn_on(database.as_str()).await,
            None => self.graph.start_txn().await,
        }
    }

    /// A connection-level error naming the location.
    pub fn error(&self, error: impl std::fmt::Display) -> BackendError {
        BackendError::Connection {
            location: self.location.clone(),
            message: error.to_string(),
        }
    }

    /// A history store holding something unexpected.
    pub fn corrupt(&self, message: impl Into<String>) -> BackendError {
        BackendError::CorruptHistory {
            location: self.location.clone(),
            message: message.into(),
        }
    }
}

/// The server's message for a failed statement: its code and text.
pub(super) fn server_message(error: &neo4rs::Error) -> String {
    match error {
        neo4rs::Error::Neo4j(e) => format!("{}: {}", e.code(), e.message()),
        other => other.to_string(),
    }
}
