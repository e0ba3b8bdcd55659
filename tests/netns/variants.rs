//! Variants of the listing compared with ss in the namespace: the family flags (where
//! portwatch differs from ss on purpose), the filter language, and the /proc backend.

use super::netns::{both, diff, explain, parse_ss, prerequisites_met, Netns, Population, Row};

/// ss's `-4` leaves out sockets that carry IPv4 on an IPv6 socket; portwatch's includes them.
/// Exactly those differ: the dual-stack `[::]` and the v4-mapped listeners (TCP and UDP).
#[test]
fn ipv4_flag_differs_from_ss_by_dual_stack_and_mapped_only() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let pop = Population::start(&ns, "basic", &[]);
    // Exact spellings (a port number alone may be shared by an unrelated IPv6-only socket).
    let extra = [
        ("tcp", format!("*:{}", pop.port("tcp", "ldual"))),
        (
            "tcp",
            format!("[::ffff:127.0.0.1]:{}", pop.port("tcp", "lmapped")),
        ),
        ("udp", format!("*:{}", pop.port("udp", "udual"))),
        (
            "udp",
            format!("[::ffff:127.0.0.1]:{}", pop.port("udp", "umapped")),
        ),
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
            .filter(|r| extra.iter().any(|(n, l)| r.netid == *n && r.local == *l))
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

/// The same rule over every state: `-4 -a` adds to ss's `-4 -a` exactly the IPv6 sockets
/// that carry IPv4, i.e. dual-stack wildcards (`*:P`) and v4-mapped ones (`[::ffff:a.b.c.d]`),
/// among them the dual-stack listener's accepted IPv4 connection.
#[test]
fn ipv4_flag_in_every_state_adds_exactly_the_ipv4_carrying_ipv6_sockets() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let mut last = String::new();
    for _ in 0..3 {
        let (pw, ss4) = both(
            &ns,
            &["-4", "-a", "-t", "-u"],
            &["-4", "-a"],
            &["-t", "-u"],
            false,
        );
        let (_, ss6) = both(
            &ns,
            &["-6", "-a", "-t", "-u"],
            &["-6", "-a"],
            &["-t", "-u"],
            false,
        );
        let extras: Vec<Row> = ss6
            .into_iter()
            .filter(|r| r.local.starts_with("*:") || r.local.starts_with("[::ffff:"))
            .collect();
        assert!(
            extras.iter().any(|r| r.state == "ESTAB"),
            "a v4-mapped connection among {extras:?}"
        );
        let mut expected = ss4;
        expected.extend(extras);
        let (only_pw, only_ss) = diff(&pw, &expected);
        if only_pw.is_empty() && only_ss.is_empty() {
            return;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("portwatch -4 -a is not ss -4 -a plus the IPv4-carrying IPv6 sockets:{last}");
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
        // Comparisons chosen so that no random port order can make a case vacuous: port 80
        // is below every ephemeral port, and port 0 (unconnected) below everything.
        (inet, words("sport > :1024")),
        (inet, words("dport <= :1024")),
        (inet, words(&format!("sport < :{l4}"))),
        (inet, words(&format!("dport >= :{l4}"))),
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

/// The table, not just the JSON: with `-H` and no `-e`/`-p`, portwatch's first columns are
/// ss's (State, Recv-Q, Send-Q, Local, Peer; unix `name inode` pairs), spelled the same.
/// Stated differences: the Service column follows (an annotation; ignored here), a unix
/// peer is named (the reader keeps only its inode), and untrusted names are escaped
/// (README, Untrusted text): those rows are counted, not compared.
#[test]
fn the_table_prints_what_ss_prints() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let pw_bin = env!("CARGO_BIN_EXE_portwatch");
    let mut last = String::new();
    for _ in 0..3 {
        let (mut pw, mut ss) = (Vec::new(), Vec::new());
        for (flag, netid) in [("-t", "tcp"), ("-u", "udp"), ("-x", "unix")] {
            pw.extend(parse_ss(netid, &ns.text(pw_bin, &["-a", "-H", flag]), None));
            ss.extend(parse_ss(
                netid,
                &ns.text("ss", &["-a", "-n", "-H", "-O", flag]),
                None,
            ));
        }
        // ss writes the bytes of a name raw (a NUL as '@'); portwatch escapes control, bidi
        // and non-UTF-8 bytes. The population has four such names: NUL, tab, \xff, U+202E.
        let (escaped, pw): (Vec<Row>, Vec<Row>) =
            pw.into_iter().partition(|r| r.local.contains('\\'));
        assert_eq!(escaped.len(), 4, "escaped names: {escaped:?}");
        let odd: Vec<Option<u64>> = escaped.iter().map(|r| r.inode).collect();
        ss.retain(|r| !odd.contains(&r.inode));
        let (only_pw, only_ss) = diff(&pw, &ss);
        if only_pw.is_empty() && only_ss.is_empty() {
            assert!(pw.len() > 40, "the population's rows: {}", pw.len());
            return;
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("the table differs from ss's:{last}");
}
