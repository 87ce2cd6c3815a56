//! A minimal Bolt 4.4 client that logs in and runs `RETURN 1`, so `up` waits until
//! Neo4j answers a real query over Bolt (the protocol the tests and the backend use).
//! It speaks only what that takes: the handshake, chunked messages, and the few
//! PackStream markers of HELLO, RUN, PULL and their replies.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context as _;

const HELLO: u8 = 0x01;
const RUN: u8 = 0x10;
const PULL: u8 = 0x3F;
const SUCCESS: u8 = 0x70;
const RECORD: u8 = 0x71;

/// Runs `RETURN 1` on 127.0.0.1:`port` as `user`; fails with the server's answer.
pub fn return_1(port: u16, user: &str, password: &str) -> anyhow::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    // Magic, then four version proposals [0, range, minor, major]: only 4.4.
    stream.write_all(&[
        0x60, 0x60, 0xB0, 0x17, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ])?;
    let mut agreed = [0u8; 4];
    stream.read_exact(&mut agreed)?;
    anyhow::ensure!(
        agreed == [0, 0, 4, 4],
        "server refused Bolt 4.4 ({agreed:?})"
    );

    let mut hello = vec![0xB1, HELLO, 0xA4];
    for (key, value) in [
        ("user_agent", "dbmigrate-xtask/1"),
        ("scheme", "basic"),
        ("principal", user),
        ("credentials", password),
    ] {
        string(&mut hello, key);
        string(&mut hello, value);
    }
    send(&mut stream, &hello)?;
    expect(&mut stream, SUCCESS).context("HELLO (login) was refused")?;

    let mut run = vec![0xB3, RUN];
    string(&mut run, "RETURN 1 AS one");
    run.extend_from_slice(&[0xA0, 0xA0]); // no parameters, no extra
    send(&mut stream, &run)?;
    expect(&mut stream, SUCCESS).context("RUN RETURN 1 failed")?;

    let mut pull = vec![0xB1, PULL, 0xA1];
    string(&mut pull, "n");
    pull.push(0xFF); // -1: all records
    send(&mut stream, &pull)?;
    let record = expect(&mut stream, RECORD).context("PULL returned no record")?;
    anyhow::ensure!(
        record == [0x91, 0x01],
        "RETURN 1 returned {record:02x?}, not [1]"
    );
    expect(&mut stream, SUCCESS).context("PULL did not finish")?;
    Ok(())
}

/// Appends a PackStream string (shorter than 256 bytes).
fn string(out: &mut Vec<u8>, value: &str) {
    let len = value.len();
    if len < 16 {
        out.push(0x80 | len as u8);
    } else {
        out.extend_from_slice(&[0xD0, len as u8]);
    }
    out.extend_from_slice(value.as_bytes());
}

/// Sends one message as a single chunk and the end marker.
fn send(stream: &mut TcpStream, message: &[u8]) -> anyhow::Result<()> {
    let len = u16::try_from(message.len()).context("Bolt message too long")?;
    stream.write_all(&len.to_be_bytes())?;
    stream.write_all(message)?;
    stream.write_all(&[0, 0])?;
    Ok(())
}

/// Reads one message and checks its signature; returns its fields.
fn expect(stream: &mut TcpStream, signature: u8) -> anyhow::Result<Vec<u8>> {
    let message = receive(stream)?;
    anyhow::ensure!(message.len() >= 2, "empty Bolt message");
    anyhow::ensure!(
        message[1] == signature,
        "expected message 0x{signature:02x}, got 0x{:02x}: {}",
        message[1],
        String::from_utf8_lossy(&message[2..])
    );
    Ok(message[2..].to_vec())
}

/// Reads chunks up to the end marker.
fn receive(stream: &mut TcpStream) -> anyhow::Result<Vec<u8>> {
    let mut message = Vec::new();
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header)?;
        let len = usize::from(u16::from_be_bytes(header));
        if len == 0 && !message.is_empty() {
            return Ok(message);
        }
        let start = message.len();
        message.resize(start + len, 0);
        stream.read_exact(&mut message[start..])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_use_tiny_and_8_bit_markers() {
        let mut out = Vec::new();
        string(&mut out, "n");
        string(&mut out, "credentials-long");
        assert_eq!(&out[..2], &[0x81, b'n']);
        assert_eq!(&out[2..4], &[0xD0, 16]);
    }
}
