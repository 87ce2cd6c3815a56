//! postgres integration tests (being written).
