//! netlink sock_diag dumps (inet and unix) with the state filter applied by the kernel.
//!
//! One `NETLINK_SOCK_DIAG` socket per dump, one request per (family, protocol), replies parsed
//! into `model::Socket` as each datagram arrives (see `inet` and `unix`; the byte walking and
//! bounds checks are in `wire`, the extension attributes of `-i`/`-m` in `info`).
//! Hand-rolled rather than netlink-packet-sock-diag: the wire format is small and fixed,
//! this parser allocates nothing per inet socket (only unix names, and one box per socket
//! whose extras were asked for), and the DONE/ERROR codes are checked in one visible place
//! instead of per caller.
//!
//! The same socket family also closes sockets (`destroy`, SOCK_DESTROY) and reports them
//! closing (`events`, the destroy multicast groups).

mod destroy;
mod events;
mod fetch;
mod inet;
mod info;
mod unix;
mod wire;

pub use destroy::{destroy, DestroyError, Destroyer};
pub use events::{CloseEvents, EventsError, Received};
pub use fetch::Fetcher;
pub use inet::{parse_inet_msgs, InetTable};
pub use unix::parse_unix_msgs;
pub use wire::Progress;

use crate::model::{Detail, Family, Proto, Socket, StateSet};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why a dump produced no table.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The kernel answered with an error code (in NLMSG_ERROR or in NLMSG_DONE): typically
    /// ENOENT when the diag module for this protocol is missing.
    #[error("kernel answered {}", std::io::Error::from_raw_os_error(*.0))]
    Kernel(i32),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("malformed reply: {0}")]
    Malformed(String),
}

/// Receive buffer: the kernel fills dump datagrams up to about 32 KiB
/// (net/netlink/af_netlink.c, netlink_dump), so 64 KiB never truncates one.
const RECV_BUF: usize = 64 * 1024;
const RECV_TIMEOUT_SECS: libc::time_t = 10;

/// Dump TCP, UDP (or raw, via IPPROTO_RAW) sockets of one family whose state is in `states`.
/// UDP sockets are CLOSE when unconnected (ss's "listening") and ESTABLISHED when connected.
/// Raw needs CONFIG_INET_RAW_DIAG; without it this returns `DumpError::Kernel(ENOENT)`, and
/// with it the kernel ignores `states` (raw_diag_dump), so callers filter raw results again.
/// `Proto::Unix` or `Family::Unix` is a caller error: `DumpError::Kernel(EINVAL)` without
/// asking the kernel.
pub fn dump_inet(proto: Proto, family: Family, states: StateSet) -> Result<Vec<Socket>, DumpError> {
    dump_inet_detail(proto, family, states, Detail::default())
}

/// `dump_inet`, asking also for the extras `detail` names (`Socket::extras`).
pub fn dump_inet_detail(
    proto: Proto,
    family: Family,
    states: StateSet,
    detail: Detail,
) -> Result<Vec<Socket>, DumpError> {
    dump_inet_ports(proto, family, states, detail, None)
}

/// `dump_inet_detail` of the sockets whose local port is one of `ports` (`None`: any), the
/// kernel filtering (an empty list dumps nothing).
pub fn dump_inet_ports(
    proto: Proto,
    family: Family,
    states: StateSet,
    detail: Detail,
    ports: Option<&[u16]>,
) -> Result<Vec<Socket>, DumpError> {
    if matches!(proto, Proto::Unix) || matches!(family, Family::Unix) {
        return Err(DumpError::Kernel(libc::EINVAL));
    }
    let t = InetTable {
        proto,
        family,
        detail,
    };
    if inet::kernel_states(proto, states) == 0 {
        // Only TCP CLOSE, which no dump can hold (`inet::request`).
        return Ok(Vec::new());
    }
    let req = match ports {
        None => inet::request(t, states).to_vec(),
        Some([]) => return Ok(Vec::new()),
        Some(ports) => inet::request_ports(t, states, ports),
    };
    dump(&req, |buf, seq, out| parse_inet_msgs(buf, seq, t, out))
}

/// Dump unix sockets whose state is in `states`, with names, peers and queue lengths.
pub fn dump_unix(states: StateSet) -> Result<Vec<Socket>, DumpError> {
    dump_unix_detail(states, Detail::default())
}

/// `dump_unix`, with socket memory and shutdown state when `detail` asks (unix sockets have
/// no tcp_info and no timers).
pub fn dump_unix_detail(states: StateSet, detail: Detail) -> Result<Vec<Socket>, DumpError> {
    let req = unix::request(states, detail);
    dump(&req, |buf, seq, out| parse_unix_msgs(buf, seq, detail, out))
}

type Parser<'a> = dyn FnMut(&[u8], u32, &mut Vec<Socket>) -> Result<Progress, DumpError> + 'a;

/// Run a dump, with the retry policy of `with_retry`.
fn dump(
    req: &[u8],
    mut parse: impl FnMut(&[u8], u32, &mut Vec<Socket>) -> Result<Progress, DumpError>,
) -> Result<Vec<Socket>, DumpError> {
    let mut buf = vec![0u8; RECV_BUF];
    with_retry(|| dump_once(req, &mut buf, &mut parse))
}

/// Run `attempt` (sockets, interrupted?) once more if it was disturbed: the receive queue
/// overflowed (ENOBUFS), a signal interrupted it, or the kernel flagged NLM_F_DUMP_INTR
/// because the table changed mid-dump (netlink(7)). A second interrupted dump is kept: it
/// is as good as what ss prints, which ignores the flag.
fn with_retry(
    mut attempt: impl FnMut() -> Result<(Vec<Socket>, bool), DumpError>,
) -> Result<Vec<Socket>, DumpError> {
    let mut retried = false;
    loop {
        match attempt() {
            Ok((socks, interrupted)) if interrupted && !retried => drop(socks),
            Ok((socks, _)) => return Ok(socks),
            Err(e) if is_transient(&e) && !retried => {}
            Err(e) => return Err(e),
        }
        retried = true;
    }
}

fn is_transient(e: &DumpError) -> bool {
    let code = match e {
        DumpError::Kernel(c) => Some(*c),
        DumpError::Io(e) => e.raw_os_error(),
        DumpError::Malformed(_) => None,
    };
    matches!(code, Some(libc::ENOBUFS | libc::EINTR))
}

/// A sequence number for the next request; replies carrying another one are stale.
fn next_seq() -> u32 {
    static SEQ: AtomicU32 = AtomicU32::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Datagrams parsed on the calling thread before reception moves to a thread of its own: a
/// dump still going after these (a hundred or more sockets each) is a big table.
const INLINE_DATAGRAMS: usize = 8;
/// Datagrams the receiving thread may hold ready ahead of the parser.
const AHEAD: usize = 8;

fn dump_once(
    req: &[u8],
    buf: &mut [u8],
    parse: &mut Parser<'_>,
) -> Result<(Vec<Socket>, bool), DumpError> {
    let seq = next_seq();
    let sock = open()?;
    let flags = wire::NLM_F_REQUEST | wire::NLM_F_DUMP;
    send(&sock, wire::SOCK_DIAG_BY_FAMILY, flags, seq, req)?;
    let mut out = Vec::new();
    let mut interrupted = false;
    let mut on_datagram = |data: &[u8], out: &mut Vec<Socket>| -> Result<bool, DumpError> {
        let p = parse(data, seq, out)?;
        interrupted |= p.interrupted;
        if !p.done && data.is_empty() {
            return Err(DumpError::Malformed("dump ended without NLMSG_DONE".into()));
        }
        Ok(p.done)
    };
    for _ in 0..INLINE_DATAGRAMS {
        let n = recv(&sock, buf)?;
        if on_datagram(buf.get(..n).unwrap_or_default(), &mut out)? {
            return Ok((out, interrupted));
        }
    }
    // A big table: the kernel fills the next datagram (inside recvmsg) on a second thread
    // while this one parses the last, which takes about half as long again.
    pipelined(&sock, seq, |data| on_datagram(data, &mut out))?;
    Ok((out, interrupted))
}

/// Receive the rest of a dump on a thread of its own and hand each datagram to
/// `on_datagram` here, until it says the dump is done; in line if no thread can start.
fn pipelined(
    sock: &OwnedFd,
    seq: u32,
    mut on_datagram: impl FnMut(&[u8]) -> Result<bool, DumpError>,
) -> Result<(), DumpError> {
    use std::sync::mpsc;
    type Received = Result<(Vec<u8>, usize), DumpError>;
    let (full_tx, full_rx) = mpsc::sync_channel::<Received>(AHEAD);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        let receiver = move || loop {
            let mut b = empty_rx.try_recv().unwrap_or_else(|_| vec![0u8; RECV_BUF]);
            let r = recv(sock, &mut b);
            // The last datagram: DONE or ERROR for this request, or nothing more will come.
            let last = match &r {
                Ok(n) => match wire::walk(b.get(..*n).unwrap_or_default(), seq, |_| Ok(())) {
                    Ok(p) => p.done || *n == 0,
                    Err(_) => true,
                },
                Err(_) => true,
            };
            // A parser that stopped early has dropped its end: stop too.
            if full_tx.send(r.map(|n| (b, n))).is_err() || last {
                return;
            }
        };
        if std::thread::Builder::new()
            .name("netlink-recv".into())
            .spawn_scoped(s, receiver)
            .is_err()
        {
            let mut b = vec![0u8; RECV_BUF];
            loop {
                let n = recv(sock, &mut b)?;
                if on_datagram(b.get(..n).unwrap_or_default())? {
                    return Ok(());
                }
            }
        }
        let result = loop {
            let (b, n) = match full_rx.recv() {
                Ok(r) => r?,
                Err(_) => break Err(DumpError::Malformed("dump ended without NLMSG_DONE".into())),
            };
            let done = on_datagram(b.get(..n).unwrap_or_default());
            let _ = empty_tx.send(b);
            match done {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) => break Err(e),
            }
        };
        // Unblock a receiver waiting to hand over another datagram.
        drop(full_rx);
        result
    })
}

/// A fresh NETLINK_SOCK_DIAG socket, close-on-exec.
fn new_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the returned descriptor is checked and owned below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A socket for request/reply use, with a receive timeout.
fn open() -> io::Result<OwnedFd> {
    let sock = new_socket()?;
    // The kernel builds each reply chunk inside our recvmsg (netlink_dump), so a dump never
    // waits on anything; the timeout only guards against a reply that never comes.
    let timeout = libc::timeval {
        tv_sec: RECV_TIMEOUT_SECS,
        tv_usec: 0,
    };
    // SAFETY: timeout outlives the call and the length is its size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sock)
}

fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data; all-zero is valid (pid 0 = the kernel).
    let mut a: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    a.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    a
}

fn send(sock: &OwnedFd, ty: u16, flags: u16, seq: u32, payload: &[u8]) -> io::Result<()> {
    let len = wire::NLMSG_HDRLEN + payload.len();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&ty.to_ne_bytes());
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(payload);
    fetch::send_all(sock, &msg)
}

/// Receive one datagram from the kernel. MSG_TRUNC makes the kernel report the full length,
/// so a datagram larger than `buf` is an error rather than silently cut; datagrams from any
/// other sender than the kernel (port id 0) are dropped.
fn recv(sock: &OwnedFd, buf: &mut [u8]) -> Result<usize, DumpError> {
    loop {
        let n = match recv_from_kernel(sock, buf, 0) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => r?,
        };
        if n > buf.len() {
            return Err(DumpError::Malformed(format!(
                "datagram of {n} bytes exceeds the {} byte buffer",
                buf.len()
            )));
        }
        return Ok(n);
    }
}

/// recvfrom(2) with MSG_TRUNC and `flags`, skipping datagrams not sent by the kernel (port
/// id 0). The length is the datagram's, which may exceed `buf`.
fn recv_from_kernel(sock: &OwnedFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    loop {
        let mut from = kernel_addr();
        let mut from_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: buf, from and from_len are valid for writes of the lengths passed.
        let n = unsafe {
            libc::recvfrom(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC | flags,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if from.nl_pid == 0 {
            return Ok(n as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TCP4: InetTable = InetTable {
        proto: Proto::Tcp,
        family: Family::Ipv4,
        detail: Detail {
            tcp_info: true,
            memory: true,
            timers: true,
            shutdown: true,
        },
    };
    const ALL_UNIX: Detail = TCP4.detail;

    /// A plausible datagram: a header claiming the right type and sequence over random bytes,
    /// so the fuzzing reaches the message and attribute parsers, not just the header check.
    fn framed(body: &[u8], claimed_len: u32) -> Vec<u8> {
        let mut v = claimed_len.to_ne_bytes().to_vec();
        v.extend_from_slice(&20u16.to_ne_bytes());
        v.extend_from_slice(&2u16.to_ne_bytes());
        v.extend_from_slice(&1u32.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(body);
        v
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut out = Vec::new();
            let _ = parse_inet_msgs(&buf, 1, TCP4, &mut out);
            let _ = parse_unix_msgs(&buf, 1, ALL_UNIX, &mut out);
            let _ = events::parse_events(&buf, &mut out);
        }

        #[test]
        fn random_bodies_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..400),
            slack in 0u32..64,
        ) {
            let claimed = (16 + body.len() as u32).saturating_sub(slack);
            let buf = framed(&body, claimed);
            let mut out = Vec::new();
            let _ = parse_inet_msgs(&buf, 1, TCP4, &mut out);
            let _ = parse_unix_msgs(&buf, 1, ALL_UNIX, &mut out);
            let _ = events::parse_events(&buf, &mut out);
        }
    }

    /// Feed `with_retry` a script of attempt outcomes; returns (result, attempts made).
    fn scripted(
        mut script: Vec<Result<(usize, bool), DumpError>>,
    ) -> (Result<usize, DumpError>, usize) {
        script.reverse();
        let mut calls = 0;
        let r = with_retry(|| {
            calls += 1;
            script
                .pop()
                .expect("no more attempts scripted")
                .map(|(n, intr)| ((0..n).map(|_| stub_socket()).collect(), intr))
        });
        (r.map(|v| v.len()), calls)
    }

    fn stub_socket() -> Socket {
        Socket {
            inode: 1,
            ..Socket::new(
                Proto::Unix,
                Family::Unix,
                crate::model::SockType::Stream,
                crate::model::State::LISTEN,
            )
        }
    }

    #[test]
    fn retry_policy() {
        let (r, n) = scripted(vec![Ok((1, true)), Ok((2, false))]);
        assert_eq!((r.unwrap(), n), (2, 2), "interrupted dump is redone");
        let (r, n) = scripted(vec![Ok((1, true)), Ok((3, true))]);
        assert_eq!((r.unwrap(), n), (3, 2), "second interrupted dump is kept");
        let (r, n) = scripted(vec![Err(DumpError::Kernel(libc::ENOBUFS)), Ok((4, false))]);
        assert_eq!((r.unwrap(), n), (4, 2), "ENOBUFS is retried");
        let (r, n) = scripted(vec![
            Err(DumpError::Io(io::Error::from_raw_os_error(libc::ENOBUFS))),
            Err(DumpError::Kernel(libc::EINTR)),
        ]);
        assert!(
            matches!(r, Err(DumpError::Kernel(libc::EINTR))) && n == 2,
            "retried once only"
        );
        let (r, n) = scripted(vec![Err(DumpError::Kernel(libc::ENOENT))]);
        assert!(
            matches!(r, Err(DumpError::Kernel(libc::ENOENT))) && n == 1,
            "ENOENT is final"
        );
    }

    #[test]
    fn transient_errors_are_retried_others_not() {
        assert!(is_transient(&DumpError::Kernel(libc::ENOBUFS)));
        assert!(is_transient(&DumpError::Io(io::Error::from_raw_os_error(
            libc::EINTR
        ))));
        assert!(!is_transient(&DumpError::Kernel(libc::ENOENT)));
        assert!(!is_transient(&DumpError::Malformed(String::new())));
    }

    #[test]
    fn unix_family_is_not_an_inet_dump() {
        let r = dump_inet(Proto::Unix, Family::Unix, StateSet::ALL);
        assert!(matches!(r, Err(DumpError::Kernel(libc::EINVAL))));
    }
}
