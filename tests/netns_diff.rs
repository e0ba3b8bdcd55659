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
        let implied = implied_state(ss_args);
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

/// The state of every row when ss prints no State column: ss drops the column when its
/// filter leaves one possible state (misc/ss.c: the state width is 0 unless more than one
/// state bit is set), e.g. `state established`, or UDP without -a or -l (connected UDP
/// sockets are all ESTAB).
fn implied_state(ss_args: &[&str]) -> Option<&'static str> {
    let states: Vec<&str> = ss_args
        .windows(2)
        .filter(|w| w[0] == "state")
        .map(|w| w[1])
        .collect();
    if ss_args.contains(&"exclude") {
        return None;
    }
    match states.as_slice() {
        [] if !ss_args.contains(&"-a") && !ss_args.contains(&"-l") => Some("ESTAB"),
        [one] => Some(match *one {
            "established" => "ESTAB",
            "syn-sent" => "SYN-SENT",
            "syn-recv" => "SYN-RECV",
            "fin-wait-1" => "FIN-WAIT-1",
            "fin-wait-2" => "FIN-WAIT-2",
            "time-wait" => "TIME-WAIT",
            "closed" => "UNCONN",
            "close-wait" => "CLOSE-WAIT",
            "last-ack" => "LAST-ACK",
            "listening" => "LISTEN",
            "closing" => "CLOSING",
            _ => return None,
        }),
        _ => None,
    }
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

    // ss prints no uid for unix sockets; the population knows them: one socket was made by
    // a child running as uid 65534, every other one by root.
    let nobody_name = format!("@pwtest-{}-nobody", pop.summary["nobody_child"]);
    for s in socks {
        let want = if s["local"]["path"] == nobody_name.as_str() {
            65534
        } else {
            0
        };
        assert_eq!(s["uid"], want, "uid of {s}");
    }
    assert!(
        socks.iter().any(|s| s["uid"] == 65534),
        "{nobody_name} listed"
    );
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

/// The readers of ss's text, on lines ss 6.1 printed for this population (no root needed):
/// a mistake here would make both sides of every comparison above wrong in the same way.
#[test]
fn ss_text_is_read_field_by_field() {
    let tcp = "LISTEN     0      3               127.0.0.1:49211            0.0.0.0:*     \
               users:((\"python3\",pid=2673,fd=34),(\"python3\",pid=2468,fd=34)) ino:2325923 \
               sk:c4163 cgroup:unreachable:1 <->\n\
               LISTEN     0      11                      *:57323                  *:*     \
               users:((\"python3\",pid=2468,fd=5)) ino:2325720 sk:c4180 uid:1000 v6only:0 <->\n\
               TIME-WAIT  0      0                   [::1]:60520              [::1]:37215 \
               timer:(timewait,57sec,0) ino:0 sk:c4183\n";
    let rows = parse_ss("tcp", tcp, None);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[0].state.as_str(), rows[0].send_q, rows[0].inode),
        ("LISTEN", Some(3), Some(2325923))
    );
    assert_eq!(rows[0].local, "127.0.0.1:49211");
    assert_eq!(rows[0].remote, "0.0.0.0:*");
    let pids: Vec<(u64, u64)> = rows[0].owners.iter().map(|o| (o.pid, o.fd)).collect();
    assert_eq!(pids, vec![(2468, 34), (2673, 34)]);
    assert_eq!(rows[0].owners[0].comm, "python3");
    assert_eq!(
        (rows[1].local.as_str(), rows[1].v6only, rows[1].uid),
        ("*:57323", Some(false), Some(1000))
    );
    assert_eq!((rows[2].inode, rows[2].v6only), (Some(0), None));
    assert!(rows[2].owners.is_empty());

    // UDP without -a/-l: ss prints no State column.
    let udp = "0      0               127.0.0.1:38162 127.0.0.1:56703 ino:3065104 sk:1 <->\n";
    let rows = parse_ss("udp", udp, Some("ESTAB"));
    assert_eq!(
        (
            rows[0].state.as_str(),
            rows[0].recv_q,
            rows[0].local.as_str()
        ),
        ("ESTAB", Some(0), "127.0.0.1:38162")
    );

    // Unix: names with spaces; ss's `ino:` there is the socket file's inode on disk.
    let unix = "u_str LISTEN 1      6      /tmp/t/dir with space/stream sock 2325931 * 0       \
                users:((\"python3\",pid=2468,fd=42)) <-> ino:10010834 dev:0/65024 peers: 2325934\n\
                u_str ESTAB  0      768                                                 * 2325932 \
                * 2325933 users:((\"python3\",pid=2468,fd=43)) <->\n\
                u_str ESTAB  0      0                               @pwtest-2468-abstract 2325937 \
                * 2325936 <->\n";
    let rows = parse_ss("unix", unix, None);
    assert_eq!(rows[0].netid, "u_str");
    assert_eq!(rows[0].local, "/tmp/t/dir with space/stream sock");
    assert_eq!(
        (
            rows[0].inode,
            rows[0].peer_inode,
            rows[0].recv_q,
            rows[0].send_q
        ),
        (Some(2325931), None, Some(1), Some(6))
    );
    assert_eq!(
        (rows[1].local.as_str(), rows[1].inode, rows[1].peer_inode),
        ("*", Some(2325932), Some(2325933))
    );
    assert_eq!(rows[1].send_q, Some(768));
    assert_eq!(rows[2].local, "@pwtest-2468-abstract");
    assert!(rows[2].owners.is_empty());

    // Unix under a one-state filter (`state established`): no State column either.
    let rows = parse_ss(
        "unix",
        "u_dgr 15     0       /tmp/t/dir with space/dgram sock 3280538 * 0 <->\n",
        Some("ESTAB"),
    );
    assert_eq!(
        (rows[0].state.as_str(), rows[0].recv_q, rows[0].send_q),
        ("ESTAB", Some(15), Some(0))
    );
    assert_eq!(rows[0].local, "/tmp/t/dir with space/dgram sock");
    assert_eq!(rows[0].inode, Some(3280538));
}

/// ss's address spelling (misc/ss.c, inet_addr_print), which portwatch's JSON is rendered in.
#[test]
fn addresses_are_spelled_as_ss_spells_them() {
    let cases = [
        (("ipv4", "127.0.0.1", 80, None, None), "127.0.0.1:80"),
        (("ipv4", "0.0.0.0", 0, None, None), "0.0.0.0:*"),
        (("ipv6", "::1", 80, Some(true), None), "[::1]:80"),
        (("ipv6", "::", 80, Some(false), None), "*:80"),
        (("ipv6", "::", 80, Some(true), None), "[::]:80"),
        (("ipv6", "::", 0, None, None), "*:*"),
        (
            ("ipv6", "::ffff:127.0.0.1", 9, None, None),
            "[::ffff:127.0.0.1]:9",
        ),
        (
            ("ipv4", "127.0.0.53", 53, None, Some("lo")),
            "127.0.0.53%lo:53",
        ),
    ];
    for ((fam, addr, port, v6only, iface), want) in cases {
        assert_eq!(
            netns::ss_inet_addr(fam, addr, port, v6only, iface),
            want,
            "{fam} {addr} {port} {v6only:?}"
        );
    }
}

/// The ss filter language, differentially: each expression goes to both tools unchanged
/// (as separate arguments, the way a shell passes them) and selects the same sockets.
#[test]
fn filter_expressions_select_what_ss_selects() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let pop = Population::start(&ns, "basic", &[]);
    let l4 = pop.port("tcp", "l4").to_string();
    let l6 = pop.port("tcp", "l6").to_string();
    let ldual = pop.port("tcp", "ldual").to_string();
    // Both tools split filter words at spaces, also inside one argument (ss's lexer reads -F
    // files too), so a space in a path is escaped with a backslash for both.
    let named = pop.summary["unix"]["named_stream"]
        .as_str()
        .unwrap()
        .replace(' ', "\\ ");
    let dir = named.rsplit_once('/').unwrap().0.to_string();
    // (ss protocol flags, expression words)
    let inet: &[&str] = &["-t", "-u"];
    let all: &[&str] = &["-t", "-u", "-x"];
    let words = |e: &str| -> Vec<String> { e.split(' ').map(String::from).collect() };
    let cases: Vec<(&[&str], Vec<String>)> = vec![
        (all, words("state established")),
        (all, words("state connected")),
        (all, words("state synchronized")),
        (all, words("state listening")),
        (all, words("state closed")),
        (all, words("exclude established")),
        (inet, words("state time-wait state syn-recv")),
        (inet, words("state syn-sent state fin-wait-1")),
        (
            inet,
            words("state last-ack state closing state close-wait state fin-wait-2"),
        ),
        (inet, words("state bucket")),
        (inet, words("state big")),
        (inet, words(&format!("sport = :{l4}"))),
        (inet, words(&format!("dport = :{l4}"))),
        (inet, words(&format!("( sport = :{l6} or dport = :{l6} )"))),
        (inet, words(&format!("not sport = :{l4}"))),
        (inet, words(&format!("sport != :{ldual}"))),
        (inet, words(&format!("sport > :{l4}"))),
        (inet, words(&format!("dport <= :{l4}"))),
        (inet, words("src 127.0.0.1")),
        (inet, words("src 127.0.0.0/8")),
        (inet, words("src [::1]")),
        (inet, words("dst [::1]")),
        (inet, words("src [::ffff:127.0.0.1]")),
        (inet, words(&format!("dst 127.0.0.1:{l4}"))),
        (inet, words(&format!("src *:{ldual}"))),
        (inet, words(&format!("state established src :{l4}"))),
        (inet, words("autobound")),
        (&["-x"], vec!["src".into(), format!("{dir}/*")]),
        (&["-x"], vec!["src".into(), format!("unix:{named}")]),
        (&["-x"], words("src @pwtest*")),
    ];
    let mut failures = String::new();
    for (protos, expr) in &cases {
        let expr: Vec<&str> = expr.iter().map(String::as_str).collect();
        let mut pw_args = vec!["-a"];
        pw_args.extend(protos.iter().copied());
        pw_args.extend(&expr);
        let mut ss_args = vec!["-a"];
        ss_args.extend(&expr);
        let mut last = None;
        for _ in 0..3 {
            let (pw, ss) = both(&ns, &pw_args, &ss_args, protos, false);
            let (only_pw, only_ss) = diff(&pw, &ss);
            if only_pw.is_empty() && only_ss.is_empty() {
                // Agreeing on nothing, or on everything, would prove nothing about the filter.
                let total = both(&ns, &["-a"], &["-a"], protos, false).1.len();
                last = (pw.is_empty() || pw.len() >= total)
                    .then(|| format!(" selects {} of {total}: a vacuous case", pw.len()));
                break;
            }
            last = Some(explain(&only_pw, &only_ss));
        }
        if let Some(d) = last {
            failures.push_str(&format!("\n{protos:?} {expr:?}:{d}"));
        }
    }
    assert!(failures.is_empty(), "filters select differently:{failures}");

    // Stated difference: `dst NAME` on unix sockets. portwatch matches a socket whose peer
    // has that name (its `remote`); ss's netlink path knows no peer names and matches none.
    let dst = ["-a", "dst", named.as_str()];
    let (pw, ss) = both(&ns, &["-a", "-x", "dst", &named], &dst[..], &["-x"], false);
    assert!(ss.is_empty(), "ss matched unix dst: {ss:?}");
    let (_, all) = both(&ns, &["-a", "-x"], &["-a"], &["-x"], false);
    let unescaped = named.replace("\\ ", " ");
    let named_inodes: Vec<Option<u64>> = all
        .iter()
        .filter(|r| r.local == unescaped)
        .map(|r| r.inode)
        .collect();
    let expected: Vec<Row> = all
        .into_iter()
        .filter(|r| r.peer_inode.is_some() && named_inodes.contains(&r.peer_inode))
        .collect();
    assert!(
        !expected.is_empty(),
        "the named listener has a connected client"
    );
    let (only_pw, only_expected) = diff(&pw, &expected);
    assert!(
        only_pw.is_empty() && only_expected.is_empty(),
        "unix dst is not 'the peer has that name':{}",
        explain(&only_pw, &only_expected)
    );
}

/// `--backend proc` reads /proc/net text, which lacks some fields (README, Backends): no
/// backlog (a listener's Send-Q), no v6only, no bound device, no unix queues or peers, no uid
/// for unix. Those are blanked on both sides; everything else must match ss.
/// /proc/net/unix also lists a listener's not-yet-accepted server ends (inode 0, no file),
/// which sock_diag does not dump: those rows are portwatch-only by design.
#[test]
fn proc_backend_matches_ss_where_proc_knows() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let mut last = String::new();
    for _ in 0..3 {
        let (pw, ss) = both(
            &ns,
            &["--backend", "proc", "-a", "-p"],
            &["-a"],
            &["-t", "-u", "-x"],
            true,
        );
        let blank = |mut r: Row| -> Row {
            // Without v6only, `[::]` and `*` (dual-stack) cannot be told apart; and
            // /proc/net/tcp has no column for a bound device (SO_BINDTODEVICE).
            for a in [&mut r.local, &mut r.remote] {
                if let Some(port) = a.strip_prefix("[::]:") {
                    *a = format!("*:{port}");
                }
                if let Some((host, port)) = a.split_once('%').and_then(|(h, rest)| {
                    rest.rsplit_once(':')
                        .map(|(_, p)| (h.to_string(), p.to_string()))
                }) {
                    *a = format!("{host}:{port}");
                }
            }
            r.v6only = None;
            if r.state == "LISTEN" && r.netid == "tcp" {
                r.send_q = None;
            }
            if r.netid.starts_with("u_") {
                (r.recv_q, r.send_q, r.peer_inode, r.uid) = (None, None, None, None);
            }
            r
        };
        let (embryos, pw): (Vec<Row>, Vec<Row>) = pw
            .into_iter()
            .partition(|r| r.netid.starts_with("u_") && r.inode == Some(0));
        // The population leaves one unix connection unaccepted.
        assert!(
            embryos.len() == 1 && embryos[0].owners.is_empty() && embryos[0].state == "ESTAB",
            "unaccepted unix server ends: {embryos:?}"
        );
        let pw: Vec<Row> = pw.into_iter().map(blank).collect();
        let ss: Vec<Row> = ss.into_iter().map(blank).collect();
        let (only_pw, only_ss) = diff(&pw, &ss);
        if only_pw.is_empty() && only_ss.is_empty() {
            return;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("--backend proc differs from ss beyond what /proc cannot know:{last}");
}
