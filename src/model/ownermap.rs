//! What the owner scan is asked for and what it returns: wanted inodes, and every holder found,
//! as one shared table that rows hold windows into.

use super::{Owner, OwnerMethod, Owners, Warning};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Fibonacci hashing of one u64 the kernel hands out (an inode, a socket cookie): a multiply
/// instead of SipHash, for the sets and maps that hold every socket of a host and are
/// looked up once per socket per read. Numbers no other user chooses need no keyed hash.
#[derive(Default)]
pub struct U64Hasher(u64);

impl Hasher for U64Hasher {
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

/// A set of inodes or cookies (`U64Hasher`).
pub type U64Set = HashSet<u64, BuildHasherDefault<U64Hasher>>;
/// A map keyed by inode or cookie (`U64Hasher`).
pub type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

/// Socket inodes the owner scan looks for: sorted and distinct, searched by bisection. Half
/// the memory of a hash set, and the index of an inode doubles as a slot for per-inode state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InodeSet(Vec<u64>);

impl InodeSet {
    /// The position of `inode` in the set, when it is there.
    pub fn index_of(&self, inode: u64) -> Option<usize> {
        self.0.binary_search(&inode).ok()
    }

    pub fn contains(&self, inode: u64) -> bool {
        self.index_of(inode).is_some()
    }

    /// The inodes, ascending.
    pub fn iter(&self) -> std::slice::Iter<'_, u64> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The inodes of this set that `other` lacks, ascending: one walk of both (a lookup of
    /// each would be a bisection of `other` per inode).
    pub fn minus(&self, other: &InodeSet) -> Vec<u64> {
        let mut out = Vec::new();
        let mut theirs = other.0.iter().peekable();
        for &i in &self.0 {
            while theirs.next_if(|&&o| o < i).is_some() {}
            if theirs.peek() != Some(&&i) {
                out.push(i);
            }
        }
        out
    }
}

impl FromIterator<u64> for InodeSet {
    fn from_iter<I: IntoIterator<Item = u64>>(it: I) -> InodeSet {
        let mut v: Vec<u64> = it.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        v.shrink_to_fit();
        InodeSet(v)
    }
}

/// Which inodes the owner scan should find.
#[derive(Debug, Clone)]
pub enum Wanted<'a> {
    /// Every socket inode on the host.
    All,
    /// Only these, with every owner of each: every process is read (a socket can be passed
    /// to any process).
    Some { inodes: &'a InodeSet },
    /// Only these, reading as little as finds their holders: processes of `uids` (the
    /// sockets' uids) first, stopping once every inode has an owner, then the owners' process
    /// families, where sockets shared across fork are. Misses only a holder that received a
    /// socket from an unrelated process (SCM_RIGHTS) or a holder cut off from the first one's
    /// process tree (its master exited); the map says when it stopped early.
    Family {
        inodes: &'a InodeSet,
        uids: &'a HashSet<u32>,
    },
}

/// The result of the owner scan: every owner found, sorted by inode, then pid and fd, with the
/// inodes in a parallel vector. One shared table rather than a map of vectors: on a host with
/// 100k sockets that is one allocation instead of 100k, a lookup is a binary search, and rows
/// hold windows into it (`Owners`).
#[derive(Debug, Default, Clone)]
pub struct OwnerMap {
    inodes: InodeColumn,
    owners: Arc<Vec<Owner>>,
    /// Processes whose fd table could not be read (EACCES): their sockets have no visible owner.
    pub denied_pids: usize,
    pub warnings: Vec<Warning>,
    /// The scan stopped before reading every process (`Wanted::Family`).
    pub partial: bool,
    /// Sockets whose holders are not known yet: watch's tracker looks only where a new
    /// socket can be, found none for these, and reads every process for them next time.
    /// Their rows' owners are unknown (`None`), not "none": the socket may well be held.
    pub unsure: U64Set,
    /// The proc mount option that hides other users' processes from us (`hidepid=invisible`):
    /// their sockets have no visible owner, yet no read was refused.
    pub hidden_by: Option<String>,
    /// The scan ran with the privilege to read every process (root, or the capabilities): an
    /// owner that is still missing refused even that, so "run as root" would be wrong advice.
    pub privileged: bool,
    /// How the fds were read.
    pub method: OwnerMethod,
    /// Why the method is what it is when `--owners auto` chose /proc (BPF unavailable, and
    /// why; or a host too small for it to pay), or which BPF program read: shown with
    /// PORTWATCH_DEBUG=1, never a warning.
    pub method_note: Option<String>,
}

impl OwnerMap {
    /// Build from unordered (inode, owner) pairs.
    pub fn from_pairs(mut pairs: Vec<(u64, Owner)>) -> OwnerMap {
        pairs.sort_unstable_by_key(|(inode, o)| (*inode, o.pid, o.fd));
        let inodes = InodeColumn::of(&pairs);
        // Collected in place (same allocation, smaller elements), then the tail given back.
        let mut owners: Vec<Owner> = pairs.into_iter().map(|p| p.1).collect();
        owners.shrink_to_fit();
        OwnerMap {
            inodes,
            owners: Arc::new(owners),
            ..OwnerMap::default()
        }
    }

    fn range(&self, inode: u64) -> std::ops::Range<usize> {
        match &self.inodes {
            InodeColumn::Narrow(v) => u32::try_from(inode).map_or(0..0, |i| range_of(v, i)),
            InodeColumn::Wide(v) => range_of(v, inode),
        }
    }

    /// Every holder of `inode`, sorted by (pid, fd); empty when none was seen.
    pub fn owners(&self, inode: u64) -> Owners {
        Owners::new(&self.owners, self.range(inode))
    }

    /// The same, copied out (for tests and small callers).
    pub fn get(&self, inode: u64) -> Vec<Owner> {
        self.owners(inode).to_vec()
    }

    /// An empty owner list sharing this map's table.
    pub fn none(&self) -> Owners {
        Owners::none_in(&self.owners)
    }

    /// The distinct inodes that have owners, ascending.
    pub fn inodes(&self) -> impl Iterator<Item = u64> + '_ {
        let mut last = None;
        let column = &self.inodes;
        (0..column.len()).map(|i| column.at(i)).filter(move |&i| {
            let new = last != Some(i);
            last = Some(i);
            new
        })
    }

    /// Drop the owners of every inode `keep` lacks and give their memory back: a listing
    /// holds only the owners of the sockets it shows, though the scan read every process's.
    pub fn keep_only(&mut self, keep: &InodeSet) {
        let mut wanted = keep.iter().peekable();
        let mask: Vec<bool> = (0..self.inodes.len())
            .map(|i| {
                let inode = self.inodes.at(i);
                while wanted.next_if(|&&w| w < inode).is_some() {}
                wanted.peek() == Some(&&inode)
            })
            .collect();
        if mask.iter().all(|&k| k) {
            return;
        }
        match &mut self.inodes {
            InodeColumn::Narrow(v) => retain_masked(v, &mask),
            InodeColumn::Wide(v) => retain_masked(v, &mask),
        }
        // Copies the table only if rows already share it; the pipeline cuts it before.
        retain_masked(Arc::make_mut(&mut self.owners), &mask);
    }

    /// Number of distinct inodes with owners.
    pub fn len(&self) -> usize {
        self.inodes().count()
    }

    pub fn is_empty(&self) -> bool {
        self.inodes.len() == 0
    }
}

/// The owner table's inode column, ascending. Linux numbers socket inodes with
/// `get_next_ino`, an unsigned int, so the column takes 4 bytes an entry when every inode
/// fits (0.4 MB less beside a 100k-socket listing's rows: issue #17); a wider one (another
/// system, a fixture tree) keeps 8.
#[derive(Debug, Clone)]
enum InodeColumn {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Default for InodeColumn {
    fn default() -> InodeColumn {
        InodeColumn::Narrow(Vec::new())
    }
}

impl InodeColumn {
    fn of(pairs: &[(u64, Owner)]) -> InodeColumn {
        match pairs.iter().map(|p| u32::try_from(p.0).ok()).collect() {
            Some(narrow) => InodeColumn::Narrow(narrow),
            None => InodeColumn::Wide(pairs.iter().map(|p| p.0).collect()),
        }
    }

    fn len(&self) -> usize {
        match self {
            InodeColumn::Narrow(v) => v.len(),
            InodeColumn::Wide(v) => v.len(),
        }
    }

    /// The inode at `i`, which is below `len()`.
    fn at(&self, i: usize) -> u64 {
        match self {
            InodeColumn::Narrow(v) => u64::from(v[i]),
            InodeColumn::Wide(v) => v[i],
        }
    }
}

/// Keep the elements of `v` whose `mask` entry (one per element) is true, and give back the
/// memory of the rest.
fn retain_masked<T>(v: &mut Vec<T>, mask: &[bool]) {
    let mut keep = mask.iter();
    v.retain(|_| keep.next().copied().unwrap_or(false));
    v.shrink_to_fit();
}

/// Where `x` is in the ascending `v`.
fn range_of<T: Ord + Copy>(v: &[T], x: T) -> std::ops::Range<usize> {
    v.partition_point(|&i| i < x)..v.partition_point(|&i| i <= x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::owner;
    use proptest::prelude::*;

    #[test]
    fn wide_and_narrow_inode_columns_find_the_same_owners() {
        let wide = 1u64 << 40;
        for extra in [None, Some(wide)] {
            let mut pairs = vec![(7, owner(2)), (5, owner(1)), (7, owner(1)), (9, owner(3))];
            pairs.extend(extra.map(|i| (i, owner(4))));
            let map = OwnerMap::from_pairs(pairs);
            let narrow = matches!(map.inodes, InodeColumn::Narrow(_));
            assert_eq!(narrow, extra.is_none());
            let pids = |inode| map.get(inode).iter().map(|o| o.pid).collect::<Vec<_>>();
            assert_eq!(pids(7), [1, 2]);
            assert_eq!((pids(5), pids(9), pids(6)), (vec![1], vec![3], vec![]));
            assert_eq!(pids(wide), extra.map_or(vec![], |_| vec![4]));
            assert_eq!(
                pids(7 + (1 << 32)),
                Vec::<u32>::new(),
                "not 7 cut to 32 bits"
            );
            let want: Vec<u64> = [5, 7, 9].into_iter().chain(extra).collect();
            assert_eq!(map.inodes().collect::<Vec<_>>(), want);
            assert!(!map.is_empty());
        }
        assert!(OwnerMap::from_pairs(vec![]).is_empty());
    }

    #[test]
    fn keep_only_drops_the_owners_of_other_inodes() {
        let wide = 1u64 << 40;
        for extra in [7, wide] {
            let pairs = vec![
                (5, owner(1)),
                (extra, owner(2)),
                (extra, owner(3)),
                (9, owner(4)),
            ];
            let mut map = OwnerMap::from_pairs(pairs);
            map.keep_only(&[extra, 9, 11].into_iter().collect());
            let pids = |inode| map.get(inode).iter().map(|o| o.pid).collect::<Vec<_>>();
            assert_eq!((pids(extra), pids(9)), (vec![2, 3], vec![4]));
            assert_eq!((pids(5), pids(11)), (vec![], vec![]));
            assert_eq!(
                map.inodes().collect::<Vec<_>>(),
                [extra.min(9), extra.max(9)]
            );
            assert_eq!(
                map.owners.len(),
                3,
                "the dropped owner is gone from the table"
            );
        }
    }

    proptest! {
        #[test]
        fn minus_is_the_set_difference(
            a in proptest::collection::vec(0u64..64, 0..40),
            b in proptest::collection::vec(0u64..64, 0..40),
        ) {
            let x: InodeSet = a.iter().copied().collect();
            let y: InodeSet = b.iter().copied().collect();
            let want: Vec<u64> = x.iter().copied().filter(|i| !y.contains(*i)).collect();
            prop_assert_eq!(x.minus(&y), want);
        }
    }
}
