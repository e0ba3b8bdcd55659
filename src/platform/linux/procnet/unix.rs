//! The unix table, as printed by `unix_seq_show` (net/unix/af_unix.c):
//!
//! `Num RefCount Protocol Flags Type St Inode Path`, "%pK: %08X %08X %08X %04X %02X %5lu"
//! then, for a bound socket, one space and the name byte for byte (abstract names with a
//! leading '@' and their NUL bytes printed as '@'). The name can hold spaces, so it is the
//! rest of the line, never a split field.

use super::{data_lines, dec_u64, fields, hex_u32, shown, Parsed};
use crate::model::{
    Endpoint, Family, OptU32, Proto, SockType, Socket, State, StateSet, Text, UnixName,
};

/// `__SO_ACCEPTCON` in the Flags column: the socket is listening (include/linux/net.h).
const SO_ACCEPTCON: u32 = 1 << 16;

/// Parse the unix table; keeps the sockets whose state is in `states`.
pub fn parse_unix(text: &str, states: StateSet) -> Parsed {
    parse_unix_bytes(text.as_bytes(), states)
}

/// As [`parse_unix`], on the raw bytes of the file (socket paths need not be UTF-8).
pub fn parse_unix_bytes(buf: &[u8], states: StateSet) -> Parsed {
    let mut out = Parsed::default();
    for (n, line) in data_lines(buf) {
        match parse_line(line, states) {
            Ok(Some(s)) => out.sockets.push(s),
            Ok(None) => {}
            Err(reason) => out.bad_lines.push((n, reason)),
        }
    }
    out
}

fn parse_line(line: &[u8], states: StateSet) -> Result<Option<Socket>, String> {
    let mut f = fields(line);
    let mut next = |what: &str| {
        f.next()
            .map(|(s, e)| (&line[s..e], e))
            .ok_or_else(|| format!("truncated: no {what}"))
    };
    let (num, _) = next("slot")?;
    if num.last() != Some(&b':') {
        return Err(format!("bad slot {}", shown(num)));
    }
    next("refcount")?;
    next("protocol")?;
    let (flags, _) = next("flags")?;
    let flags = hex_u32(flags, 8).ok_or_else(|| format!("bad flags {}", shown(flags)))?;
    let (ty, _) = next("type")?;
    let sock_type = match hex_u32(ty, 4) {
        Some(1) => SockType::Stream,
        Some(2) => SockType::Dgram,
        Some(5) => SockType::Seqpacket,
        _ => return Err(format!("bad socket type {}", shown(ty))),
    };
    let (st, _) = next("state")?;
    let st = hex_u32(st, 2).ok_or_else(|| format!("bad state {}", shown(st)))?;
    let (inode, end) = next("inode")?;
    let inode = dec_u64(inode).ok_or_else(|| format!("bad inode {}", shown(inode)))?;

    // The kernel derives St from sk_state and whether a struct socket is attached:
    // SS_CONNECTED (3) / SS_CONNECTING (2) both mean sk_state == TCP_ESTABLISHED, the latter
    // for an embryo still in a listener's accept queue (inode 0, the listener's name; checked
    // on 6.18 by connecting without accepting). SS_UNCONNECTED (1) / SS_DISCONNECTING (4)
    // mean any other state, which for a non-listening unix socket is TCP_CLOSE. Mapping to
    // sk_state is what netlink (and so ss) shows; ss's own /proc fallback prints SYN-SENT and
    // CLOSING for 2 and 4, which are not states a unix socket can be in.
    let state = if flags & SO_ACCEPTCON != 0 {
        State::LISTEN
    } else {
        match st {
            2 | 3 => State::ESTABLISHED,
            1 | 4 => State::CLOSE,
            _ => return Err(format!("unknown state {st:02X}")),
        }
    };
    if !states.contains(state) {
        return Ok(None);
    }

    // Exactly one space separates the inode from the name; further spaces belong to it.
    let local = match line.get(end..) {
        Some([b' ', name @ ..]) if !name.is_empty() => {
            let (abstract_ns, name) = match name {
                [b'@', rest @ ..] => (true, rest),
                _ => (false, name),
            };
            Some(Endpoint::Unix(UnixName {
                abstract_ns,
                name: Text::from(name),
            }))
        }
        _ => None,
    };

    Ok(Some(Socket {
        proto: Proto::Unix,
        family: Family::Unix,
        sock_type,
        state,
        local,
        // Peer names, queues, the owner uid and the peer inode are not in /proc/net/unix.
        remote: None,
        recv_q: OptU32::NONE,
        send_q: OptU32::NONE,
        inode,
        uid: OptU32::NONE,
        v6only: None,
        peer_inode: None,
        iface: OptU32::NONE,
        netns: None,
        cgroup: None,
        cookie: None,
        extras: None,
    }))
}
