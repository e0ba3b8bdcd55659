//! Parser tests on the fixture trees (tests/fixtures/README.md lists what they hold) and on
//! this host's live tables, with procfs as an independent oracle for well-formed text.

use super::*;
use crate::model::{Endpoint, SockType, State, UnixName};
use std::net::IpAddr;
use std::path::PathBuf;

fn fixture(tree: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(tree)
}

fn text(tree: &str, file: &str) -> String {
    std::fs::read_to_string(fixture(tree).join(file)).unwrap_or_default()
}

fn inet(addr: &str, port: u16) -> Option<Endpoint> {
    Some(Endpoint::Inet {
        addr: addr.parse::<IpAddr>().ok()?,
        port,
    })
}

fn by_inode(p: &Parsed, inode: u64) -> &Socket {
    let found = p.sockets.iter().find(|s| s.inode == inode);
    found.unwrap_or_else(|| panic!("inode {inode} missing from {:#?}", p.sockets))
}

#[test]
fn tcp_v4_rows() {
    let p = parse_inet(
        &text("proc-basic", "net/tcp"),
        Proto::Tcp,
        Family::Ipv4,
        StateSet::ALL,
    );
    assert!(p.bad_lines.is_empty(), "{:?}", p.bad_lines);
    assert_eq!(p.sockets.len(), 5);

    let ssh = by_inode(&p, 20001);
    assert_eq!((ssh.proto, ssh.family), (Proto::Tcp, Family::Ipv4));
    assert_eq!(ssh.sock_type, SockType::Stream);
    assert_eq!(ssh.state, State::LISTEN);
    assert_eq!(ssh.local, inet("0.0.0.0", 22));
    assert_eq!(ssh.remote, inet("0.0.0.0", 0));
    assert_eq!(ssh.uid.get(), Some(0));
    assert_eq!(ssh.recv_q.get(), Some(0));
    assert_eq!(ssh.send_q.get(), None, "no backlog in /proc: never guessed");
    assert_eq!(ssh.v6only, None);

    let pg = by_inode(&p, 20002);
    assert_eq!(pg.local, inet("127.0.0.1", 5432));
    assert_eq!(pg.uid.get(), Some(4242));

    let server = by_inode(&p, 20003);
    assert_eq!(server.state, State::ESTABLISHED);
    assert_eq!(server.local, inet("127.0.0.1", 5432));
    assert_eq!(server.remote, inet("127.0.0.1", 50412));
    assert_eq!(server.send_q.get(), Some(0));
    let client = by_inode(&p, 20004);
    assert_eq!(client.local, inet("127.0.0.1", 50412));
    assert_eq!(client.remote, inet("127.0.0.1", 5432));

    let tw = by_inode(&p, 0);
    assert_eq!(tw.state, State::TIME_WAIT);
    assert_eq!(tw.remote, inet("127.0.0.1", 50398));
}

#[test]
fn tcp_v6_rows() {
    let p = parse_inet(
        &text("proc-basic", "net/tcp6"),
        Proto::Tcp,
        Family::Ipv6,
        StateSet::ALL,
    );
    assert!(p.bad_lines.is_empty(), "{:?}", p.bad_lines);
    assert_eq!(by_inode(&p, 20010).local, inet("::", 80));
    assert_eq!(by_inode(&p, 20012).local, inet("::1", 631));
    assert!(p.sockets.iter().all(|s| s.family == Family::Ipv6));
}

#[test]
fn v4_mapped_v6_address_word_order() {
    // Captured from this host: a listener bound to [::ffff:127.0.0.1]:6311.
    let line = "   1: 0000000000000000FFFF00000100007F:18A7 00000000000000000000000000000000:0000 \
                0A 00000000:00000000 00:00000000 00000000     0        0 25224 1 \
                000000009ee03ee7 100 0 0 10 0";
    let p = parse_inet(line, Proto::Tcp, Family::Ipv6, StateSet::ALL);
    assert_eq!(by_inode(&p, 25224).local, inet("::ffff:127.0.0.1", 6311));
}

#[test]
fn udp_and_raw_rows() {
    let udp = parse_inet(
        &text("proc-basic", "net/udp"),
        Proto::Udp,
        Family::Ipv4,
        StateSet::ALL,
    );
    let dns = by_inode(&udp, 20020);
    assert_eq!((dns.state, dns.sock_type), (State::CLOSE, SockType::Dgram));
    assert_eq!(dns.local, inet("0.0.0.0", 53));
    assert_eq!(
        dns.send_q.get(),
        Some(0),
        "only TCP listeners lack a send queue"
    );

    let udp6 = parse_inet(
        &text("proc-basic", "net/udp6"),
        Proto::Udp,
        Family::Ipv6,
        StateSet::LISTENING,
    );
    assert_eq!(by_inode(&udp6, 20021).local, inet("::", 123));

    let raw = parse_inet(
        &text("proc-basic", "net/raw"),
        Proto::Raw,
        Family::Ipv4,
        StateSet::ALL,
    );
    let icmp = by_inode(&raw, 20040);
    assert_eq!((icmp.proto, icmp.sock_type), (Proto::Raw, SockType::Raw));
    assert_eq!(icmp.local, inet("0.0.0.0", 1), "port = IP protocol (ICMP)");

    let raw6 = parse_inet(
        &text("proc-basic", "net/raw6"),
        Proto::Raw,
        Family::Ipv6,
        StateSet::ALL,
    );
    assert_eq!(raw6, Parsed::default(), "header only");
}

#[test]
fn states_filter_rows() {
    let t = text("proc-basic", "net/tcp");
    let listen = parse_inet(&t, Proto::Tcp, Family::Ipv4, StateSet::LISTENING);
    let mut inodes: Vec<u64> = listen.sockets.iter().map(|s| s.inode).collect();
    inodes.sort_unstable();
    assert_eq!(inodes, [20001, 20002]);
    let conn = parse_inet(&t, Proto::Tcp, Family::Ipv4, StateSet::CONNECTED);
    assert!(conn.sockets.iter().all(|s| s.state == State::ESTABLISHED));
    assert_eq!(conn.sockets.len(), 2);
    let udp = text("proc-basic", "net/udp");
    let none = parse_inet(&udp, Proto::Udp, Family::Ipv4, StateSet::CONNECTED);
    assert!(none.sockets.is_empty() && none.bad_lines.is_empty());
}

#[test]
fn unix_rows() {
    let p = parse_unix(&text("proc-basic", "net/unix"), StateSet::ALL);
    assert!(p.bad_lines.is_empty(), "{:?}", p.bad_lines);
    assert_eq!(p.sockets.len(), 7);

    let named = by_inode(&p, 20030);
    assert_eq!(named.state, State::LISTEN, "Flags __SO_ACCEPTCON");
    assert_eq!(named.sock_type, SockType::Stream);
    let path = UnixName {
        abstract_ns: false,
        name: "/run/my app/sock".into(),
    };
    assert_eq!(named.local, Some(Endpoint::Unix(path.clone())));
    assert_eq!(
        (named.recv_q.get(), named.send_q.get(), named.uid.get()),
        (None, None, None)
    );

    let abs = by_inode(&p, 20031);
    assert_eq!(abs.state, State::LISTEN);
    let name = UnixName {
        abstract_ns: true,
        name: "portwatch-fixture".into(),
    };
    assert_eq!(abs.local, Some(Endpoint::Unix(name)));

    let pair = by_inode(&p, 20032);
    assert_eq!((pair.state, pair.local.clone()), (State::ESTABLISHED, None));
    let accepted = by_inode(&p, 20034);
    assert_eq!(accepted.state, State::ESTABLISHED);
    assert_eq!(accepted.local, Some(Endpoint::Unix(path)));

    let dgram = by_inode(&p, 20035);
    assert_eq!(
        (dgram.sock_type, dgram.state),
        (SockType::Dgram, State::CLOSE)
    );
    assert_eq!(dgram.netid(), "u_dgr");
}

#[test]
fn unix_name_is_the_rest_of_the_line() {
    let t = "Num       RefCount Protocol Flags    Type St Inode Path\n\
             0000000000000001: 00000002 00000000 00000000 0005 01  1234  two  spaces \n\
             0000000000000002: 00000002 00000000 00000000 0001 01  1235 @\n\
             0000000000000003: 00000002 00000000 00000000 0001 01  1236 \n";
    let p = parse_unix(t, StateSet::ALL);
    assert!(p.bad_lines.is_empty(), "{:?}", p.bad_lines);
    let seq = by_inode(&p, 1234);
    assert_eq!(seq.sock_type, SockType::Seqpacket);
    let name = UnixName {
        abstract_ns: false,
        name: " two  spaces ".into(),
    };
    assert_eq!(seq.local, Some(Endpoint::Unix(name)));
    // An abstract name can be empty (autobind gives 5 hex digits, but bind() allows "").
    let empty = UnixName {
        abstract_ns: true,
        name: "".into(),
    };
    assert_eq!(by_inode(&p, 1235).local, Some(Endpoint::Unix(empty)));
    assert_eq!(by_inode(&p, 1236).local, None);
}

#[test]
fn unix_non_utf8_path_kept_as_bytes() {
    let mut t = b"0000000000000001: 00000002 00000000 00010000 0001 01  1234 /tmp/\xff".to_vec();
    t.push(b'\n');
    let p = parse_unix_bytes(&t, StateSet::ALL);
    let name = UnixName {
        abstract_ns: false,
        name: b"/tmp/\xff"[..].into(),
    };
    assert_eq!(by_inode(&p, 1234).local, Some(Endpoint::Unix(name)));
}

#[test]
fn malformed_tcp_keeps_good_rows_and_numbers_bad_ones() {
    let all_and_14 = StateSet::ALL.union(StateSet::of(&[State(14)]));
    let p = parse_inet(
        &text("proc-malformed", "net/tcp"),
        Proto::Tcp,
        Family::Ipv4,
        all_and_14,
    );
    let bad: Vec<usize> = p.bad_lines.iter().map(|(n, _)| *n).collect();
    assert_eq!(bad, [3, 5, 6, 8], "{:?}", p.bad_lines);
    assert!(p.bad_lines[0].1.contains("truncated"), "{:?}", p.bad_lines);
    assert!(p.bad_lines[2].1.contains("inode"), "{:?}", p.bad_lines);
    assert_eq!(by_inode(&p, 20001).state, State::LISTEN);
    assert_eq!(by_inode(&p, 30013).state, State::BOUND_INACTIVE);
    assert_eq!(by_inode(&p, 30014).state, State(14), "unknown state kept");
    // The same unknown state is simply not asked for by the ALL set (as with netlink).
    let p = parse_inet(
        &text("proc-malformed", "net/tcp"),
        Proto::Tcp,
        Family::Ipv4,
        StateSet::ALL,
    );
    assert!(p.sockets.iter().all(|s| s.inode != 30014));
}

#[test]
fn row_cut_inside_the_inode_is_not_a_different_socket() {
    // The case proptest found: "... 0 2" (cut from "20001 1 ...") read as inode 2.
    let t = text("proc-basic", "net/tcp");
    let row = t.lines().nth(1).unwrap_or_default();
    let end = row.find(" 20001 ").map_or(0, |i| i + 2);
    let p = parse_inet(&row[..end], Proto::Tcp, Family::Ipv4, StateSet::ALL);
    assert!(p.sockets.is_empty(), "{:?}", p.sockets);
    assert_eq!(p.bad_lines.len(), 1);
}

#[test]
fn malformed_unix_rows() {
    let p = parse_unix(&text("proc-malformed", "net/unix"), StateSet::ALL);
    let bad: Vec<usize> = p.bad_lines.iter().map(|(n, _)| *n).collect();
    assert_eq!(bad, [3, 4, 5], "{:?}", p.bad_lines);
    assert_eq!(by_inode(&p, 20030).state, State::LISTEN);
    // St 02: an embryo in the accept queue, ESTABLISHED in the kernel.
    assert_eq!(by_inode(&p, 0).state, State::ESTABLISHED);
    // St 04: orphaned, not established: CLOSE.
    assert_eq!(by_inode(&p, 30073).state, State::CLOSE);
}

#[test]
fn read_table_warns_once_per_file() {
    let root = fixture("proc-malformed");
    let q = Query {
        tcp: true,
        udp: true,
        unix: true,
        raw: true,
        ipv4: true,
        ipv6: true,
        states: StateSet::ALL,
        detail: Default::default(),
        local_ports: Default::default(),
    };
    let snap = read_sockets(&root, &q).unwrap_or_default();
    let files = ["tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix"];
    assert_eq!(snap.warnings.len(), files.len(), "{:#?}", snap.warnings);
    for f in files {
        let path = root.join("net").join(f);
        let needle = format!("{}:", path.display());
        let w = snap
            .warnings
            .iter()
            .find(|w| w.message.starts_with(&needle));
        let w = w.unwrap_or_else(|| panic!("no warning for {f}: {:#?}", snap.warnings));
        assert_eq!(w.kind, "malformed-line");
    }
    let tcp = snap
        .warnings
        .iter()
        .find(|w| w.message.contains("net/tcp:"));
    let msg = tcp.map(|w| w.message.as_str()).unwrap_or_default();
    assert!(msg.contains("skipped 4 malformed lines"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    // Every file's good row survived.
    for inode in [20001, 20010, 20020, 20021, 20040, 30060, 20030] {
        assert!(snap.sockets.iter().any(|s| s.inode == inode), "{inode}");
    }
}

#[test]
fn missing_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |f: &str, t: &str| {
        std::fs::create_dir_all(root.join("net")).expect("mkdir");
        std::fs::write(root.join(f), t).expect("write");
    };
    write("net/tcp", &text("proc-basic", "net/tcp"));
    let mut snap = Snapshot::default();
    // No IPv6 anywhere in the tree: as on a kernel booted with ipv6.disable=1, silence.
    read_table(root, Proto::Tcp, Family::Ipv6, StateSet::ALL, &mut snap);
    assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
    // A missing IPv4 table is worth saying.
    read_table(root, Proto::Raw, Family::Ipv4, StateSet::ALL, &mut snap);
    assert_eq!(snap.warnings.len(), 1);
    assert_eq!(snap.warnings[0].kind, "proto-unavailable");
    // With IPv6 present, a missing raw6 is reported too.
    write("net/tcp6", &text("proc-basic", "net/tcp6"));
    read_table(root, Proto::Raw, Family::Ipv6, StateSet::ALL, &mut snap);
    assert_eq!(snap.warnings.len(), 2);
    assert!(snap.warnings[1].message.contains("raw6"));
    read_table(root, Proto::Tcp, Family::Ipv4, StateSet::ALL, &mut snap);
    assert_eq!(snap.sockets.len(), 5);
}

proptest::proptest! {
    /// Garbage never panics and never produces a socket out of a line that was reported bad.
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        for (proto, family) in [(Proto::Tcp, Family::Ipv4), (Proto::Udp, Family::Ipv6)] {
            let p = parse_inet_bytes(&bytes, proto, family, StateSet(u32::MAX));
            let lines = bytes.split(|&b| b == b'\n').count();
            proptest::prop_assert!(p.sockets.len() + p.bad_lines.len() <= lines);
        }
        let p = parse_unix_bytes(&bytes, StateSet(u32::MAX));
        proptest::prop_assert!(p.bad_lines.iter().all(|(n, _)| *n >= 1));
    }

    /// Cutting a good row anywhere gives either the same socket (the cut only dropped
    /// trailing columns) or a reported bad line, never a different socket.
    #[test]
    fn truncated_rows_are_reported(cut in 0usize..150) {
        let t = text("proc-basic", "net/tcp");
        let row = t.lines().nth(1).unwrap_or_default();
        let cut_row = row.get(..cut.min(row.len())).unwrap_or_default();
        let full = parse_inet(row, Proto::Tcp, Family::Ipv4, StateSet::ALL);
        let p = parse_inet(cut_row, Proto::Tcp, Family::Ipv4, StateSet::ALL);
        if let Some(s) = p.sockets.first() {
            proptest::prop_assert_eq!(Some(s), full.sockets.first());
        } else if !cut_row.trim().is_empty() {
            proptest::prop_assert_eq!(p.bad_lines.len(), 1);
        }
    }
}
