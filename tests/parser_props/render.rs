//! Property tests of untrusted text on its way out (escaping, CSV, JSON, the table at any
//! width) and of command-line parsing.

use super::{nasty_bytes, textfmt};
use portwatch::model::OptU32;
use portwatch::model::Row;
use portwatch::model::{Endpoint, Family, Owner, Proto, SockType, Socket, State, Text, UnixName};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

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
        local,
        recv_q: OptU32::some(0),
        send_q: OptU32::some(128),
        inode,
        uid: OptU32::some(1000),
        ..Socket::new(proto, family, sock_type, State::LISTEN)
    });
    r.owners = Some(vec![Owner::new(4242, Text::from(comm), 7, Some(1000))].into());
    r.rare.user = user.map(Into::into);
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
        portwatch::render::json::write(&rows, &[], None, None, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
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
            // The rows carry no extras: details add nothing, and the line count holds.
            show: portwatch::render::detail::Show {
                extended: true,
                cgroup: true,
                ..Default::default()
            },
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
    "-i",
    "-m",
    "-o",
    "-s",
    "-K",
    "-E",
    "-tiom",
    "--cgroup",
    "cgroup",
    "/",
    "--sort",
    "rtt",
    "mem",
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
        use portwatch::argv::permute_args;
        use portwatch::cli::Cli;
        let mut args: Vec<std::ffi::OsString> = vec!["portwatch".into()];
        args.extend(words.iter().map(Into::into));
        if let Ok(cli) = Cli::try_parse_from(permute_args(args)) {
            if cli.command.is_none() {
                let env = portwatch::config::Env::default();
                let _ = portwatch::config::list_config(&cli.listing, &cli.output, &cli.global, &env);
                let _ = portwatch::config::mode(&cli.mode, &cli.listing, &cli.output);
            }
        }
    }
}
