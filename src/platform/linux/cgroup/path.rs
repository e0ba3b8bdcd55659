//! `/proc/PID/cgroup` text -> the container and the systemd unit it names. Pure: no file is
//! read here, so every runtime's path shapes are table-tested (see `tests.rs`).
//!
//! The file has one line per hierarchy, `ID:CONTROLLERS:PATH` (cgroups(7)): cgroup v1 gives
//! one line per controller set plus `name=systemd`, v2 a single `0::PATH`, hybrid both (v1
//! controllers, and systemd's tree in the unified hierarchy). A runtime may join only some
//! hierarchies (docker's cgroupfs driver on a hybrid host leaves `0::` in the daemon's unit),
//! so every line is read, the unified one first, then `name=systemd`, then the controllers:
//! the container is the first line's that names one, and the unit comes from that same line
//! (another line may still place the process in the runtime daemon's unit). A unit above
//! the container on its path is the daemon's too (a cgroupfs driver's tree below
//! `containerd.service`): only the container's own scope or a unit inside it counts.
//!
//! Along one path the innermost container wins (docker-in-docker, minikube's kubelet inside
//! a docker container), and so does the innermost unit (systemd inside a container). The
//! monitor processes runtimes put beside a container (podman's and CRI-O's `conmon`, LXC's
//! `lxc.monitor`) are not in it. Paths seen from another cgroup namespace start with `/..`:
//! those steps are skipped; processes at our own cgroup namespace's root (`/`) have nothing
//! to tell.

use crate::model::{Runtime, Unit};

/// A container as a cgroup path names it, before its names are read from disk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerRef {
    /// `Runtime::Cri` when only the kubelet's layout says it is a container (a bare id).
    pub runtime: Runtime,
    pub id: String,
    /// Kubernetes: the pod uid of the enclosing pod slice, dashed (or 32 hex digits for a
    /// static pod, as the kubelet names it).
    pub pod_uid: Option<String>,
    /// The uid of the user manager (`user@UID.service`) above it: a rootless runtime keeps
    /// its state in that user's home.
    pub user: Option<u32>,
}

/// Where a process sits: its container and its systemd unit, each when the path names one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub container: Option<ContainerRef>,
    pub unit: Option<Unit>,
}

/// Parse a whole `/proc/PID/cgroup` file.
pub fn parse_proc_cgroup(text: &str) -> Placement {
    let mut lines: Vec<(u8, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (id, controllers, path) = (f.next()?, f.next()?, f.next()?);
            let rank = if id == "0" && controllers.is_empty() {
                0
            } else if controllers.split(',').any(|c| c == "name=systemd") {
                1
            } else {
                2
            };
            Some((rank, path))
        })
        .collect();
    lines.sort_by_key(|&(rank, _)| rank);
    let parsed: Vec<Placement> = lines.iter().map(|&(_, p)| parse_path(p)).collect();
    if let Some(p) = parsed.iter().find(|p| p.container.is_some()) {
        return p.clone();
    }
    Placement {
        container: None,
        unit: parsed.into_iter().find_map(|p| p.unit),
    }
}

/// Parse one cgroup path (the third field of a line).
pub fn parse_path(path: &str) -> Placement {
    let segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .collect();
    let kube = segs
        .iter()
        .any(|s| s.starts_with("kubepods") || s.contains("-kubepods"));
    let mut container: Option<(usize, Runtime, String)> = None;
    let mut pod_uid = None;
    let mut unit: Option<(usize, &str)> = None;
    let mut manager: Option<(usize, u32)> = None;
    let mut prev = "";
    for (i, &seg) in segs.iter().enumerate() {
        if kube {
            if let Some(uid) = pod_uid_in(seg) {
                pod_uid = Some(uid);
            }
        }
        if let Some(uid) = user_manager(seg) {
            manager = Some((i, uid));
        }
        if is_unit(seg) {
            unit = Some((i, seg));
        }
        if let Some((rt, id)) = container_in(seg, prev, kube && pod_uid.is_some()) {
            container = Some((i, rt, id));
        }
        prev = seg;
    }
    let below_manager = |i: usize| manager.filter(|&(m, _)| m < i).map(|(_, uid)| uid);
    // A unit above the container is the runtime daemon's (`containerd.service` holding a
    // cgroupfs driver's tree) or a user manager's, not the container process's own.
    if let (Some((c, ..)), Some((u, _))) = (&container, unit) {
        if u < *c {
            unit = None;
        }
    }
    Placement {
        container: container.map(|(i, runtime, id)| ContainerRef {
            runtime,
            id,
            pod_uid: pod_uid.clone(),
            user: below_manager(i),
        }),
        unit: unit.map(|(i, name)| Unit {
            name: name.to_string(),
            user: below_manager(i),
        }),
    }
}

/// The container a path segment names, given the segment before it. `in_pod`: the path is
/// below a Kubernetes pod slice, where the kubelet's cgroupfs driver names containers by
/// their bare id.
fn container_in(seg: &str, prev: &str, in_pod: bool) -> Option<(Runtime, String)> {
    // `SLICE:PREFIX:ID` is systemd cgroupsPath syntax (runc's spec for a systemd driver),
    // seen as a directory name when the runtime ran with the cgroupfs driver instead.
    let mut colon = seg.splitn(3, ':');
    if let (Some(_), Some(prefix), Some(id)) = (colon.next(), colon.next(), colon.next()) {
        return Some((runtime_of_prefix(prefix)?, hex_id(id)?));
    }
    let name = seg.strip_suffix(".scope").unwrap_or(seg);
    if let Some((prefix, id)) = name.rsplit_once('-') {
        if let (Some(rt), Some(id)) = (runtime_of_prefix(prefix), hex_id(id)) {
            return Some((rt, id));
        }
    }
    if let Some(name) = seg.strip_prefix("lxc.payload.") {
        return (!name.is_empty()).then(|| (Runtime::Lxc, name.to_string()));
    }
    if prev == "lxc.payload" || prev == "lxc" {
        return Some((Runtime::Lxc, seg.to_string()));
    }
    let id = hex_id(seg)?;
    if prev == "docker" {
        Some((Runtime::Docker, id))
    } else if in_pod {
        Some((Runtime::Cri, id))
    } else {
        None
    }
}

/// The runtime a `PREFIX-ID` scope prefix belongs to. `libpod-conmon`, `crio-conmon` (the
/// monitors) are not prefixes of a container.
fn runtime_of_prefix(prefix: &str) -> Option<Runtime> {
    Some(match prefix {
        "docker" => Runtime::Docker,
        "libpod" => Runtime::Podman,
        "cri-containerd" | "nerdctl" => Runtime::Containerd,
        "crio" => Runtime::CriO,
        _ => return None,
    })
}

/// A 64-digit lower-case hex id (docker, podman, containerd and CRI-O all use them).
fn hex_id(s: &str) -> Option<String> {
    let ok = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| s.to_string())
}

/// The pod uid of a kubelet pod cgroup: `pod<UID>` (cgroupfs driver) or
/// `kubepods-<qos>-pod<UID with _ for ->.slice` (systemd driver), also as the first part of
/// the colon form.
fn pod_uid_in(seg: &str) -> Option<String> {
    let s = seg.split(':').next().unwrap_or(seg);
    let s = s.strip_suffix(".slice").unwrap_or(s);
    let tail = match s.strip_prefix("pod") {
        Some(t) => t,
        None => s.rsplit_once("-pod")?.1,
    };
    let uid = tail.replace('_', "-");
    let hex = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_hexdigit());
    let parts: Vec<&str> = uid.split('-').collect();
    let dashed = parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| hex(p));
    // Static (mirror) pods have a 32-digit uid without dashes.
    let bare = uid.len() == 32 && hex(&uid);
    (dashed || bare).then(|| uid.to_ascii_lowercase())
}

/// `user@UID.service`: the per-user systemd manager.
fn user_manager(seg: &str) -> Option<u32> {
    seg.strip_prefix("user@")?
        .strip_suffix(".service")?
        .parse()
        .ok()
}

/// A unit that can hold processes (slices only group units, targets hold none).
fn is_unit(seg: &str) -> bool {
    [".service", ".scope", ".socket", ".mount", ".swap"]
        .iter()
        .any(|suffix| seg.strip_suffix(suffix).is_some_and(|n| !n.is_empty()))
        && !seg.contains(':')
}
