//! The runner. (skeleton)

/// Applies and reverts migrations across backends.
pub struct Migrator;

/// What a run did.
#[derive(Debug, Default)]
pub struct Report;
