//! Sockets for unit tests, written as ss prints their ends: `tcp(state, "127.0.0.1:80",
//! "[::1]:5000")`; and owners that differ by pid alone.

use super::{Endpoint, Family, Owner, Proto, SockType, Socket, State};

/// Process `pid` holding a socket as fd 3, named "x", uid unknown.
pub fn owner(pid: u32) -> Owner {
    Owner::new(pid, "x", 3, None)
}

/// An IP end from `ADDR:PORT` (`[V6]:PORT` for IPv6).
pub fn ep(s: &str) -> Option<Endpoint> {
    let a: std::net::SocketAddr = s.parse().expect("ADDR:PORT");
    Some(Endpoint::Inet {
        addr: a.ip(),
        port: a.port(),
    })
}

/// A TCP socket between two ends; IPv6 when the local end is written `[...]`.
pub fn tcp(state: State, local: &str, remote: &str) -> Socket {
    let family = if local.starts_with('[') {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    Socket {
        local: ep(local),
        remote: ep(remote),
        ..Socket::new(Proto::Tcp, family, SockType::Stream, state)
    }
}
