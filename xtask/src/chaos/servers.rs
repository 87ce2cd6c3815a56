//! The shared servers as the chaos runs check them: `psql` for PostgreSQL,
//! Neo4j's HTTP API, Weaviate's REST API — and the scratch guards.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context as _};
use base64::Engine as _;
use serde_json::{json, Value};

/// Where the servers are, from the environment (`services env`).
#[derive(Debug, Clone)]
pub struct Servers {
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `NEO4J_URI`, `NEO4J_USER`, `NEO4J_PASSWORD`.
    pub neo4j: (String, String, String),
    /// `WEAVIATE_URL`.
    pub weaviate_url: String,
}

impl Servers {
    /// From `vars`, else the environment; every server must be configured.
    pub fn from_vars(vars: &[(String, String)]) -> anyhow::Result<Servers> {
        let var = |name: &str| {
            vars.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(name).ok())
                .filter(|v| !v.is_empty())
                .with_context(|| {
                    format!("{name} is not set: run `eval \"$(cargo xtask services env)\"` first")
                })
        };
        Ok(Servers {
            database_url: var("DATABASE_URL")?,
            neo4j: (
                var("NEO4J_URI")?,
                var("NEO4J_USER").unwrap_or_else(|_| "neo4j".into()),
                var("NEO4J_PASSWORD").unwrap_or_default(),
            ),
            weaviate_url: var("WEAVIATE_URL")?.trim_end_matches('/').to_owned(),
        })
    }

    /// `DATABASE_URL` with its database replaced by `name`.
    pub fn database(&self, name: &str) -> anyhow::Result<String> {
        let mut url = url::Url::parse(&self.database_url).context("DATABASE_URL")?;
        url.set_path(&format!("/{name}"));
        Ok(url.to_string())
    }

    /// Runs `sql` with `psql` on `url`; its unaligned output.
    pub fn psql(&self, url: &str, sql: &str) -> anyhow::Result<String> {
        let output = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
                url,
            ])
            .stdin(Stdio::null())
            .output()
            .context("failed to run psql")?;
        if !output.status.success() {
            bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Runs one Cypher statement over Neo4j's HTTP API; its rows.
    pub fn cypher(&self, statement: &str) -> anyhow::Result<Vec<Vec<Value>>> {
        let port = crate::services::Port::Neo4jHttp.get();
        let auth = format!("{}:{}", self.neo4j.1, self.neo4j.2);
        let auth = base64::engine::general_purpose::STANDARD.encode(auth);
        let body = json!({"statements": [{"statement": statement}]});
        let (_, answer) = http(
            "POST",
            &format!("http://127.0.0.1:{port}/db/neo4j/tx/commit"),
            Some(&body),
            Some(&auth),
        )?;
        if let Some(error) = answer["errors"].as_array().and_then(|e| e.first()) {
            bail!("cypher `{statement}`: {error}");
        }
        Ok(answer["results"][0]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| row["row"].as_array().cloned().unwrap_or_default())
            .collect())
    }

    /// One Cypher count.
    pub fn cypher_count(&self, statement: &str) -> anyhow::Result<i64> {
        let rows = self.cypher(statement)?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_i64)
            .unwrap_or(0))
    }

    /// One Weaviate REST call: status and JSON body (`null` when empty).
    pub fn weaviate(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        http(method, &format!("{}{path}", self.weaviate_url), body, None)
    }

    /// Every object of `collection`, with its vector.
    pub fn objects(&self, collection: &str) -> anyhow::Result<Vec<Value>> {
        let path = format!("/v1/objects?class={collection}&limit=10000&include=vector");
        let (status, body) = self.weaviate("GET", &path, None)?;
        if status == 404 {
            return Ok(Vec::new()); // no such collection (yet)
        }
        if status != 200 {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body["objects"].as_array().cloned().unwrap_or_default())
    }

    /// How many objects of `collection` have the int property `k` = `value`.
    pub fn count_k(&self, collection: &str, value: i64) -> anyhow::Result<usize> {
        Ok(self
            .objects(collection)?
            .iter()
            .filter(|o| o["properties"]["k"].as_i64() == Some(value))
            .count())
    }
}

fn http(
    method: &str,
    url: &str,
    body: Option<&Value>,
    basic: Option<&str>,
) -> anyhow::Result<(u16, Value)> {
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .new_agent();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json");
    if let Some(basic) = basic {
        request = request.header("Authorization", format!("Basic {basic}"));
    }
    let text = body.map(Value::to_string).unwrap_or_default();
    let mut response = agent
        .run(request.body(text)?)
        .with_context(|| format!("{method} {url}"))?;
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok((response.status().as_u16(), value))
}

static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// A fresh name `<stem><pid>x<n>` for one run's scratch things.
pub fn scratch_name(stem: &str) -> String {
    let n = SCRATCH.fetch_add(1, Ordering::SeqCst);
    format!("{stem}{}x{n}", std::process::id())
}

/// A scratch PostgreSQL database, dropped (`FORCE`) with the guard.
pub struct ScratchDatabase<'a> {
    servers: &'a Servers,
    name: String,
    /// Its URL.
    pub url: String,
}

impl<'a> ScratchDatabase<'a> {
    /// Creates it.
    pub fn new(servers: &'a Servers) -> anyhow::Result<ScratchDatabase<'a>> {
        let name = scratch_name("dbm_chaos_");
        servers.psql(
            &servers.database_url,
            &format!("CREATE DATABASE \"{name}\""),
        )?;
        let url = servers.database(&name)?;
        Ok(ScratchDatabase { servers, name, url })
    }
}

impl Drop for ScratchDatabase<'_> {
    fn drop(&mut self) {
        let forced = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let plain = format!("DROP DATABASE IF EXISTS \"{}\"", self.name);
        // FORCE cannot end an autovacuum worker for a role that is not a
        // superuser; a plain DROP asks autovacuum to leave and waits for it
        // (a session arriving in between fails it, the next FORCE ends that).
        let url = &self.servers.database_url;
        let mut result = self.servers.psql(url, &forced);
        for sql in [&plain, &forced, &plain] {
            if result.is_ok() {
                return;
            }
            result = self.servers.psql(url, sql);
        }
        if let Err(error) = result {
            eprintln!("chaos: warning: could not drop {}: {error:#}", self.name);
        }
    }
}

/// A scratch prefix for Neo4j labels and Weaviate collections (the CLI's
/// `DBMIGRATE_BOOKKEEPING_PREFIX` and the data's names): everything named
/// with it is deleted with the guard.
pub struct ScratchPrefix<'a> {
    servers: &'a Servers,
    /// `Chaos<pid>x<n>`.
    pub prefix: String,
}

impl<'a> ScratchPrefix<'a> {
    /// A fresh prefix.
    pub fn new(servers: &'a Servers) -> ScratchPrefix<'a> {
        ScratchPrefix {
            servers,
            prefix: scratch_name("Chaos"),
        }
    }

    /// The Neo4j label of `name` (bookkeeping labels are `__<prefix>…`).
    pub fn label(&self, name: &str) -> String {
        format!("__{}{name}", self.prefix)
    }

    /// The Weaviate collection of `name`.
    pub fn collection(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn clean(&self) -> anyhow::Result<()> {
        let label = format!("__{}", self.prefix);
        self.servers.cypher(&format!(
            "MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH '{label}') DETACH DELETE n"
        ))?;
        for row in self.servers.cypher(&format!(
            "SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH '{label}' RETURN name"
        ))? {
            if let Some(name) = row.first().and_then(Value::as_str) {
                self.servers
                    .cypher(&format!("DROP CONSTRAINT `{name}` IF EXISTS"))?;
            }
        }
        let (_, schema) = self.servers.weaviate("GET", "/v1/schema", None)?;
        for class in schema["classes"].as_array().into_iter().flatten() {
            let name = class["class"].as_str().unwrap_or_default();
            if name.starts_with(&self.prefix) {
                self.servers
                    .weaviate("DELETE", &format!("/v1/schema/{name}"), None)?;
            }
        }
        Ok(())
    }
}

impl Drop for ScratchPrefix<'_> {
    fn drop(&mut self) {
        if let Err(error) = self.clean() {
            eprintln!(
                "chaos: warning: could not clean up {}: {error:#}",
                self.prefix
            );
        }
    }
}
