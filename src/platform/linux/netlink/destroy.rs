//! SOCK_DESTROY, what `ss -K` sends: ask the kernel to close one TCP or UDP socket, named
//! by its full identity (family, protocol, both addresses and ports, interface and cookie).
//! The kernel aborts it as if by an error (tcp_abort: the peer gets a reset, the owner's
//! next call fails with ECONNABORTED); its process keeps running.
//!
//! The kernel looks the socket up by address, then compares the cookie
//! (sock_diag_check_cookie): a socket that closed and whose addresses were taken by a new
//! one in between is answered with ENOENT (TCP) or ESTALE, never closed by mistake. So a
//! socket without a cookie (read from /proc/net) is refused here rather than sent with
//! "any cookie".

use super::wire;
use super::{inet, open, recv, send, DumpError, RECV_BUF};
use crate::model::{Endpoint, Family, Proto, Socket};
use std::io;
use std::net::IpAddr;
use std::os::fd::OwnedFd;

/// Why a socket was not closed.
#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    /// Not something SOCK_DESTROY can name: the reason, for a human.
    #[error("{0}")]
    NotClosable(&'static str),
    /// The kernel refused, with this errno (see `DestroyError::reason`).
    #[error("{}", kernel_reason(*.0))]
    Kernel(i32),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("malformed reply: {0}")]
    Malformed(String),
}

impl DestroyError {
    /// The kernel's errno, when the kernel refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            DestroyError::Kernel(e) => Some(*e),
            DestroyError::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// What a refusal means here, with what to do about it where there is something.
fn kernel_reason(errno: i32) -> String {
    let what = match errno {
        libc::EOPNOTSUPP => {
            "the kernel cannot close it (built without CONFIG_INET_DIAG_DESTROY, or a socket \
             kind it cannot abort)"
        }
        libc::EPERM | libc::EACCES => {
            "permission denied: closing sockets needs CAP_NET_ADMIN (root)"
        }
        // A cookie mismatch reads the same for TCP (inet_diag_find_one_icsk).
        libc::ENOENT | libc::ESTALE => {
            "not found: already closed, or its addresses now belong to a newer socket"
        }
        _ => "",
    };
    let err = io::Error::from_raw_os_error(errno);
    if what.is_empty() {
        format!("the kernel refused: {err}")
    } else {
        format!("{what} ({err})")
    }
}

/// One netlink socket for a series of SOCK_DESTROY requests (`-K` on many sockets).
pub struct Destroyer {
    sock: OwnedFd,
    buf: Vec<u8>,
}

impl Destroyer {
    pub fn new() -> io::Result<Destroyer> {
        Ok(Destroyer {
            sock: open()?,
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// Close `s`, a socket read by a netlink dump (it needs the cookie). `Ok` once the
    /// kernel confirmed; `DestroyError::Kernel` with its errno otherwise (EOPNOTSUPP, EPERM,
    /// ENOENT and ESTALE are the expected ones).
    pub fn destroy(&mut self, s: &Socket) -> Result<(), DestroyError> {
        let req = request(s)?;
        let seq = super::next_seq();
        let flags = wire::NLM_F_REQUEST | wire::NLM_F_ACK;
        send(&self.sock, wire::SOCK_DESTROY, flags, seq, &req)?;
        loop {
            let n = recv(&self.sock, &mut self.buf).map_err(from_dump)?;
            let data = self.buf.get(..n).unwrap_or_default();
            match wire::walk(data, seq, |_| Ok(())) {
                Ok(p) if p.acked => return Ok(()),
                Ok(_) if n == 0 => {
                    return Err(DestroyError::Malformed("no answer to SOCK_DESTROY".into()))
                }
                Ok(_) => {}
                Err(e) => return Err(from_dump(e)),
            }
        }
    }
}

/// Close one socket: `Destroyer::destroy` with a netlink socket of its own.
pub fn destroy(s: &Socket) -> Result<(), DestroyError> {
    Destroyer::new()?.destroy(s)
}

fn from_dump(e: DumpError) -> DestroyError {
    match e {
        DumpError::Kernel(c) => DestroyError::Kernel(c),
        DumpError::Io(e) => DestroyError::Io(e),
        DumpError::Malformed(m) => DestroyError::Malformed(m),
    }
}

fn put_addr(r: &mut [u8], off: usize, a: IpAddr) {
    let (bytes, len) = match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            (b, 4)
        }
        IpAddr::V6(v6) => (v6.octets(), 16),
    };
    if let (Some(dst), Some(src)) = (r.get_mut(off..off + len), bytes.get(..len)) {
        dst.copy_from_slice(src);
    }
}

/// The `inet_diag_req_v2` naming exactly `s` (its `id` as the dump reported it).
fn request(s: &Socket) -> Result<[u8; inet::REQ_LEN], DestroyError> {
    let proto = match s.proto {
        Proto::Tcp => libc::IPPROTO_TCP as u8,
        Proto::Udp => libc::IPPROTO_UDP as u8,
        Proto::Unix => {
            return Err(DestroyError::NotClosable(
                "unix sockets cannot be closed by the kernel's sock_diag",
            ))
        }
        Proto::Raw => {
            return Err(DestroyError::NotClosable(
                "raw sockets are read from /proc/net here and cannot be closed",
            ))
        }
    };
    let (Some(Endpoint::Inet { addr: la, port: lp }), Some(Endpoint::Inet { addr: ra, port: rp })) =
        (&s.local, &s.remote)
    else {
        return Err(DestroyError::NotClosable(
            "the socket's addresses are not known",
        ));
    };
    let cookie = s.cookie.ok_or(DestroyError::NotClosable(
        "no socket cookie (not read through netlink): closing by address alone could hit a \
         newer socket",
    ))?;
    let mut r = [0u8; inet::REQ_LEN];
    r[0] = inet::af(if s.family == Family::Ipv6 {
        Family::Ipv6
    } else {
        Family::Ipv4
    });
    r[1] = proto;
    r[8..10].copy_from_slice(&lp.to_be_bytes());
    r[10..12].copy_from_slice(&rp.to_be_bytes());
    put_addr(&mut r, 12, *la);
    put_addr(&mut r, 28, *ra);
    r[44..48].copy_from_slice(&s.iface.get().unwrap_or(0).to_ne_bytes());
    let c = cookie.get();
    r[48..52].copy_from_slice(&(c as u32).to_ne_bytes());
    r[52..56].copy_from_slice(&((c >> 32) as u32).to_ne_bytes());
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OptU32;
    use crate::model::{testing, State};
    use std::num::NonZeroU64;

    fn tcp(local: &str, remote: &str) -> Socket {
        Socket {
            iface: OptU32::some(3),
            cookie: NonZeroU64::new(0x1122_3344_5566_7788),
            ..testing::tcp(State::ESTABLISHED, local, remote)
        }
    }

    #[test]
    fn request_names_the_whole_identity() {
        let r = request(&tcp("127.0.0.1:8080", "127.0.0.2:40000")).unwrap();
        assert_eq!(
            (r[0], r[1], r[2]),
            (libc::AF_INET as u8, libc::IPPROTO_TCP as u8, 0)
        );
        assert_eq!(&r[8..12], &[0x1f, 0x90, 0x9c, 0x40]);
        assert_eq!(&r[12..16], &[127, 0, 0, 1]);
        assert!(r[16..28].iter().all(|&b| b == 0));
        assert_eq!(&r[28..32], &[127, 0, 0, 2]);
        assert_eq!(u32::from_ne_bytes(r[44..48].try_into().unwrap()), 3);
        // Low half first, each half native-endian: what the dump reported.
        assert_eq!(
            inet::cookie_at(&r, 48).map(NonZeroU64::get),
            Some(0x1122_3344_5566_7788)
        );

        let r = request(&tcp("[::1]:1", "[2001:db8::2]:2")).unwrap();
        assert_eq!(r[0], libc::AF_INET6 as u8);
        assert_eq!(
            &r[12..28],
            &"::1".parse::<std::net::Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(r[43], 2);
    }

    #[test]
    fn what_cannot_be_named_is_refused_without_asking() {
        let mut s = tcp("127.0.0.1:1", "127.0.0.1:2");
        s.cookie = None;
        assert!(matches!(request(&s), Err(DestroyError::NotClosable(_))));
        let mut s = tcp("127.0.0.1:1", "127.0.0.1:2");
        s.proto = Proto::Unix;
        assert!(matches!(request(&s), Err(DestroyError::NotClosable(_))));
        let mut s = tcp("127.0.0.1:1", "127.0.0.1:2");
        s.remote = None;
        assert!(matches!(request(&s), Err(DestroyError::NotClosable(_))));
    }

    #[test]
    fn refusals_say_why() {
        let msg = DestroyError::Kernel(libc::EOPNOTSUPP).to_string();
        assert!(msg.contains("CONFIG_INET_DIAG_DESTROY"), "{msg}");
        let msg = DestroyError::Kernel(libc::EPERM).to_string();
        assert!(msg.contains("CAP_NET_ADMIN"), "{msg}");
        assert_eq!(
            DestroyError::Kernel(libc::ENOENT).errno(),
            Some(libc::ENOENT)
        );
    }
}
