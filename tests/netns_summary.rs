//! The `ss -s` inputs, read in a private network namespace filled with every TCP state
//! (tests/netns/population.py), must give exactly the numbers `ss -s` prints there.
//!
//! Some counters are host-wide even inside a namespace (TCP `alloc`, `orphan`: see
//! model/sockstat.rs), so other processes on the host move them; a comparison counts only
//! when two `ss -s` runs around the files' read agree. Needs root, iproute2 and python3;
//! under CI=true a missing one fails the test.
#![cfg(target_os = "linux")]

// The namespace helpers re-export comparison functions this file does not need.
#[allow(unused_imports)]
#[path = "common/netns.rs"]
mod netns;

use netns::{prerequisites_met, Netns, Population};
use portwatch::model::{SockStat, Split, SsTotals};
use portwatch::platform::linux::sockstat::{parse_snmp_curr_estab, parse_sockstat};

/// Every integer `ss -s` prints, in order (a negative `closed` included; `IPv6` is not a
/// number).
fn ss_numbers(text: &str) -> Vec<i64> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c| matches!(c, '(' | ')' | ',')))
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Our totals in the order ss prints them.
fn our_numbers(t: &SsTotals) -> Vec<i64> {
    let mut v = vec![t.sockets, t.tcp, t.estab, t.closed, t.orphaned, t.timewait];
    for s in [t.raw, t.udp, t.tcp_hashed, t.inet, t.frag] {
        let Split { total, ipv4, ipv6 } = s;
        v.extend([total, ipv4, ipv6]);
    }
    v.into_iter()
        .map(|n| n.expect("every counter is in this kernel's files"))
        .collect()
}

#[test]
fn summary_counters_equal_ss_s() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let script = "ss -s; echo @@; cat /proc/net/sockstat; echo @@; cat /proc/net/sockstat6; \
                  echo @@; cat /proc/net/snmp; echo @@; ss -s";
    for _ in 0..40 {
        let out = ns.text("sh", &["-c", script]);
        let parts: Vec<&str> = out.split("@@\n").collect();
        assert_eq!(parts.len(), 5, "{out}");
        let (before, after) = (ss_numbers(parts[0]), ss_numbers(parts[4]));
        assert_eq!(before.len(), 21, "ss -s layout: {}", parts[0]);
        if before != after {
            continue;
        }
        let mut s = SockStat::default();
        parse_sockstat("sockstat", parts[1], &mut s).expect("sockstat");
        parse_sockstat("sockstat6", parts[2], &mut s).expect("sockstat6");
        s.tcp_estab = parse_snmp_curr_estab("snmp", parts[3]).expect("snmp");
        let t = s.ss_totals();
        assert_eq!(our_numbers(&t), before, "ss -s:\n{}", parts[0]);
        // The comparison means something only if the namespace was really filled.
        assert!(
            t.tcp_hashed.ipv4 > Some(5) && t.tcp_hashed.ipv6 > Some(0),
            "{t:?}"
        );
        assert!(t.timewait > Some(0) && t.estab > Some(0) && t.udp.total > Some(0));
        return;
    }
    panic!("ss -s never printed the same numbers twice in a row");
}

/// `portwatch -sl` prints ss -s's lines byte for byte before its own sections. TCP's `alloc`
/// and `orphan` are host-wide, so another process on the host can move them while portwatch
/// reads, even when the two `ss -s` runs around it agree: a run counts when all three agree,
/// and a portwatch that is wrong never does. `Total` (the namespace's sockets in use) counts
/// portwatch's own netlink sockets until the kernel frees them after it exits, an RCU grace
/// period later (with CONFIG_RCU_LAZY, ~0.2 s on an idle machine: seen as 4 more right after
/// it and none 0.2 s later), so the second `ss -s` waits, up to 3 s, to agree with the first.
#[test]
fn portwatch_s_prints_ss_s() {
    if !prerequisites_met() {
        return;
    }
    let ns = Netns::new();
    let _pop = Population::start(&ns, "basic", &[]);
    let script = format!(
        "a=$(ss -s); echo \"$a\"; echo @@; {} -sl; echo @@; \
         for i in $(seq 30); do b=$(ss -s); [ \"$b\" = \"$a\" ] && break; sleep 0.1; done; \
         echo \"$b\"",
        env!("CARGO_BIN_EXE_portwatch")
    );
    let mut last = String::new();
    for _ in 0..40 {
        let out = ns.text("sh", &["-c", &script]);
        let parts: Vec<&str> = out.split("@@\n").collect();
        assert_eq!(parts.len(), 3, "{out}");
        assert!(parts[1].contains("Listeners per service:"), "{}", parts[1]);
        if parts[0] == parts[2] && parts[1].starts_with(parts[0]) {
            return;
        }
        last = format!(
            "ss -s:\n{}\nportwatch -sl:\n{}\nss -s after:\n{}",
            parts[0], parts[1], parts[2]
        );
    }
    panic!("portwatch -sl never began with what ss -s printed around it; last:\n{last}");
}
