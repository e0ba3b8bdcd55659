//! The talking half of `--probe`: short TCP exchanges with this host's own listeners, run in
//! the caller's network namespace (the caller enters the listener's). Each connection and
//! each read waits at most the timeout; nothing is sent but a greeting reply (`EHLO`, POP3
//! `CAPA`, IMAP `CAPABILITY`), a TLS ClientHello and one HTTP HEAD request.

use super::{classify_ehlo, classify_greeting, classify_http_reply, classify_tls_reply};
use super::{classify_imap, classify_pop3_capa, imap_offers_starttls};
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
        Greeting::Is(Protocol::Pop3) => {
            let reply = ask(&mut s, opts, b"CAPA\r\n", pop3_reply_complete);
            Some(classify_pop3_capa(&reply))
        }
        Greeting::Is(Protocol::Imap) if !imap_offers_starttls(&hello) => {
            let reply = ask(&mut s, opts, b"a1 CAPABILITY\r\n", |b| {
                b.ends_with(b"\n") && b.split(|&c| c == b'\n').any(|l| l.starts_with(b"a1 "))
            });
            Some(classify_imap(&hello, &reply))
        }
        Greeting::Is(Protocol::Imap) => Some(Protocol::ImapStarttls),
        Greeting::Is(p) => Some(p),
        Greeting::Ready220 => {
            let reply = ask(&mut s, opts, b"EHLO portwatch.invalid\r\n", reply_complete);
            Some(classify_ehlo(&hello, &reply))
        }
        Greeting::Unrecognised => None,
    }
}

/// Send `req` on an open connection and read the answer (empty when none came).
fn ask(
    s: &mut TcpStream,
    opts: &ProbeOptions,
    req: &[u8],
    done: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    s.write_all(req)
        .ok()
        .and_then(|_| read_until(s, opts, done))
        .unwrap_or_default()
}

/// A POP3 reply is complete after an `-ERR` line, or a multi-line `+OK` at its `.` line.
fn pop3_reply_complete(b: &[u8]) -> bool {
    b.ends_with(b"\n")
        && (b.starts_with(b"-ERR") || b.ends_with(b"\n.\r\n") || b.ends_with(b"\n.\n"))
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

    /// A server on 127.0.0.1 that greets one connection, reads one command, answers it and
    /// returns what it read.
    fn scripted(
        greeting: &'static [u8],
        answer: &'static [u8],
    ) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            c.write_all(greeting).unwrap();
            let mut got = Vec::new();
            let mut b = [0u8; 256];
            while !got.ends_with(b"\n") {
                match c.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&b[..n]),
                }
            }
            let _ = c.write_all(answer);
            got
        });
        (addr, t)
    }

    #[test]
    fn pop3_and_imap_servers_are_asked_for_starttls() {
        let opts = ProbeOptions::default();
        // (greeting, answer, the command the probe must send, what it is then)
        type Case = (&'static [u8], &'static [u8], &'static [u8], Protocol);
        let cases: &[Case] = &[
            (
                b"+OK ready\r\n",
                b"+OK\r\nCAPA\r\nSTLS\r\nUSER\r\n.\r\n",
                b"CAPA\r\n",
                Protocol::Pop3Starttls,
            ),
            (
                b"+OK ready\r\n",
                b"+OK\r\nUSER\r\n.\r\n",
                b"CAPA\r\n",
                Protocol::Pop3,
            ),
            (
                b"* OK ready\r\n",
                b"* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n",
                b"a1 CAPABILITY\r\n",
                Protocol::ImapStarttls,
            ),
            (
                b"* OK ready\r\n",
                b"* CAPABILITY IMAP4rev1\r\na1 OK done\r\n",
                b"a1 CAPABILITY\r\n",
                Protocol::Imap,
            ),
        ];
        for &(greeting, answer, asked, want) in cases {
            let (addr, server) = scripted(greeting, answer);
            assert_eq!(
                probe(addr, &opts),
                want,
                "{:?}",
                String::from_utf8_lossy(answer)
            );
            assert_eq!(server.join().unwrap(), asked);
        }
    }

    #[test]
    fn the_client_hello_is_a_tls_handshake_record() {
        let hello = client_hello("127.0.0.1".parse().unwrap()).expect("rustls makes a hello");
        assert_eq!(&hello[..2], &[0x16, 0x03], "handshake record");
        assert_eq!(hello[5], 1, "ClientHello");
    }
}
