//! Text of each table/CSV cell: addresses as ss prints them, owners, service annotations.
//! Untrusted text is escaped here, once, for every text renderer.

use super::sanitize::escape;
use super::Column;
use crate::join::Row;
use crate::model::{Endpoint, Proto, Socket};
use std::fmt::Write;
use std::net::IpAddr;

/// Append the display form of one end of a socket to `out`, as ss prints it: `127.0.0.1:22`,
/// `[::1]:22`, `*:22` for a dual-stack wildcard, `*` for port 0, `%iface` for a bound device;
/// unix: the name (or `*`) and the inode.
pub fn endpoint(out: &mut String, row: &Row, local: bool) {
    let s = &row.sock;
    let ep = if local { &s.local } else { &s.remote };
    if s.proto == Proto::Unix {
        unix_endpoint(out, row, local);
        return;
    }
    match ep {
        Some(Endpoint::Inet { addr, port }) => {
            inet_addr(out, s, addr);
            if local {
                if let Some(name) = &row.iface {
                    out.push('%');
                    out.push_str(&escape(name.as_bytes()));
                }
            }
            out.push(':');
            if *port == 0 {
                out.push('*');
            } else {
                let _ = write!(out, "{port}");
            }
        }
        Some(Endpoint::Unix(_)) | None => out.push('*'),
    }
}

fn inet_addr(out: &mut String, s: &Socket, addr: &IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            let _ = write!(out, "{a}");
        }
        // ss prints an unspecified address of a dual-stack socket as `*` (it serves both
        // families); with v6only unknown (the /proc backend) it stays `[::]`.
        IpAddr::V6(a) if a.is_unspecified() && s.v6only == Some(false) => out.push('*'),
        IpAddr::V6(a) => {
            let _ = write!(out, "[{a}]");
        }
    }
}

fn unix_endpoint(out: &mut String, row: &Row, local: bool) {
    let s = &row.sock;
    let (name, inode) = if local {
        (s.local.as_ref(), Some(s.inode))
    } else {
        (s.remote.as_ref(), Some(s.peer_inode.map_or(0, |p| p.get())))
    };
    match name {
        Some(Endpoint::Unix(n)) => out.push_str(&escape(&n.display_bytes())),
        _ => out.push('*'),
    }
    if let Some(i) = inode {
        let _ = write!(out, " {i}");
    }
}

/// Owners as `comm(pid=N,fd=N)` joined by `,`; `-` when the scan found none visible.
pub fn owners(out: &mut String, row: &Row) {
    match &row.owners {
        None => {}
        Some(v) if v.is_empty() => out.push('-'),
        Some(v) => {
            for (i, o) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // A raw ',' would let a process name forge owners: a process can call itself
                // `a(pid=1,fd=0),b` (15 bytes), which would read as two owners, one pid 1.
                // With commas escaped (`\x2c`, reversible like every escape), every raw comma
                // in the cell belongs to the `(pid=N,fd=N)` parts or separates owners.
                let comm = escape(o.comm.as_bytes());
                if comm.contains(',') {
                    out.push_str(&comm.replace(',', "\\x2c"));
                } else {
                    out.push_str(&comm);
                }
                let _ = write!(out, "(pid={},fd={})", o.pid, o.fd);
            }
        }
    }
}

/// The Service cell: the name, or for a port no layer knows `unregistered (CLASS range[, ephemeral])`
/// with an owner hint marked as one (see `Annotation::cell`).
pub fn service(out: &mut String, row: &Row) {
    if let Some(a) = &row.service {
        out.push_str(&escape(a.cell().as_bytes()));
    }
}

/// Fill `out` with the text of one cell.
pub fn cell(out: &mut String, row: &Row, col: Column) {
    let s = &row.sock;
    match col {
        Column::Netid => out.push_str(s.netid()),
        Column::State => out.push_str(s.state.name()),
        Column::RecvQ => opt_num(out, s.recv_q.map(u64::from)),
        Column::SendQ => opt_num(out, s.send_q.map(u64::from)),
        Column::Local => endpoint(out, row, true),
        Column::Peer => endpoint(out, row, false),
        Column::Service => service(out, row),
        Column::User => match (&row.user, s.uid) {
            (Some(u), _) => out.push_str(&escape(u.as_bytes())),
            (None, Some(uid)) => {
                let _ = write!(out, "{uid}");
            }
            (None, None) => out.push('-'),
        },
        Column::Inode => {
            let _ = write!(out, "{}", s.inode);
        }
        Column::Process => owners(out, row),
    }
}

fn opt_num(out: &mut String, n: Option<u64>) {
    match n {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push('-'),
    }
}
