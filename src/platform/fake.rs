//! An in-memory source: for tests of pure logic, and for sockets not read from this host now
//! (a baseline document that `diff` puts through the pipeline). It answers the way a real
//! backend answers (the query's tables and states, `Wanted` honoured).

use super::{ProcessSource, SocketSource};
use crate::error::Result;
use crate::model::{
    Attribution, Container, Family, Netns, Owner, OwnerMap, Proto, Query, Snapshot, Socket, Wanted,
    Warning,
};
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Arc;

/// Sockets, owners and names, as a test sets them up.
#[derive(Debug, Clone, Default)]
pub struct Fake {
    pub sockets: Vec<Socket>,
    /// (socket inode, holder) pairs.
    pub owners: Vec<(u64, Owner)>,
    /// Warnings every socket read returns (a backend's "could not read X").
    pub read_warnings: Vec<Warning>,
    /// Processes the owner scan is refused (counted as `denied_pids`).
    pub denied_pids: usize,
    pub ephemeral: Option<(u16, u16)>,
    pub users: HashMap<u32, String>,
    pub ifaces: HashMap<u32, String>,
    /// The namespace this source reads (as a SocketSource).
    pub netns: Option<Netns>,
    /// Each process's container and unit, and namespace (as a ProcessSource).
    pub processes: HashMap<u32, (Attribution, Option<NonZeroU64>)>,
    /// Namespaces every process of which is in one container.
    pub namespace_containers: HashMap<NonZeroU64, Arc<Container>>,
}

impl SocketSource for Fake {
    fn read_sockets(&self, q: &Query) -> Result<Snapshot> {
        let wanted_family = |f: Family| match f {
            Family::Ipv4 => q.ipv4,
            Family::Ipv6 => q.ipv6,
            Family::Unix => true,
        };
        // Raw tables ignore the state filter, as /proc/net/raw does; the pipeline filters again.
        let sockets = self
            .sockets
            .iter()
            .filter(|s| q.wants(s.proto) && wanted_family(s.family))
            .filter(|s| s.proto == Proto::Raw || q.states.contains(s.state))
            // The kernel's port filter (netlink's bytecode): only the local ports asked for.
            .filter(|s| match (q.local_ports.of(s.proto), s.local.as_ref()) {
                (None, _) => true,
                (Some(ports), local) => ports.contains(&local.and_then(|l| l.port()).unwrap_or(0)),
            })
            .cloned()
            .collect();
        Ok(Snapshot {
            sockets,
            warnings: self.read_warnings.clone(),
        })
    }

    fn ephemeral_range(&self) -> Option<(u16, u16)> {
        self.ephemeral
    }

    fn iface_name(&self, index: u32) -> Option<String> {
        self.ifaces.get(&index).cloned()
    }

    fn netns(&self) -> Option<Netns> {
        self.netns.clone()
    }
}

impl ProcessSource for Fake {
    fn scan_owners(&self, wanted: Wanted<'_>) -> OwnerMap {
        let keep = |inode: u64| match &wanted {
            Wanted::All => true,
            Wanted::Some { inodes } | Wanted::Family { inodes, .. } => inodes.contains(inode),
        };
        let pairs = self
            .owners
            .iter()
            .filter(|(inode, _)| keep(*inode))
            .cloned()
            .collect();
        let mut map = OwnerMap::from_pairs(pairs);
        map.denied_pids = self.denied_pids;
        map
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.users.get(&uid).cloned()
    }

    fn uid_by_name(&self, name: &str) -> Option<u32> {
        self.users
            .iter()
            .find_map(|(uid, n)| (n == name).then_some(*uid))
    }

    fn attribute(&self, pids: &[u32]) -> Attribution {
        let each: Vec<(u32, Attribution)> = pids
            .iter()
            .map(|&p| {
                (
                    p,
                    self.processes
                        .get(&p)
                        .map(|x| x.0.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        Attribution::agreed(&each)
    }

    fn namespace_container(&self, netns: NonZeroU64) -> Option<Arc<Container>> {
        self.namespace_containers.get(&netns).cloned()
    }

    fn netns_of_pid(&self, pid: u32) -> Option<NonZeroU64> {
        self.processes.get(&pid).and_then(|x| x.1)
    }
}
