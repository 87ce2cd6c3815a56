//! weaviate backend. (skeleton)
