//! What the live host says about namespaces and containers, worked out on demand and once per
//! listing: portwatch's own network namespace (what a listing without `-N` reads), each
//! holder's namespace, each process's container and unit, and the namespaces' members.
//!
//! The cheap paths matter, because JSON carries `netns`, `container` and `unit` for every
//! socket even without `-N`: the own namespace is one readlink plus a look at `/run/netns`;
//! a holder's namespace one readlink per distinct pid; and whether the own namespace belongs
//! to one container is settled by portwatch's own cgroup (it is a member itself: when it is
//! in no container, neither is its namespace), so the every-process discovery runs only for
//! `-N` or when portwatch itself runs in a container.

use super::cgroup::{Attributor, NameStore};
use super::netns::{discover, host_inode, link_inode, Discovery, NETNS_DIRS};
use crate::model::{Attribution, Container, Netns};
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Lazily read facts about the host, shared by the sources of one listing.
pub struct HostView {
    proc_root: PathBuf,
    /// A live system (not a fixture tree): namespaces are real and names may be looked up.
    live: bool,
    own: OnceLock<Option<Netns>>,
    pid_netns: Mutex<HashMap<u32, Option<NonZeroU64>>>,
    attributor: Mutex<Option<Attributor>>,
    discovery: Mutex<Option<Arc<Discovery>>>,
}

impl std::fmt::Debug for HostView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostView")
            .field("proc_root", &self.proc_root)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl HostView {
    /// `live`: `proc_root` is the running system's (not a fixture tree).
    pub fn new(proc_root: &Path, live: bool) -> HostView {
        HostView {
            proc_root: proc_root.to_path_buf(),
            live,
            own: OnceLock::new(),
            pid_netns: Mutex::new(HashMap::new()),
            attributor: Mutex::new(None),
            discovery: Mutex::new(None),
        }
    }

    /// portwatch's own network namespace; `None` on a fixture tree.
    pub fn own_netns(&self) -> Option<Netns> {
        self.own
            .get_or_init(|| {
                if !self.live {
                    return None;
                }
                let inode = link_inode(&self.proc_root.join("self/ns/net"), "net")?;
                if let Some(e) = self.known_discovery().and_then(|d| d.get(inode).cloned()) {
                    return Some(e.netns());
                }
                let pid1 = link_inode(&self.proc_root.join("1/ns/net"), "net");
                Some(Netns {
                    inode,
                    name: name_of(inode, Path::new(NETNS_DIRS[0])),
                    host: host_inode([inode], pid1, Some(inode)) == Some(inode),
                })
            })
            .clone()
    }

    /// The namespace process `pid` is in now (one readlink per pid and listing).
    pub fn netns_of_pid(&self, pid: u32) -> Option<NonZeroU64> {
        if !self.live {
            return None;
        }
        let mut m = self.pid_netns.lock().ok()?;
        *m.entry(pid).or_insert_with(|| {
            link_inode(&self.proc_root.join(pid.to_string()).join("ns/net"), "net")
        })
    }

    /// What the holders `pids` of one socket agree on.
    pub fn attribute(&self, pids: &[u32]) -> Attribution {
        self.with_attributor(|a| a.of_holders(pids))
            .unwrap_or_default()
    }

    /// The container of namespace `netns` (every member in it), if any.
    pub fn namespace_container(&self, netns: NonZeroU64) -> Option<Arc<Container>> {
        if !self.live {
            return None;
        }
        if self.own_netns().is_some_and(|o| o.inode == netns) {
            let me = std::process::id();
            self.with_attributor(|a| a.of_pid(me).container)??;
        }
        let members = self.discovery().get(netns)?.pids.clone();
        self.with_attributor(|a| a.namespace_container(&members))?
    }

    /// Every namespace, discovered now unless a `-N` resolution already did.
    pub fn discovery(&self) -> Arc<Discovery> {
        if let Some(d) = self.known_discovery() {
            return d;
        }
        let d = Arc::new(discover());
        if let Ok(mut slot) = self.discovery.lock() {
            *slot = Some(Arc::clone(&d));
        }
        d
    }

    /// Keep the discovery `-N` was resolved against, so every later question agrees with it.
    pub fn set_discovery(&self, d: Discovery) {
        if let Ok(mut slot) = self.discovery.lock() {
            *slot = Some(Arc::new(d));
        }
    }

    fn known_discovery(&self) -> Option<Arc<Discovery>> {
        self.discovery.lock().ok()?.clone()
    }

    fn with_attributor<T>(&self, f: impl FnOnce(&mut Attributor) -> T) -> Option<T> {
        let mut slot = self.attributor.lock().ok()?;
        let a = slot.get_or_insert_with(|| {
            // A fixture tree's cgroup files are read, but never the live runtimes' state.
            let names = if self.live {
                NameStore::live()
            } else {
                NameStore::new(Path::new("/nonexistent/portwatch-fixture"), |_| None)
            };
            Attributor::new(&self.proc_root, names)
        });
        Some(f(a))
    }
}

/// The first name under `dir` (sorted, as `ip netns list` reads them) of namespace `inode`.
fn name_of(inode: NonZeroU64, dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            std::fs::metadata(e.path()).is_ok_and(|m| m.ino() == inode.get() && is_nsfs(&m))
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names.into_iter().next()
}

/// Whether a file is on nsfs (the device every namespace file shares).
fn is_nsfs(m: &std::fs::Metadata) -> bool {
    std::fs::metadata("/proc/self/ns/net").is_ok_and(|own| own.dev() == m.dev())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespace_without_discovery() {
        let h = HostView::new(Path::new("/proc"), true);
        let own = h.own_netns().expect("live");
        let want = link_inode(Path::new("/proc/self/ns/net"), "net").unwrap();
        assert_eq!(own.inode, want);
        assert_eq!(h.netns_of_pid(std::process::id()), Some(want));
        // The same as a full discovery says.
        let d = discover();
        assert_eq!(d.get(want).map(|e| e.host), Some(own.host));
        let fixture = HostView::new(Path::new("/nonexistent"), false);
        assert_eq!(fixture.own_netns(), None);
        assert_eq!(fixture.netns_of_pid(1), None);
        assert_eq!(fixture.namespace_container(want), None);
    }
}
