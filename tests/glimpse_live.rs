//! The TCP glimpse (watch's incremental reads) on the test's own loopback sockets: each
//! glimpse agrees with a sock_diag dump of the same socket (cookie, state, ends, queues,
//! whether a file holds it), a connection not yet accepted has no file until it is, and a
//! fetch by identity gives the dump's record of each socket still there and nothing for one
//! that closed. Needs root (CI=true: fails without it).
#![cfg(target_os = "linux")]

#[path = "common/procs.rs"]
mod procs;
#[path = "common/tcp_kernel.rs"]
mod tcp_kernel;

use tcp_kernel::{dumped, ends};

use portwatch::model::{Detail, Fingerprint, Glimpse, State};
use portwatch::platform::Glimpser;
use std::io::Write;
use std::net::{TcpListener, TcpStream};

fn glimpser() -> Option<Glimpser> {
    tcp_kernel::glimpser("the TCP glimpse needs root (BPF)")
}

fn mine<'a>(g: &'a [Glimpse], ports: &[u16]) -> Vec<&'a Glimpse> {
    g.iter()
        .filter(|g| ports.contains(&g.local.1) || ports.contains(&g.remote.1))
        .collect()
}

#[test]
fn glimpses_agree_with_a_dump_and_fetches_give_the_dumps_records() {
    let Some(mut gl) = glimpser() else { return };
    let l4 = TcpListener::bind("127.0.0.1:0").expect("bind");
    let l6 = TcpListener::bind("[::1]:0").expect("bind v6");
    let (p4, p6) = (
        l4.local_addr().unwrap().port(),
        l6.local_addr().unwrap().port(),
    );
    let mut c4 = TcpStream::connect(("127.0.0.1", p4)).expect("connect");
    let (s4, _) = l4.accept().expect("accept");
    // Bytes the server has not read: its receive queue.
    c4.write_all(b"hello").expect("write");
    // A connection the listener has not accepted: in its queue, held by no file yet.
    let c6 = TcpStream::connect(("::1", p6)).expect("connect v6");
    let ports = [p4, p6];
    std::thread::sleep(std::time::Duration::from_millis(50));

    let mut g = Vec::new();
    gl.glimpse(&mut g).expect("glimpse");
    let dump = dumped();
    let ours = mine(&g, &ports);
    // Two listeners, two ends of each connection.
    assert_eq!(ours.len(), 6, "{ours:#?}");
    for gi in &ours {
        let d = dump
            .iter()
            .find(|s| s.cookie == Some(gi.cookie))
            .unwrap_or_else(|| panic!("no dumped socket with the cookie of {gi:?}"));
        assert_eq!(gi.state, d.state, "{gi:?} vs {d:?}");
        assert_eq!(gi.family, d.family);
        assert_eq!((gi.local, gi.remote), ends(d), "{gi:?}");
        assert_eq!(
            gi.fingerprint(true),
            Fingerprint::of(d, true),
            "{gi:?} vs {d:?}"
        );
    }
    let server4 = ours
        .iter()
        .find(|g| g.local.1 == p4 && g.state == State::ESTABLISHED)
        .expect("the accepted end");
    assert!(server4.held);
    assert_eq!(server4.recv_q, 5);
    let pending6 = ours
        .iter()
        .find(|g| g.local.1 == p6 && g.state == State::ESTABLISHED)
        .expect("the unaccepted end");
    assert!(!pending6.held, "not accepted yet: {pending6:?}");

    // Fetch them all by identity: the dump's records, inode and uid included.
    let want: Vec<Glimpse> = ours.iter().map(|g| (*g).clone()).collect();
    let fetched = gl.fetch(&want, Detail::default()).expect("fetch");
    assert_eq!(fetched.len(), want.len(), "{fetched:#?}");
    for f in &fetched {
        let d = dump.iter().find(|s| s.cookie == f.cookie).expect("dumped");
        assert_eq!(
            (f.state, f.inode, f.uid, ends(f), f.v6only, f.cgroup),
            (d.state, d.inode, d.uid, ends(d), d.v6only, d.cgroup)
        );
    }

    // Accepted now: the glimpse sees the file, and says so in the fingerprint.
    let (s6, _) = l6.accept().expect("accept v6");
    let mut g2 = Vec::new();
    gl.glimpse(&mut g2).expect("glimpse");
    let after = g2
        .iter()
        .find(|g| g.cookie == pending6.cookie)
        .expect("still there");
    assert!(after.held);
    assert_ne!(after.fingerprint(false), pending6.fingerprint(false));

    // Closed (and both ends gone from the table: the server end aborted with a reset),
    // a fetch gives nothing for them.
    let gone: Vec<Glimpse> = g2
        .iter()
        .filter(|g| g.local.1 == p4 || g.remote.1 == p4)
        .filter(|g| g.state != State::LISTEN)
        .cloned()
        .collect();
    assert_eq!(gone.len(), 2);
    for s in [&s4, &c4] {
        nix::sys::socket::setsockopt(
            s,
            nix::sys::socket::sockopt::Linger,
            &libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        )
        .expect("SO_LINGER");
    }
    drop((s4, c4));
    let left = gl.fetch(&gone, Detail::default()).expect("fetch");
    assert!(left.is_empty(), "closed sockets fetched: {left:#?}");
    drop((c6, s6));
}
