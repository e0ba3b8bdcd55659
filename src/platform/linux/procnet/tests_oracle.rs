//! procfs 0.18 as an independent oracle: on well-formed text (the fixture tree and this host's
//! live tables, each read once and parsed by both) it must agree with our parsers.

use super::*;
use crate::model::Endpoint;
use procfs::net::{TcpNetEntries, UdpNetEntries, UnixNetEntries};
use procfs::{ExplicitSystemInfo, FromBufRead, FromBufReadSI};
use std::net::SocketAddr;
use std::path::PathBuf;

/// (local, remote, state, inode, uid, rx_queue)
type Row = (SocketAddr, SocketAddr, u8, u64, u32, u32);

fn info() -> ExplicitSystemInfo {
    ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: 100,
        page_size: 4096,
        is_little_endian: cfg!(target_endian = "little"),
    }
}

fn sa(e: &Option<Endpoint>) -> SocketAddr {
    match e {
        Some(Endpoint::Inet { addr, port }) => SocketAddr::new(*addr, *port),
        other => panic!("not an inet endpoint: {other:?}"),
    }
}

fn ours(buf: &[u8], proto: Proto, family: Family) -> Vec<Row> {
    let p = parse_inet_bytes(buf, proto, family, StateSet(u32::MAX));
    assert!(p.bad_lines.is_empty(), "{:?}", p.bad_lines);
    let mut v: Vec<Row> = p
        .sockets
        .iter()
        .map(|s| {
            let uid = s.uid.get().unwrap_or(u32::MAX);
            let rx = s.recv_q.get().unwrap_or(u32::MAX);
            (sa(&s.local), sa(&s.remote), s.state.0, s.inode, uid, rx)
        })
        .collect();
    v.sort();
    v
}

/// procfs's rows, or `None` when procfs rejects the table (e.g. a BOUND_INACTIVE socket).
fn theirs(buf: &[u8], proto: Proto) -> Option<Vec<Row>> {
    let mut v: Vec<Row> = match proto {
        Proto::Tcp => TcpNetEntries::from_buf_read(buf, &info())
            .ok()?
            .0
            .into_iter()
            .map(|e| {
                let st = e.state.to_u8();
                // Ours reports no uid for TIME-WAIT (the kernel's 0 there means "none").
                let uid = if st == 6 { u32::MAX } else { e.uid };
                (
                    e.local_address,
                    e.remote_address,
                    st,
                    e.inode,
                    uid,
                    e.rx_queue,
                )
            })
            .collect(),
        _ => UdpNetEntries::from_buf_read(buf, &info())
            .ok()?
            .0
            .into_iter()
            .map(|e| {
                let st = e.state.to_u8();
                (
                    e.local_address,
                    e.remote_address,
                    st,
                    e.inode,
                    e.uid,
                    e.rx_queue,
                )
            })
            .collect(),
    };
    v.sort();
    Some(v)
}

const TABLES: [(&str, Proto, Family); 4] = [
    ("net/tcp", Proto::Tcp, Family::Ipv4),
    ("net/tcp6", Proto::Tcp, Family::Ipv6),
    ("net/udp", Proto::Udp, Family::Ipv4),
    ("net/udp6", Proto::Udp, Family::Ipv6),
];

#[test]
fn fixture_agrees_with_procfs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc-basic");
    for (file, proto, family) in TABLES {
        let buf = std::fs::read(root.join(file)).expect("fixture table");
        let theirs = theirs(&buf, proto).expect("procfs parses the well-formed fixture");
        assert!(!theirs.is_empty(), "{file}");
        assert_eq!(ours(&buf, proto, family), theirs, "{file}");
    }
}

#[test]
fn live_tables_agree_with_procfs() {
    for (file, proto, family) in TABLES {
        // One read, two parsers: the table changes between reads on a live host.
        let Ok(buf) = std::fs::read(std::path::Path::new("/proc").join(file)) else {
            continue;
        };
        if let Some(theirs) = theirs(&buf, proto) {
            assert_eq!(ours(&buf, proto, family), theirs, "/proc/{file}");
        }
    }
}

#[test]
fn unix_agrees_with_procfs_where_procfs_is_right() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc-basic");
    for buf in [
        std::fs::read(root.join("net/unix")).expect("fixture"),
        std::fs::read("/proc/net/unix").unwrap_or_default(),
    ] {
        let Ok(theirs) = UnixNetEntries::from_buf_read(&buf[..]) else {
            continue;
        };
        let p = parse_unix_bytes(&buf, StateSet::ALL);
        assert!(p.bad_lines.is_empty(), "{:?}", p.bad_lines);
        assert_eq!(p.sockets.len(), theirs.0.len());
        for (s, e) in p.sockets.iter().zip(&theirs.0) {
            assert_eq!(s.inode, e.inode);
            let ty = match s.sock_type {
                crate::model::SockType::Dgram => 2,
                crate::model::SockType::Seqpacket => 5,
                _ => 1,
            };
            assert_eq!(ty, e.socket_type);
            let name = match &s.local {
                Some(Endpoint::Unix(n)) => Some(n.display_bytes()),
                _ => None,
            };
            // procfs cuts a path at its first space: compare up to it.
            let theirs_name = e.path.as_ref().map(|p| p.as_os_str().as_encoded_bytes());
            match (name, theirs_name) {
                (Some(n), Some(t)) => assert!(n.starts_with(t), "{n:?} vs {t:?}"),
                (n, t) => assert_eq!(n.is_none(), t.is_none(), "{:?}", s.local),
            }
        }
    }
}
