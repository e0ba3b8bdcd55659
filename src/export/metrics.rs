//! Rows in, metric families out: what `serve` and `export` expose, built from a collection
//! without reading the system, so every rule here is tested on fake rows.
//!
//! Cardinality follows what the host is configured to serve, never its traffic: one listener
//! series per listening socket address and process name, and one connection series per
//! (protocol, state, service name, direction), the names coming from the registry with every
//! port it does not name counted as `other`. No label carries a pid (it changes on every
//! restart), a remote address or a client port (they change with every client).

use super::collect::Collected;
use crate::model::{Endpoint, Proto, Row, State};
use crate::render::addr::IpText;
use crate::render::sanitize::escape;
use std::collections::{BTreeMap, BTreeSet};

/// Every metric name starts with this and `_`.
pub const PREFIX: &str = "portwatch";

/// The Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// Exposed with `_total` appended.
    Counter,
    /// A gauge of 1 whose labels are the information; exposed with `_info` appended.
    Info,
}

/// A metric family's name, type and help, whatever its samples.
#[derive(Debug, PartialEq, Eq)]
pub struct Def {
    /// Without the prefix and the suffix the type adds.
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

impl Def {
    /// The name samples are exposed under: `portwatch_listener_info`.
    pub fn full_name(&self) -> String {
        let suffix = match self.kind {
            Kind::Gauge => "",
            Kind::Counter => "_total",
            Kind::Info => "_info",
        };
        format!("{PREFIX}_{}{suffix}", self.name)
    }
}

pub const LISTENER: Def = Def {
    name: "listener",
    kind: Kind::Info,
    help: "A listening TCP socket or bound UDP socket: one series per address and name of a \
           process holding it (process is empty when no holder could be seen).",
};
pub const QUEUE: Def = Def {
    name: "listener_queue_length",
    kind: Kind::Gauge,
    help: "Connections waiting in a TCP listener's accept queue (ss Recv-Q), summed over the \
           sockets sharing the address (SO_REUSEPORT).",
};
pub const BACKLOG: Def = Def {
    name: "listener_backlog",
    kind: Kind::Gauge,
    help: "The accept queue limit of a TCP listener (ss Send-Q: the listen() backlog), summed \
           over the sockets sharing the address.",
};
pub const CONNECTIONS: Def = Def {
    name: "connections",
    kind: Kind::Gauge,
    help: "Connected TCP and UDP sockets by state, the service of the server side (other: a \
           port no registry layer names) and direction (inbound: this host is the server).",
};
pub const SOCKETS: Def = Def {
    name: "sockets",
    kind: Kind::Gauge,
    help: "Sockets read, by protocol and state.",
};
pub const OWNERS_HIDDEN: Def = Def {
    name: "owners_hidden_sockets",
    kind: Kind::Gauge,
    help: "Sockets whose holding process could not be seen (not permitted, or hidden by a \
           hidepid /proc mount): run as root to see them.",
};
pub const DURATION: Def = Def {
    name: "scrape_duration_seconds",
    kind: Kind::Gauge,
    help: "How long the last collection of sockets and their owners took.",
};
pub const ERROR: Def = Def {
    name: "scrape_error",
    kind: Kind::Gauge,
    help: "1 when the last collection could not read a socket table or the process list \
           (what it could read is still exported), else 0.",
};
pub const BUILD: Def = Def {
    name: "build",
    kind: Kind::Info,
    help: "The portwatch version exporting these metrics.",
};
pub const COLLECTIONS: Def = Def {
    name: "collections",
    kind: Kind::Counter,
    help: "Collections since serve started; scrapes within --min-interval of one reuse it.",
};

/// Every family, in the order they are exposed (`COLLECTIONS` by `serve` only).
pub const DEFS: &[&Def] = &[
    &LISTENER,
    &QUEUE,
    &BACKLOG,
    &CONNECTIONS,
    &SOCKETS,
    &OWNERS_HIDDEN,
    &DURATION,
    &ERROR,
    &BUILD,
    &COLLECTIONS,
];

/// A sample's value: counts stay integers on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
}

/// One series of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: Value,
}

/// A metric family with its samples, ready for the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub def: &'static Def,
    pub samples: Vec<Sample>,
}

impl Family {
    /// The sample whose labels include every `(name, value)` of `want` (for tests and
    /// callers that look one series up).
    pub fn find(&self, want: &[(&str, &str)]) -> Option<&Sample> {
        self.samples.iter().find(|s| {
            want.iter()
                .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
    }
}

/// What the metrics say beyond the rows: where they were read and by whom.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// The network namespace the sockets were read in, as the kernel names it
    /// (`net:[4026531840]`), when known.
    pub netns: Option<String>,
    pub version: &'static str,
    /// Collections since `serve` started; `None` for `export`, a one-shot run, where a counter
    /// would restart at 1 on every run.
    pub collections: Option<u64>,
}

/// Where a socket lives beyond its addresses: the `netns`, `container` and `unit` labels.
///
/// The one place issue #11 (namespaces, containers, units) plugs in: until rows carry their
/// namespace, container and unit, every socket is in the namespace portwatch reads (`host`)
/// and container and unit are unknown (""). With #11, read them from the row here.
struct Placement {
    netns: String,
    container: String,
    unit: String,
}

fn placement(_row: &Row, host: &Host) -> Placement {
    Placement {
        netns: host.netns.clone().unwrap_or_default(),
        container: String::new(),
        unit: String::new(),
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
type Counts<const N: usize> = BTreeMap<[String; N], u64>;

/// A TCP listener's queue and limit, summed over the sockets of one address; `None` once one
/// of them is unknown (/proc/net/tcp has no backlog).
#[derive(Clone, Copy)]
struct Queue {
    waiting: Option<u64>,
    limit: Option<u64>,
}

/// Build every family from a collection. Pure: the same collection gives the same text.
pub fn build(c: &Collected, host: &Host) -> Vec<Family> {
    let mut listeners: Counts<10> = BTreeMap::new();
    let mut queues: BTreeMap<[String; 4], Queue> = BTreeMap::new();
    for r in c.listeners.iter().filter(|r| is_listener(r)) {
        let Some(Endpoint::Inet { addr, port }) = &r.sock.local else {
            continue;
        };
        let mut address = IpText::of(addr).as_str().to_string();
        if let Some(iface) = &r.iface {
            address.push('%');
            address.push_str(&escape(iface.as_bytes()));
        }
        let place = placement(r, host);
        let service = r
            .service
            .as_ref()
            .and_then(|a| a.service.as_ref())
            .map(|s| escape(s.name.as_bytes()).into_owned())
            .unwrap_or_default();
        let user = match (&r.user, r.sock.uid) {
            (Some(name), _) => escape(name.as_bytes()).into_owned(),
            // A uid without a name (no passwd entry: a container's user) is still a fact.
            (None, Some(uid)) => uid.to_string(),
            (None, None) => String::new(),
        };
        for process in process_names(r) {
            let key = [
                r.sock.proto.name().to_string(),
                r.sock.family.name().to_string(),
                address.clone(),
                port.to_string(),
                service.clone(),
                process,
                user.clone(),
                place.netns.clone(),
                place.container.clone(),
                place.unit.clone(),
            ];
            listeners.insert(key, 1);
        }
        // For UDP, Recv-Q and Send-Q are bytes in the socket buffers, not an accept queue.
        if r.sock.proto == Proto::Tcp {
            let key = [
                r.sock.proto.name().to_string(),
                address,
                port.to_string(),
                place.netns,
            ];
            let add = |sum: Option<u64>, v: Option<u32>| Some(sum? + u64::from(v?));
            let q = queues.entry(key).or_insert(Queue {
                waiting: Some(0),
                limit: Some(0),
            });
            *q = Queue {
                waiting: add(q.waiting, r.sock.recv_q),
                limit: add(q.limit, r.sock.send_q),
            };
        }
    }
    let known = |pick: fn(Queue) -> Option<u64>| -> Counts<4> {
        queues
            .iter()
            .filter_map(|(k, q)| Some((k.clone(), pick(*q)?)))
            .collect()
    };

    let mut connections: Counts<4> = BTreeMap::new();
    let mut sockets: Counts<2> = BTreeMap::new();
    for r in c.listeners.iter().chain(&c.others) {
        let (proto, state) = (r.sock.proto.name(), r.sock.state.name());
        *sockets.entry([proto.into(), state.into()]).or_default() += 1;
        if let Some((service, direction)) = connection(r) {
            let key = [proto.into(), state.into(), service, direction.into()];
            *connections.entry(key).or_default() += 1;
        }
    }

    let single = |def: &'static Def, value: Value| Family {
        def,
        samples: vec![sample(Vec::new(), value)],
    };
    let mut families = vec![
        family(&LISTENER, LISTENER_LABELS, listeners),
        family(&QUEUE, QUEUE_LABELS, known(|q| q.waiting)),
        family(&BACKLOG, QUEUE_LABELS, known(|q| q.limit)),
        family(&CONNECTIONS, CONNECTION_LABELS, connections),
        family(&SOCKETS, ["proto", "state"], sockets),
        single(&OWNERS_HIDDEN, Value::Int(owners_hidden(c))),
        single(&DURATION, Value::Float(c.duration.as_secs_f64())),
        single(&ERROR, Value::Int(u64::from(!c.errors.is_empty()))),
        family(
            &BUILD,
            ["version"],
            [([host.version.to_string()], 1)].into(),
        ),
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
            .map(|(values, n)| sample(keys.into_iter().zip(values).collect(), Value::Int(n)))
            .collect(),
    }
}

fn sample(labels: Vec<(&'static str, String)>, value: Value) -> Sample {
    Sample { labels, value }
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
fn process_names(r: &Row) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = r
        .owners
        .iter()
        .flat_map(|o| o.iter())
        .map(|o| escape(o.comm.as_bytes()).into_owned())
        .collect();
    if names.is_empty() {
        names.insert(String::new());
    }
    names
}

/// A TCP or UDP socket connected to a peer: (the server side's service name or `other`,
/// its direction). The server side is the one the registry annotation chose (the local port
/// when this host listens on it); a local port equal to the remote one counts as inbound.
fn connection(r: &Row) -> Option<(String, &'static str)> {
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
    let name = a.service.as_ref().map_or_else(
        || "other".into(),
        |n| escape(n.name.as_bytes()).into_owned(),
    );
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
