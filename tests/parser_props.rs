//! Property tests for the parsers and renderers that had none: /proc/net rows written in the
//! kernel's format parse back to the same values; services(5) and labels files (arbitrary
//! text never panics, valid files round-trip, LabelStore writes parse back); command lines
//! never panic; untrusted text escapes reversibly; JSON, CSV and the table stay well-formed
//! and give back the exact bytes of any name. `fuzz/run.sh` runs these with a large
//! PROPTEST_CASES for a time budget.

#[path = "common/textfmt.rs"]
mod textfmt;

use portwatch::join::Row;
use portwatch::model::{
    Endpoint, Family, Owner, Proto, SockType, Socket, State, StateSet, Text, UnixName,
};
use portwatch::platform::linux::procnet::{parse_inet_bytes, parse_unix_bytes};
use portwatch::registry::{labels, services};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Bytes biased towards what breaks text handling: controls, ESC sequences, bidi and
/// zero-width characters, quotes, commas, backslashes, invalid and cut UTF-8.
fn nasty_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
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
        prop_assert_eq!(s.recv_q, Some(v.rx));
        // A TCP TIME-WAIT row belongs to no one: the kernel prints uid 0 there, read as unknown.
        let tw = proto == Proto::Tcp && State(v.state) == State::TIME_WAIT;
        prop_assert_eq!(s.uid, (!tw).then_some(v.uid));
        prop_assert_eq!(s.inode, v.inode);
        if State(v.state) != State::LISTEN {
            prop_assert_eq!(s.send_q, Some(v.tx));
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

// ---- services(5) ----

fn svc_word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._+-]{0,15}"
}

proptest! {
    #[test]
    fn services_garbage_never_panics(text in nasty_bytes(300).prop_map(|b| String::from_utf8_lossy(&b).into_owned())) {
        let (entries, bad) = services::parse(&text);
        let lines = text.lines().count();
        prop_assert!(bad.iter().all(|b| b.line >= 1 && b.line <= lines && !b.msg.is_empty()));
        prop_assert!(entries.iter().all(|e| e.line >= 1 && e.line <= lines));
        prop_assert!(bad.windows(2).all(|w| w[0].line < w[1].line));
    }

    /// Well-formed lines (with blanks, comments and aliases) parse to what was written.
    #[test]
    fn services_round_trip(
        lines in prop::collection::vec((
            svc_word(),
            any::<u16>(),
            prop::sample::select(vec!["tcp", "udp", "sctp", "dccp", "TCP"]),
            prop::collection::vec(svc_word(), 0..3),
            prop::option::of("[ -~\u{e9}\u{4e2d}]{0,30}"),
            prop::sample::select(vec![" ", "\t", " \t ", "\t\t"]),
        ), 0..12),
    ) {
        let mut text = String::from("# services\n\n");
        for (name, port, proto, aliases, comment, sep) in &lines {
            text.push_str(&format!("{name}{sep}{port}/{proto}"));
            for a in aliases {
                text.push_str(&format!("{sep}{a}"));
            }
            if let Some(c) = comment {
                text.push_str(&format!("{sep}#{c}"));
            }
            text.push('\n');
        }
        let (entries, bad) = services::parse(&text);
        prop_assert!(bad.is_empty(), "{:?}\n{}", bad, text);
        prop_assert_eq!(entries.len(), lines.len());
        for (i, (e, (name, port, proto, aliases, comment, _))) in entries.iter().zip(&lines).enumerate() {
            prop_assert_eq!(&e.name, name);
            prop_assert_eq!(e.port, *port);
            prop_assert_eq!(e.proto, proto.to_ascii_lowercase());
            prop_assert_eq!(&e.aliases, aliases);
            let desc = comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
            prop_assert_eq!(e.description.as_deref(), desc);
            prop_assert_eq!(e.line, i + 3);
        }
    }
}

// ---- labels ----

/// A valid label: unique PORT/PROTO, a one-word name, an optional one-line description.
fn label_set() -> impl Strategy<Value = Vec<(u16, &'static str, String, Option<String>)>> {
    let one = (
        any::<u16>(),
        prop::sample::select(vec!["tcp", "udp", "sctp", "dccp"]),
        "[^\\s#\\p{Cc}][^\\s\\p{Cc}]{0,15}",
        prop::option::of("[^\\p{Cc}]{0,30}"),
    )
        .prop_filter("valid name", |(_, _, n, _)| {
            labels::validate_name(n).is_ok()
        })
        .prop_map(|(p, proto, n, d)| {
            let d = d.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
            (p, proto, n, d)
        });
    prop::collection::vec(one, 0..10).prop_map(|v| {
        let mut seen = BTreeMap::new();
        v.into_iter()
            .filter(|l| seen.insert((l.0, l.1), ()).is_none())
            .collect()
    })
}

proptest! {
    #[test]
    fn labels_garbage_never_panics(text in nasty_bytes(300).prop_map(|b| String::from_utf8_lossy(&b).into_owned())) {
        match labels::parse(&text, Path::new("labels")) {
            Ok(ls) => {
                for l in &ls {
                    prop_assert!(labels::validate_name(&l.name).is_ok());
                    prop_assert!(l.line >= 1);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// `Label::to_line` output parses back to the same labels.
    #[test]
    fn label_lines_round_trip(set in label_set()) {
        let text: String = set
            .iter()
            .map(|(port, proto, name, desc)| {
                labels::Label {
                    port: *port,
                    proto,
                    name: name.clone(),
                    description: desc.clone(),
                    line: 0,
                }
                .to_line()
                    + "\n"
            })
            .collect();
        let got = labels::parse(&text, Path::new("labels")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<_> = got.into_iter().map(|l| (l.port, l.proto, l.name, l.description)).collect();
        prop_assert_eq!(got, set);
    }
}

proptest! {
    // File I/O with fsync per label: fewer cases than the pure properties.
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases / 8 + 1, ..ProptestConfig::default() })]

    /// Labels written by `LabelStore::set` (and some removed) read back as the same labels.
    #[test]
    fn label_store_writes_parse_back(set in label_set(), remove_mask in any::<u16>()) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let store = labels::LabelStore::open(dir.path().join("labels"));
        for (port, proto, name, desc) in &set {
            store.set(*port, proto, name, desc.as_deref()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let mut want = Vec::new();
        for (i, l) in set.iter().enumerate() {
            if remove_mask & (1 << (i % 16)) != 0 {
                let old = store.remove(l.0, l.1).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(old.map(|o| o.name), Some(l.2.clone()));
            } else {
                want.push(l.clone());
            }
        }
        let got = store.list().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<_> = got.into_iter().map(|l| (l.port, l.proto, l.name, l.description)).collect();
        prop_assert_eq!(got, want);
    }
}

// ---- untrusted text and renderers ----

proptest! {
    /// The escape of any bytes holds no dangerous character and unescapes (README rules) to
    /// the same bytes.
    #[test]
    fn escape_is_safe_and_reversible(b in nasty_bytes(40)) {
        let e = portwatch::render::sanitize::escape(&b);
        prop_assert!(!e.chars().any(|c| textfmt::is_dangerous(c) || c == '\n' || c == '\t'), "{:?}", e);
        prop_assert_eq!(textfmt::unescape(&e), Ok(b));
    }
}

fn row(unix_name: Option<(bool, Vec<u8>)>, comm: Vec<u8>, user: Option<String>, inode: u64) -> Row {
    let (proto, family, sock_type, local) = match unix_name {
        Some((abstract_ns, name)) => (
            Proto::Unix,
            Family::Unix,
            SockType::Stream,
            Some(Endpoint::Unix(UnixName {
                abstract_ns,
                name: Text::from(name),
            })),
        ),
        None => (
            Proto::Tcp,
            Family::Ipv4,
            SockType::Stream,
            Some(Endpoint::Inet {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 8080,
            }),
        ),
    };
    let mut r = Row::new(Socket {
        proto,
        family,
        sock_type,
        state: State::LISTEN,
        local,
        remote: None,
        recv_q: Some(0),
        send_q: Some(128),
        inode,
        uid: Some(1000),
        v6only: None,
        peer_inode: None,
        iface: None,
        netns: None,
        cgroup: None,
    });
    r.owners = Some(vec![Owner {
        pid: 4242,
        comm: Text::from(comm),
        fd: 7,
        uid: Some(1000),
    }]);
    r.user = user.map(Into::into);
    r
}

/// A row to render: (unix name as (abstract, bytes), or a TCP socket), owner comm, user.
type RowSpec = (Option<(bool, Vec<u8>)>, Vec<u8>, Option<String>);

fn rows_strategy() -> impl Strategy<Value = Vec<RowSpec>> {
    prop::collection::vec(
        (
            prop::option::of((any::<bool>(), nasty_bytes(12))),
            nasty_bytes(8),
            prop::option::of(nasty_bytes(6).prop_map(|b| String::from_utf8_lossy(&b).into_owned())),
        ),
        1..6,
    )
}

proptest! {
    /// CSV of rows with hostile names: RFC 4180, one field per header column, no raw
    /// dangerous character, and names unescape to the exact bytes.
    #[test]
    fn csv_round_trips_hostile_names(specs in rows_strategy()) {
        let rows: Vec<Row> = specs.iter().enumerate()
            .map(|(i, (u, c, user))| row(u.clone(), c.clone(), user.clone(), i as u64 + 1))
            .collect();
        let mut out = Vec::new();
        portwatch::render::csv::write(&rows, true, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!text.chars().any(textfmt::is_dangerous), "{:?}", text);
        let recs = textfmt::parse_csv(&text).map_err(TestCaseError::fail)?;
        prop_assert_eq!(recs.len(), rows.len() + 1);
        let header = &recs[0];
        prop_assert!(recs.iter().all(|r| r.len() == header.len()));
        let col = |n: &str| header.iter().position(|h| h == n).unwrap_or(usize::MAX);
        for (rec, (r, (u, comm, _))) in recs[1..].iter().zip(rows.iter().zip(&specs)) {
            if let Some((abs, name)) = u {
                let mut want = if *abs { vec![b'@'] } else { vec![] };
                want.extend_from_slice(name);
                prop_assert_eq!(textfmt::unescape(&rec[col("local_addr")]), Ok(want));
            }
            let cell = &rec[col("owners")];
            let cut = cell.rfind("(pid=4242,fd=7)").unwrap_or(usize::MAX);
            prop_assert_eq!(cell.get(cut..), Some("(pid=4242,fd=7)"), "{}", cell);
            prop_assert_eq!(textfmt::unescape(&cell[..cut]), Ok(comm.clone()));
            prop_assert_eq!(&rec[col("inode")], &r.sock.inode.to_string());
        }
    }

    /// JSON of rows with hostile names parses, and `comm`/`path` (or their `_hex` twins)
    /// give the exact bytes.
    #[test]
    fn json_round_trips_hostile_names(specs in rows_strategy()) {
        let rows: Vec<Row> = specs.iter().enumerate()
            .map(|(i, (u, c, user))| row(u.clone(), c.clone(), user.clone(), i as u64 + 1))
            .collect();
        let mut out = Vec::new();
        portwatch::render::json::write(&rows, &[], &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let doc: serde_json::Value = serde_json::from_slice(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let socks = doc["sockets"].as_array().cloned().unwrap_or_default();
        prop_assert_eq!(socks.len(), rows.len());
        let exact = |obj: &serde_json::Value, key: &str| -> Option<Vec<u8>> {
            match obj.get(format!("{key}_hex")) {
                Some(h) => textfmt::unhex(h.as_str()?),
                None => Some(obj.get(key)?.as_str()?.as_bytes().to_vec()),
            }
        };
        for (s, (u, comm, _)) in socks.iter().zip(&specs) {
            if let Some((abs, name)) = u {
                let mut want = if *abs { vec![b'@'] } else { vec![] };
                want.extend_from_slice(name);
                prop_assert_eq!(exact(&s["local"], "path"), Some(want));
            }
            prop_assert_eq!(exact(&s["owners"][0], "comm"), Some(comm.clone()));
        }
    }

    /// The table, piped or fitted to any width, never panics and never lets a dangerous
    /// character through.
    #[test]
    fn table_is_clean_at_any_width(specs in rows_strategy(), width in prop::option::of(0usize..160)) {
        use portwatch::render::{table, Column};
        let rows: Vec<Row> = specs.iter().enumerate()
            .map(|(i, (u, c, user))| row(u.clone(), c.clone(), user.clone(), i as u64 + 1))
            .collect();
        let opts = table::TableOpts {
            columns: vec![
                Column::Netid, Column::State, Column::RecvQ, Column::SendQ, Column::Local,
                Column::Peer, Column::Service, Column::User, Column::Inode, Column::Process,
            ],
            header: true,
            fit_width: width,
        };
        let mut out = Vec::new();
        table::write(&rows, &opts, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!text.chars().any(textfmt::is_dangerous), "{:?}", text);
        prop_assert_eq!(text.lines().count(), rows.len() + 1);
    }
}

// ---- command lines ----

const ARG_WORDS: &[&str] = &[
    "-l",
    "-a",
    "-t",
    "-u",
    "-x",
    "-w",
    "-4",
    "-6",
    "-n",
    "-p",
    "-e",
    "-H",
    "-lntp",
    "-antup",
    "-ltn4",
    "--json",
    "--csv",
    "--pid",
    "1",
    "-c",
    "--command",
    "nginx",
    "-U",
    "--user",
    "root",
    "--backend",
    "netlink",
    "proc",
    "netstat2",
    "auto",
    "--services",
    "--labels",
    "/nonexistent",
    "state",
    "listening",
    "established",
    "sport",
    "dport",
    ":22",
    "= :80",
    "and",
    "or",
    "not",
    "(",
    ")",
    "src",
    "dst",
    "127.0.0.1",
    "[::1]",
    "explain",
    "label",
    "set",
    "rm",
    "list",
    "22/tcp",
    "8080",
    "--",
    "-",
    "",
    "proc",
    "pid",
    "service",
    "ssh",
    "--help",
    "--version",
    "--proc-root",
    "\u{202e}",
    "-=",
    "--=",
    "-lp--json",
];

proptest! {
    /// Any command line built from real flags, filter words and junk parses or fails with a
    /// usage error; an accepted list command resolves its config without panicking.
    #[test]
    fn command_lines_never_panic(
        words in prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(ARG_WORDS).prop_map(str::to_string),
                1 => nasty_bytes(6).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            ],
            0..8,
        ),
    ) {
        use clap::Parser;
        use portwatch::cli::{permute_args, Cli};
        let mut args: Vec<std::ffi::OsString> = vec!["portwatch".into()];
        args.extend(words.iter().map(Into::into));
        if let Ok(cli) = Cli::try_parse_from(permute_args(args)) {
            if cli.command.is_none() {
                let env = portwatch::config::Env {
                    stdout_tty: false,
                    term_width: None,
                    portwatch_labels: None,
                    xdg_config_home: None,
                    home: None,
                };
                let _ = portwatch::config::list_config(&cli.list, &cli.global, &env);
            }
        }
    }
}

// ---- small parsers of user and system text ----

proptest! {
    /// `explain PORT[/PROTO]`: any spec resolves or is refused with a message.
    #[test]
    fn explain_specs_never_panic(
        spec in prop_oneof![
            "[0-9]{0,7}(/[a-zA-Z]{0,5})?",
            "[a-z-]{0,12}(/(tcp|udp|TCP|sctp|dccp|x))?",
            nasty_bytes(12).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
    ) {
        let reg = portwatch::registry::Registry::builtin();
        match portwatch::registry::explain::parse_spec(&reg, &spec) {
            Ok((port, _)) => {
                // A numeric spec is that number.
                let num = spec.split('/').next().unwrap_or_default();
                if let Ok(n) = num.parse::<u16>() {
                    prop_assert_eq!(port, n);
                }
            }
            Err(m) => prop_assert!(!m.is_empty()),
        }
    }

    /// `sys/net/ipv4/ip_local_port_range` with any content: a range with lo <= hi or none.
    #[test]
    fn ephemeral_range_file_never_panics(text in prop_oneof![
        "[0-9]{1,6}[ \t]{1,3}[0-9]{1,6}\n?",
        nasty_bytes(20).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let f = dir.path().join("sys/net/ipv4");
        std::fs::create_dir_all(&f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(f.join("ip_local_port_range"), &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let opts = portwatch::platform::SourceOptions {
            proc_root: dir.path().to_path_buf(),
            fixture: true,
            ..Default::default()
        };
        if let Some((lo, hi)) = portwatch::platform::ephemeral_range(&opts) {
            prop_assert!(lo <= hi);
            let nums: Vec<u16> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            prop_assert_eq!(&nums[..2.min(nums.len())], &[lo, hi][..]);
        }
    }
}
