//! The one address formatter: each end of a socket as ss prints it, for the table, CSV and
//! explain alike; and IP addresses formatted on the stack for JSON and CSV fields.

use super::num::{push_ipv4, push_u64};
use super::sanitize::escape;
use crate::model::{Endpoint, Proto, Row};
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
            let device = row.rare.iface.as_deref().filter(|_| local);
            inet_endpoint(out, addr, *port, s.v6only, device);
        }
        Some(Endpoint::Unix(_)) | None => out.push('*'),
    }
}

/// An inet end as ss prints it, from its parts (for data that is not a `Row`, such as an
/// audit finding's sockets): `v6only` and the bound `device` as the socket has them.
pub fn inet_endpoint(
    out: &mut String,
    addr: &IpAddr,
    port: u16,
    v6only: Option<bool>,
    device: Option<&str>,
) {
    inet_addr(out, v6only, addr);
    if let Some(name) = device {
        out.push('%');
        out.push_str(&escape(name.as_bytes()));
    }
    out.push(':');
    if port == 0 {
        out.push('*');
    } else {
        push_u64(out, port.into());
    }
}

fn inet_addr(out: &mut String, v6only: Option<bool>, addr: &IpAddr) {
    match addr {
        IpAddr::V4(a) => push_ipv4(out, a),
        // ss prints an unspecified address of a dual-stack socket as `*` (it serves both
        // families); with v6only unknown (the /proc backend) it stays `[::]`.
        IpAddr::V6(a) if a.is_unspecified() && v6only == Some(false) => out.push('*'),
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
        (
            s.remote.as_ref(),
            Some(s.peer_inode.map_or(0, |p| u64::from(p.get()))),
        )
    };
    match name {
        Some(Endpoint::Unix(n)) => out.push_str(&escape(&n.display_bytes())),
        _ => out.push('*'),
    }
    if let Some(i) = inode {
        out.push(' ');
        push_u64(out, i);
    }
}

/// An IP address formatted on the stack: JSON for 100k sockets needs no String per address.
pub struct IpText {
    buf: [u8; 48],
    len: usize,
}

impl IpText {
    pub fn of(addr: &IpAddr) -> IpText {
        let mut t = IpText {
            buf: [0; 48],
            len: 0,
        };
        // The longest textual IPv6 address is 45 bytes: it always fits.
        let _ = write!(t, "{addr}");
        t
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
