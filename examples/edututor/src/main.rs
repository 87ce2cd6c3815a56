//! edututor: a small tutoring service that migrates its PostgreSQL, Neo4j and
//! Weaviate databases from the migrations embedded in its binary when it
//! starts, then uses the new schema: a guardian's consent, a learning profile
//! and the new `preferred_language` column in PostgreSQL, a prerequisite link
//! between two concepts in Neo4j, and a text chunk with a difficulty score
//! found again by vector search in Weaviate. Every run is idempotent.
//!
//! Configuration: `DATABASE_URL`, `NEO4J_URI`, `NEO4J_USER`, `NEO4J_PASSWORD`,
//! `WEAVIATE_URL` (optional `WEAVIATE_API_KEY`); logs go to stderr
//! (`RUST_LOG`), the migration report and a summary to stdout.

mod app;

fn main() -> std::process::ExitCode {
    app::main()
}
