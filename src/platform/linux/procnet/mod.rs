//! /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix} text: parsers on bytes plus readers of a tree.
//!
//! Used for raw sockets (no raw diag module on most kernels), as the fallback when a netlink
//! dump fails, and for fixture trees (`--proc-root`). The parsers are hand-written rather than
//! procfs's: procfs 0.18 fails a whole table on one malformed line or an unknown TCP state
//! (BOUND_INACTIVE, Linux 6.6+), cuts unix paths at spaces and ignores the unix listen flag
//! (see docs/PLATFORM-NOTES.md). procfs stays as the test oracle for well-formed tables.

mod inet;
mod unix;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_oracle;

pub use inet::{parse_inet, parse_inet_bytes};
pub use unix::{parse_unix, parse_unix_bytes};

use crate::error::Result;
use crate::model::{Family, Proto, Query, Snapshot, Socket, StateSet, Warning};
use std::io::{self, Read};
use std::path::Path;

/// What one table parse produced: the sockets kept and the lines skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub sockets: Vec<Socket>,
    /// Skipped lines: (1-based line number, reason).
    pub bad_lines: Vec<(usize, String)>,
}

impl Parsed {
    /// One "malformed-line" warning for the whole file (named by `file`), when lines were
    /// skipped: the first bad line and the count, so a corrupt table is reported once.
    pub fn warning(&self, file: &Path) -> Option<Warning> {
        let (line, reason) = self.bad_lines.first()?;
        let n = self.bad_lines.len();
        Some(Warning::new(
            "malformed-line",
            format!(
                "{}: skipped {n} malformed line{} (first: line {line}: {reason})",
                file.display(),
                if n == 1 { "" } else { "s" }
            ),
        ))
    }
}

/// The file under the proc root holding a (proto, family) table; `None` for combinations
/// that do not exist (a unix table of an inet family and the like).
pub fn table_file(proto: Proto, family: Family) -> Option<&'static str> {
    Some(match (proto, family) {
        (Proto::Tcp, Family::Ipv4) => "net/tcp",
        (Proto::Tcp, Family::Ipv6) => "net/tcp6",
        (Proto::Udp, Family::Ipv4) => "net/udp",
        (Proto::Udp, Family::Ipv6) => "net/udp6",
        (Proto::Raw, Family::Ipv4) => "net/raw",
        (Proto::Raw, Family::Ipv6) => "net/raw6",
        (Proto::Unix, Family::Unix) => "net/unix",
        _ => return None,
    })
}

/// Read every table the query asks for from `<proc_root>/net/`.
pub fn read_sockets(proc_root: &Path, q: &Query) -> Result<Snapshot> {
    let mut snap = Snapshot::default();
    for (proto, family) in super::tables(q) {
        read_table(proc_root, proto, family, q.states, &mut snap);
    }
    Ok(snap)
}

/// Append one table's sockets (those in `states`) and its warnings to `snap`. Never fails:
/// an unreadable table is a "proto-unavailable" warning, bad lines one "malformed-line".
pub fn read_table(
    proc_root: &Path,
    proto: Proto,
    family: Family,
    states: StateSet,
    snap: &mut Snapshot,
) {
    let Some(rel) = table_file(proto, family) else {
        return;
    };
    let path = proc_root.join(rel);
    let buf = match read_whole(&path) {
        Ok(buf) => buf,
        Err(e) => {
            if !(e.kind() == io::ErrorKind::NotFound
                && family == Family::Ipv6
                && !ipv6_present(proc_root))
            {
                snap.warnings.push(Warning::new(
                    "proto-unavailable",
                    format!(
                        "cannot read {}: {e}; {} sockets are not shown",
                        path.display(),
                        match (proto, family) {
                            (Proto::Unix, _) => "unix".to_string(),
                            (p, f) => format!("{} {}", p.name(), f.name()),
                        }
                    ),
                ));
            }
            return;
        }
    };
    let parsed = match proto {
        Proto::Unix => parse_unix_bytes(&buf, states),
        _ => parse_inet_bytes(&buf, proto, family, states),
    };
    if let Some(w) = parsed.warning(&path) {
        snap.warnings.push(w);
    }
    snap.sockets.extend(parsed.sockets);
}

/// Whether the tree has an IPv6 stack at all. A kernel booted with `ipv6.disable=1` (or built
/// without IPv6) has none of these files; a missing tcp6 there is not worth a warning, the
/// same way `ss -6` prints an empty table.
fn ipv6_present(proc_root: &Path) -> bool {
    ["net/if_inet6", "net/tcp6", "net/udp6"]
        .iter()
        .any(|f| proc_root.join(f).exists())
}

/// One buffer for the whole file: /proc files report size 0, so start at 64 KiB rather than
/// growing from nothing (a host with 100k sockets has a ~15 MB tcp table).
fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(64 * 1024);
    f.read_to_end(&mut buf)?;
    Ok(buf)
}

/// The data lines of a table with their 1-based numbers: the header (first line starting
/// with `sl` or `Num`) and blank lines are left out.
fn data_lines(buf: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    buf.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(n, l)| {
            let first = fields(l).next().map(|(s, e)| &l[s..e]);
            match first {
                None => false,
                Some(tok) => !(*n == 1 && (tok == b"sl" || tok == b"Num")),
            }
        })
}

/// Space-separated fields of a line as (start, end) byte offsets, so a caller can take "the
/// rest of the line" after a field (unix paths) without allocating.
fn fields(line: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < line.len() && line[pos] == b' ' {
            pos += 1;
        }
        if pos >= line.len() {
            return None;
        }
        let start = pos;
        while pos < line.len() && line[pos] != b' ' {
            pos += 1;
        }
        Some((start, pos))
    })
}

/// Hex digits (at most `max` of them, at least one) as a u32.
fn hex_u32(tok: &[u8], max: usize) -> Option<u32> {
    if tok.is_empty() || tok.len() > max.min(8) {
        return None;
    }
    tok.iter().try_fold(0u32, |acc, &b| {
        let d = (b as char).to_digit(16)?;
        Some((acc << 4) | d)
    })
}

/// Decimal digits as a u64; `None` on anything else or overflow.
fn dec_u64(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 20 {
        return None;
    }
    tok.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// A field for an error message: quoted, cut to 40 bytes so an overlong field stays readable.
fn shown(tok: &[u8]) -> String {
    let cut = &tok[..tok.len().min(40)];
    let more = if tok.len() > 40 { "..." } else { "" };
    format!("{:?}{more}", String::from_utf8_lossy(cut))
}
