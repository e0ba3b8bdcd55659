//! The inputs of `ss -s`: `/proc/net/sockstat`, `/proc/net/sockstat6` (net/ipv4/proc.c,
//! net/ipv6/proc.c: `LABEL: name value name value ...` lines) and `CurrEstab` from the
//! `Tcp:` lines of `/proc/net/snmp` (a header line of names, then a line of values). ss reads
//! nothing else for its summary (misc/ss.c, print_summary).
//!
//! The parsers are pure functions of the text. Lines and fields they do not know are
//! skipped (kernels add protocols, e.g. `UDPLITE:`, `MPTCP:`); a known field whose value is
//! not a number, or a line that is not `LABEL: name value ...`, is an error naming the line.

use crate::model::SockStat;
use std::io;
use std::path::{Path, PathBuf};

/// Why the counters could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SockstatError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{file} line {line}: {why}: {text:?}")]
    Malformed {
        file: String,
        line: usize,
        text: String,
        why: &'static str,
    },
}

fn malformed(file: &str, line: usize, text: &str, why: &'static str) -> SockstatError {
    SockstatError::Malformed {
        file: file.to_string(),
        line,
        text: text.to_string(),
        why,
    }
}

/// The field of `s` that `LABEL name` fills, if ss or the summary uses it.
fn slot<'a>(s: &'a mut SockStat, label: &str, name: &str) -> Option<&'a mut Option<u64>> {
    Some(match (label, name) {
        ("sockets", "used") => &mut s.sockets_used,
        ("TCP", "inuse") => &mut s.tcp_inuse,
        ("TCP", "orphan") => &mut s.tcp_orphan,
        ("TCP", "tw") => &mut s.tcp_tw,
        ("TCP", "alloc") => &mut s.tcp_alloc,
        ("TCP", "mem") => &mut s.tcp_mem,
        ("UDP", "inuse") => &mut s.udp_inuse,
        ("UDP", "mem") => &mut s.udp_mem,
        ("UDPLITE", "inuse") => &mut s.udplite_inuse,
        ("RAW", "inuse") => &mut s.raw_inuse,
        ("FRAG", "inuse") => &mut s.frag_inuse,
        ("FRAG", "memory") => &mut s.frag_memory,
        ("TCP6", "inuse") => &mut s.tcp6_inuse,
        ("UDP6", "inuse") => &mut s.udp6_inuse,
        ("UDPLITE6", "inuse") => &mut s.udplite6_inuse,
        ("RAW6", "inuse") => &mut s.raw6_inuse,
        ("FRAG6", "inuse") => &mut s.frag6_inuse,
        ("FRAG6", "memory") => &mut s.frag6_memory,
        _ => return None,
    })
}

/// Add the counters of one sockstat file (`file` names it in errors) to `into`; sockstat
/// and sockstat6 share the format and their labels do not overlap.
pub fn parse_sockstat(file: &str, text: &str, into: &mut SockStat) -> Result<(), SockstatError> {
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some((label, rest)) = line.split_once(':') else {
            return Err(malformed(file, n, line, "no `LABEL:`"));
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if !words.len().is_multiple_of(2) {
            return Err(malformed(file, n, line, "not `name value` pairs"));
        }
        for pair in words.chunks_exact(2) {
            let (name, value) = (pair[0], pair[1]);
            if let Some(slot) = slot(into, label, name) {
                let v = value
                    .parse()
                    .map_err(|_| malformed(file, n, line, "a count that is not a number"))?;
                *slot = Some(v);
            }
        }
    }
    Ok(())
}

/// `Tcp: CurrEstab` from /proc/net/snmp: `None` when the file has no such column.
pub fn parse_snmp_curr_estab(file: &str, text: &str) -> Result<Option<u64>, SockstatError> {
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let Some(names) = line.strip_prefix("Tcp:") else {
            continue;
        };
        let Some(col) = names.split_whitespace().position(|w| w == "CurrEstab") else {
            return Ok(None);
        };
        let Some((j, values)) = lines.next() else {
            return Err(malformed(
                file,
                i + 1,
                line,
                "a `Tcp:` header without values",
            ));
        };
        let Some(values) = values.strip_prefix("Tcp:") else {
            return Err(malformed(file, j + 1, values, "not the `Tcp:` values line"));
        };
        let value = values
            .split_whitespace()
            .nth(col)
            .ok_or_else(|| malformed(file, j + 1, values, "fewer values than names"))?;
        return value
            .parse()
            .map(Some)
            .map_err(|_| malformed(file, j + 1, values, "CurrEstab is not a number"));
    }
    Ok(None)
}

fn read(path: PathBuf) -> Result<String, SockstatError> {
    std::fs::read_to_string(&path).map_err(|source| SockstatError::Read { path, source })
}

/// Read the summary counters of the network namespace `proc_root` shows (`/proc` is the
/// caller's). sockstat6 is absent when IPv6 is disabled: its counters stay `None`.
pub fn read_sockstat(proc_root: &Path) -> Result<SockStat, SockstatError> {
    let net = proc_root.join("net");
    let mut s = SockStat::default();
    parse_sockstat("sockstat", &read(net.join("sockstat"))?, &mut s)?;
    match std::fs::read_to_string(net.join("sockstat6")) {
        Ok(text) => parse_sockstat("sockstat6", &text, &mut s)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(SockstatError::Read {
                path: net.join("sockstat6"),
                source,
            })
        }
    }
    s.tcp_estab = parse_snmp_curr_estab("snmp", &read(net.join("snmp"))?)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SOCKSTAT: &str = "sockets: used 22
TCP: inuse 3 orphan 1 tw 2 alloc 4 mem 336
UDP: inuse 5 mem 7
UDPLITE: inuse 0
RAW: inuse 1
FRAG: inuse 0 memory 0
";
    const SOCKSTAT6: &str = "TCP6: inuse 6
UDP6: inuse 8
UDPLITE6: inuse 0
RAW6: inuse 0
FRAG6: inuse 2 memory 1024
";
    const SNMP: &str = "Ip: Forwarding DefaultTTL
Ip: 1 64
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs
Tcp: 1 200 120000 -1 42 15 0 15 2 4772
Udp: InDatagrams
Udp: 3
";

    fn parsed() -> SockStat {
        let mut s = SockStat::default();
        parse_sockstat("sockstat", SOCKSTAT, &mut s).unwrap();
        parse_sockstat("sockstat6", SOCKSTAT6, &mut s).unwrap();
        s.tcp_estab = parse_snmp_curr_estab("snmp", SNMP).unwrap();
        s
    }

    #[test]
    fn every_counter_ss_reads() {
        let s = parsed();
        let want = SockStat {
            sockets_used: Some(22),
            tcp_inuse: Some(3),
            tcp_orphan: Some(1),
            tcp_tw: Some(2),
            tcp_alloc: Some(4),
            tcp_mem: Some(336),
            udp_inuse: Some(5),
            udp_mem: Some(7),
            udplite_inuse: Some(0),
            raw_inuse: Some(1),
            frag_inuse: Some(0),
            frag_memory: Some(0),
            tcp6_inuse: Some(6),
            udp6_inuse: Some(8),
            udplite6_inuse: Some(0),
            raw6_inuse: Some(0),
            frag6_inuse: Some(2),
            frag6_memory: Some(1024),
            tcp_estab: Some(2),
        };
        assert_eq!(s, want);
    }

    #[test]
    fn unknown_lines_and_fields_are_skipped() {
        let mut s = SockStat::default();
        let text = "MPTCP: inuse 4 weird x\nTCP: inuse 3 future 9\n\n";
        parse_sockstat("sockstat", text, &mut s).unwrap();
        assert_eq!((s.tcp_inuse, s.tcp_tw), (Some(3), None));
    }

    #[test]
    fn malformed_lines_are_named() {
        let table = [
            ("sockets: used 22\nTCP: inuse x\n", 2, "TCP: inuse x"),
            ("sockets: used\n", 1, "sockets: used"),
            ("TCP inuse 3\n", 1, "TCP inuse 3"),
            ("UDP: inuse -1 mem 0\n", 1, "UDP: inuse -1 mem 0"),
        ];
        for (text, want_line, want_text) in table {
            let e = parse_sockstat("sockstat", text, &mut SockStat::default()).unwrap_err();
            match &e {
                SockstatError::Malformed { line, text, .. } => {
                    assert_eq!((*line, text.as_str()), (want_line, want_text), "{e}");
                }
                other => panic!("{other}"),
            }
            assert!(e
                .to_string()
                .starts_with(&format!("sockstat line {want_line}:")));
        }
    }

    #[test]
    fn snmp_variants() {
        assert_eq!(
            parse_snmp_curr_estab("snmp", "Ip: A\nIp: 1\n").unwrap(),
            None
        );
        assert_eq!(
            parse_snmp_curr_estab("snmp", "Tcp: A B\nTcp: 1 2\n").unwrap(),
            None
        );
        for (text, line) in [
            ("Tcp: CurrEstab\n", 1),
            ("Tcp: CurrEstab\nUdp: 1\n", 2),
            ("Tcp: A CurrEstab\nTcp: 1\n", 2),
            ("Tcp: CurrEstab\nTcp: -3\n", 2),
        ] {
            match parse_snmp_curr_estab("snmp", text) {
                Err(SockstatError::Malformed { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn live_proc_parses() {
        let s = read_sockstat(Path::new("/proc")).expect("this host's counters");
        assert!(s.sockets_used.is_some() && s.tcp_inuse.is_some() && s.tcp_estab.is_some());
    }

    #[test]
    fn missing_files_name_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_sockstat(dir.path()).unwrap_err();
        assert!(e.to_string().contains("net/sockstat"), "{e}");
    }

    proptest! {
        #[test]
        fn sockstat_garbage_never_panics(text in "\\\\PC{0,200}") {
            let _ = parse_sockstat("sockstat", &text, &mut SockStat::default());
            let _ = parse_snmp_curr_estab("snmp", &text);
        }

        #[test]
        fn damaged_sockstat_never_panics(cut in 0usize..200, junk in "[ a-zA-Z0-9:\\n-]{0,20}") {
            let mut text = SOCKSTAT.to_string();
            text.truncate(cut.min(text.len()));
            text.push_str(&junk);
            let _ = parse_sockstat("sockstat", &text, &mut SockStat::default());
            let mut snmp = SNMP.to_string();
            snmp.truncate(cut.min(snmp.len()));
            snmp.push_str(&junk);
            let _ = parse_snmp_curr_estab("snmp", &snmp);
        }
    }
}
