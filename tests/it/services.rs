//! services integration tests (being written).
