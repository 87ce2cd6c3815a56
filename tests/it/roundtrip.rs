//! roundtrip integration tests (being written).
