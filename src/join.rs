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
/// Rows are big (a couple of hundred bytes) and their addresses compare through enums, so
/// the sort runs on small fixed keys that order inet sockets exactly as `listing_order`
/// does, with the rows' positions beside them, and the rows are moved once at the end.
/// Unix names do not fit a key: rows whose keys tie are compared in full.
pub fn sort_rows(rows: &mut [Row]) {
    let mut keyed: Vec<(SortKey, u32)> = match u32::try_from(rows.len()) {
        Ok(n) => (0..n)
            .map(|i| (sort_key(&rows[i as usize].sock), i))
            .collect(),
        Err(_) => return rows.sort_unstable_by(|a, b| listing_order(&a.sock, &b.sock)),
    };
    keyed.sort_unstable_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| listing_order(&rows[*a as usize].sock, &rows[*b as usize].sock))
    });
    let mut from: Vec<u32> = keyed.into_iter().map(|(_, i)| i).collect();
    permute(rows, &mut from);
}

/// Put `rows[from[i]]` at position i for every i, following each cycle of the permutation
/// with swaps (each row moves once or twice; `from` is used up).
fn permute(rows: &mut [Row], from: &mut [u32]) {
    const DONE: u32 = u32::MAX;
    for start in 0..from.len() {
        let mut at = start;
        loop {
            let next = std::mem::replace(&mut from[at], DONE);
            if next == DONE || next as usize == start {
                break;
            }
            rows.swap(at, next as usize);
            at = next as usize;
        }
    }
}

/// protocol, family, type, then each end: kind (none, inet, unix), IP version, the 16
/// address bytes (an IPv4 address in the first four), port; then the inode. Byte order
/// is significance order, so comparing keys compares sockets.
type SortKey = [u8; 51];

fn sort_key(s: &Socket) -> SortKey {
    let mut k = [0u8; 51];
    k[0] = s.proto as u8;
    k[1] = s.family as u8;
    k[2] = s.sock_type as u8;
    // What follows a unix name is left out: the name decides first, in the full compare.
    if end_key(&mut k[3..23], s.local.as_ref()) && end_key(&mut k[23..43], s.remote.as_ref()) {
        k[43..51].copy_from_slice(&s.inode.to_be_bytes());
    }
    k
}

/// Fill one end's part of a key; `false` for a unix name, which a key cannot order.
fn end_key(k: &mut [u8], end: Option<&Endpoint>) -> bool {
    match end {
        None => true,
        Some(Endpoint::Inet { addr, port }) => {
            k[0] = 1;
            match addr {
                std::net::IpAddr::V4(a) => k[2..6].copy_from_slice(&a.octets()),
                std::net::IpAddr::V6(a) => {
                    k[1] = 1;
                    k[2..18].copy_from_slice(&a.octets());
                }
            }
            k[18..20].copy_from_slice(&port.to_be_bytes());
            true
        }
        Some(Endpoint::Unix(_)) => {
            k[0] = 2;
            false
        }
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

    #[test]
    fn keyed_sort_is_the_listing_order() {
        use crate::model::{testing, Family, SockType, State, UnixName};
        use proptest::prelude::*;
        use proptest::test_runner::TestRunner;
        let addrs = [
            "127.0.0.1",
            "10.0.0.1",
            "0.0.0.0",
            "[::1]",
            "[::]",
            "[::ffff:127.0.0.1]",
            "[fe80::1]",
        ];
        let ports = [0u32, 1, 22, 80, 255, 256, 443, 8080, 65535];
        let ends: Vec<String> = addrs
            .iter()
            .flat_map(|a| ports.iter().map(move |p| format!("{a}:{p}")))
            .collect();
        let unix = |name: &str| {
            Some(Endpoint::Unix(UnixName {
                abstract_ns: name.starts_with('@'),
                name: name.trim_start_matches('@').into(),
            }))
        };
        let n = ends.len();
        let one = (0..n, 0..n, 0u8..6, 0u64..4).prop_map(move |(l, r, kind, inode)| {
            let mut s = testing::tcp(State::ESTABLISHED, &ends[l], &ends[r]);
            match kind {
                0 => s.proto = Proto::Udp,
                1 => s.remote = None,
                2 | 3 => {
                    s.proto = Proto::Unix;
                    s.family = Family::Unix;
                    s.sock_type = if kind == 2 {
                        SockType::Stream
                    } else {
                        SockType::Dgram
                    };
                    s.local = unix(["/run/a", "/run/a b", "@x", "/tmp/z"][l % 4]);
                    s.remote = if r % 2 == 0 { None } else { unix("/run/a") };
                }
                _ => {}
            }
            s.inode = inode;
            Row::new(s)
        });
        let mut runner = TestRunner::default();
        runner
            .run(&proptest::collection::vec(one, 0..60), |mut rows| {
                let mut want: Vec<Socket> = rows.iter().map(|r| r.sock.clone()).collect();
                want.sort_by(listing_order);
                sort_rows(&mut rows);
                for (got, want) in rows.iter().zip(&want) {
                    prop_assert_eq!(listing_order(&got.sock, want), std::cmp::Ordering::Equal);
                }
                Ok(())
            })
            .unwrap();
    }
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
}
