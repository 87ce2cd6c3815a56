//! Blocking readiness probes over loopback: a TCP connect, and HTTP requests through
//! `ureq` (no proxy, short timeouts). Every address is 127.0.0.1.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
///
/// The test servers' ports lie in Linux's ephemeral range (32768–60999), so
/// a connect to a port nothing listens on yet can be given that very port as
/// its source and connect to itself (TCP simultaneous open). That is no
/// server, and while it lasts the port is taken: a Neo4j starting meanwhile
/// failed with "Address 127.0.0.1:56474 is already in use" (seen here).
/// Such a connection is closed at once and counts as closed.
pub fn port_open(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_millis(500))
        .is_ok_and(|stream| stream.local_addr().ok() != Some(address))
}

/// An HTTP request to 127.0.0.1.
pub struct Request<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The path with its query.
    pub path: &'a str,
    /// `user:password` for basic authentication.
    pub basic_auth: Option<&'a str>,
    /// A JSON body.
    pub json: Option<&'a str>,
}

/// Sends `request` and returns the status code and the body, whatever the status.
/// Only once a server listens (see [`port_open`]): the HTTP client's own
/// connect could otherwise connect to itself and hold the port for its
/// whole timeout while the server tries to bind it.
pub fn http(request: &Request<'_>) -> anyhow::Result<(u16, String)> {
    let url = format!("http://127.0.0.1:{}{}", request.port, request.path);
    if !port_open(request.port) {
        anyhow::bail!("{} {url}: nothing listens on the port yet", request.method);
    }
    let mut builder = ureq::http::Request::builder()
        .method(request.method)
        .uri(&url)
        .header("Accept", "application/json");
    if let Some(credentials) = request.basic_auth {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        builder = builder.header("Authorization", format!("Basic {encoded}"));
    }
    let sent = match request.json {
        Some(json) => agent().run(
            builder
                .header("Content-Type", "application/json")
                .body(json.to_string())?,
        ),
        None => agent().run(builder.body(())?),
    };
    let mut response = sent.with_context(|| format!("{} {url} failed", request.method))?;
    let body = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("{} {url}: unreadable body", request.method))?;
    Ok((response.status().as_u16(), body))
}

/// Whether `GET path` on 127.0.0.1:`port` answers 200.
pub fn http_ok(port: u16, path: &str) -> bool {
    let request = Request {
        method: "GET",
        port,
        path,
        basic_auth: None,
        json: None,
    };
    matches!(http(&request), Ok((200, _)))
}

/// An agent for loopback probes: no proxy from the environment, no redirects, short
/// timeouts, and statuses returned rather than turned into errors.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .new_agent()
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpListener;

    use super::*;

    /// One request to a loopback listener: the request head it received, and our answer.
    #[test]
    fn sends_auth_and_json_and_returns_status_and_body() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            // `http` first checks with a bare connect that something
            // listens (closed without a byte), then sends on a new one.
            let (mut reader, mut head) = loop {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                if reader.read_line(&mut head).unwrap() > 0 {
                    break (reader, head);
                }
            };
            while !head.ends_with("\r\n\r\n") {
                reader.read_line(&mut head).unwrap();
            }
            let mut body = [0u8; 7];
            reader.read_exact(&mut body).unwrap();
            let answer = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\n\r\nnope!";
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
            (head, String::from_utf8_lossy(&body).into_owned())
        });
        let request = Request {
            method: "POST",
            port,
            path: "/db/tx",
            basic_auth: Some("neo4j:secret"),
            json: Some(r#"{"a":1}"#),
        };
        let (status, body) = http(&request).unwrap();
        let (head, sent) = server.join().unwrap();
        assert_eq!((status, body.as_str()), (401, "nope!"));
        assert!(head.starts_with("POST /db/tx HTTP/1.1\r\n"), "{head}");
        // base64("neo4j:secret")
        assert!(head.contains("Basic bmVvNGo6c2VjcmV0"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert_eq!(sent, r#"{"a":1}"#);
    }
}
