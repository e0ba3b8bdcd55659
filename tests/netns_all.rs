//! Other network namespaces (issue #11), read through the library: namespaces this test
//! creates (named with `ip netns add`; anonymous, held only by a process made with `unshare
//! -n`; held only by a bind mount) are found, and what is read from each equals what `ss
//! -tuxanp` prints inside it (`ip netns exec`, `nsenter -t PID -n`, `nsenter --net=PATH`),
//! owners included. The namespaces are private to the test, so the whole table is compared.
//! Per-namespace facts (ephemeral range, interface names) are the namespace's own, and an
//! unprivileged run reads its own namespace, a namespace of its own processes through their
//! /proc/PID/net, and counts the others in one warning.
//!
//! Needs root, iproute2, util-linux and python3; under CI=true a missing one fails the test.
#![cfg(target_os = "linux")]

mod common;
#[allow(unused_imports)]
#[path = "common/netns.rs"]
mod netns;
#[path = "common/nsread.rs"]
mod nsread;
#[path = "common/procs.rs"]
mod procs;

use netns::{Netns, Population};
use nsread::{assert_same_as_ss, in_namespace, prerequisites_met, query, read, BindNs, Enter};
use portwatch::model::Endpoint;
use portwatch::model::NetnsSpec;
use portwatch::platform::linux::netns::{discover, link_inode, Skip, Via};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::num::NonZeroU64;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "child process of unprivileged_run_reads_its_own_and_counts_the_rest"]
fn child_entry() {
    if std::env::var("PW_NETNS_CHILD").is_ok() {
        unprivileged_child();
    }
}

/// A child killed and reaped on drop, also when the test fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn inode_of(path: &Path) -> NonZeroU64 {
    NonZeroU64::new(std::fs::metadata(path).expect("namespace file").ino()).unwrap()
}

#[test]
fn named_namespace_matches_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let (ino, rows, via) = assert_same_as_ss(&Enter::Named(ns.name.clone()));
    assert_eq!(ino, inode_of(&Path::new("/run/netns").join(&ns.name)));
    assert_eq!(via, Via::Inside, "root reads it from inside");
    assert!(rows.iter().any(|r| r.state == "LISTEN"), "{rows:?}");
    assert!(rows.iter().any(|r| r.netid == "u_str"), "unix sockets too");
    let d = discover();
    let e = d.get(ino).expect("discovered");
    assert_eq!(e.names, vec![ns.name.clone()]);
    assert!(!e.host && !e.own);
}

#[test]
fn anonymous_namespace_held_by_a_process_matches_ss() {
    if !prerequisites_met() {
        return;
    }
    // `unshare -n` execs sh, which brings lo up and execs python: the builder is the
    // namespace's only process, and nothing names or mounts it.
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-n",
        "sh",
        "-c",
        r#"ip link set lo up && exec "$0" "$@""#,
        "python3",
    ]);
    let pop = Population::start_with(cmd, "basic", &[]);
    let pid = u32::try_from(pop.summary["pid"].as_u64().expect("pid")).unwrap();
    let (ino, rows, via) = assert_same_as_ss(&Enter::Pid(pid));
    assert_eq!(
        Some(ino),
        link_inode(
            &Path::new("/proc").join(pid.to_string()).join("ns/net"),
            "net"
        )
    );
    assert_eq!(via, Via::Inside);
    assert!(rows.iter().any(|r| r.state == "ESTAB"), "{rows:?}");
    let d = discover();
    let e = d.get(ino).expect("found from its process alone");
    assert!(e.mounts.is_empty() && e.names.is_empty(), "{e:?}");
    let want: Vec<u32> = pop.pids().iter().map(|&p| p as u32).collect();
    assert!(
        want.iter().all(|p| e.pids.contains(p)),
        "members {:?} of {want:?}",
        e.pids
    );
}

/// Sockets made in `path`'s namespace by a thread of this process: a listener, a connection
/// to it (both ends) and a bound UDP socket.
fn sockets_in(path: &Path) -> (TcpListener, TcpStream, TcpStream, UdpSocket) {
    in_namespace(path, || {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind in namespace");
        let c = TcpStream::connect(l.local_addr().unwrap()).expect("connect");
        let (a, _) = l.accept().expect("accept");
        let u = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
        (l, c, a, u)
    })
}

#[test]
fn namespace_held_only_by_a_bind_mount_matches_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = BindNs::new();
    let socks = sockets_in(&ns.path);
    let port = socks.0.local_addr().unwrap().port();
    let (ino, rows, via) = assert_same_as_ss(&Enter::Path(ns.path.clone()));
    assert_eq!(ino, inode_of(&ns.path));
    assert_eq!(via, Via::Inside);
    let listener = rows
        .iter()
        .find(|r| r.state == "LISTEN" && r.local == format!("127.0.0.1:{port}"))
        .expect("the listener");
    let me = std::process::id();
    assert!(
        listener.owners.iter().all(|o| o.pid == u64::from(me)),
        "{}",
        listener.line()
    );

    // Found by `all` too: no process is in it, only its mount.
    let d = discover();
    let e = d.get(ino).expect("found by its mount alone");
    assert!(e.pids.is_empty(), "{e:?}");
    assert!(e.mounts.contains(&ns.path), "{e:?}");
    // Its sockets are held from this process's namespace: listed under theirs, flagged.
    assert!(d.held_from_elsewhere(ino, [me]));
    let own = d.namespaces.iter().find(|e| e.own).unwrap().inode;
    assert!(!d.held_from_elsewhere(own, [me]));
    drop(socks);
}

#[test]
fn facts_are_each_namespaces_own() {
    if !prerequisites_met() {
        return;
    }
    let host_range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let ns = Netns::new();
    let which = Enter::Named(ns.name.clone());
    let range = if host_range.split_whitespace().next() == Some("20000") {
        "21000 21999"
    } else {
        "20000 20999"
    };
    which.run(
        "sh",
        &[
            "-c",
            &format!("echo '{range}' > /proc/sys/net/ipv4/ip_local_port_range"),
        ],
    );
    // A veth pair inside: indexes that mean other interfaces (or none) on the host.
    which.run(
        "ip",
        &[
            "link", "add", "pwa0", "type", "veth", "peer", "name", "pwb0",
        ],
    );
    which.run("ip", &["link", "set", "pwb0", "up"]);
    let path = Path::new("/run/netns").join(&ns.name);
    let bound = in_namespace(&path, || {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.bind_device(Some(b"pwb0")).expect("SO_BINDTODEVICE");
        s.bind(&"0.0.0.0:0".parse::<std::net::SocketAddr>().unwrap().into())
            .unwrap();
        s.listen(1).unwrap();
        s
    });
    let (_, set, r) = read(&[which.spec()], &query(false));
    let src = &set.sources()[0];
    let want: Vec<u16> = range.split(' ').map(|p| p.parse().unwrap()).collect();
    assert_eq!(src.ephemeral_range(), Some((want[0], want[1])));
    let links = ns.text("ip", &["-o", "link"]);
    for line in links.lines() {
        // "3: pwb0@pwa0: <...>": index, then the name up to '@' or ':'.
        let mut f = line.splitn(3, ": ");
        let (Some(idx), Some(name)) = (f.next(), f.next()) else {
            continue;
        };
        let name = name.split('@').next().unwrap();
        assert_eq!(
            src.iface_name(idx.parse().unwrap()).as_deref(),
            Some(name),
            "{line}"
        );
    }
    let socks = &r.namespaces[0].1.sockets;
    let port = bound.local_addr().unwrap().as_socket().unwrap().port();
    let s = socks
        .iter()
        .find(|s| s.local.as_ref().and_then(Endpoint::port) == Some(port))
        .expect("the bound listener");
    assert_eq!(
        src.iface_name(s.iface.get().expect("bound")).as_deref(),
        Some("pwb0")
    );
    // The rows compare equal with ss's `%pwb0` spelling as well.
    assert_same_as_ss(&which);
}

#[test]
fn all_reads_every_namespace_once_host_first() {
    if !prerequisites_met() {
        return;
    }
    let named = Netns::new();
    let bind = BindNs::new();
    let a = sockets_in(&Path::new("/run/netns").join(&named.name));
    let b = sockets_in(&bind.path);
    let (d, _, r) = read(
        &[NetnsSpec::All, NetnsSpec::Name(named.name.clone())],
        &query(false),
    );
    let inodes: Vec<NonZeroU64> = r.namespaces.iter().map(|(n, ..)| n.inode).collect();
    let mut distinct = inodes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), inodes.len(), "each once");
    assert!(r.namespaces[0].0.host, "host first");
    assert_eq!(d.host().map(|e| e.inode), Some(inodes[0]));
    // Each listener is in its own namespace's table and in no other.
    for (socks, ns) in [
        (&a, inode_of(&Path::new("/run/netns").join(&named.name))),
        (&b, inode_of(&bind.path)),
    ] {
        let port = socks.0.local_addr().unwrap().port();
        let holders: Vec<NonZeroU64> = r
            .namespaces
            .iter()
            .filter(|(_, snap, _)| {
                snap.sockets.iter().any(|s| {
                    s.state.name() == "LISTEN"
                        && s.local.as_ref().and_then(Endpoint::port) == Some(port)
                        && s.local.as_ref().and_then(Endpoint::ip) == Some([127, 0, 0, 1].into())
                })
            })
            .map(|(n, ..)| n.inode)
            .collect();
        assert_eq!(holders, vec![ns], "listener on {port}");
    }
    let named_ns = r
        .namespaces
        .iter()
        .find(|(n, ..)| n.name.as_deref() == Some(named.name.as_str()));
    assert!(named_ns.is_some(), "named by its /run/netns name");
    assert!(r.skipped.is_empty(), "root reads them all: {:?}", r.skipped);
    // Some machines have processes even root may not inspect (this project's VMs: their
    // init); they, and only they, are the warning.
    let expect = usize::from(d.hidden_pids > 0);
    assert_eq!(r.warnings.len(), expect, "{:?}", r.warnings);
}

/// Run as `portwatch-test`: prints what a read of `all` gave, one line per namespace.
fn unprivileged_child() {
    use std::io::Write;
    let (d, _, r) = read(&[NetnsSpec::All], &query(false));
    let mut out = std::io::stdout().lock();
    // A line of its own: the test harness has printed "test child_entry ... " before us.
    let mut lines = vec![String::new()];
    for (n, snap, via) in &r.namespaces {
        let (ino, host, count) = (n.inode, n.host, snap.sockets.len());
        lines.push(format!("read {ino} {via:?} host={host} sockets={count}"));
    }
    lines.extend(
        r.skipped
            .iter()
            .map(|(n, why)| format!("skipped {} {why:?}", n.inode)),
    );
    lines.extend(
        r.warnings
            .iter()
            .map(|w| format!("warning {} {}", w.kind, w.message)),
    );
    lines.push(format!("hidden {}", d.hidden_pids));
    let _ = writeln!(out, "{}", lines.join("\n"));
    let _ = out.flush();
    std::process::exit(0);
}

#[test]
fn unprivileged_run_reads_its_own_and_counts_the_rest() {
    if !prerequisites_met() {
        return;
    }
    let Some((uid, gid)) = procs::test_user() else {
        return;
    };
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    // The user's own namespace (in a user namespace of its own, as rootless containers
    // are): not enterable without CAP_SYS_ADMIN, but its process's /proc/PID/net is theirs.
    let listen = "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',7777)); \
                  s.listen(); print('ready', flush=True); time.sleep(120)";
    let mut own = {
        use std::os::unix::process::CommandExt;
        Command::new("unshare")
            .args(["-rn", "python3", "-c", listen])
            .uid(uid)
            .gid(gid)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map(KillOnDrop)
            .expect("unshare -rn as the test user")
    };
    {
        use std::io::BufRead;
        let out = own.0.stdout.take().expect("piped");
        let line = std::io::BufReader::new(out).lines().next();
        assert!(matches!(line, Some(Ok(ref l)) if l == "ready"), "{line:?}");
    }
    let users_ns = link_inode(
        &Path::new("/proc")
            .join(own.0.id().to_string())
            .join("ns/net"),
        "net",
    )
    .expect("the user's namespace");
    let mut keep = Vec::new();
    let exe = common::runnable(&std::env::current_exe().unwrap(), &mut keep);
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("PW_NETNS_CHILD", "1");
    {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(gid);
    }
    let out = cmd.output().expect("run the unprivileged child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{text}", out.status);
    let own = link_inode(Path::new("/proc/self/ns/net"), "net").unwrap();
    let theirs = inode_of(&Path::new("/run/netns").join(&ns.name));
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("read {own} Local host=true"))),
        "own namespace read in place as the host's:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == format!("skipped {theirs} {:?}", Skip::NotPermitted)),
        "the test's namespace counted as not permitted:\n{text}"
    );
    assert!(!text.contains(&format!("read {theirs} ")), "{text}");
    assert!(
        text.lines()
            .any(|l| l == format!("read {users_ns} Proc host=false sockets=1")),
        "the user's own namespace read through its process's /proc/PID/net:\n{text}"
    );
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning ")).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].starts_with("warning netns-skipped "), "{text}");
    assert!(warnings[0].contains("run as root"), "{text}");
}
