//! Finding every network namespace: from each process's `/proc/PID/ns/net` (deduplicated by
//! inode, members kept), the nsfs mounts of every mount namespace (a namespace kept alive
//! only by a bind mount has no process), and the entries of `/run/netns` and
//! `/run/docker/netns`.

use super::parse::{net_mounts, ns_link_inode};
use crate::model::Netns;
use crate::platform::linux::owners::list_pids;
use crate::platform::linux::owners::pidfs::{pid_path, readlinkat};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The inode Linux 6.18+ gives the initial network namespace (`NET_NS_INIT_INO`,
/// include/uapi/linux/nsfs.h). Dynamic namespace inodes start at 0xF0000000, so on older
/// kernels no namespace has it.
pub const NET_NS_INIT_INO: u64 = 0xEFFF_FFF9;

/// Where `ip netns` keeps its names (iproute2's NETNS_RUN_DIR) and where docker keeps its
/// namespaces.
pub const NETNS_DIRS: [&str; 2] = ["/run/netns", "/run/docker/netns"];

/// One network namespace and every way found to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsEntry {
    pub inode: NonZeroU64,
    /// Its names under `/run/netns`, sorted.
    pub names: Vec<String>,
    /// Files that open it: bind mounts in our mount namespace, and those of other mount
    /// namespaces reached through `/proc/PID/root` of one of their processes.
    pub mounts: Vec<PathBuf>,
    /// Processes in it (thread group leaders), ascending.
    pub pids: Vec<u32>,
    /// The host's namespace (see the module documentation).
    pub host: bool,
    /// portwatch's own namespace.
    pub own: bool,
}

impl NsEntry {
    fn new(inode: NonZeroU64) -> NsEntry {
        NsEntry {
            inode,
            names: Vec::new(),
            mounts: Vec::new(),
            pids: Vec::new(),
            host: false,
            own: false,
        }
    }

    /// As a listing names it: the first name, if any.
    pub fn netns(&self) -> Netns {
        Netns {
            inode: self.inode,
            name: self.names.first().cloned(),
            host: self.host,
        }
    }
}

/// Every namespace found, host first, then named ones by name, then by inode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub namespaces: Vec<NsEntry>,
    /// Processes whose namespace could not be read (EACCES: not root): any namespace only
    /// they are in is missing.
    pub hidden_pids: usize,
}

impl Discovery {
    pub fn get(&self, inode: NonZeroU64) -> Option<&NsEntry> {
        self.namespaces.iter().find(|e| e.inode == inode)
    }

    /// The namespace process `pid` was in when discovered.
    pub fn netns_of_pid(&self, pid: u32) -> Option<NonZeroU64> {
        self.namespaces
            .iter()
            .find(|e| e.pids.binary_search(&pid).is_ok())
            .map(|e| e.inode)
    }

    /// The entry for `inode`, added (not host, not own) when discovery missed it: a process
    /// or file named on the command line after the scan.
    pub fn entry_mut(&mut self, inode: NonZeroU64) -> &mut NsEntry {
        if let Some(i) = self.namespaces.iter().position(|e| e.inode == inode) {
            return &mut self.namespaces[i];
        }
        self.namespaces.push(NsEntry::new(inode));
        let last = self.namespaces.len() - 1;
        &mut self.namespaces[last]
    }

    pub fn host(&self) -> Option<&NsEntry> {
        self.namespaces.iter().find(|e| e.host)
    }

    /// Whether a socket read in `netns` is held from another namespace: some holder's
    /// namespace is known and is not `netns` (a socket created in one namespace and passed
    /// to, or kept by, a process in another). Such a socket is still listed under `netns`.
    pub fn held_from_elsewhere(
        &self,
        netns: NonZeroU64,
        holders: impl IntoIterator<Item = u32>,
    ) -> bool {
        holders
            .into_iter()
            .any(|pid| self.netns_of_pid(pid).is_some_and(|n| n != netns))
    }
}

/// Find the namespaces of the live system.
pub fn discover() -> Discovery {
    let dirs: Vec<PathBuf> = NETNS_DIRS.iter().map(PathBuf::from).collect();
    discover_in(Path::new("/proc"), &dirs)
}

/// Find namespaces through the proc tree at `proc_root` and the name directories `dirs`
/// (the first is the one whose entries are names, as `ip netns` lists them).
pub fn discover_in(proc_root: &Path, dirs: &[PathBuf]) -> Discovery {
    let mut found: BTreeMap<NonZeroU64, NsEntry> = BTreeMap::new();
    let mut hidden = 0;
    let own = link_inode(&proc_root.join("self/ns/net"), "net");
    let own_mnt = link_inode(&proc_root.join("self/ns/mnt"), "mnt");
    let pid1 = link_inode(&proc_root.join("1/ns/net"), "net");
    // A process per other mount namespace, to read that namespace's mounts through.
    let mut other_mnt: HashMap<NonZeroU64, u32> = HashMap::new();

    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    if let Ok(root) = nix::fcntl::open(proc_root, flags, Mode::empty()) {
        let mut buf = [0u8; 64];
        for pid in list_pids(&root).unwrap_or_default() {
            match readlinkat(root.as_raw_fd(), pid_path(pid, "/ns/net").as_c(), &mut buf) {
                Ok(n) => {
                    if let Some(ino) = buf.get(..n).and_then(|t| ns_link_inode(t, "net")) {
                        found
                            .entry(ino)
                            .or_insert_with(|| NsEntry::new(ino))
                            .pids
                            .push(pid);
                    }
                }
                Err(Errno::EACCES | Errno::EPERM) => hidden += 1,
                // Gone, or a zombie (its namespaces are released at exit).
                Err(_) => continue,
            }
            if let Ok(n) = readlinkat(root.as_raw_fd(), pid_path(pid, "/ns/mnt").as_c(), &mut buf) {
                if let Some(mnt) = buf.get(..n).and_then(|t| ns_link_inode(t, "mnt")) {
                    if Some(mnt) != own_mnt {
                        other_mnt.entry(mnt).or_insert(pid);
                    }
                }
            }
        }
    }

    let mut add_mount = |ino: NonZeroU64, path: PathBuf| {
        let e = found.entry(ino).or_insert_with(|| NsEntry::new(ino));
        if !e.mounts.contains(&path) {
            e.mounts.push(path);
        }
    };
    if let Ok(text) = std::fs::read(proc_root.join("self/mountinfo")) {
        for (ino, point) in net_mounts(&text) {
            add_mount(ino, point);
        }
    }
    let mut others: Vec<u32> = other_mnt.into_values().collect();
    others.sort_unstable();
    for pid in others {
        let base = proc_root.join(pid.to_string());
        if let Ok(text) = std::fs::read(base.join("mountinfo")) {
            for (ino, point) in net_mounts(&text) {
                let rel = point.strip_prefix("/").unwrap_or(&point);
                add_mount(ino, base.join("root").join(rel));
            }
        }
    }
    // The directories themselves: a bind mount made in a mount namespace no process is in
    // any more still shows here when it propagated to ours.
    let nsfs_dev = std::fs::metadata(proc_root.join("self/ns/net")).map(|m| m.dev());
    for dir in dirs {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = e.path();
            let Ok(m) = std::fs::metadata(&path) else {
                continue;
            };
            if nsfs_dev.as_ref().is_ok_and(|d| *d == m.dev()) {
                if let Some(ino) = NonZeroU64::new(m.ino()) {
                    add_mount(ino, path);
                }
            }
        }
    }

    let names_dir = dirs.first();
    for e in found.values_mut() {
        e.pids.sort_unstable();
        e.names = e
            .mounts
            .iter()
            .filter(|p| p.parent() == names_dir.map(PathBuf::as_path))
            .filter_map(|p| p.file_name()?.to_str().map(String::from))
            .collect();
        e.names.sort();
        e.names.dedup();
    }
    let host = host_inode(found.keys().copied(), pid1, own);
    for e in found.values_mut() {
        e.host = Some(e.inode) == host;
        e.own = Some(e.inode) == own;
    }
    let mut namespaces: Vec<NsEntry> = found.into_values().collect();
    namespaces.sort_by(|a, b| {
        (!a.host, a.names.is_empty(), &a.names, a.inode).cmp(&(
            !b.host,
            b.names.is_empty(),
            &b.names,
            b.inode,
        ))
    });
    Discovery {
        namespaces,
        hidden_pids: hidden,
    }
}

/// Which namespace is the host's: the initial one when the kernel numbers it (6.18+) and it
/// is among those found; else pid 1's (of our pid namespace); else our own.
pub fn host_inode(
    found: impl IntoIterator<Item = NonZeroU64>,
    pid1: Option<NonZeroU64>,
    own: Option<NonZeroU64>,
) -> Option<NonZeroU64> {
    found
        .into_iter()
        .find(|i| i.get() == NET_NS_INIT_INO)
        .or(pid1)
        .or(own)
}

/// The inode a namespace link names, e.g. `/proc/self/ns/net`.
pub fn link_inode(path: &Path, kind: &str) -> Option<NonZeroU64> {
    use std::os::unix::ffi::OsStrExt;
    let target = std::fs::read_link(path).ok()?;
    ns_link_inode(target.as_os_str().as_bytes(), kind)
}

#[cfg(test)]
mod tests {
    use super::super::parse::tests::ino;
    use super::*;

    #[test]
    fn host_is_the_initial_namespace_then_pid1s_then_ours() {
        let init = ino(NET_NS_INIT_INO);
        let (a, b) = (ino(0xF000_0100), ino(0xF000_0200));
        // 6.18+, on the host or in a container sharing the host's pid namespace.
        assert_eq!(host_inode([a, init, b], Some(a), Some(b)), Some(init));
        // Older kernel, or a container that cannot see the initial namespace.
        assert_eq!(host_inode([a, b], Some(a), Some(b)), Some(a));
        // pid 1's link unreadable (not root).
        assert_eq!(host_inode([a, b], None, Some(b)), Some(b));
        assert_eq!(host_inode([], None, None), None);
    }

    #[test]
    fn live_discovery_has_our_namespace_with_us_in_it() {
        let d = discover();
        let own = d.namespaces.iter().find(|e| e.own).expect("our namespace");
        let me = std::process::id();
        assert!(own.pids.binary_search(&me).is_ok(), "{own:?}");
        assert_eq!(d.netns_of_pid(me), Some(own.inode));
        assert_eq!(d.namespaces.iter().filter(|e| e.host).count(), 1);
        assert!(d.namespaces[0].host, "host first");
        let mut inodes: Vec<_> = d.namespaces.iter().map(|e| e.inode).collect();
        inodes.sort();
        inodes.dedup();
        assert_eq!(inodes.len(), d.namespaces.len(), "deduplicated");
    }
}
