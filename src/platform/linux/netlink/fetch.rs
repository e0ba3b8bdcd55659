//! Sockets by identity: sock_diag's exact lookup (a request without NLM_F_DUMP naming both
//! ends, the interface and the cookie), many requests per `sendto`. What a repeated read
//! (`watch`) asks about the few sockets a glimpse found new or changed, instead of dumping
//! every socket again. Connections only: a listener lookup goes through the listening
//! hash's scoring and SO_REUSEPORT selection and may land on another member of a group
//! (a cookie mismatch), so listeners are dumped instead (LISTEN only: the listening hash).

use super::{inet, kernel_addr, open, recv, wire, DumpError, InetTable, RECV_BUF};
use crate::model::{Detail, Family, Glimpse, Proto, Socket, State, StateSet};
use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

/// Requests per `sendto`: their replies (each a small skb) must fit the receive buffer, or
/// the kernel drops them.
const BATCH: usize = 64;

/// One netlink socket for a series of fetches.
pub struct Fetcher {
    sock: OwnedFd,
    buf: Vec<u8>,
    seq: u32,
}

impl Fetcher {
    pub fn new() -> io::Result<Fetcher> {
        Ok(Fetcher {
            sock: open()?,
            buf: vec![0u8; RECV_BUF],
            seq: 1,
        })
    }

    /// The full record (as a dump gives it, with the extras `detail` names) of each
    /// glimpsed TCP socket still there, appended to `out`. A socket that closed since, or
    /// whose addresses a newer socket took, is left out.
    pub fn fetch_tcp(
        &mut self,
        which: &[Glimpse],
        detail: Detail,
        out: &mut Vec<Socket>,
    ) -> Result<(), DumpError> {
        let (listeners, conns): (Vec<&Glimpse>, Vec<&Glimpse>) =
            which.iter().partition(|g| g.state == State::LISTEN);
        for chunk in conns.chunks(BATCH) {
            self.exact(chunk, detail, out)?;
        }
        if !listeners.is_empty() {
            let wanted: HashSet<u64> = listeners.iter().map(|g| g.cookie.get()).collect();
            for family in [Family::Ipv4, Family::Ipv6] {
                if !listeners.iter().any(|g| g.family == family) {
                    continue;
                }
                let all = super::dump_inet_detail(Proto::Tcp, family, StateSet::LISTENING, detail)?;
                out.extend(
                    all.into_iter()
                        .filter(|s| s.cookie.is_some_and(|c| wanted.contains(&c.get()))),
                );
            }
        }
        Ok(())
    }

    /// One batch of exact requests, sent at once; every request is answered (a reply, or an
    /// error: ENOENT or ESTALE for a socket gone).
    fn exact(
        &mut self,
        which: &[&Glimpse],
        detail: Detail,
        out: &mut Vec<Socket>,
    ) -> Result<(), DumpError> {
        let base = self.seq;
        self.seq = self.seq.wrapping_add(which.len() as u32 + 1);
        let mut msg = Vec::with_capacity(which.len() * (wire::NLMSG_HDRLEN + inet::REQ_LEN));
        for (i, g) in which.iter().enumerate() {
            let req = request(g, detail);
            let len = (wire::NLMSG_HDRLEN + req.len()) as u32;
            msg.extend_from_slice(&len.to_ne_bytes());
            msg.extend_from_slice(&wire::SOCK_DIAG_BY_FAMILY.to_ne_bytes());
            msg.extend_from_slice(&wire::NLM_F_REQUEST.to_ne_bytes());
            msg.extend_from_slice(&base.wrapping_add(i as u32).to_ne_bytes());
            msg.extend_from_slice(&0u32.to_ne_bytes());
            msg.extend_from_slice(&req);
        }
        send_all(&self.sock, &msg)?;
        let mut answered = vec![false; which.len()];
        let mut left = which.len();
        while left > 0 {
            let n = recv(&self.sock, &mut self.buf)?;
            if n == 0 {
                return Err(DumpError::Malformed("no answer to an exact request".into()));
            }
            let data = self.buf.get(..n).unwrap_or_default();
            for (seq, m) in messages(data)? {
                let i = seq.wrapping_sub(base) as usize;
                let Some(slot) = answered.get_mut(i).filter(|a| !**a) else {
                    continue; // a stale reply
                };
                let t = InetTable {
                    proto: Proto::Tcp,
                    family: which.get(i).map_or(Family::Ipv4, |g| g.family),
                    detail,
                };
                // ENOENT, ESTALE: gone, or its addresses are a newer socket's now.
                match inet::parse_inet_msgs(m, seq, t, out) {
                    Ok(_) => {}
                    Err(DumpError::Kernel(libc::ENOENT | libc::ESTALE)) => {}
                    Err(e) => return Err(e),
                }
                *slot = true;
                left -= 1;
            }
        }
        Ok(())
    }
}

/// The (sequence number, bytes) of each whole message in a datagram.
fn messages(data: &[u8]) -> Result<Vec<(u32, &[u8])>, DumpError> {
    let mut v = Vec::new();
    let mut off = 0;
    while off < data.len() {
        let rest = data.get(off..).unwrap_or_default();
        let (Some(len), Some(seq)) = (wire::u32_at(rest, 0), wire::u32_at(rest, 8)) else {
            return Err(DumpError::Malformed(format!(
                "truncated header at byte {off}"
            )));
        };
        let len = len as usize;
        if len < wire::NLMSG_HDRLEN || len > rest.len() {
            return Err(DumpError::Malformed(format!("bad message length {len}")));
        }
        v.push((seq, rest.get(..len).unwrap_or_default()));
        off += wire::align4(len);
    }
    Ok(v)
}

/// The `inet_diag_req_v2` naming exactly `g`.
fn request(g: &Glimpse, detail: Detail) -> [u8; inet::REQ_LEN] {
    let t = InetTable {
        proto: Proto::Tcp,
        family: g.family,
        detail,
    };
    let mut r = inet::request(t, StateSet::ALL);
    r[8..10].copy_from_slice(&g.local.1.to_be_bytes());
    r[10..12].copy_from_slice(&g.remote.1.to_be_bytes());
    put_addr(&mut r, 12, g.local.0);
    put_addr(&mut r, 28, g.remote.0);
    r[44..48].copy_from_slice(&g.iface.to_ne_bytes());
    let c = g.cookie.get();
    r[48..52].copy_from_slice(&(c as u32).to_ne_bytes());
    r[52..56].copy_from_slice(&((c >> 32) as u32).to_ne_bytes());
    r
}

fn put_addr(r: &mut [u8], off: usize, a: IpAddr) {
    let b = match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    };
    if let Some(dst) = r.get_mut(off..off + 16) {
        dst.copy_from_slice(&b);
    }
}

/// One `sendto` of a buffer of requests.
pub(super) fn send_all(sock: &OwnedFd, msg: &[u8]) -> io::Result<()> {
    let addr = kernel_addr();
    loop {
        // SAFETY: msg and addr outlive the call; the lengths are theirs.
        let n = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
