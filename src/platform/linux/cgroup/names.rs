//! Container names from each runtime's own state on disk: never by running a runtime's CLI,
//! never over a socket or the network. Every file is read at most once per listing (one
//! `NameStore` per listing); whatever is missing, unreadable (not root) or malformed leaves
//! the name unknown.
//!
//! - docker: `<data-root>/containers/<ID>/config.v2.json`, `"Name": "/web"`, and the
//!   kubelet's labels for Kubernetes containers (data-root from `/etc/docker/daemon.json`,
//!   default `/var/lib/docker`; rootless: `~/.local/share/docker`).
//! - podman and CRI-O (containers/storage): `<graphroot>/<driver>-containers/containers.json`,
//!   `"names"`; CRI-O's Kubernetes names from the OCI config's annotations beside it
//!   (`userdata/config.json`). graphroot from `/etc/containers/storage.conf`, default
//!   `/var/lib/containers/storage`; rootless: `~/.local/share/containers/storage`.
//! - containerd: the task bundle `/run/containerd/io.containerd.runtime.v2.task/<NS>/<ID>/
//!   config.json`, annotations of the CRI plugin (`io.kubernetes.cri.*`) or nerdctl.
//! - Kubernetes pods: `/var/log/pods/<NAMESPACE>_<NAME>_<UID>` (the kubelet's log layout),
//!   where the runtime's annotations did not already say.
//! - lxc: the name is in the cgroup path; it is the id.

use super::path::ContainerRef;
use crate::model::{Container, Runtime};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A home directory for a uid (rootless runtimes keep state there).
type HomeOf = Box<dyn Fn(u32) -> Option<PathBuf> + Send>;

/// What the on-disk state says about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Names {
    name: Option<String>,
    pod: Option<String>,
    namespace: Option<String>,
}

/// One containers/storage store: container id -> (its directory, first name).
#[derive(Debug, Default)]
struct Store {
    by_id: HashMap<String, (PathBuf, Option<String>)>,
}

/// Names read from the runtimes' state under a root ("/" on a live system).
pub struct NameStore {
    root: PathBuf,
    home_of: HomeOf,
    resolved: HashMap<ContainerRef, Container>,
    docker_root: Option<Option<PathBuf>>,
    stores: HashMap<Option<u32>, Store>,
    containerd_dirs: Option<Vec<PathBuf>>,
    pods: Option<HashMap<String, (String, String)>>,
}

impl NameStore {
    /// Read state under `root`; `home_of` finds a rootless user's home (already under root).
    pub fn new(root: &Path, home_of: impl Fn(u32) -> Option<PathBuf> + Send + 'static) -> Self {
        NameStore {
            root: root.to_path_buf(),
            home_of: Box::new(home_of),
            resolved: HashMap::new(),
            docker_root: None,
            stores: HashMap::new(),
            containerd_dirs: None,
            pods: None,
        }
    }

    /// The live system: state under `/`, homes from the user database.
    pub fn live() -> Self {
        NameStore::new(Path::new("/"), |uid| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
    }

    /// The container a cgroup path named, with what its runtime's state says about it.
    pub fn resolve(&mut self, r: &ContainerRef) -> Container {
        if let Some(c) = self.resolved.get(r) {
            return c.clone();
        }
        // Below a user manager (`user@UID.service`) the cgroup tree is that user's to name:
        // only that user's own stores are read, never the system's, so a process cannot take
        // on the name of a real container (or pod) by naming its cgroup after one.
        let system = r.user.is_none();
        let (runtime, names) = match r.runtime {
            Runtime::Docker => (Runtime::Docker, self.docker(&r.id, r.user)),
            Runtime::Podman => (Runtime::Podman, self.storage(&r.id, r.user, false)),
            Runtime::CriO => (Runtime::CriO, self.storage(&r.id, r.user, true)),
            Runtime::Containerd if system => (Runtime::Containerd, self.containerd(&r.id)),
            Runtime::Containerd => (Runtime::Containerd, None),
            Runtime::Lxc => (
                Runtime::Lxc,
                Some(Names {
                    name: Some(r.id.clone()),
                    ..Names::default()
                }),
            ),
            Runtime::Cri if system => self.any_cri(&r.id),
            Runtime::Cri => (Runtime::Cri, None),
        };
        let names = names.unwrap_or_default();
        let mut c = Container {
            runtime,
            id: r.id.clone(),
            name: names.name,
            pod: names.pod,
            namespace: names.namespace,
            pod_uid: r.pod_uid.clone(),
        };
        if let (Some(uid), None, true) = (&r.pod_uid, &c.pod, system) {
            if let Some((ns, name)) = self.pods().get(uid) {
                c.pod = Some(name.clone());
                c.namespace = Some(ns.clone());
            }
        }
        self.resolved.insert(r.clone(), c.clone());
        c
    }

    /// The kubelet's cgroupfs driver names containers by bare id: find whose state has it.
    fn any_cri(&mut self, id: &str) -> (Runtime, Option<Names>) {
        if let Some(n) = self.containerd(id) {
            return (Runtime::Containerd, Some(n));
        }
        if let Some(n) = self.storage(id, None, true) {
            return (Runtime::CriO, Some(n));
        }
        if let Some(n) = self.docker(id, None) {
            return (Runtime::Docker, Some(n));
        }
        (Runtime::Cri, None)
    }

    fn under_root(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    fn docker(&mut self, id: &str, user: Option<u32>) -> Option<Names> {
        let data_root = match user {
            Some(uid) => (self.home_of)(uid).map(|h| h.join(".local/share/docker"))?,
            None => self.docker_root()?,
        };
        let doc = read_json(&data_root.join("containers").join(id).join("config.v2.json"))?;
        let labels = &doc["Config"]["Labels"];
        let label = |k: &str| labels[k].as_str().map(String::from);
        Some(Names {
            name: label("io.kubernetes.container.name").or_else(|| {
                let n = doc["Name"].as_str()?;
                Some(n.strip_prefix('/').unwrap_or(n).to_string())
            }),
            pod: label("io.kubernetes.pod.name"),
            namespace: label("io.kubernetes.pod.namespace"),
        })
    }

    fn docker_root(&mut self) -> Option<PathBuf> {
        if self.docker_root.is_none() {
            let conf = read_json(&self.under_root("/etc/docker/daemon.json"));
            let configured = conf.as_ref().and_then(|c| {
                // "graph" is the pre-17.05 spelling of "data-root".
                c["data-root"].as_str().or_else(|| c["graph"].as_str())
            });
            let abs = configured.unwrap_or("/var/lib/docker").to_string();
            self.docker_root = Some(Some(self.under_root(&abs)));
        }
        self.docker_root.clone().flatten()
    }

    /// A containers/storage container (podman, CRI-O); `kube`: also read the Kubernetes
    /// annotations of its OCI config (CRI-O's names in containers.json are `k8s_...`).
    fn storage(&mut self, id: &str, user: Option<u32>, kube: bool) -> Option<Names> {
        if !self.stores.contains_key(&user) {
            let store = self.load_store(user);
            self.stores.insert(user, store);
        }
        let (dir, name) = self.stores.get(&user)?.by_id.get(id)?.clone();
        let mut names = Names {
            name,
            ..Names::default()
        };
        if kube {
            if let Some(doc) = read_json(&dir.join("userdata/config.json")) {
                let a = &doc["annotations"];
                let get = |k: &str| a[k].as_str().map(String::from);
                names.name = get("io.kubernetes.container.name").or(names.name);
                names.pod = get("io.kubernetes.pod.name");
                names.namespace = get("io.kubernetes.pod.namespace");
            }
        }
        Some(names)
    }

    fn load_store(&self, user: Option<u32>) -> Store {
        let graphroot = match user {
            Some(uid) => match (self.home_of)(uid) {
                Some(home) => home.join(".local/share/containers/storage"),
                None => return Store::default(),
            },
            None => {
                let conf = std::fs::read_to_string(self.under_root("/etc/containers/storage.conf"));
                let abs = conf
                    .ok()
                    .and_then(|t| graphroot_of(&t))
                    .unwrap_or_else(|| "/var/lib/containers/storage".into());
                self.under_root(&abs)
            }
        };
        let mut store = Store::default();
        let Ok(entries) = std::fs::read_dir(&graphroot) else {
            return store;
        };
        // One `<driver>-containers` directory per storage driver ever used (overlay, vfs ...).
        for e in entries.flatten() {
            let dir = e.path();
            let is_store = e
                .file_name()
                .to_str()
                .is_some_and(|n| n.ends_with("-containers"));
            let Some(Value::Array(list)) = is_store
                .then(|| read_json(&dir.join("containers.json")))
                .flatten()
            else {
                continue;
            };
            for c in list {
                let Some(id) = c["id"].as_str() else { continue };
                let name = c["names"][0].as_str().map(String::from);
                store.by_id.insert(id.to_string(), (dir.join(id), name));
            }
        }
        store
    }

    fn containerd(&mut self, id: &str) -> Option<Names> {
        if self.containerd_dirs.is_none() {
            let base = self.under_root("/run/containerd/io.containerd.runtime.v2.task");
            let dirs = std::fs::read_dir(base)
                .map(|rd| rd.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            self.containerd_dirs = Some(dirs);
        }
        let dirs = self.containerd_dirs.as_deref().unwrap_or_default();
        let doc = dirs
            .iter()
            .find_map(|ns| read_json(&ns.join(id).join("config.json")))?;
        let a = &doc["annotations"];
        let get = |k: &str| a[k].as_str().map(String::from);
        Some(Names {
            name: get("io.kubernetes.cri.container-name").or_else(|| get("nerdctl/name")),
            pod: get("io.kubernetes.cri.sandbox-name"),
            namespace: get("io.kubernetes.cri.sandbox-namespace"),
        })
    }

    /// Pod uid -> (namespace, name), from the kubelet's log directories.
    fn pods(&mut self) -> &HashMap<String, (String, String)> {
        let dir = self.under_root("/var/log/pods");
        self.pods.get_or_insert_with(|| {
            let mut m = HashMap::new();
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if let Some((ns, name, uid)) = e.file_name().to_str().and_then(pod_dir) {
                    m.insert(uid, (ns, name));
                }
            }
            m
        })
    }
}

/// `NAMESPACE_NAME_UID`: namespaces and pod names are DNS labels and subdomains (no `_`).
fn pod_dir(s: &str) -> Option<(String, String, String)> {
    let mut it = s.split('_');
    let (ns, name, uid) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || ns.is_empty() || name.is_empty() || uid.is_empty() {
        return None;
    }
    Some((ns.into(), name.into(), uid.to_ascii_lowercase()))
}

/// The `graphroot` of storage.conf's `[storage]` table (TOML; only this key is needed).
fn graphroot_of(conf: &str) -> Option<String> {
    let mut table = "";
    for line in conf.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix('[') {
            table = t.trim_end_matches(']').trim();
            continue;
        }
        if table != "storage" {
            continue;
        }
        let Some((key, val)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "graphroot" {
            let v = val.split('#').next().unwrap_or("").trim();
            let v = v.trim_matches(|c| c == '"' || c == '\'');
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}

/// Runtime state is at most this big (a containers.json of 10k containers is ~5 MiB).
const MAX_STATE_FILE: u64 = 64 << 20;

/// A JSON state file. Some are in users' homes (rootless runtimes) and portwatch often runs
/// as root: only a regular file, opened without blocking (a FIFO planted there must not hang
/// the listing) and read up to `MAX_STATE_FILE` (nor /dev/zero exhaust memory).
fn read_json(path: &Path) -> Option<Value> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_STATE_FILE {
        return None;
    }
    let mut bytes = Vec::new();
    f.take(MAX_STATE_FILE).read_to_end(&mut bytes).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
