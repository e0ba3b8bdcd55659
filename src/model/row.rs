//! A socket joined with everything known about it: what filters match and renderers print.

use super::{Annotation, Container, Netns, Owners, Socket, Unit};
use std::sync::Arc;

/// A name many rows share (a user, an interface): one thin pointer per row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(Arc<Box<str>>);

impl Name {
    /// Whether this is the only holder of the name (no row shares it).
    pub fn is_unique(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Arc::new(s.into()))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Arc::new(s.into_boxed_str()))
    }
}

/// One socket with everything known about it: what filters match and renderers print.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub sock: Socket,
    /// Processes holding the socket; `None` when the owner scan did not run, empty when it ran
    /// and found none visible.
    pub owners: Option<Owners>,
    /// Name of the socket's uid, when known (shared: many sockets have one user).
    pub user: Option<Name>,
    /// What the socket's service port is, when annotated (shared between sockets of one
    /// service port: a busy server's 10k connections hold one annotation).
    pub service: Option<Arc<Annotation>>,
    /// Name of the interface the socket is bound to (`Socket::iface`), when known.
    pub iface: Option<Name>,
    /// The network namespace the socket was read in (shared by its rows); `None` where the
    /// source cannot tell (fixture trees, other systems).
    pub netns: Option<Arc<Netns>>,
    /// The container of the socket's holders; when no holder is known, its namespace's (every
    /// process there is in it). `None`: none, or not worked out for this listing.
    pub container: Option<Arc<Container>>,
    /// The systemd unit of the socket's holders, when they agree on one.
    pub unit: Option<Arc<Unit>>,
    /// Whether a holder is in another network namespace than the socket (a socket made in one
    /// namespace and held, or passed, elsewhere); `None` when no holder is known.
    pub holder_netns_differs: Option<bool>,
    /// Path of the socket's cgroup v2 (`Socket::cgroup`) relative to the cgroup2 mount, when
    /// asked for and found.
    pub cgroup: Option<Name>,
}

impl Row {
    pub fn new(sock: Socket) -> Row {
        Row {
            sock,
            owners: None,
            user: None,
            service: None,
            iface: None,
            netns: None,
            container: None,
            unit: None,
            holder_netns_differs: None,
            cgroup: None,
        }
    }
}
#[cfg(test)]
mod size {
    /// A large listing holds one row per socket (100k and more), so every byte here is
    /// 100 KB of peak memory there: grow these only on purpose (README, Performance).
    #[test]
    fn rows_and_sockets_stay_small() {
        assert!(std::mem::size_of::<crate::model::Socket>() <= 136);
        assert!(std::mem::size_of::<super::Row>() <= 216);
    }
}
