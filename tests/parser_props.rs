//! Property tests for the parsers and renderers that had none: /proc/net rows written in the
//! kernel's format parse back to the same values; services(5) and labels files (arbitrary
//! text never panics, valid files round-trip, LabelStore writes parse back); command lines
//! never panic; untrusted text escapes reversibly; JSON, CSV and the table stay well-formed
//! and give back the exact bytes of any name. `fuzz/run.sh` runs these with a large
//! PROPTEST_CASES for a time budget. This file: /proc/net rows; files.rs: services, labels
//! and other small files; render.rs: output of untrusted text, command lines.

#[path = "common/textfmt.rs"]
mod textfmt;

#[path = "parser_props/files.rs"]
mod files;
#[path = "parser_props/render.rs"]
mod render;

use portwatch::model::{Endpoint, Family, Proto, SockType, State, StateSet};
use portwatch::platform::linux::procnet::{parse_inet_bytes, parse_unix_bytes};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Bytes biased towards what breaks text handling: controls, ESC sequences, bidi and
/// zero-width characters, quotes, commas, backslashes, invalid and cut UTF-8.
pub(crate) fn nasty_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        any::<char>().prop_map(|c| c.to_string().into_bytes()),
        prop::sample::select(vec![
            "\x1b[31m",
            "\n",
            "\r\n",
            "\t",
            "\\",
            "\"",
            ",",
            " ",
            "\u{202e}",
            "\u{200b}",
            "\u{feff}",
            "\u{2028}",
            "\u{9b}",
            "\x7f",
            "é",
            "\u{1f600}",
            "\u{301}",
            "(pid=1,fd=2)",
            "\\x41",
            "\\u{202e}",
            "@",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        Just(vec![0xe2, 0x80]),
        Just(vec![0xff]),
    ];
    prop::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

fn states_all() -> StateSet {
    StateSet(u32::MAX)
}

// ---- /proc/net/{tcp,udp,raw}{,6} ----

/// One row in the kernel's format (net/ipv4/tcp_ipv4.c get_tcp4_sock and friends): the
/// address as 32-bit words printed "%08X" from memory (host order), the port "%04X".
fn inet_line(family: Family, local: (&[u8], u16), remote: (&[u8], u16), v: &InetVals) -> String {
    let addr = |a: &[u8], p: u16| {
        let words: String = a
            .chunks(4)
            .map(|w| format!("{:08X}", u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
            .collect();
        format!("{words}:{p:04X}")
    };
    let _ = family;
    format!(
        "{:>4}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:>5} {:>8} {} 1 0000000052e6b438 100 0 0 10 0",
        v.slot,
        addr(local.0, local.1),
        addr(remote.0, remote.1),
        v.state,
        v.tx,
        v.rx,
        v.uid,
        0,
        v.inode
    )
}

#[derive(Debug, Clone)]
struct InetVals {
    slot: u32,
    state: u8,
    tx: u32,
    rx: u32,
    uid: u32,
    inode: u64,
}

fn inet_vals() -> impl Strategy<Value = InetVals> {
    (
        any::<u32>(),
        1u8..=0x0f,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
    )
        .prop_map(|(slot, state, tx, rx, uid, inode)| InetVals {
            slot: slot % 100_000,
            state,
            tx,
            rx,
            uid,
            inode,
        })
}

fn ip(family: Family, b: &[u8]) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        _ => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            IpAddr::V6(Ipv6Addr::from(a))
        }
    }
}

proptest! {
    /// A row in the kernel's exact format parses to exactly the values it was written from.
    #[test]
    fn inet_rows_round_trip(
        v6 in any::<bool>(),
        la in prop::collection::vec(any::<u8>(), 16),
        ra in prop::collection::vec(any::<u8>(), 16),
        lp in any::<u16>(),
        rp in any::<u16>(),
        v in inet_vals(),
        proto in prop::sample::select(vec![Proto::Tcp, Proto::Udp, Proto::Raw]),
    ) {
        let (family, n) = if v6 { (Family::Ipv6, 16) } else { (Family::Ipv4, 4) };
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        let text = format!("{header}\n{}\n", inet_line(family, (&la[..n], lp), (&ra[..n], rp), &v));
        let p = parse_inet_bytes(text.as_bytes(), proto, family, states_all());
        prop_assert!(p.bad_lines.is_empty(), "{:?}\n{text}", p.bad_lines);
        prop_assert_eq!(p.sockets.len(), 1);
        let s = &p.sockets[0];
        prop_assert_eq!(s.proto, proto);
        prop_assert_eq!(s.family, family);
        prop_assert_eq!(s.state, State(v.state));
        prop_assert_eq!(&s.local, &Some(Endpoint::Inet { addr: ip(family, &la), port: lp }));
        prop_assert_eq!(&s.remote, &Some(Endpoint::Inet { addr: ip(family, &ra), port: rp }));
        prop_assert_eq!(s.recv_q.get(), Some(v.rx));
        // A TCP TIME-WAIT row belongs to no one: the kernel prints uid 0 there, read as unknown.
        let tw = proto == Proto::Tcp && State(v.state) == State::TIME_WAIT;
        prop_assert_eq!(s.uid.get(), (!tw).then_some(v.uid));
        prop_assert_eq!(s.inode, v.inode);
        if State(v.state) != State::LISTEN {
            prop_assert_eq!(s.send_q.get(), Some(v.tx));
        }
    }

    /// Rows damaged anywhere (bytes replaced, removed or inserted) never panic the parser,
    /// and every line is either a socket, a reported bad line or filtered by state.
    #[test]
    fn damaged_inet_rows_never_panic(
        v in inet_vals(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..8),
    ) {
        let mut line = inet_line(Family::Ipv4, (&[127, 0, 0, 1], 22), (&[0; 4], 0), &v).into_bytes();
        for (pos, byte, op) in edits {
            let at = pos % (line.len() + 1);
            match op {
                0 if at < line.len() => line[at] = byte,
                1 if at < line.len() => { line.remove(at); }
                _ => line.insert(at, byte),
            }
        }
        let lines = line.split(|&b| b == b'\n').count();
        for family in [Family::Ipv4, Family::Ipv6] {
            let p = parse_inet_bytes(&line, Proto::Tcp, family, states_all());
            prop_assert!(p.sockets.len() + p.bad_lines.len() <= lines);
            prop_assert!(p.bad_lines.iter().all(|(n, why)| *n >= 1 && *n <= lines && !why.is_empty()));
        }
    }
}

// ---- /proc/net/unix ----

proptest! {
    /// A unix row (net/unix/af_unix.c unix_seq_show: "%pK: %08X %08X %08X %04X %02X %5lu"
    /// then " " and the name byte for byte) gives back the name exactly, spaces and all;
    /// names are anything but NUL and newline (which the format cannot carry).
    #[test]
    fn unix_rows_round_trip(
        name in nasty_bytes(30).prop_map(|b| b.into_iter().filter(|&c| c != b'\n' && c != 0).collect::<Vec<u8>>()),
        listening in any::<bool>(),
        ty in prop::sample::select(vec![(1u32, SockType::Stream), (2, SockType::Dgram), (5, SockType::Seqpacket)]),
        st in 1u32..=4,
        inode in any::<u64>(),
        refcnt in any::<u32>(),
    ) {
        let flags: u32 = if listening { 1 << 16 } else { 0 };
        let mut line = format!(
            "0000000000000000: {refcnt:08X} 00000000 {flags:08X} {:04X} {st:02X} {inode:5}",
            ty.0
        ).into_bytes();
        if !name.is_empty() {
            line.push(b' ');
            line.extend_from_slice(&name);
        }
        let mut text = b"Num       RefCount Protocol Flags    Type St Inode Path\n".to_vec();
        text.extend_from_slice(&line);
        text.push(b'\n');
        let p = parse_unix_bytes(&text, states_all());
        prop_assert!(p.bad_lines.is_empty(), "{:?}", p.bad_lines);
        prop_assert_eq!(p.sockets.len(), 1);
        let s = &p.sockets[0];
        prop_assert_eq!(s.sock_type, ty.1);
        prop_assert_eq!(s.inode, inode);
        let want = if listening {
            State::LISTEN
        } else if st == 2 || st == 3 {
            State::ESTABLISHED
        } else {
            State::CLOSE
        };
        prop_assert_eq!(s.state, want);
        match &s.local {
            Some(Endpoint::Unix(n)) => prop_assert_eq!(n.display_bytes(), name),
            None => prop_assert!(name.is_empty()),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// Arbitrary text: no panic, line numbers in range.
    #[test]
    fn unix_garbage_never_panics(buf in nasty_bytes(200)) {
        let p = parse_unix_bytes(&buf, states_all());
        let lines = buf.split(|&b| b == b'\n').count();
        prop_assert!(p.sockets.len() + p.bad_lines.len() <= lines);
        prop_assert!(p.bad_lines.iter().all(|(n, _)| *n >= 1 && *n <= lines));
    }
}
