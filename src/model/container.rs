//! Where a socket lives beyond its addresses: its network namespace, and the container and
//! systemd unit of the processes holding it (issue #11). Data only.

use std::fmt;
use std::num::NonZeroU64;

/// A network namespace as a listing names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Netns {
    /// Its nsfs inode: what `/proc/PID/ns/net` links to (`net:[INODE]`). Unique among the
    /// namespaces alive at one time (socket inodes are unique host-wide the same way).
    pub inode: NonZeroU64,
    /// Its name under `/run/netns` (what `ip netns` lists and `ss -N` takes), when it has one.
    pub name: Option<String>,
    /// Whether this is the host's namespace (see `platform::linux::netns` for what "host"
    /// means when portwatch runs inside a container).
    pub host: bool,
}

impl Netns {
    /// The name when it has one, else `net:[INODE]` (the kernel's spelling).
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("net:[{}]", self.inode),
        }
    }
}

/// The software that made a container, as its cgroup path (and state on disk) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    Docker,
    Podman,
    /// containerd: Kubernetes' CRI plugin (`cri-containerd-ID`) or nerdctl.
    Containerd,
    CriO,
    Lxc,
    /// A Kubernetes container whose runtime neither the cgroup path (the kubelet's cgroupfs
    /// driver names containers by bare id) nor any runtime's state on disk identifies.
    Cri,
}

impl Runtime {
    /// The lower-case name used in JSON, CSV and filters.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Lxc => "lxc",
            Runtime::Cri => "cri",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A container holding (or living in the namespace of) a socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Container {
    pub runtime: Runtime,
    /// The runtime's id: 64 hex digits for docker, podman, containerd and cri-o; the
    /// container's name for lxc (it has no other id).
    pub id: String,
    /// The name the runtime keeps for it on disk; `None` when it keeps none we can read.
    pub name: Option<String>,
    /// Kubernetes: the pod's name, when the node has it on disk.
    pub pod: Option<String>,
    /// Kubernetes: the pod's namespace (not a network namespace), when the node has it.
    pub namespace: Option<String>,
    /// Kubernetes: the pod's uid, from the cgroup path.
    pub pod_uid: Option<String>,
}

impl Container {
    /// A container known by runtime and id only.
    pub fn new(runtime: Runtime, id: impl Into<String>) -> Container {
        Container {
            runtime,
            id: id.into(),
            name: None,
            pod: None,
            namespace: None,
            pod_uid: None,
        }
    }

    /// The id as `docker ps` shows it: the first 12 digits of a hex id, other ids whole.
    pub fn short_id(&self) -> &str {
        let hex = self.id.len() == 64 && self.id.bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            self.id.get(..12).unwrap_or(&self.id)
        } else {
            &self.id
        }
    }

    /// What a table shows: the name, else the short id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.short_id())
    }
}

/// The systemd unit a process runs in (`nginx.service`, `session-3.scope`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unit {
    /// The unit's name as systemd spells it (escaped), the innermost on the cgroup path:
    /// inside a container that runs systemd, the unit inside the container.
    pub name: String,
    /// `Some(uid)` for a unit of the user manager `user@UID.service` (`systemctl --user`).
    pub user: Option<u32>,
}
