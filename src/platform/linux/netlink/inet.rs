//! inet_diag (TCP, UDP, raw): the dump request and the reply parser, converting each
//! `struct inet_diag_msg` (include/uapi/linux/inet_diag.h) straight into a `model::Socket`.

use super::info;
use super::wire::{self, Attrs};
use super::DumpError;
use crate::model::{
    CcInfo, CongName, Detail, Endpoint, Extras, Family, OptU32, Proto, Shutdown, SkMem, SockType,
    Socket, State, StateSet, TcpInfo, Timer, TimerKind,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU64;

/// `struct inet_diag_req_v2`: family, protocol, ext, pad, states, then `inet_diag_sockid`.
pub(crate) const REQ_LEN: usize = 56;
/// `struct inet_diag_msg`.
const MSG_LEN: usize = 72;
/// Reply attributes (enum in include/uapi/linux/inet_diag.h).
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_CONG: u16 = 4;
const INET_DIAG_SKMEMINFO: u16 = 7;
const INET_DIAG_SHUTDOWN: u16 = 8;
const INET_DIAG_PROTOCOL: u16 = 10;
const INET_DIAG_SKV6ONLY: u16 = 11;
const INET_DIAG_CGROUP_ID: u16 = 21;

/// What one dump asks for and how replies are labelled.
#[derive(Debug, Clone, Copy)]
pub struct InetTable {
    pub proto: Proto,
    pub family: Family,
    /// Which extension attributes to ask for and keep.
    pub detail: Detail,
}

impl InetTable {
    fn ipproto(self) -> u8 {
        match self.proto {
            Proto::Udp => libc::IPPROTO_UDP as u8,
            Proto::Raw => libc::IPPROTO_RAW as u8,
            _ => libc::IPPROTO_TCP as u8,
        }
    }

    fn sock_type(self) -> SockType {
        match self.proto {
            Proto::Udp => SockType::Dgram,
            Proto::Raw => SockType::Raw,
            _ => SockType::Stream,
        }
    }
}

pub(crate) fn af(family: Family) -> u8 {
    match family {
        Family::Ipv4 => libc::AF_INET as u8,
        Family::Ipv6 => libc::AF_INET6 as u8,
        Family::Unix => libc::AF_UNIX as u8,
    }
}

/// The request payload: every socket of (family, protocol) whose state bit is in `states`.
/// The kernel applies the state mask itself, so a LISTEN-only dump never walks the
/// established hash (net/ipv4/inet_diag.c, inet_diag_dump_icsk).
///
/// TCP is never asked for CLOSE: a TCP socket leaves the hash tables the kernel dumps before
/// its state becomes CLOSE (tcp_set_state unhashes first, so that no closed socket sits in
/// them), so no reply could carry one, while asking makes the kernel walk the whole
/// established hash for `-l` (LISTEN and CLOSE, as ss asks): 15 ms of a listener listing
/// among 70k connections.
pub(crate) fn request(t: InetTable, states: StateSet) -> [u8; REQ_LEN] {
    let states = kernel_states(t.proto, states);
    let mut r = [0u8; REQ_LEN];
    r[0] = af(t.family);
    r[1] = t.ipproto();
    r[2] = ext_bits(t.detail);
    r[4..8].copy_from_slice(&states.to_ne_bytes());
    r
}

/// The state mask sent for `proto`'s table (`request`: TCP without CLOSE); 0 asks for nothing.
pub(crate) fn kernel_states(proto: Proto, states: StateSet) -> u32 {
    match proto {
        Proto::Tcp => states.0 & !(1 << State::CLOSE.0),
        _ => states.0,
    }
}

/// Request attribute: a filter program the kernel runs on each socket before filling it.
const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// Filter ops (enum in include/uapi/linux/inet_diag.h).
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_EQ: u8 = 11;

/// `request`, with the kernel asked to fill only sockets whose local port is one of `ports`
/// (not empty), as `ss sport = :P` does: a one-port query among 100k sockets then costs
/// the kernel a comparison per socket, not a reply each.
pub(crate) fn request_ports(t: InetTable, states: StateSet, ports: &[u16]) -> Vec<u8> {
    let code = local_port_bytecode(ports);
    let mut r = request(t, states).to_vec();
    r.extend_from_slice(
        &u16::try_from(4 + code.len())
            .unwrap_or(u16::MAX)
            .to_ne_bytes(),
    );
    r.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    r.extend_from_slice(&code);
    r
}

/// The filter program "local port is ports[0], or ports[1], ...", built as ss builds an `or`
/// of `sport = :P` (ssfilter_bytecode): each test is `S_EQ` (yes: 8 bytes on, to its own
/// end; no: 12, past it) and its port; between two tests a `JMP` whose "no" (a JMP always
/// takes it) skips to the very end. A test that holds lands on the JMP and so at the end
/// (accept); one that fails lands on the next test, the last one past the end (reject). The
/// kernel's audit (inet_diag_bc_audit) wants every "no" target on the chain of "yes" jumps
/// from the start, which this is.
fn local_port_bytecode(ports: &[u16]) -> Vec<u8> {
    let op = |code: u8, yes: u8, no: u16| {
        let mut v = vec![code, yes];
        v.extend_from_slice(&no.to_ne_bytes());
        v
    };
    let mut out = Vec::with_capacity(ports.len() * 12);
    for (i, &port) in ports.iter().enumerate() {
        out.extend(op(INET_DIAG_BC_S_EQ, 8, 12));
        out.extend(op(0, 0, port));
        let rest = (ports.len() - i - 1) * 12;
        if rest > 0 {
            // The tests after this JMP take `rest - 4` bytes.
            out.extend(op(
                INET_DIAG_BC_JMP,
                4,
                u16::try_from(rest).unwrap_or(u16::MAX),
            ));
        }
    }
    out
}

/// idiag_ext: bit (attribute - 1) asks for that attribute. VEGASINFO asks the congestion
/// control for its details, whichever attribute it answers with (Vegas, DCTCP or BBR), as
/// ss -i does. Timers, shutdown, cookie and cgroup come without asking.
fn ext_bits(d: Detail) -> u8 {
    let bit = |a: u16| 1u8 << (a - 1);
    let mut ext = 0;
    if d.tcp_info {
        ext |= bit(INET_DIAG_INFO) | bit(info::INET_DIAG_VEGASINFO) | bit(INET_DIAG_CONG);
    }
    if d.memory {
        ext |= bit(INET_DIAG_SKMEMINFO);
    }
    ext
}

/// Parse one reply datagram of an inet dump, appending a `Socket` per message to `out`.
/// Pure: used on live replies and on crafted buffers in tests and fuzzing.
pub fn parse_inet_msgs(
    buf: &[u8],
    seq: u32,
    t: InetTable,
    out: &mut Vec<Socket>,
) -> Result<wire::Progress, DumpError> {
    wire::walk(buf, seq, |m| {
        out.push(parse_one(m, t)?);
        Ok(())
    })
}

fn addr(b: &[u8], family: Family) -> Option<IpAddr> {
    match family {
        Family::Ipv4 => {
            let s = b.get(..4)?;
            Some(IpAddr::V4(Ipv4Addr::new(s[0], s[1], s[2], s[3])))
        }
        _ => {
            let s: [u8; 16] = b.get(..16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(s)))
        }
    }
}

/// The sock_diag cookie: two native u32 halves, low first (sock_diag_save_cookie).
pub(crate) fn cookie_at(b: &[u8], off: usize) -> Option<NonZeroU64> {
    let lo = wire::u32_at(b, off)?;
    let hi = wire::u32_at(b, off.checked_add(4)?)?;
    NonZeroU64::new(u64::from(hi) << 32 | u64::from(lo))
}

fn parse_one(m: &[u8], t: InetTable) -> Result<Socket, DumpError> {
    let short = || DumpError::Malformed(format!("inet_diag_msg of {} bytes", m.len()));
    let head = m.get(..MSG_LEN).ok_or_else(short)?;
    let family = match head.first().copied().map(i32::from) {
        Some(libc::AF_INET) => Family::Ipv4,
        Some(libc::AF_INET6) => Family::Ipv6,
        other => {
            return Err(DumpError::Malformed(format!(
                "inet_diag_msg with family {other:?}"
            )))
        }
    };
    let state = State(head.get(1).copied().ok_or_else(short)?);
    let field = |off| wire::u32_at(head, off).ok_or_else(short);
    let local = Endpoint::Inet {
        addr: addr(head.get(8..).unwrap_or_default(), family).ok_or_else(short)?,
        port: wire::u16_be_at(head, 4).ok_or_else(short)?,
    };
    let remote = Endpoint::Inet {
        addr: addr(head.get(24..).unwrap_or_default(), family).ok_or_else(short)?,
        port: wire::u16_be_at(head, 6).ok_or_else(short)?,
    };
    let iface = field(40)?;
    let inode = u64::from(field(68)?);
    // TIME-WAIT and request (SYN-RECV) minisockets have no owner: the kernel writes uid 0
    // and inode 0 for them (inet_twsk_diag_fill, inet_req_diag_fill), which is not root.
    let minisock = inode == 0 && matches!(state, State::TIME_WAIT | State::SYN_RECV);
    let uid = (!minisock).then_some(field(64)?);

    let d = t.detail;
    let mut x = Parts::default();
    if d.timers {
        // idiag_timer, idiag_retrans, idiag_expires (inet_sk_diag_fill, inet_twsk_diag_fill).
        let byte = |off| head.get(off).copied().unwrap_or(0);
        x.timer = TimerKind::from_code(byte(2)).map(|kind| Timer {
            kind,
            retrans: byte(3),
            expires_ms: wire::u32_at(head, 52).unwrap_or(0),
        });
    }
    let mut v6only = None;
    let mut cgroup = None;
    let mut attrs = Attrs::new(m.get(MSG_LEN..).unwrap_or_default());
    for (ty, val) in attrs.by_ref() {
        match ty {
            // Sent only for IPv6 sockets in LISTEN or CLOSE (inet_diag_msg_attrs_fill).
            INET_DIAG_SKV6ONLY if family == Family::Ipv6 => {
                v6only = val.first().map(|&b| b != 0);
            }
            INET_DIAG_CGROUP_ID => cgroup = wire::u64_at(val, 0).and_then(NonZeroU64::new),
            INET_DIAG_INFO if d.tcp_info && t.proto == Proto::Tcp => {
                x.tcp_info = Some(info::tcp_info(val));
            }
            INET_DIAG_CONG if d.tcp_info => x.cong = CongName::new(val),
            info::INET_DIAG_VEGASINFO | info::INET_DIAG_DCTCPINFO | info::INET_DIAG_BBRINFO
                if d.tcp_info =>
            {
                x.cc = info::cc_info(ty, val);
            }
            INET_DIAG_SKMEMINFO if d.memory => x.skmem = info::skmem(val),
            INET_DIAG_SHUTDOWN if d.shutdown => x.shutdown = val.first().map(|&b| Shutdown(b)),
            _ => {}
        }
    }
    if attrs.bad() {
        return Err(DumpError::Malformed("inet_diag attribute overruns".into()));
    }

    Ok(Socket {
        proto: t.proto,
        family,
        sock_type: t.sock_type(),
        state,
        local: Some(local),
        remote: Some(remote),
        recv_q: OptU32::some(field(56)?),
        send_q: OptU32::some(field(60)?),
        inode,
        uid: uid.into(),
        v6only,
        peer_inode: None,
        iface: OptU32::new((iface != 0).then_some(iface)),
        netns: None,
        cgroup,
        cookie: cookie_at(head, 44),
        extras: x.into_extras(),
    })
}

/// One close notification of the destroy multicast groups (sock_diag_broadcast_destroy,
/// built by inet_diag_handler_get_info): an inet_diag_msg with INET_DIAG_PROTOCOL and, for
/// TCP, tcp_info, but no uid or inode (the kernel zeroes them). `None` for protocols the
/// model has no name for (UDP-Lite shares the UDP groups).
pub(crate) fn parse_event(m: &[u8]) -> Result<Option<Socket>, DumpError> {
    let proto = Attrs::new(m.get(MSG_LEN..).unwrap_or_default())
        .find(|&(ty, _)| ty == INET_DIAG_PROTOCOL)
        .and_then(|(_, v)| v.first().copied())
        .map(i32::from);
    let proto = match proto {
        Some(libc::IPPROTO_TCP) => Proto::Tcp,
        Some(libc::IPPROTO_UDP) => Proto::Udp,
        _ => return Ok(None),
    };
    let t = InetTable {
        proto,
        // parse_one takes the family from the message itself.
        family: Family::Ipv4,
        detail: Detail {
            tcp_info: true,
            ..Detail::default()
        },
    };
    let mut s = parse_one(m, t)?;
    s.uid = OptU32::NONE;
    Ok(Some(s))
}

/// Extension attributes as they arrive, in any order; assembled once all are read.
#[derive(Default)]
struct Parts {
    tcp_info: Option<TcpInfo>,
    cong: Option<CongName>,
    cc: Option<CcInfo>,
    skmem: Option<SkMem>,
    timer: Option<Timer>,
    shutdown: Option<Shutdown>,
}

impl Parts {
    /// `None` when nothing was found: a socket without extras costs no allocation.
    fn into_extras(self) -> Option<Box<Extras>> {
        let any = self.tcp_info.is_some()
            || self.skmem.is_some()
            || self.timer.is_some()
            || self.shutdown.is_some();
        if !any {
            return None;
        }
        let tcp_info = self.tcp_info.map(|mut i| {
            i.congestion = self.cong;
            i.cc_info = self.cc;
            info::finish(&mut i);
            i
        });
        Some(Box::new(Extras {
            tcp_info,
            skmem: self.skmem,
            timer: self.timer,
            shutdown: self.shutdown,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::tests::{attr, done, msg};
    use super::*;

    const TCP6: InetTable = InetTable {
        proto: Proto::Tcp,
        family: Family::Ipv6,
        detail: Detail {
            tcp_info: false,
            memory: false,
            timers: false,
            shutdown: false,
        },
    };
    const ALL: Detail = Detail {
        tcp_info: true,
        memory: true,
        timers: true,
        shutdown: true,
    };

    /// A crafted inet_diag_msg: [::1]:8080 -> [2001:db8::2]:443, state, queues 3/128,
    /// uid 1000, inode 4242, if 2.
    fn diag(family: u8, state: u8, inode: u32, attrs: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; MSG_LEN];
        m[0] = family;
        m[1] = state;
        m[4..6].copy_from_slice(&8080u16.to_be_bytes());
        m[6..8].copy_from_slice(&443u16.to_be_bytes());
        m[8..24].copy_from_slice(&Ipv6Addr::LOCALHOST.octets());
        m[24..40].copy_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        m[40..44].copy_from_slice(&2u32.to_ne_bytes());
        m[56..60].copy_from_slice(&3u32.to_ne_bytes());
        m[60..64].copy_from_slice(&128u32.to_ne_bytes());
        m[64..68].copy_from_slice(&1000u32.to_ne_bytes());
        m[68..72].copy_from_slice(&inode.to_ne_bytes());
        m.extend_from_slice(attrs);
        msg(wire::SOCK_DIAG_BY_FAMILY, 2, 1, &m)
    }

    fn parse(buf: &[u8], t: InetTable) -> Result<Vec<Socket>, DumpError> {
        let mut v = Vec::new();
        parse_inet_msgs(buf, 1, t, &mut v).map(|_| v)
    }

    #[test]
    fn fields_and_attributes() {
        let mut a = attr(INET_DIAG_SKV6ONLY, &[0]);
        a.extend(attr(INET_DIAG_CGROUP_ID, &77u64.to_ne_bytes()));
        let mut buf = diag(libc::AF_INET6 as u8, 10, 4242, &a);
        buf.extend(done(1, 0));
        let s = parse(&buf, TCP6).unwrap();
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(
            (s.proto, s.family, s.sock_type),
            (Proto::Tcp, Family::Ipv6, SockType::Stream)
        );
        assert_eq!(s.state, State::LISTEN);
        assert_eq!(s.local.as_ref().and_then(Endpoint::port), Some(8080));
        assert_eq!(
            s.local.as_ref().and_then(Endpoint::ip),
            Some("::1".parse().unwrap())
        );
        assert_eq!(s.remote.as_ref().and_then(Endpoint::port), Some(443));
        assert_eq!((s.recv_q.get(), s.send_q.get()), (Some(3), Some(128)));
        assert_eq!(
            (s.inode, s.uid.get(), s.iface.get()),
            (4242, Some(1000), Some(2))
        );
        assert_eq!((s.v6only, s.cgroup), (Some(false), NonZeroU64::new(77)));
    }

    #[test]
    fn ipv4_uses_first_four_address_bytes_and_ignores_v6only() {
        let buf = diag(libc::AF_INET as u8, 1, 5, &attr(INET_DIAG_SKV6ONLY, &[1]));
        let t = InetTable {
            proto: Proto::Udp,
            family: Family::Ipv4,
            detail: Detail::default(),
        };
        let s = parse(&buf, t).unwrap().remove(0);
        // ::1 has its first four bytes zero.
        assert_eq!(
            s.local.and_then(|e| e.ip()),
            Some("0.0.0.0".parse().unwrap())
        );
        assert_eq!(
            s.remote.and_then(|e| e.ip()),
            Some("32.1.13.184".parse().unwrap())
        );
        assert_eq!((s.v6only, s.sock_type), (None, SockType::Dgram));
    }

    #[test]
    fn time_wait_has_no_uid_and_no_v6only() {
        let s = parse(&diag(libc::AF_INET6 as u8, 6, 0, &[]), TCP6)
            .unwrap()
            .remove(0);
        assert_eq!((s.uid.get(), s.v6only, s.inode), (None, None, 0));
    }

    #[test]
    fn truncated_and_garbage_are_malformed() {
        let good = diag(libc::AF_INET6 as u8, 10, 1, &attr(INET_DIAG_SKV6ONLY, &[1]));
        for cut in 1..good.len() {
            // Re-stamp the length so the message header is consistent but the body short.
            let mut b = good[..cut].to_vec();
            if b.len() >= 4 {
                b[..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            }
            let r = parse(&b, TCP6);
            // The bare message (no attributes) is valid, and so is dropping only the last
            // attribute's padding.
            let bare = wire::NLMSG_HDRLEN + MSG_LEN;
            if cut == bare || cut >= bare + 5 {
                assert!(r.is_ok(), "cut {cut}: {r:?}");
            } else {
                assert!(
                    matches!(r, Err(DumpError::Malformed(_))),
                    "cut {cut}: {r:?}"
                );
            }
        }
        let bad_family = diag(99, 10, 1, &[]);
        assert!(matches!(
            parse(&bad_family, TCP6),
            Err(DumpError::Malformed(_))
        ));
    }

    /// The extension attributes of one TCP socket, as the kernel sends them with -i -m.
    fn extension_attrs() -> Vec<u8> {
        let mut a = attr(INET_DIAG_SHUTDOWN, &[2]);
        a.extend(attr(INET_DIAG_INFO, &info::tests::full_info()));
        a.extend(attr(INET_DIAG_CONG, b"cubic\0"));
        let mem: Vec<u8> = (1u32..=9).flat_map(|x| x.to_ne_bytes()).collect();
        a.extend(attr(INET_DIAG_SKMEMINFO, &mem));
        a
    }

    /// `diag` with idiag_timer, idiag_retrans, idiag_expires and a cookie set.
    fn diag_with_timer(timer: u8, detail: Detail) -> Result<Socket, DumpError> {
        let mut buf = diag(libc::AF_INET6 as u8, 1, 9, &extension_attrs());
        let m = wire::NLMSG_HDRLEN;
        buf[m + 2] = timer;
        buf[m + 3] = 3;
        buf[m + 44..m + 48].copy_from_slice(&0x89ab_cdefu32.to_ne_bytes());
        buf[m + 48..m + 52].copy_from_slice(&0x0123_4567u32.to_ne_bytes());
        buf[m + 52..m + 56].copy_from_slice(&7250u32.to_ne_bytes());
        let t = InetTable { detail, ..TCP6 };
        parse(&buf, t).map(|mut v| v.remove(0))
    }

    #[test]
    fn extras_only_when_asked() {
        let s = diag_with_timer(2, Detail::default()).unwrap();
        assert_eq!(s.extras, None, "nothing asked, nothing kept");
        assert_eq!(s.cookie.map(NonZeroU64::get), Some(0x0123_4567_89ab_cdef));

        let s = diag_with_timer(2, ALL).unwrap();
        let x = s.extras.expect("extras");
        assert_eq!(
            x.timer,
            Some(Timer {
                kind: TimerKind::Keepalive,
                expires_ms: 7250,
                retrans: 3
            })
        );
        assert_eq!(x.shutdown, Some(Shutdown(2)));
        let i = x.tcp_info.expect("tcp_info");
        assert_eq!(
            i.congestion.map(|c| c.to_string()).as_deref(),
            Some("cubic")
        );
        assert_eq!((i.mss.get(), i.cwnd.get()), (Some(16_001), Some(80_001)));
        assert!(i.send_bps.is_some(), "computed once all attributes are in");
        let m = x.skmem.expect("skmem");
        assert_eq!((m.rmem_alloc, m.drops), (1, Some(9)));

        let only_mem = Detail {
            memory: true,
            ..Detail::default()
        };
        let x = diag_with_timer(1, only_mem).unwrap().extras.unwrap();
        assert!(x.tcp_info.is_none() && x.timer.is_none() && x.shutdown.is_none());
        assert!(x.skmem.is_some());
        // No timer pending: nothing to keep.
        let timers = Detail {
            timers: true,
            ..Detail::default()
        };
        let s = diag_with_timer(0, timers).unwrap();
        assert_eq!(s.extras, None);
    }

    #[test]
    fn udp_never_keeps_tcp_info() {
        let t = InetTable {
            proto: Proto::Udp,
            family: Family::Ipv6,
            detail: ALL,
        };
        let buf = diag(libc::AF_INET6 as u8, 7, 3, &extension_attrs());
        let x = parse(&buf, t).unwrap().remove(0).extras.unwrap();
        assert!(x.tcp_info.is_none());
        assert!(x.skmem.is_some());
    }

    #[test]
    fn request_layout() {
        let r = request(TCP6, StateSet::LISTENING);
        assert_eq!(
            (r[0], r[1], r[2]),
            (libc::AF_INET6 as u8, libc::IPPROTO_TCP as u8, 0)
        );
        // INFO, VEGASINFO, CONG and SKMEMINFO: bits 1, 2, 3 and 6, as ss -im asks.
        assert_eq!(
            request(
                InetTable {
                    detail: ALL,
                    ..TCP6
                },
                StateSet::ALL
            )[2],
            0b0100_1110
        );
        assert_eq!(
            u32::from_ne_bytes(r[4..8].try_into().unwrap()),
            1 << State::LISTEN.0,
            "TCP is not asked for CLOSE"
        );
        let udp = request(
            InetTable {
                proto: Proto::Udp,
                ..TCP6
            },
            StateSet::LISTENING,
        );
        assert_eq!(
            u32::from_ne_bytes(udp[4..8].try_into().unwrap()),
            StateSet::LISTENING.0,
            "unconnected UDP sockets are in CLOSE"
        );
    }

    /// The kernel's inet_diag_bc_audit and inet_diag_bc_run over `code` for a socket on local
    /// port `sport`: `None` when the audit refuses the program, else whether it accepts.
    fn kernel_runs(code: &[u8], sport: u16) -> Option<bool> {
        let op = |at: usize| -> Option<(u8, usize, usize, u16)> {
            let b = code.get(at..at + 4)?;
            let no = u16::from_ne_bytes([b[2], b[3]]);
            Some((b[0], usize::from(b[1]), usize::from(no), no))
        };
        // Every "no" target must be on the chain of "yes" jumps from the start (valid_cc).
        let mut chain = vec![0usize];
        let mut at = 0;
        while at < code.len() {
            let (c, yes, no, _) = op(at)?;
            let min = if c == INET_DIAG_BC_S_EQ { 8 } else { 4 };
            let len = code.len() - at;
            if yes < min || yes > len + 4 || yes % 4 != 0 || no < min || no > len + 4 || no % 4 != 0
            {
                return None;
            }
            at += yes;
            chain.push(at);
        }
        if at != code.len() {
            return None;
        }
        let mut at = 0;
        while at < code.len() {
            let (_, yes, no, _) = op(at)?;
            if at + no < code.len() && !chain.contains(&(at + no)) {
                return None;
            }
            at += yes;
        }
        let mut at = 0;
        while at < code.len() {
            let (c, yes, no, _) = op(at)?;
            let holds = match c {
                INET_DIAG_BC_S_EQ => op(at + 4)?.3 == sport,
                INET_DIAG_BC_JMP => false,
                _ => return None,
            };
            at += if holds { yes } else { no };
        }
        Some(at == code.len())
    }

    #[test]
    fn port_bytecode_accepts_exactly_its_ports_and_passes_the_audit() {
        for ports in [&[80][..], &[22, 443], &[1, 2, 3, 65535], &[9; 16]] {
            let code = local_port_bytecode(ports);
            for sport in [0, 1, 2, 3, 9, 22, 80, 443, 8080, 65535] {
                assert_eq!(
                    kernel_runs(&code, sport),
                    Some(ports.contains(&sport)),
                    "{ports:?} on {sport}"
                );
            }
        }
        let req = request_ports(TCP6, StateSet::LISTENING, &[80, 443]);
        assert_eq!(req.len(), REQ_LEN + 4 + 20);
        assert_eq!(u16::from_ne_bytes([req[REQ_LEN], req[REQ_LEN + 1]]), 24);
        assert_eq!(u16::from_ne_bytes([req[REQ_LEN + 2], req[REQ_LEN + 3]]), 1);
    }
}
