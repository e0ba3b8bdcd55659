//! `portwatch serve` over real HTTP: its endpoints, bad and slow clients, a storm of scrapes,
//! collections shared and reused, failures answered instead of crashing, and SIGTERM/SIGINT/SIGHUP
//! finishing what is in flight. Most runs read the fixture tree (tests/fixtures/proc-basic), so
//! what is exported is known exactly; a FIFO in place of its TCP table holds a collection
//! open for as long as a test needs.

mod common;
#[path = "common/http.rs"]
mod http;

use http::{request, sample, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn fixture_args(root: &str) -> Vec<String> {
    vec!["--proc-root".into(), root.into()]
}

fn start_fixture(extra: &[&str]) -> Server {
    let mut args = fixture_args(&common::fixture("proc-basic"));
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn endpoints_answer_get_and_head_and_refuse_the_rest() {
    let mut s = start_fixture(&[]);
    let r = s.get("/metrics");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    // From the fixture's table (tests/fixtures/README.md): sshd on 0.0.0.0:22 as root.
    let ssh = [("port", "22"), ("process", "sshd"), ("user", "root")];
    assert_eq!(sample(&r.body, "portwatch_listener_info", &ssh), Some(1.0));
    assert!(!r.body.contains("# EOF"));

    let om = request(
        s.port,
        "GET /metrics HTTP/1.1\r\n",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
    );
    assert_eq!(om.status, 200);
    assert_eq!(
        om.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(om.body.ends_with("# EOF\n"), "{}", om.body);
    assert_eq!(sample(&om.body, "portwatch_listener_info", &ssh), Some(1.0));

    let head = request(s.port, "HEAD /metrics HTTP/1.1\r\n", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body: {:?}", head.body);
    let len: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(len > 1000, "the length of the GET body: {len}");

    let index = s.get("/");
    assert_eq!(index.status, 200);
    assert!(index
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    for name in [
        "portwatch_listener_info",
        "portwatch_connections",
        "portwatch_scrape_error",
    ] {
        assert!(index.body.contains(name), "{name} on the index page");
    }
    let health = s.get("/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    assert_eq!(s.get("/metricsx").status, 404);
    assert_eq!(s.get("/metrics/../etc/passwd").status, 404);
    assert_eq!(
        request(s.port, "DELETE /nope HTTP/1.1\r\n", &[]).status,
        404
    );
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let r = request(s.port, &format!("{method} /metrics HTTP/1.1\r\n"), &[]);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
    let (code, _) = s.stop(libc::SIGINT, Duration::from_secs(15));
    assert_eq!(code, Some(0), "SIGINT: a clean stop");
}

#[test]
fn bad_and_silent_clients_do_not_hold_up_a_scrape() {
    // 2 s instead of 10 for the head (a hidden option, for tests).
    let mut s = start_fixture(&["-lt", "--http-timeout", "2"]);
    // A client that connects and says nothing.
    let mut silent = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    // One that sends half a request head and stops.
    let mut stalled = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x")
        .unwrap();
    let t = Instant::now();
    assert_eq!(s.get("/metrics").status, 200);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // A request head past the 16 KiB bound: refused, not buffered.
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let mut big = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = big.write_all(huge.as_bytes());
    let mut raw = Vec::new();
    let _ = big.read_to_end(&mut raw);
    let answer = String::from_utf8_lossy(&raw);
    assert!(
        raw.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "oversized head: {answer}"
    );
    // Garbage is a 400, and the server goes on.
    let mut junk = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    junk.write_all(b"\x16\x03\x01 not http\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = junk.read_to_end(&mut raw);
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 400"));
    assert_eq!(s.get("/healthz").status, 200);

    // The silent and stalled clients are cut off by the head timeout.
    for (what, c) in [("silent", &mut silent), ("stalled", &mut stalled)] {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        let t = Instant::now();
        let _ = c.read_to_end(&mut buf);
        assert!(
            t.elapsed() < Duration::from_secs(6),
            "{what} client still connected after {:?}",
            t.elapsed()
        );
    }
    // SIGHUP (the terminal closing) is a clean stop too, said on stderr.
    let (code, stderr) = s.stop(libc::SIGHUP, Duration::from_secs(15));
    assert_eq!(code, Some(0));
    assert!(stderr.contains("SIGHUP: stopped"), "{stderr}");
}

#[test]
fn a_storm_of_scrapes_costs_one_collection_per_interval() {
    let mut s = start_fixture(&["--min-interval", "1s"]);
    let n = 200;
    let barrier = Arc::new(Barrier::new(n));
    let port = s.port;
    let t = Instant::now();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let b = Arc::clone(&barrier);
            std::thread::spawn(move || {
                b.wait();
                request(port, "GET /metrics HTTP/1.1\r\n", &[])
            })
        })
        .collect();
    let answers: Vec<_> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = t.elapsed();
    assert!(answers.iter().all(|r| r.status == 200));
    let most = answers
        .iter()
        .filter_map(|r| sample(&r.body, "portwatch_collections_total", &[]))
        .fold(0.0, f64::max);
    let allowed = elapsed.as_secs_f64().ceil() + 1.0;
    assert!(
        (1.0..=allowed).contains(&most),
        "{most} collections for {n} scrapes in {elapsed:?}"
    );
    let rss = s.peak_rss_kib();
    assert!(rss < 64 * 1024, "peak RSS {rss} KiB");
    let (code, _) = s.stop(libc::SIGTERM, Duration::from_secs(15));
    assert_eq!(code, Some(0));
}

/// A copy of proc-basic whose TCP table is a FIFO: a collection blocks reading it until the
/// test writes the table.
struct HeldFixture {
    dir: tempfile::TempDir,
    table: Vec<u8>,
}

impl HeldFixture {
    fn new() -> HeldFixture {
        let dir = http::fixture_copy("proc-basic", &[]);
        let tcp = dir.path().join("net/tcp");
        let table = std::fs::read(&tcp).unwrap();
        std::fs::remove_file(&tcp).unwrap();
        let c = std::ffi::CString::new(tcp.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        HeldFixture { dir, table }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Let one blocked read of the TCP table through.
    fn release(&self) {
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.path().join("net/tcp"))
            .unwrap();
        w.write_all(&self.table).unwrap();
    }
}

/// Send a GET and return the stream without reading.
fn send_get(port: u16) -> TcpStream {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    c
}

fn nothing_yet(c: &mut TcpStream) -> bool {
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut b = [0u8; 1];
    matches!(c.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        || e.kind() == std::io::ErrorKind::TimedOut)
}

#[test]
fn scrapes_share_a_running_collection_and_sigterm_lets_them_finish() {
    let held = HeldFixture::new();
    let root = held.root().to_str().unwrap().to_string();
    // -lt: one read of the TCP table per collection; 0: no reuse but sharing.
    let mut s = Server::start(&["--proc-root", &root, "-lt", "--min-interval", "0"]);
    let mut first = send_get(s.port);
    std::thread::sleep(Duration::from_millis(300));
    let mut second = send_get(s.port);
    std::thread::sleep(Duration::from_millis(300));
    assert!(nothing_yet(&mut first) && nothing_yet(&mut second));

    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(s.pid() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(500));
    let still_running = s.child.as_mut().unwrap().try_wait().unwrap().is_none();
    assert!(still_running, "serve exited with a response in flight");
    let refused =
        TcpStream::connect_timeout(&([127, 0, 0, 1], s.port).into(), Duration::from_secs(2));
    assert!(refused.is_err(), "stopped accepting after SIGTERM");

    held.release();
    let a = http::read_response(&mut first);
    let b = http::read_response(&mut second);
    assert_eq!((a.status, b.status), (200, 200));
    for r in [&a, &b] {
        assert_eq!(
            sample(&r.body, "portwatch_collections_total", &[]),
            Some(1.0),
            "both scrapes were answered by the one collection"
        );
        let pg = [("port", "5432"), ("process", "postgres"), ("user", "4242")];
        assert_eq!(sample(&r.body, "portwatch_listener_info", &pg), Some(1.0));
    }
    let (code, _) = s.stop(0, Duration::from_secs(15));
    assert_eq!(code, Some(0), "SIGTERM: exit 0 once the responses are out");
}

#[test]
fn a_collection_longer_than_the_client_timeouts_still_answers() {
    let held = HeldFixture::new();
    let root = held.root().to_str().unwrap().to_string();
    let mut s = Server::start(&["--proc-root", &root, "-lt", "--http-timeout", "1"]);
    let mut c = send_get(s.port);
    // Three times the timeout: the server watches the socket meanwhile, and must not take
    // that for a stalled client.
    std::thread::sleep(Duration::from_secs(3));
    held.release();
    let r = http::read_response(&mut c);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        sample(&r.body, "portwatch_listener_info", &[("port", "22")]),
        Some(1.0)
    );
    let (code, _) = s.stop(libc::SIGTERM, Duration::from_secs(15));
    assert_eq!(code, Some(0));
}

#[test]
fn an_unreadable_table_is_scrape_error_and_nothing_readable_is_500() {
    let partial = http::fixture_copy("proc-basic", &["net/udp"]);
    let mut s = Server::start(&["--proc-root", partial.path().to_str().unwrap()]);
    let r = s.get("/metrics");
    assert_eq!(r.status, 200, "what could be read is served");
    assert_eq!(sample(&r.body, "portwatch_scrape_error", &[]), Some(1.0));
    assert_eq!(
        sample(&r.body, "portwatch_listener_info", &[("port", "22")]),
        Some(1.0)
    );
    let (code, stderr) = s.stop(libc::SIGTERM, Duration::from_secs(15));
    assert_eq!(code, Some(0));
    assert_eq!(
        stderr.matches("net/udp").count(),
        1,
        "the problem is said once: {stderr}"
    );

    let empty = http::fixture_copy("proc-basic", &["net"]);
    let mut s = Server::start(&["--proc-root", empty.path().to_str().unwrap()]);
    for _ in 0..2 {
        let r = s.get("/metrics");
        assert_eq!(r.status, 500, "{r:?}");
        assert!(r.body.contains("nothing could be read"), "{}", r.body);
    }
    assert_eq!(s.get("/healthz").status, 200, "still serving");
    let (code, _) = s.stop(libc::SIGTERM, Duration::from_secs(15));
    assert_eq!(code, Some(0));
}

#[test]
fn bad_listen_addresses_and_taken_ports_fail_at_start() {
    let out = common::bin()
        .args(["serve", "--listen", "localhost:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    let out = common::bin()
        .args(["serve", "--min-interval", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = common::bin()
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[test]
fn a_non_loopback_address_is_said_at_start() {
    // In a fresh network namespace (unshare -n), so 0.0.0.0 reaches no host network.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root (unshare -n)"
        );
        eprintln!("skipped: needs root for unshare -n");
        return;
    }
    // unshare execs portwatch: the pid is serve's. Killed on drop if the test fails.
    let mut child = common::Child(
        Command::new("unshare")
            .args(["-n", env!("CARGO_BIN_EXE_portwatch"), "serve"])
            .args(["--listen", "0.0.0.0:0", "-lt"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux)"),
    );
    let mut err = child.0.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains("serving metrics") && Instant::now() < deadline {
        match err.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = child.0.wait().unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(
        text.contains("warning: serving on 0.0.0.0:"),
        "no warning for a wildcard address: {text}"
    );
    assert_eq!(status.code(), Some(0));
}
