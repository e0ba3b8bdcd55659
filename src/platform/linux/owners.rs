//! The owner scan: readlink of `/proc/<pid>/fd/*` to map socket inodes to processes.
//!
//! No kernel interface maps a socket inode to its holders, so this costs one readlink per open
//! fd on the whole host (`ss -p` and lsof pay the same). What keeps it near that floor:
//! - each fd directory is opened once and every link read with `readlinkat` relative to it,
//!   into a stack buffer, with no allocation unless the target is a wanted `socket:[N]`
//!   (procfs's fd API costs about three syscalls and several allocations per fd);
//! - `comm` and `status` are read once per process, and only for processes holding a wanted
//!   socket;
//! - processes are handed out one at a time from a shared counter to one thread per core, so
//!   a process with 100k fds does not leave the other threads idle.
//!
//! Early stop (`Wanted::Family`). Nothing in /proc says how many processes hold a socket, so
//! the only complete answer is a read of every process. When some inodes are wanted, the
//! processes of the sockets' uids are read first and hand-out stops once every inode has an
//! owner; then the owners' process families are read (see `family.rs`), which is where the
//! other holders of a socket shared across fork live (an nginx master as root and its workers
//! as www-data). What that can miss is a holder outside the topmost holder's descendants (a
//! socket passed to an unrelated process over a unix socket, workers re-parented to pid 1
//! after their master exited), so the map says it is partial and `Wanted::Some` reads
//! everything.

pub mod bpf;
mod family;
pub mod method;
pub(crate) mod pidfs;
#[cfg(test)]
pub(crate) mod tests;
mod tracker;

pub use tracker::Tracker;

use crate::model::{InodeSet, OwnerMap, Wanted};
use crate::model::{Owner, Warning, Who};
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode};
use pidfs::{
    parse_u32, pid_path, read_comm, read_file, read_uid, readlinkat, socket_inode, stat_flags,
    PF_KTHREAD,
};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Scan the proc tree for processes holding the wanted socket inodes.
pub fn scan(proc_root: &Path, wanted: Wanted<'_>) -> OwnerMap {
    let mut map = OwnerMap::default();
    let (inodes, first_uids) = match wanted {
        Wanted::All => (None, None),
        Wanted::Some { inodes } => (Some(inodes), None),
        Wanted::Family { inodes, uids } => (Some(inodes), Some(uids)),
    };
    if inodes.is_some_and(InodeSet::is_empty) {
        return map;
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = match nix::fcntl::open(proc_root, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            map.warnings.push(unreadable(proc_root, e));
            return map;
        }
    };
    let mut pids = match list_pids(&root) {
        Ok(p) => p,
        Err(e) => {
            map.warnings.push(unreadable(proc_root, e));
            return map;
        }
    };
    // Only `Wanted::Family` stops early (it is the one that names uids to read first).
    let early = match (first_uids, inodes) {
        (Some(uids), Some(inodes)) => {
            if !uids.is_empty() {
                // Sockets carry their creator's uid: its processes most likely hold them. The
                // directory owner is the euid (or root for non-dumpable processes), which is
                // good enough for an order.
                pids.sort_by_cached_key(|&pid| {
                    let uid = fstatat(&root, pid_path(pid, "").as_c(), AtFlags::empty()).ok();
                    !uid.is_some_and(|st| uids.contains(&st.st_uid))
                });
            }
            Some(Early::new(inodes))
        }
        _ => None,
    };
    let job = Job {
        root: root.as_fd(),
        pids: &pids,
        next: AtomicUsize::new(0),
        inodes,
        early: early.as_ref(),
        own_pid: std::process::id(),
    };
    let mut found = job.run_parallel();
    let read = job.next.load(Ordering::Relaxed).min(pids.len());
    let partial = read < pids.len() && family::complete(&job, read, &mut found);
    let warnings = std::mem::take(&mut map.warnings);
    let mut map = OwnerMap::from_pairs(found.pairs);
    map.denied_pids = found.denied;
    map.warnings = warnings;
    map.partial = partial;
    map
}

fn unreadable(proc_root: &Path, e: Errno) -> Warning {
    Warning::new(
        "owners-unavailable",
        format!(
            "cannot list processes in {}: {e}; socket owners are not shown",
            proc_root.display()
        ),
    )
}

/// The numeric entries of the proc root: process ids (threads are not listed there).
pub(crate) fn list_pids(root: &OwnedFd) -> Result<Vec<u32>, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let mut dir = Dir::openat(root, c".", flags, Mode::empty())?;
    let mut pids = Vec::new();
    for entry in dir.iter().flatten() {
        if let Some(pid) = parse_u32(entry.file_name().to_bytes()) {
            pids.push(pid);
        }
    }
    // /proc lists in pid order already; a fixture tree's directory need not.
    pids.sort_unstable();
    Ok(pids)
}

/// Whether `/proc/<pid>` is still there. readlink of an fd of a process reaped a moment
/// ago fails with EACCES, not ENOENT (fs/proc/base.c proc_pid_readlink: no task means
/// "not allowed"), so a denial only counts when the process still exists.
fn process_exists(root: BorrowedFd<'_>, pid: u32) -> bool {
    fstatat(root, pid_path(pid, "").as_c(), AtFlags::empty()).is_ok()
}

/// Kernel threads hold no fds, yet their fd directories are root's: to anyone else they
/// would count as hidden processes. `stat` is world-readable; flags is its 9th field.
fn kernel_thread(root: BorrowedFd<'_>, pid: u32) -> bool {
    let mut buf = [0u8; 512];
    read_file(root, pid_path(pid, "/stat").as_c(), &mut buf)
        .ok()
        .and_then(|n| stat_flags(buf.get(..n)?))
        .is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// Early-stop bookkeeping for `Wanted::Family`, shared by the workers without a lock: one
/// flag per wanted inode, at the inode's index in the set.
struct Early {
    found: Vec<AtomicBool>,
    remaining: AtomicUsize,
}

impl Early {
    fn new(inodes: &InodeSet) -> Early {
        Early {
            found: (0..inodes.len()).map(|_| AtomicBool::new(false)).collect(),
            remaining: AtomicUsize::new(inodes.len()),
        }
    }

    fn mark(&self, index: usize) {
        let Some(flag) = self.found.get(index) else {
            return;
        };
        if !flag.swap(true, Ordering::Relaxed) {
            self.remaining.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn done(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) == 0
    }
}

/// What every worker shares.
struct Job<'a> {
    root: BorrowedFd<'a>,
    pids: &'a [u32],
    next: AtomicUsize,
    inodes: Option<&'a InodeSet>,
    early: Option<&'a Early>,
    own_pid: u32,
}

/// One worker's findings.
#[derive(Default)]
struct Found {
    pairs: Vec<(u64, Owner)>,
    denied: usize,
}

impl Found {
    fn merge(&mut self, other: Found) {
        self.denied += other.denied;
        if self.pairs.len() < other.pairs.len() {
            // Grow the larger vector in place rather than copy it into the smaller one.
            let mine = std::mem::replace(&mut self.pairs, other.pairs);
            self.pairs.extend(mine);
        } else {
            self.pairs.extend(other.pairs);
        }
    }
}

impl Job<'_> {
    /// Read the job's processes on one thread per core, or fewer for a short list: a thread
    /// costs more than reading a few processes, and with one worker an early stop on a small
    /// tree (the test fixtures) happens at the same process every time.
    fn run_parallel(&self) -> Found {
        const PROCS_PER_WORKER: usize = 16;
        let threads = crate::platform::linux::cores()
            .min(self.pids.len() / PROCS_PER_WORKER)
            .max(1);
        std::thread::scope(|s| {
            // A thread that cannot be created (thread limit) just means fewer workers.
            let handles: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("owner-scan".into())
                        .spawn_scoped(s, || self.run())
                        .ok()
                })
                .collect();
            let mut all = self.run();
            // A worker that panicked lost only its own processes; never take the scan down.
            for found in handles.into_iter().filter_map(|h| h.join().ok()) {
                all.merge(found);
            }
            all
        })
    }

    fn run(&self) -> Found {
        let mut found = Found::default();
        let mut hits = Vec::new();
        loop {
            if self.early.is_some_and(Early::done) {
                break;
            }
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(&pid) = self.pids.get(i) else {
                break;
            };
            self.read_one(pid, &mut found, &mut hits);
        }
        // Give back the growth slack before the workers' findings are merged.
        found.pairs.shrink_to_fit();
        found
    }

    /// Read one process: its wanted (inode, fd) pairs go to `hits` and, with its name and
    /// uid, to `found`; a denial is counted there.
    fn read_one(&self, pid: u32, found: &mut Found, hits: &mut Vec<(u64, u32)>) {
        hits.clear();
        match self.scan_fds(pid, hits) {
            Ok(()) => {}
            Err(Errno::EACCES | Errno::EPERM) => {
                hits.clear();
                if pid != self.own_pid && self.exists(pid) && !self.kernel_thread(pid) {
                    found.denied += 1;
                }
                return;
            }
            // ENOENT/ESRCH: the process exited; ENOTDIR: not a process. Both normal.
            Err(_) => {
                hits.clear();
                return;
            }
        }
        if hits.is_empty() {
            return;
        }
        // The process exited since its fds were read: it owns nothing any more.
        let Ok(comm) = read_comm(self.root, pid) else {
            hits.clear();
            return;
        };
        let who = Who::new(comm, read_uid(self.root, pid));
        for &(inode, fd) in hits.iter() {
            found.pairs.push((inode, Owner::of(pid, fd, &who)));
            // Counted as found only once recorded: a process that exited mid-read must not
            // end the scan for a socket another process still holds.
            if let (Some(e), Some(i)) = (self.early, self.inodes.and_then(|w| w.index_of(inode))) {
                e.mark(i);
            }
        }
    }

    fn exists(&self, pid: u32) -> bool {
        process_exists(self.root, pid)
    }

    fn kernel_thread(&self, pid: u32) -> bool {
        kernel_thread(self.root, pid)
    }

    /// Push (inode, fd) for every wanted socket fd of `pid`. An error means the fd directory
    /// could not be opened, or a link could not be read for lack of permission.
    fn scan_fds(&self, pid: u32, hits: &mut Vec<(u64, u32)>) -> Result<(), Errno> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd_dir = openat(self.root, pid_path(pid, "/fd").as_c(), flags, Mode::empty())?;
        let mut dir = Dir::from_fd(fd_dir)?;
        let dir_fd = dir.as_raw_fd();
        // "socket:[18446744073709551615]" is 29 bytes: anything longer is not a socket, and
        // readlinkat truncates silently, so 64 bytes tell sockets from everything else.
        let mut buf = [0u8; 64];
        for entry in dir.iter() {
            let Ok(entry) = entry else {
                // The directory vanished under us (the process exited): keep what was read.
                break;
            };
            let name = entry.file_name();
            let Some(fd) = parse_u32(name.to_bytes()) else {
                continue;
            };
            let n = match readlinkat(dir_fd, name, &mut buf) {
                Ok(n) => n,
                Err(e @ (Errno::EACCES | Errno::EPERM)) => return Err(e),
                Err(_) => continue,
            };
            let Some(inode) = buf.get(..n).and_then(socket_inode) else {
                continue;
            };
            if self.inodes.is_some_and(|w| !w.contains(inode)) {
                continue;
            }
            hits.push((inode, fd));
        }
        Ok(())
    }
}

/// The (socket inode, fd) pairs `pid` holds now: how `kill` checks that the process it opened
/// a pidfd for is the holder the scan found. `Err` when its fds cannot be read (it exited, or
/// permission).
pub fn socket_fds(proc_root: &Path, pid: u32) -> Result<Vec<(u64, u32)>, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = nix::fcntl::open(proc_root, flags, Mode::empty())?;
    let job = Job {
        root: root.as_fd(),
        pids: &[],
        next: AtomicUsize::new(0),
        inodes: None,
        early: None,
        own_pid: std::process::id(),
    };
    let mut hits = Vec::new();
    job.scan_fds(pid, &mut hits)?;
    Ok(hits)
}
