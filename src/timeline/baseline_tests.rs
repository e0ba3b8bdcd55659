//! Baseline documents read back, and every way one can be wrong (tests/snapshot_diff.rs
//! checks that what `snapshot` writes reads back the same).

use super::*;
use std::path::PathBuf;

fn path() -> PathBuf {
    PathBuf::from("base.json")
}

const GOOD: &str = r#"{"schema":1,"kind":"portwatch-snapshot","created":"2026-11-30T09:00:00.000Z","host":"h1","selection":{"args":["--listening","--tcp"],"filter":"sport = :80"},"ephemeral_range":[32768,60999],"sockets":[
{"proto":"tcp","family":"ipv6","type":"stream","state":"LISTEN","local":{"addr":"::","port":80},"remote":{"addr":"::","port":0},"recv_q":0,"send_q":511,"inode":100,"uid":0,"user":"root","v6only":false,"iface":null,"owners":[{"pid":10,"comm":"nginx","fd":6,"uid":0},{"pid":11,"comm":"\u001b","comm_hex":"1bff","fd":6,"uid":33}],"service":null,"port_info":null},
{"proto":"unix","family":"unix","type":"stream","state":"LISTEN","local":{"path":"@bus"},"remote":null,"recv_q":0,"send_q":0,"inode":200,"uid":null,"user":null,"v6only":null,"iface":null,"peer_inode":null,"owners":[]}
],"warnings":[],"owner_scan":"all-processes"}
"#;

fn err(text: &str) -> String {
    parse(text.as_bytes(), &path()).unwrap_err().to_string()
}

#[test]
fn a_snapshot_reads_back_its_sockets_owners_and_selection() {
    let b = parse(GOOD.as_bytes(), &path()).unwrap();
    assert_eq!(b.host.as_deref(), Some("h1"));
    assert_eq!(
        b.selection,
        Some((
            vec!["--listening".into(), "--tcp".into()],
            "sport = :80".into()
        ))
    );
    assert_eq!(b.ephemeral, Some((32768, 60999)));
    assert_eq!(b.sockets.len(), 2);
    let l = &b.sockets[0];
    assert_eq!(
        (l.proto, l.family, l.state),
        (Proto::Tcp, Family::Ipv6, State::LISTEN)
    );
    assert_eq!(
        l.local,
        Some(Endpoint::Inet {
            addr: "::".parse().unwrap(),
            port: 80
        })
    );
    assert_eq!(
        (l.inode, l.v6only, l.send_q.get()),
        (100, Some(false), Some(511))
    );
    let comms: Vec<&[u8]> = b.owners.iter().map(|(_, o)| o.comm().as_bytes()).collect();
    assert_eq!(
        comms,
        [&b"nginx"[..], &b"\x1b\xff"[..]],
        "comm_hex gives the exact bytes"
    );
    assert!(b.owners.iter().all(|(inode, _)| *inode == 100));
    assert_eq!(b.users.get(&0).map(String::as_str), Some("root"));
    assert_eq!(
        b.sockets[1].local,
        Some(Endpoint::Unix(UnixName {
            abstract_ns: true,
            name: "bus".into()
        }))
    );
    assert!(b.has_owners);
}

#[test]
fn a_listing_saved_with_json_is_a_baseline_without_a_selection() {
    let listing = r#"{"schema":1,"sockets":[
{"proto":"udp","family":"ipv4","type":"dgram","state":"UNCONN","local":{"addr":"0.0.0.0","port":53},"remote":{"addr":"0.0.0.0","port":0},"inode":5,"owners":null}
],"warnings":[],"owner_scan":null}"#;
    let b = parse(listing.as_bytes(), &path()).unwrap();
    assert_eq!(b.selection, None);
    assert_eq!(b.sockets.len(), 1);
    assert!(!b.has_owners, "owners null: the scan did not run");
}

#[test]
fn malformed_documents_are_errors_with_their_line() {
    let truncated = &GOOD[..GOOD.len() / 2];
    let e = err(truncated);
    assert!(
        e.starts_with("base.json:2: not a portwatch document: "),
        "{e}"
    );

    let e = err(&GOOD.replace(
        "\"state\":\"LISTEN\",\"local\":{\"path\"",
        "\"state\":\"LISTENING\",\"local\":{\"path\"",
    ));
    assert_eq!(e.lines().count(), 1);
    assert!(
        e.starts_with("base.json:3: ") && e.contains("unknown socket state 'LISTENING'"),
        "{e}"
    );

    let e = err(&GOOD.replace(
        "\"addr\":\"::\",\"port\":80",
        "\"addr\":\"not-an-ip\",\"port\":80",
    ));
    assert!(e.starts_with("base.json:2: "), "{e}");

    let e = err(&GOOD.replace("\"peer_inode\":null", "\"peer_inode\":4294967296"));
    assert!(
        e.starts_with("base.json:3: ") && e.contains("peer_inode 4294967296 is out of range"),
        "{e}"
    );

    assert_eq!(
        err(r#"{"sockets":[]}"#),
        "base.json:1: not a portwatch document: no \"schema\""
    );
    assert_eq!(err(r#"{"schema":1}"#), "base.json:1: no \"sockets\" list");
    assert_eq!(
        err("{\"schema\":1,\n\"kind\":\"portwatch-audit\",\"sockets\":[]}"),
        "base.json:2: a \"portwatch-audit\" document, not a snapshot"
    );
    assert!(err("").starts_with("base.json:1: not a portwatch document"));
    assert!(err("[]").starts_with("base.json:1: not a portwatch document"));
}

#[test]
fn a_newer_schema_is_refused_not_guessed() {
    let e = err(&GOOD.replace("\"schema\":1", "\"schema\":2"));
    assert_eq!(
        e,
        "base.json:1: schema 2 is newer than this portwatch reads (1): upgrade portwatch, \
         or take the baseline again with this one"
    );
    assert!(err(&GOOD.replace("\"schema\":1", "\"schema\":\"1\"")).contains("must be 1"));
    // Whatever shape a newer document has, the schema is what is reported.
    assert!(err(r#"{"schema":3,"sockets":{"v3":true}}"#).contains("schema 3 is newer"));
}
