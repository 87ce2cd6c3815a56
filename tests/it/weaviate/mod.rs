//! Weaviate backend against a real server (`WEAVIATE_URL`): edututor's
//! migrations with 1,000 objects surviving every direction, refusals before
//! any call, a failed copy leaving a dirty record and the original intact,
//! the lease lock, 8 concurrent migrators, and every typed operation.

mod failures;
mod locking;
mod operations;
mod round_trip;
mod runner;
mod scope;
