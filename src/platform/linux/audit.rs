//! What `portwatch audit` reads from the system besides sockets: holder executables
//! (`/proc/PID/exe`), the interfaces and the firewall of a network namespace, and a way to
//! run code inside another network namespace. The audit core (crate::audit) judges them.

use crate::model::{ExeInfo, HostFacts, Interface, Row, Text, Warning};
use std::collections::HashMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The kernel's mark on the exe link of a process whose file was unlinked (fs/d_path.c).
const DELETED: &[u8] = b" (deleted)";

/// What `/proc/PID/exe` says; `None` when it cannot be read (the process is gone, a kernel
/// thread, or access is refused).
pub fn exe_info(proc_root: &Path, pid: u32) -> Option<ExeInfo> {
    read_exe(proc_root, pid).ok()
}

fn read_exe(proc_root: &Path, pid: u32) -> io::Result<ExeInfo> {
    let link = std::fs::read_link(proc_root.join(pid.to_string()).join("exe"))?;
    let raw = link.as_os_str().as_bytes();
    let (path, deleted) = match raw.strip_suffix(DELETED) {
        Some(p) => (p, true),
        None => (raw, false),
    };
    // The path is in the process's mount namespace (a container's): look at its
    // directories through /proc/PID/root.
    let root = proc_root.join(pid.to_string()).join("root");
    Ok(ExeInfo {
        path: Some(Text::from(path)),
        deleted,
        world_writable_dir: world_writable_ancestor(
            &root,
            Path::new(std::ffi::OsStr::from_bytes(path)),
        ),
    })
}

/// The outermost directory above `path` that anyone may write to (mode o+w, sticky or not),
/// looked up under `root`.
fn world_writable_ancestor(root: &Path, path: &Path) -> Option<Text> {
    let mut dirs: Vec<&Path> = path.ancestors().skip(1).collect();
    dirs.reverse();
    dirs.into_iter()
        .filter(|d| d.parent().is_some())
        .find(|d| {
            let inside = root.join(d.strip_prefix("/").unwrap_or(d));
            std::fs::metadata(inside)
                .is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0)
        })
        .map(|d| Text::from(d.as_os_str().as_bytes()))
}

/// `exe_info` for each pid; unreadable ones are left out.
pub fn exe_infos(proc_root: &Path, pids: impl IntoIterator<Item = u32>) -> HashMap<u32, ExeInfo> {
    exe_infos_counted(proc_root, pids).0
}

/// `exe_infos`, and how many were refused (another user's process, not root).
fn exe_infos_counted(
    proc_root: &Path,
    pids: impl IntoIterator<Item = u32>,
) -> (HashMap<u32, ExeInfo>, usize) {
    let mut map = HashMap::new();
    let mut denied = 0;
    for pid in pids {
        if map.contains_key(&pid) {
            continue;
        }
        match read_exe(proc_root, pid) {
            Ok(e) => {
                map.insert(pid, e);
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => denied += 1,
            // Gone since the owner scan, or a kernel thread: nothing to judge.
            Err(_) => {}
        }
    }
    (map, denied)
}

/// The interfaces of the calling thread's network namespace, with their addresses.
pub fn interfaces() -> io::Result<Vec<Interface>> {
    use nix::net::if_::InterfaceFlags;
    let mut out: Vec<Interface> = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().map_err(io::Error::from)? {
        let i = match out.iter().position(|i| i.name == ifa.interface_name) {
            Some(i) => i,
            None => {
                out.push(Interface {
                    name: ifa.interface_name.clone(),
                    up: ifa.flags.contains(InterfaceFlags::IFF_UP),
                    loopback: ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK),
                    addrs: Vec::new(),
                });
                out.len() - 1
            }
        };
        let addr = ifa.address.as_ref().and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| std::net::IpAddr::V4(v4.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|v6| std::net::IpAddr::V6(v6.ip())))
        });
        out[i].addrs.extend(addr);
    }
    Ok(out)
}

/// Run `f` on a thread that has entered the network namespace at `netns` (a
/// `/proc/PID/ns/net` or `/run/netns/NAME` path). Only that thread moves; threads and
/// processes it starts inherit the namespace. Needs CAP_SYS_ADMIN.
pub fn in_netns<T: Send>(netns: &Path, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    let file = std::fs::File::open(netns)?;
    std::thread::scope(|s| {
        s.spawn(move || {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(io::Error::from)?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("audit worker thread panicked")))
    })
}

/// Run `prog args` and return its stdout; the error says what to install or fix.
fn output(prog: &str, args: &[&str], package: &str) -> Result<Vec<u8>, String> {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                format!("`{prog}` is not installed (apt-get install {package})")
            }
            _ => format!("cannot run `{prog}`: {e}"),
        })?;
    if !out.status.success() {
        // One line: a warning is one line (nft prints its error and netlink's on two).
        let err = String::from_utf8_lossy(&out.stderr);
        let err: Vec<&str> = err
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return Err(format!(
            "`{prog} {}` failed: {}",
            args.join(" "),
            err.join("; ")
        ));
    }
    Ok(out.stdout)
}

/// `nft -j list ruleset` in the calling thread's network namespace (run as a child, which
/// inherits it).
pub fn nft_ruleset() -> Result<serde_json::Value, String> {
    let out = output("nft", &["-j", "list", "ruleset"], "nftables")?;
    serde_json::from_slice(&out).map_err(|e| format!("`nft -j` printed no JSON: {e}"))
}

/// The `ip{,6}tables-legacy-save` output of each legacy table family in use in this
/// namespace. Its tables are listed in /proc/net/ip{,6}_tables_names once used there; only
/// then is the save command run (running it earlier would load the legacy modules).
pub fn legacy_save() -> Result<Vec<String>, String> {
    let net = PathBuf::from("/proc/thread-self/net");
    let mut outs = Vec::new();
    for (names, save) in [
        ("ip_tables_names", "iptables-legacy-save"),
        ("ip6_tables_names", "ip6tables-legacy-save"),
    ] {
        let in_use = std::fs::read_to_string(net.join(names)).is_ok_and(|t| !t.trim().is_empty());
        if in_use {
            let out = output(save, &[], "iptables")?;
            outs.push(String::from_utf8_lossy(&out).into_owned());
        }
    }
    Ok(outs)
}

/// The interfaces and firewall output of the calling thread's network namespace.
pub fn namespace_facts() -> HostFacts {
    let mut warnings = Vec::new();
    let interfaces = interfaces().unwrap_or_else(|e| {
        warnings.push(Warning::new(
            "interfaces-unreadable",
            format!("interfaces not read, so none is named as a way in: {e}"),
        ));
        Vec::new()
    });
    HostFacts {
        interfaces,
        nft_ruleset: Some(nft_ruleset()),
        legacy_save: Some(legacy_save()),
        warnings,
        ..HostFacts::default()
    }
}

/// What is known of the processes holding `rows` (host-wide, whatever namespace the calling
/// thread is in): their executables under `proc_root` and their users' names.
pub fn holder_facts(
    rows: &[Row],
    proc_root: &Path,
    user_name: &dyn Fn(u32) -> Option<String>,
) -> HostFacts {
    let owners = || {
        rows.iter()
            .flat_map(|r| r.owners.iter().flat_map(|o| o.iter()))
    };
    let mut user_names = HashMap::new();
    for uid in owners().filter_map(|o| o.uid()) {
        if let std::collections::hash_map::Entry::Vacant(e) = user_names.entry(uid) {
            if let Some(name) = user_name(uid) {
                e.insert(name);
            }
        }
    }
    let (exes, denied) = exe_infos_counted(proc_root, owners().map(|o| o.pid));
    let mut warnings = Vec::new();
    if denied > 0 {
        warnings.push(Warning::new(
            "exe-unreadable",
            format!(
                "the executable of {denied} holding process{} could not be read, so a deleted \
                 or world-writable program there is not found: run as root",
                if denied == 1 { "" } else { "es" }
            ),
        ));
    }
    HostFacts {
        exes,
        user_names,
        warnings,
        ..HostFacts::default()
    }
}

/// The facts of the calling thread's network namespace (the rows' own) that an audit of
/// `rows` needs: `namespace_facts` and `holder_facts` together.
pub fn gather(
    rows: &[Row],
    proc_root: &Path,
    user_name: &dyn Fn(u32) -> Option<String>,
) -> HostFacts {
    let mut ns = namespace_facts();
    let holders = holder_facts(rows, proc_root, user_name);
    ns.exes = holders.exes;
    ns.user_names = holders.user_names;
    ns.warnings.extend(holders.warnings);
    ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_writable_ancestors_are_found_under_the_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("tmp/build/bin")).unwrap();
        std::fs::create_dir_all(r.join("usr/bin")).unwrap();
        std::fs::set_permissions(r.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::set_permissions(r.join("usr"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let ww = |p: &str| {
            world_writable_ancestor(r, Path::new(p)).map(|t| t.to_str_lossy().into_owned())
        };
        assert_eq!(ww("/tmp/build/bin/agent").as_deref(), Some("/tmp"));
        assert_eq!(ww("/usr/bin/sshd"), None);
        assert_eq!(ww("/nonexistent/x"), None);
    }

    #[test]
    fn own_exe_is_read_and_not_deleted() {
        let me = exe_info(Path::new("/proc"), std::process::id()).expect("own exe");
        assert!(!me.deleted);
        let want = std::env::current_exe().unwrap();
        assert_eq!(me.path.unwrap().as_bytes(), want.as_os_str().as_bytes());
        assert_eq!(exe_info(Path::new("/proc"), u32::MAX), None);
    }

    #[test]
    fn loopback_is_among_the_interfaces() {
        let ifaces = interfaces().expect("getifaddrs");
        let lo = ifaces
            .iter()
            .find(|i| i.loopback)
            .expect("a loopback interface");
        assert!(lo.addrs.iter().any(|a| a.is_loopback()), "{lo:?}");
    }
}
