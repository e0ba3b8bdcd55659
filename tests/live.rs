//! Live tests on loopback: real sockets opened by the test, looked up by their own ports only
//! (other processes change the tables between two reads), checked for states, addresses and
//! owners, and compared with `ss` and across backends.

mod common;

use common::*;
use socket2::{Domain, Socket, Type};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;

fn v6_listener(addr: &str, v6only: bool) -> Socket {
    let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
    s.set_only_v6(v6only).unwrap();
    let a: SocketAddr = addr.parse().unwrap();
    s.bind(&a.into()).unwrap();
    s.listen(16).unwrap();
    s
}

fn port_of(s: &Socket) -> u16 {
    s.local_addr().unwrap().as_socket().unwrap().port()
}

fn me() -> u64 {
    u64::from(std::process::id())
}

#[test]
fn tcp4_listener_with_owner_matches_ss() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let doc = json(&["-ltnp"]);
    let found = by_local_port(&doc, "tcp", port);
    assert_eq!(found.len(), 1, "{found:?}");
    let s = found[0];
    assert_eq!(s["state"], "LISTEN");
    assert_eq!(s["family"], "ipv4");
    assert_eq!(s["local"]["addr"], "127.0.0.1");
    assert_eq!(s["v6only"], serde_json::Value::Null);
    assert_eq!(
        owner_pids(s),
        vec![(me(), u64::try_from(l.as_raw_fd()).unwrap())]
    );
    assert!(!s["owners"][0]["comm"].as_str().unwrap().is_empty());

    let ss_rows = parse_ss(&ss(&["-Hltnep", "sport", "=", &format!(":{port}")]));
    assert_eq!(ss_rows.len(), 1, "{ss_rows:?}");
    let r = &ss_rows[0];
    assert_eq!(r.state, "LISTEN");
    assert_eq!(r.local, format!("127.0.0.1:{port}"));
    assert_eq!(r.send_q, s["send_q"].to_string(), "backlog as ss's Send-Q");
    assert_eq!(r.recv_q, s["recv_q"].to_string());
    assert_eq!(r.inode, s["inode"].as_u64());
    assert_eq!(r.pids, vec![me()]);
}

#[test]
fn v6only_dual_stack_and_mapped_listeners() {
    let only6 = v6_listener("[::1]:0", true);
    let dual = v6_listener("[::]:0", false);
    let mapped = v6_listener("[::ffff:127.0.0.1]:0", false);
    let (p_only6, p_dual, p_mapped) = (port_of(&only6), port_of(&dual), port_of(&mapped));

    let all = json(&["-ltn"]);
    let s = by_local_port(&all, "tcp", p_only6);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["v6only"], true);
    assert_eq!(s[0]["local"]["addr"], "::1");
    let s = by_local_port(&all, "tcp", p_dual);
    assert_eq!(s[0]["v6only"], false);
    assert_eq!(s[0]["local"]["addr"], "::");
    let s = by_local_port(&all, "tcp", p_mapped);
    assert_eq!(s[0]["local"]["addr"], "::ffff:127.0.0.1");
    assert_eq!(s[0]["family"], "ipv6");

    // -4: every socket that carries IPv4, including dual-stack (ss -4 omits it: a known flaw).
    let v4 = json(&["-ltn4"]);
    assert!(by_local_port(&v4, "tcp", p_only6).is_empty());
    assert_eq!(by_local_port(&v4, "tcp", p_dual).len(), 1);
    assert_eq!(by_local_port(&v4, "tcp", p_mapped).len(), 1);
    assert!(
        parse_ss(&ss(&["-Hltn4", "sport", "=", &format!(":{p_dual}")])).is_empty(),
        "ss -4 omits dual-stack listeners; portwatch deliberately differs"
    );
    // -6: IPv6 sockets, minus those bound to v4-mapped addresses (IPv4 traffic only).
    let v6 = json(&["-ltn6"]);
    assert_eq!(by_local_port(&v6, "tcp", p_only6).len(), 1);
    assert_eq!(by_local_port(&v6, "tcp", p_dual).len(), 1);
    assert!(by_local_port(&v6, "tcp", p_mapped).is_empty());

    // The table prints a dual-stack wildcard as ss does: *:PORT.
    let table = text(&["-ltn"]);
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().any(|w| w == format!("*:{p_dual}"))),
        "{table}"
    );
    let ss_dual = parse_ss(&ss(&["-Hltn", "sport", "=", &format!(":{p_dual}")]));
    assert_eq!(ss_dual[0].local, format!("*:{p_dual}"));
    assert!(table.contains(&format!("[::1]:{p_only6}")));
    assert!(table.contains(&format!("[::ffff:127.0.0.1]:{p_mapped}")));
}

#[test]
fn udp_v4_and_v6_bound_sockets() {
    let u4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let u6 = UdpSocket::bind("[::1]:0").unwrap();
    let doc = json(&["-lnu"]);
    for (sock, addr) in [(&u4, "127.0.0.1"), (&u6, "::1")] {
        let port = sock.local_addr().unwrap().port();
        let s = by_local_port(&doc, "udp", port);
        assert_eq!(s.len(), 1, "udp {addr}:{port}");
        assert_eq!(s[0]["state"], "UNCONN");
        assert_eq!(s[0]["local"]["addr"], addr);
        assert_eq!(s[0]["type"], "dgram");
    }
    // A connected UDP socket is ESTAB and shows without -l, as in ss.
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.connect(u4.local_addr().unwrap()).unwrap();
    let doc = json(&["-nu"]);
    let s = by_local_port(&doc, "udp", c.local_addr().unwrap().port());
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["state"], "ESTAB");
    assert_eq!(s[0]["remote"]["port"], u4.local_addr().unwrap().port());
}

#[test]
fn unix_listener_with_a_space_in_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my app.sock");
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let want = path.to_str().unwrap();
    let doc = json(&["-lxp"]);
    let s: Vec<_> = sockets(&doc)
        .iter()
        .filter(|s| s["local"]["path"] == want)
        .collect();
    assert_eq!(s.len(), 1, "{want}");
    assert_eq!(s[0]["state"], "LISTEN");
    assert_eq!(s[0]["proto"], "unix");
    assert_eq!(s[0]["family"], "unix");
    assert_eq!(
        owner_pids(s[0]),
        vec![(me(), u64::try_from(l.as_raw_fd()).unwrap())]
    );
    let table = text(&["-lx"]);
    assert!(table.contains(want), "{table}");
}

#[test]
fn connected_pair_both_ends() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let lport = l.local_addr().unwrap().port();
    let c = TcpStream::connect(("127.0.0.1", lport)).unwrap();
    let (srv, _) = l.accept().unwrap();
    let cport = c.local_addr().unwrap().port();
    let doc = json(&["-tnp"]);
    // Every connection, no filter: every process is read while the tables are dumped.
    assert_eq!(doc["owner_scan"], "all-processes");
    let server_end = by_local_port(&doc, "tcp", lport);
    let client_end = by_local_port(&doc, "tcp", cport);
    assert_eq!(
        server_end.len(),
        1,
        "default listing shows ESTAB, not LISTEN"
    );
    assert_eq!(server_end[0]["state"], "ESTAB");
    assert_eq!(server_end[0]["remote"]["port"], cport);
    assert_eq!(client_end[0]["state"], "ESTAB");
    assert_eq!(client_end[0]["remote"]["port"], lport);
    assert_eq!(
        owner_pids(server_end[0]),
        vec![(me(), u64::try_from(srv.as_raw_fd()).unwrap())]
    );
    assert_eq!(
        owner_pids(client_end[0]),
        vec![(me(), u64::try_from(c.as_raw_fd()).unwrap())]
    );
}

#[test]
fn listener_shared_by_forked_child_has_two_owners() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let fd = l.as_raw_fd();
    let child = spawn_holding(fd);
    let child_pid = u64::from(child.0.id());
    // The child holds the fd once exec'd; wait until its fd table shows it.
    wait_holding(child_pid, fd);
    let doc = json(&["-ltnp"]);
    let s = by_local_port(&doc, "tcp", port);
    assert_eq!(s.len(), 1);
    let fd = u64::try_from(fd).unwrap();
    let mut want = vec![(me(), fd), (child_pid, fd)];
    want.sort();
    assert_eq!(owner_pids(s[0]), want);
    let comms: Vec<&str> = s[0]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["comm"].as_str().unwrap())
        .collect();
    assert!(comms.contains(&"sleep"), "{comms:?}");
    let ss_rows = parse_ss(&ss(&["-Hltnp", "sport", "=", &format!(":{port}")]));
    let mut ss_pids = ss_rows[0].pids.clone();
    ss_pids.sort();
    assert_eq!(ss_pids, want.iter().map(|w| w.0).collect::<Vec<_>>());

    // One port: the scan stops at the first holder and finds the other in its family (or,
    // when no process comes after them in pid order, has read every process anyway).
    let one = json(&["-ltnp", "sport", "=", &format!(":{port}")]);
    let scan = one["owner_scan"].as_str().unwrap_or_default();
    assert!(["stopped-early", "all-processes"].contains(&scan), "{one}");
    let s = by_local_port(&one, "tcp", port);
    assert_eq!(s.len(), 1);
    assert_eq!(owner_pids(s[0]), want, "both holders after an early stop");
}

/// Wait until `pid` runs `sleep` and holds `fd`.
fn wait_holding(pid: u64, fd: i32) {
    let link = format!("/proc/{pid}/fd/{fd}");
    for _ in 0..300 {
        if std::fs::read_link(&link).is_ok()
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sleep")
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{pid} never came to hold fd {fd}");
}

/// A holder outside the first holder's family (a `sleep` orphaned by its shell, so reparented
/// away from this process) is certain to be listed only by a read of every process:
/// `--all-owners` does that and says so.
#[test]
fn all_owners_reads_every_process() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let fd = l.as_raw_fd();
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "sleep 60 >/dev/null 2>&1 </dev/null & echo $!"]);
    let out = inherit_fd(&mut cmd, fd).output().expect("run sh");
    let orphan: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    struct Kill(u64);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .arg(self.0.to_string())
                .status();
        }
    }
    let _kill = Kill(orphan);
    wait_holding(orphan, fd);
    let filter = ["sport", "=", &format!(":{port}")];
    let all = json(&[&["-ltnp", "--all-owners"][..], &filter[..]].concat());
    assert_eq!(all["owner_scan"], "all-processes", "{all}");
    let fd = u64::try_from(fd).unwrap();
    let mut want = vec![(me(), fd), (orphan, fd)];
    want.sort();
    let s = by_local_port(&all, "tcp", port);
    assert_eq!(s.len(), 1);
    assert_eq!(owner_pids(s[0]), want);

    // The default stops once this process is read; the orphan is then listed only if the
    // scan happened to reach it, and must be when the scan says it read every process.
    let default = json(&[&["-ltnp"][..], &filter[..]].concat());
    let s = by_local_port(&default, "tcp", port);
    assert!(owner_pids(s[0]).contains(&(me(), fd)), "{default}");
    match default["owner_scan"].as_str() {
        Some("stopped-early") => {}
        Some("all-processes") => assert_eq!(owner_pids(s[0]), want, "{default}"),
        other => panic!("owner_scan {other:?}"),
    }
    // Without -p no scan runs, and JSON says so.
    let none = json(&[&["-ltn"][..], &filter[..]].concat());
    assert_eq!(none["owner_scan"], serde_json::Value::Null);
}

/// The facts every backend can know, for the test's own sockets.
fn key_facts(doc: &serde_json::Value, inodes: &[u64]) -> Vec<String> {
    let mut v: Vec<String> = sockets(doc)
        .iter()
        // Only this test's own sockets, by inode: a port number may also be another test's
        // TIME-WAIT leftover or another program's socket on another loopback address.
        .filter(|s| s["inode"].as_u64().is_some_and(|i| inodes.contains(&i)))
        .map(|s| {
            format!(
                "{} {} {} {} {} {}",
                s["proto"], s["state"], s["local"], s["remote"], s["inode"], s["uid"]
            )
        })
        .collect();
    v.sort();
    v
}

fn inode(fd: impl std::os::fd::AsFd) -> u64 {
    nix::sys::stat::fstat(fd).expect("fstat").st_ino
}

#[test]
fn backends_agree_on_tcp() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let l6 = v6_listener("[::1]:0", true);
    let port = l.local_addr().unwrap().port();
    let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (srv, _) = l.accept().unwrap();
    let mine = [inode(&l), inode(&l6), inode(&c), inode(&srv)];
    let netlink = key_facts(&json(&["-tan", "--backend", "netlink"]), &mine);
    assert_eq!(netlink.len(), 4, "{netlink:?}");
    let proc_ = key_facts(&json(&["-tan", "--backend", "proc"]), &mine);
    assert_eq!(netlink, proc_);
    let ns2 = key_facts(&json(&["-tan", "--backend", "netstat2"]), &mine);
    assert_eq!(netlink, ns2);
    drop(c);
}

#[test]
fn backends_agree_on_udp_and_unix() {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mine = [inode(&u)];
    let netlink = key_facts(&json(&["-lnu", "--backend", "netlink"]), &mine);
    assert_eq!(netlink.len(), 1);
    assert_eq!(
        netlink,
        key_facts(&json(&["-lnu", "--backend", "proc"]), &mine)
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw b.sock");
    let _l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let want = path.to_str().unwrap();
    let pick = |doc: &serde_json::Value| -> Vec<String> {
        sockets(doc)
            .iter()
            .filter(|s| s["local"]["path"] == want)
            .map(|s| format!("{} {} {}", s["state"], s["type"], s["inode"]))
            .collect()
    };
    let a = pick(&json(&["-lx", "--backend", "netlink"]));
    assert_eq!(a.len(), 1);
    assert_eq!(a, pick(&json(&["-lx", "--backend", "proc"])));
}

#[test]
fn an_empty_listing_says_which_state_would_have_matched() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let filter = format!("sport = :{port}");
    // ss's meaning is kept: without -l the listener is not shown, and the exit status is 0.
    let out = common::bin()
        .args(["-tn", "--no-header", "sport", "=", &format!(":{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "portwatch: no connected socket matched; 1 listening socket does: add -l or -a\n"
    );
    // The same through the list subcommand, flags after the filter as in ss.
    let out = common::bin()
        .args(["list", "sport", "=", &format!(":{port}"), "-tnH"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 listening socket does"));
    // With -l it is listed and nothing more is said; JSON never carries the note.
    let out = common::bin().args(["-ltn", &filter]).output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::bin()
        .args(["-tn", "--json", &filter])
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing in any state: nothing to say.
    drop(l);
    let out = common::bin().args(["-tn", &filter]).output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
