//! A real container (issue #11): podman from the distribution's packages runs an image built
//! here from busybox-static (no registry is reachable), with a listener inside. Its network
//! namespace is found, read from inside (equal to `nsenter -t PID -n ss`), and its socket is
//! attributed to runtime podman and the container's name, from the holder's cgroup and
//! podman's own store on disk.
//!
//! On this machine kind podman needs `--runtime runc` and the two ulimits (see
//! docs/PLATFORM-NOTES.md). Needs root, podman, runc, busybox-static; under CI=true a missing
//! one fails the test.
#![cfg(target_os = "linux")]

#[allow(unused_imports)]
#[path = "common/netns.rs"]
mod netns;
#[path = "common/nsread.rs"]
mod nsread;

use nsread::{assert_same_as_ss, prerequisites_met, query, read, scan_all_owners, Enter};
use portwatch::model::NetnsSpec;
use portwatch::model::{Endpoint, Runtime};
use portwatch::platform::linux::cgroup::Attributor;
use portwatch::platform::linux::netns::{discover, Via};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BUSYBOX: &str = "/bin/busybox";

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("podman (apt-get install podman runc)")
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn have_podman() -> bool {
    let ok = Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("runc")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        && Path::new(BUSYBOX).exists();
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("the container test needs podman, runc and busybox-static (apt-get install podman runc busybox-static)");
    }
    if !ok {
        eprintln!("skipped: the container test needs podman, runc and busybox-static");
    }
    ok
}

/// An image made from busybox-static; removed on drop.
struct Image(String);

impl Image {
    fn build(tag: &str) -> Image {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy(BUSYBOX, root.join("bin/busybox")).expect("copy busybox");
        for applet in ["sh", "httpd", "nc", "sleep"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        let tar = dir.path().join("rootfs.tar");
        let st = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .expect("tar");
        assert!(st.success(), "tar: {st}");
        let image = Image(tag.to_string());
        podman_ok(&["import", tar.to_str().unwrap(), tag]);
        image
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman(&["rmi", "-f", &self.0]);
    }
}

/// A running container; removed (stopped at once) on drop.
struct Container {
    name: String,
    pid: u32,
    id: String,
}

impl Container {
    fn run(name: &str, image: &Image, cmd: &[&str]) -> Container {
        let _ = podman(&["rm", "-f", "-t", "0", name]);
        let mut args = vec![
            "--runtime",
            "runc",
            "run",
            "-d",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            "--name",
            name,
            &image.0,
        ];
        args.extend_from_slice(cmd);
        let id = podman_ok(&args);
        let mut c = Container {
            name: name.to_string(),
            pid: 0,
            id,
        };
        c.pid = podman_ok(&["inspect", "-f", "{{.State.Pid}}", name])
            .parse()
            .expect("container pid");
        c
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.name]);
    }
}

#[test]
fn podman_container_is_found_read_and_attributed() {
    if !prerequisites_met() || !have_podman() {
        return;
    }
    let me = std::process::id();
    let image = Image::build(&format!("localhost/pwtest-{me}:1"));
    let name = format!("pwtest-{me}-web");
    let c = Container::run(
        &name,
        &image,
        &["/bin/busybox", "httpd", "-f", "-p", "8080"],
    );
    let inside = Enter::Pid(c.pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !inside.ss(&["-ltn"]).contains(":8080") {
        assert!(Instant::now() < deadline, "httpd never listened in {name}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Found by `all`, not the host's, with the container's process in it.
    let (d, _, r) = read(&[NetnsSpec::All], &query(false));
    let ns = d
        .netns_of_pid(c.pid)
        .expect("the container's namespace is discovered");
    let e = d.get(ns).unwrap();
    assert!(!e.host && !e.own, "{e:?}");
    let (_, snap, via) = r
        .namespaces
        .iter()
        .find(|(n, ..)| n.inode == ns)
        .expect("and read");
    assert_eq!(*via, Via::Inside);
    let listener = snap
        .sockets
        .iter()
        .find(|s| {
            s.state.name() == "LISTEN" && s.local.as_ref().and_then(Endpoint::port) == Some(8080)
        })
        .expect("httpd's listener");
    assert_eq!(listener.netns_inode(), Some(ns));
    // The host's own table does not have it (unless something on the host also listens on
    // 8080: then on another inode).
    let host = &r.namespaces[0].1.sockets;
    assert!(!host.iter().any(|s| s.inode == listener.inode));

    // Held by the container's process; attributed to podman and the container's name.
    let owners = scan_all_owners();
    let holders: Vec<u32> = owners.get(listener.inode).iter().map(|o| o.pid).collect();
    assert_eq!(holders, vec![c.pid]);
    let mut attr = Attributor::live();
    let got = attr.of_holders(&holders);
    let container = got.container.expect("a container");
    assert_eq!(container.runtime, Runtime::Podman);
    assert_eq!(container.id, c.id);
    assert_eq!(container.name.as_deref(), Some(name.as_str()));
    assert_eq!(container.label(), name);
    // Every member of its namespace is in it: the namespace's own container.
    assert_eq!(attr.namespace_container(&e.pids), Some(container));
    // The host namespace belongs to no container.
    assert_eq!(attr.namespace_container(&d.host().unwrap().pids), None);

    // And the whole table equals ss's inside the container.
    assert_same_as_ss(&inside);

    // Through the binary: `-lntp -N all` shows it under its container's name, and the
    // filter `container NAME` selects it and nothing else.
    let portwatch = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_portwatch"))
            .args(args)
            .output()
            .expect("run portwatch");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let table = portwatch(&["-lntp", "-N", "all"]);
    let row = table
        .lines()
        .find(|l| l.contains(&format!("busybox(pid={},", c.pid)))
        .unwrap_or_else(|| panic!("the container's listener:\n{table}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], name, "Netns, then Container: {row}");
    assert!(row.contains(":8080 "), "{row}");
    let only = portwatch(&["-lntp", "-N", "all", "--json", "container", &name]);
    let doc: serde_json::Value = serde_json::from_str(&only).expect("JSON");
    let socks = doc["sockets"].as_array().unwrap();
    assert_eq!(socks.len(), 1, "{doc}");
    assert_eq!(socks[0]["inode"], listener.inode);
    assert_eq!(
        socks[0]["container"],
        serde_json::json!({"runtime": "podman", "id": c.id, "name": name,
                           "pod": null, "namespace": null})
    );
    assert_eq!(socks[0]["netns"]["inode"], ns.get());
    // An id prefix selects it too.
    let by_id = portwatch(&["-lnt", "-N", "all", "-H", "container", &c.id[..12]]);
    assert_eq!(by_id.lines().count(), 1, "{by_id}");
    drop(c);
    drop(image);
    // podman's cleanup (conmon, the netns bind mount) finishes after `rm` returns.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while discover().get(ns).is_some() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(discover().get(ns).is_none(), "gone with its container");
}

/// Containers started and removed while listings of every namespace run: no listing fails,
/// and a listener attributed to one of them is in that container's namespace (recorded
/// before its listener could exist) and nowhere else. Each container lives until two
/// listings have finished since it started, so at least one saw it whole.
#[test]
fn containers_come_and_go_while_listings_run() {
    if !prerequisites_met() || !have_podman() {
        return;
    }
    use portwatch::model::{InodeSet, Wanted};
    use portwatch::platform::{ProcessSource, SourceOptions, System};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let me = std::process::id();
    let image = Image::build(&format!("localhost/pwtest-{me}:2"));
    let made: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let listings = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (made, stop, listings) = (Arc::clone(&made), Arc::clone(&stop), Arc::clone(&listings));
        std::thread::spawn(move || {
            let sys = System::new(SourceOptions::default()).expect("live");
            let q = portwatch::model::Query {
                udp: false,
                states: portwatch::model::StateSet::LISTENING,
                ..query(false)
            };
            let mut checked = 0;
            while !stop.load(Ordering::SeqCst) {
                let (_, _, r) = read(&[NetnsSpec::All], &q);
                let inodes: InodeSet = r
                    .namespaces
                    .iter()
                    .flat_map(|(_, snap, _)| snap.sockets.iter().map(|s| s.inode))
                    .collect();
                let owners = sys.scan_owners(Wanted::Some { inodes: &inodes });
                let mut attr = Attributor::live();
                let names = made.lock().unwrap().clone();
                for (ns, snap, _) in &r.namespaces {
                    for s in &snap.sockets {
                        let holders: Vec<u32> = owners.get(s.inode).iter().map(|o| o.pid).collect();
                        let Some(c) = attr.of_holders(&holders).container else {
                            continue;
                        };
                        let Some(want) = c.name.as_ref().and_then(|n| names.get(n)) else {
                            continue;
                        };
                        assert_eq!(ns.inode.get(), *want, "{c:?} listed in another namespace");
                        checked += 1;
                    }
                }
                listings.fetch_add(1, Ordering::SeqCst);
            }
            checked
        })
    };
    for i in 0..3 {
        let name = format!("pwtest-{me}-churn-{i}");
        let c = Container::run(
            &name,
            &image,
            &["/bin/busybox", "httpd", "-f", "-p", "8080"],
        );
        let ns = std::fs::metadata(format!("/proc/{}/ns/net", c.pid))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .expect("the container's namespace");
        made.lock().unwrap().insert(name, ns);
        let start = listings.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(120);
        while listings.load(Ordering::SeqCst) < start + 2 && !reader.is_finished() {
            assert!(Instant::now() < deadline, "listings stalled");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(c);
    }
    stop.store(true, Ordering::SeqCst);
    let checked = reader.join().expect("no listing panicked");
    assert!(
        checked >= 3,
        "each container's listener was seen: {checked}"
    );
}
