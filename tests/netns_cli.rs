//! `-N, --netns` through the binary (issue #11): a namespace the test creates, listed from the
//! host, equals `ss` run inside it; `-N all` groups rows by namespace, host first, under
//! Netns and Container columns that fit a terminal; every JSON socket carries its namespace
//! (also without -N); a socket held from another namespace says so; bad WHICHs are usage
//! errors naming the value; an unprivileged run lists what it can and warns once.
//!
//! Needs root, iproute2, util-linux and python3; under CI=true a missing one fails the test.
#![cfg(target_os = "linux")]

mod common;
#[allow(unused_imports)]
#[path = "common/netns.rs"]
mod netns;
#[path = "common/nsread.rs"]
mod nsread;
#[path = "common/procs.rs"]
mod procs;
#[path = "common/textfmt.rs"]
mod textfmt;

use common::bin;
use netns::{diff, explain, from_portwatch, ss_rows, Netns, Population};
use nsread::{in_namespace, prerequisites_met, BindNs, Enter};
use portwatch::platform::linux::netns::link_inode;
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run portwatch")
}

fn json_ok(args: &[&str]) -> Value {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn inode_of(path: &Path) -> u64 {
    std::fs::metadata(path).expect("namespace file").ino()
}

#[test]
fn a_named_namespace_listed_from_the_host_equals_ss_inside() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let inode = inode_of(&Path::new("/run/netns").join(&ns.name));
    let inside = Enter::Named(ns.name.clone());
    let mut last = String::new();
    for _ in 0..3 {
        let doc = json_ok(&["-tuxap", "-N", &ns.name, "--json"]);
        for s in doc["sockets"].as_array().unwrap() {
            assert_eq!(
                s["netns"],
                json!({"inode": inode, "name": ns.name, "host": false}),
                "{s}"
            );
        }
        let pw = from_portwatch(&doc);
        let ss = ss_rows(|a| inside.ss(a), &["-a"], &["-t", "-u", "-x"]);
        let (only_pw, only_ss) = diff(&pw, &ss);
        if only_pw.is_empty() && only_ss.is_empty() {
            assert!(pw.len() > 10, "the population is there: {}", pw.len());
            return;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("-N {} differs from ss inside it:{last}", ns.name);
}

#[test]
fn all_groups_rows_host_first_and_fits_a_terminal() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let path = Path::new("/run/netns").join(&ns.name);
    let inner = in_namespace(&path, || {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap()
    });
    let port = inner.local_addr().unwrap().port();
    let outer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host_port = outer.local_addr().unwrap().port();

    let out = run(&["-lnt", "-N", "all"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Netns"), "{text}");
    assert!(lines[0].contains("Container"), "{text}");
    let row = |p: u16| {
        lines
            .iter()
            .position(|l| l.contains(&format!(" 127.0.0.1:{p} ")))
            .unwrap_or_else(|| panic!("port {p}:\n{text}"))
    };
    let (host_row, ns_row) = (row(host_port), row(port));
    assert!(host_row < ns_row, "host first:\n{text}");
    assert!(
        lines[ns_row].starts_with(&format!("{} ", ns.name)),
        "{}",
        lines[ns_row]
    );
    // The host namespace has no name: its label is the kernel's.
    let own = link_inode(Path::new("/proc/self/ns/net"), "net").unwrap();
    assert!(
        lines[host_row].starts_with(&format!("net:[{own}]")),
        "{}",
        lines[host_row]
    );

    // On a terminal the names give way before any address does. 110 columns: ss's columns
    // at their narrowest plus Service and Process take 84 already, and an unnamed
    // namespace's label (`net:[INODE]`, 16) is kept whole.
    let cmd = format!(
        "COLUMNS=110 '{}' -lntp -N all",
        env!("CARGO_BIN_EXE_portwatch")
    );
    let tty = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    let tty = String::from_utf8_lossy(&tty.stdout);
    let mut seen = false;
    for line in tty.lines().map(|l| l.trim_end_matches('\r')) {
        if line.starts_with("portwatch: warning") {
            continue;
        }
        assert!(line.chars().count() <= 110, "{line}");
        seen |= line.contains(&format!("127.0.0.1:{port} "));
    }
    assert!(seen, "the namespace's listener, address whole:\n{tty}");
    drop((inner, outer));
}

#[test]
fn json_says_the_namespace_without_n_and_flags_a_holder_elsewhere() {
    if !prerequisites_met() {
        return;
    }
    let mine = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mine.local_addr().unwrap().port();
    let own = link_inode(Path::new("/proc/self/ns/net"), "net").unwrap();
    let doc = json_ok(&["-lntp", "--json", "sport", "=", &format!(":{port}")]);
    let s = &doc["sockets"][0];
    assert_eq!(s["netns"]["inode"], own.get(), "{s}");
    assert_eq!(s["holder_netns_differs"], false, "{s}");

    // A listener made inside a namespace only a bind mount holds, kept by this process.
    let ns = BindNs::new();
    let inner = in_namespace(&ns.path, || {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap()
    });
    let inner_port = inner.local_addr().unwrap().port();
    let which = ns.path.to_str().unwrap();
    let doc = json_ok(&[
        "-lntp",
        "-N",
        which,
        "--json",
        "sport",
        "=",
        &format!(":{inner_port}"),
    ]);
    let s = &doc["sockets"][0];
    assert_eq!(s["netns"]["inode"], inode_of(&ns.path), "{s}");
    assert_eq!(s["owners"][0]["pid"], std::process::id(), "{s}");
    assert_eq!(
        s["holder_netns_differs"], true,
        "listed under its namespace, flagged: {s}"
    );
    // Found by `all` too, by its mount alone; the host namespace's own listener is not in it.
    let all = json_ok(&["-lnt", "-N", "all", "--json"]);
    let socks = all["sockets"].as_array().unwrap();
    let under = |p: u16| -> Vec<&Value> {
        socks
            .iter()
            .filter(|s| s["local"]["port"] == p && s["local"]["addr"] == "127.0.0.1")
            .map(|s| &s["netns"]["inode"])
            .collect()
    };
    assert_eq!(under(inner_port), [&json!(inode_of(&ns.path))]);
    assert_eq!(under(port), [&json!(own.get())]);
    drop((mine, inner));
}

#[test]
fn bad_values_are_usage_errors_naming_them() {
    let cases: &[(&[&str], &str)] = &[
        (&["-N", ""], "--netns \"\": empty"),
        (&["-N", "0"], "--netns \"0\": not a process id"),
        (
            &["-N", "pw-no-such-namespace"],
            "--netns \"pw-no-such-namespace\": no network namespace of that name",
        ),
        (
            &["-N", "/proc/self/ns/uts"],
            "a uts namespace, not a network namespace",
        ),
        (&["-N", "/nonexistent/ns"], "--netns \"/nonexistent/ns\""),
        (
            &["--netns", "4294967295"],
            "--netns \"4294967295\": no such process",
        ),
        (
            &["-N", "all", "--proc-root", "/proc"],
            "cannot be combined with --proc-root",
        ),
        // Closing or counting sockets reads portwatch's own namespace: never another's by
        // mistake.
        (
            &["-K", "-N", "all", "dport", "=", ":1"],
            "-K works on portwatch's own network namespace",
        ),
        (&["-s", "-N", "all"], "cannot be combined with -N/--netns"),
    ];
    for (args, msg) in cases {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn unprivileged_lists_its_own_and_warns_once() {
    if !prerequisites_met() {
        return;
    }
    if procs::test_user().is_none() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let mut keep = Vec::new();
    let exe = common::runnable(Path::new(env!("CARGO_BIN_EXE_portwatch")), &mut keep);
    let mine = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mine.local_addr().unwrap().port();
    let out = Command::new("runuser")
        .args(["-u", "portwatch-test", "--"])
        .arg(&exe)
        .args(["-lnt", "-N", "all"])
        .output()
        .expect("runuser (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("127.0.0.1:{port} ")),
        "its own namespace:\n{stdout}"
    );
    assert!(!stdout.lines().any(|l| l.starts_with(&ns.name)), "{stdout}");
    let lines = textfmt::warning_lines(&stderr).expect("only warnings on stderr");
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("not read (entering one needs CAP_SYS_ADMIN"),
        "{stderr}"
    );
    assert!(lines[0].contains("run as root"), "{stderr}");
    drop(mine);
}
