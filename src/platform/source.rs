//! What the listing pipeline reads, as two traits: the sockets of one network namespace, and
//! the processes of the host. `System` reads the OS; `fake::Fake` answers from memory so that
//! pure logic (the pipeline, diffs, audits, aggregations) is tested without a kernel.

use crate::error::Result;
use crate::model::{Attribution, Container, Netns, OwnerMap, Proto, Query, Snapshot, Wanted};
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU64;
use std::sync::Arc;

/// The sockets of one network namespace, and what is per namespace about them.
pub trait SocketSource: Send + Sync {
    /// Read the socket tables `q` asks for. Backends may return more than asked (states a
    /// table cannot filter); the pipeline filters again.
    fn read_sockets(&self, q: &Query) -> Result<Snapshot>;
    /// This namespace's ephemeral port range (`net.ipv4.ip_local_port_range`), when readable.
    fn ephemeral_range(&self) -> Option<(u16, u16)>;
    /// The name of interface `index` in this namespace, when it has one.
    fn iface_name(&self, index: u32) -> Option<String>;
    /// Which network namespace this is, when the source can tell (a live system can; a
    /// fixture tree cannot).
    fn netns(&self) -> Option<Netns> {
        None
    }
    /// The local (protocol, port) pairs that have a listener, when the source knows them
    /// without a read: one that hands out a few sockets standing for a whole table (watch's
    /// glimpsed reads). `None`: the pipeline finds them in what it reads.
    fn listening(&self) -> Option<HashSet<(Proto, u16)>> {
        None
    }
}

/// The processes of the host: who holds which socket, and user names. Socket inodes are
/// unique host-wide, so one owner scan serves every namespace.
pub trait ProcessSource: Send + Sync {
    /// Find the processes holding the wanted socket inodes. Never fails: what could not be
    /// read is counted and said in the map's warnings.
    fn scan_owners(&self, wanted: Wanted<'_>) -> OwnerMap;
    /// User name for a uid; `None` when there is none.
    fn user_name(&self, uid: u32) -> Option<String>;
    /// Uid of a user name; `None` when there is no such user.
    fn uid_by_name(&self, name: &str) -> Option<u32>;
    /// Whether a listing of every connection may read every process's owners while the
    /// tables are dumped (the `-antp` overlap). A source that remembers earlier reads says
    /// no: it needs the read's inodes to answer from memory.
    fn prefetch(&self) -> bool {
        true
    }
    /// Get ready for an owner scan that is about to be asked for (load what it needs), so
    /// that the scan need not wait for it after the tables are read. Called while another
    /// thread reads the tables.
    fn prepare_owners(&self) {}
    /// The container and systemd unit the holders `pids` of one socket agree on
    /// (`Attribution::agreed`); nothing where the source cannot tell.
    fn attribute(&self, pids: &[u32]) -> Attribution {
        let _ = pids;
        Attribution::default()
    }
    /// The container every process of network namespace `netns` is in, if there is one: the
    /// container of a socket no known process holds.
    fn namespace_container(&self, netns: NonZeroU64) -> Option<Arc<Container>> {
        let _ = netns;
        None
    }
    /// The network namespace process `pid` is in.
    fn netns_of_pid(&self, pid: u32) -> Option<NonZeroU64> {
        let _ = pid;
        None
    }
    /// The id of the cgroup v2 at `path` (relative to the cgroup2 mount, `/` the root), as
    /// sockets carry it; `None` when there is no such cgroup or no cgroup2 mount.
    fn cgroup_id(&self, path: &str) -> Option<u64> {
        let _ = path;
        None
    }
    /// Every cgroup v2 id with its path (one walk of the cgroup2 mount).
    fn cgroup_paths(&self) -> HashMap<u64, String> {
        HashMap::new()
    }
}
