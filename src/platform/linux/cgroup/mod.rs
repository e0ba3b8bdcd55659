//! cgroups: the cgroup v2 ids and paths sockets carry (`v2`, for `--cgroup`), and container
//! and systemd-unit attribution: which container and unit the holders of a socket
//! (or the members of a network namespace) belong to, from `/proc/PID/cgroup` (see `path`)
//! and the runtimes' own state on disk (see `names`). One `Attributor` per listing: each
//! process's file is read once, each container's names looked up once.
//!
//! The rules (issue #11):
//! - A socket's container and unit are its holders', when the holders agree
//!   (`model::Attribution::agreed`: pid 1 left out when another holder exists, no guess when
//!   they disagree).
//! - A socket whose holders are unknown (no owner scan, none visible, kernel-owned) gets its
//!   namespace's container when every member process of that namespace belongs to that same
//!   container (`namespace_container`).

mod names;
mod path;
#[cfg(test)]
mod tests;
mod v2;

pub use names::NameStore;
pub use path::{parse_path, parse_proc_cgroup, ContainerRef, Placement};
pub use v2::{cgroup2_mount, id_of, mount, paths};

use crate::model::{Attribution, Container, Unit};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Per-listing reader and cache of attributions.
pub struct Attributor {
    proc_root: PathBuf,
    names: NameStore,
    by_pid: HashMap<u32, Attribution>,
    by_ref: HashMap<ContainerRef, Arc<Container>>,
    units: HashMap<Unit, Arc<Unit>>,
}

impl Attributor {
    /// Read processes under `proc_root` and container names through `names`.
    pub fn new(proc_root: &Path, names: NameStore) -> Attributor {
        Attributor {
            proc_root: proc_root.to_path_buf(),
            names,
            by_pid: HashMap::new(),
            by_ref: HashMap::new(),
            units: HashMap::new(),
        }
    }

    /// The live system.
    pub fn live() -> Attributor {
        Attributor::new(Path::new("/proc"), NameStore::live())
    }

    /// Where process `pid` belongs; nothing when it is gone or its file unreadable.
    pub fn of_pid(&mut self, pid: u32) -> Attribution {
        if let Some(a) = self.by_pid.get(&pid) {
            return a.clone();
        }
        let file = self.proc_root.join(pid.to_string()).join("cgroup");
        let placement = std::fs::read_to_string(file)
            .map(|t| parse_proc_cgroup(&t))
            .unwrap_or_default();
        let a = self.resolve(placement);
        self.by_pid.insert(pid, a.clone());
        a
    }

    /// Names for a placement parsed elsewhere (tests, fixtures), through the same caches.
    pub fn resolve(&mut self, p: Placement) -> Attribution {
        let container = p.container.map(|r| {
            if let Some(c) = self.by_ref.get(&r) {
                return Arc::clone(c);
            }
            let c = Arc::new(self.names.resolve(&r));
            self.by_ref.insert(r, Arc::clone(&c));
            c
        });
        let unit = p
            .unit
            .map(|u| Arc::clone(self.units.entry(u.clone()).or_insert_with(|| Arc::new(u))));
        Attribution { container, unit }
    }

    /// The holders' common container and unit (see the module rules).
    pub fn of_holders(&mut self, pids: &[u32]) -> Attribution {
        let each: Vec<(u32, Attribution)> = pids.iter().map(|&p| (p, self.of_pid(p))).collect();
        Attribution::agreed(&each)
    }

    /// The container every member of a namespace belongs to; `None` when a member belongs
    /// to none or to another one, or there are no members. Stops at the first that differs
    /// (the host namespace's pid 1 usually).
    pub fn namespace_container(&mut self, members: &[u32]) -> Option<Arc<Container>> {
        let mut common: Option<Arc<Container>> = None;
        for &pid in members {
            let c = self.of_pid(pid).container?;
            match &common {
                Some(prev) if *prev != c => return None,
                Some(_) => {}
                None => common = Some(c),
            }
        }
        common
    }
}

#[cfg(test)]
mod attributor_tests {
    use super::*;
    use crate::model::Runtime;

    const A: &str = "dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab";
    const B: &str = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";

    /// A proc tree with these (pid, cgroup file) pairs.
    fn tree(procs: &[(u32, String)]) -> (tempfile::TempDir, Attributor) {
        let d = tempfile::tempdir().unwrap();
        for (pid, text) in procs {
            let dir = d.path().join(pid.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("cgroup"), text).unwrap();
        }
        let names = NameStore::new(&d.path().join("no-state"), |_| None);
        let a = Attributor::new(d.path(), names);
        (d, a)
    }

    fn podman(id: &str) -> String {
        format!("0::/libpod_parent/libpod-{id}\n")
    }

    #[test]
    fn holders_agree_or_nothing() {
        let (_d, mut a) = tree(&[
            (1, "0::/init.scope\n".into()),
            (10, podman(A)),
            (11, podman(A)),
            (12, podman(B)),
            (13, "0::/system.slice/nginx.service\n".into()),
        ]);
        let one = a.of_holders(&[10, 11]);
        let c = one.container.expect("container A");
        assert_eq!((c.runtime, c.id.as_str()), (Runtime::Podman, A));
        assert_eq!(a.of_holders(&[10, 12]).container, None, "two containers");
        assert_eq!(
            a.of_holders(&[10, 13]),
            Attribution::default(),
            "container and host"
        );
        // Socket activation: pid 1 and the service hold the listener: the service's unit.
        let u = a.of_holders(&[1, 13]).unit.expect("unit");
        assert_eq!(u.name, "nginx.service");
        assert_eq!(a.of_holders(&[1]).unit.unwrap().name, "init.scope");
        assert_eq!(a.of_holders(&[]), Attribution::default());
        // A holder that is gone (no file) knows nothing, so nothing is agreed.
        assert_eq!(a.of_holders(&[10, 99]).container, None);
    }

    #[test]
    fn namespace_container_needs_every_member() {
        let (_d, mut a) = tree(&[
            (1, "0::/init.scope\n".into()),
            (10, podman(A)),
            (11, podman(A)),
            (12, podman(B)),
        ]);
        assert_eq!(a.namespace_container(&[10, 11]).unwrap().id, A);
        assert_eq!(a.namespace_container(&[10, 12]), None);
        assert_eq!(a.namespace_container(&[1, 10]), None);
        assert_eq!(a.namespace_container(&[]), None);
        // Cached by pid and shared by container: one allocation for both members.
        let x = a.of_pid(10).container.unwrap();
        let y = a.of_pid(11).container.unwrap();
        assert!(Arc::ptr_eq(&x, &y));
    }
}
