//! unix_diag: the dump request and the reply parser, converting each `struct unix_diag_msg`
//! (include/uapi/linux/unix_diag.h) and its attributes straight into a `model::Socket`.

use super::wire::{self, Attrs};
use super::{info, DumpError};
use crate::model::{
    Detail, Endpoint, Extras, Family, OptU32, Proto, Shutdown, SockType, Socket, State, StateSet,
    Text, UnixName,
};
use std::num::NonZeroU32;

/// `struct unix_diag_req`: family, protocol, pad, states, ino, show, cookie[2].
const REQ_LEN: usize = 24;
/// `struct unix_diag_msg`: family, type, state, pad, ino, cookie[2].
const MSG_LEN: usize = 16;

const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_PEER: u32 = 0x04;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UDIAG_SHOW_MEMINFO: u32 = 0x20;
/// Linux 5.3+; older kernels ignore the bit and send no UID attribute.
const UDIAG_SHOW_UID: u32 = 0x40;

const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_RQLEN: u16 = 4;
/// The same `u32 mem[SK_MEMINFO_VARS]` as INET_DIAG_SKMEMINFO.
const UNIX_DIAG_MEMINFO: u16 = 5;
/// Sent with every socket (sk_diag_fill).
const UNIX_DIAG_SHUTDOWN: u16 = 6;
const UNIX_DIAG_UID: u16 = 7;

/// The request payload: every unix socket whose state bit is in `states`, with name, peer
/// inode, queue lengths and owner uid, and memory when `detail` asks.
pub(crate) fn request(states: StateSet, detail: Detail) -> [u8; REQ_LEN] {
    let mut r = [0u8; REQ_LEN];
    r[0] = libc::AF_UNIX as u8;
    r[4..8].copy_from_slice(&states.0.to_ne_bytes());
    let mut show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
    if detail.memory {
        show |= UDIAG_SHOW_MEMINFO;
    }
    r[12..16].copy_from_slice(&show.to_ne_bytes());
    r
}

/// Parse one reply datagram of a unix dump, appending a `Socket` per message to `out`.
/// Pure: used on live replies and on crafted buffers in tests and fuzzing.
pub fn parse_unix_msgs(
    buf: &[u8],
    seq: u32,
    detail: Detail,
    out: &mut Vec<Socket>,
) -> Result<wire::Progress, DumpError> {
    wire::walk(buf, seq, |m| {
        out.push(parse_one(m, detail)?);
        Ok(())
    })
}

/// The kernel sends `sun_path` as bound (unix_diag_dump_name): abstract names start with a
/// NUL and are kept byte for byte after it (NULs inside are part of the name); a path may
/// carry the terminating NUL(s) the binder included in its address length.
fn name(val: &[u8]) -> Option<UnixName> {
    match val.split_first() {
        Some((0, rest)) => Some(UnixName {
            abstract_ns: true,
            name: Text::from(rest),
        }),
        _ => {
            let end = val.iter().rposition(|&b| b != 0)? + 1;
            Some(UnixName {
                abstract_ns: false,
                name: Text::from(val.get(..end)?),
            })
        }
    }
}

fn parse_one(m: &[u8], detail: Detail) -> Result<Socket, DumpError> {
    let short = || DumpError::Malformed(format!("unix_diag_msg of {} bytes", m.len()));
    let head = m.get(..MSG_LEN).ok_or_else(short)?;
    let sock_type = match head.get(1).copied().map(i32::from) {
        Some(libc::SOCK_STREAM) => SockType::Stream,
        Some(libc::SOCK_DGRAM) => SockType::Dgram,
        Some(libc::SOCK_SEQPACKET) => SockType::Seqpacket,
        other => {
            return Err(DumpError::Malformed(format!(
                "unix_diag_msg with type {other:?}"
            )))
        }
    };
    let state = State(head.get(2).copied().ok_or_else(short)?);
    let inode = u64::from(wire::u32_at(head, 4).ok_or_else(short)?);

    let mut local = None;
    let mut peer_inode = None;
    let (mut recv_q, mut send_q, mut uid) = (None, None, None);
    let (mut skmem, mut shutdown) = (None, None);
    let mut attrs = Attrs::new(m.get(MSG_LEN..).unwrap_or_default());
    for (ty, val) in attrs.by_ref() {
        match ty {
            UNIX_DIAG_NAME => local = name(val).map(Endpoint::Unix),
            UNIX_DIAG_PEER => {
                peer_inode = wire::u32_at(val, 0).and_then(NonZeroU32::new);
            }
            // For a listener: accept-queue length and backlog (unix_diag_get_rqlen), as ss
            // prints them.
            UNIX_DIAG_RQLEN => {
                recv_q = wire::u32_at(val, 0);
                send_q = wire::u32_at(val, 4);
            }
            UNIX_DIAG_UID => uid = wire::u32_at(val, 0),
            UNIX_DIAG_MEMINFO if detail.memory => skmem = info::skmem(val),
            UNIX_DIAG_SHUTDOWN if detail.shutdown => shutdown = val.first().map(|&b| Shutdown(b)),
            _ => {}
        }
    }
    if attrs.bad() {
        return Err(DumpError::Malformed("unix_diag attribute overruns".into()));
    }

    Ok(Socket {
        proto: Proto::Unix,
        family: Family::Unix,
        sock_type,
        state,
        local,
        // The lead resolves the peer's name from the snapshot via peer_inode.
        remote: None,
        recv_q: recv_q.into(),
        send_q: send_q.into(),
        inode,
        uid: uid.into(),
        v6only: None,
        peer_inode,
        iface: OptU32::NONE,
        netns: None,
        cgroup: None,
        // udiag_cookie, as in inet_diag_msg.
        cookie: super::inet::cookie_at(head, 8),
        extras: (skmem.is_some() || shutdown.is_some()).then(|| {
            Box::new(Extras {
                skmem,
                shutdown,
                ..Extras::default()
            })
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::wire::tests::{attr, done, msg};
    use super::*;

    fn diag(ty: u8, state: u8, inode: u32, attrs: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; MSG_LEN];
        m[0] = libc::AF_UNIX as u8;
        m[1] = ty;
        m[2] = state;
        m[4..8].copy_from_slice(&inode.to_ne_bytes());
        m.extend_from_slice(attrs);
        msg(wire::SOCK_DIAG_BY_FAMILY, 2, 9, &m)
    }

    fn parse(buf: &[u8]) -> Result<Vec<Socket>, DumpError> {
        let mut v = Vec::new();
        parse_unix_msgs(buf, 9, Detail::default(), &mut v).map(|_| v)
    }

    fn rqlen(r: u32, w: u32) -> Vec<u8> {
        let mut v = r.to_ne_bytes().to_vec();
        v.extend_from_slice(&w.to_ne_bytes());
        attr(UNIX_DIAG_RQLEN, &v)
    }

    #[test]
    fn listener_with_odd_path() {
        let path = b"/tmp/a b\n\xff\0";
        let mut a = attr(UNIX_DIAG_NAME, path);
        a.extend(rqlen(2, 64));
        a.extend(attr(UNIX_DIAG_UID, &1000u32.to_ne_bytes()));
        let mut buf = diag(libc::SOCK_STREAM as u8, 10, 31, &a);
        buf.extend(done(9, 0));
        let s = parse(&buf).unwrap().remove(0);
        let want = UnixName {
            abstract_ns: false,
            name: Text::from(&b"/tmp/a b\n\xff"[..]),
        };
        assert_eq!(s.local, Some(Endpoint::Unix(want)));
        assert_eq!(
            (s.state, s.sock_type, s.inode),
            (State::LISTEN, SockType::Stream, 31)
        );
        assert_eq!(
            (s.recv_q.get(), s.send_q.get(), s.uid.get()),
            (Some(2), Some(64), Some(1000))
        );
        assert_eq!((s.peer_inode, s.remote), (None, None));
    }

    #[test]
    fn abstract_name_keeps_inner_bytes() {
        let a = attr(UNIX_DIAG_NAME, b"\0x\0y");
        let s = parse(&diag(libc::SOCK_DGRAM as u8, 7, 1, &a))
            .unwrap()
            .remove(0);
        let want = UnixName {
            abstract_ns: true,
            name: Text::from(&b"x\0y"[..]),
        };
        assert_eq!(s.local, Some(Endpoint::Unix(want)));
        assert_eq!(s.sock_type, SockType::Dgram);
    }

    #[test]
    fn unnamed_with_peer_and_no_uid() {
        let mut a = attr(UNIX_DIAG_PEER, &77u32.to_ne_bytes());
        a.extend(rqlen(0, 0));
        let s = parse(&diag(libc::SOCK_SEQPACKET as u8, 1, 76, &a))
            .unwrap()
            .remove(0);
        assert_eq!(
            (s.local, s.peer_inode, s.uid.get()),
            (None, NonZeroU32::new(77), None)
        );
        assert_eq!(s.sock_type, SockType::Seqpacket);
        let zero_peer = attr(UNIX_DIAG_PEER, &0u32.to_ne_bytes());
        let s = parse(&diag(1, 1, 76, &zero_peer)).unwrap().remove(0);
        assert_eq!(s.peer_inode, None);
    }

    #[test]
    fn truncated_and_unknown_type_are_malformed() {
        let good = diag(1, 10, 5, &attr(UNIX_DIAG_PEER, &3u32.to_ne_bytes()));
        for cut in 1..good.len() {
            let mut b = good[..cut].to_vec();
            if b.len() >= 4 {
                b[..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            }
            let r = parse(&b);
            if cut == wire::NLMSG_HDRLEN + MSG_LEN {
                // Header only: a socket with no attributes is valid.
                assert!(r.is_ok(), "cut {cut}: {r:?}");
            } else {
                assert!(
                    matches!(r, Err(DumpError::Malformed(_))),
                    "cut {cut}: {r:?}"
                );
            }
        }
        assert!(matches!(
            parse(&diag(3, 7, 1, &[])),
            Err(DumpError::Malformed(_))
        ));
    }

    #[test]
    fn cookie_memory_and_shutdown() {
        let mem: Vec<u8> = (10u32..19).flat_map(|x| x.to_ne_bytes()).collect();
        let mut a = attr(UNIX_DIAG_MEMINFO, &mem);
        a.extend(attr(UNIX_DIAG_SHUTDOWN, &[1]));
        let mut buf = diag(libc::SOCK_STREAM as u8, 1, 8, &a);
        let m = wire::NLMSG_HDRLEN;
        buf[m + 8..m + 12].copy_from_slice(&5u32.to_ne_bytes());
        buf[m + 12..m + 16].copy_from_slice(&1u32.to_ne_bytes());
        let s = parse(&buf).unwrap().remove(0);
        assert_eq!(s.cookie.map(std::num::NonZeroU64::get), Some(1 << 32 | 5));
        assert_eq!(s.extras, None, "not asked for");
        let all = Detail {
            memory: true,
            shutdown: true,
            ..Detail::default()
        };
        let mut v = Vec::new();
        parse_unix_msgs(&buf, 9, all, &mut v).unwrap();
        let x = v.remove(0).extras.expect("extras");
        assert_eq!(
            x.skmem.map(|m| (m.rmem_alloc, m.drops)),
            Some((10, Some(18)))
        );
        assert_eq!(x.shutdown, Some(Shutdown(1)));
        assert_eq!((x.tcp_info, x.timer), (None, None));
    }

    #[test]
    fn request_asks_for_names_peers_queues_uid() {
        let r = request(StateSet::ALL, Detail::default());
        assert_eq!(r[0], libc::AF_UNIX as u8);
        let show = u32::from_ne_bytes(r[12..16].try_into().unwrap());
        assert_eq!(show, 0x01 | 0x04 | 0x10 | 0x40);
        let mem = Detail {
            memory: true,
            ..Detail::default()
        };
        let show = u32::from_ne_bytes(request(StateSet::ALL, mem)[12..16].try_into().unwrap());
        assert_eq!(show, 0x01 | 0x04 | 0x10 | 0x20 | 0x40);
    }
}
