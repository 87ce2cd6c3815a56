//! Blocking readiness probes over loopback: a TCP connect and a tiny HTTP/1.0 client.
//! No dependencies; every address is 127.0.0.1.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context as _;

const TIMEOUT: Duration = Duration::from_secs(5);

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn connect(port: u16) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&loopback(port), Duration::from_millis(500))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    connect(port).is_ok()
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

/// Sends `request` and returns the status code and the body.
pub fn http(request: &Request<'_>) -> anyhow::Result<(u16, String)> {
    let mut stream = connect(request.port)
        .with_context(|| format!("failed to connect to 127.0.0.1:{}", request.port))?;
    let mut head = format!(
        "{} {} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nAccept: application/json\r\nConnection: close\r\n",
        request.method, request.path, request.port
    );
    if let Some(credentials) = request.basic_auth {
        head.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(credentials.as_bytes())
        ));
    }
    let body = request.json.unwrap_or("");
    if request.json.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    parse_response(&String::from_utf8_lossy(&response))
}

fn parse_response(response: &str) -> anyhow::Result<(u16, String)> {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP response: {:?}", head.lines().next()))?;
    Ok((status, body.to_string()))
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

/// Standard base64 with padding (for HTTP basic authentication).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
    }

    #[test]
    fn parses_status_and_body() {
        let (status, body) = parse_response("HTTP/1.1 200 OK\r\nA: b\r\n\r\n{\"x\":1}").unwrap();
        assert_eq!((status, body.as_str()), (200, "{\"x\":1}"));
        assert!(parse_response("garbage").is_err());
    }
}
