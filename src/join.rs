//! Joins a snapshot with owners, user names and the port registry into display rows. Pure.

use crate::model::{Endpoint, Name, OwnerMap, Proto, Row, Socket, Warning};
use std::collections::HashMap;

/// Give each connected unix socket its peer's name (ss prints the peer's path, or `*`).
pub fn attach_unix_peers(socks: &mut [Socket]) {
    let names: HashMap<u64, Endpoint> = socks
        .iter()
        .filter(|s| s.proto == Proto::Unix)
        .filter_map(|s| s.local.clone().map(|l| (s.inode, l)))
        .collect();
    if names.is_empty() {
        return;
    }
    for s in socks.iter_mut().filter(|s| s.proto == Proto::Unix) {
        if s.remote.is_none() {
            if let Some(p) = s.peer_inode {
                s.remote = names.get(&p.get()).cloned();
            }
        }
    }
}

/// Attach owners found by the scan; a socket with no holder gets an empty list.
pub fn attach_owners(rows: &mut [Row], map: &OwnerMap) {
    for r in rows.iter_mut() {
        r.owners = Some(if r.sock.inode == 0 {
            map.none()
        } else {
            map.owners(r.sock.inode)
        });
    }
}

/// Give each row a name looked up once per distinct key (NSS and ioctl lookups are slow;
/// rows share the result).
fn attach_names(
    rows: &mut [Row],
    key: impl Fn(&Socket) -> Option<u32>,
    slot: impl Fn(&mut Row) -> &mut Option<Name>,
    mut lookup: impl FnMut(u32) -> Option<String>,
) {
    let mut cache: HashMap<u32, Option<Name>> = HashMap::new();
    for r in rows.iter_mut() {
        if let Some(k) = key(&r.sock) {
            let name = cache.entry(k).or_insert_with(|| lookup(k).map(Name::from));
            *slot(r) = name.clone();
        }
    }
}

/// Resolve user names once per uid.
pub fn attach_users(rows: &mut [Row], lookup: impl FnMut(u32) -> Option<String>) {
    attach_names(rows, |s| s.uid, |r| &mut r.user, lookup);
}

/// Resolve interface names once per index.
pub fn attach_ifaces(rows: &mut [Row], lookup: impl FnMut(u32) -> Option<String>) {
    attach_names(rows, |s| s.iface, |r| &mut r.iface, lookup);
}

/// The one line that says which owners could not be seen, why, and how to see them.
pub fn owner_visibility_warning(rows: &[Row], map: &OwnerMap) -> Option<Warning> {
    if map.denied_pids == 0 && map.hidden_by.is_none() {
        return None;
    }
    // Inode 0 (TIME-WAIT, request sockets) never has an owner; don't count it.
    let hidden = rows
        .iter()
        .filter(|r| r.sock.inode != 0 && r.owners.as_ref().is_some_and(|o| o.is_empty()))
        .count();
    if hidden == 0 {
        return None;
    }
    let socks = if hidden == 1 {
        "socket has"
    } else {
        "sockets have"
    };
    let procs = if map.denied_pids == 1 {
        "process"
    } else {
        "processes"
    };
    let why = match (map.denied_pids, &map.hidden_by) {
        (0, Some(opt)) => {
            format!("/proc is mounted with {opt}, which hides other users' processes")
        }
        (n, Some(opt)) => format!(
            "{n} {procs} could not be read and /proc is mounted with {opt}, which hides \
             other users' processes"
        ),
        (n, None) => format!("{n} {procs} could not be read"),
    };
    let how = if map.privileged {
        // Root can still be refused (e.g. a process that is not dumpable under a Yama or
        // LSM policy); saying "run as root" there would be wrong.
        "they refused access even to root".to_string()
    } else {
        "run as root (or grant cap_dac_read_search,cap_sys_ptrace+ep) to see them".to_string()
    };
    Some(Warning::new(
        "owners-hidden",
        format!("{hidden} {socks} no visible owner: {why}; {how}"),
    ))
}

/// Stable order: by protocol, then family, local end, remote end, inode.
///
/// A row is 216 bytes: sorting them in place moved each one about log2(n) times (a 75k-row
/// listing spent 15 ms in memmove). So the order is found on small keys, and each row then
/// moved once, into its place.
pub fn sort_rows(rows: &mut [Row]) {
    let mut keyed: Vec<(Option<InetKey>, u32)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (InetKey::of(&r.sock), i as u32))
        .collect();
    let row = |i: u32| rows.get(i as usize).map(|r| &r.sock);
    keyed.sort_unstable_by(|(ka, a), (kb, b)| match (ka, kb) {
        (Some(x), Some(y)) => x.cmp(y),
        _ => match (row(*a), row(*b)) {
            (Some(x), Some(y)) => listing_order(x, y),
            _ => a.cmp(b),
        },
    });
    let mut from: Vec<u32> = keyed.into_iter().map(|(_, i)| i).collect();
    permute(rows, &mut from);
}

/// Put row `from[k]` at position k for every k, moving each row once (one swap per row,
/// following the permutation's cycles). `from` is consumed: each entry becomes its own index.
fn permute<T>(items: &mut [T], from: &mut [u32]) {
    for start in 0..from.len() {
        let mut k = start;
        loop {
            let src = from.get(k).map_or(k, |&s| s as usize);
            if let Some(f) = from.get_mut(k) {
                *f = k as u32;
            }
            if src == start || src == k || src >= items.len() {
                break;
            }
            items.swap(k, src);
            k = src;
        }
    }
}

/// What `listing_order` compares, for a socket whose ends are IP endpoints (or none): a copy
/// that needs no pointer chasing and orders the same (`None` before an address, IPv4 before
/// IPv6, then address and port).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InetKey {
    proto: Proto,
    family: crate::model::Family,
    sock_type: crate::model::SockType,
    local: Option<(std::net::IpAddr, u16)>,
    remote: Option<(std::net::IpAddr, u16)>,
    inode: u64,
}

impl InetKey {
    /// `None` for a socket with a unix end (its name is compared where it is).
    fn of(s: &Socket) -> Option<InetKey> {
        let end = |e: &Option<Endpoint>| match e {
            None => Some(None),
            Some(Endpoint::Inet { addr, port }) => Some(Some((*addr, *port))),
            Some(Endpoint::Unix(_)) => None,
        };
        Some(InetKey {
            proto: s.proto,
            family: s.family,
            sock_type: s.sock_type,
            local: end(&s.local)?,
            remote: end(&s.remote)?,
            inode: s.inode,
        })
    }
}

/// The listing's order: protocol, family, type, local end, remote end, inode.
pub fn listing_order(x: &Socket, y: &Socket) -> std::cmp::Ordering {
    (x.proto, x.family, x.sock_type, &x.local, &x.remote, x.inode).cmp(&(
        y.proto,
        y.family,
        y.sock_type,
        &y.local,
        &y.remote,
        y.inode,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Row;
    use crate::model::{Family, SockType, State, UnixName};

    fn sock(family: Family, local: Option<Endpoint>) -> Socket {
        Socket {
            local,
            inode: 1,
            ..Socket::new(Proto::Unix, family, SockType::Stream, State::LISTEN)
        }
    }

    #[test]
    fn unix_peers_get_names() {
        let name = Endpoint::Unix(UnixName {
            abstract_ns: false,
            name: "/run/a b".into(),
        });
        let mut server = sock(Family::Unix, Some(name.clone()));
        server.inode = 10;
        server.peer_inode = std::num::NonZeroU64::new(11);
        let mut client = sock(Family::Unix, None);
        client.inode = 11;
        client.peer_inode = std::num::NonZeroU64::new(10);
        let mut v = vec![server, client];
        attach_unix_peers(&mut v);
        assert_eq!(v[1].remote, Some(name));
        assert_eq!(v[0].remote, None, "unnamed peer stays unnamed");
    }

    proptest::proptest! {
        /// The keyed sort puts rows in exactly `listing_order`, for any mix of IPv4, IPv6,
        /// unbound and unix sockets, ties included.
        #[test]
        fn keyed_sort_is_listing_order(
            specs in proptest::collection::vec((0u8..4, 0u8..3, 0u16..3, 0u16..3, 0u64..4), 0..80)
        ) {
            let ep = |kind: u8, n: u16| -> Option<Endpoint> {
                match kind {
                    0 => Some(Endpoint::Inet { addr: [127, 0, 0, n as u8].into(), port: n }),
                    1 => Some(Endpoint::Inet {
                        addr: std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, n).into(),
                        port: 9 - n,
                    }),
                    2 => None,
                    _ => Some(Endpoint::Unix(UnixName {
                        abstract_ns: n == 1,
                        name: format!("/run/{n}").as_str().into(),
                    })),
                }
            };
            let rows: Vec<Row> = specs
                .iter()
                .map(|&(kind, other, l, r, inode)| {
                    let (proto, family) = match kind {
                        0 => (Proto::Tcp, Family::Ipv4),
                        1 => (Proto::Udp, Family::Ipv6),
                        2 => (Proto::Tcp, Family::Ipv6),
                        _ => (Proto::Unix, Family::Unix),
                    };
                    let remote_kind = if kind == 3 { 3 } else { other.min(2) };
                    let mut s = Socket::new(proto, family, SockType::Stream, State::ESTABLISHED);
                    s.local = ep(kind, l);
                    s.remote = if other == 2 { None } else { ep(remote_kind, r) };
                    s.inode = inode;
                    Row::new(s)
                })
                .collect();
            let mut want = rows.clone();
            want.sort_by(|a, b| listing_order(&a.sock, &b.sock));
            let mut got = rows;
            sort_rows(&mut got);
            let socks = |v: &[Row]| v.iter().map(|r| r.sock.clone()).collect::<Vec<_>>();
            // Equal rows may come in either order; their sockets are then equal too.
            proptest::prop_assert_eq!(socks(&got), socks(&want));
        }
    }

    #[test]
    fn permute_moves_each_item_to_its_place() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e'];
        let mut from = vec![3, 0, 4, 1, 2];
        permute(&mut items, &mut from);
        assert_eq!(items, ['d', 'a', 'e', 'b', 'c']);
        assert_eq!(from, [0, 1, 2, 3, 4]);
    }
}
