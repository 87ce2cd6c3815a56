//! The servers from `cargo xtask services up` answer real requests: PostgreSQL a
//! `select 1`, Neo4j a Cypher `RETURN 1` over Bolt, Weaviate its `/v1/meta` document.

use crate::common;

#[tokio::test]
async fn postgres_answers_select_1() {
    use sqlx::Connection as _;

    let url = common::database_url();
    let mut connection = sqlx::PgConnection::connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut connection)
        .await
        .expect("select 1");
    assert_eq!(one, 1);
    connection.close().await.expect("close the connection");
}

#[tokio::test]
async fn neo4j_answers_return_1_over_bolt() {
    let (uri, user, password) = common::neo4j_config();
    let graph = neo4rs::Graph::new(uri, user, password).expect("connect to NEO4J_URI");
    let mut rows = graph
        .execute(neo4rs::query("RETURN 1 AS one"))
        .await
        .expect("run RETURN 1");
    let row = rows
        .next()
        .await
        .expect("read the result")
        .expect("RETURN 1 yields a row");
    assert_eq!(row.get::<i64>("one").expect("column `one`"), 1);
}

#[tokio::test]
async fn weaviate_meta_names_its_version() {
    let url = format!("{}/v1/meta", common::weaviate_url());
    let response = reqwest::get(&url).await.expect("GET $WEAVIATE_URL/v1/meta");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let meta: serde_json::Value = response.json().await.expect("/v1/meta is JSON");
    let version = meta["version"].as_str().unwrap_or_default();
    assert!(
        version.split('.').count() == 3,
        "/v1/meta has no `version` like 1.35.2: {meta}"
    );
}
