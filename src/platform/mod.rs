//! The only place that reads the OS: socket tables, owners, user names, the ephemeral range.
//! Every backend produces the same `model::Snapshot`; `#[cfg(target_os)]` lives here only.
//! What the rest of the program sees is the two source traits (`source.rs`), implemented here
//! by `System` and, for tests of pure logic, by `fake::Fake`.

pub mod atomic;
mod diag;
pub mod fake;
pub mod filelock;
mod glimpse;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod portable;
pub mod process;
pub mod runtime;
mod source;

pub use diag::{catch_interrupts, interrupted, Arrived, CloseStream, Closer, Refusal, RefusalKind};
pub use glimpse::{Glimpser, FEED_RING_MAX};
pub use source::{ProcessSource, SocketSource};

use crate::error::{Error, Result};
use crate::model::{
    HostFacts, InodeSet, Netns, NetnsSpec, OwnerMap, OwnerMethod, Query, Row, Snapshot, Wanted,
    Warning,
};
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU64;
use std::path::PathBuf;
#[cfg(target_os = "linux")]
use {
    crate::model::{Attribution, Container},
    std::sync::Arc,
};

/// Which socket source to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag
    /// module is missing); netstat2 elsewhere. With a proc root: the proc backend.
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
    /// How the owner scan reads fds (`--owners`); `None`: auto (BPF where it pays and
    /// loads, else /proc).
    pub owners: Option<OwnerMethod>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            backend: Backend::Auto,
            proc_root: PathBuf::from("/proc"),
            fixture: false,
            owners: None,
        }
    }
}

/// This host as the program runs on it (or a fixture proc tree): sockets of portwatch's own
/// network namespace, owners and users of every process, and (Linux) which namespace and
/// container each belongs to.
#[derive(Debug, Clone)]
pub struct System {
    opts: SourceOptions,
    /// The owner scan method, with the BPF program once loaded (shared by clones).
    #[cfg(target_os = "linux")]
    owners: Arc<linux::owners::method::Method>,
    #[cfg(target_os = "linux")]
    host: Arc<linux::host::HostView>,
}

impl System {
    /// A source for `opts`; a combination that cannot work (netlink on a fixture tree, a
    /// Linux-only backend elsewhere) is a usage error here, before anything is read.
    pub fn new(opts: SourceOptions) -> Result<System> {
        let linux = cfg!(target_os = "linux");
        match opts.backend {
            Backend::Netlink if opts.fixture => Err(Error::Usage(
                "--backend netlink reads the live kernel; it cannot be combined with --proc-root"
                    .into(),
            )),
            Backend::Netlink | Backend::Proc if !linux => Err(Error::Usage(
                "the netlink and proc backends exist only on Linux".into(),
            )),
            _ if opts.fixture && opts.owners == Some(OwnerMethod::Bpf) => Err(Error::Usage(
                "--owners bpf reads the live kernel; it cannot be combined with --proc-root".into(),
            )),
            _ => System::with_owner_method(opts),
        }
    }

    /// Open the network namespaces `specs` select (`-N`), host first. A WHICH that names no
    /// namespace is a usage error naming it; `-N` cannot read a fixture tree or through
    /// netstat2.
    pub fn namespaces(&self, specs: &[NetnsSpec]) -> Result<Namespaces> {
        if self.opts.fixture {
            return Err(Error::Usage(
                "-N/--netns reads the live system; it cannot be combined with --proc-root".into(),
            ));
        }
        if self.opts.backend == Backend::Netstat2 {
            return Err(Error::Usage(
                "-N/--netns needs the netlink or proc backend, not netstat2".into(),
            ));
        }
        #[cfg(target_os = "linux")]
        {
            use linux::netns::{self, NetnsError};
            let root = &self.opts.proc_root;
            let dirs: Vec<PathBuf> = netns::NETNS_DIRS.iter().map(PathBuf::from).collect();
            let mut d = netns::discover_in(root, &dirs);
            let chosen = netns::resolve(specs, &mut d, root, &dirs[0]).map_err(|e| match e {
                NetnsError::BadValue { .. } => Error::Usage(e.to_string()),
                NetnsError::Permission { value, why, hint } => Error::Permission {
                    what: format!("--netns {value:?}: {why}"),
                    hint,
                },
            })?;
            let hidden = if specs.contains(&NetnsSpec::All) {
                d.hidden_pids
            } else {
                0
            };
            let proc_only = self.opts.backend == Backend::Proc;
            let set = netns::NetnsSet::open(&d, &chosen, root, proc_only, hidden)?;
            self.host.set_discovery(d);
            Ok(Namespaces { set })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = specs;
            Err(Error::Usage("-N/--netns exists only on Linux".into()))
        }
    }

    #[cfg(target_os = "linux")]
    fn with_owner_method(opts: SourceOptions) -> Result<System> {
        use linux::owners::{bpf::Unavailable, method::Method};
        // A fixture tree has no kernel behind it: /proc scan only.
        let choice = if opts.fixture {
            Some(OwnerMethod::Proc)
        } else {
            opts.owners
        };
        let owners = Method::new(choice).map_err(|e| match e {
            Unavailable::NotPermitted => Error::Permission {
                what: "--owners bpf (loading a BPF program)".into(),
                hint: "run as root (or with CAP_BPF and CAP_PERFMON), or use --owners proc".into(),
            },
            e => Error::System(format!(
                "--owners bpf: the BPF owner scan is unavailable: {e}; --owners proc reads /proc"
            )),
        })?;
        Ok(System {
            host: Arc::new(linux::host::HostView::new(&opts.proc_root, !opts.fixture)),
            opts,
            owners: Arc::new(owners),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn with_owner_method(opts: SourceOptions) -> Result<System> {
        if opts.owners == Some(OwnerMethod::Bpf) {
            return Err(Error::Usage("--owners bpf exists only on Linux".into()));
        }
        Ok(System { opts })
    }

    /// Where this source reads.
    pub fn options(&self) -> &SourceOptions {
        &self.opts
    }

    /// The host's name (`kernel/hostname` under the proc root), when readable.
    pub fn hostname(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.opts.proc_root.join("sys/kernel/hostname")).ok()?;
        Some(text.trim_end().to_string()).filter(|h| !h.is_empty())
    }

    /// What `audit` needs beyond the sockets: the executables and user names of the processes
    /// holding `rows`, and with `own_namespace` the interfaces and firewall of portwatch's own
    /// network namespace (never on a fixture tree: the live ones are not the fixture's).
    pub fn audit_facts(&self, rows: &[Row], own_namespace: bool) -> HostFacts {
        #[cfg(target_os = "linux")]
        {
            let root = &self.opts.proc_root;
            if own_namespace && !self.opts.fixture {
                linux::audit::gather(rows, root, &user_name)
            } else {
                linux::audit::holder_facts(rows, root, &user_name)
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (rows, own_namespace);
            HostFacts {
                warnings: vec![unsupported_audit()],
                ..HostFacts::default()
            }
        }
    }
}

/// The interfaces and firewall of the calling thread's network namespace, for `audit`: run it
/// inside each namespace with `Namespaces::each_inside`.
pub fn namespace_audit_facts() -> HostFacts {
    #[cfg(target_os = "linux")]
    {
        linux::audit::namespace_facts()
    }
    #[cfg(not(target_os = "linux"))]
    {
        HostFacts {
            warnings: vec![unsupported_audit()],
            ..HostFacts::default()
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn unsupported_audit() -> Warning {
    Warning::new(
        "audit-facts-unsupported",
        "interfaces, firewall and executables are read on Linux only: verdicts are unknown",
    )
}

impl SocketSource for System {
    fn read_sockets(&self, q: &Query) -> Result<Snapshot> {
        let opts = &self.opts;
        match opts.backend {
            Backend::Netstat2 => portable::read_sockets(q),
            #[cfg(target_os = "linux")]
            Backend::Auto if opts.fixture => linux::procnet::read_sockets(&opts.proc_root, q),
            #[cfg(target_os = "linux")]
            Backend::Auto | Backend::Netlink => linux::read_sockets_netlink(&opts.proc_root, q),
            #[cfg(target_os = "linux")]
            Backend::Proc => linux::procnet::read_sockets(&opts.proc_root, q),
            #[cfg(not(target_os = "linux"))]
            _ => portable::read_sockets(q),
        }
    }

    fn ephemeral_range(&self) -> Option<(u16, u16)> {
        ephemeral_range(&self.opts)
    }

    fn iface_name(&self, index: u32) -> Option<String> {
        iface_name(index)
    }

    fn netns(&self) -> Option<Netns> {
        #[cfg(target_os = "linux")]
        {
            self.host.own_netns()
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }
}

impl ProcessSource for System {
    fn scan_owners(&self, wanted: Wanted<'_>) -> OwnerMap {
        #[cfg(target_os = "linux")]
        {
            self.owners.scan(wanted, |w| scan_owners(&self.opts, w))
        }
        #[cfg(not(target_os = "linux"))]
        {
            scan_owners(&self.opts, wanted)
        }
    }

    fn prepare_owners(&self) {
        #[cfg(target_os = "linux")]
        self.owners.prepare();
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        user_name(uid)
    }

    fn uid_by_name(&self, name: &str) -> Option<u32> {
        uid_by_name(name)
    }

    #[cfg(target_os = "linux")]
    fn attribute(&self, pids: &[u32]) -> Attribution {
        self.host.attribute(pids)
    }

    #[cfg(target_os = "linux")]
    fn namespace_container(&self, netns: NonZeroU64) -> Option<Arc<Container>> {
        self.host.namespace_container(netns)
    }

    #[cfg(target_os = "linux")]
    fn netns_of_pid(&self, pid: u32) -> Option<NonZeroU64> {
        self.host.netns_of_pid(pid)
    }

    fn cgroup_id(&self, path: &str) -> Option<u64> {
        #[cfg(target_os = "linux")]
        if !self.opts.fixture {
            return linux::cgroup::id_of(&linux::cgroup::mount()?, path);
        }
        let _ = path;
        None
    }

    fn cgroup_paths(&self) -> HashMap<u64, String> {
        #[cfg(target_os = "linux")]
        if !self.opts.fixture {
            return linux::cgroup::mount()
                .map(|m| linux::cgroup::paths(&m))
                .unwrap_or_default();
        }
        HashMap::new()
    }
}

/// The network namespaces `-N` selected, open for reading (`System::namespaces`).
pub struct Namespaces {
    #[cfg(target_os = "linux")]
    set: linux::netns::NetnsSet,
}

impl Namespaces {
    /// One source per namespace, host first.
    pub fn sources(&self) -> Vec<&dyn SocketSource> {
        #[cfg(target_os = "linux")]
        {
            self.set
                .sources()
                .iter()
                .map(|s| s as &dyn SocketSource)
                .collect()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Vec::new()
        }
    }

    /// Run `f` inside each namespace `inodes` lists (ours in this thread, the others at once
    /// on threads that entered them): for what sees the namespace of the thread doing it, a
    /// child process, a connection. `None` where a namespace cannot be entered (not root).
    pub fn each_inside<T: Send + 'static>(
        &self,
        inodes: &[NonZeroU64],
        f: impl Fn(NonZeroU64) -> T + Send + Sync + 'static,
    ) -> Vec<(NonZeroU64, Option<T>)> {
        #[cfg(target_os = "linux")]
        {
            self.set.each_inside(inodes, f)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = f;
            inodes.iter().map(|i| (*i, None)).collect()
        }
    }

    /// What the reads so far could not see: one warning for every namespace skipped.
    pub fn warnings(&self) -> Vec<Warning> {
        #[cfg(target_os = "linux")]
        {
            self.set.warnings()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Vec::new()
        }
    }
}

#[cfg(target_os = "linux")]
impl SocketSource for linux::netns::NetnsSource {
    fn read_sockets(&self, q: &Query) -> Result<Snapshot> {
        linux::netns::NetnsSource::read_sockets(self, q)
    }

    fn ephemeral_range(&self) -> Option<(u16, u16)> {
        linux::netns::NetnsSource::ephemeral_range(self)
    }

    fn iface_name(&self, index: u32) -> Option<String> {
        linux::netns::NetnsSource::iface_name(self, index)
    }

    fn netns(&self) -> Option<Netns> {
        Some(linux::netns::NetnsSource::netns(self).clone())
    }
}

/// Find the processes holding socket inodes by reading `/proc/<pid>/fd/*` (the /proc method).
fn scan_owners(opts: &SourceOptions, wanted: Wanted<'_>) -> OwnerMap {
    #[cfg(target_os = "linux")]
    {
        with_visibility(opts, linux::owners::scan(&opts.proc_root, wanted))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = opts;
        portable::scan_owners(wanted)
    }
}

/// Say in the map what bounds its visibility: our privilege, and a proc mount that hides
/// other users' processes from us.
#[cfg(target_os = "linux")]
fn with_visibility(opts: &SourceOptions, mut map: OwnerMap) -> OwnerMap {
    map.privileged = can_see_all_owners();
    if !opts.fixture && !map.privileged {
        map.hidden_by = linux::procmount::hidepid(&opts.proc_root)
            .filter(|h| !h.gid.is_some_and(in_group))
            .map(|h| h.option);
    }
    map
}

/// The owners of a host read again and again (`watch`): what earlier reads found is kept,
/// and each read looks only where new sockets can be (`linux::owners::Tracker`); holders
/// that exit are dropped. Off Linux every read is a full scan.
#[derive(Debug)]
pub struct TrackedOwners {
    system: System,
    #[cfg(target_os = "linux")]
    tracker: std::sync::Mutex<linux::owners::Tracker>,
    /// Set by `refresh`: owner scans are answered from it until `unprime`.
    primed: std::sync::Mutex<Option<OwnerMap>>,
}

impl TrackedOwners {
    pub fn new(system: &System) -> TrackedOwners {
        TrackedOwners {
            system: system.clone(),
            #[cfg(target_os = "linux")]
            tracker: std::sync::Mutex::new(linux::owners::Tracker::new(&system.opts.proc_root)),
            primed: std::sync::Mutex::new(None),
        }
    }

    /// For a read that keeps the rows of unchanged sockets (watch's glimpses): refresh the
    /// remembered holders of `wanted` (every socket the read has), and answer owner scans
    /// from then until `unprime` with the holders of `fresh` (the sockets read anew) and of
    /// the sockets whose holders may have changed, which this returns. Off Linux, every
    /// socket counts as changed.
    pub fn refresh(
        &self,
        wanted: &InodeSet,
        fresh: &InodeSet,
        uids: Option<&HashSet<u32>>,
    ) -> HashSet<u64> {
        #[cfg(target_os = "linux")]
        {
            let Ok(mut tracker) = self.tracker.lock() else {
                return wanted.iter().copied().collect();
            };
            let meta = tracker.update(wanted, uids, &InodeSet::default());
            let changed: HashSet<u64> = tracker
                .changed()
                .iter()
                .copied()
                .filter(|i| wanted.contains(*i))
                .collect();
            let report: InodeSet = fresh.iter().chain(&changed).copied().collect();
            let mut map = OwnerMap::from_pairs(tracker.holders(&report));
            map.unsure = tracker.unsure_in(&report);
            map.denied_pids = meta.denied_pids;
            map.warnings = meta.warnings;
            map.partial = meta.partial;
            if let Ok(mut p) = self.primed.lock() {
                *p = Some(with_visibility(&self.system.opts, map));
            }
            changed
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (fresh, uids);
            wanted.iter().copied().collect()
        }
    }

    /// Owner scans read the processes again (`refresh`).
    pub fn unprime(&self) {
        if let Ok(mut p) = self.primed.lock() {
            *p = None;
        }
    }
}

impl ProcessSource for TrackedOwners {
    fn scan_owners(&self, wanted: Wanted<'_>) -> OwnerMap {
        if let Some(map) = self.primed.lock().ok().and_then(|p| p.clone()) {
            return map;
        }
        #[cfg(target_os = "linux")]
        {
            let opts = &self.system.opts;
            // A poisoned lock means a scan panicked half-way: its memory is not to be trusted.
            let Ok(mut tracker) = self.tracker.lock() else {
                return self.system.scan_owners(wanted);
            };
            let map = match wanted {
                Wanted::All => return self.system.scan_owners(wanted),
                Wanted::Some { inodes } => tracker.owners(inodes, None),
                Wanted::Family { inodes, uids } => tracker.owners(inodes, Some(uids)),
            };
            with_visibility(opts, map)
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.system.scan_owners(wanted)
        }
    }

    /// The tracker needs the inodes of each read: reading every process during the dump
    /// would be the full scan it saves.
    fn prefetch(&self) -> bool {
        false
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.system.user_name(uid)
    }

    fn uid_by_name(&self, name: &str) -> Option<u32> {
        self.system.uid_by_name(name)
    }

    fn cgroup_id(&self, path: &str) -> Option<u64> {
        self.system.cgroup_id(path)
    }

    fn cgroup_paths(&self) -> HashMap<u64, String> {
        self.system.cgroup_paths()
    }
}

/// User name for a uid (NSS lookup on Unix); `None` when there is none.
fn user_name(uid: u32) -> Option<String> {
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
fn uid_by_name(name: &str) -> Option<u32> {
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
fn ephemeral_range(opts: &SourceOptions) -> Option<(u16, u16)> {
    #[cfg(target_os = "linux")]
    {
        linux::ephemeral_range(&opts.proc_root)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = opts;
        None
    }
}

/// Whether the current process is in group `gid` (effective or supplementary).
#[cfg(target_os = "linux")]
fn in_group(gid: u32) -> bool {
    let g = nix::unistd::Gid::from_raw(gid);
    nix::unistd::getegid() == g || nix::unistd::getgroups().is_ok_and(|gs| gs.contains(&g))
}

/// Whether the current process may read every process's fd table.
fn can_see_all_owners() -> bool {
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
fn iface_name(index: u32) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        linux::iface_name(index)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = index;
        None
    }
}

/// The cores this process may run on (its affinity and cgroup quota), read once.
pub fn cores() -> usize {
    #[cfg(target_os = "linux")]
    {
        linux::cores()
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::thread::available_parallelism().map_or(1, |n| n.get())
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
