//! neo4j backend. (skeleton)
