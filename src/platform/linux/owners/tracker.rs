//! The owner scan of a command that reads again and again (`watch`): every process's socket
//! fds are remembered, and each read looks again only where a new socket can be.
//!
//! A full scan costs one readlink per open fd on the host, every read. But a process's fd
//! table only changes in a few ways, each visible cheaply:
//! - a new process (a pid not seen before, or one whose start time changed): read it all;
//! - a process whose fd count changed (`stat` of `/proc/PID/fd` gives it since Linux 6.2):
//!   list its fd numbers (getdents, no readlink) and read the new ones; numbers that went
//!   away drop what they held. The count kept is that of the numbers listed, so an fd
//!   opened or closed between the stat and the listing shows as a change next time;
//! - a process that held a socket which went away since the last read: a new fd takes the
//!   lowest free number (POSIX), so the freed slots are read again even when the count
//!   stayed the same (a connection replaced by another); so is the slot of a socket the last
//!   pass found there but no dump has listed (born after one dump, gone before the next);
//! - a process that exited: what it held is forgotten, so a socket it shared keeps only its
//!   other holders.
//!
//! What this misses is a socket that lands on an fd number that held something else and whose
//! count did not change (a pipe closed, a socket opened in its place). A socket still without
//! a holder after the pass is looked for with the ordinary scan (early stop) one read later,
//! if it is still there: most such sockets are ones that closed between the dump and the pass
//! (on a busy host, every read has some), and a full scan for them would cost as much as the
//! pass saves. One that scan cannot find either is not searched again while it lives (kernel
//! sockets, holders we may not read). Where the fd directory's size is not the fd count
//! (before Linux 6.2, or a fixture tree) every process's fd numbers are listed each time.

mod fdtable;

use super::{list_pids, scan};
use crate::model::{InodeSet, Owner, OwnerMap, U64Set, Wanted, Who};
use fdtable::{counts_match, Proc, Refresh, Seen};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The remembered owners of every socket, refreshed by `owners`.
#[derive(Debug)]
pub struct Tracker {
    root: PathBuf,
    procs: HashMap<u32, Proc>,
    /// The inodes asked for last time: one asked for then and not now is gone (or left the
    /// selection), and its fd is where a new socket lands.
    last_wanted: InodeSet,
    /// Inodes the full scan found no holder for; not looked for again while they are wanted.
    ownerless: HashSet<u64>,
    /// Inodes without a known holder for the first time in the last call: looked for with
    /// the full scan if they are still there, and still without one, in the next.
    pending: HashSet<u64>,
    /// No call yet: the first one reads every process in full.
    first: bool,
    /// Sockets the last pass found that were not asked for: if they are not asked for now
    /// either, their slots are read again (see `freed_slots`).
    fresh: HashSet<u64>,
    /// The fd directory's size is the fd count (checked on the first process read).
    counts_work: Option<bool>,
    /// Links read by the last call (the cost this saves), the fallback scan's excluded.
    links_read: usize,
    /// Worker threads: asked once (std reads the cgroup's CPU quota files on every call).
    cores: usize,
    /// Inodes whose holders may differ from what the call before the last one gave: a
    /// holding found or dropped, a holder that exited or changed its name.
    changed: U64Set,
}

impl Tracker {
    pub fn new(root: &Path) -> Tracker {
        Tracker {
            root: root.to_path_buf(),
            procs: HashMap::new(),
            last_wanted: InodeSet::default(),
            ownerless: HashSet::new(),
            pending: HashSet::new(),
            first: true,
            fresh: HashSet::new(),
            counts_work: None,
            links_read: 0,
            cores: crate::platform::linux::cores(),
            changed: U64Set::default(),
        }
    }

    /// Those of `of` the last call found no holder for, which the next one looks for in
    /// every process: their owners are not known yet (`OwnerMap::unsure`).
    pub fn unsure_in(&self, of: &InodeSet) -> U64Set {
        self.pending
            .iter()
            .copied()
            .filter(|&i| of.contains(i))
            .collect()
    }

    /// The inodes whose holders may have changed in the last call (`owners` or `update`):
    /// a caller that keeps the owners of the others from earlier calls need look only at
    /// these. Over-reports at worst (a holding dropped and found again).
    pub fn changed(&self) -> &U64Set {
        &self.changed
    }

    /// How many fd links the last call read (not counting a fallback scan).
    pub fn links_read(&self) -> usize {
        self.links_read
    }

    /// The holders of `wanted`, from memory refreshed as the module comment says. `uids`
    /// (the sockets' uids) order the fallback scan as in `Wanted::Family`; `None` makes it
    /// read every process (`Wanted::Some`).
    pub fn owners(&mut self, wanted: &InodeSet, uids: Option<&HashSet<u32>>) -> OwnerMap {
        self.owners_reporting(wanted, uids, None)
    }

    /// `owners`, with a map of only the holders of `report` (which `wanted` holds): every
    /// wanted socket's holders are refreshed all the same (`changed` says whose moved), but
    /// the map, one entry per holding, is built for the few a caller lacks.
    pub fn update(
        &mut self,
        wanted: &InodeSet,
        uids: Option<&HashSet<u32>>,
        report: &InodeSet,
    ) -> OwnerMap {
        self.owners_reporting(wanted, uids, Some(report))
    }

    fn owners_reporting(
        &mut self,
        wanted: &InodeSet,
        uids: Option<&HashSet<u32>>,
        report: Option<&InodeSet>,
    ) -> OwnerMap {
        self.changed.clear();
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let root = match nix::fcntl::open(&self.root, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(_) => return scan(&self.root, Wanted::Some { inodes: wanted }),
        };
        let Ok(pids) = list_pids(&root) else {
            return scan(&self.root, Wanted::Some { inodes: wanted });
        };
        let freed = self.freed_slots(wanted);
        let seen = self.refresh(root.as_fd(), &pids, &freed);
        let mut denied = 0;
        let mut alive = HashSet::with_capacity(pids.len());
        let mut fresh = HashSet::new();
        for (pid, s) in pids.iter().zip(seen) {
            match s {
                Seen::Gone => continue,
                Seen::Denied => denied += 1,
                Seen::Same => {}
                // The first pass reads every socket of the host; none of them is fresh.
                Seen::Read(p) if self.first => {
                    self.procs.insert(*pid, p);
                }
                Seen::Read(p) => {
                    // A socket is new where the old table had another at its fd.
                    let before = self.procs.get(pid);
                    let old = before.map(|o| o.socks.as_slice()).unwrap_or(&[]);
                    let (added, removed) = diff_socks(old, &p.socks);
                    let renamed = before.is_some_and(|b| b.comm != p.comm || b.uid != p.uid);
                    if renamed {
                        self.changed.extend(old.iter().chain(&p.socks).map(|s| s.1));
                    } else {
                        self.changed.extend(added.iter().chain(&removed));
                    }
                    fresh.extend(added.into_iter().filter(|&i| !wanted.contains(i)));
                    self.procs.insert(*pid, p);
                }
            }
            alive.insert(*pid);
        }
        self.fresh = fresh;
        let changed = &mut self.changed;
        self.procs.retain(|pid, p| {
            let keep = alive.contains(pid);
            if !keep {
                changed.extend(p.socks.iter().map(|s| s.1));
            }
            keep
        });
        self.ownerless.retain(|i| wanted.contains(*i));
        let mut map = self.look_for_missing(wanted, uids, report);
        map.denied_pids = map.denied_pids.max(denied);
        self.last_wanted = wanted.clone();
        map
    }

    /// Per pid, the fds that held a socket asked for last time and not now, or one first
    /// seen by the last pass that is not asked for now either (a socket born after a dump and
    /// gone before the next: its slot holds another by now). Those holdings are dropped;
    /// reading the slot again finds whatever is there now.
    fn freed_slots(&mut self, wanted: &InodeSet) -> HashMap<u32, Vec<u32>> {
        // Those sockets, as one small set: most holdings are still wanted, and a lookup in
        // it is cheaper than a bisection of the wanted set per holding.
        let fresh: InodeSet = self.fresh.iter().copied().collect();
        let gone: U64Set = self
            .last_wanted
            .minus(wanted)
            .into_iter()
            .chain(fresh.minus(wanted))
            .collect();
        let mut freed: HashMap<u32, Vec<u32>> = HashMap::new();
        if gone.is_empty() {
            return freed;
        }
        for (pid, p) in self.procs.iter_mut() {
            p.socks.retain(|&(fd, inode)| {
                let gone = gone.contains(&inode);
                if gone {
                    freed.entry(*pid).or_default().push(fd);
                }
                !gone
            });
        }
        freed
    }

    /// Look at every process, on one thread per core.
    fn refresh(
        &mut self,
        root: BorrowedFd<'_>,
        pids: &[u32],
        freed: &HashMap<u32, Vec<u32>>,
    ) -> Vec<Seen> {
        if self.counts_work.is_none() {
            self.counts_work = pids.iter().find_map(|&p| counts_match(root, p));
        }
        let job = Refresh {
            root,
            procs: &self.procs,
            freed,
            counts_work: self.counts_work == Some(true),
            own_pid: std::process::id(),
            links: AtomicUsize::new(0),
        };
        let next = AtomicUsize::new(0);
        let threads = self.cores.min(pids.len() / 16).max(1);
        let work = || {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&pid) = pids.get(i) else { break };
                out.push((i, job.one(pid)));
            }
            out
        };
        let mut all: Vec<(usize, Seen)> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("owner-track".into())
                        .spawn_scoped(s, work)
                        .ok()
                })
                .collect();
            let mut all = work();
            for h in handles {
                // A worker that panicked lost its processes; they count as gone this time.
                all.extend(h.join().unwrap_or_default());
            }
            all
        });
        self.links_read = job.links.load(Ordering::Relaxed);
        all.sort_unstable_by_key(|(i, _)| *i);
        let mut seen: Vec<Seen> = (0..pids.len()).map(|_| Seen::Gone).collect();
        for (i, s) in all {
            if let Some(slot) = seen.get_mut(i) {
                *slot = s;
            }
        }
        seen
    }

    /// The owner map of `wanted`; sockets without a known holder (new ones the pass did not
    /// find) are looked for with the ordinary scan first.
    fn look_for_missing(
        &mut self,
        wanted: &InodeSet,
        uids: Option<&HashSet<u32>>,
        report: Option<&InodeSet>,
    ) -> OwnerMap {
        let mut pairs = self.pairs(report.unwrap_or(wanted));
        // Which wanted sockets may lack a holder: all of them the first time; after that only
        // the new ones, those without one last time, and those whose holdings changed (every
        // other one kept the holder it had).
        let candidates: U64Set = if self.first {
            wanted.iter().copied().collect()
        } else {
            wanted
                .minus(&self.last_wanted)
                .into_iter()
                .chain(self.pending.iter().copied())
                .chain(self.changed.iter().copied())
                .filter(|&i| wanted.contains(i))
                .collect()
        };
        let held: U64Set = self
            .procs
            .values()
            .flat_map(|p| p.socks.iter().map(|s| s.1))
            .filter(|i| candidates.contains(i))
            .collect();
        let mut missing: Vec<u64> = candidates
            .into_iter()
            .filter(|i| !held.contains(i) && !self.ownerless.contains(i))
            .collect();
        missing.sort_unstable();
        if self.first {
            // Every process was read in full: what has no holder now has none visible.
            self.ownerless.extend(missing);
            self.first = false;
            return OwnerMap::from_pairs(pairs);
        }
        // A socket missing for the first time is most often one that closed between the
        // dump and this pass (its slot already holds the next one): wait a read before the
        // full scan, and scan only for those still there and still without a holder.
        let (now, later): (Vec<u64>, Vec<u64>) =
            missing.into_iter().partition(|i| self.pending.contains(i));
        self.pending = later.into_iter().collect();
        let now: InodeSet = now.into_iter().collect();
        let mut extra = OwnerMap::default();
        if !now.is_empty() {
            extra = match uids {
                Some(uids) => scan(&self.root, Wanted::Family { inodes: &now, uids }),
                None => scan(&self.root, Wanted::Some { inodes: &now }),
            };
            for inode in now.iter() {
                let found = extra.get(*inode);
                if found.is_empty() {
                    self.ownerless.insert(*inode);
                    // Unknown until now (`pending`): a caller that kept it so learns it is
                    // held by nothing visible.
                    self.changed.insert(*inode);
                }
                for o in found {
                    self.remember(*inode, &o);
                    self.changed.insert(*inode);
                    if report.is_none_or(|r| r.contains(*inode)) {
                        pairs.push((*inode, o));
                    }
                }
            }
        }
        let mut map = OwnerMap::from_pairs(pairs);
        map.unsure = self.unsure_in(report.unwrap_or(wanted));
        map.denied_pids = extra.denied_pids;
        map.warnings = extra.warnings;
        // After the first read, a holder on a reused fd number may be missed or found a read
        // late (module comment).
        map.partial = true;
        map
    }

    /// Record a holder the fallback scan found.
    fn remember(&mut self, inode: u64, o: &Owner) {
        let p = self.procs.entry(o.pid).or_insert_with(|| Proc {
            comm: o.comm().clone(),
            uid: o.uid(),
            ..Proc::default()
        });
        // The scan's answer replaces whatever was remembered at that fd.
        match p.socks.binary_search_by_key(&o.fd, |&(fd, _)| fd) {
            Ok(at) => p.socks[at].1 = inode,
            Err(at) => p.socks.insert(at, (o.fd, inode)),
        }
    }

    /// The remembered holders of `inodes`, as the last call left them (no process read).
    pub fn holders(&self, inodes: &InodeSet) -> Vec<(u64, Owner)> {
        self.pairs(inodes)
    }

    /// (inode, owner) for every remembered holding of a wanted inode.
    fn pairs(&self, wanted: &InodeSet) -> Vec<(u64, Owner)> {
        if wanted.is_empty() {
            return Vec::new();
        }
        let mut v = Vec::new();
        for (&pid, p) in &self.procs {
            let mut who = None;
            for &(fd, inode) in &p.socks {
                if wanted.contains(inode) {
                    let who = who.get_or_insert_with(|| Who::new(p.comm.clone(), p.uid));
                    v.push((inode, Owner::of(pid, fd, who)));
                }
            }
        }
        v
    }
}

/// The inodes held in `after` and not in `before` (at that fd), and those held in `before`
/// and not in `after`: one walk of both, sorted by fd.
fn diff_socks(before: &[(u32, u64)], after: &[(u32, u64)]) -> (Vec<u64>, Vec<u64>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut b, mut a) = (before.iter().peekable(), after.iter().peekable());
    loop {
        match (b.peek(), a.peek()) {
            (Some(x), Some(y)) if x == y => {
                b.next();
                a.next();
            }
            (Some(x), Some(y)) if x.0 == y.0 => {
                removed.push(x.1);
                added.push(y.1);
                b.next();
                a.next();
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                removed.push(x.1);
                b.next();
            }
            (Some(_), Some(y)) => {
                added.push(y.1);
                a.next();
            }
            (Some(x), None) => {
                removed.push(x.1);
                b.next();
            }
            (None, Some(y)) => {
                added.push(y.1);
                a.next();
            }
            (None, None) => return (added, removed),
        }
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
