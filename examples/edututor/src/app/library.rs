//! The Weaviate side: one `TextChunk` with a `difficulty_score` and a vector,
//! written under a fixed id (so re-runs overwrite it) and found again with a
//! `nearVector` query.

use anyhow::{bail, Context as _};
use dbmigrate_core::backend::weaviate::{Call, WeaviateClient};
use serde_json::{json, Value};

const CHUNK_ID: &str = "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9fa0b1c2";
const VECTOR: [f32; 4] = [0.12, 0.88, 0.31, 0.05];

/// Stores the demo chunk and finds it by vector search.
pub async fn store_and_find_demo_chunk(client: &WeaviateClient) -> anyhow::Result<String> {
    let batch = json!({ "objects": [{
        "class": "TextChunk",
        "id": CHUNK_ID,
        "properties": {
            "text": "A fraction names a part of a whole: 3/4 is three of four equal parts.",
            "source": "edututor demo",
            "subject": "math",
            "grade": 5,
            "difficulty_score": 0.35
        },
        "vector": VECTOR
    }]});
    let answer = client
        .expect(&Call::new("POST", "/v1/batch/objects", Some(batch)))
        .await
        .context("cannot store the demo text chunk")?;
    if let Some(errors) = answer
        .pointer("/0/result/errors")
        .filter(|errors| !errors.is_null())
    {
        bail!("Weaviate refused the demo text chunk: {errors}");
    }
    let query = format!(
        "{{ Get {{ TextChunk(nearVector: {{vector: {}}}, limit: 1) \
         {{ text difficulty_score _additional {{ id distance }} }} }} }}",
        serde_json::to_string(&VECTOR)?
    );
    let found = client
        .expect(&Call::new(
            "POST",
            "/v1/graphql",
            Some(json!({ "query": query })),
        ))
        .await
        .context("cannot run the nearVector query")?;
    if let Some(errors) = found.get("errors") {
        bail!("the nearVector query failed: {errors}");
    }
    describe(&found)
}

fn describe(found: &Value) -> anyhow::Result<String> {
    let Some(hit) = found.pointer("/data/Get/TextChunk/0") else {
        bail!("the nearVector query found no TextChunk");
    };
    let id = hit
        .pointer("/_additional/id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if id != CHUNK_ID {
        bail!("the nearest TextChunk is {id}, expected the demo chunk {CHUNK_ID}");
    }
    let score = hit["difficulty_score"]
        .as_f64()
        .context("the chunk has no difficulty_score")?;
    let distance = hit
        .pointer("/_additional/distance")
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN);
    Ok(format!(
        "TextChunk {id} found by nearVector (distance {distance:.3}), difficulty_score {score}"
    ))
}
