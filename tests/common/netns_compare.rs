//! How the tests put the two tools side by side: run both in the namespace, read both into
//! rows, and compare them as multisets, reading again before declaring a difference.

use super::{diff, explain, from_portwatch, parse_ss, Netns, Row};
use std::collections::BTreeSet;

/// One tool against the other, over the protocols in `protos` (ss flags: -t -u -x -w).
/// ss runs once per protocol (its Netid column is absent for a single inet protocol).
/// Without `owners`, owners are cleared on both sides (they have their own tests).
pub fn both(
    ns: &Netns,
    pw_args: &[&str],
    ss_args: &[&str],
    protos: &[&str],
    owners: bool,
) -> (Vec<Row>, Vec<Row>) {
    let pw = from_portwatch(&ns.portwatch(pw_args));
    let ss = ss_rows(|args| ns.ss(args), ss_args, protos);
    let strip = |v: Vec<Row>| -> Vec<Row> {
        if owners {
            v
        } else {
            v.into_iter().map(Row::without_owners).collect()
        }
    };
    (strip(pw), strip(ss))
}

/// ss's rows for `protos` (ss flags: -t -u -x -w), one ss run per protocol through `ss`
/// (which runs `ss -n -e -p -H -O ARGS` wherever the test needs it).
pub fn ss_rows(ss: impl Fn(&[&str]) -> String, ss_args: &[&str], protos: &[&str]) -> Vec<Row> {
    let mut rows = Vec::new();
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
        rows.extend(parse_ss(netid, &ss(&args), implied));
    }
    rows
}

/// The state of every row when ss prints no State column: ss drops the column when its
/// filter leaves one possible state (misc/ss.c, main: `columns[COL_STATE].disabled` when
/// `current_filter.states` has a single bit), e.g. `state established`, or UDP without -a
/// or -l (its states are masked to UDP's, leaving ESTAB). Only used when the column is
/// missing, so a wrong guess here cannot hide a row.
pub fn implied_state(ss_args: &[&str]) -> Option<&'static str> {
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
pub fn assert_same(
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

pub fn states(rows: &[Row]) -> BTreeSet<&str> {
    rows.iter().map(|r| r.state.as_str()).collect()
}
