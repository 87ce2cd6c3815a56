//! Scenario (c): many `upgrade` processes boot at once over PostgreSQL,
//! Neo4j and Weaviate; all must exit 0, with one record and one effect per
//! migration.

use super::project::{cli_binary, Project};
use super::report::{Options, Tally};
use super::servers::{ScratchDatabase, ScratchPrefix, Servers};

/// Rounds of one PostgreSQL, one Neo4j and one Weaviate migration.
const ROUNDS: i64 = 3;

/// One run: all boots at once, then the checks.
pub fn run(
    servers: &Servers,
    options: &Options,
    _: &mut fastrand::Rng,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let database = ScratchDatabase::new(servers)?;
    let scratch = ScratchPrefix::new(servers);
    let env = Project::env(servers, Some(&database.url), Some(&scratch.prefix));
    let mut project = Project::new(&cli_binary()?, env)?;
    let (label, collection) = (scratch.label("Effect"), scratch.collection("Effect"));
    for k in 0..ROUNDS {
        let table = if k == 0 {
            "CREATE TABLE effects (k int NOT NULL);\n"
        } else {
            ""
        };
        project.add(
            "sql",
            "",
            &format!("{table}INSERT INTO effects VALUES ({k});"),
            "SELECT 1;",
        )?;
        project.add(
            "cypher",
            "",
            &format!("CREATE (:`{label}` {{k: {k}}});"),
            &format!("MATCH (n:`{label}` {{k: {k}}}) DELETE n;"),
        )?;
        let mut up = Vec::new();
        if k == 0 {
            up.push(serde_json::json!({"op": "create_collection", "class": {"class": collection, "vectorizer": "none",
                "properties": [{"name": "k", "dataType": ["int"]}]}}));
        }
        up.push(
            serde_json::json!({"op": "raw", "method": "POST", "path": "/v1/objects",
            "body": {"class": collection, "properties": {"k": k}}}),
        );
        project.add(
            "weaviate.json",
            "",
            &serde_json::Value::from(up).to_string(),
            "[]",
        )?;
    }
    let children: Vec<_> = (0..options.boots)
        .map(|_| project.spawn(&["upgrade", "--lock-wait-seconds", "120"]))
        .collect::<Result<_, _>>()?;
    for mut child in children {
        let status = child.wait()?;
        tally.boot(status.code().unwrap_or(-1), "a simultaneous boot failed");
    }
    let states = project.states()?;
    let applied = states.values().filter(|s| *s == "applied").count();
    tally.check(applied == 3 * ROUNDS as usize, || {
        format!("{applied} of {} applied: {states:?}", 3 * ROUNDS)
    });
    let records = [
        servers
            .psql(&database.url, "SELECT count(*) FROM dbmigrate_history")?
            .parse::<i64>()?,
        servers.cypher_count(&format!(
            "MATCH (m:`{}`) RETURN count(m)",
            scratch.label("Migration")
        ))?,
        servers.objects(&scratch.collection("History"))?.len() as i64,
    ];
    tally.check(records == [ROUNDS; 3], || {
        format!("history records per backend: {records:?}")
    });
    for k in 0..ROUNDS {
        let effects = [
            servers
                .psql(
                    &database.url,
                    &format!("SELECT count(*) FROM effects WHERE k = {k}"),
                )?
                .parse::<i64>()?,
            servers.cypher_count(&format!("MATCH (n:`{label}` {{k: {k}}}) RETURN count(n)"))?,
            servers.count_k(&collection, k)? as i64,
        ];
        tally.check(effects == [1; 3], || {
            format!("round {k}: effects per backend {effects:?}")
        });
    }
    Ok(())
}
