//! The owner scan of a command that reads again and again (`watch`): every process's socket
//! fds are remembered, and each read looks again only where a new socket can be.
//!
//! A full scan costs one readlink per open fd on the host, every read. But a process's fd
//! table only changes in a few ways, each visible cheaply:
//! - a new process (a pid not seen before, or one whose start time changed): read it all;
//! - a process whose fd count changed (`stat` of `/proc/PID/fd` gives it since Linux 6.2):
//!   list its fd numbers (getdents, no readlink) and read the new ones; numbers that went
//!   away drop what they held;
//! - a process that held a socket which went away since the last read: a new fd takes the
//!   lowest free number (POSIX), so the freed slots are read again even when the count
//!   stayed the same (a connection replaced by another);
//! - a process that exited: what it held is forgotten, so a socket it shared keeps only its
//!   other holders.
//!
//! What this misses is a socket that lands on an fd number that held something else and whose
//! count did not change (a pipe closed, a socket opened in its place). A socket still without
//! a holder after the pass is looked for with the ordinary scan (early stop) one read later,
//! if it is still there: most such sockets are ones that closed between the dump and the pass
//! (on a busy host, every read has some), and a full scan for them would cost as much as the
//! pass saves. One that scan cannot find either is not searched again while it lives (kernel
//! sockets, holders we may not read). Where the fd count is not the count (before Linux 6.2, or a fixture tree)
//! every process's fd numbers are listed each time.

use super::pidfs::{
    parse_u32, pid_path, read_comm, read_file, read_uid, readlinkat, socket_inode, stat_start,
};
use super::{kernel_thread, list_pids, process_exists, scan};
use crate::model::{InodeSet, Owner, OwnerMap, Text, Wanted};
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What is remembered of one process.
#[derive(Debug, Clone, Default)]
struct Proc {
    /// Start time (`stat` field 22): a pid reused by another process has another.
    start: Option<u64>,
    comm: Text,
    uid: Option<u32>,
    /// The fd directory's size at the last read (the fd count on Linux 6.2+).
    count: i64,
    /// The fd numbers at the last listing, as a bit set.
    fds: Vec<u64>,
    /// Its socket fds: (fd, inode), sorted by fd.
    socks: Vec<(u32, u64)>,
}

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
    /// The fd directory's size is the fd count (checked on the first process read).
    counts_work: Option<bool>,
    /// Links read by the last call (the cost this saves), the fallback scan's excluded.
    links_read: usize,
    /// Worker threads: asked once (std reads the cgroup's CPU quota files on every call).
    cores: usize,
}

/// How one process was found this time.
enum Seen {
    Gone,
    Denied,
    Same,
    Read(Proc),
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
            counts_work: None,
            links_read: 0,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// How many fd links the last call read (not counting a fallback scan).
    pub fn links_read(&self) -> usize {
        self.links_read
    }

    /// The holders of `wanted`, from memory refreshed as the module comment says. `uids`
    /// (the sockets' uids) order the fallback scan as in `Wanted::Family`; `None` makes it
    /// read every process (`Wanted::Some`).
    pub fn owners(&mut self, wanted: &InodeSet, uids: Option<&HashSet<u32>>) -> OwnerMap {
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
        for (pid, s) in pids.iter().zip(seen) {
            match s {
                Seen::Gone => continue,
                Seen::Denied => denied += 1,
                Seen::Same => {}
                Seen::Read(p) => {
                    self.procs.insert(*pid, p);
                }
            }
            alive.insert(*pid);
        }
        self.procs.retain(|pid, _| alive.contains(pid));
        self.ownerless.retain(|i| wanted.contains(*i));
        let mut map = self.look_for_missing(wanted, uids);
        map.denied_pids = map.denied_pids.max(denied);
        self.last_wanted = wanted.clone();
        map
    }

    /// Per pid, the fds that held a socket asked for last time and not now. Those holdings
    /// are dropped; reading the slot again finds whatever is there now.
    fn freed_slots(&mut self, wanted: &InodeSet) -> HashMap<u32, Vec<u32>> {
        let mut freed: HashMap<u32, Vec<u32>> = HashMap::new();
        for (pid, p) in self.procs.iter_mut() {
            p.socks.retain(|&(fd, inode)| {
                let gone = self.last_wanted.contains(inode) && !wanted.contains(inode);
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
    fn look_for_missing(&mut self, wanted: &InodeSet, uids: Option<&HashSet<u32>>) -> OwnerMap {
        let mut pairs = self.pairs(wanted);
        let held: HashSet<u64> = pairs.iter().map(|(i, _)| *i).collect();
        let missing: Vec<u64> = wanted
            .iter()
            .copied()
            .filter(|i| !held.contains(i) && !self.ownerless.contains(i))
            .collect();
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
                }
                for o in found {
                    self.remember(*inode, &o);
                    pairs.push((*inode, o));
                }
            }
        }
        let mut map = OwnerMap::from_pairs(pairs);
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
            comm: o.comm.clone(),
            uid: o.uid,
            ..Proc::default()
        });
        if let Err(at) = p.socks.binary_search_by_key(&o.fd, |&(fd, _)| fd) {
            p.socks.insert(at, (o.fd, inode));
        }
    }

    /// (inode, owner) for every remembered holding of a wanted inode.
    fn pairs(&self, wanted: &InodeSet) -> Vec<(u64, Owner)> {
        let mut v = Vec::new();
        for (&pid, p) in &self.procs {
            for &(fd, inode) in &p.socks {
                if wanted.contains(inode) {
                    let o = Owner {
                        pid,
                        comm: p.comm.clone(),
                        fd,
                        uid: p.uid,
                    };
                    v.push((inode, o));
                }
            }
        }
        v
    }
}

/// Whether `pid`'s fd directory size equals the number of its entries (the fd count);
/// `None` when it cannot be told (no such process, no fds, no access).
fn counts_match(root: BorrowedFd<'_>, pid: u32) -> Option<bool> {
    let size = fstatat(root, pid_path(pid, "/fd").as_c(), AtFlags::empty())
        .ok()?
        .st_size;
    let n = list_fds(root, pid).ok()?.len();
    (n > 0).then_some(i64::try_from(n) == Ok(size))
}

/// What the workers share.
struct Refresh<'a> {
    root: BorrowedFd<'a>,
    procs: &'a HashMap<u32, Proc>,
    freed: &'a HashMap<u32, Vec<u32>>,
    counts_work: bool,
    own_pid: u32,
    links: AtomicUsize,
}

impl Refresh<'_> {
    fn one(&self, pid: u32) -> Seen {
        let size = match fstatat(self.root, pid_path(pid, "/fd").as_c(), AtFlags::empty()) {
            Ok(st) => st.st_size,
            Err(Errno::EACCES | Errno::EPERM) => return self.denied_or_gone(pid),
            Err(_) => return Seen::Gone,
        };
        let Some(old) = self.procs.get(&pid) else {
            return self.read_all(pid, size);
        };
        // A holder is checked for pid reuse: its holdings must not pass to a stranger.
        if !old.socks.is_empty() && start_time(self.root, pid) != old.start {
            return self.read_all(pid, size);
        }
        let freed = self.freed.get(&pid).map(Vec::as_slice).unwrap_or_default();
        if self.counts_work && size == old.count && freed.is_empty() {
            return Seen::Same;
        }
        let mut p = old.clone();
        let mut slots: Vec<u32> = freed.to_vec();
        if !self.counts_work || size != old.count {
            let Ok(now) = list_fds(self.root, pid) else {
                return Seen::Gone;
            };
            let set = bitset(&now);
            // Numbers that went away drop their sockets; new numbers are read.
            p.socks.retain(|&(fd, _)| has(&set, fd));
            slots.extend(now.iter().copied().filter(|&fd| !has(&old.fds, fd)));
            p.fds = set;
            p.count = size;
            if let Ok(comm) = read_comm(self.root, pid) {
                p.comm = comm;
            }
        }
        match self.read_slots(pid, &slots, &mut p) {
            Ok(()) => Seen::Read(p),
            Err(Errno::EACCES | Errno::EPERM) => self.denied_or_gone(pid),
            Err(_) => Seen::Gone,
        }
    }

    /// A process seen for the first time: every fd.
    fn read_all(&self, pid: u32, size: i64) -> Seen {
        let Ok(fds) = list_fds(self.root, pid) else {
            return self.denied_or_gone(pid);
        };
        let Ok(comm) = read_comm(self.root, pid) else {
            return Seen::Gone;
        };
        let mut p = Proc {
            start: start_time(self.root, pid),
            comm,
            uid: read_uid(self.root, pid),
            count: size,
            fds: bitset(&fds),
            socks: Vec::new(),
        };
        match self.read_slots(pid, &fds, &mut p) {
            Ok(()) => Seen::Read(p),
            Err(Errno::EACCES | Errno::EPERM) => self.denied_or_gone(pid),
            Err(_) => Seen::Gone,
        }
    }

    /// Readlink each of `fds`, replacing what `p` remembered there.
    fn read_slots(&self, pid: u32, fds: &[u32], p: &mut Proc) -> Result<(), Errno> {
        if fds.is_empty() {
            return Ok(());
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let dir = openat(self.root, pid_path(pid, "/fd").as_c(), flags, Mode::empty())?;
        let mut buf = [0u8; 64];
        let mut name = [0u8; 12];
        self.links.fetch_add(fds.len(), Ordering::Relaxed);
        for &fd in fds {
            let at = p.socks.binary_search_by_key(&fd, |&(f, _)| f);
            let inode = match readlinkat(dir.as_raw_fd(), fd_name(fd, &mut name), &mut buf) {
                Ok(n) => buf.get(..n).and_then(socket_inode),
                Err(e @ (Errno::EACCES | Errno::EPERM)) => return Err(e),
                // Closed since it was listed.
                Err(_) => None,
            };
            match (at, inode) {
                (Ok(i), Some(inode)) => p.socks[i].1 = inode,
                (Ok(i), None) => {
                    p.socks.remove(i);
                }
                (Err(i), Some(inode)) => p.socks.insert(i, (fd, inode)),
                (Err(_), None) => {}
            }
        }
        Ok(())
    }

    /// A refused read counts as denied, as in the full scan: unless it is our own process,
    /// a process that exited meanwhile, or a kernel thread.
    fn denied_or_gone(&self, pid: u32) -> Seen {
        if pid == self.own_pid || !process_exists(self.root, pid) {
            Seen::Gone
        } else if kernel_thread(self.root, pid) {
            Seen::Same
        } else {
            Seen::Denied
        }
    }
}

/// `fd` as a NUL-terminated decimal name in `buf`.
fn fd_name(fd: u32, buf: &mut [u8; 12]) -> &std::ffi::CStr {
    use std::io::Write as _;
    let mut w = &mut buf[..];
    let _ = write!(w, "{fd}\0");
    let len = 12 - w.len();
    std::ffi::CStr::from_bytes_with_nul(&buf[..len]).unwrap_or(c"")
}

/// The fd numbers of `pid`, ascending (getdents: no readlink).
fn list_fds(root: BorrowedFd<'_>, pid: u32) -> Result<Vec<u32>, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fd = openat(root, pid_path(pid, "/fd").as_c(), flags, Mode::empty())?;
    let mut dir = Dir::from_fd(fd)?;
    let mut v: Vec<u32> = dir
        .iter()
        .map_while(Result::ok)
        .filter_map(|e| parse_u32(e.file_name().to_bytes()))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// The start time of `pid`, from its stat file.
fn start_time(root: BorrowedFd<'_>, pid: u32) -> Option<u64> {
    let mut buf = [0u8; 512];
    let n = read_file(root, pid_path(pid, "/stat").as_c(), &mut buf).ok()?;
    stat_start(buf.get(..n)?)
}

fn bitset(fds: &[u32]) -> Vec<u64> {
    let words = fds.last().map_or(0, |&m| m as usize / 64 + 1);
    let mut set = vec![0u64; words];
    for &fd in fds {
        set[fd as usize / 64] |= 1 << (fd % 64);
    }
    set
}

fn has(set: &[u64], fd: u32) -> bool {
    set.get(fd as usize / 64)
        .is_some_and(|w| w & (1 << (fd % 64)) != 0)
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
