//! SOCK_DESTROY (`ss -K`) and the close-event stream (`ss -E`) on the test's own loopback
//! connections. Other processes on the host close sockets too: every check picks the
//! test's own sockets by cookie or inode.

use crate::sslive::{alive, inode, is_root, ours, pair, root_or_skip, ESTAB};
use portwatch::model::{Detail, Query, Socket, StateSet};
use portwatch::platform::linux::netlink::{destroy, CloseEvents, DestroyError};
use std::io::{ErrorKind, Read};
use std::num::NonZeroU64;
use std::time::{Duration, Instant};

#[test]
fn destroy_closes_exactly_the_chosen_connection() {
    if !root_or_skip("SOCK_DESTROY") {
        return;
    }
    let (_la, mut a, mut pa) = pair();
    let (_lb, mut b, mut pb) = pair();
    let chosen = ours(inode(&a), ESTAB, Detail::default());
    destroy(&chosen).expect("the kernel closes it");

    // The peer sees a reset; the owner's socket reports the abort.
    pa.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let e = pa
        .read(&mut [0u8; 8])
        .expect_err("peer of a destroyed socket");
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
    let e = a.read(&mut [0u8; 8]).expect_err("destroyed socket");
    assert_eq!(e.raw_os_error(), Some(libc::ECONNABORTED), "{e}");

    // The neighbour, same host and listener kind, is untouched.
    assert!(alive(&mut b, &mut pb) && alive(&mut pb, &mut b));
    // Gone from the table: asking again is ENOENT.
    match destroy(&chosen) {
        Err(DestroyError::Kernel(e)) => assert_eq!(e, libc::ENOENT),
        other => panic!("second destroy: {other:?}"),
    }
}

#[test]
fn a_different_cookie_is_refused_and_closes_nothing() {
    if !root_or_skip("SOCK_DESTROY") {
        return;
    }
    let (_l, mut c, mut s) = pair();
    let mut sock = ours(inode(&c), ESTAB, Detail::default());
    let real = sock.cookie.expect("netlink sockets carry a cookie");
    sock.cookie = NonZeroU64::new(real.get() ^ 1 << 40);
    match destroy(&sock) {
        // inet_diag_find_one_icsk answers a cookie mismatch like a missing socket.
        Err(DestroyError::Kernel(e)) => assert_eq!(e, libc::ENOENT),
        other => panic!("destroy with a stale cookie: {other:?}"),
    }
    assert!(alive(&mut c, &mut s));
}

/// Run `f` on a thread whose credentials alone are those of `nobody`: the raw syscall
/// changes only the calling thread (glibc's setresuid would change the whole process), and
/// leaving uid 0 clears the thread's capabilities, CAP_NET_ADMIN included.
fn as_nobody<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        // SAFETY: a plain syscall on this thread's credentials; no memory is involved.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
        assert!(
            rc == 0 || !is_root(),
            "setresuid: {}",
            std::io::Error::last_os_error()
        );
        f()
    })
    .join()
    .expect("unprivileged thread")
}

#[test]
fn without_cap_net_admin_the_kernel_says_eperm() {
    let (_l, mut c, mut s) = pair();
    let sock = ours(inode(&c), ESTAB, Detail::default());
    let r = as_nobody(move || destroy(&sock));
    match r {
        Err(e @ DestroyError::Kernel(libc::EPERM)) => {
            assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}")
        }
        other => panic!("unprivileged destroy: {other:?}"),
    }
    assert!(alive(&mut c, &mut s));
}

fn tcp4() -> Query {
    Query {
        tcp: true,
        udp: false,
        unix: false,
        raw: false,
        ipv4: true,
        ipv6: false,
        states: StateSet::ALL,
        detail: Default::default(),
        local_ports: Default::default(),
    }
}

/// Collect close events until `done` holds for what arrived (or 10 s), then 300 ms more so
/// that a duplicate would show.
fn collect(ev: &mut CloseEvents, done: impl Fn(&[Socket]) -> bool) -> Vec<Socket> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(&got) && Instant::now() < deadline {
        let r = ev
            .wait(Duration::from_millis(100), &mut got)
            .expect("events");
        assert!(!r.overrun, "close events lost");
    }
    let grace = Instant::now() + Duration::from_millis(300);
    while Instant::now() < grace {
        ev.wait(Duration::from_millis(50), &mut got)
            .expect("events");
    }
    got
}

#[test]
fn a_closed_connection_is_reported_once() {
    let mut ev = CloseEvents::subscribe(&tcp4()).expect("subscribe to close events");
    let (l, c, s) = pair();
    let cookie = |ino| ours(ino, StateSet::ALL, Detail::default()).cookie.unwrap();
    let (lc, cc, sc) = (cookie(inode(&l)), cookie(inode(&c)), cookie(inode(&s)));
    let (caddr, saddr) = (c.local_addr().unwrap(), s.local_addr().unwrap());
    drop(c);
    drop(s);
    drop(l);
    let mine = [lc, cc, sc];
    let got = collect(&mut ev, |g| {
        mine.iter().all(|m| g.iter().any(|s| s.cookie == Some(*m)))
    });
    let times = |m| got.iter().filter(|s| s.cookie == Some(m)).count();
    assert_eq!(
        (times(lc), times(cc), times(sc)),
        (1, 1, 1),
        "listener, client and server end each closed once"
    );
    let client = got.iter().find(|s| s.cookie == Some(cc)).unwrap();
    let ep = |a: std::net::SocketAddr| {
        Some(portwatch::model::Endpoint::Inet {
            addr: a.ip(),
            port: a.port(),
        })
    };
    assert_eq!((&client.local, &client.remote), (&ep(caddr), &ep(saddr)));
    assert_eq!(client.uid.get(), None, "close events carry no owner");
    let info = client.extras.as_ref().and_then(|x| x.tcp_info.as_ref());
    assert!(info.is_some_and(|i| i.bytes_acked.is_some()), "{client:?}");
}

#[test]
fn a_destroyed_connection_is_reported_too() {
    if !root_or_skip("SOCK_DESTROY") {
        return;
    }
    let mut ev = CloseEvents::subscribe(&tcp4()).expect("subscribe to close events");
    let (_l, c, _s) = pair();
    let sock = ours(inode(&c), ESTAB, Detail::default());
    let cookie = sock.cookie;
    destroy(&sock).expect("destroy");
    // The aborted socket is freed once its last reference, our fd, goes.
    drop(c);
    let got = collect(&mut ev, |g| g.iter().any(|s| s.cookie == cookie));
    assert_eq!(got.iter().filter(|s| s.cookie == cookie).count(), 1);
}

#[test]
fn destroy_closes_a_udp_socket_and_not_its_neighbour() {
    if !root_or_skip("SOCK_DESTROY") {
        return;
    }
    let chosen = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let find = |u: &std::net::UdpSocket| {
        portwatch::platform::linux::netlink::dump_inet(
            portwatch::model::Proto::Udp,
            portwatch::model::Family::Ipv4,
            StateSet::ALL,
        )
        .expect("dump")
        .into_iter()
        .find(|s| s.inode == inode(u))
    };
    destroy(&find(&chosen).expect("own UDP socket")).expect("the kernel closes it");
    // udp_abort: the owner's next receive reports the abort, and the port is released.
    chosen
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let e = chosen
        .recv(&mut [0u8; 8])
        .expect_err("destroyed UDP socket");
    assert_eq!(e.raw_os_error(), Some(libc::ECONNABORTED), "{e}");
    assert!(find(&chosen).is_none(), "unhashed");
    assert!(find(&other).is_some(), "the neighbour stays");
}
