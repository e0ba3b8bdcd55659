//! The talking half of `--probe`: short TCP exchanges with this host's own listeners, run in
//! the caller's network namespace (the caller enters the listener's). Each connection and
//! each read waits at most the timeout; nothing is sent but a greeting reply (`EHLO`), a TLS
//! ClientHello and one HTTP HEAD request.

use super::{classify_ehlo, classify_greeting, classify_http_reply, classify_tls_reply};
use super::{Greeting, Protocol};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long to wait for a connection, and for each answer.
#[derive(Debug, Clone, Copy)]
pub struct ProbeOptions {
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: Duration::from_millis(700),
        }
    }
}

/// Most bytes kept from one answer: enough for a greeting or an EHLO reply.
const MAX_REPLY: usize = 4096;
/// Probes run at once (each mostly waits).
const PARALLEL: usize = 16;

/// Where to connect to reach a listener bound to `addr`: a wildcard is reached through the
/// loopback address of its family.
pub fn target(addr: IpAddr, port: u16) -> SocketAddr {
    let ip = match addr {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        a => a,
    };
    SocketAddr::new(ip, port)
}

/// Probe several listeners, a few at a time; results in the order of `targets`.
pub fn probe_all(targets: &[SocketAddr], opts: &ProbeOptions) -> Vec<Protocol> {
    let mut out = Vec::with_capacity(targets.len());
    for chunk in targets.chunks(PARALLEL) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|t| s.spawn(move || probe(*t, opts)))
                .collect();
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(Protocol::Unknown)),
            );
        });
    }
    out
}

/// What answers on `addr`.
pub fn probe(addr: SocketAddr, opts: &ProbeOptions) -> Protocol {
    if let Some(p) = greeting(addr, opts) {
        return p;
    }
    if let Some(hello) = client_hello(addr.ip()) {
        if let Some(p) =
            exchange(addr, opts, &hello, |b| b.len() >= 6).and_then(|b| classify_tls_reply(&b))
        {
            return p;
        }
    }
    let request = format!("HEAD / HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: portwatch-audit\r\n\r\n");
    exchange(addr, opts, request.as_bytes(), |b| b.contains(&b'\n'))
        .and_then(|b| classify_http_reply(&b))
        .unwrap_or(Protocol::Unknown)
}

/// Step 1: what the server says first; `None` when it says nothing we know.
fn greeting(addr: SocketAddr, opts: &ProbeOptions) -> Option<Protocol> {
    let mut s = connect(addr, opts)?;
    let hello = read_until(&mut s, opts, |b| {
        b.contains(&b'\n') || b.len() >= 2 && b[0] == 0xff
    })?;
    match classify_greeting(&hello) {
        Greeting::Is(p) => Some(p),
        Greeting::Ready220 => {
            let reply = s
                .write_all(b"EHLO portwatch.invalid\r\n")
                .ok()
                .and_then(|_| read_until(&mut s, opts, reply_complete))
                .unwrap_or_default();
            Some(classify_ehlo(&hello, &reply))
        }
        Greeting::Unrecognised => None,
    }
}

/// An SMTP reply is complete at its last line: `NNN text` (a space after the code).
fn reply_complete(b: &[u8]) -> bool {
    if !b.ends_with(b"\n") {
        return false;
    }
    let body = &b[..b.len() - 1];
    let last = body.rsplit(|&c| c == b'\n').next().unwrap_or_default();
    last.get(3) != Some(&b'-')
}

/// Send `req` on a new connection and read the answer.
fn exchange(
    addr: SocketAddr,
    opts: &ProbeOptions,
    req: &[u8],
    done: impl Fn(&[u8]) -> bool,
) -> Option<Vec<u8>> {
    let mut s = connect(addr, opts)?;
    s.write_all(req).ok()?;
    read_until(&mut s, opts, done)
}

fn connect(addr: SocketAddr, opts: &ProbeOptions) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, opts.timeout).ok()?;
    s.set_nodelay(true).ok()?;
    Some(s)
}

/// Read until `done`, end of stream, the timeout or `MAX_REPLY` bytes; `None` when nothing
/// came.
fn read_until(
    s: &mut TcpStream,
    opts: &ProbeOptions,
    done: impl Fn(&[u8]) -> bool,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + opts.timeout;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while buf.len() < MAX_REPLY && !done(&buf) {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero());
        let Some(left) = left else { break };
        if s.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    (!buf.is_empty()).then_some(buf)
}

/// A ClientHello as rustls sends it (TLS 1.2 and 1.3 offers, current cipher suites). The
/// handshake never goes further: only the server's first answer is read.
fn client_hello(ip: IpAddr) -> Option<Vec<u8>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(ip.into());
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let mut out = Vec::new();
    conn.write_tls(&mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_reached_through_loopback() {
        let t = |a: &str| target(a.parse().unwrap(), 9).to_string();
        assert_eq!(t("0.0.0.0"), "127.0.0.1:9");
        assert_eq!(t("::"), "[::1]:9");
        assert_eq!(t("::ffff:10.0.0.1"), "10.0.0.1:9");
        assert_eq!(t("10.0.0.1"), "10.0.0.1:9");
    }

    #[test]
    fn smtp_replies_end_at_the_last_line() {
        assert!(!reply_complete(b"250-a\r\n"));
        assert!(!reply_complete(b"250-a\r\n250 b"));
        assert!(reply_complete(b"250-a\r\n250 b\r\n"));
        assert!(reply_complete(b"500 no\r\n"));
    }

    #[test]
    fn the_client_hello_is_a_tls_handshake_record() {
        let hello = client_hello("127.0.0.1".parse().unwrap()).expect("rustls makes a hello");
        assert_eq!(&hello[..2], &[0x16, 0x03], "handshake record");
        assert_eq!(hello[5], 1, "ClientHello");
    }
}
