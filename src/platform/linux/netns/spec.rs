//! Resolving `-N, --netns WHICH` (`model::NetnsSpec`, repeatable) against what discovery
//! found: each WHICH must name an existing network namespace, else a typed error naming it.

use super::discover::{link_inode, Discovery};
use super::open::{open_ns_file, FileKind};
use crate::model::NetnsSpec;
use nix::errno::Errno;
use std::num::NonZeroU64;
use std::path::Path;

/// A WHICH that names no readable network namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetnsError {
    /// Bad user input: a usage error (exit status 2).
    #[error("--netns {value:?}: {why}")]
    BadValue { value: String, why: String },
    /// It exists, but we may not see which namespace it is (not root).
    #[error("--netns {value:?}: {why}; {hint}")]
    Permission {
        value: String,
        why: String,
        hint: String,
    },
}

fn bad(value: &str, why: impl Into<String>) -> NetnsError {
    NetnsError::BadValue {
        value: value.to_string(),
        why: why.into(),
    }
}

/// The namespaces the specs select, in discovery order (host first), each once. A pid or a
/// file discovery did not see (started since) is added to `d`. `proc_root` and `names_dir`
/// are "/proc" and "/run/netns" on a live system.
pub fn resolve(
    specs: &[NetnsSpec],
    d: &mut Discovery,
    proc_root: &Path,
    names_dir: &Path,
) -> Result<Vec<NonZeroU64>, NetnsError> {
    let mut chosen: Vec<NonZeroU64> = Vec::new();
    for spec in specs {
        match spec {
            NetnsSpec::All => chosen.extend(d.namespaces.iter().map(|e| e.inode)),
            NetnsSpec::Name(name) => {
                let found = d
                    .namespaces
                    .iter()
                    .find(|e| e.names.iter().any(|n| n == name))
                    .map(|e| e.inode);
                let ino = match found {
                    Some(i) => i,
                    // Created since discovery (or in a mount namespace we did not read).
                    None => by_path(name, &names_dir.join(name), d).map_err(|_| {
                        bad(
                            name,
                            format!(
                                "no network namespace of that name in {} (see `ip netns list`)",
                                names_dir.display()
                            ),
                        )
                    })?,
                };
                let e = d.entry_mut(ino);
                if !e.names.contains(name) {
                    e.names.push(name.clone());
                }
                chosen.push(ino);
            }
            NetnsSpec::Pid(pid) => {
                let value = pid.to_string();
                let link = proc_root.join(pid.to_string()).join("ns/net");
                let ino = match std::fs::read_link(&link) {
                    Ok(_) => link_inode(&link, "net")
                        .ok_or_else(|| bad(&value, "its namespace link is unreadable"))?,
                    Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                        return Err(NetnsError::Permission {
                            value,
                            why: "cannot see that process's network namespace".into(),
                            hint: "run as root".into(),
                        })
                    }
                    Err(_) => return Err(bad(&value, "no such process")),
                };
                let e = d.entry_mut(ino);
                if let Err(at) = e.pids.binary_search(pid) {
                    e.pids.insert(at, *pid);
                }
                chosen.push(ino);
            }
            NetnsSpec::Path(path) => {
                let value = path.display().to_string();
                chosen.push(by_path(&value, path, d)?);
            }
        }
    }
    Ok(d.namespaces
        .iter()
        .map(|e| e.inode)
        .filter(|i| chosen.contains(i))
        .collect())
}

/// The namespace a file is, recorded as a way into it.
fn by_path(value: &str, path: &Path, d: &mut Discovery) -> Result<NonZeroU64, NetnsError> {
    match open_ns_file(path) {
        Ok((_, FileKind::Net(ino))) => {
            let e = d.entry_mut(ino);
            if !e.mounts.iter().any(|m| m == path) {
                e.mounts.push(path.to_path_buf());
            }
            Ok(ino)
        }
        Ok((_, FileKind::OtherNamespace(ty))) => Err(bad(
            value,
            format!("a {} namespace, not a network namespace", kind_name(ty)),
        )),
        Ok((_, FileKind::NotNamespace)) => Err(bad(value, "not a namespace file")),
        Err(Errno::EACCES | Errno::EPERM) => Err(NetnsError::Permission {
            value: value.to_string(),
            why: "permission denied".into(),
            hint: "run as root".into(),
        }),
        Err(e) => Err(bad(value, e.desc())),
    }
}

fn kind_name(clone_flag: i32) -> &'static str {
    match clone_flag {
        libc::CLONE_NEWNS => "mount",
        libc::CLONE_NEWUTS => "uts",
        libc::CLONE_NEWIPC => "ipc",
        libc::CLONE_NEWUSER => "user",
        libc::CLONE_NEWPID => "pid",
        libc::CLONE_NEWCGROUP => "cgroup",
        0x80 => "time",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_live_values() {
        let proc = Path::new("/proc");
        let names = Path::new("/run/netns");
        let mut d = super::super::discover::discover();
        let own = d.namespaces.iter().find(|e| e.own).unwrap().inode;
        let me = std::process::id();
        let by_pid = resolve(&[NetnsSpec::Pid(me)], &mut d, proc, names).unwrap();
        assert_eq!(by_pid, vec![own]);
        let by_path = resolve(
            &[
                NetnsSpec::Path("/proc/self/ns/net".into()),
                NetnsSpec::Pid(me),
            ],
            &mut d,
            proc,
            names,
        )
        .unwrap();
        assert_eq!(by_path, vec![own], "each namespace once");
        let all = resolve(&[NetnsSpec::All], &mut d, proc, names).unwrap();
        assert_eq!(all.len(), d.namespaces.len());

        let err = |s: NetnsSpec| {
            resolve(&[s], &mut d.clone(), proc, names)
                .unwrap_err()
                .to_string()
        };
        assert!(err(NetnsSpec::Name("pw-no-such-ns".into()))
            .contains("no network namespace of that name"));
        assert!(err(NetnsSpec::Path("/proc/self/ns/uts".into()))
            .contains("a uts namespace, not a network namespace"));
        assert!(err(NetnsSpec::Path("/proc/self/status".into())).contains("not a namespace file"));
        assert!(err(NetnsSpec::Path("/nonexistent/x".into())).contains("No such file"));
        assert!(err(NetnsSpec::Pid(u32::MAX)).contains("no such process"));
    }
}
