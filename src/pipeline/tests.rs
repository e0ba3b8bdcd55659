//! The pipeline on a fake source: no kernel, exact rows, warnings and owner-scan outcome.

use super::*;
use crate::filter;
use crate::model::OptU32;
use crate::model::{Endpoint, Family, Owner, SockType, Socket, State, Warning};
use crate::platform::fake::Fake;
use std::net::{IpAddr, Ipv4Addr};

pub(crate) fn inet(port: u16) -> Option<Endpoint> {
    Some(Endpoint::Inet {
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
    })
}

pub(crate) fn tcp(state: State, local: u16, remote: u16, inode: u64) -> Socket {
    Socket {
        local: inet(local),
        remote: inet(remote),
        inode,
        uid: OptU32::some(1000),
        ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, state)
    }
}

pub(crate) fn owner(pid: u32, comm: &str, fd: u32) -> Owner {
    Owner::new(pid, comm, fd, Some(1000))
}

/// A host with a web server on :8080 (two fork-shared holders), a client connected to it,
/// and a TIME-WAIT leftover.
pub(crate) fn host() -> Fake {
    Fake {
        sockets: vec![
            tcp(State::LISTEN, 8080, 0, 100),
            tcp(State::ESTABLISHED, 8080, 50000, 101),
            tcp(State::ESTABLISHED, 50000, 8080, 102),
            tcp(State::TIME_WAIT, 8080, 50001, 0),
        ],
        owners: vec![
            (100, owner(10, "web", 3)),
            (100, owner(11, "web", 3)),
            (101, owner(11, "web", 5)),
            (102, owner(20, "curl", 4)),
        ],
        ephemeral: Some((32768, 60999)),
        users: [(1000, "alice".to_string())].into(),
        ..Fake::default()
    }
}

pub(super) fn request(states: StateSet, filter: &str) -> Request {
    Request {
        filter: filter::parse_str(filter).unwrap(),
        ..Request::new(Query::inet(true, false, states))
    }
}

fn ports(l: &Listing) -> Vec<(u16, u16)> {
    let port = |e: &Option<Endpoint>| e.as_ref().and_then(Endpoint::port).unwrap_or(0);
    l.rows
        .iter()
        .map(|r| (port(&r.sock.local), port(&r.sock.remote)))
        .collect()
}

#[test]
fn listeners_with_every_holder_named_by_the_registry() {
    let src = host();
    let req = Request {
        owners: true,
        user_names: true,
        ..request(StateSet::LISTENING, "")
    };
    let l = run(&req, &src, &src, &Registry::builtin()).unwrap();
    assert_eq!(ports(&l), [(8080, 0)]);
    let r = &l.rows[0];
    let pids: Vec<u32> = r.owners.as_ref().unwrap().iter().map(|o| o.pid).collect();
    assert_eq!(pids, [10, 11], "both fork-shared holders");
    assert_eq!(r.rare.user.as_deref(), Some("alice"));
    assert_eq!(
        r.service
            .as_ref()
            .and_then(|a| a.service.as_ref())
            .map(|s| s.name.as_str()),
        Some("http-alt")
    );
    assert_eq!(l.owner_scan, Some(OwnerScan::AllProcesses));
    assert!(l.warnings.is_empty());
}

#[test]
fn connections_are_named_by_their_server_side_and_sorted() {
    let src = host();
    let l = run(
        &request(StateSet::CONNECTED, ""),
        &src,
        &src,
        &Registry::builtin(),
    )
    .unwrap();
    assert_eq!(ports(&l), [(8080, 50000), (50000, 8080)]);
    // The client's socket is annotated with the server's port, not its ephemeral one.
    for r in &l.rows {
        assert_eq!(r.service.as_ref().unwrap().port, 8080);
        assert!(r.owners.is_none(), "no owner scan was asked for");
    }
    assert_eq!(l.owner_scan, None);
}

#[test]
fn a_process_filter_scans_owners_without_p_and_keeps_what_matches() {
    let src = host();
    let l = run(
        &request(StateSet::ALL, "proc curl"),
        &src,
        &src,
        &Registry::builtin(),
    )
    .unwrap();
    assert_eq!(ports(&l), [(50000, 8080)]);
    assert!(l.owner_scan.is_some());
}

#[test]
fn hidden_owners_are_said_once_with_the_reason() {
    let mut src = host();
    src.owners.retain(|(inode, _)| *inode != 102);
    src.denied_pids = 1;
    src.read_warnings = vec![Warning::new("malformed-line", "bad line")];
    let req = Request {
        owners: true,
        ..request(StateSet::CONNECTED, "")
    };
    let l = run(&req, &src, &src, &Registry::builtin()).unwrap();
    let kinds: Vec<&str> = l.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, ["malformed-line", "owners-hidden"]);
    assert!(
        l.warnings[1]
            .message
            .starts_with("1 socket has no visible owner: 1 process could not be read"),
        "{}",
        l.warnings[1].message
    );
    let client = l.rows.iter().find(|r| r.sock.inode == 102).unwrap();
    assert_eq!(
        client.owners.as_deref(),
        Some(&[][..]),
        "empty, not a guess"
    );
}

#[test]
fn an_empty_default_listing_says_what_other_states_hold() {
    let src = host();
    let reg = Registry::builtin();
    let req = request(StateSet::CONNECTED, "sport = :8080 and dport = :0");
    assert!(run(&req, &src, &src, &reg).unwrap().rows.is_empty());
    let miss = near_misses(&req, &src, &src, &reg).unwrap().unwrap();
    assert_eq!(
        (miss.asked, miss.listening, miss.other),
        (hint::Asked::Connected, 1, 0)
    );
    // Named states are what the user asked for: no hint.
    let named = request(
        StateSet::of(&[State::ESTABLISHED]),
        "state established and sport = :9",
    );
    assert_eq!(near_misses(&named, &src, &src, &reg).unwrap(), None);
    // Nothing anywhere: no hint either.
    let nothing = request(StateSet::CONNECTED, "sport = :9");
    assert_eq!(near_misses(&nothing, &src, &src, &reg).unwrap(), None);
}

/// A process source that remembers earlier reads (as watch's tracker) and says which inodes
/// each scan asked for.
struct Remembering {
    host: Fake,
    asked: std::sync::Mutex<Vec<Option<Vec<u64>>>>,
}

impl ProcessSource for Remembering {
    fn scan_owners(&self, wanted: crate::model::Wanted<'_>) -> crate::model::OwnerMap {
        let inodes = match &wanted {
            crate::model::Wanted::All => None,
            crate::model::Wanted::Some { inodes } | crate::model::Wanted::Family { inodes, .. } => {
                Some(inodes.iter().copied().collect())
            }
        };
        self.asked.lock().unwrap().push(inodes);
        self.host.scan_owners(wanted)
    }

    fn prefetch(&self) -> bool {
        false
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.host.user_name(uid)
    }

    fn uid_by_name(&self, name: &str) -> Option<u32> {
        self.host.uid_by_name(name)
    }
}

#[test]
fn a_remembering_source_is_asked_for_the_inodes_even_for_every_connection() {
    let procs = Remembering {
        host: host(),
        asked: Default::default(),
    };
    // -antp: a listing of every connection would read every process during the dump.
    let req = Request {
        owners: true,
        ..request(StateSet::ALL, "")
    };
    assert!(owners::scan_during_dump(&req));
    let l = run(&req, &procs.host, &procs, &Registry::builtin()).unwrap();
    assert_eq!(
        procs.asked.lock().unwrap().as_slice(),
        [Some(vec![100, 101, 102])],
        "one scan, for the listed inodes (not TIME-WAIT's 0)"
    );
    let web = l.rows.iter().find(|r| r.sock.inode == 100).unwrap();
    assert_eq!(web.owners.as_ref().unwrap().len(), 2);
}

#[test]
fn owners_read_during_the_dump_are_cut_to_the_listed_sockets() {
    let mut h = host();
    h.sockets.push(Socket {
        inode: 200,
        ..Socket::new(Proto::Udp, Family::Ipv4, SockType::Dgram, State::CLOSE)
    });
    h.owners.push((200, owner(30, "dns", 7)));
    // -antp: every process's owners are read during the dump, the UDP socket's too.
    let req = Request {
        owners: true,
        ..request(StateSet::ALL, "")
    };
    assert!(owners::scan_during_dump(&req));
    let l = run(&req, &h, &h, &Registry::builtin()).unwrap();
    assert!(l.rows.iter().all(|r| r.sock.proto == Proto::Tcp));
    let web = l.rows.iter().find(|r| r.sock.inode == 100).unwrap();
    let owners = web.owners.as_ref().unwrap();
    assert_eq!(owners.iter().map(|o| o.pid).collect::<Vec<_>>(), [10, 11]);
    assert_eq!(owners.table_len(), 4, "the UDP socket's holder is not kept");
}

/// A socket source that says which query each read was.
struct Recording {
    host: Fake,
    queries: std::sync::Mutex<Vec<Query>>,
}

impl SocketSource for Recording {
    fn read_sockets(&self, q: &Query) -> crate::error::Result<crate::model::Snapshot> {
        self.queries.lock().unwrap().push(q.clone());
        self.host.read_sockets(q)
    }

    fn ephemeral_range(&self) -> Option<(u16, u16)> {
        self.host.ephemeral_range()
    }

    fn iface_name(&self, index: u32) -> Option<String> {
        self.host.iface_name(index)
    }
}

#[test]
fn a_filter_that_pins_the_local_port_narrows_the_read() {
    let src = Recording {
        host: host(),
        queries: Default::default(),
    };
    let reg = Registry::builtin();
    let l = run(
        &request(StateSet::ALL, "sport = :8080"),
        &src,
        &src.host,
        &reg,
    )
    .unwrap();
    assert_eq!(ports(&l), [(8080, 0), (8080, 50000), (8080, 50001)]);
    let asked = std::mem::take(&mut *src.queries.lock().unwrap());
    assert_eq!(asked.len(), 1, "-a holds the listeners: one read");
    assert_eq!(asked[0].local_ports.tcp.as_deref(), Some(&[8080][..]));
    // The remote end, or a port on either end, does not narrow the read.
    for f in ["dport = :8080", "port = :8080", "not sport = :8080"] {
        run(&request(StateSet::ALL, f), &src, &src.host, &reg).unwrap();
        let asked = std::mem::take(&mut *src.queries.lock().unwrap());
        assert!(asked.iter().all(|q| q.local_ports.tcp.is_none()), "{f}");
    }
}
