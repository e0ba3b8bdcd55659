//! Malformed system data end to end: the `proc-malformed` fixture tree (see
//! tests/fixtures/README.md) through the real binary, in table, JSON and CSV. Good rows are
//! shown, each bad file is reported once with its first bad line and count, exit 0.
//! Every expected value below comes from the fixture README and the fixture text.

mod common;
#[path = "common/textfmt.rs"]
mod textfmt;

use common::{bin, fixture, json};
use serde_json::Value;
use std::collections::BTreeSet;

/// The good rows of the fixture README's table, with `-a`: (proto, family, state, local
/// address, local port, inode). 30014 (state 0x0E) is a good row outside the `-a` state set,
/// so it is not listed and not reported.
fn expected_rows() -> BTreeSet<(String, String, String, String, u64)> {
    [
        ("tcp", "ipv4", "LISTEN", "0.0.0.0:22", 20001),
        ("tcp", "ipv4", "BOUND-INACTIVE", "0.0.0.0:8080", 30013),
        ("tcp", "ipv6", "LISTEN", ":::80", 20010),
        ("udp", "ipv4", "UNCONN", "0.0.0.0:53", 20020),
        ("udp", "ipv6", "UNCONN", ":::123", 20021),
        ("raw", "ipv4", "UNCONN", "0.0.0.0:1", 20040),
        ("raw", "ipv6", "UNCONN", ":::58", 30060),
        ("unix", "unix", "LISTEN", "/run/my app/sock", 20030),
        ("unix", "unix", "ESTAB", "/run/my app/sock", 0),
        ("unix", "unix", "UNCONN", "/run/orphan dgram", 30073),
    ]
    .iter()
    .map(|(p, f, s, l, i)| {
        (
            p.to_string(),
            f.to_string(),
            s.to_string(),
            l.to_string(),
            *i,
        )
    })
    .collect()
}

/// (file under net/, first bad line, number of bad lines), from the fixture README.
const BAD_FILES: &[(&str, usize, usize)] = &[
    ("tcp", 3, 4),
    ("tcp6", 3, 1),
    ("udp", 3, 1),
    ("udp6", 3, 1),
    ("raw", 3, 1),
    ("raw6", 3, 1),
    ("unix", 3, 3),
];

fn root() -> String {
    fixture("proc-malformed")
}

/// Whether `msg` has `word` directly followed by the number `n` (and not by more digits).
fn has_number_after(msg: &str, word: &str, n: usize) -> bool {
    msg.match_indices(word).any(|(i, _)| {
        let rest = &msg[i + word.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits == n.to_string()
    })
}

/// One message per bad file, naming it, its first bad line and the count; no other message.
fn check_warnings(messages: &[String]) {
    assert_eq!(messages.len(), BAD_FILES.len(), "{messages:#?}");
    for (file, first, count) in BAD_FILES {
        let path = format!("{}/net/{file}:", root());
        let hits: Vec<&String> = messages.iter().filter(|m| m.contains(&path)).collect();
        assert_eq!(hits.len(), 1, "{file}: {messages:#?}");
        let m = hits[0];
        assert!(has_number_after(m, "line ", *first), "{file}: {m}");
        assert!(
            has_number_after(m, " ", *count) && m.contains("malformed"),
            "{file}: {m}"
        );
    }
}

fn local_text(s: &Value) -> String {
    match (
        &s["local"]["addr"],
        &s["local"]["port"],
        &s["local"]["path"],
    ) {
        (Value::String(a), Value::Number(p), _) => format!("{a}:{p}"),
        (_, _, Value::String(p)) => p.clone(),
        _ => "?".into(),
    }
}

#[test]
fn json_shows_good_rows_and_one_warning_per_bad_file() {
    let doc = json(&["-ap", "--proc-root", &root()]);
    let got: BTreeSet<_> = common::sockets(&doc)
        .iter()
        .map(|s| {
            (
                s["proto"].as_str().unwrap_or_default().to_string(),
                s["family"].as_str().unwrap_or_default().to_string(),
                s["state"].as_str().unwrap_or_default().to_string(),
                local_text(s),
                s["inode"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    assert_eq!(got, expected_rows());
    assert_eq!(common::sockets(&doc).len(), expected_rows().len());

    let warnings = doc["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().all(|w| w["kind"] == "malformed-line"),
        "{warnings:#?}"
    );
    let messages: Vec<String> = warnings
        .iter()
        .map(|w| w["message"].as_str().unwrap_or_default().to_string())
        .collect();
    check_warnings(&messages);

    // Owners: pid 50 holds 20001 on fd 3 and its uid is unknown (status has no Uid line);
    // its malformed fd targets (`socket:[20010]x` and the like) own nothing.
    for s in common::sockets(&doc) {
        let owners = common::owner_pids(s);
        if s["inode"] == 20001 {
            assert_eq!(owners, [(50, 3)], "{s}");
            assert_eq!(s["owners"][0]["comm"], "broken");
            assert!(s["owners"][0]["uid"].is_null(), "{s}");
        } else {
            assert!(owners.is_empty(), "{s}");
        }
    }
}

#[test]
fn table_shows_good_rows_and_warns_once_per_file() {
    let out = bin()
        .args(["-ap", "--proc-root", &root()])
        .output()
        .expect("run portwatch");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), expected_rows().len(), "{stdout}");
    // The table prints addresses as ss does: `[::]:80`, and unix names followed by the inode.
    for needle in [
        "0.0.0.0:22 ",
        "0.0.0.0:8080 ",
        "[::]:80 ",
        "0.0.0.0:53 ",
        "[::]:123 ",
        "0.0.0.0:1 ",
        "[::]:58 ",
        "/run/my app/sock 20030 ",
        "/run/my app/sock 0 ",
        "/run/orphan dgram 30073 ",
        "broken(pid=50,fd=3)",
    ] {
        assert_eq!(stdout.matches(needle).count(), 1, "{needle:?} in\n{stdout}");
    }
    // Bad rows do not leak out: the bad-hex [::1]:631 listener, the 0x0E state row, the
    // unknown-type unix socket.
    for absent in [":631", ":8081", "30071", "/run/bad"] {
        assert!(!stdout.contains(absent), "{absent} in\n{stdout}");
    }
    let lines = textfmt::warning_lines(&stderr).expect("only warnings on stderr");
    check_warnings(&lines.iter().map(|l| l.to_string()).collect::<Vec<_>>());
}

#[test]
fn csv_is_valid_and_warns_once_per_file() {
    let out = bin()
        .args(["--csv", "-ap", "--proc-root", &root()])
        .output()
        .expect("run portwatch");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    let records = textfmt::parse_csv(&stdout).expect("RFC 4180");
    let header = records.first().expect("header");
    assert_eq!(header.len(), 29);
    assert!(
        records.iter().all(|r| r.len() == header.len()),
        "{records:?}"
    );
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (proto, state, inode, owners) = (col("proto"), col("state"), col("inode"), col("owners"));
    let got: BTreeSet<(String, String, u64)> = records[1..]
        .iter()
        .map(|r| {
            (
                r[proto].clone(),
                r[state].clone(),
                r[inode].parse().unwrap_or(u64::MAX),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, u64)> = expected_rows()
        .into_iter()
        .map(|(p, _, s, _, i)| (p, s, i))
        .collect();
    assert_eq!(got, want);
    assert_eq!(records.len() - 1, want.len());
    let owned: Vec<&Vec<String>> = records[1..]
        .iter()
        .filter(|r| !r[owners].is_empty())
        .collect();
    assert_eq!(owned.len(), 1, "{owned:?}");
    assert_eq!(owned[0][owners], "broken(pid=50,fd=3)");
    let lines = textfmt::warning_lines(&stderr).expect("only warnings on stderr");
    check_warnings(&lines.iter().map(|l| l.to_string()).collect::<Vec<_>>());
}

/// A missing table is one `proto-unavailable` warning naming the file; the other tables
/// (including their own malformed lines) are unaffected.
#[test]
fn missing_table_is_reported_and_the_rest_is_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("proc");
    let status = std::process::Command::new("cp")
        .args(["-a", &root()])
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    std::fs::remove_file(copy.join("net/udp")).expect("rm udp");
    let copy_s = copy.to_str().expect("utf-8 temp path");
    let doc = json(&["-au", "--proc-root", copy_s]);
    let inodes: Vec<u64> = common::sockets(&doc)
        .iter()
        .filter_map(|s| s["inode"].as_u64())
        .collect();
    assert_eq!(inodes, [20021], "{doc}");
    let warnings = doc["warnings"].as_array().expect("warnings");
    let kinds: Vec<&str> = warnings.iter().filter_map(|w| w["kind"].as_str()).collect();
    assert_eq!(kinds.len(), 2, "{warnings:#?}");
    let missing = format!("{copy_s}/net/udp:");
    let unavailable: Vec<&Value> = warnings
        .iter()
        .filter(|w| w["kind"] == "proto-unavailable")
        .collect();
    assert_eq!(unavailable.len(), 1, "{warnings:#?}");
    assert!(
        unavailable[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&missing)),
        "{warnings:#?}"
    );
    assert!(
        kinds.contains(&"malformed-line"),
        "udp6 still reports its bad line"
    );
}
