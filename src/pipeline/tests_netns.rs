//! The pipeline over several network namespaces, on fake sources: per-namespace ephemeral
//! ranges, interface names and listener sets; one owner scan; rows in namespace order; the
//! netns, container, unit and host filters.

use super::*;
use crate::model::OptU32;
use crate::model::{
    Attribution, Container, Endpoint, Family, Netns, Owner, OwnerMap, Runtime, SockType, Unit,
    Wanted,
};
use crate::platform::fake::Fake;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn ino(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap()
}

fn sock(state: State, local: u16, remote: u16, inode: u64, iface: Option<u32>) -> Socket {
    let ep = |port| {
        Some(Endpoint::Inet {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        })
    };
    Socket {
        local: ep(local),
        remote: ep(remote),
        inode,
        uid: OptU32::some(0),
        iface: iface.into(),
        ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, state)
    }
}

fn namespace(inode: u64, name: Option<&str>, host: bool) -> Option<Netns> {
    Some(Netns {
        inode: ino(inode),
        name: name.map(String::from),
        host,
    })
}

/// The host (nginx on :8080, a client on port 20500) and namespace "blue" (a podman
/// container "web" on :5000 with a client on 20500, and a TIME-WAIT nobody holds).
fn world() -> (Fake, Fake, Counting) {
    let host = Fake {
        sockets: vec![
            sock(State::LISTEN, 8080, 0, 100, Some(2)),
            sock(State::ESTABLISHED, 20500, 8080, 101, None),
        ],
        ephemeral: Some((32768, 60999)),
        ifaces: [(2, "eth0".to_string())].into(),
        netns: namespace(1, None, true),
        ..Fake::default()
    };
    let blue = Fake {
        sockets: vec![
            sock(State::LISTEN, 5000, 0, 200, Some(2)),
            sock(State::ESTABLISHED, 20500, 5000, 201, None),
            sock(State::TIME_WAIT, 5000, 20499, 0, None),
        ],
        ephemeral: Some((20000, 20999)),
        ifaces: [(2, "veth-blue".to_string())].into(),
        netns: namespace(2, Some("blue"), false),
        ..Fake::default()
    };
    let web = Arc::new(Container {
        name: Some("web".into()),
        ..Container::new(
            Runtime::Podman,
            "dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab",
        )
    });
    let unit = |n: &str| {
        Some(Arc::new(Unit {
            name: n.into(),
            user: None,
        }))
    };
    let owner = |pid, comm: &str| Owner::new(pid, comm, 3, Some(0));
    let mut procs = Fake {
        owners: vec![
            (100, owner(10, "nginx")),
            (101, owner(11, "curl")),
            (200, owner(20, "httpd")),
            (201, owner(21, "wget")),
        ],
        ..Fake::default()
    };
    let in_web = Attribution {
        container: Some(Arc::clone(&web)),
        unit: unit("libpod-dba47abbf81d.scope"),
    };
    procs.processes = [
        (
            10,
            (
                Attribution {
                    container: None,
                    unit: unit("nginx.service"),
                },
                Some(ino(1)),
            ),
        ),
        (11, (Attribution::default(), Some(ino(1)))),
        (20, (in_web.clone(), Some(ino(2)))),
        (21, (in_web, Some(ino(2)))),
    ]
    .into();
    procs.namespace_containers.insert(ino(2), web);
    (host, blue, Counting::new(procs))
}

/// A process source that counts its owner scans.
struct Counting {
    inner: Fake,
    scans: AtomicUsize,
}

impl Counting {
    fn new(inner: Fake) -> Counting {
        Counting {
            inner,
            scans: AtomicUsize::new(0),
        }
    }
}

impl ProcessSource for Counting {
    fn scan_owners(&self, wanted: Wanted<'_>) -> OwnerMap {
        self.scans.fetch_add(1, Ordering::SeqCst);
        self.inner.scan_owners(wanted)
    }
    fn user_name(&self, uid: u32) -> Option<String> {
        self.inner.user_name(uid)
    }
    fn uid_by_name(&self, name: &str) -> Option<u32> {
        self.inner.uid_by_name(name)
    }
    fn attribute(&self, pids: &[u32]) -> Attribution {
        self.inner.attribute(pids)
    }
    fn namespace_container(&self, netns: NonZeroU64) -> Option<Arc<Container>> {
        self.inner.namespace_container(netns)
    }
    fn netns_of_pid(&self, pid: u32) -> Option<NonZeroU64> {
        self.inner.netns_of_pid(pid)
    }
}

fn request(filter: &str, owners: bool) -> Request {
    Request {
        owners,
        attribution: true,
        ..super::tests::request(StateSet::ALL, filter)
    }
}

/// (namespace inode, local port, remote port) of every row, in order.
fn rows(l: &Listing) -> Vec<(u64, u16, u16)> {
    let port = |e: &Option<Endpoint>| e.as_ref().and_then(Endpoint::port).unwrap_or(0);
    l.rows
        .iter()
        .map(|r| {
            let ns = r.netns.as_ref().map_or(0, |n| n.inode.get());
            (ns, port(&r.sock.local), port(&r.sock.remote))
        })
        .collect()
}

fn list(filter: &str, owners: bool) -> (Listing, usize) {
    let (host, blue, procs) = world();
    let reg = Registry::builtin();
    let l = run_many(&request(filter, owners), &[&host, &blue], &procs, &reg).unwrap();
    (l, procs.scans.load(Ordering::SeqCst))
}

#[test]
fn namespaces_in_order_each_with_its_own_facts_one_owner_scan() {
    let (l, scans) = list("", true);
    assert_eq!(
        rows(&l),
        [
            (1, 8080, 0),
            (1, 20500, 8080),
            (2, 5000, 0),
            (2, 5000, 20499),
            (2, 20500, 5000)
        ]
    );
    assert_eq!(scans, 1, "one owner scan for every namespace");
    let iface = |ns: u64, port: u16| {
        l.rows
            .iter()
            .find(|r| {
                r.netns.as_ref().map(|n| n.inode.get()) == Some(ns)
                    && r.sock.local.as_ref().and_then(Endpoint::port) == Some(port)
            })
            .and_then(|r| r.rare.iface.as_deref().map(String::from))
    };
    assert_eq!(iface(1, 8080).as_deref(), Some("eth0"));
    assert_eq!(
        iface(2, 5000).as_deref(),
        Some("veth-blue"),
        "the index means blue's"
    );
    // The client's socket in blue is named by blue's listener (5000), not by its own port.
    let client = l.rows.iter().find(|r| r.sock.inode == 201).unwrap();
    assert_eq!(client.service.as_ref().map(|a| a.port), Some(5000));
    assert_eq!(client.service.as_ref().map(|a| a.ephemeral), Some(false));
}

#[test]
fn autobound_uses_each_namespaces_range() {
    let (l, _) = list("autobound", false);
    // 20500 is in blue's ephemeral range, not in the host's.
    assert_eq!(rows(&l), [(2, 20500, 5000)]);
}

#[test]
fn netns_host_container_and_unit_filters() {
    let blue = [(2, 5000, 0), (2, 5000, 20499), (2, 20500, 5000)];
    for f in [
        "netns blue",
        "netns 2",
        "netns net:[2]",
        "netns bl*",
        "not host",
    ] {
        assert_eq!(rows(&list(f, false).0), blue, "{f}");
    }
    assert_eq!(
        rows(&list("host", false).0),
        [(1, 8080, 0), (1, 20500, 8080)]
    );
    // A container's name or id prefix; the TIME-WAIT nobody holds has its namespace's.
    let (l, scans) = list("container web", false);
    assert_eq!(rows(&l), blue);
    assert_eq!(scans, 1, "container needs the holders, even without -p");
    assert_eq!(rows(&list("container dba47a", false).0), blue);
    assert!(
        rows(&list("container w", false).0).is_empty(),
        "a glob, not a name prefix"
    );
    assert_eq!(rows(&list("unit nginx.*", false).0), [(1, 8080, 0)]);
    assert_eq!(
        rows(&list("unit libpod-*", false).0),
        [(2, 5000, 0), (2, 20500, 5000)]
    );
}

#[test]
fn rows_carry_container_unit_and_the_holder_namespace() {
    let (l, _) = list("", true);
    let by_inode = |i: u64| l.rows.iter().find(|r| r.sock.inode == i).unwrap();
    let listener = by_inode(200);
    assert_eq!(
        listener
            .rare
            .container
            .as_ref()
            .and_then(|c| c.name.as_deref()),
        Some("web")
    );
    assert_eq!(listener.rare.holder_netns_differs, Some(false));
    let nginx = by_inode(100);
    assert_eq!(
        (
            nginx.rare.container.is_none(),
            nginx.rare.unit.as_ref().map(|u| u.name.as_str())
        ),
        (true, Some("nginx.service"))
    );
    let tw = l
        .rows
        .iter()
        .find(|r| r.sock.state == State::TIME_WAIT)
        .unwrap();
    assert_eq!(tw.rare.container.as_ref().map(|c| c.label()), Some("web"));
    assert_eq!(
        (tw.rare.unit.is_none(), tw.rare.holder_netns_differs),
        (true, None)
    );
}
