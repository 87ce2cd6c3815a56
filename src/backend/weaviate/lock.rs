//! The migration lock as a [`LeaseStore`]. Weaviate has no conditional
//! object write, but its schema changes go through one Raft log: creating
//! a collection that exists fails for every creator but one. So the
//! fencing token `N` is a marker collection `{lock}{N}` (its description
//! names the winner's token), and the lease itself is the winner's own
//! object in `{lock}`, whose `lastUpdateTimeUnix` is the server's clock:
//! a renewal rewrites it, a contender compares it with the time the
//! server stamped on the contender's own object a moment earlier.
//!
//! A contender: lists the markers (current token `N`), rewrites its own
//! object (learning the server's time), reads the holder's object and,
//! when it is gone or older than its lease, creates marker `N + 1`. A
//! holder renews by rewriting its object and checking that marker `N + 1`
//! does not exist. Releasing deletes the holder's object. Markers older
//! than `N - 1` are dropped by each new holder.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::client::{Answer, Call, WeaviateClient};
use super::history::{bookkeeping_class, now_ms, object_id, WRITE_CONSISTENCY};
use crate::backend::lease::{Attempt, LeaseStore};
use crate::backend::BackendError;

/// The lease objects' collection.
pub fn lock_class(class: &str) -> Value {
    bookkeeping_class(class, &["owner", "token"], &["fence", "lease_ms"])
}

/// Creates `class` from `definition` unless it exists (also when another
/// process creates it at the same moment), and adds the properties an
/// older release did not define.
pub async fn ensure_class(client: &WeaviateClient, definition: &Value) -> Result<(), BackendError> {
    let name = definition["class"].as_str().unwrap_or_default();
    let current = client
        .send(&Call::new("GET", format!("/v1/schema/{name}"), None))
        .await?;
    if current.ok() {
        return add_missing_properties(client, name, &current.body, definition).await;
    }
    let answer = client
        .send(&Call::new("POST", "/v1/schema", Some(definition.clone())))
        .await?;
    if answer.ok() || answer.message().contains("already exists") {
        return Ok(());
    }
    Err(failed(
        client,
        &format!("creating collection `{name}`"),
        &answer,
    ))
}

async fn add_missing_properties(
    client: &WeaviateClient,
    name: &str,
    current: &Value,
    definition: &Value,
) -> Result<(), BackendError> {
    let has = |property: &str| {
        current["properties"]
            .as_array()
            .is_some_and(|all| all.iter().any(|p| p["name"] == property))
    };
    for property in definition["properties"].as_array().into_iter().flatten() {
        if has(property["name"].as_str().unwrap_or_default()) {
            continue;
        }
        let path = format!("/v1/schema/{name}/properties");
        let answer = client
            .send(&Call::new("POST", path, Some(property.clone())))
            .await?;
        if !answer.ok() && !answer.message().contains("already exists") {
            return Err(failed(
                client,
                &format!("extending collection `{name}`"),
                &answer,
            ));
        }
    }
    Ok(())
}

fn failed(client: &WeaviateClient, what: &str, answer: &Answer) -> BackendError {
    BackendError::Rejected {
        location: client.location().to_string(),
        what: what.to_string(),
        message: answer.message(),
    }
}

/// The marker collections of `class` (`{class}{N}`) with their token
/// numbers and descriptions (the holder's token), in any order.
pub async fn markers(
    client: &WeaviateClient,
    class: &str,
) -> Result<Vec<(u64, String, String)>, BackendError> {
    let schema = client.expect(&Call::new("GET", "/v1/schema", None)).await?;
    Ok(schema["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let name = c["class"].as_str()?;
            let fence = name.strip_prefix(class)?.parse::<u64>().ok()?;
            let token = c["description"].as_str().unwrap_or_default().to_string();
            Some((fence, name.to_string(), token))
        })
        .collect())
}

/// One contender for the lock of `class`, with its own token.
pub struct ObjectLease {
    /// The server.
    pub client: WeaviateClient,
    /// The lease objects' collection; markers are `{class}{N}`.
    pub class: String,
    /// Recorded on the lease, for messages.
    pub owner: String,
    /// Unique to this contender; names its lease object.
    pub token: String,
}

impl ObjectLease {
    /// A contender with a fresh token.
    pub fn new(client: WeaviateClient, class: String, owner: String) -> ObjectLease {
        let token = new_token(&owner);
        ObjectLease {
            client,
            class,
            owner,
            token,
        }
    }

    fn path(&self, token: &str) -> String {
        format!(
            "/v1/objects/{}/{}",
            self.class,
            object_id(&self.class, token)
        )
    }

    /// Writes this contender's object; returns the server's time stamped on it.
    async fn touch(&self, fence: u64, lease: Duration) -> Result<Option<f64>, BackendError> {
        let object = json!({
            "class": self.class,
            "id": object_id(&self.class, &self.token),
            "properties": {
                "owner": self.owner, "token": self.token,
                "fence": fence as f64, "lease_ms": lease.as_millis() as f64,
            },
        });
        // A batch write creates or replaces in one call and answers with
        // the server's time stamped on the object.
        let call = Call::new(
            "POST",
            format!("/v1/batch/objects?{WRITE_CONSISTENCY}"),
            Some(json!({ "objects": [object] })),
        );
        // A collection created a moment ago by another process may not have
        // its shard ready on this node yet: that answer is worth a retry.
        let mut delays = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(20))
            .with_jitter()
            .with_max_times(8)
            .build();
        loop {
            let answer = self.client.send(&call).await?;
            let written = &answer.body[0];
            if answer.ok() && written["result"]["errors"].is_null() {
                return Ok(written["lastUpdateTimeUnix"].as_f64());
            }
            let not_ready = written.to_string().contains("could not find index");
            match delays.next() {
                Some(delay) if not_ready => tokio::time::sleep(delay).await,
                _ => return Err(failed(&self.client, "writing the lock lease", &answer)),
            }
        }
    }

    /// Who holds lease `token` and whether it is live at `server_now`.
    async fn holder(&self, token: &str, server_now: f64) -> Result<Option<String>, BackendError> {
        let answer = self
            .client
            .send(&Call::new("GET", self.path(token), None))
            .await?;
        if answer.status == 404 {
            return Ok(None);
        }
        if !answer.ok() {
            return Err(failed(&self.client, "reading the lock", &answer));
        }
        let updated = answer.body["lastUpdateTimeUnix"].as_f64().unwrap_or(0.0);
        let lease_ms = answer.body["properties"]["lease_ms"]
            .as_f64()
            .unwrap_or(0.0);
        let left = (updated + lease_ms - server_now) / 1000.0;
        let owner = answer.body["properties"]["owner"]
            .as_str()
            .unwrap_or("an unknown owner");
        Ok((left >= 0.0).then(|| format!("{owner} (lease expires in {left:.1}s)")))
    }

    /// Drops marker collections and leftover objects older than `fence - 1`.
    async fn sweep(&self, fence: u64, markers: &[(u64, String, String)]) {
        for (_, name, _) in markers.iter().filter(|(n, _, _)| *n + 1 < fence) {
            let _ = self
                .client
                .send(&Call::new("DELETE", format!("/v1/schema/{name}"), None))
                .await;
        }
        let filter = json!({"match": {"class": self.class, "where": {
            "path": ["fence"], "operator": "LessThan", "valueNumber": (fence - 1) as f64}}});
        let _ = self
            .client
            .send(&Call::new(
                "DELETE",
                format!("/v1/batch/objects?{WRITE_CONSISTENCY}"),
                Some(filter),
            ))
            .await;
    }
}

#[async_trait::async_trait]
impl LeaseStore for ObjectLease {
    fn location(&self) -> String {
        self.client.location().to_string()
    }

    async fn try_acquire(&self, lease: Duration) -> Result<Attempt, BackendError> {
        let markers = markers(&self.client, &self.class).await?;
        let current = markers.iter().max_by_key(|(n, _, _)| *n);
        let fence = current.map_or(0, |(n, _, _)| *n) + 1;
        let server_now = self.touch(fence, lease).await?.unwrap_or_else(now_ms);
        if let Some((_, _, token)) = current {
            if let Some(holder) = self.holder(token, server_now).await? {
                return Ok(Attempt::Busy(holder));
            }
        }
        let marker = json!({
            "class": format!("{}{fence}", self.class),
            "description": self.token,
            "vectorizer": "none",
            "properties": [],
        });
        let answer = self
            .client
            .send(&Call::new("POST", "/v1/schema", Some(marker)))
            .await?;
        if answer.ok() {
            self.sweep(fence, &markers).await;
            return Ok(Attempt::Acquired(fence));
        }
        if answer.status == 422 {
            return Ok(Attempt::Busy(
                "another run (it took the lock just now)".into(),
            ));
        }
        Err(failed(&self.client, "taking the lock", &answer))
    }

    async fn renew(&self, fence: u64, lease: Duration) -> Result<bool, BackendError> {
        self.touch(fence, lease).await?;
        let next = format!("/v1/schema/{}{}", self.class, fence + 1);
        let answer = self.client.send(&Call::new("GET", next, None)).await?;
        match answer.status {
            404 => Ok(true),
            200 => Ok(false),
            _ => Err(failed(&self.client, "checking the lock", &answer)),
        }
    }

    async fn release(&self, _fence: u64) -> Result<(), BackendError> {
        let answer = self
            .client
            .send(&Call::new(
                "DELETE",
                format!("{}?{WRITE_CONSISTENCY}", self.path(&self.token)),
                None,
            ))
            .await?;
        if answer.ok() || answer.status == 404 {
            Ok(())
        } else {
            Err(failed(&self.client, "releasing the lock", &answer))
        }
    }
}

/// A token no other contender has.
fn new_token(owner: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let digest = Sha256::digest(format!("{owner}/{}/{n}/{nanos}", std::process::id()).as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}
