//! Two listings compared by what survives a restart (`diff`): a socket's protocol, local
//! address and port (a unix socket's path), namespace when known, and the holding program's
//! name; never pids, inodes, cookies or ephemeral ports. A restarted server (new pid, same
//! program and port) is the same; a new listener is not.
//!
//! Connections come and go, so by default they are counted per service side and remote
//! address class: "3 connections to our :443 from public addresses", "2 of ours to :5432 on
//! private ones". Such a group appearing or disappearing is a difference; its count changing
//! is not. With `connections` each connection is kept by its lasting ends (both addresses and
//! the service port) and a count change is a difference too.

use crate::filter::{scope_of, Scope};
use crate::model::{Endpoint, Proto, Row, State, Text, UnixName};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What a socket is across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident {
    pub proto: Proto,
    /// The network namespace or container by name, when the listing knows it (issue #11);
    /// `None` otherwise. Never a namespace inode: those change when a container restarts.
    pub namespace: Option<String>,
    pub what: What,
    /// The holding programs' names, distinct and sorted; `None` when not compared (a side
    /// was read without owners).
    pub program: Option<Vec<Text>>,
}

/// The part of an identity that depends on the kind of socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum What {
    /// Not connected: a listener, a bound UDP or raw socket, a named unix socket; its state
    /// and local end.
    Bound {
        state: State,
        local: Option<Endpoint>,
    },
    /// Connections to a port this host serves, from one class of remote address.
    Served { port: u16, remote: &'static str },
    /// Connections from this host to a service port, at one class of remote address.
    Used { port: u16, remote: &'static str },
    /// One connection (`connections`): both addresses and the service port, no ephemeral
    /// port.
    Connection {
        local: IpAddr,
        remote: IpAddr,
        port: u16,
        inbound: bool,
    },
    /// Connected unix sockets, by the named end (`None`: both unnamed, a socketpair).
    UnixConnected { name: Option<UnixName> },
}

/// What is compared between two sockets of one identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Sockets with this identity (listeners sharing a port with SO_REUSEPORT, connections).
    pub count: usize,
    /// Their users: names where known, else uids.
    pub users: BTreeSet<String>,
    /// v6only of IPv6 sockets: `false` is dual-stack.
    pub v6only: BTreeSet<bool>,
    /// The service name of the identity's port (for display; not compared: it is this
    /// program's registry, not the host, that names it).
    pub service: Option<String>,
}

/// How to compare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Compare connections one by one instead of as counts per group.
    pub connections: bool,
    /// Compare the holding programs (both sides were read with owners).
    pub programs: bool,
}

/// Added (only in the new listing), removed (only in the old), changed (in both, with other
/// attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    Added,
    Removed,
    Changed,
}

impl Delta {
    pub fn name(self) -> &'static str {
        match self {
            Delta::Added => "added",
            Delta::Removed => "removed",
            Delta::Changed => "changed",
        }
    }
}

/// One difference: the identity, and its attributes on each side it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub delta: Delta,
    pub ident: Ident,
    pub before: Option<Attrs>,
    pub after: Option<Attrs>,
}

/// The differences from `old` to `new`, sorted by identity.
pub fn compare(old: &[Row], new: &[Row], opts: Options) -> Vec<Difference> {
    let (mut a, mut b) = (summarize(old, opts), summarize(new, opts));
    let idents: BTreeSet<Ident> = a.keys().chain(b.keys()).cloned().collect();
    idents
        .into_iter()
        .filter_map(|ident| {
            let (before, after) = (a.remove(&ident), b.remove(&ident));
            let delta = match (&before, &after) {
                (None, Some(_)) => Delta::Added,
                (Some(_), None) => Delta::Removed,
                (Some(x), Some(y)) if differ(&ident.what, x, y) => Delta::Changed,
                _ => return None,
            };
            Some(Difference {
                delta,
                ident,
                before,
                after,
            })
        })
        .collect()
}

/// Whether two sides of one identity differ in what is compared for its kind: users,
/// dual-stack and the number of sockets for bound sockets; the number for single
/// connections; nothing for connection groups (their counts change all the time).
fn differ(what: &What, x: &Attrs, y: &Attrs) -> bool {
    match what {
        What::Bound { .. } => (x.count, &x.users, &x.v6only) != (y.count, &y.users, &y.v6only),
        What::Connection { .. } => x.count != y.count,
        What::Served { .. } | What::Used { .. } | What::UnixConnected { .. } => false,
    }
}

/// Every identity in `rows` with its attributes.
pub fn summarize(rows: &[Row], opts: Options) -> BTreeMap<Ident, Attrs> {
    let mut m: BTreeMap<Ident, Attrs> = BTreeMap::new();
    for r in rows {
        let a = m.entry(ident(r, opts)).or_default();
        a.count += 1;
        let user = match (&r.rare.user, r.sock.uid.get()) {
            (Some(name), _) => Some(name.to_string()),
            (None, Some(uid)) => Some(uid.to_string()),
            (None, None) => None,
        };
        a.users.extend(user);
        a.v6only.extend(r.sock.v6only);
        if a.service.is_none() {
            let name = r.service.as_ref().and_then(|s| s.service.as_ref());
            a.service = name.map(|n| n.name.clone());
        }
    }
    m
}

/// The identity of one row.
pub fn ident(r: &Row, opts: Options) -> Ident {
    let s = &r.sock;
    let program = opts.programs.then(|| {
        let names: BTreeSet<Text> = r
            .owners
            .iter()
            .flat_map(|o| o.iter())
            .map(|o| o.comm().clone())
            .collect();
        names.into_iter().collect()
    });
    Ident {
        proto: s.proto,
        namespace: namespace(r),
        what: what(r, opts),
        program,
    }
}

/// The row's namespace or container name: none yet (issue #11 adds them to the model).
fn namespace(_r: &Row) -> Option<String> {
    None
}

fn what(r: &Row, opts: Options) -> What {
    let s = &r.sock;
    let bound = || What::Bound {
        state: s.state,
        local: s.local.clone(),
    };
    if s.proto == Proto::Unix {
        let connected = s.peer_inode.is_some() || s.state == State::ESTABLISHED;
        if !connected {
            return bound();
        }
        let name = |e: &Option<Endpoint>| match e {
            Some(Endpoint::Unix(n)) => Some(n.clone()),
            _ => None,
        };
        return What::UnixConnected {
            name: name(&s.local).or_else(|| name(&s.remote)),
        };
    }
    let (Some(Endpoint::Inet { addr: la, port: lp }), Some(Endpoint::Inet { addr: ra, port: rp })) =
        (&s.local, &s.remote)
    else {
        return bound();
    };
    if *rp == 0 || s.proto == Proto::Raw {
        return bound();
    }
    // The service side is the annotation's port; without one, the local end (we serve).
    let service = r.service.as_ref().map_or(*lp, |a| a.port);
    let inbound = service == *lp;
    if opts.connections {
        return What::Connection {
            local: *la,
            remote: *ra,
            port: service,
            inbound,
        };
    }
    let remote = class(*ra);
    if inbound {
        What::Served {
            port: service,
            remote,
        }
    } else {
        What::Used {
            port: service,
            remote,
        }
    }
}

/// The class of a remote address, as the filter's `scope` names them.
pub fn class(ip: IpAddr) -> &'static str {
    match scope_of(ip) {
        Scope::Loopback => "loopback",
        Scope::Wildcard => "wildcard",
        Scope::Private => "private",
        Scope::LinkLocal => "link-local",
        Scope::Multicast => "multicast",
        Scope::Public => "public",
    }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
