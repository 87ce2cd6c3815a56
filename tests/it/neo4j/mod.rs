//! Neo4j backend against the real server from `NEO4J_URI`: up/down/up, eight
//! concurrent migrators, a failing statement and its repair, lock takeover
//! and renewal, and the edututor `.cypher` migrations, through the
//! `Backend` trait and through `Migrator` (with PostgreSQL).
//!
//! Neo4j Community has one user database, so every test uses its own
//! bookkeeping label prefix and its own data labels, and removes them at the
//! end. The edututor files run with `Concept` renamed per run: the real names
//! belong to the round-trip test.

mod backend;
mod edututor;
mod frozen;
mod lock;
mod migrator;
mod support;
