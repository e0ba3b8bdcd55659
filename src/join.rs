//! Joins a snapshot with owners, user names and the port registry into display rows. Pure.

use crate::model::{Endpoint, Name, OwnerMap, Proto, Rare, Row, Socket, Warning};
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
                s.remote = names.get(&u64::from(p.get())).cloned();
            }
        }
    }
}

/// Attach owners found by the scan; a socket with no holder gets an empty list.
pub fn attach_owners(rows: &mut [Row], map: &OwnerMap) {
    for r in rows.iter_mut() {
        r.owners = if r.sock.inode == 0 {
            Some(map.none())
        } else if map.unsure.contains(&r.sock.inode) {
            None
        } else {
            Some(map.owners(r.sock.inode))
        };
    }
}

/// Give each row a name looked up once per distinct key (NSS and ioctl lookups are slow;
/// rows share the result).
fn attach_names(
    rows: &mut [Row],
    key: impl Fn(&Socket) -> Option<u32>,
    slot: impl Fn(&mut Rare) -> &mut Option<Name>,
    mut lookup: impl FnMut(u32) -> Option<String>,
) {
    let mut cache: HashMap<u32, Option<Name>> = HashMap::new();
    for r in rows.iter_mut() {
        if let Some(k) = key(&r.sock) {
            let name = cache.entry(k).or_insert_with(|| lookup(k).map(Name::from));
            r.rare.set(&slot, name.clone());
        }
    }
}

/// Resolve user names once per uid.
pub fn attach_users(rows: &mut [Row], lookup: impl FnMut(u32) -> Option<String>) {
    attach_names(rows, |s| s.uid.get(), |r| &mut r.user, lookup);
}

/// Resolve interface names once per index.
pub fn attach_ifaces(rows: &mut [Row], lookup: impl FnMut(u32) -> Option<String>) {
    attach_names(rows, |s| s.iface.get(), |r| &mut r.iface, lookup);
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
    if map.privileged && map.hidden_by.is_none() {
        // Root refused by a few processes (e.g. pid 1 under some container runtimes): which
        // of the ownerless sockets they hold, if any, is not known, and the others may have
        // closed between the table's dump and the scan. Said as what it is, not as the cause.
        return Some(Warning::new(
            "owners-hidden",
            format!(
                "{hidden} {socks} no visible owner; {} {procs} refused access even to root \
                 and may hold some of them",
                map.denied_pids
            ),
        ));
    }
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
pub fn sort_rows(rows: &mut [Row]) {
    rows.sort_unstable_by(|a, b| listing_order(&a.sock, &b.sock));
}

pub use crate::model::listing_order;

#[cfg(test)]
mod tests {
    use super::*;
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
        server.peer_inode = std::num::NonZeroU32::new(11);
        let mut client = sock(Family::Unix, None);
        client.inode = 11;
        client.peer_inode = std::num::NonZeroU32::new(10);
        let mut v = vec![server, client];
        attach_unix_peers(&mut v);
        assert_eq!(v[1].remote, Some(name));
        assert_eq!(v[0].remote, None, "unnamed peer stays unnamed");
    }

    #[test]
    fn owners_are_found_none_or_unknown() {
        let owner = |pid| crate::model::Owner::new(pid, "x", 3, None);
        let mut map = OwnerMap::from_pairs(vec![(5, owner(1))]);
        map.unsure.insert(6);
        let mut rows: Vec<Row> = [5, 6, 7, 0]
            .into_iter()
            .map(|inode| {
                Row::new(Socket {
                    inode,
                    ..sock(Family::Unix, None)
                })
            })
            .collect();
        attach_owners(&mut rows, &map);
        let got: Vec<Option<Vec<u32>>> = rows
            .iter()
            .map(|r| r.owners.as_ref().map(|o| o.iter().map(|o| o.pid).collect()))
            .collect();
        assert_eq!(got, [Some(vec![1]), None, Some(vec![]), Some(vec![])]);
    }

    #[test]
    fn hidden_owners_are_counted_and_root_refused_is_not_called_the_cause() {
        let rows: Vec<Row> = [5, 6, 0]
            .into_iter()
            .map(|inode| {
                let mut r = Row::new(Socket {
                    inode,
                    ..sock(Family::Unix, None)
                });
                r.owners = Some(Default::default());
                r
            })
            .collect();
        let mut map = OwnerMap::default();
        assert_eq!(
            owner_visibility_warning(&rows, &map),
            None,
            "nothing refused"
        );
        map.denied_pids = 1;
        let said = |map: &OwnerMap| owner_visibility_warning(&rows, map).map(|w| w.message);
        assert_eq!(
            said(&map).as_deref(),
            Some(
                "2 sockets have no visible owner: 1 process could not be read; run as root \
                 (or grant cap_dac_read_search,cap_sys_ptrace+ep) to see them"
            ),
            "inode 0 never has an owner and is not counted"
        );
        map.privileged = true;
        map.denied_pids = 2;
        assert_eq!(
            said(&map).as_deref(),
            Some(
                "2 sockets have no visible owner; 2 processes refused access even to root and \
                 may hold some of them"
            )
        );
    }
}
