//! Which row of one read is which row of the next: a socket's identity while it lives.
//!
//! The kernel's socket cookie names a socket for its whole life and is never reused within a
//! boot, so where the source reads it (sock_diag) it is the identity; a TIME-WAIT socket
//! keeps the cookie of the connection it ends. Without one (the
//! /proc/net tables) the inode is: unique among live sockets, and kept when the socket binds or
//! connects (its addresses change, it is still the same socket). Sockets with inode 0 (the
//! kernel's TIME-WAIT and request sockets, orphans whose process closed them) are told apart
//! by their addresses, which are unique per connection at any one time.

use crate::model::{Endpoint, Family, OptU32, Owner, Owners, Proto, Row, Socket, U64Hasher};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::num::NonZeroU64;
use std::sync::{Arc, OnceLock};

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
            netns: s.netns_inode(),
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

/// Keys write one u64 (`impl Hash for Key`): the model's multiply hasher mixes it.
type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<U64Hasher>>;

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

/// The rows of one read, found by identity; each key once.
#[derive(Debug, Default)]
pub struct Reading {
    rows: Vec<Row>,
    /// The key of each row, at the row's index.
    keys: Vec<Key>,
    index: KeyMap<u32>,
}

impl Reading {
    /// Index `rows` by identity. A key seen twice (a dump that caught a socket twice while
    /// the table changed) keeps its first row.
    pub fn new(rows: Vec<Row>) -> Reading {
        let mut r = Reading {
            rows: Vec::with_capacity(rows.len()),
            keys: Vec::with_capacity(rows.len()),
            index: KeyMap::with_capacity_and_hasher(rows.len(), Default::default()),
        };
        for row in rows {
            r.insert(row);
        }
        r
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn get(&self, k: &Key) -> Option<&Row> {
        self.index.get(k).and_then(|&i| self.rows.get(i as usize))
    }

    pub fn get_mut(&mut self, k: &Key) -> Option<&mut Row> {
        self.index
            .get(k)
            .and_then(|&i| self.rows.get_mut(i as usize))
    }

    pub fn contains(&self, k: &Key) -> bool {
        self.index.contains_key(k)
    }

    /// Add `row` under its key; `false` (and nothing added) when the key is there already.
    pub fn insert(&mut self, row: Row) -> bool {
        let Ok(i) = u32::try_from(self.rows.len()) else {
            return false;
        };
        match self.index.entry(key(&row.sock)) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(e) => {
                self.keys.push(e.key().clone());
                e.insert(i);
                self.rows.push(row);
                true
            }
        }
    }

    /// Take out the row of `k`. The last row takes its place: rows are in no order once
    /// one was removed.
    pub fn remove(&mut self, k: &Key) -> Option<Row> {
        let i = self.index.remove(k)? as usize;
        let row = self.rows.swap_remove(i);
        self.keys.swap_remove(i);
        if let Some(moved) = self.keys.get(i) {
            if let Some(slot) = self.index.get_mut(moved) {
                *slot = i as u32;
            }
        }
        Some(row)
    }

    /// The rows and their keys, in row order.
    pub fn keyed(&self) -> impl Iterator<Item = (&Key, &Row)> {
        self.keys.iter().zip(&self.rows)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }

    /// Put every row's owners into one new table. A row holds a window into the table of
    /// owners of the read that made it, and that table lives as long as any of its rows:
    /// kept across reads, a few long-lived connections would keep many reads' tables. The
    /// rows' order and everything else stays.
    pub fn compact_owners(&mut self) {
        let n = self
            .rows
            .iter()
            .filter_map(|r| r.owners.as_ref())
            .map(|o| o.len())
            .sum();
        let mut table: Vec<Owner> = Vec::with_capacity(n);
        for r in &self.rows {
            table.extend(r.owners.iter().flat_map(|o| o.iter()).cloned());
        }
        let table = Arc::new(table);
        let mut start = 0;
        for owners in self.rows.iter_mut().filter_map(|r| r.owners.as_mut()) {
            let end = start + owners.len();
            *owners = Owners::new(&table, start..end);
            start = end;
        }
    }

    /// Mark every row's queues unknown: they will not be read again (watch's fed reads).
    pub fn forget_queues(&mut self) {
        for r in &mut self.rows {
            r.sock.recv_q = OptU32::NONE;
            r.sock.send_q = OptU32::NONE;
        }
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

    #[test]
    fn compacted_owners_are_the_same_and_let_go_of_their_reads_tables() {
        use crate::timeline::testrows::owner;
        // Two reads' tables, each kept alive only by one row of the three.
        let first = Arc::new(vec![owner(1, "a"), owner(2, "b"), owner(3, "c")]);
        let second = Arc::new(vec![owner(4, "d"), owner(5, "e")]);
        let with = |inode, owners: Option<Owners>| Row {
            owners,
            ..Row::new(tcp(State::ESTABLISHED, inode, 1, inode as u16))
        };
        let mut r = Reading::new(vec![
            with(1, Some(Owners::new(&first, 1..3))),
            with(2, None),
            with(3, Some(Owners::new(&second, 0..0))),
            with(4, Some(Owners::new(&second, 1..2))),
        ]);
        let before: Vec<Option<Vec<Owner>>> = r
            .rows()
            .iter()
            .map(|row| row.owners.as_ref().map(|o| o.to_vec()))
            .collect();
        r.compact_owners();
        let after: Vec<Option<Vec<Owner>>> = r
            .rows()
            .iter()
            .map(|row| row.owners.as_ref().map(|o| o.to_vec()))
            .collect();
        assert_eq!(after, before);
        assert_eq!(
            Arc::strong_count(&first),
            1,
            "the first read's table is let go"
        );
        assert_eq!(
            Arc::strong_count(&second),
            1,
            "the second read's table is let go"
        );
        assert!(r
            .get(&Key::Inode(Proto::Tcp, 3))
            .unwrap()
            .owners
            .as_ref()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn rows_removed_and_added_stay_found_by_their_keys() {
        let mut r = Reading::new(
            (1..=5)
                .map(|i| Row::new(tcp(State::LISTEN, i, 80, 0)))
                .collect(),
        );
        let k = |i| Key::Inode(Proto::Tcp, i);
        assert_eq!(r.remove(&k(2)).map(|row| row.sock.inode), Some(2));
        assert_eq!(r.remove(&k(2)), None);
        assert!(r.insert(Row::new(tcp(State::LISTEN, 9, 80, 0))));
        assert!(!r.insert(Row::new(tcp(State::ESTABLISHED, 9, 80, 1))));
        r.get_mut(&k(5)).expect("5").sock.recv_q = OptU32::some(3);
        assert_eq!(r.remove(&k(1)).map(|row| row.sock.inode), Some(1));
        let mut left: Vec<u64> = r
            .keyed()
            .map(|(key, row)| {
                assert_eq!(key, &k(row.sock.inode));
                assert_eq!(r.get(key).map(|x| x.sock.inode), Some(row.sock.inode));
                row.sock.inode
            })
            .collect();
        left.sort_unstable();
        assert_eq!(left, [3, 4, 5, 9]);
        assert_eq!(r.len(), 4);
        assert_eq!(r.get(&k(5)).and_then(|x| x.sock.recv_q.get()), Some(3));
    }
}
