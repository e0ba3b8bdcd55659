//! Live checks of the netlink sock_diag backend: each test opens its own sockets on loopback
//! (or in a temp dir / the abstract namespace), dumps, and finds them by port or inode.
#![cfg(target_os = "linux")]

use nix::sys::socket::{
    self as nsock, bind, listen, setsockopt, sockopt, AddressFamily, Backlog, SockFlag,
    SockType as NixType, SockaddrIn, SockaddrIn6,
};
use portwatch::model::{
    Detail, Endpoint, Family, Proto, SockType, Socket, State, StateSet, UnixName,
};
use portwatch::platform::linux::netlink::{dump_inet, dump_inet_ports, dump_unix, DumpError};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixListener, UnixStream};

fn inode(fd: impl AsFd) -> u64 {
    nix::sys::stat::fstat(fd).expect("fstat").st_ino
}

/// An inode as `Socket::peer_inode` holds it (socket inodes are 32-bit).
fn nz32(inode: u64) -> Option<std::num::NonZeroU32> {
    u32::try_from(inode)
        .ok()
        .and_then(std::num::NonZeroU32::new)
}

fn uid() -> Option<u32> {
    Some(nix::unistd::geteuid().as_raw())
}

fn at(addr: SocketAddr) -> Option<Endpoint> {
    Some(Endpoint::Inet {
        addr: addr.ip(),
        port: addr.port(),
    })
}

fn by_inode(v: &[Socket], ino: u64) -> Option<&Socket> {
    v.iter().find(|s| s.inode == ino)
}

/// A TCP listener made by hand so the test controls v6only and the backlog.
fn tcp_listener(addr: SocketAddr, v6only: Option<bool>, backlog: i32) -> TcpListener {
    let af = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd: OwnedFd =
        nsock::socket(af, NixType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
    if let Some(v) = v6only {
        setsockopt(&fd, sockopt::Ipv6V6Only, &v).expect("IPV6_V6ONLY");
    }
    match addr {
        SocketAddr::V4(a) => bind(fd.as_raw_fd(), &SockaddrIn::from(a)),
        SocketAddr::V6(a) => bind(fd.as_raw_fd(), &SockaddrIn6::from(a)),
    }
    .expect("bind");
    listen(&fd, Backlog::new(backlog).expect("backlog")).expect("listen");
    TcpListener::from(fd)
}

const LISTEN: StateSet = StateSet(1 << 10);
const ESTAB: StateSet = StateSet(1 << 1);
const UNCONN: StateSet = StateSet(1 << 7);

#[test]
fn tcp4_listener_with_backlog() {
    let l = tcp_listener("127.0.0.1:0".parse().unwrap(), None, 37);
    let addr = l.local_addr().unwrap();
    let socks = dump_inet(Proto::Tcp, Family::Ipv4, LISTEN).expect("dump");
    let s = socks
        .iter()
        .find(|s| s.local == at(addr))
        .expect("own listener in dump");
    assert_eq!(
        (s.proto, s.family, s.sock_type),
        (Proto::Tcp, Family::Ipv4, SockType::Stream)
    );
    assert_eq!(s.state, State::LISTEN);
    // ss prints a listener's backlog as Send-Q: what listen() was given (below somaxconn).
    assert_eq!((s.recv_q.get(), s.send_q.get()), (Some(0), Some(37)));
    assert_eq!(s.inode, inode(&l));
    assert_eq!(s.uid.get(), uid());
    assert_eq!(s.v6only, None);
    assert_eq!(s.remote.as_ref().and_then(Endpoint::port), Some(0));

    // Cross-check with ss when it is installed: same inode and Send-Q.
    let out = std::process::Command::new("ss")
        .args(["-tlnHe", &format!("sport = :{}", addr.port())])
        .output();
    if let Some(out) = out.ok().filter(|o| o.status.success()) {
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().next().expect("ss shows the listener");
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.get(2).copied(), Some("37"), "{line}");
        let ino = cols.iter().find_map(|c| c.strip_prefix("ino:"));
        assert_eq!(ino, Some(s.inode.to_string().as_str()), "{line}");
    }
}

#[test]
fn tcp6_v6only_and_dual_stack_listeners() {
    let only = tcp_listener("[::1]:0".parse().unwrap(), Some(true), 8);
    let dual = tcp_listener("[::]:0".parse().unwrap(), Some(false), 8);
    let socks = dump_inet(Proto::Tcp, Family::Ipv6, LISTEN).expect("dump");
    let s = by_inode(&socks, inode(&only)).expect("v6only listener");
    assert_eq!(s.local, at(only.local_addr().unwrap()));
    assert_eq!(
        (s.family, s.v6only, s.state),
        (Family::Ipv6, Some(true), State::LISTEN)
    );
    assert!(!s.serves_ipv4());
    let s = by_inode(&socks, inode(&dual)).expect("dual-stack listener");
    assert_eq!(s.local, at(dual.local_addr().unwrap()));
    assert_eq!(s.v6only, Some(false));
    assert!(s.serves_ipv4());
}

#[test]
fn tcp4_established_pair_and_kernel_state_filter() {
    let l = tcp_listener("127.0.0.1:0".parse().unwrap(), None, 4);
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    let (ci, si, li) = (inode(&client), inode(&server), inode(&l));

    let est = dump_inet(Proto::Tcp, Family::Ipv4, ESTAB).expect("dump");
    let c = by_inode(&est, ci).expect("client end");
    let s = by_inode(&est, si).expect("server end");
    assert_eq!((c.state, s.state), (State::ESTABLISHED, State::ESTABLISHED));
    assert_eq!(c.local, at(client.local_addr().unwrap()));
    assert_eq!(c.remote, at(client.peer_addr().unwrap()));
    assert_eq!(s.local, c.remote);
    assert_eq!(s.remote, c.local);
    assert!(
        by_inode(&est, li).is_none(),
        "ESTAB-only dump returned a listener"
    );

    let lis = dump_inet(Proto::Tcp, Family::Ipv4, LISTEN).expect("dump");
    assert!(by_inode(&lis, li).is_some());
    assert!(by_inode(&lis, ci).is_none() && by_inode(&lis, si).is_none());
    assert!(lis.iter().all(|s| s.state == State::LISTEN));
}

/// The kernel filters a dump by local port (the bytecode `sport = :P` becomes): exactly the
/// sockets on the ports asked for come back, of every state asked for, and a program the
/// kernel's audit refused would fail the dump.
#[test]
fn kernel_filters_by_local_port() {
    let a = tcp_listener("127.0.0.1:0".parse().unwrap(), None, 4);
    let b = tcp_listener("127.0.0.1:0".parse().unwrap(), None, 4);
    let c = tcp_listener("127.0.0.1:0".parse().unwrap(), None, 4);
    let client = TcpStream::connect(a.local_addr().unwrap()).unwrap();
    let (server, _) = a.accept().unwrap();
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    let both = StateSet(LISTEN.0 | ESTAB.0);
    let mut ports = [port(&a), port(&b)];
    ports.sort_unstable();
    let got = dump_inet_ports(
        Proto::Tcp,
        Family::Ipv4,
        both,
        Detail::default(),
        Some(&ports),
    )
    .expect("filtered dump");
    assert!(got
        .iter()
        .all(|s| ports.contains(&s.local.as_ref().and_then(Endpoint::port).unwrap_or(0))));
    let mut inodes: Vec<u64> = got.iter().map(|s| s.inode).collect();
    inodes.sort_unstable();
    let mut want = vec![inode(&a), inode(&b), inode(&server)];
    want.sort_unstable();
    assert_eq!(
        inodes, want,
        "both listeners and the accepted end, not the client's"
    );
    assert!(by_inode(&got, inode(&c)).is_none() && by_inode(&got, inode(&client)).is_none());
    // One port, and none.
    let one = dump_inet_ports(
        Proto::Tcp,
        Family::Ipv4,
        LISTEN,
        Detail::default(),
        Some(&[port(&c)]),
    );
    let one: Vec<u64> = one.expect("dump").iter().map(|s| s.inode).collect();
    assert_eq!(one, [inode(&c)]);
    let none = dump_inet_ports(
        Proto::Tcp,
        Family::Ipv4,
        LISTEN,
        Detail::default(),
        Some(&[]),
    );
    assert!(none.expect("no dump").is_empty());
}

/// A dump longer than the datagrams parsed on the calling thread moves reception to a
/// thread of its own (netlink.rs, `pipelined`): thousands of sockets take that path, and
/// every one must come back exactly once.
#[test]
fn a_dump_of_many_datagrams_has_every_socket_once() {
    const N: usize = 4000;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read only the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        let need = (N + 512) as libc::rlim_t;
        assert!(
            lim.rlim_max >= need,
            "RLIMIT_NOFILE hard limit below {need}"
        );
        if lim.rlim_cur < need {
            lim.rlim_cur = need;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
    }
    let socks: Vec<UdpSocket> = (0..N)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let dumped = dump_inet(Proto::Udp, Family::Ipv4, UNCONN).expect("dump");
    let mut seen = std::collections::HashMap::new();
    for s in &dumped {
        *seen.entry(s.inode).or_insert(0) += 1;
    }
    for u in &socks {
        let ino = inode(u);
        assert_eq!(seen.get(&ino), Some(&1), "socket {ino} in the dump once");
        let s = by_inode(&dumped, ino).unwrap();
        assert_eq!(s.local, at(u.local_addr().unwrap()));
    }
}

#[test]
fn udp_bound_sockets_are_close_and_connected_are_estab() {
    let u4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let u6 = UdpSocket::bind("[::1]:0").unwrap();
    let conn = UdpSocket::bind("127.0.0.1:0").unwrap();
    conn.connect(u4.local_addr().unwrap()).unwrap();

    let v4 = dump_inet(Proto::Udp, Family::Ipv4, UNCONN).expect("dump");
    let s = by_inode(&v4, inode(&u4)).expect("udp4");
    assert_eq!(
        (s.proto, s.sock_type, s.state),
        (Proto::Udp, SockType::Dgram, State::CLOSE)
    );
    assert_eq!(s.local, at(u4.local_addr().unwrap()));
    assert!(by_inode(&v4, inode(&conn)).is_none());

    let est = dump_inet(Proto::Udp, Family::Ipv4, ESTAB).expect("dump");
    let s = by_inode(&est, inode(&conn)).expect("connected udp");
    assert_eq!(s.remote, at(u4.local_addr().unwrap()));

    let v6 = dump_inet(Proto::Udp, Family::Ipv6, UNCONN).expect("dump");
    let s = by_inode(&v6, inode(&u6)).expect("udp6");
    assert_eq!(s.local, at(u6.local_addr().unwrap()));
    let truth = nsock::getsockopt(&u6, sockopt::Ipv6V6Only).expect("getsockopt");
    assert_eq!(s.v6only, Some(truth));
}

#[test]
fn unix_listener_odd_path_and_queues() {
    let dir = tempfile::tempdir().unwrap();
    // A space, a newline and a byte that is not UTF-8: names are raw bytes.
    let path = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"port watch\n\xff.sock"));
    let fd = nsock::socket(
        AddressFamily::Unix,
        NixType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    bind(fd.as_raw_fd(), &nsock::UnixAddr::new(&path).unwrap()).expect("bind");
    listen(&fd, Backlog::new(7).unwrap()).expect("listen");
    let l = UnixListener::from(fd);
    // One connection waiting in the accept queue: ss shows it as the listener's Recv-Q.
    let _pending = UnixStream::connect(&path).unwrap();

    let socks = dump_unix(LISTEN).expect("dump");
    let s = by_inode(&socks, inode(&l)).expect("own listener");
    let want = UnixName {
        abstract_ns: false,
        name: path.as_os_str().as_encoded_bytes().into(),
    };
    assert_eq!(s.local, Some(Endpoint::Unix(want)));
    assert_eq!(
        (s.state, s.sock_type, s.proto),
        (State::LISTEN, SockType::Stream, Proto::Unix)
    );
    assert_eq!((s.recv_q.get(), s.send_q.get()), (Some(1), Some(7)));
    assert_eq!(s.uid.get(), uid());
    assert!(socks.iter().all(|s| s.state == State::LISTEN));
}

#[test]
fn unix_abstract_name() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("portwatch-test {} \u{e9}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    let socks = dump_unix(StateSet::ALL).expect("dump");
    let s = by_inode(&socks, inode(&l)).expect("abstract listener");
    let want = UnixName {
        abstract_ns: true,
        name: name.as_str().into(),
    };
    assert_eq!(s.local, Some(Endpoint::Unix(want)));
}

#[test]
fn unix_socketpairs_name_each_other_as_peers() {
    let (a, b) = UnixStream::pair().unwrap();
    let (c, d) = nsock::socketpair(
        AddressFamily::Unix,
        NixType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .unwrap();
    let socks = dump_unix(StateSet::ALL).expect("dump");
    for (x, y, ty) in [
        (inode(&a), inode(&b), SockType::Stream),
        (inode(&c), inode(&d), SockType::Seqpacket),
    ] {
        let sx = by_inode(&socks, x).expect("first end");
        let sy = by_inode(&socks, y).expect("second end");
        assert_eq!((sx.peer_inode, sy.peer_inode), (nz32(y), nz32(x)));
        assert_eq!(
            (sx.local.clone(), sx.state, sx.sock_type),
            (None, State::ESTABLISHED, ty)
        );
        assert_eq!(sy.remote, None);
    }
}

/// Without CONFIG_INET_RAW_DIAG the kernel ends the raw dump with NLMSG_DONE carrying -ENOENT.
/// Whatever this kernel supports, a raw socket that exists must never be reported as an empty
/// table: either the dump finds it or it fails with the kernel's code.
#[test]
fn raw_dump_is_truthful() {
    let raw = nsock::socket(
        AddressFamily::Inet,
        NixType::Raw,
        SockFlag::SOCK_CLOEXEC,
        nsock::SockProtocol::Icmp,
    );
    match (dump_inet(Proto::Raw, Family::Ipv4, StateSet::ALL), raw) {
        (Err(DumpError::Kernel(code)), _) => assert!(code > 0),
        (Ok(socks), Ok(fd)) => {
            let s = by_inode(&socks, inode(&fd)).expect("own raw socket");
            assert_eq!((s.proto, s.sock_type), (Proto::Raw, SockType::Raw));
        }
        // Not allowed to open a raw socket (not root): only the error kind is checkable.
        (Ok(_), Err(_)) => {}
        (Err(e), _) => panic!("raw dump failed with a non-kernel error: {e}"),
    }
}
