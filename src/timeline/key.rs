//! Which row of one read is which row of the next: a socket's identity while it lives.
//!
//! The kernel's socket cookie names a socket for its whole life and is never reused within a
//! boot, so where the source reads it (sock_diag) it is the identity; a TIME-WAIT socket
//! keeps the cookie of the connection it ends. Without one (the
//! /proc/net tables) the inode is: unique among live sockets, and kept when the socket binds or
//! connects (its addresses change, it is still the same socket). Sockets with inode 0 (the
//! kernel's TIME-WAIT and request sockets, orphans whose process closed them) are told apart
//! by their addresses, which are unique per connection at any one time.

use crate::model::{Endpoint, Family, Proto, Row, Socket};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::num::NonZeroU64;
use std::sync::OnceLock;

/// A socket's identity across reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Cookie(NonZeroU64),
    Inode(Proto, u64),
    /// Inode 0: the addresses (boxed: rare, and keeps the key at two words).
    Addrs(Box<Ends>),
}

/// Protocol, namespace and both ends: what tells a connection from every other one at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ends {
    pub proto: Proto,
    pub family: Family,
    pub netns: Option<NonZeroU64>,
    pub local: Option<Endpoint>,
    pub remote: Option<Endpoint>,
}

impl Ends {
    pub fn of(s: &Socket) -> Ends {
        Ends {
            proto: s.proto,
            family: s.family,
            netns: s.netns,
            local: s.local.clone(),
            remote: s.remote.clone(),
        }
    }

    /// Whether the ends name one connection: a remote address and port are known (a
    /// listener's `*:*` is shared by every socket bound to the same local end).
    pub fn is_connection(&self) -> bool {
        matches!(&self.remote, Some(Endpoint::Inet { port, .. }) if *port != 0)
    }
}

/// One u64 per key, so that the maps of a read (75k keys, looked up three times each) can
/// mix it with a multiply instead of SipHash. Cookies and inodes are numbers the kernel
/// hands out; the ends of an inode-less socket are chosen by whoever connects, so they go
/// through the process's randomly keyed SipHash first.
impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Key::Cookie(c) => h.write_u64(c.get()),
            Key::Inode(proto, inode) => h.write_u64(inode.rotate_left(8) ^ *proto as u64),
            Key::Addrs(ends) => {
                static KEYED: OnceLock<RandomState> = OnceLock::new();
                h.write_u64(KEYED.get_or_init(RandomState::new).hash_one(ends));
            }
        }
    }
}

/// Fibonacci hashing of the one u64 a `Key` writes (see `impl Hash for Key`).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<KeyHasher>>;

/// The identity of `s` (see the module comment).
pub fn key(s: &Socket) -> Key {
    if let Some(c) = cookie(s) {
        return Key::Cookie(c);
    }
    if s.inode != 0 {
        return Key::Inode(s.proto, s.inode);
    }
    Key::Addrs(Box::new(Ends::of(s)))
}

/// The kernel's socket cookie, where the source read one (sock_diag; not /proc/net).
fn cookie(s: &Socket) -> Option<NonZeroU64> {
    s.cookie
}

/// The rows of one read, found by identity.
#[derive(Debug, Default)]
pub struct Reading {
    rows: Vec<Row>,
    index: KeyMap<u32>,
    /// Each key once with its row, in row order (a key seen twice keeps its first row).
    order: Vec<(Key, u32)>,
}

impl Reading {
    /// Index `rows` by identity. A key seen twice (a dump that caught a socket twice while
    /// the table changed) keeps its first row.
    pub fn new(rows: Vec<Row>) -> Reading {
        let mut index = KeyMap::with_capacity_and_hasher(rows.len(), Default::default());
        let mut order = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let Ok(i) = u32::try_from(i) else { break };
            let k = key(&r.sock);
            if let std::collections::hash_map::Entry::Vacant(e) = index.entry(k.clone()) {
                e.insert(i);
                order.push((k, i));
            }
        }
        Reading { rows, index, order }
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn get(&self, k: &Key) -> Option<&Row> {
        self.index.get(k).and_then(|&i| self.rows.get(i as usize))
    }

    pub fn contains(&self, k: &Key) -> bool {
        self.index.contains_key(k)
    }

    /// The rows and their keys, in row order, each key once.
    pub fn keyed(&self) -> impl Iterator<Item = (&Key, &Row)> {
        self.order
            .iter()
            .filter_map(|(k, i)| Some((k, self.rows.get(*i as usize)?)))
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::State;
    use crate::timeline::testrows::tcp;

    #[test]
    fn inode_is_kept_across_bind_and_connect() {
        let bound = tcp(State::CLOSE, 7, 4000, 0);
        let connected = tcp(State::SYN_SENT, 7, 4000, 80);
        assert_eq!(key(&bound), key(&connected));
        assert_ne!(key(&bound), key(&tcp(State::CLOSE, 8, 4000, 0)));
    }

    #[test]
    fn inode_zero_sockets_are_told_apart_by_their_ends() {
        let a = tcp(State::TIME_WAIT, 0, 4000, 80);
        let b = tcp(State::TIME_WAIT, 0, 4001, 80);
        assert_ne!(key(&a), key(&b));
        assert_eq!(key(&a), key(&tcp(State::FIN_WAIT2, 0, 4000, 80)));
        assert!(Ends::of(&a).is_connection());
        assert!(!Ends::of(&tcp(State::LISTEN, 0, 80, 0)).is_connection());
    }

    #[test]
    fn the_cookie_names_a_socket_whatever_its_inode_and_ends() {
        let cookie = NonZeroU64::new(77);
        let full = Socket {
            cookie,
            ..tcp(State::ESTABLISHED, 7, 4000, 80)
        };
        // The TIME-WAIT socket that replaces it keeps the cookie (inet_twsk_alloc).
        let tw = Socket {
            cookie,
            ..tcp(State::TIME_WAIT, 0, 4000, 80)
        };
        assert_eq!(key(&full), Key::Cookie(NonZeroU64::new(77).unwrap()));
        assert_eq!(key(&full), key(&tw));
        assert_ne!(key(&full), key(&tcp(State::ESTABLISHED, 7, 4000, 80)));
    }

    #[test]
    fn a_key_seen_twice_keeps_its_first_row() {
        let r = Reading::new(vec![
            Row::new(tcp(State::ESTABLISHED, 5, 1, 2)),
            Row::new(tcp(State::CLOSE_WAIT, 5, 1, 2)),
            Row::new(tcp(State::LISTEN, 6, 80, 0)),
        ]);
        assert_eq!(r.len(), 2);
        let first = r.get(&Key::Inode(Proto::Tcp, 5)).unwrap();
        assert_eq!(first.sock.state, State::ESTABLISHED);
        let order: Vec<u64> = r.keyed().map(|(_, row)| row.sock.inode).collect();
        assert_eq!(order, [5, 6]);
    }
}
