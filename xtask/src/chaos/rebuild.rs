//! Scenario (d): SIGKILL `upgrade` during a Weaviate `rebuild_collection`
//! over a filled collection, then upgrade again: it resumes, and every
//! object keeps its id, properties and vector.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::project::{cli_binary, Project};
use super::report::{Options, Tally};
use super::servers::{ScratchPrefix, Servers};

fn id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

fn vector(i: usize) -> Vec<f64> {
    vec![i as f64, 1.0, 0.5]
}

/// The collection `Doc` with `n` objects (`title`, `junk`, a vector).
fn fill(servers: &Servers, collection: &str, n: usize) -> anyhow::Result<()> {
    let class = json!({"class": collection, "vectorizer": "none", "properties": [
        {"name": "title", "dataType": ["text"]}, {"name": "junk", "dataType": ["text"]}]});
    servers.weaviate("POST", "/v1/schema", Some(&class))?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let objects: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                json!({"class": collection, "id": id(i), "vector": vector(i),
                "properties": {"title": format!("doc {i}"), "junk": "x"}})
            })
            .collect();
        let (status, body) = servers.weaviate(
            "POST",
            "/v1/batch/objects",
            Some(&json!({"objects": objects})),
        )?;
        anyhow::ensure!(status == 200, "batch insert: {status} {body}");
    }
    Ok(())
}

/// Objects missing or changed (title, vector), and whether `junk` is gone.
fn lost(servers: &Servers, collection: &str, n: usize) -> anyhow::Result<(u32, bool)> {
    let objects: HashMap<String, Value> = servers
        .objects(collection)?
        .into_iter()
        .map(|o| (o["id"].as_str().unwrap_or_default().to_owned(), o))
        .collect();
    let mut lost = 0;
    let mut junk = false;
    for i in 0..n {
        let intact = objects.get(&id(i)).is_some_and(|o| {
            junk |= o["properties"].get("junk").is_some();
            o["properties"]["title"] == format!("doc {i}")
                && o["vector"]
                    .as_array()
                    .map(|v| v.iter().filter_map(Value::as_f64).collect::<Vec<_>>())
                    == Some(vector(i))
        });
        lost += u32::from(!intact);
    }
    Ok((lost, junk))
}

/// One run.
pub fn run(
    servers: &Servers,
    options: &Options,
    rng: &mut fastrand::Rng,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let scratch = ScratchPrefix::new(servers);
    let collection = scratch.collection("Doc");
    fill(servers, &collection, options.objects)?;
    let mut project = Project::new(
        &cli_binary()?,
        Project::env(servers, None, Some(&scratch.prefix)),
    )?;
    let up = json!([{"op": "rebuild_collection", "collection": collection, "drop_properties": ["junk"], "batch_size": 50}]);
    project.add("weaviate.json", "", &up.to_string(), "[]")?;
    let lock = ["--lease-seconds", "2", "--lock-wait-seconds", "120"];
    let mut child = project.spawn(&[&["upgrade"][..], &lock].concat())?;
    // A rebuild copies every object out and back: about 5 ms each here.
    let budget = 5 * options.objects as u64 + 300;
    std::thread::sleep(Duration::from_millis(rng.u64(100..budget)));
    if child.try_wait()?.is_none() {
        child.kill()?;
        tally.faults += 1;
    }
    child.wait()?;
    let (code, stderr) = project.run(&[&["upgrade"][..], &lock].concat())?;
    tally.boot(code, &stderr);
    let (missing, junk) = lost(servers, &collection, options.objects)?;
    tally.lost_objects += missing;
    tally.check(!junk, || "the rebuilt collection still has `junk`".into());
    let states = project.states()?;
    tally.check(states.values().all(|s| s == "applied"), || {
        format!("after the rerun: {states:?}")
    });
    Ok(())
}
