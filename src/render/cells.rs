//! Text of each table/CSV cell: addresses (`addr.rs`), owners, service annotations.
//! Untrusted text is escaped here, once, for every text renderer.

use super::addr::endpoint;
use super::num::push_u64;
use super::sanitize::escape;
use super::Column;
use crate::model::Row;
use std::fmt::Write;

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
                let comm = escape(o.comm().as_bytes());
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
        a.cell_with(out, |out, text| out.push_str(&escape(text.as_bytes())));
    }
}

/// Fill `out` with the text of one cell.
pub fn cell(out: &mut String, row: &Row, col: Column) {
    let s = &row.sock;
    match col {
        Column::Netid => out.push_str(s.netid()),
        Column::State => out.push_str(s.state.name()),
        Column::RecvQ => opt_num(out, s.recv_q.get().map(u64::from)),
        Column::SendQ => opt_num(out, s.send_q.get().map(u64::from)),
        Column::Local => endpoint(out, row, true),
        Column::Peer => endpoint(out, row, false),
        Column::Service => service(out, row),
        Column::User => match (&row.rare.user, s.uid.get()) {
            (Some(u), _) => out.push_str(&escape(u.as_bytes())),
            (None, Some(uid)) => push_u64(out, uid.into()),
            (None, None) => out.push('-'),
        },
        Column::Inode => push_u64(out, s.inode),
        Column::Process => owners(out, row),
        Column::Netns => match &row.netns {
            Some(n) => out.push_str(&escape(n.label().as_bytes())),
            None => out.push('-'),
        },
        Column::Container => match &row.rare.container {
            Some(c) => out.push_str(&escape(c.label().as_bytes())),
            None => out.push('-'),
        },
    }
}

fn opt_num(out: &mut String, n: Option<u64>) {
    match n {
        Some(n) => push_u64(out, n),
        None => out.push('-'),
    }
}
