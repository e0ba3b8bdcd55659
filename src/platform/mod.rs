//! The only place that reads the OS: socket tables, owners, user names, the ephemeral range.
//! Every backend produces the same `model::Snapshot`; `#[cfg(target_os)]` lives here only.

pub mod filelock;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod portable;

use crate::error::{Error, Result};
use crate::model::{Owner, Owners, Query, Snapshot, Warning};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Which socket source to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag
    /// module is missing); netstat2 elsewhere. With --proc-root: the proc backend.
    #[default]
    Auto,
    /// netlink sock_diag (Linux), /proc/net for raw and missing diag modules.
    Netlink,
    /// /proc/net text tables only (Linux).
    Proc,
    /// The netstat2 crate: TCP and UDP only; the default off Linux.
    Netstat2,
}

/// Where and how to read.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub backend: Backend,
    /// Root of the proc tree: "/proc", or a fixture tree for tests.
    pub proc_root: PathBuf,
    /// True when proc_root was given by the user (fixture mode: never touch the live system).
    pub fixture: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            backend: Backend::Auto,
            proc_root: PathBuf::from("/proc"),
            fixture: false,
        }
    }
}

/// Read the socket tables the query asks for.
pub fn read_sockets(opts: &SourceOptions, q: &Query) -> Result<Snapshot> {
    match opts.backend {
        Backend::Netstat2 => portable::read_sockets(q),
        #[cfg(target_os = "linux")]
        Backend::Auto if opts.fixture => linux::procnet::read_sockets(&opts.proc_root, q),
        #[cfg(target_os = "linux")]
        Backend::Auto | Backend::Netlink => {
            if opts.fixture {
                return Err(Error::Usage(
                    "--backend netlink reads the live kernel; it cannot be combined with --proc-root"
                        .into(),
                ));
            }
            linux::read_sockets_netlink(&opts.proc_root, q)
        }
        #[cfg(target_os = "linux")]
        Backend::Proc => linux::procnet::read_sockets(&opts.proc_root, q),
        #[cfg(not(target_os = "linux"))]
        Backend::Auto => portable::read_sockets(q),
        #[cfg(not(target_os = "linux"))]
        Backend::Netlink | Backend::Proc => Err(Error::Usage(
            "the netlink and proc backends exist only on Linux".into(),
        )),
    }
}

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
    inodes: Vec<u64>,
    owners: Arc<Vec<Owner>>,
    /// Processes whose fd table could not be read (EACCES): their sockets have no visible owner.
    pub denied_pids: usize,
    pub warnings: Vec<Warning>,
    /// The scan stopped before reading every process (`Wanted::Family`).
    pub partial: bool,
    /// The proc mount option that hides other users' processes from us (`hidepid=invisible`):
    /// their sockets have no visible owner, yet no read was refused.
    pub hidden_by: Option<String>,
}

impl OwnerMap {
    /// Build from unordered (inode, owner) pairs.
    pub fn from_pairs(mut pairs: Vec<(u64, Owner)>) -> OwnerMap {
        pairs.sort_unstable_by_key(|(inode, o)| (*inode, o.pid, o.fd));
        let inodes = pairs.iter().map(|p| p.0).collect();
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
        let lo = self.inodes.partition_point(|&i| i < inode);
        let hi = self.inodes.partition_point(|&i| i <= inode);
        lo..hi
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
        self.inodes.iter().copied().filter(move |&i| {
            let new = last != Some(i);
            last = Some(i);
            new
        })
    }

    /// Number of distinct inodes with owners.
    pub fn len(&self) -> usize {
        self.inodes().count()
    }

    pub fn is_empty(&self) -> bool {
        self.inodes.is_empty()
    }
}

/// Find the processes holding socket inodes by reading `/proc/<pid>/fd/*`.
pub fn scan_owners(opts: &SourceOptions, wanted: Wanted<'_>) -> OwnerMap {
    #[cfg(target_os = "linux")]
    {
        let mut map = linux::owners::scan(&opts.proc_root, wanted);
        if !opts.fixture && !can_see_all_owners() {
            map.hidden_by = linux::procmount::hidepid(&opts.proc_root)
                .filter(|h| !h.gid.is_some_and(in_group))
                .map(|h| h.option);
        }
        map
    }
    #[cfg(not(target_os = "linux"))]
    {
        portable::scan_owners(wanted)
    }
}

/// User name for a uid (NSS lookup on Unix); `None` when there is none.
pub fn user_name(uid: u32) -> Option<String> {
    #[cfg(unix)]
    {
        nix_user_name(uid)
    }
    #[cfg(not(unix))]
    {
        let _ = uid;
        None
    }
}

/// Uid of a user name (NSS lookup); `None` when there is no such user.
pub fn uid_by_name(name: &str) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = name;
        None
    }
}

#[cfg(target_os = "linux")]
fn nix_user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn nix_user_name(_uid: u32) -> Option<String> {
    None
}

/// The host's ephemeral port range (`net/ipv4/ip_local_port_range` under the proc root).
pub fn ephemeral_range(opts: &SourceOptions) -> Option<(u16, u16)> {
    let text =
        std::fs::read_to_string(opts.proc_root.join("sys/net/ipv4/ip_local_port_range")).ok()?;
    let mut it = text.split_whitespace().map(|s| s.parse::<u16>().ok());
    let lo = it.next()??;
    let hi = it.next()??;
    (lo <= hi).then_some((lo, hi))
}

/// Whether the current process is in group `gid` (effective or supplementary).
#[cfg(target_os = "linux")]
fn in_group(gid: u32) -> bool {
    let g = nix::unistd::Gid::from_raw(gid);
    nix::unistd::getegid() == g || nix::unistd::getgroups().is_ok_and(|gs| gs.contains(&g))
}

/// Whether the current process may read every process's fd table.
pub fn can_see_all_owners() -> bool {
    #[cfg(target_os = "linux")]
    {
        nix::unistd::geteuid().is_root()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Interface name for an index (`%lo` in addresses); `None` when it has none (e.g. it is in
/// another namespace or gone).
pub fn iface_name(index: u32) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        nix::net::if_::if_indextoname(index)
            .ok()
            .and_then(|c| c.into_string().ok())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = index;
        None
    }
}

/// Make glibc serve every block of 128 KiB or more with its own mapping, for good. By default
/// the threshold rises to the size of any such block freed (up to 32 MiB), after which the
/// big tables of a listing (sockets, rows, the owner scan's findings) come from the heap:
/// growing one copies it, and memory freed there stays in the process. A 100k-socket
/// `-antp` peaked about 2 MiB higher that way. A no-op off glibc.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, under glibc's own arena lock; it
    // takes no pointers and is safe to call at any time from any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Ask for transparent huge pages behind a large buffer that is about to be filled: a 100k-row
/// listing otherwise takes thousands of page faults, a visible share of its run time. Only a
/// hint: ignored where THP is off or the call fails; small buffers are left alone.
pub fn advise_huge_pages<T>(buf: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        const HUGE: usize = 2 << 20;
        let bytes = buf.capacity() * std::mem::size_of::<T>();
        if bytes < 2 * HUGE {
            return;
        }
        let start = buf.as_mut_ptr() as usize;
        let aligned = start.next_multiple_of(PAGE);
        let len = (start + bytes).saturating_sub(aligned) / PAGE * PAGE;
        // SAFETY: the range lies inside the Vec's own allocation; MADV_HUGEPAGE changes no
        // contents and no mapping, only how the kernel backs the pages.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = buf;
    }
}
