//! watch's TCP state feed on the test's own loopback sockets: every state change of a v4
//! and a v6 listener, a client and the accepted end, from listen to the last close, in the
//! kernel's order, with the cookies, ends and `held` that a sock_diag dump of the same
//! sockets gives while they exist, and none lost; nothing of a network namespace the test
//! makes; a second `follow` is a no-op and `changes` without `follow` an error. Needs root
//! (CI=true: fails without it).
#![cfg(target_os = "linux")]

#[path = "common/procs.rs"]
mod procs;
#[path = "common/tcp_kernel.rs"]
mod tcp_kernel;

use tcp_kernel::{dumped, ends, End};

use portwatch::model::{Family, Socket, State, StateChange};
use portwatch::platform::Glimpser;
use std::io::Read;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::num::NonZeroU64;
use std::time::Duration;

fn glimpser() -> Option<Glimpser> {
    tcp_kernel::glimpser("the TCP state feed needs root (BPF)")
}

/// The dumped socket with these ends.
fn find(dump: &[Socket], local: End, remote: End) -> (NonZeroU64, Socket) {
    let s = dump
        .iter()
        .find(|s| ends(s) == (local, remote))
        .unwrap_or_else(|| panic!("no dumped socket {local:?} -> {remote:?}"));
    (s.cookie.expect("a dumped cookie"), s.clone())
}

/// Changes that `changes` gives until `done` says they are all there (the last ACKs of a
/// close cross loopback in softirq, a little after `close` returns), or five seconds.
fn collect(gl: &mut Glimpser, done: impl Fn(&[StateChange]) -> bool) -> Vec<StateChange> {
    let mut all = Vec::new();
    for _ in 0..500 {
        let lost = gl.changes(&mut all).expect("changes");
        assert_eq!(lost, 0, "records lost");
        if done(&all) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    all
}

/// One socket's changes: (old, new, held) in order.
fn moves(all: &[StateChange], cookie: NonZeroU64) -> Vec<(State, State, bool)> {
    all.iter()
        .filter(|c| c.now.cookie == cookie)
        .map(|c| (c.old, c.now.state, c.now.held))
        .collect()
}

#[test]
fn changes_without_follow_fail_and_a_second_follow_is_a_no_op() {
    let Some(mut gl) = glimpser() else { return };
    let mut out = Vec::new();
    let e = gl.changes(&mut out).expect_err("not followed yet");
    assert!(e.to_string().contains("not followed"), "{e}");
    gl.follow().expect("follow");
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().unwrap().port();
    // Again: the same feed, which still has the listener's change (a new one would not).
    gl.follow().expect("follow again");
    let all = collect(&mut gl, |all| all.iter().any(|c| c.now.local.1 == port));
    let listen: Vec<_> = all.iter().filter(|c| c.now.local.1 == port).collect();
    assert_eq!(listen.len(), 1, "{listen:#?}");
    assert_eq!(
        (listen[0].old, listen[0].now.state),
        (State::CLOSE, State::LISTEN)
    );
}

/// One connection's worth of changes on `ip`, checked against a dump taken while every
/// socket existed.
fn one_connection(gl: &mut Glimpser, ip: &str, family: Family) {
    let l = TcpListener::bind((ip, 0)).expect("bind");
    let lend = l.local_addr().unwrap();
    let client = TcpStream::connect(lend).expect("connect");
    let (server, _) = l.accept().expect("accept");
    let cend = client.local_addr().unwrap();
    let (lend, cend) = ((lend.ip(), lend.port()), (cend.ip(), cend.port()));
    let any: IpAddr = match family {
        Family::Ipv4 => "0.0.0.0".parse().unwrap(),
        _ => "::".parse().unwrap(),
    };
    let dump = dumped();
    let (lc, _) = find(&dump, lend, (any, 0));
    let (cc, cs) = find(&dump, cend, lend);
    let (sc, ss) = find(&dump, lend, cend);
    assert!(cs.inode != 0 && ss.inode != 0);

    // The client closes first: it ends in TIME-WAIT, the server in LAST-ACK then CLOSE.
    drop(client);
    let mut server = server;
    assert_eq!(server.read(&mut [0u8; 8]).expect("read EOF"), 0);
    drop(server);
    drop(l);
    let all = collect(gl, |all| {
        let ended = |c| {
            all.iter()
                .any(|x| x.now.cookie == c && x.now.state == State::CLOSE)
        };
        ended(lc)
            && ended(sc)
            && all
                .iter()
                .any(|x| x.now.cookie == cc && x.old == State::FIN_WAIT2)
    });
    // Every change that names our port is one of the three sockets'.
    for c in all
        .iter()
        .filter(|c| c.now.local.1 == lend.1 || c.now.remote.1 == lend.1)
    {
        assert!(
            [lc, cc, sc].contains(&c.now.cookie),
            "a change of a socket that is none of the dumped ones: {c:#?}"
        );
    }
    let ours: Vec<&StateChange> = all
        .iter()
        .filter(|c| [lc, cc, sc].contains(&c.now.cookie))
        .collect();
    for c in &ours {
        assert_eq!(c.now.family, family, "{c:?}");
        assert_eq!((c.now.recv_q, c.now.send_q, c.now.iface), (0, 0, 0));
        let (local, remote) = match c.now.cookie {
            x if x == lc => (lend, (any, 0)),
            x if x == cc => (cend, lend),
            _ => (lend, cend),
        };
        // A connect's first move comes before its local port is chosen; a move to CLOSE
        // comes after the socket let go of a port the kernel chose for it (tcp_set_state
        // releases it before inet_sk_state_store fires the tracepoint).
        let portless = matches!(c.now.state, State::SYN_SENT | State::CLOSE);
        if portless {
            assert_eq!((c.now.local.0, c.now.remote), (local.0, remote), "{c:?}");
            assert!([0, local.1].contains(&c.now.local.1), "{c:?}");
        } else {
            assert_eq!((c.now.local, c.now.remote), (local, remote), "{c:?}");
        }
    }
    use State as S;
    assert_eq!(
        moves(&all, lc),
        [(S::CLOSE, S::LISTEN, true), (S::LISTEN, S::CLOSE, true)],
        "the listener"
    );
    // Held by its fd until close (the first move of a close comes before the file lets go).
    assert_eq!(
        moves(&all, cc),
        [
            (S::CLOSE, S::SYN_SENT, true),
            (S::SYN_SENT, S::ESTABLISHED, true),
            (S::ESTABLISHED, S::FIN_WAIT1, true),
            (S::FIN_WAIT1, S::FIN_WAIT2, false),
            // The full socket leaves for a TIME-WAIT one (tcp_time_wait, then tcp_done).
            (S::FIN_WAIT2, S::CLOSE, false),
        ],
        "the client"
    );
    // Born of the listener (its copy: old state LISTEN), with no file until accepted.
    assert_eq!(
        moves(&all, sc),
        [
            (S::LISTEN, S::SYN_RECV, false),
            (S::SYN_RECV, S::ESTABLISHED, false),
            (S::ESTABLISHED, S::CLOSE_WAIT, true),
            (S::CLOSE_WAIT, S::LAST_ACK, true),
            (S::LAST_ACK, S::CLOSE, false),
        ],
        "the accepted end"
    );
}

#[test]
fn the_feed_reports_each_change_of_the_tests_sockets_as_a_dump_knows_them() {
    let Some(mut gl) = glimpser() else { return };
    gl.follow().expect("follow");
    one_connection(&mut gl, "127.0.0.1", Family::Ipv4);
    one_connection(&mut gl, "::1", Family::Ipv6);
}

/// Bring `lo` up in this thread's network namespace (a new one has it down, without
/// 127.0.0.1).
fn loopback_up() {
    // SAFETY: an AF_INET datagram socket for the ioctls, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    assert!(fd >= 0, "socket");
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS and SIOCSIFFLAGS read and write the ifreq they are given.
    unsafe {
        assert_eq!(
            libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req),
            0,
            "get lo flags"
        );
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        assert_eq!(libc::ioctl(fd, libc::SIOCSIFFLAGS, &req), 0, "lo up");
        libc::close(fd);
    }
}

#[test]
fn sockets_of_another_network_namespace_are_not_reported() {
    let Some(mut gl) = glimpser() else { return };
    gl.follow().expect("follow");
    // A thread in a namespace of its own: a connection from listen to close, and the
    // cookies of its sockets (cookies are unique across namespaces).
    let theirs = std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
        loopback_up();
        let l = TcpListener::bind("127.0.0.1:0").expect("bind in the namespace");
        let c = TcpStream::connect(l.local_addr().unwrap()).expect("connect");
        let (s, _) = l.accept().expect("accept");
        let port = l.local_addr().unwrap().port();
        let cookies: Vec<NonZeroU64> = dumped()
            .iter()
            .filter(|s| {
                let (a, b) = ends(s);
                a.1 == port || b.1 == port
            })
            .filter_map(|s| s.cookie)
            .collect();
        drop((c, s, l));
        cookies
    })
    .join()
    .expect("the namespace thread");
    assert_eq!(
        theirs.len(),
        3,
        "listener, client, accepted end: {theirs:?}"
    );
    // Ours, after theirs: once it is there, theirs would have been too.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().unwrap().port();
    let all = collect(&mut gl, |all| all.iter().any(|c| c.now.local.1 == port));
    assert!(all.iter().any(|c| c.now.local.1 == port), "our listener");
    let leaked: Vec<_> = all
        .iter()
        .filter(|c| theirs.contains(&c.now.cookie))
        .collect();
    assert!(
        leaked.is_empty(),
        "another namespace's changes: {leaked:#?}"
    );
}
