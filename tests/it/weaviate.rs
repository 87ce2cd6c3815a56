//! weaviate integration tests (being written).
