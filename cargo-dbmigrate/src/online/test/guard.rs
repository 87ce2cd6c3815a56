//! Never on someone's real servers by accident: `test` runs down steps on
//! the Neo4j and Weaviate servers it is given, so it refuses a server that
//! already holds dbmigrate history or any object the migrations create or
//! change, unless `--on-shared-server <url>` names that server.

use anyhow::Context as _;
use dbmigrate_core::backend::redact_url;
use dbmigrate_core::testing::TestBackend;
use dbmigrate_core::{BackendKind, History};

use super::super::connect::{self, Settings};
use super::claims::Claims;
use crate::config::Project;
use crate::exit::UsageError;

/// Scheme family, host and port of a URL (credentials, path and query left
/// out; a missing port is the scheme's default), or `None` when it is no URL.
fn server(url: &str) -> Option<(String, String, u16)> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let scheme = parsed.scheme().to_ascii_lowercase();
    let (family, default) = if scheme.starts_with("bolt") || scheme.starts_with("neo4j") {
        ("bolt", 7687)
    } else if scheme == "https" {
        ("http", 443)
    } else {
        ("http", 80)
    };
    Some((family.into(), host, parsed.port().unwrap_or(default)))
}

/// True when one of the `--on-shared-server` URLs names the server of `url`.
pub fn allowed(url: &str, on_shared_server: &[String]) -> bool {
    server(url).is_some_and(|wanted| {
        on_shared_server
            .iter()
            .any(|given| server(given).as_ref() == Some(&wanted))
    })
}

/// Refuses every Neo4j or Weaviate server the migrations would run on that
/// holds dbmigrate history (the application's own, read as `status` reads
/// it) or objects the migrations create or change, unless named as shared.
/// Messages show the server's redacted location only.
pub async fn refuse_occupied(
    project: &Project,
    history: &History,
    settings: &Settings,
    others: &[Box<dyn TestBackend>],
    on_shared_server: &[String],
) -> anyhow::Result<()> {
    let used = |kind| history.migrations().iter().any(|m| m.backend == kind);
    refuse_unknown_raw(history, others)?;
    let checked: Vec<&dyn TestBackend> = others
        .iter()
        .map(|b| b.as_ref())
        .filter(|b| used(b.kind()))
        .filter(|b| {
            !settings
                .url(b.kind())
                .is_some_and(|url| allowed(url, on_shared_server))
        })
        .collect();
    if checked.is_empty() {
        return Ok(());
    }
    let status = connect::migrator(history.clone(), settings, project)
        .await?
        .status()
        .await?;
    for backend in checked {
        let records = status
            .backends
            .iter()
            .filter(|b| b.backend == backend.kind())
            .map(|b| b.n_applied + b.ahead.len() + b.dirty.len())
            .sum::<usize>();
        let claims = Claims::of(history.migrations(), backend.kind());
        let snapshot = backend.snapshot().await?;
        let mut found: Vec<String> = snapshot
            .objects()
            .iter()
            .filter(|object| claims.covers(object))
            .map(|object| format!("{} {}", object.kind, object.name))
            .collect();
        if backend.kind() == BackendKind::Neo4j {
            // Data on a claimed label has no index or constraint to show it.
            found.extend(neo4j_data(settings, claims.labels()).await?);
        }
        if records > 0 || !found.is_empty() {
            return Err(UsageError(occupied_message(backend, records, &found)).into());
        }
    }
    Ok(())
}

/// Refuses Weaviate `raw` operations that change something their path and
/// body do not name: `test` could not tell whether they touch someone
/// else's collections, so neither the guard nor the scoped snapshots could
/// cover them. Decided before anything runs, on any server.
fn refuse_unknown_raw(history: &History, others: &[Box<dyn TestBackend>]) -> anyhow::Result<()> {
    let Some(backend) = others.iter().find(|b| b.kind() == BackendKind::Weaviate) else {
        return Ok(());
    };
    let claims = Claims::of(history.migrations(), BackendKind::Weaviate);
    let Some(first) = claims.unknown().first() else {
        return Ok(());
    };
    Err(UsageError(format!(
        "{first}: a raw operation that changes what its path does not name: `test` cannot tell what it would change on the weaviate server {}\n  help: name the collection in the path (`/v1/schema/<Collection>…`, `/v1/objects/<Collection>/<id>`, `/v1/aliases/<alias>`) or in the body's `class`, or use a typed operation",
        backend.location()
    ))
    .into())
}

/// `nodes labelled X` / `relationships of type X` for each claimed label or
/// relationship type that holds data on the configured Neo4j server (one
/// `LIMIT 1` query each, the name escaped with backticks).
async fn neo4j_data<'a>(
    settings: &Settings,
    labels: impl Iterator<Item = &'a str>,
) -> anyhow::Result<Vec<String>> {
    let Some((graph, failed)) = neo4j_graph(settings)? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for label in labels {
        let quoted = format!("`{}`", label.replace('`', "``"));
        let probes = [
            (
                format!("MATCH (n:{quoted}) RETURN 1 AS x LIMIT 1"),
                "nodes labelled",
            ),
            (
                format!("MATCH ()-[r:{quoted}]->() RETURN 1 AS x LIMIT 1"),
                "relationships of type",
            ),
        ];
        for (query, what) in probes {
            let mut rows = graph
                .execute(neo4rs::query(&query))
                .await
                .with_context(&failed)?;
            if rows.next().await.with_context(&failed)?.is_some() {
                found.push(format!("{what} {label}"));
                break;
            }
        }
    }
    Ok(found)
}

/// The configured Neo4j server's driver, and the context of its errors
/// (the location redacted); `None` without a Neo4j server.
fn neo4j_graph(
    settings: &Settings,
) -> anyhow::Result<Option<(neo4rs::Graph, impl Fn() -> String + '_)>> {
    let Some((uri, user, password)) = settings.neo4j() else {
        return Ok(None);
    };
    let failed = move || format!("cannot look for data on Neo4j at {}", redact_url(uri));
    let mut config = neo4rs::ConfigBuilder::default()
        .uri(uri)
        .user(user)
        .password(password);
    if let Some(database) = settings.setting(BackendKind::Neo4j, "NEO4J_DATABASE") {
        config = config.db(database);
    }
    let graph = config
        .build()
        .and_then(neo4rs::Graph::connect)
        .with_context(failed)?;
    Ok(Some((graph, failed)))
}

/// The Neo4j and Weaviate backends whose servers the run owns what it makes
/// on: not named `--on-shared-server` (so [`refuse_occupied`] found none of
/// the claimed objects, data or history there) and, for Neo4j, holding no
/// node without a label (a migration could label such a node, and the
/// rebuild could then not tell it from one the run made). A failed down
/// there is rebuilt from base, and the run's objects are removed at the end
/// without running downs.
pub async fn owned(
    history: &History,
    settings: &Settings,
    others: &[Box<dyn TestBackend>],
    on_shared_server: &[String],
) -> anyhow::Result<Vec<BackendKind>> {
    let mut owned = Vec::new();
    for kind in others.iter().map(|b| b.kind()) {
        let used = history.migrations().iter().any(|m| m.backend == kind);
        let shared = settings
            .url(kind)
            .is_some_and(|url| allowed(url, on_shared_server));
        if !used || shared {
            continue;
        }
        if kind == BackendKind::Neo4j {
            if let Some((graph, failed)) = neo4j_graph(settings)? {
                let probe = "MATCH (n) WHERE size(labels(n)) = 0 RETURN 1 AS x LIMIT 1";
                let mut rows = graph
                    .execute(neo4rs::query(probe))
                    .await
                    .with_context(&failed)?;
                if rows.next().await.with_context(&failed)?.is_some() {
                    continue;
                }
            }
        }
        owned.push(kind);
    }
    Ok(owned)
}

fn occupied_message(backend: &dyn TestBackend, records: usize, found: &[String]) -> String {
    let location = backend.location();
    let mut holds = Vec::new();
    if records > 0 {
        holds.push(format!("{records} dbmigrate history record(s)"));
    }
    if !found.is_empty() {
        let shown: Vec<&str> = found.iter().take(5).map(String::as_str).collect();
        let more = match found.len() - shown.len() {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        holds.push(format!(
            "what the migrations create or change ({}{more})",
            shown.join(", ")
        ));
    }
    format!(
        "the {} server {location} already holds {}: `test` would run the migrations' down steps there\n  help: point {} at a throwaway server, or pass `--on-shared-server <its URL>` if this server is meant for tests",
        backend.kind(),
        holds.join(" and "),
        backend.kind().descriptor().url_env,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_named_by_scheme_family_host_and_port() {
        let shared = vec!["bolt://neo4j:secret@127.0.0.1:7687".to_string()];
        assert!(allowed("neo4j://127.0.0.1:7687", &shared));
        assert!(allowed("neo4j+s://127.0.0.1", &shared));
        assert!(!allowed("bolt://127.0.0.1:7688", &shared));
        assert!(!allowed("http://127.0.0.1:7687", &shared));
        assert!(allowed(
            "http://LOCALHOST:80/v1",
            &["http://localhost".to_string()]
        ));
        assert!(!allowed("http://localhost:8080", &[]));
        assert!(!allowed("not a url", &["not a url".to_string()]));
    }
}
