//! Where a socket lives beyond its addresses: its network namespace, and the container and
//! systemd unit of the processes holding it (issue #11). Data only.

use std::fmt;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::Arc;

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

/// Where a process (or the holders of a socket) belongs. Shared: many rows hold one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub container: Option<Arc<Container>>,
    pub unit: Option<Arc<Unit>>,
}

impl Attribution {
    /// What the holders of one socket agree on, from each holder's own (pid, attribution):
    /// pid 1 (the system manager, holding listeners for socket activation) is left out when
    /// another process holds the socket too; holders that disagree give nothing, never a
    /// guess; a holder whose attribution is unknown disagrees with any other.
    pub fn agreed(holders: &[(u32, Attribution)]) -> Attribution {
        let others = holders.iter().any(|(pid, _)| *pid != 1);
        let mut kept = holders.iter().filter(|(pid, _)| !(others && *pid == 1));
        let Some((_, first)) = kept.next() else {
            return Attribution::default();
        };
        let mut out = first.clone();
        for (_, a) in kept {
            if out.container.is_some() && a.container != out.container {
                out.container = None;
            }
            if out.unit.is_some() && a.unit != out.unit {
                out.unit = None;
            }
        }
        out
    }
}

/// One `-N, --netns WHICH`: `all`, a name under `/run/netns` (as `ss -N` takes it), a pid
/// (that process's namespace), or a path to a namespace file (`/proc/PID/ns/net`, a bind
/// mount). All digits is a pid and anything with a `/` a path: a namespace named `all` or
/// `1234` is reached by its path, `/run/netns/1234`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsSpec {
    All,
    Name(String),
    Pid(u32),
    Path(PathBuf),
}

/// A WHICH that cannot name a namespace, whatever the system holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadNetnsSpec {
    pub value: String,
    pub why: &'static str,
}

impl fmt::Display for BadNetnsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--netns {:?}: {}", self.value, self.why)
    }
}

impl NetnsSpec {
    pub fn parse(s: &str) -> Result<NetnsSpec, BadNetnsSpec> {
        let bad = |why| {
            Err(BadNetnsSpec {
                value: s.to_string(),
                why,
            })
        };
        if s.is_empty() {
            return bad("empty; give all, a name, a pid or a path");
        }
        if s == "all" {
            return Ok(NetnsSpec::All);
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<u32>() {
                Ok(pid) if pid > 0 => Ok(NetnsSpec::Pid(pid)),
                _ => bad("not a process id"),
            };
        }
        if s.contains('/') {
            return Ok(NetnsSpec::Path(PathBuf::from(s)));
        }
        if s == "." || s == ".." {
            return bad("not a namespace name");
        }
        Ok(NetnsSpec::Name(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_which() {
        assert_eq!(NetnsSpec::parse("all"), Ok(NetnsSpec::All));
        assert_eq!(NetnsSpec::parse("1234"), Ok(NetnsSpec::Pid(1234)));
        assert_eq!(NetnsSpec::parse("blue"), Ok(NetnsSpec::Name("blue".into())));
        assert_eq!(
            NetnsSpec::parse("/run/netns/1234"),
            Ok(NetnsSpec::Path("/run/netns/1234".into()))
        );
        assert_eq!(NetnsSpec::parse("./x"), Ok(NetnsSpec::Path("./x".into())));
        for bad in ["", "0", "99999999999", ".", ".."] {
            let e = NetnsSpec::parse(bad).unwrap_err();
            assert_eq!(e.value, bad);
            assert!(
                e.to_string().contains(&format!("{bad:?}")),
                "names the value: {e}"
            );
        }
    }

    #[test]
    fn holders_agree_or_give_nothing() {
        let c = |id: &str| Some(Arc::new(Container::new(Runtime::Podman, id)));
        let u = |n: &str| {
            Some(Arc::new(Unit {
                name: n.into(),
                user: None,
            }))
        };
        let a = |container, unit| Attribution { container, unit };
        let web = a(c("a"), u("libpod-a.scope"));
        let init = a(None, u("init.scope"));
        assert_eq!(Attribution::agreed(&[]), Attribution::default());
        assert_eq!(Attribution::agreed(&[(7, web.clone())]), web);
        assert_eq!(
            Attribution::agreed(&[(7, web.clone()), (8, web.clone())]),
            web
        );
        // Socket activation: pid 1 and the service: the service's.
        assert_eq!(
            Attribution::agreed(&[(1, init.clone()), (7, web.clone())]),
            web
        );
        assert_eq!(Attribution::agreed(&[(1, init.clone())]), init);
        // Two containers, or a container and a host process: neither.
        let other = a(c("b"), u("libpod-b.scope"));
        assert_eq!(
            Attribution::agreed(&[(7, web.clone()), (8, other)]),
            Attribution::default()
        );
        let host = a(None, u("sshd.service"));
        assert_eq!(
            Attribution::agreed(&[(7, web.clone()), (9, host)]),
            Attribution::default()
        );
        let unknown = Attribution::default();
        assert_eq!(
            Attribution::agreed(&[(7, web), (9, unknown)]),
            Attribution::default()
        );
    }

    #[test]
    fn labels() {
        let ns = Netns {
            inode: NonZeroU64::new(4026532177).unwrap(),
            name: None,
            host: false,
        };
        assert_eq!(ns.label(), "net:[4026532177]");
        let c = Container::new(
            Runtime::Docker,
            "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d",
        );
        assert_eq!(c.label(), "9ec39b91f3d7");
        assert_eq!(Container::new(Runtime::Lxc, "web").label(), "web");
    }
}
