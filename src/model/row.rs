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
    /// What the socket's service port is, when annotated (shared between sockets of one
    /// service port: a busy server's 10k connections hold one annotation).
    pub service: Option<Arc<Annotation>>,
    /// The network namespace the socket was read in (shared by its rows); `None` where the
    /// source cannot tell (fixture trees, other systems).
    pub netns: Option<Arc<Netns>>,
    /// What only some listings look up (names, where the holders run): behind one pointer,
    /// allocated for the rows that have any of it.
    pub rare: RareBox,
}

impl Row {
    pub fn new(sock: Socket) -> Row {
        Row {
            sock,
            owners: None,
            service: None,
            netns: None,
            rare: RareBox::default(),
        }
    }
}

/// The parts of a row that a plain listing leaves empty: user names (-e, user filters),
/// interface names (sockets bound to a device), attribution (JSON, CSV, the Container column,
/// container filters) and cgroup paths (--cgroup). Inline they were 56 of a row's 216 bytes,
/// which a 100k-socket `-antp` held for nothing (issue #17).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rare {
    /// Name of the socket's uid, when known (shared: many sockets have one user).
    pub user: Option<Name>,
    /// Name of the interface the socket is bound to (`Socket::iface`), when known.
    pub iface: Option<Name>,
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

/// Nothing known: what a row without a box reads.
static NO_RARE: Rare = Rare {
    user: None,
    iface: None,
    container: None,
    unit: None,
    holder_netns_differs: None,
    cgroup: None,
};

/// A row's `Rare` parts: read through `Deref` (all `None` when nothing is stored), written
/// through `DerefMut` (which allocates) or `set` (which does not, to store `None`). Equal
/// when the parts are, boxed or not.
#[derive(Clone, Default)]
pub struct RareBox(Option<Box<Rare>>);

impl RareBox {
    /// The parts, when a box holds any (to change them in place without allocating).
    pub fn get_mut(&mut self) -> Option<&mut Rare> {
        self.0.as_deref_mut()
    }

    /// Set one part; storing `None` in a row that has no box allocates none.
    pub fn set<T>(&mut self, field: impl FnOnce(&mut Rare) -> &mut Option<T>, value: Option<T>) {
        if value.is_some() || self.0.is_some() {
            *field(self) = value;
        }
    }
}

impl std::ops::Deref for RareBox {
    type Target = Rare;

    fn deref(&self) -> &Rare {
        self.0.as_deref().unwrap_or(&NO_RARE)
    }
}

impl std::ops::DerefMut for RareBox {
    fn deref_mut(&mut self) -> &mut Rare {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for RareBox {
    fn eq(&self, other: &RareBox) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for RareBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod size {
    /// A large listing holds one row per socket (100k and more), so every byte here is
    /// 100 KB of peak memory there: grow these only on purpose (README, Performance).
    #[test]
    fn rows_and_sockets_stay_small() {
        assert!(
            std::mem::size_of::<crate::model::Socket>() <= 112,
            "{}",
            std::mem::size_of::<crate::model::Socket>()
        );
        assert!(
            std::mem::size_of::<super::Row>() <= 152,
            "{}",
            std::mem::size_of::<super::Row>()
        );
    }

    #[test]
    fn rare_parts_cost_nothing_until_set() {
        let mut r = super::RareBox::default();
        r.set(|x| &mut x.user, None);
        assert!(r.0.is_none(), "storing None allocates nothing");
        assert_eq!(r, super::RareBox::default());
        r.set(|x| &mut x.user, Some("alice".into()));
        assert_eq!(r.user.as_deref(), Some("alice"));
        r.set(|x| &mut x.user, None);
        assert!(r.0.is_some());
        assert_eq!(r, super::RareBox::default(), "an empty box equals no box");
    }
}
