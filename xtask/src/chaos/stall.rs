//! Scenario (b): SIGSTOP an `upgrade` over Neo4j and Weaviate at a random
//! point, past its 2 s lease; a second run takes over and finishes; then
//! SIGCONT. Every effect happens exactly once; a step the stopped holder
//! left dirty is settled as an operator would, never doubled.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::project::{cli_binary, Project};
use super::report::{Options, Tally};
use super::servers::{ScratchPrefix, Servers};

/// Steps after the collection: odd ones Neo4j (one node, after some
/// work), even ones Weaviate (`PER_STEP` objects, one call each).
const STEPS: i64 = 6;
const PER_STEP: usize = 3;
const LOCK: [&str; 4] = ["--lease-seconds", "2", "--lock-wait-seconds", "30"];

fn args(command: &str) -> Vec<&str> {
    std::iter::once(command).chain(LOCK).collect()
}

/// A stalled holder must not block the next run much past its lease: the
/// next run waits at most its lock wait (30 s) for the lock, then runs the
/// rest; not done after this, it is counted blocked (a failure) and the
/// holder continued.
const STUCK: Duration = Duration::from_secs(60);

fn wait_bounded(child: &mut Child) -> anyhow::Result<Option<i32>> {
    let started = Instant::now();
    while started.elapsed() < STUCK {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status.code().unwrap_or(-1)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(None)
}

/// How many times step `k`'s effect is in place, and how many it should be.
fn effect(servers: &Servers, scratch: &ScratchPrefix, k: i64) -> anyhow::Result<(usize, usize)> {
    if k % 2 == 1 {
        let label = scratch.label("Effect");
        let n = servers.cypher_count(&format!("MATCH (n:`{label}` {{k: {k}}}) RETURN count(n)"))?;
        Ok((n as usize, 1))
    } else {
        Ok((servers.count_k(&scratch.collection("Effect"), k)?, PER_STEP))
    }
}

/// One run.
pub fn run(
    servers: &Servers,
    _: &Options,
    rng: &mut fastrand::Rng,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let scratch = ScratchPrefix::new(servers);
    let mut project = Project::new(
        &cli_binary()?,
        Project::env(servers, None, Some(&scratch.prefix)),
    )?;
    let (label, collection) = (scratch.label("Effect"), scratch.collection("Effect"));
    let create = serde_json::json!([{"op": "create_collection", "class": {"class": collection, "vectorizer": "none",
        "properties": [{"name": "k", "dataType": ["int"]}]}}]);
    let mut ids = vec![project.add("weaviate.json", "", &create.to_string(), "[]")?];
    for k in 1..=STEPS {
        let id = if k % 2 == 1 {
            let up = format!(
                "UNWIND range(1, 200000) AS x WITH count(x) AS c CREATE (:`{label}` {{k: {k}}});"
            );
            project.add(
                "cypher",
                "",
                &up,
                &format!("MATCH (n:`{label}` {{k: {k}}}) DELETE n;"),
            )?
        } else {
            let insert = serde_json::json!({"op": "raw", "method": "POST", "path": "/v1/objects",
                "body": {"class": collection, "properties": {"k": k}}});
            project.add(
                "weaviate.json",
                "",
                &serde_json::json!(vec![insert; PER_STEP]).to_string(),
                "[]",
            )?
        };
        ids.push(id);
    }
    let mut holder = project.spawn(&args("upgrade"))?;
    std::thread::sleep(Duration::from_millis(rng.u64(..2500)));
    let pid = Pid::from_raw(holder.id() as i32);
    if holder.try_wait()?.is_none() {
        kill(pid, Signal::SIGSTOP)?;
        tally.faults += 1;
        let mut successor = project.spawn(&args("upgrade"))?;
        let ended = wait_bounded(&mut successor)?;
        kill(pid, Signal::SIGCONT)?;
        let successor = successor.wait()?;
        if ended.is_none() {
            tally.blocked += 1;
            tally.notes.push(format!(
                "blocked: the next run waited over 60 s for the stopped holder, then {successor}"
            ));
        }
        let holder = holder.wait()?;
        if std::env::var_os("CHAOS_VERBOSE").is_some() {
            eprintln!(
                "chaos: stall: successor {successor}, holder {holder}, states {:?}",
                project.states()?
            );
        }
    }
    holder.wait()?;
    check_and_settle(servers, &scratch, &project, &ids, tally)
}

/// Checks every step (applied: effect exactly once; pending: none; dirty:
/// at most once), settles dirty ones, upgrades to head and checks again.
fn check_and_settle(
    servers: &Servers,
    scratch: &ScratchPrefix,
    project: &Project,
    ids: &[String],
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let states = project.states()?;
    // Step 0 creates the collection: a holder stopped inside it leaves it
    // dirty; undo (drop the collection) and forget it like the others.
    if states.get(&ids[0]).is_some_and(|s| s == "dirty") {
        let path = format!("/v1/schema/{}", scratch.collection("Effect"));
        servers.weaviate("DELETE", &path, None)?;
        let mut repair = vec!["repair", ids[0].as_str(), "--forget"];
        repair.extend(LOCK);
        let (code, stderr) = project.run(&repair)?;
        tally.boot(code, &stderr);
    }
    for (k, id) in ids.iter().enumerate().skip(1) {
        let k = k as i64;
        let (n, want) = effect(servers, scratch, k)?;
        let state = states.get(id).map(String::as_str).unwrap_or("missing");
        let ok = match state {
            "applied" => n == want,
            "pending" => n == 0,
            "dirty" => n <= want,
            _ => false,
        };
        tally.check(ok, || {
            format!("after the stall: step {k} is {state} with {n} of {want} effects")
        });
        if state == "dirty" {
            // Undo what it left, then forget it: the next upgrade runs it again.
            if k % 2 == 1 {
                servers.cypher(&format!(
                    "MATCH (n:`{}` {{k: {k}}}) DELETE n",
                    scratch.label("Effect")
                ))?;
            } else {
                let body = serde_json::json!({"match": {"class": scratch.collection("Effect"),
                    "where": {"path": ["k"], "operator": "Equal", "valueInt": k}}});
                servers.weaviate("DELETE", "/v1/batch/objects", Some(&body))?;
            }
            let mut repair = vec!["repair", id.as_str(), "--forget"];
            repair.extend(LOCK);
            let (code, stderr) = project.run(&repair)?;
            tally.boot(code, &stderr);
        }
    }
    let (code, stderr) = project.run(&args("upgrade"))?;
    tally.boot(code, &stderr);
    for k in 1..=STEPS {
        let (n, want) = effect(servers, scratch, k)?;
        tally.check(n == want, || {
            format!("after the rerun: step {k} has {n} of {want} effects")
        });
    }
    Ok(())
}
