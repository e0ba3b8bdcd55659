//! The tcp/udp/raw tables (v4 and v6 share one format), as printed by `get_tcp4_sock`,
//! `get_tcp6_sock`, `udp4_format_sock`, `__ip6_dgram_sock_seq_show` and `raw_sock_seq_show`
//! in the kernel (net/ipv4/tcp_ipv4.c, net/ipv6/datagram.c, net/ipv4/raw.c):
//!
//! `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...`

use super::{data_lines, dec_u64, fields, hex_u32, shown, Parsed};
use crate::model::{Endpoint, Family, OptU32, Proto, SockType, Socket, State, StateSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parse a tcp/udp/raw table of one family; keeps the sockets whose state is in `states`.
pub fn parse_inet(text: &str, proto: Proto, family: Family, states: StateSet) -> Parsed {
    parse_inet_bytes(text.as_bytes(), proto, family, states)
}

/// As [`parse_inet`], on the raw bytes of the file.
pub fn parse_inet_bytes(buf: &[u8], proto: Proto, family: Family, states: StateSet) -> Parsed {
    let mut out = Parsed::default();
    for (n, line) in data_lines(buf) {
        match parse_line(line, proto, family, states) {
            Ok(Some(s)) => out.sockets.push(s),
            Ok(None) => {}
            Err(reason) => out.bad_lines.push((n, reason)),
        }
    }
    out
}

/// One data line; `Ok(None)` when its state is not wanted.
fn parse_line(
    line: &[u8],
    proto: Proto,
    family: Family,
    states: StateSet,
) -> Result<Option<Socket>, String> {
    let mut f = fields(line).map(|(s, e)| &line[s..e]);
    let mut next = |what: &str| f.next().ok_or_else(|| format!("truncated: no {what}"));

    let sl = next("slot")?;
    if sl.last() != Some(&b':') {
        return Err(format!("bad slot {}", shown(sl)));
    }
    let local = next("local address")?;
    let local = addr_port(local, family).ok_or_else(|| format!("bad address {}", shown(local)))?;
    let remote = next("remote address")?;
    let remote =
        addr_port(remote, family).ok_or_else(|| format!("bad address {}", shown(remote)))?;
    let st = next("state")?;
    // The kernel prints "%02X"; unknown values (BOUND_INACTIVE = 0x0D, anything newer) are
    // kept as State(n) and shown as the kernel numbers them.
    let state = hex_u32(st, 2).ok_or_else(|| format!("bad state {}", shown(st)))?;
    let state = State(state as u8);
    let queues = next("queues")?;
    let (tx, rx) = queues
        .iter()
        .position(|&b| b == b':')
        .and_then(|i| Some((hex_u32(&queues[..i], 8)?, hex_u32(&queues[i + 1..], 8)?)))
        .ok_or_else(|| format!("bad tx_queue:rx_queue {}", shown(queues)))?;
    next("timer")?;
    next("retransmits")?;
    let uid = next("uid")?;
    let uid = dec_u64(uid)
        .and_then(|u| u32::try_from(u).ok())
        .ok_or_else(|| format!("bad uid {}", shown(uid)))?;
    next("timeout")?;
    let inode = next("inode")?;
    let inode = dec_u64(inode).ok_or_else(|| format!("bad inode {}", shown(inode)))?;
    // Every row format (full, TIME-WAIT and request sockets alike) goes on with the socket's
    // refcount and address: a line ending at the inode may have been cut inside it.
    next("refcount")?;
    next("socket pointer")?;

    if !states.contains(state) {
        return Ok(None);
    }
    Ok(Some(Socket {
        proto,
        family,
        sock_type: match proto {
            Proto::Udp => SockType::Dgram,
            Proto::Raw => SockType::Raw,
            _ => SockType::Stream,
        },
        state,
        local: Some(local),
        remote: Some(remote),
        recv_q: OptU32::some(rx),
        // For a listener rx_queue is the accept queue (what ss shows as Recv-Q) but the
        // backlog, ss's Send-Q, is not in /proc (tx_queue is write_seq - snd_una, i.e. 0).
        send_q: OptU32::new((state != State::LISTEN).then_some(tx)),
        inode,
        // A TIME-WAIT socket has no owner: the kernel prints uid 0 for it, which does not mean
        // root (netlink reports the same 0; both backends give None).
        uid: OptU32::new((!(proto == Proto::Tcp && state == State::TIME_WAIT)).then_some(uid)),
        v6only: None,
        peer_inode: None,
        iface: OptU32::NONE,
        netns: None,
        cgroup: None,
        cookie: None,
        extras: None,
    }))
}

/// `0100007F:1538`: the address as 32-bit words printed "%08X" in host byte order (one word
/// for IPv4, four for IPv6), and the port in plain hex. For raw sockets the port is the IP
/// protocol number (ss shows it the same way).
fn addr_port(tok: &[u8], family: Family) -> Option<Endpoint> {
    let colon = tok.iter().position(|&b| b == b':')?;
    let (hex, port) = (&tok[..colon], &tok[colon + 1..]);
    let port = hex_u32(port, 4)? as u16;
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = hex.get(i * 8..i * 8 + 8)?;
        // The kernel printed the in-memory (network order) word as a host-order integer, so
        // the host's byte order turns it back into the address bytes.
        Some(hex_u32(w, 8)?.to_ne_bytes())
    };
    let addr = match family {
        Family::Ipv4 if hex.len() == 8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        Family::Ipv6 if hex.len() == 32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(Endpoint::Inet { addr, port })
}
