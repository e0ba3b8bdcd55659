//! Issue #13 through the binary on the test's own loopback sockets, against ss where ss
//! shows the same thing. Every process started here is stopped by pid, also on failure.

use crate::common::{self, bin};
use crate::sslive::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The sockets of `portwatch ARGS --json` (exit 0 asserted).
fn sockets(args: &[&str]) -> Vec<Value> {
    common::sockets(&common::json(args)).clone()
}

/// `portwatch -FLAGS --json` for the connection seen from `s`.
fn own(flags: &str, s: &TcpStream) -> Value {
    let f = one(s);
    let words: Vec<&str> = f.split(' ').collect();
    let mut args = vec![flags];
    args.extend(words);
    let mut v = sockets(&args);
    assert_eq!(v.len(), 1, "{flags} {f}: {v:?}");
    v.remove(0)
}

#[test]
fn info_json_matches_ss() {
    let (_l, mut c, mut s) = pair();
    transfer(&mut c, &mut s, 100_000);
    let keys = ["wscale", "mss", "cwnd", "rcv_space", "bytes_acked"];
    let (kv, words, got) = stable("-tin", &one(&c), &keys, || own("-tin", &c));
    let i = &got["tcp_info"];
    assert_eq!(i["congestion"].as_str(), words.first().map(String::as_str));
    let wscale = format!("{},{}", i["wscale_snd"], i["wscale_rcv"]);
    assert_eq!(kv.get("wscale"), Some(&wscale));
    for key in ["mss", "cwnd", "rcv_space", "bytes_acked"] {
        assert_eq!(
            kv.get(key).map(String::as_str),
            Some(i[key].to_string().as_str()),
            "{key}: {i}"
        );
    }
    assert!(i["rto_ms"].as_f64().is_some_and(|r| r > 0.0), "{i}");
    assert_eq!(got["skmem"], Value::Null, "-m was not asked for");
    assert_eq!(got["timer"], Value::Null, "-o was not asked for");
}

#[test]
fn memory_and_timer_json_match_ss() {
    let (_l, mut c, s) = pair();
    c.write_all(&[1u8; 2000]).unwrap();
    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(60));
    socket2::SockRef::from(&s).set_tcp_keepalive(&ka).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while own("-tn", &s)["recv_q"] != 2000 {
        assert!(Instant::now() < deadline, "data never queued");
        std::thread::sleep(Duration::from_millis(10));
    }
    let filter = one(&s);
    for _ in 0..20 {
        let a = ss_skmem(&ss_line("-tnm", &filter));
        let got = own("-tnmo", &s);
        if a != ss_skmem(&ss_line("-tnm", &filter)) {
            continue;
        }
        let m = &got["skmem"];
        let ours: Vec<(String, u64)> = [
            ("r", "rmem_alloc"),
            ("rb", "rcvbuf"),
            ("t", "wmem_alloc"),
            ("tb", "sndbuf"),
            ("f", "fwd_alloc"),
            ("w", "wmem_queued"),
            ("o", "optmem"),
            ("bl", "backlog"),
            ("d", "drops"),
        ]
        .iter()
        .map(|(k, j)| (k.to_string(), m[j].as_u64().expect("skmem field")))
        .collect();
        assert_eq!(ours, a);
        let t = &got["timer"];
        assert_eq!(t["name"], "keepalive", "{got}");
        assert!(t["expires_ms"].as_u64().is_some_and(|e| e <= 60_000));
        assert_eq!(t["retrans"], 0);
        return;
    }
    panic!("ss -tm never read twice alike");
}

/// The table prints details on the socket's own line in a pipe (a terminal gets a
/// continuation line, see render/table.rs).
#[test]
fn details_follow_the_socket_in_a_pipe() {
    let (_l, c, _s) = pair();
    let f = one(&c);
    let mut args = vec!["-tnioeH"];
    args.extend(f.split(' '));
    let text = common::text(&args);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = lines[0];
    assert!(line.starts_with("ESTAB "), "{line}");
    for word in [" sk:", " <-> ", " wscale:", " mss:", " cwnd:"] {
        assert!(line.contains(word), "{word} in {line}");
    }
}

#[test]
fn sort_by_recv_q_puts_the_fullest_first() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut small = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (a, _) = l.accept().unwrap();
    let mut big = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    small.write_all(&[0u8; 100]).unwrap();
    big.write_all(&[0u8; 5000]).unwrap();
    let filter = format!("sport = :{port}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = sockets(&["-tn", "--sort", "recv_q", &filter]);
        let q: Vec<u64> = got.iter().filter_map(|s| s["recv_q"].as_u64()).collect();
        if q == [5000, 100] {
            break;
        }
        assert!(Instant::now() < deadline, "order {q:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop((a, b));
}

#[test]
fn a_full_accept_queue_is_flagged() {
    let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    l.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    l.listen(2).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    // Never accepted: they wait in the accept queue (2 fit a backlog of 2).
    let _waiting: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let filter = format!("sport = :{}", addr.port());
    let deadline = Instant::now() + Duration::from_secs(5);
    let s = loop {
        let mut v = sockets(&["-ltn", &filter]);
        assert_eq!(v.len(), 1);
        let s = v.remove(0);
        if s["recv_q"] == 2 {
            break s;
        }
        assert!(Instant::now() < deadline, "queue never filled: {s}");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(s["send_q"], 2);
    assert_eq!(s["alerts"], serde_json::json!(["accept_queue_full"]));
    let text = common::text(&["-ltnoH", &filter]);
    assert!(text.contains("!accept_queue_full(100%)"), "{text}");
}

#[test]
fn cgroup_path_and_filter_as_ss() {
    let (_l, c, _s) = pair();
    let got = own("-tne", &c);
    let line = ss_line("-tne", &one(&c));
    let ss_path = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cgroup:"))
        .map(str::to_string);
    let path = got["cgroup"]["path"].as_str().map(str::to_string);
    match ss_path.as_deref() {
        // ss found no path for the id (no cgroup2 mount in view): neither do we.
        Some(p) if p.starts_with("unreachable:") => assert_eq!(path, None),
        Some(p) => assert_eq!(path.as_deref(), Some(p), "ss: {line}"),
        None => assert_eq!(got["cgroup"], Value::Null, "ss: {line}"),
    }
    let Some(path) = path else { return };
    let f = one(&c);
    let mut args = vec!["-tn", "cgroup", &path, "and"];
    args.extend(f.split(' '));
    assert_eq!(sockets(&args).len(), 1, "cgroup {path} selects it");
    let out = bin()
        .args(["-tn", "cgroup", "/no/such/cgroup/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cgroup"));
}

#[test]
fn kill_closes_only_the_selected_connection() {
    if !root_or_skip("-K") {
        return;
    }
    let (_la, a, mut pa) = pair();
    let (_lb, mut b, mut pb) = pair();
    let f = one(&a);
    let mut args = vec!["-KtnH"];
    args.extend(f.split(' '));
    let out = bin().args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let local = a.local_addr().unwrap().to_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(&local), "{text}");
    pa.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let e = pa.read(&mut [0u8; 4]).expect_err("the peer sees the abort");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    assert!(
        alive(&mut b, &mut pb) && alive(&mut pb, &mut b),
        "neighbour untouched"
    );
    drop(a);
}

#[test]
fn kill_without_root_says_so_and_closes_nothing() {
    let (_l, mut c, mut s) = pair();
    let mut keep = Vec::new();
    let exe = common::runnable(
        std::path::Path::new(env!("CARGO_BIN_EXE_portwatch")),
        &mut keep,
    );
    let f = one(&c);
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("-Ktn").args(f.split(' '));
    if is_root() {
        use std::os::unix::process::CommandExt;
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("CAP_NET_ADMIN"), "{err}");
    assert!(alive(&mut c, &mut s));
}

/// A running `portwatch -E`, its stdout lines on a channel; stopped by pid on drop.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(args: &[&str]) -> Follower {
        let mut child = bin()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start portwatch -E");
        let out = child.stdout.take().expect("stdout");
        let lines = common::lines_of(out);
        Follower { child, lines }
    }

    /// Lines until `done` says so (or 10 s), then 300 ms more.
    fn until(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&got) && Instant::now() < deadline {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(100)) {
                got.push(serde_json::from_str(&l).expect("each event line is JSON"));
            }
        }
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(300)) {
            got.push(serde_json::from_str(&l).expect("each event line is JSON"));
        }
        got
    }

    /// SIGINT, as a user's Ctrl-C: the exit status.
    fn interrupt(&mut self) -> Option<i32> {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child's pid; no memory involved.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn events_report_a_closed_connection_once() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let filter = format!("sport = :{port}");
    let mut f = Follower::start(&["-Etn", "--json", &filter]);
    // Until the follower has subscribed, a close may pass unseen: probe until one shows.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (s, _) = l.accept().unwrap();
        drop((c, s));
        if let Ok(line) = f.lines.recv_timeout(Duration::from_millis(300)) {
            assert!(line.contains("\"event\":\"closed\""), "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "portwatch -E never reported a close"
        );
    }
    // Drain what the probes left, then the connection under test.
    while f.lines.recv_timeout(Duration::from_millis(300)).is_ok() {}
    let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (s, peer) = l.accept().unwrap();
    drop((c, s));
    let mine = |e: &Value| {
        e["socket"]["remote"]["port"] == peer.port() && e["socket"]["local"]["port"] == port
    };
    let got = f.until(|g| g.iter().any(mine));
    let events: Vec<&Value> = got.iter().filter(|e| mine(e)).collect();
    assert_eq!(events.len(), 1, "{got:?}");
    let e = events[0];
    assert_eq!(
        (e["schema"].as_u64(), e["event"].as_str()),
        (Some(1), Some("closed"))
    );
    assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");
    assert!(e["socket"]["cookie"].is_u64(), "{e}");
    assert_eq!(f.interrupt(), Some(0), "SIGINT ends -E cleanly");
}
