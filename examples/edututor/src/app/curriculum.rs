//! The Neo4j side: two concepts under the `Concept` name constraint and the
//! `PREREQUISITE` link between them, both with MERGE so re-runs add nothing.

use anyhow::Context as _;

/// Creates (once) "fractions" as a prerequisite of "decimals" and reads the link back.
pub async fn link_demo_concepts(graph: &neo4rs::Graph) -> anyhow::Result<String> {
    let merge = neo4rs::query(
        "MERGE (a:Concept {name: $first}) \
           ON CREATE SET a.subject = 'math', a.grade = 5, a.difficulty = 2 \
         MERGE (b:Concept {name: $second}) \
           ON CREATE SET b.subject = 'math', b.grade = 5, b.difficulty = 3 \
         MERGE (a)-[:PREREQUISITE]->(b)",
    )
    .param("first", "fractions")
    .param("second", "decimals");
    graph
        .run(merge)
        .await
        .context("cannot merge the demo concepts")?;

    let read = neo4rs::query(
        "MATCH (a:Concept {name: $first})-[r:PREREQUISITE]->(b:Concept {name: $second}) \
         RETURN count(r) AS links",
    )
    .param("first", "fractions")
    .param("second", "decimals");
    let mut rows = graph
        .execute(read)
        .await
        .context("cannot read the demo concepts")?;
    let row = rows.next().await?.context("no row for the demo concepts")?;
    let links: i64 = row.get("links")?;
    anyhow::ensure!(links == 1, "expected one PREREQUISITE link, found {links}");
    let show = neo4rs::query(
        "SHOW CONSTRAINTS YIELD name WHERE name = 'concept_name_unique' RETURN count(*) AS n",
    );
    let mut rows = graph
        .execute(show)
        .await
        .context("cannot list constraints")?;
    let constraints: i64 = match rows.next().await? {
        Some(row) => row.get("n")?,
        None => 0,
    };
    anyhow::ensure!(
        constraints == 1,
        "the Concept name constraint is missing (migration 20241202_0900_d4e5f6)"
    );
    Ok("concept fractions -[:PREREQUISITE]-> decimals (1 link, MERGE keeps it unique)".to_string())
}
