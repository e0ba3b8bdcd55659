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

#[path = "common/netns.rs"]
mod netns;
#[path = "common/nsread.rs"]
mod nsread;

use nsread::{assert_same_as_ss, prerequisites_met, query, read, scan_all_owners, Enter};
use portwatch::model::{Endpoint, Runtime};
use portwatch::platform::linux::cgroup::Attributor;
use portwatch::platform::linux::netns::{discover, NetnsSpec, Via};
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
    assert_eq!(listener.netns, Some(ns));
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
    drop(c);
    drop(image);
    assert!(discover().get(ns).is_none(), "gone with its container");
}
