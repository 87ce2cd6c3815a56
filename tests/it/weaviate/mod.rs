//! Weaviate backend against a real server (`WEAVIATE_URL`): edututor's
//! migrations with 1,000 objects surviving every direction, refusals before
//! any call, a failed copy leaving a dirty record and the original intact,
//! the lease lock, 8 concurrent migrators, every typed operation, and an
//! interrupted `rebuild_collection` resumed by the next `upgrade`.

mod cluster;
mod failures;
mod locking;
mod operations;
mod resume;
mod round_trip;
mod runner;
mod scope;
