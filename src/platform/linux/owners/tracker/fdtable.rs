//! Reading one process's fd table for the tracker: all of it for a process seen for the first
//! time, else only what its fd count and the freed slots say may have changed.

use super::super::pidfs::{
    parse_u32, pid_path, read_comm, read_file, read_uid, readlinkat, socket_inode, stat_start,
};
use super::super::{kernel_thread, process_exists};
use crate::model::Text;
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What is remembered of one process.
#[derive(Debug, Clone, Default)]
pub(super) struct Proc {
    /// Start time (`stat` field 22): a pid reused by another process has another.
    pub(super) start: Option<u64>,
    pub(super) comm: Text,
    pub(super) uid: Option<u32>,
    /// The fd directory's size at the last read (the fd count on Linux 6.2+).
    pub(super) count: i64,
    /// The fd numbers at the last listing, as a bit set.
    pub(super) fds: Vec<u64>,
    /// Its socket fds: (fd, inode), sorted by fd.
    pub(super) socks: Vec<(u32, u64)>,
}

/// How one process was found this time.
pub(super) enum Seen {
    Gone,
    Denied,
    Same,
    Read(Proc),
}

/// Whether `pid`'s fd directory size equals the number of its entries (the fd count);
/// `None` when it cannot be told (no such process, no fds, no access).
pub(super) fn counts_match(root: BorrowedFd<'_>, pid: u32) -> Option<bool> {
    let size = fstatat(root, pid_path(pid, "/fd").as_c(), AtFlags::empty())
        .ok()?
        .st_size;
    let n = list_fds(root, pid).ok()?.len();
    (n > 0).then_some(i64::try_from(n) == Ok(size))
}

/// What the workers share.
pub(super) struct Refresh<'a> {
    pub(super) root: BorrowedFd<'a>,
    pub(super) procs: &'a HashMap<u32, Proc>,
    pub(super) freed: &'a HashMap<u32, Vec<u32>>,
    pub(super) counts_work: bool,
    pub(super) own_pid: u32,
    pub(super) links: AtomicUsize,
}

impl Refresh<'_> {
    pub(super) fn one(&self, pid: u32) -> Seen {
        let size = match fstatat(self.root, pid_path(pid, "/fd").as_c(), AtFlags::empty()) {
            Ok(st) => st.st_size,
            Err(Errno::EACCES | Errno::EPERM) => return self.denied_or_gone(pid),
            Err(_) => return Seen::Gone,
        };
        let Some(old) = self.procs.get(&pid) else {
            return self.read_all(pid);
        };
        // A holder is checked for pid reuse: its holdings must not pass to a stranger.
        if !old.socks.is_empty() && start_time(self.root, pid) != old.start {
            return self.read_all(pid);
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
            // The count of what was listed, not the size stat gave a moment before: an fd
            // opened or closed in between would otherwise go unnoticed until the count
            // changes again.
            p.count = count_of(&now);
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
    fn read_all(&self, pid: u32) -> Seen {
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
            count: count_of(&fds),
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
                // Closed since it was listed: not there any more, so a later open of this
                // number changes the count we compare with.
                Err(_) => {
                    if has(&p.fds, fd) {
                        unset(&mut p.fds, fd);
                        p.count -= 1;
                    }
                    None
                }
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
pub(super) fn fd_name(fd: u32, buf: &mut [u8; 12]) -> &std::ffi::CStr {
    use std::io::Write as _;
    let mut w = &mut buf[..];
    let _ = write!(w, "{fd}\0");
    let len = 12 - w.len();
    std::ffi::CStr::from_bytes_with_nul(&buf[..len]).unwrap_or(c"")
}

/// The fd numbers of `pid`, ascending (getdents: no readlink).
pub(super) fn list_fds(root: BorrowedFd<'_>, pid: u32) -> Result<Vec<u32>, Errno> {
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

pub(super) fn bitset(fds: &[u32]) -> Vec<u64> {
    let words = fds.last().map_or(0, |&m| m as usize / 64 + 1);
    let mut set = vec![0u64; words];
    for &fd in fds {
        set[fd as usize / 64] |= 1 << (fd % 64);
    }
    set
}

fn unset(set: &mut [u64], fd: u32) {
    if let Some(w) = set.get_mut(fd as usize / 64) {
        *w &= !(1 << (fd % 64));
    }
}

/// The number of fds listed, as the fd directory's size gives it.
fn count_of(fds: &[u32]) -> i64 {
    i64::try_from(fds.len()).unwrap_or(i64::MAX)
}

pub(super) fn has(set: &[u64], fd: u32) -> bool {
    set.get(fd as usize / 64)
        .is_some_and(|w| w & (1 << (fd % 64)) != 0)
}
