//! Evaluates a filter tree against one joined row. Pure.
//!
//! Address semantics follow what ss shows, which is the intersection of its user-space
//! `run_ssfilter` (misc/ss.c) and the kernel's bytecode run (net/ipv4/inet_diag.c
//! `inet_diag_bc_run`): a port condition compares the port only; an IPv4 prefix matches IPv4
//! sockets and IPv4-mapped addresses on IPv6 sockets ("cursed v4 mapped", ss.c
//! `inet2_addr_match`), while an IPv6 prefix (even `::ffff:a.b.c.d`) never matches an IPv4
//! socket; `*`/no address matches any socket.

use super::ast::{Cmp, End, Expr, HostCond, PortSpec, Pred, Prefix, Scope, UserSpec};
use super::glob;
use crate::model::Row;
use crate::model::{Endpoint, Family, Proto, Socket};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Context the evaluator needs beyond the row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ctx {
    /// The host's ip_local_port_range, for `autobound`.
    pub ephemeral: Option<(u16, u16)>,
}

pub fn eval(e: &Expr, row: &Row, ctx: &Ctx) -> bool {
    match e {
        Expr::And(a, b) => eval(a, row, ctx) && eval(b, row, ctx),
        Expr::Or(a, b) => eval(a, row, ctx) || eval(b, row, ctx),
        Expr::Not(a) => !eval(a, row, ctx),
        Expr::Pred(p) => pred(p, row, ctx),
    }
}

/// What the kernel would report for an inet end the model has no value for (a listener's
/// remote end): the unspecified address of the socket's family, port 0.
fn inet_end(sock: &Socket, end: End) -> Option<(IpAddr, u16)> {
    let ep = match end {
        End::Remote => sock.remote.as_ref(),
        _ => sock.local.as_ref(),
    };
    match (ep, sock.family) {
        (Some(Endpoint::Inet { addr, port }), _) => Some((*addr, *port)),
        (None, Family::Ipv4) => Some((Ipv4Addr::UNSPECIFIED.into(), 0)),
        (None, Family::Ipv6) => Some((Ipv6Addr::UNSPECIFIED.into(), 0)),
        _ => None,
    }
}

fn unix_name(sock: &Socket, end: End) -> Vec<u8> {
    let ep = match end {
        End::Remote => sock.remote.as_ref(),
        _ => sock.local.as_ref(),
    };
    match ep {
        Some(Endpoint::Unix(n)) => n.display_bytes(),
        // ss matches an unnamed socket as the empty string.
        _ => Vec::new(),
    }
}

/// First `len` bits of `a` and `b` agree.
fn bits_match(a: &[u8], b: &[u8], len: u8) -> bool {
    let full = usize::from(len / 8);
    let rest = len % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    matches!((a.get(full), b.get(full)), (Some(x), Some(y)) if x & mask == y & mask)
}

pub fn prefix_match(p: &Prefix, addr: IpAddr) -> bool {
    match (p.addr, addr) {
        (IpAddr::V4(pa), IpAddr::V4(a)) => bits_match(&pa.octets(), &a.octets(), p.len),
        (IpAddr::V6(pa), IpAddr::V6(a)) => bits_match(&pa.octets(), &a.octets(), p.len),
        (IpAddr::V4(pa), IpAddr::V6(a)) => a
            .to_ipv4_mapped()
            .is_some_and(|m| bits_match(&pa.octets(), &m.octets(), p.len)),
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

fn port_eq(spec: &PortSpec, proto: Proto, port: u16) -> bool {
    match spec {
        PortSpec::Any => true,
        _ => spec.for_proto(proto) == Some(port),
    }
}

fn host(cond: &HostCond, end: End, sock: &Socket) -> bool {
    match cond {
        HostCond::Unix(pattern) => {
            sock.family == Family::Unix
                && glob::matches_nocase(pattern.as_bytes(), &unix_name(sock, end))
        }
        HostCond::Inet {
            family,
            addrs,
            port,
        } => {
            if family.is_some_and(|f| f != sock.family) {
                return false;
            }
            if addrs.is_empty() && port.as_ref().is_none_or(|p| *p == PortSpec::Any) {
                // `src *`, `src :*`: ss matches every socket, unix ones included.
                return true;
            }
            let Some((a, p)) = inet_end(sock, end) else {
                return false;
            };
            if port.as_ref().is_some_and(|s| !port_eq(s, sock.proto, p)) {
                return false;
            }
            addrs.is_empty() || addrs.iter().any(|pre| prefix_match(pre, a))
        }
    }
}

fn port_cmp(cmp: Cmp, spec: &PortSpec, end: End, sock: &Socket) -> bool {
    if cmp == Cmp::Ne {
        // ss: `sport != X` is `not (sport = X)`.
        return !port_cmp(Cmp::Eq, spec, end, sock);
    }
    if end == End::Either {
        return port_cmp(cmp, spec, End::Local, sock) || port_cmp(cmp, spec, End::Remote, sock);
    }
    if *spec == PortSpec::Any {
        return cmp == Cmp::Eq;
    }
    let (Some((_, have)), Some(want)) = (inet_end(sock, end), spec.for_proto(sock.proto)) else {
        return false;
    };
    match cmp {
        Cmp::Eq | Cmp::Ne => have == want,
        Cmp::Lt => have < want,
        Cmp::Le => have <= want,
        Cmp::Gt => have > want,
        Cmp::Ge => have >= want,
    }
}

/// The bind scope of an address; IPv4-mapped IPv6 addresses are classified as IPv4.
pub fn scope_of(ip: IpAddr) -> Scope {
    let v4 = match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    };
    if let Some(a) = v4 {
        return if a.is_unspecified() {
            Scope::Wildcard
        } else if a.is_loopback() {
            Scope::Loopback
        } else if a.is_private() {
            Scope::Private
        } else if a.is_link_local() {
            Scope::LinkLocal
        } else if a.is_multicast() || a.is_broadcast() {
            Scope::Multicast
        } else {
            Scope::Public
        };
    }
    let IpAddr::V6(a) = ip else {
        return Scope::Public;
    };
    let seg0 = a.segments()[0];
    if a.is_unspecified() {
        Scope::Wildcard
    } else if a.is_loopback() {
        Scope::Loopback
    } else if seg0 & 0xfe00 == 0xfc00 {
        Scope::Private
    } else if seg0 & 0xffc0 == 0xfe80 {
        Scope::LinkLocal
    } else if a.is_multicast() {
        Scope::Multicast
    } else {
        Scope::Public
    }
}

fn pred(p: &Pred, row: &Row, ctx: &Ctx) -> bool {
    let sock = &row.sock;
    match p {
        Pred::States(set) => set.contains(sock.state),
        Pred::Host { end, cond } => host(cond, *end, sock),
        Pred::Port { end, cmp, port } => port_cmp(*cmp, port, *end, sock),
        Pred::Proc(g) => row.owners.as_ref().is_some_and(|os| {
            os.iter()
                .any(|o| glob::matches(g.as_bytes(), o.comm().as_bytes()))
        }),
        Pred::Pid(pid) => row
            .owners
            .as_ref()
            .is_some_and(|os| os.iter().any(|o| o.pid == *pid)),
        Pred::User(UserSpec::Uid(u)) | Pred::User(UserSpec::Name { uid: Some(u), .. }) => {
            sock.uid.get() == Some(*u)
        }
        Pred::User(UserSpec::Name { name, uid: None }) => row.rare.user.as_deref() == Some(name),
        Pred::Service(g) => row
            .service
            .as_ref()
            .and_then(|a| a.service.as_ref())
            .is_some_and(|s| glob::matches_nocase(g.as_bytes(), s.name.as_bytes())),
        Pred::Scope(s) => match sock.local.as_ref() {
            Some(Endpoint::Inet { addr, .. }) => scope_of(*addr) == *s,
            _ => false,
        },
        Pred::Autobound => match (sock.local.as_ref(), ctx.ephemeral) {
            (Some(Endpoint::Inet { port, .. }), Some((lo, hi))) => lo <= *port && *port <= hi,
            _ => false,
        },
        Pred::Dev(i) => sock.iface.get() == Some(*i),
        // `net:[N]` is compared as text: as a glob its brackets would be a character class.
        Pred::Netns(pattern) => row.netns.as_ref().is_some_and(|n| {
            let inode = n.inode.to_string();
            *pattern == inode
                || pattern
                    .strip_prefix("net:[")
                    .and_then(|p| p.strip_suffix(']'))
                    == Some(&inode)
                || n.name
                    .as_ref()
                    .is_some_and(|name| glob::matches(pattern.as_bytes(), name.as_bytes()))
        }),
        Pred::Container(pattern) => row.rare.container.as_ref().is_some_and(|c| {
            c.name
                .as_ref()
                .is_some_and(|n| glob::matches(pattern.as_bytes(), n.as_bytes()))
                || (!pattern.is_empty() && c.id.starts_with(pattern.as_str()))
        }),
        Pred::Unit(pattern) => row
            .rare
            .unit
            .as_ref()
            .is_some_and(|u| glob::matches(pattern.as_bytes(), u.name.as_bytes())),
        Pred::HostNetns => row.netns.as_ref().is_some_and(|n| n.host),
        Pred::Cgroup { id, .. } => id.is_some() && sock.cgroup.map(|c| c.get()) == *id,
    }
}
