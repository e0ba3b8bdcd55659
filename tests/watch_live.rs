//! `portwatch watch` live, on the test's own loopback sockets: the NDJSON stream has exactly
//! the events of what the test did (a listener and a connection opened, driven to
//! CLOSE-WAIT, closed; a connection accepted late; a second holder that comes and goes;
//! queues with --queues), with the right sockets and owners, with each way of reading: the
//! kernel's state changes (root, no --queues: the default), glimpses (root: the default with
//! --queues, or --reads glimpse) and full reads (--reads full); a connection that opens and
//! closes between two reads is reported when root; SIGINT and --count end it cleanly. The
//! tests take turns whatever `--test-threads` says (`one_at_a_time`: they share a process).

mod common;
#[path = "common/procs.rs"]
mod procs;
#[path = "common/watch.rs"]
mod watching;

use procs::{is_root, require};
use serde_json::Value;
use socket2::{Domain, Socket, Type};
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;
use watching::{brief, Stream};

const WAIT: Duration = Duration::from_secs(10);

type Brief = (String, String, u64, u64);

fn me() -> u64 {
    u64::from(std::process::id())
}

/// A TCP socket bound to a loopback port and not listening (state CLOSE: `exclude closed`
/// keeps it out of the watch until `listen`), so its port is known before it appears.
fn bound() -> (Socket, u16) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let port = s.local_addr().unwrap().as_socket().unwrap().port();
    (s, port)
}

fn ev(event: &str, state: &str, local: u16, remote: u16) -> Brief {
    (
        event.into(),
        state.into(),
        u64::from(local),
        u64::from(remote),
    )
}

/// The events, by local port (the order within one read is the listing's, not the test's).
fn sorted(mut e: Vec<Value>) -> (Vec<Brief>, Vec<Value>) {
    e.sort_by_key(|e| (brief(e).2, brief(e).3));
    (e.iter().map(brief).collect(), e)
}

fn owners(e: &Value) -> Vec<(u64, u64)> {
    common::owner_pids(&e["socket"])
}

fn fd(s: &impl AsRawFd) -> u64 {
    u64::try_from(s.as_raw_fd()).unwrap()
}

/// Start watching `ports` (TCP, with owners; `states` as a filter prefix) and wait for the
/// first read, which a sentinel listener reports as opened (--initial).
fn watch(states: &str, ports: &[u16], sentinel: &TcpListener, interval: &str) -> Stream {
    watch_with(&[], states, ports, sentinel, interval)
}

/// `watch` with more flags, and `--timings` (`Stream::modes`).
fn watch_with(
    flags: &[&str],
    states: &str,
    ports: &[u16],
    sentinel: &TcpListener,
    interval: &str,
) -> Stream {
    watch_env(flags, &[], states, ports, sentinel, interval)
}

/// `watch_with` with variables set in its environment.
fn watch_env(
    flags: &[&str],
    env: &[(&str, &str)],
    states: &str,
    ports: &[u16],
    sentinel: &TcpListener,
    interval: &str,
) -> Stream {
    let s = sentinel.local_addr().unwrap().port();
    let mut filter = format!("{states} ( port = :{s}");
    for p in ports {
        filter.push_str(&format!(" or port = :{p}"));
    }
    filter.push_str(" )");
    let mut args = vec!["-tanp", "--initial", "--interval", interval];
    args.extend(flags);
    args.push(&filter);
    let w = Stream::start_timed_env(&args, env);
    let (first, _) = sorted(w.events(1, WAIT));
    assert_eq!(first, [ev("opened", "LISTEN", s, 0)]);
    w
}

/// A watch of one port (`flags`, `env`, `interval`; reads fed unless a flag says otherwise)
/// whose listener, made with `backlog`, it reported opened. The sentinel (the first
/// element) must live as long as the watch.
fn watched_listener(
    flags: &[&str],
    env: &[(&str, &str)],
    backlog: i32,
    interval: &str,
) -> (TcpListener, Stream, Socket, u16) {
    let sentinel = TcpListener::bind("127.0.0.1:0").unwrap();
    let (l, p) = bound();
    let w = watch_env(flags, env, "exclude closed", &[p], &sentinel, interval);
    l.listen(backlog).unwrap();
    let (got, _) = sorted(w.events(1, WAIT));
    assert_eq!(got, [ev("opened", "LISTEN", p, 0)]);
    (sentinel, w, l, p)
}

/// `event` of both ends of a connection between ports `p` and `c`, in `sorted`'s order.
fn both_ends(event: &str, state: &str, p: u16, c: u16) -> Vec<Brief> {
    let mut want = vec![ev(event, state, p, c), ev(event, state, c, p)];
    want.sort_by_key(|b| (b.2, b.3));
    want
}

/// Connect to the watched listener `l` on port `p` and accept: both ends are reported
/// opened, each with its holder. The client, the server and the client's port.
fn connect_and_accept(w: &Stream, l: &Socket, p: u16) -> (TcpStream, TcpStream, u16) {
    let client = TcpStream::connect(("127.0.0.1", p)).unwrap();
    let (server, _) = l.accept().unwrap();
    let server = TcpStream::from(server);
    let c = client.local_addr().unwrap().port();
    let (got, e) = sorted(w.events(2, WAIT));
    assert_eq!(got, both_ends("opened", "ESTAB", p, c));
    for e in &e {
        let local = e["socket"]["local"]["port"].as_u64().unwrap();
        let held = if local == u64::from(p) {
            fd(&server)
        } else {
            fd(&client)
        };
        if local == u64::from(p) && owners(e).is_empty() {
            // A read between the connect and the accept: the server's end, not accepted
            // yet, has no file; it changes when it gains one.
            let (got, later) = sorted(w.events(1, WAIT));
            assert_eq!(got, [ev("changed", "ESTAB", p, c)]);
            assert_eq!(owners(&later[0]), [(me(), held)], "{}", later[0]);
            continue;
        }
        assert_eq!(owners(e), [(me(), held)], "{e}");
    }
    (client, server, c)
}

/// How a scenario's reads after the first are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// The kernel's state changes (`fed` in --timings).
    Fed,
    Glimpsed,
    Full,
}

impl Reads {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Reads::Fed => &[],
            Reads::Glimpsed => &["--reads", "glimpse"],
            Reads::Full => &["--reads", "full"],
        }
    }
}

/// The reads after the first were made as `reads` says.
fn assert_modes(w: &Stream, reads: Reads) {
    let modes = w.modes();
    let want = match reads {
        Reads::Fed => "fed",
        Reads::Glimpsed => "glimpsed",
        Reads::Full => "full",
    };
    assert!(modes.len() > 2, "{modes:?}");
    assert_eq!(modes[0], "full", "the first read is a full one");
    assert!(modes[1..].iter().all(|m| m == want), "{modes:?}");
}

#[test]
fn a_listener_and_a_connection_from_open_to_close_fed() {
    let _one = watching::one_at_a_time();
    if !require(is_root(), "not root: reads are full ones, not fed") {
        return;
    }
    open_to_close(Reads::Fed);
}

#[test]
fn a_listener_and_a_connection_from_open_to_close_glimpsed() {
    let _one = watching::one_at_a_time();
    if !require(is_root(), "not root: reads are full ones, not glimpsed") {
        return;
    }
    open_to_close(Reads::Glimpsed);
}

#[test]
fn a_listener_and_a_connection_from_open_to_close_full_reads() {
    let _one = watching::one_at_a_time();
    open_to_close(Reads::Full);
}

fn open_to_close(reads: Reads) {
    let flags = reads.flags();
    let sentinel = TcpListener::bind("127.0.0.1:0").unwrap();
    let (l, p) = bound();
    let w = watch_with(flags, "exclude closed", &[p], &sentinel, "200ms");

    l.listen(8).unwrap();
    let (got, e) = sorted(w.events(1, WAIT));
    assert_eq!(got, [ev("opened", "LISTEN", p, 0)]);
    assert_eq!(owners(&e[0]), [(me(), fd(&l))]);
    assert_eq!(e[0]["before"], Value::Null);

    let (client, server, c) = connect_and_accept(&w, &l, p);

    // The client sends FIN: its end waits in FIN-WAIT-2, the server's in CLOSE-WAIT.
    client.shutdown(Shutdown::Write).unwrap();
    let (got, e) = sorted(w.events(2, WAIT));
    let (lo, hi) = (
        ev("changed", "CLOSE-WAIT", p, c),
        ev("changed", "FIN-WAIT-2", c, p),
    );
    assert_eq!(got, if p < c { [lo, hi] } else { [hi, lo] });
    for e in &e {
        assert_eq!(e["before"]["state"], "ESTAB", "{e}");
        assert_eq!(owners(e), common::owner_pids(&e["before"]), "owners kept");
    }

    // The server closes: its end is gone, the client's becomes the kernel's TIME-WAIT
    // socket (no inode, no owner): the same connection, changed.
    drop(server);
    let (got, e) = sorted(w.events(2, WAIT));
    let (lo, hi) = (
        ev("closed", "CLOSE-WAIT", p, c),
        ev("changed", "TIME-WAIT", c, p),
    );
    assert_eq!(got, if p < c { [lo, hi] } else { [hi, lo] });
    let tw = e.iter().find(|e| e["event"] == "changed").unwrap();
    assert_eq!(tw["before"]["state"], "FIN-WAIT-2");
    assert_eq!(tw["socket"]["inode"], 0);

    drop(l);
    let (got, _) = sorted(w.events(1, WAIT));
    assert_eq!(got, [ev("closed", "LISTEN", p, 0)]);
    drop(client);
    // Nothing else happened to these ports: nothing else is reported.
    let more = w.events(1, Duration::from_millis(1200));
    assert!(more.is_empty(), "unexpected: {more:?}");
    assert_modes(&w, reads);
}

#[test]
fn late_accepts_holders_and_queues_glimpsed() {
    let _one = watching::one_at_a_time();
    if !require(is_root(), "not root: reads are full ones, not glimpsed") {
        return;
    }
    late_accepts_holders_and_queues(Reads::Glimpsed, true);
}

#[test]
fn late_accepts_and_holders_fed() {
    let _one = watching::one_at_a_time();
    if !require(is_root(), "not root: reads are full ones, not fed") {
        return;
    }
    late_accepts_holders_and_queues(Reads::Fed, false);
}

#[test]
fn late_accepts_holders_and_queues_full_reads() {
    let _one = watching::one_at_a_time();
    late_accepts_holders_and_queues(Reads::Full, true);
}

/// What a glimpse or the state changes must notice besides a connection's state: a socket
/// bound and not listening (which the TCP iterator does not see) that starts to listen, a
/// connection accepted after it was first seen (it gains its file, and an owner, without a
/// move), a second process that starts to hold a socket and exits; and, with --queues
/// (which glimpses: `Reads::Fed` goes without), bytes waiting to be read.
fn late_accepts_holders_and_queues(reads: Reads, queues: bool) {
    let mut flags = reads.flags().to_vec();
    if queues {
        flags.push("--queues");
    }
    let sentinel = TcpListener::bind("127.0.0.1:0").unwrap();
    // A port free now, for a socket bound after the watch started.
    let p = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = watch_with(&flags, "", &[p], &sentinel, "200ms");
    // Bound, not listening: only in the kernel's bind hash (UNCONN with -a).
    let bound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    bound
        .bind(&SocketAddr::from(([127, 0, 0, 1], p)).into())
        .unwrap();
    let (got, _) = sorted(w.events(1, WAIT));
    assert_eq!(got, [ev("opened", "UNCONN", p, 0)]);
    bound.listen(8).unwrap();
    let l: TcpListener = bound.into();
    let (got, e) = sorted(w.events(1, WAIT));
    if got == [ev("closed", "UNCONN", p, 0)] {
        // A dump that walked the listening table before the socket entered it and the
        // bind table after it left the bound state missed it (as ss would): it shows up
        // as a listener the read after.
        let (got, e) = sorted(w.events(1, WAIT));
        assert_eq!(got, [ev("opened", "LISTEN", p, 0)], "{e:?}");
    } else {
        assert_eq!(got, [ev("changed", "LISTEN", p, 0)]);
        assert_eq!(e[0]["before"]["state"], "UNCONN");
    }

    // Connected, not accepted: the server end has no file, so no owner; the listener's
    // Recv-Q (its accept queue) is 1, a change with --queues.
    let mut client = TcpStream::connect(("127.0.0.1", p)).unwrap();
    let c = client.local_addr().unwrap().port();
    let mut want = vec![ev("opened", "ESTAB", p, c), ev("opened", "ESTAB", c, p)];
    if queues {
        want.push(ev("changed", "LISTEN", p, 0));
    }
    let (got, e) = sorted(w.events(want.len(), WAIT));
    want.sort_by_key(|b| (b.2, b.3));
    assert_eq!(got, want);
    let server_end = e
        .iter()
        .find(|e| brief(e) == ev("opened", "ESTAB", p, c))
        .unwrap();
    assert_eq!(server_end["socket"]["inode"], 0, "{server_end}");
    assert!(owners(server_end).is_empty(), "{server_end}");
    if queues {
        let listener = e.iter().find(|e| brief(e).1 == "LISTEN").unwrap();
        assert_eq!(listener["socket"]["recv_q"], 1, "{listener}");
    }

    // Accepted: the same socket, now held by us; the accept queue is empty again.
    let (server, _) = l.accept().unwrap();
    let mut want = vec![ev("changed", "ESTAB", p, c)];
    if queues {
        want.insert(0, ev("changed", "LISTEN", p, 0));
    }
    let (got, e) = sorted(w.events(want.len(), WAIT));
    assert_eq!(got, want);
    let accepted = e.iter().find(|e| brief(e).1 == "ESTAB").unwrap();
    assert_eq!(owners(accepted), [(me(), fd(&server))]);
    assert!(common::owner_pids(&accepted["before"]).is_empty());

    // A second process holds the accepted end (on its fd 3), then exits.
    let raw = server.as_raw_fd();
    let mut holder = std::process::Command::new("sleep");
    holder.arg("30");
    // SAFETY: dup2 only, between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut holder, move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = Kid(holder.spawn().expect("sleep"));
    let kid = u64::from(child.0.id());
    let (got, e) = sorted(w.events(1, WAIT));
    assert_eq!(got, [ev("changed", "ESTAB", p, c)]);
    let mut held = owners(&e[0]);
    held.sort_unstable();
    let mut want = vec![(me(), fd(&server)), (kid, 3)];
    want.sort_unstable();
    assert_eq!(held, want);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let (got, e) = sorted(w.events(1, WAIT));
    assert_eq!(got, [ev("changed", "ESTAB", p, c)]);
    assert_eq!(owners(&e[0]), [(me(), fd(&server))]);

    // Bytes the server has not read: with --queues, a change of its Recv-Q.
    client.write_all(b"twelve bytes").unwrap();
    if queues {
        let (got, e) = sorted(w.events(1, WAIT));
        assert_eq!(got, [ev("changed", "ESTAB", p, c)]);
        assert_eq!(e[0]["socket"]["recv_q"], 12, "{}", e[0]);
        assert_eq!(e[0]["before"]["recv_q"], 0);
    }

    // Reset (no TIME-WAIT left): both ends closed, then the listener. The server's end,
    // bound by inheritance from the listener, may show for an instant as a reset socket
    // still bound (UNCONN with -a) on its way out: such passing rows are not counted.
    for end in [&client, &server] {
        socket2::SockRef::from(end)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    drop((server, client));
    let mut e = closes(
        &w,
        &[ev("closed", "ESTAB", p, c), ev("closed", "ESTAB", c, p)],
    );
    drop(l);
    e.extend(closes(&w, &[ev("closed", "LISTEN", p, 0)]));
    if reads == Reads::Fed {
        // Rows kept between reads whose queues were not read again: unknown, not stale.
        for e in &e {
            assert_eq!(e["socket"]["recv_q"], Value::Null, "{e}");
        }
    }
    let more: Vec<Value> = w
        .events(4, Duration::from_millis(1000))
        .into_iter()
        .filter(|e| brief(e).1 != "UNCONN")
        .collect();
    assert!(more.is_empty(), "unexpected: {more:?}");
    assert_modes(&w, reads);
}

/// Events until each of `want` (closes) came, in any order; passing UNCONN rows and a
/// listener's changes aside, nothing else may come. The closes' events.
fn closes(w: &Stream, want: &[Brief]) -> Vec<Value> {
    let mut left: Vec<Brief> = want.to_vec();
    let mut got = Vec::new();
    while !left.is_empty() {
        let e = w.events(1, WAIT);
        let Some(e) = e.into_iter().next() else {
            panic!("still waiting for {left:?}");
        };
        let b = brief(&e);
        if let Some(i) = left.iter().position(|w| *w == b) {
            left.swap_remove(i);
            got.push(e);
        } else {
            // A listener whose accept queue moved while the reset ends left (--queues).
            let listener = b.0 == "changed" && b.1 == "LISTEN";
            assert!(b.1 == "UNCONN" || listener, "unexpected: {e}");
        }
    }
    got
}

/// A child process, killed and reaped when dropped (also when the test fails).
struct Kid(std::process::Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_connection_that_lives_less_than_one_interval_is_reported_when_root() {
    let _one = watching::one_at_a_time();
    if !require(is_root(), "not root: the kernel's close reports need root") {
        return;
    }
    let sentinel = TcpListener::bind("127.0.0.1:0").unwrap();
    let s = sentinel.local_addr().unwrap().port();
    let w = watch("", &[], &sentinel, "2s");
    // Open and close (RST, so no TIME-WAIT is left for the next read) well inside one
    // interval.
    let client = TcpStream::connect(("127.0.0.1", s)).unwrap();
    let (server, _) = sentinel.accept().unwrap();
    let c = client.local_addr().unwrap().port();
    for end in [&client, &server] {
        socket2::SockRef::from(end)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    drop((client, server));
    // The accepted end is reported as it was; the client's abort cleared its addresses in
    // the kernel (tcp_disconnect) before it was freed, so its report names neither port
    // and the filter leaves it out.
    let (got, e) = sorted(w.events(2, WAIT));
    assert_eq!(
        got,
        [ev("opened", "UNCONN", s, c), ev("closed", "UNCONN", s, c)]
    );
    for e in &e {
        assert_eq!(e["socket"]["owners"], Value::Null, "owner unknown: {e}");
        assert!(e["socket"]["cookie"].as_u64().is_some(), "{e}");
    }
    assert_eq!(e[0]["time"], e[1]["time"], "both at the time of the close");
    let more = w.events(1, Duration::from_millis(2500));
    assert!(more.is_empty(), "unexpected: {more:?}");
}

#[test]
fn sigint_and_count_end_cleanly() {
    let _one = watching::one_at_a_time();
    let sentinel = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut w = watch("", &[], &sentinel, "100ms");
    // SAFETY: kill(2) on the child we started.
    unsafe {
        libc::kill(w.pid() as i32, libc::SIGINT);
    }
    assert_eq!(w.wait(WAIT), Some(0), "SIGINT: exit 0");
    for line in w.rest() {
        assert!(
            serde_json::from_str::<Value>(&line).is_ok(),
            "a whole line: {line}"
        );
    }

    let s = sentinel.local_addr().unwrap().port().to_string();
    let mut w = Stream::start(&[
        "-tl",
        "--initial",
        "--count",
        "3",
        "--interval",
        "50ms",
        "sport",
        "=",
        &s,
    ]);
    assert_eq!(w.wait(WAIT), Some(0), "--count 3: three reads and exit 0");
    let lines = w.rest();
    assert_eq!(
        lines.iter().filter(|l| l.contains("\"opened\"")).count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn bad_intervals_are_usage_errors() {
    let _one = watching::one_at_a_time();
    for bad in ["0", "soon", "-1s"] {
        let out = common::bin()
            .args(["watch", "--json", &format!("--interval={bad}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--interval {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--interval"), "{err}");
    }
}

/// A connect that waits in SYN-SENT (its SYN dropped: the listener's accept queue is full)
/// made no move with its port in it (the kernel reports SYN-SENT before choosing the port):
/// fed reads see it from their dump of the states no move reports.
#[test]
fn a_connect_waiting_in_syn_sent_is_reported_fed() {
    let _one = watching::one_at_a_time();
    if !require(is_root(), "not root: reads are full ones, not fed") {
        return;
    }
    // Backlog 0 holds one connection; the next SYN is dropped and retried.
    let (_sentinel, w, _l, p) = watched_listener(&[], &[], 0, "200ms");
    let first = TcpStream::connect(("127.0.0.1", p)).unwrap();
    let c1 = first.local_addr().unwrap().port();
    let (got, _) = sorted(w.events(2, WAIT));
    assert_eq!(got, both_ends("opened", "ESTAB", p, c1));
    let waiting = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    waiting.set_nonblocking(true).unwrap();
    let to: SocketAddr = ([127, 0, 0, 1], p).into();
    match waiting.connect(&to.into()) {
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        other => panic!("a connect to a full accept queue should wait: {other:?}"),
    }
    let c2 = waiting.local_addr().unwrap().as_socket().unwrap().port();
    let (got, e) = sorted(w.events(1, WAIT));
    assert_eq!(got, [ev("opened", "SYN-SENT", c2, p)]);
    assert_eq!(owners(&e[0]), [(me(), fd(&waiting))]);
    assert_modes(&w, Reads::Fed);
}

/// A burst of state changes that overflows the feed's ring (made one page by
/// PORTWATCH_FEED_RING: 64 records) costs one glimpsed read, which still reports exactly
/// what happened on the watched port in between; the feed starts over with a ring four
/// times the size and the reads after are fed again.
#[test]
fn changes_lost_to_a_full_ring_cost_one_glimpsed_read_and_the_ring_grows() {
    let _one = watching::one_at_a_time();
    if !require(is_root(), "not root: reads are full ones, not fed") {
        return;
    }
    let env = [("PORTWATCH_FEED_RING", "4096"), ("PORTWATCH_DEBUG", "1")];
    let (_sentinel, w, l, p) = watched_listener(&[], &env, 8, "300ms");

    // Ten moves a loopback connection (five at each end), on a port the watch leaves out:
    // 200 connections are 2,000 records, far more than a read's 64 in any split of reads.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    for _ in 0..200 {
        let c = TcpStream::connect(other.local_addr().unwrap()).unwrap();
        let (s, _) = other.accept().unwrap();
        drop((c, s));
    }
    let (client, server, c) = connect_and_accept(&w, &l, p);
    // Reads after the resync are fed again, and see the connection go (reset: both ends
    // close at once).
    std::thread::sleep(Duration::from_millis(700));
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let closed = closes(&w, &both_ends("closed", "ESTAB", p, c));
    assert_eq!(closed.len(), 2);
    drop(server);
    std::thread::sleep(Duration::from_millis(700));
    let said = w.stderr();
    let modes = watching::modes_of(&said);
    let glimpsed = modes.iter().position(|m| m == "glimpsed");
    let Some(g) = glimpsed else {
        panic!("no read glimpsed after the ring overflowed: {said:?}");
    };
    assert!(modes[1..g].iter().all(|m| m == "fed"), "{modes:?}");
    assert!(
        modes[g + 1..].iter().any(|m| m == "fed"),
        "fed again after: {modes:?}"
    );
    assert!(
        modes[g + 1..].iter().all(|m| m == "fed" || m == "glimpsed"),
        "{modes:?}"
    );
    assert!(
        said.iter()
            .any(|l| l.contains("state changes lost: the ring grows to 16 KiB")),
        "{said:?}"
    );
}
