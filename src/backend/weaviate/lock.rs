//! The migration lock: one lease object with a fixed id in `{prefix}Lock`.
//! Creating an object whose id exists fails, so one creator wins; the
//! winner reads its token back after a short settle delay (Weaviate's
//! exists-check is not atomic), renews the lease while it runs, and an
//! expired lease is taken over.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use super::client::{Call, WeaviateClient};
use super::history::{bookkeeping_class, now_ms, object_id};
use crate::backend::BackendError;

/// How long a winner waits before reading its token back.
const SETTLE: Duration = Duration::from_millis(250);

/// A held lease; renewed in the background until released.
#[derive(Debug)]
pub struct Lease {
    token: String,
    renew: JoinHandle<()>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renew.abort();
    }
}

/// Who holds the lock.
struct Holder {
    owner: String,
    token: String,
    expires_at_ms: f64,
}

impl Holder {
    fn describe(&self) -> String {
        let left = (self.expires_at_ms - now_ms()) / 1000.0;
        if left >= 0.0 {
            format!("{} (lease expires in {left:.0}s)", self.owner)
        } else {
            format!("{} (lease expired {:.0}s ago)", self.owner, -left)
        }
    }
}

/// The lock collection's definition.
pub fn lock_class(class: &str) -> Value {
    bookkeeping_class(
        class,
        &["owner", "token"],
        &["expires_at_ms", "acquired_at_ms"],
    )
}

/// Creates `class` from `definition` unless it exists (also when another
/// process creates it at the same moment).
pub async fn ensure_class(client: &WeaviateClient, definition: &Value) -> Result<(), BackendError> {
    let name = definition["class"].as_str().unwrap_or_default();
    if client
        .send(&Call::new("GET", format!("/v1/schema/{name}"), None))
        .await?
        .ok()
    {
        return Ok(());
    }
    let answer = client
        .send(&Call::new("POST", "/v1/schema", Some(definition.clone())))
        .await?;
    if answer.ok() || answer.message().contains("already exists") {
        return Ok(());
    }
    Err(BackendError::Other(format!(
        "{}: creating collection `{name}` failed: {}",
        client.location(),
        answer.message()
    )))
}

/// Takes the lease for `owner`, waiting at most `timeout`.
pub async fn acquire(
    client: &WeaviateClient,
    class: &str,
    owner: &str,
    timeout: Duration,
) -> Result<Lease, BackendError> {
    ensure_class(client, &lock_class(class)).await?;
    let token = new_token(owner);
    let started = Instant::now();
    loop {
        if try_create(client, class, owner, &token).await? {
            let renew = tokio::spawn(renew_loop(
                client.clone(),
                class.to_string(),
                owner.to_string(),
                token.clone(),
            ));
            tracing::debug!(owner, location = client.location(), "weaviate lock taken");
            return Ok(Lease { token, renew });
        }
        let holder = read_holder(client, class).await?;
        if let Some(holder) = holder.as_ref().filter(|h| h.expires_at_ms < now_ms()) {
            take_over(client, class, &holder.token).await?;
            continue;
        }
        if started.elapsed() >= timeout {
            return Err(BackendError::LockTimeout {
                location: client.location().to_string(),
                holder: holder.map_or_else(
                    || "nobody (the lease was just released)".into(),
                    |h| h.describe(),
                ),
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(poll_delay(&token)).await;
    }
}

/// Creates the lease object; true when it is ours after the settle delay
/// (a concurrent creator may have overwritten it: the exists-check of
/// `POST /v1/objects` is not atomic).
async fn try_create(
    client: &WeaviateClient,
    class: &str,
    owner: &str,
    token: &str,
) -> Result<bool, BackendError> {
    let created = client
        .send(&create_call(client, class, owner, token))
        .await?;
    if created.status == 422 {
        return Ok(false);
    }
    if !created.ok() {
        return Err(BackendError::Other(format!(
            "{}: taking the lock failed: {}",
            client.location(),
            created.message()
        )));
    }
    tokio::time::sleep(SETTLE).await;
    let holder = read_holder(client, class).await?;
    Ok(holder.is_some_and(|holder| holder.token == token))
}

/// Releases `lease` if it is still ours.
pub async fn release(
    client: &WeaviateClient,
    class: &str,
    lease: Lease,
) -> Result<(), BackendError> {
    lease.renew.abort();
    if read_holder(client, class)
        .await?
        .is_some_and(|holder| holder.token == lease.token)
    {
        client
            .expect(&Call::new("DELETE", lock_path(class), None))
            .await?;
    }
    Ok(())
}

fn lock_path(class: &str) -> String {
    format!("/v1/objects/{class}/{}", object_id(class, "lock"))
}

fn create_call(client: &WeaviateClient, class: &str, owner: &str, token: &str) -> Call {
    Call::new(
        "POST",
        "/v1/objects",
        Some(lease_object(client, class, owner, token)),
    )
}

fn lease_object(client: &WeaviateClient, class: &str, owner: &str, token: &str) -> Value {
    let now = now_ms();
    json!({
        "class": class,
        "id": object_id(class, "lock"),
        "properties": {
            "owner": owner,
            "token": token,
            "acquired_at_ms": now,
            "expires_at_ms": now + client.config.lease_ttl.as_millis() as f64,
        },
    })
}

async fn read_holder(client: &WeaviateClient, class: &str) -> Result<Option<Holder>, BackendError> {
    let answer = client
        .send(&Call::new("GET", lock_path(class), None))
        .await?;
    if answer.status == 404 {
        return Ok(None);
    }
    if !answer.ok() {
        return Err(BackendError::Other(format!(
            "{}: reading the lock failed: {}",
            client.location(),
            answer.message()
        )));
    }
    let properties = &answer.body["properties"];
    let text = |name: &str| {
        properties
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(Some(Holder {
        owner: text("owner"),
        token: text("token"),
        expires_at_ms: properties
            .get("expires_at_ms")
            .and_then(Value::as_f64)
            .unwrap_or_default(),
    }))
}

/// Deletes an expired lease, unless someone renewed or replaced it since.
async fn take_over(
    client: &WeaviateClient,
    class: &str,
    expired_token: &str,
) -> Result<(), BackendError> {
    let Some(holder) = read_holder(client, class).await? else {
        return Ok(());
    };
    if holder.token == expired_token && holder.expires_at_ms < now_ms() {
        tracing::warn!(holder = %holder.describe(), location = client.location(), "taking over an expired weaviate lock");
        client
            .send(&Call::new("DELETE", lock_path(class), None))
            .await?;
    }
    Ok(())
}

async fn renew_loop(client: WeaviateClient, class: String, owner: String, token: String) {
    let period = client.config.lease_ttl / 3;
    loop {
        tokio::time::sleep(period).await;
        match read_holder(&client, &class).await {
            Ok(Some(holder)) if holder.token == token => {
                let object = lease_object(&client, &class, &owner, &token);
                let renewed = client
                    .send(&Call::new("PUT", lock_path(&class), Some(object)))
                    .await;
                if let Err(error) = renewed {
                    tracing::warn!(%error, "renewing the weaviate lock failed");
                }
            }
            Ok(_) => {
                tracing::warn!(
                    owner,
                    "the weaviate lock lease was lost (it expired and was taken over)"
                );
                return;
            }
            Err(error) => tracing::warn!(%error, "reading the weaviate lock failed"),
        }
    }
}

fn new_token(owner: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = format!(
        "{owner}/{}/{}/{}",
        std::process::id(),
        now_ms(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let digest = Sha256::digest(format!("{seed}/{nanos}").as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// 100–400 ms, spread by token so waiters do not knock in step.
fn poll_delay(token: &str) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let spread = (u64::from(nanos) + token.len() as u64 * 7919) % 300;
    Duration::from_millis(100 + spread)
}
