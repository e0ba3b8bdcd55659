//! Differential tests against ss inside a network namespace each test creates: a known socket
//! population (tests/netns/population.py) is built there, and `portwatch --json` must report
//! exactly what `ss -n -e -p` reports for the same namespace. The namespace is private, so
//! the whole table is compared, not just chosen ports (unix sock_diag dumps are filtered by
//! the asking socket's namespace too: net/unix/diag.c, `sock_net(sk) != net`).
//!
//! Fields compared: netid, state, local, remote, Recv-Q, Send-Q, inode, unix peer inode,
//! v6only (where the kernel reports it), uid, and owners (pid, fd, comm) in their own tests.
//! Differences on purpose, each asserted exactly where it shows: `-4` includes dual-stack
//! and v4-mapped sockets, `-6` excludes v4-mapped ones, and a unix socket's `remote` names
//! the peer (ss's netlink path prints `*`).
//!
//! Needs root, iproute2 and python3; under CI=true a missing one fails the test.
#![cfg(target_os = "linux")]

#[path = "common/netns.rs"]
mod netns;

use netns::{diff, explain, from_portwatch, parse_ss, prerequisites_met, Netns, Population, Row};
use std::collections::BTreeSet;

/// One tool against the other, over the protocols in `protos` (ss flags: -t -u -x -w).
/// ss runs once per protocol (its Netid column is absent for a single inet protocol).
/// Without `owners`, owners are cleared on both sides (they have their own tests).
fn both(
    ns: &Netns,
    pw_args: &[&str],
    ss_args: &[&str],
    protos: &[&str],
    owners: bool,
) -> (Vec<Row>, Vec<Row>) {
    let pw = from_portwatch(&ns.portwatch(pw_args));
    let mut ss = Vec::new();
    for p in protos {
        let netid = match *p {
            "-t" => "tcp",
            "-u" => "udp",
            "-w" => "raw",
            "-x" => "unix",
            other => panic!("unknown protocol flag {other}"),
        };
        // ss drops the State column when the filter leaves one possible state: that happens
        // for UDP without -a or -l (connected UDP sockets are all ESTAB).
        let implied = if ss_args.contains(&"-a") || ss_args.contains(&"-l") {
            None
        } else {
            Some("ESTAB")
        };
        let mut args = vec![*p];
        args.extend_from_slice(ss_args);
        ss.extend(parse_ss(netid, &ns.ss(&args), implied));
    }
    let strip = |v: Vec<Row>| -> Vec<Row> {
        if owners {
            v
        } else {
            v.into_iter().map(Row::without_owners).collect()
        }
    };
    (strip(pw), strip(ss))
}

/// Assert the two views are equal as multisets. The population is quiescent after `ready`, so
/// a difference is real; still, the two reads happen one after the other, so a mismatch is
/// read again (twice at most) before failing, and the last difference is reported.
fn assert_same(
    ns: &Netns,
    pw_args: &[&str],
    ss_args: &[&str],
    protos: &[&str],
    owners: bool,
) -> Vec<Row> {
    let mut last = String::new();
    for _ in 0..3 {
        let (pw, ss) = both(ns, pw_args, ss_args, protos, owners);
        let (only_pw, only_ss) = diff(&pw, &ss);
        if only_pw.is_empty() && only_ss.is_empty() {
            return pw;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("portwatch {pw_args:?} differs from ss {protos:?} {ss_args:?}:{last}");
}

fn states(rows: &[Row]) -> BTreeSet<&str> {
    rows.iter().map(|r| r.state.as_str()).collect()
}

fn port_of(addr: &str) -> Option<u64> {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

#[test]
fn tcp_in_every_state_matches_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let rows = assert_same(&ns, &["-t", "-a"], &["-a"], &["-t"], false);
    // The comparison only means something if the population really produced every state.
    // CLOSE (a closed socket) is never listed by either tool; every other TCP state is here.
    let want = [
        "LISTEN",
        "ESTAB",
        "SYN-SENT",
        "SYN-RECV",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "CLOSE-WAIT",
        "LAST-ACK",
        "CLOSING",
        "TIME-WAIT",
    ];
    let got = states(&rows);
    for s in want {
        assert!(got.contains(s), "population made no {s} socket: {got:?}");
    }
    // Kernel facts both tools agree on, checked so that a shared misreading would show:
    // TIME-WAIT and request (SYN-RECV) sockets have no inode; listeners carry the backlog.
    for r in &rows {
        if r.state == "TIME-WAIT" || r.state == "SYN-RECV" {
            assert_eq!(r.inode, Some(0), "{}", r.line());
        }
    }
    let l4 = rows
        .iter()
        .find(|r| r.state == "LISTEN" && r.send_q == Some(7))
        .expect("the backlog-7 listener");
    assert_eq!(l4.recv_q, Some(1), "one unaccepted connection queued");
}

#[test]
fn udp_bound_and_connected_match_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let pop = Population::start(&ns, "basic", &[]);
    let rows = assert_same(&ns, &["-u", "-a"], &["-a"], &["-u"], false);
    assert_eq!(states(&rows), BTreeSet::from(["ESTAB", "UNCONN"]));
    // The dual-stack and v4-mapped binds are both there, spelled as ss spells them.
    let udual = pop.port("udp", "udual");
    let umapped = pop.port("udp", "umapped");
    assert!(rows.iter().any(|r| r.local == format!("*:{udual}")));
    assert!(rows
        .iter()
        .any(|r| r.local == format!("[::ffff:127.0.0.1]:{umapped}")));
    assert!(
        rows.iter().any(|r| r.recv_q.unwrap_or(0) > 0),
        "unread datagrams give a non-zero Recv-Q"
    );
}

#[test]
fn unix_every_type_and_name_matches_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let pop = Population::start(&ns, "basic", &[]);
    let rows = assert_same(&ns, &["-x", "-a"], &["-a"], &["-x"], false);
    let netids: BTreeSet<&str> = rows.iter().map(|r| r.netid.as_str()).collect();
    assert_eq!(netids, BTreeSet::from(["u_dgr", "u_seq", "u_str"]));
    let named = pop.summary["unix"]["named_stream"].as_str().unwrap();
    let abstract_name = pop.summary["unix"]["abstract"].as_str().unwrap();
    assert!(named.contains(' '), "the named socket's path has spaces");
    assert!(rows.iter().any(|r| r.local == named && r.state == "LISTEN"));
    assert!(rows.iter().any(|r| r.local == abstract_name));

    // The stated difference: portwatch's `remote` is the peer socket's own name (ss's
    // netlink path prints `*`). Check it against the peer's row in the same dump.
    let doc = ns.portwatch(&["-x", "-a"]);
    let socks = doc["sockets"].as_array().unwrap();
    let name_of = |ino: u64| {
        socks
            .iter()
            .find(|s| s["inode"] == ino)
            .map(|s| s["local"].clone())
    };
    let mut named_peers = 0;
    for s in socks {
        let expect = match s["peer_inode"].as_u64().filter(|&p| p != 0) {
            Some(p) => name_of(p).unwrap_or(serde_json::Value::Null),
            None => serde_json::Value::Null,
        };
        assert_eq!(s["remote"], expect, "remote of {s}");
        if !expect.is_null() {
            named_peers += 1;
        }
    }
    assert!(named_peers >= 3, "clients of named and abstract sockets");
}

#[test]
fn all_protocols_at_once_match_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    // No protocol flag means all of them; raw sockets are absent from this population (they
    // have their own test), so ss's raw table is empty too and is compared as such.
    assert_same(&ns, &["-a"], &["-a"], &["-t", "-u", "-x", "-w"], false);
}

#[test]
fn listening_and_default_filters_match_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let l = assert_same(&ns, &["-l"], &["-l"], &["-t", "-u", "-x"], false);
    assert_eq!(states(&l), BTreeSet::from(["LISTEN", "UNCONN"]));
    // Neither -l nor -a: ss's default, every state but LISTEN, UNCONN, TIME-WAIT, SYN-RECV.
    let c = assert_same(&ns, &[], &[], &["-t", "-u", "-x"], false);
    for gone in ["LISTEN", "UNCONN", "TIME-WAIT", "SYN-RECV"] {
        assert!(!states(&c).contains(gone), "{gone} in the default listing");
    }
}

#[test]
fn owners_match_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let pop = Population::start(&ns, "basic", &[]);
    let rows = assert_same(&ns, &["-a", "-p"], &["-a"], &["-t", "-u", "-x"], true);
    // Every process on the host is scanned, but only the population holds these sockets.
    let pids = pop.pids();
    for r in &rows {
        for o in &r.owners {
            assert!(
                pids.contains(&o.pid),
                "owner outside the population: {}",
                r.line()
            );
        }
    }
    // The fork-shared listener and UDP socket have both processes as owners, as in ss.
    for (proto, key) in [("tcp", "lshared"), ("udp", "ushared")] {
        let port = pop.port(proto, key);
        let r = rows
            .iter()
            .find(|r| r.netid == proto && port_of(&r.local) == Some(port))
            .unwrap_or_else(|| panic!("{proto} {key} listed"));
        let got: BTreeSet<u64> = r.owners.iter().map(|o| o.pid).collect();
        let want: BTreeSet<u64> = ["pid", "shared_child"]
            .iter()
            .filter_map(|k| pop.summary[k].as_u64())
            .collect();
        assert_eq!(got, want, "the builder and its child: {}", r.line());
    }
    // Sockets no process holds (TIME-WAIT, orphans, unaccepted) have no owners in either.
    assert!(rows.iter().any(|r| r.owners.is_empty() && r.netid == "tcp"));
}

#[test]
fn raw_sockets_match_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &["--raw"]);
    // ss reads raw sockets from /proc/net/raw{,6} when the kernel has no raw diag module,
    // and then prints no `ino:`: the inode is compared through the owners instead.
    let mut last = String::new();
    for _ in 0..3 {
        let (pw, ss) = both(&ns, &["-w", "-a", "-p"], &["-a"], &["-w"], true);
        let ss_has_inodes = ss.iter().all(|r| r.inode.is_some());
        let norm = |v: Vec<Row>| -> Vec<Row> {
            v.into_iter()
                .map(|mut r| {
                    if !ss_has_inodes {
                        r.inode = None;
                    }
                    r
                })
                .collect()
        };
        let (pw, ss) = (norm(pw), norm(ss));
        assert_eq!(
            ss.len(),
            3,
            "the population's three raw sockets in ss: {ss:?}"
        );
        let (only_pw, only_ss) = diff(&pw, &ss);
        if only_pw.is_empty() && only_ss.is_empty() {
            return;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("raw sockets differ from ss:{last}");
}

/// ss's `-4` leaves out sockets that carry IPv4 on an IPv6 socket; portwatch's includes them.
/// Exactly those differ: the dual-stack `[::]` and the v4-mapped listeners (TCP and UDP).
#[test]
fn ipv4_flag_differs_from_ss_by_dual_stack_and_mapped_only() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let pop = Population::start(&ns, "basic", &[]);
    let extra_ports = [
        ("tcp", pop.port("tcp", "ldual")),
        ("tcp", pop.port("tcp", "lmapped")),
        ("udp", pop.port("udp", "udual")),
        ("udp", pop.port("udp", "umapped")),
    ];
    let mut last = String::new();
    for _ in 0..3 {
        let (pw, ss4) = both(
            &ns,
            &["-4", "-l", "-t", "-u"],
            &["-4", "-l"],
            &["-t", "-u"],
            false,
        );
        // The expected extras come from ss's own all-family listing of those ports.
        let (_, ss_all) = both(&ns, &["-l", "-t", "-u"], &["-l"], &["-t", "-u"], false);
        let extras: Vec<Row> = ss_all
            .into_iter()
            .filter(|r| extra_ports.contains(&(r.netid.as_str(), port_of(&r.local).unwrap_or(0))))
            .collect();
        assert_eq!(
            extras.len(),
            4,
            "dual-stack and mapped listeners: {extras:?}"
        );
        let mut expected = ss4;
        expected.extend(extras);
        let (only_pw, only_ss) = diff(&pw, &expected);
        if only_pw.is_empty() && only_ss.is_empty() {
            return;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("portwatch -4 -l is not ss -4 -l plus the dual-stack and mapped listeners:{last}");
}

/// ss's `-6` lists v4-mapped sockets (IPv4 traffic on an IPv6 socket); portwatch's leaves
/// them out. Exactly those differ.
#[test]
fn ipv6_flag_differs_from_ss_by_mapped_only() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let mut last = String::new();
    for _ in 0..3 {
        let (pw, ss6) = both(
            &ns,
            &["-6", "-a", "-t", "-u"],
            &["-6", "-a"],
            &["-t", "-u"],
            false,
        );
        let (mapped, expected): (Vec<Row>, Vec<Row>) = ss6
            .into_iter()
            .partition(|r| r.local.starts_with("[::ffff:"));
        // The mapped listener, its accepted connection, the dual-stack listener's accepted
        // IPv4 connection, and the mapped UDP socket.
        assert!(mapped.len() >= 4, "v4-mapped sockets in ss -6: {mapped:?}");
        let (only_pw, only_ss) = diff(&pw, &expected);
        if only_pw.is_empty() && only_ss.is_empty() {
            return;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("portwatch -6 -a is not ss -6 -a without the v4-mapped sockets:{last}");
}

/// Thousands of sockets at once: 2,000 TCP connections (4,000 sockets, a quarter over IPv6)
/// and 500 unix socketpairs, compared in full, owners included.
#[test]
fn thousands_of_sockets_match_ss() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(
        &ns,
        "scale",
        &["--tcp-conns", "2000", "--unix-pairs", "500"],
    );
    let tcp = assert_same(&ns, &["-t", "-a"], &["-a"], &["-t"], false);
    assert_eq!(tcp.len(), 2 + 4000, "two listeners and 2,000 connections");
    let unix = assert_same(&ns, &["-x", "-a"], &["-a"], &["-x"], false);
    assert_eq!(unix.len(), 1000, "500 pairs");
    // Then the owners of all of them (one owner scan each, as a user would run it).
    assert_same(&ns, &["-a", "-p", "-t", "-x"], &["-a"], &["-t", "-x"], true);
}
