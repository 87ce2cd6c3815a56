//! neo4j integration tests (being written).
