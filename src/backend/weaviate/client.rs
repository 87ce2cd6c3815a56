//! The HTTP client: base URL, optional API key (never printed), timeouts,
//! and bounded retries with backoff on 5xx answers and connect errors.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::Value;

use crate::backend::{redact_url, BackendError};

/// Settings of a [`WeaviateClient`]; `Default` suits a local server.
#[derive(Debug, Clone)]
pub struct WeaviateConfig {
    /// Prefix of the backend's own collections: `{prefix}History`,
    /// `{prefix}Lock`. Must start with an uppercase letter.
    pub collection_prefix: String,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Timeout of connecting.
    pub connect_timeout: Duration,
    /// Retries after a 5xx answer or a connect error (not after 4xx).
    pub max_retries: u32,
    /// First retry delay; doubled after each retry.
    pub retry_backoff: Duration,
    /// How long a lock lease lasts without renewal (default
    /// [`DEFAULT_LEASE`](crate::backend::lease::DEFAULT_LEASE), 10 s); renewed
    /// every third of it.
    pub lease_ttl: Duration,
    /// Objects per page and per batch when copying (`rebuild_collection`).
    pub batch_size: u32,
}

impl Default for WeaviateConfig {
    fn default() -> Self {
        WeaviateConfig {
            collection_prefix: "Dbmigrate".into(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            max_retries: 3,
            retry_backoff: Duration::from_millis(200),
            lease_ttl: crate::backend::lease::DEFAULT_LEASE,
            batch_size: 200,
        }
    }
}

/// One HTTP call: what [`crate::backend::Backend::plan`] prints and the
/// client sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// Path and query below the server root.
    pub path: String,
    /// JSON body.
    pub body: Option<Value>,
}

impl Call {
    /// A call with a body.
    pub fn new(method: &str, path: impl Into<String>, body: Option<Value>) -> Call {
        Call {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            body,
        }
    }

    /// `METHOD /path` and the pretty body on the following lines.
    pub fn render(&self) -> String {
        match &self.body {
            Some(body) => format!(
                "{} {}\n{}",
                self.method,
                self.path,
                serde_json::to_string_pretty(body).unwrap_or_default()
            ),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// An answer: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Weaviate's error messages (`{"error": [{"message": …}]}`), or the body.
    pub fn message(&self) -> String {
        let messages: Vec<&str> = self
            .body
            .get("error")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("message")?.as_str())
            .collect();
        if messages.is_empty() {
            format!("status {}: {}", self.status, self.body)
        } else {
            format!("status {}: {}", self.status, messages.join("; "))
        }
    }
}

/// A Weaviate server: base URL, optional API key, settings.
#[derive(Clone)]
pub struct WeaviateClient {
    http: reqwest::Client,
    base_url: String,
    location: String,
    /// Settings.
    pub config: WeaviateConfig,
}

impl fmt::Debug for WeaviateClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeaviateClient")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl WeaviateClient {
    /// A client for `url` (e.g. `http://127.0.0.1:8080`), sending `api_key`
    /// as `Authorization: Bearer` when given.
    pub fn new(
        url: &str,
        api_key: Option<String>,
        config: WeaviateConfig,
    ) -> Result<Self, BackendError> {
        let location = redact_url(url);
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key.filter(|key| !key.is_empty()) {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                BackendError::Connection {
                    location: location.clone(),
                    message: "the API key is not a valid header value".into(),
                }
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| BackendError::Connection {
                location: location.clone(),
                message: e.to_string(),
            })?;
        let base_url = url.trim_end_matches('/').to_string();
        Ok(WeaviateClient {
            http,
            base_url,
            location,
            config,
        })
    }

    /// A client from `WEAVIATE_URL` and the optional `WEAVIATE_API_KEY`.
    pub fn from_env() -> Result<Self, BackendError> {
        let url = std::env::var("WEAVIATE_URL").map_err(|_| BackendError::Connection {
            location: "WEAVIATE_URL".into(),
            message: "WEAVIATE_URL is not set: export it (e.g. http://127.0.0.1:8080)".into(),
        })?;
        Self::new(
            &url,
            std::env::var("WEAVIATE_API_KEY").ok(),
            WeaviateConfig::default(),
        )
    }

    /// The URL without credentials, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Sends `call`, retrying on 5xx and connect errors with backoff. A 4xx
    /// answer is returned, not an error.
    pub async fn send(&self, call: &Call) -> Result<Answer, BackendError> {
        let mut attempt = 0;
        loop {
            let result = self.send_once(call).await;
            let retry = match &result {
                Ok(answer) => answer.status >= 500,
                Err(error) => error.is_connect() || error.is_timeout(),
            };
            if !retry || attempt >= self.config.max_retries {
                return result.map_err(|e| self.connection_error(call, e));
            }
            let delay = self.config.retry_backoff * 2u32.pow(attempt);
            tracing::debug!(method = %call.method, path = %call.path, attempt, ?delay, "retrying weaviate call");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Sends `call` and requires a 2xx answer.
    pub async fn expect(&self, call: &Call) -> Result<Value, BackendError> {
        let answer = self.send(call).await?;
        if answer.ok() {
            Ok(answer.body)
        } else {
            Err(BackendError::Rejected {
                location: self.location.clone(),
                what: format!("{} {}", call.method, call.path),
                message: answer.message(),
            })
        }
    }

    async fn send_once(&self, call: &Call) -> Result<Answer, reqwest::Error> {
        let method =
            reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base_url, call.path));
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    fn connection_error(&self, call: &Call, error: reqwest::Error) -> BackendError {
        let mut causes = String::new();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            causes.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        let message = format!(
            "{} {}: {}{causes}",
            call.method,
            call.path,
            error.without_url()
        );
        BackendError::Connection {
            location: self.location.clone(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_never_carries_secrets() {
        assert_eq!(
            redact_url("http://user:secret@127.0.0.1:8080/?key=x"),
            "http://user:***@127.0.0.1:8080/?key=***"
        );
        assert_eq!(redact_url("https://host/base/"), "https://host/base/");
        let client = WeaviateClient::new(
            "http://127.0.0.1:1",
            Some("topsecret".into()),
            WeaviateConfig::default(),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("topsecret"));
    }
}
