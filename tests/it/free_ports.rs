//! Loopback ports chosen at run time, so two `cargo test` runs on one
//! machine never ask for the same port: the kernel hands out a free port
//! for `127.0.0.1:0`, the test reads it, and releases it just before its
//! own server binds it. Every probe listens on 127.0.0.1 only.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};

/// Ports chosen so far, each still bound (so one choice never repeats
/// another) until this value is dropped, just before the servers start.
#[derive(Default)]
pub struct FreePorts {
    tcp: Vec<TcpListener>,
    udp: Vec<UdpSocket>,
}

impl FreePorts {
    /// A free TCP port on 127.0.0.1.
    pub fn tcp(&mut self) -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        self.tcp.push(listener);
        port
    }

    /// A port free for TCP and UDP alike (memberlist gossips over both).
    pub fn tcp_and_udp(&mut self) -> u16 {
        loop {
            let port = self.tcp();
            if let Ok(socket) = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
                self.udp.push(socket);
                return port;
            }
        }
    }

    /// Two consecutive free TCP ports `p` and `p + 1`; returns `p`.
    pub fn consecutive_pair(&mut self) -> u16 {
        loop {
            let port = self.tcp();
            let Some(next) = port.checked_add(1) else {
                continue;
            };
            if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, next)) {
                self.tcp.push(listener);
                return port;
            }
        }
    }
}
