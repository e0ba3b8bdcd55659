//! Rows in, metric families out: what `serve` and `export` expose, built from a collection
//! without reading the system, so every rule here is tested on fake rows.
//!
//! Cardinality follows what the host is configured to serve, never its traffic: one listener
//! series per listening socket address and process name, and one connection series per
//! (protocol, state, service name, direction), the names coming from the registry with every
//! port it does not name counted as `other`. No label carries a pid (it changes on every
//! restart), a remote address or a client port (they change with every client).

pub use super::defs::*;

use super::collect::Collected;
use crate::model::{Endpoint, Family as AddrFamily, Proto, Row, State};
use crate::render::addr::IpText;
use crate::render::sanitize::escape;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Arc;

/// What the metrics say beyond the rows: who exported them.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub version: &'static str,
    /// Collections since `serve` started; `None` for `export`, a one-shot run, where a counter
    /// would restart at 1 on every run.
    pub collections: Option<u64>,
}

/// Where a socket lives beyond its addresses: the `netns`, `container` and `unit` labels, as
/// the listing's Netns and Container columns name them (issue #11): the namespace's name
/// under /run/netns or `net:[INODE]`; the container's name or short id; the systemd unit.
/// Empty where unknown (a fixture tree has no namespace; a socket outside any container).
struct Placement {
    netns: Label,
    container: Label,
    unit: Label,
}

fn placement(row: &Row, v: &mut Values) -> Placement {
    // Rows of one namespace (container, unit) share one Arc: each is named once per build.
    let netns = match &row.netns {
        Some(n) => v.shared(Arc::as_ptr(n).cast(), || {
            escape(n.label().as_bytes()).into()
        }),
        None => v.get(""),
    };
    let container = match &row.rare.container {
        Some(c) => v.shared(Arc::as_ptr(c).cast(), || {
            escape(c.label().as_bytes()).into()
        }),
        None => v.get(""),
    };
    let unit = match &row.rare.unit {
        Some(u) => v.shared(Arc::as_ptr(u).cast(), || escape(u.name.as_bytes()).into()),
        None => v.get(""),
    };
    Placement {
        netns,
        container,
        unit,
    }
}

/// Each distinct label value of one build, allocated once and shared by every series that
/// carries it (and compared by pointer where that is enough).
#[derive(Default)]
struct Values {
    all: HashSet<Label>,
    /// The program's own words (protocol, family and state names): found by address, without
    /// hashing, as every row asks for them.
    words: Vec<(&'static str, Label)>,
    /// Names of values rows share by `Arc` (namespaces, containers, units), by address.
    by_ptr: HashMap<*const (), Label>,
}

impl Values {
    fn get(&mut self, s: &str) -> Label {
        if let Some(v) = self.all.get(s) {
            return Arc::clone(v);
        }
        let v: Label = Arc::from(s);
        self.all.insert(Arc::clone(&v));
        v
    }

    fn word(&mut self, s: &'static str) -> Label {
        if let Some((_, v)) = self.words.iter().find(|(w, _)| std::ptr::eq(*w, s)) {
            return Arc::clone(v);
        }
        let v = self.get(s);
        self.words.push((s, Arc::clone(&v)));
        v
    }

    /// The label of a value rows share: made by `name` the first time its address is seen.
    fn shared(&mut self, ptr: *const (), name: impl FnOnce() -> String) -> Label {
        if let Some(v) = self.by_ptr.get(&ptr) {
            return Arc::clone(v);
        }
        let v = self.get(&name());
        self.by_ptr.insert(ptr, Arc::clone(&v));
        v
    }

    /// A number as a label value.
    fn num(&mut self, n: impl std::fmt::Display) -> Label {
        let mut buf = String::new();
        let _ = write!(buf, "{n}");
        self.get(&buf)
    }
}

const LISTENER_LABELS: [&str; 10] = [
    "proto",
    "family",
    "address",
    "port",
    "service",
    "process",
    "user",
    "netns",
    "container",
    "unit",
];
const QUEUE_LABELS: [&str; 4] = ["proto", "address", "port", "netns"];
const CONNECTION_LABELS: [&str; 4] = ["proto", "state", "local_service", "direction"];

/// Label values to a count (or a summed queue), ordered so the output is stable.
type Counts<const N: usize> = BTreeMap<[Label; N], u64>;

/// A TCP listener's queue and limit, summed over the sockets of one address; `None` once one
/// of them is unknown (/proc/net/tcp has no backlog).
#[derive(Clone, Copy)]
struct Queue {
    waiting: Option<u64>,
    limit: Option<u64>,
}

/// Where a listener listens: compared by number (protocol, address, port) before any
/// string, so building the families costs little even for thousands of listeners, and the
/// output lists port 80 before port 443.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Spot {
    proto: Proto,
    addr: IpAddr,
    port: u16,
    iface: Option<Label>,
    netns: Label,
}

impl Spot {
    /// `address` as JSON writes it, with `%iface` when bound to an interface.
    fn address(&self, v: &mut Values) -> Label {
        let ip = IpText::of(&self.addr);
        match &self.iface {
            Some(iface) => v.get(&format!("{}%{iface}", ip.as_str())),
            None => v.get(ip.as_str()),
        }
    }
}

/// Build every family from a collection. Pure: the same collection gives the same text.
pub fn build(c: &Collected, host: &Host) -> Vec<Family> {
    let mut v = Values::default();
    // (where, family, then service, process, user, container, unit)
    let mut listeners: BTreeMap<(Spot, AddrFamily, [Label; 5]), ()> = BTreeMap::new();
    let mut queues: BTreeMap<Spot, Queue> = BTreeMap::new();
    for r in c.listeners.iter().filter(|r| is_listener(r)) {
        let Some(Endpoint::Inet { addr, port }) = &r.sock.local else {
            continue;
        };
        let place = placement(r, &mut v);
        let spot = Spot {
            proto: r.sock.proto,
            addr: *addr,
            port: *port,
            iface: r.rare.iface.as_ref().map(|i| v.get(&escape(i.as_bytes()))),
            netns: place.netns,
        };
        let service = match r.service.as_ref().and_then(|a| a.service.as_ref()) {
            Some(s) => v.get(&escape(s.name.as_bytes())),
            None => v.get(""),
        };
        let user = match (&r.rare.user, r.sock.uid.get()) {
            (Some(name), _) => v.get(&escape(name.as_bytes())),
            // A uid without a name (no passwd entry: a container's user) is still a fact.
            (None, Some(uid)) => v.num(uid),
            (None, None) => v.get(""),
        };
        for process in process_names(r, &mut v) {
            let rest = [
                Arc::clone(&service),
                process,
                Arc::clone(&user),
                Arc::clone(&place.container),
                Arc::clone(&place.unit),
            ];
            listeners.insert((spot.clone(), r.sock.family, rest), ());
        }
        // For UDP, Recv-Q and Send-Q are bytes in the socket buffers, not an accept queue.
        if r.sock.proto == Proto::Tcp {
            let add = |sum: Option<u64>, n: Option<u32>| Some(sum? + u64::from(n?));
            let q = queues.entry(spot).or_insert(Queue {
                waiting: Some(0),
                limit: Some(0),
            });
            *q = Queue {
                waiting: add(q.waiting, r.sock.recv_q.get()),
                limit: add(q.limit, r.sock.send_q.get()),
            };
        }
    }
    let listener_samples: Vec<Sample> = listeners
        .into_keys()
        .map(
            |(spot, family, [service, process, user, container, unit])| {
                let values = [
                    v.word(spot.proto.name()),
                    v.word(family.name()),
                    spot.address(&mut v),
                    v.num(spot.port),
                    service,
                    process,
                    user,
                    spot.netns,
                    container,
                    unit,
                ];
                labelled(LISTENER_LABELS, values, Value::Int(1))
            },
        )
        .collect();
    let mut queue_samples = |pick: fn(Queue) -> Option<u64>| -> Vec<Sample> {
        queues
            .iter()
            .filter_map(|(spot, q)| {
                let values = [
                    v.word(spot.proto.name()),
                    spot.address(&mut v),
                    v.num(spot.port),
                    Arc::clone(&spot.netns),
                ];
                Some(labelled(QUEUE_LABELS, values, Value::Int(pick(*q)?)))
            })
            .collect()
    };
    let (waiting, limits) = (queue_samples(|q| q.waiting), queue_samples(|q| q.limit));

    let mut connections: Counts<4> = BTreeMap::new();
    let mut sockets: Counts<2> = BTreeMap::new();
    for r in c.listeners.iter().chain(&c.others) {
        let (proto, state) = (v.word(r.sock.proto.name()), v.word(r.sock.state.name()));
        if let Some((service, direction)) = connection(r) {
            let key = [
                Arc::clone(&proto),
                Arc::clone(&state),
                v.get(&service),
                v.word(direction),
            ];
            *connections.entry(key).or_default() += 1;
        }
        *sockets.entry([proto, state]).or_default() += 1;
    }

    let single = |def: &'static Def, value: Value| Family {
        def,
        samples: vec![Sample {
            labels: Vec::new(),
            value,
        }],
    };
    let mut families = vec![
        Family {
            def: &LISTENER,
            samples: listener_samples,
        },
        Family {
            def: &QUEUE,
            samples: waiting,
        },
        Family {
            def: &BACKLOG,
            samples: limits,
        },
        family(&CONNECTIONS, CONNECTION_LABELS, connections),
        family(&SOCKETS, ["proto", "state"], sockets),
        single(&OWNERS_HIDDEN, Value::Int(owners_hidden(c))),
        single(&DURATION, Value::Float(c.duration.as_secs_f64())),
        single(&ERROR, Value::Int(u64::from(!c.errors.is_empty()))),
        family(&BUILD, ["version"], [([v.get(host.version)], 1)].into()),
    ];
    if let Some(n) = host.collections {
        families.push(single(&COLLECTIONS, Value::Int(n)));
    }
    families
}

/// A family with one sample per entry of `counts`, labelled `keys`.
fn family<const N: usize>(def: &'static Def, keys: [&'static str; N], counts: Counts<N>) -> Family {
    Family {
        def,
        samples: counts
            .into_iter()
            .map(|(values, n)| labelled(keys, values, Value::Int(n)))
            .collect(),
    }
}

fn labelled<const N: usize>(keys: [&'static str; N], values: [Label; N], value: Value) -> Sample {
    Sample {
        labels: keys.into_iter().zip(values).collect(),
        value,
    }
}

/// A listening TCP socket, or a UDP socket bound to a port and connected to nobody.
fn is_listener(r: &Row) -> bool {
    let bound = r.sock.local.as_ref().and_then(Endpoint::port).unwrap_or(0) != 0;
    let unconnected = r.sock.remote.as_ref().and_then(Endpoint::port).unwrap_or(0) == 0;
    bound
        && match r.sock.proto {
            Proto::Tcp => r.sock.state == State::LISTEN,
            Proto::Udp => r.sock.state == State::CLOSE && unconnected,
            Proto::Unix | Proto::Raw => false,
        }
}

/// The distinct names of a socket's holders, escaped as the table shows them; one empty name
/// when none could be seen. Several holders of one name (pre-fork workers) make one series.
fn process_names(r: &Row, v: &mut Values) -> Vec<Label> {
    let mut names: Vec<Label> = Vec::new();
    for o in r.owners.iter().flat_map(|o| o.iter()) {
        let name = v.get(&escape(o.comm().as_bytes()));
        // Interned: equal names are the same allocation.
        if !names.iter().any(|n| Arc::ptr_eq(n, &name)) {
            names.push(name);
        }
    }
    if names.is_empty() {
        names.push(v.get(""));
    }
    names
}

/// A TCP or UDP socket connected to a peer: (the server side's service name or `other`,
/// its direction). The server side is the one the registry annotation chose (the local port
/// when this host listens on it); a local port equal to the remote one counts as inbound.
fn connection(r: &Row) -> Option<(Cow<'_, str>, &'static str)> {
    let s = &r.sock;
    if !matches!(s.proto, Proto::Tcp | Proto::Udp) || s.state == State::LISTEN {
        return None;
    }
    let remote = s.remote.as_ref().and_then(Endpoint::port).unwrap_or(0);
    let local = s.local.as_ref().and_then(Endpoint::port).unwrap_or(0);
    if remote == 0 {
        return None;
    }
    let Some(a) = r.service.as_deref() else {
        return Some(("other".into(), "outbound"));
    };
    let name = a
        .service
        .as_ref()
        .map_or(Cow::Borrowed("other"), |n| escape(n.name.as_bytes()));
    let direction = if a.port == local {
        "inbound"
    } else {
        "outbound"
    };
    Some((name, direction))
}

/// Sockets with no visible holder, counted only when the owner scan says some were hidden
/// from it: a socket nobody holds as root is the kernel's (NFS, TIME-WAIT), not hidden.
fn owners_hidden(c: &Collected) -> u64 {
    if !c.warnings.iter().any(|w| w.kind == "owners-hidden") {
        return 0;
    }
    let hidden = c
        .listeners
        .iter()
        .chain(&c.others)
        .filter(|r| r.sock.inode != 0 && r.owners.as_ref().is_some_and(|o| o.is_empty()))
        .count();
    hidden as u64
}

#[cfg(test)]
mod tests;
