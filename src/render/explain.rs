//! `explain` output: what the registry knows about a port (`registry::explain`) and the
//! sockets using it now, as text or one JSON document. Text from files and processes is
//! escaped with the table's rules; addresses use the table's formatter.

use super::addr::endpoint;
use super::sanitize::hex;
use crate::model::{Endpoint, Proto, Row};
use crate::registry::explain::Explanation;
use serde::Serialize;
use std::io::{self, Write};

/// An explanation with the sockets that use the port. JSON: the explanation's keys, then
/// `users`.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    #[serde(flatten)]
    pub explanation: &'a Explanation,
    /// Sockets on this host using the port now (local or remote side).
    pub users: Vec<Usage>,
}

/// `e` with the rows (the host's TCP and UDP sockets, owners when read) that use its port.
pub fn report<'a>(e: &'a Explanation, rows: &[Row]) -> Report<'a> {
    Report {
        explanation: e,
        users: rows
            .iter()
            .filter_map(|r| usage(r, e.port, e.proto))
            .collect(),
    }
}

/// The JSON document (pretty-printed, one per run).
pub fn write_json(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// One end of a row as the table prints it.
fn end_text(row: &Row, local: bool) -> String {
    let mut s = String::new();
    endpoint(&mut s, row, local);
    s
}

/// Text from files and processes, escaped with the README's reversible rules (`\e`, `\n`,
/// `\xNN`, `\u{202e}`, `\\` ...), the same as the table.
fn escape(bytes: &[u8]) -> String {
    super::sanitize::escape(bytes).into_owned()
}

fn esc(s: &str) -> String {
    escape(s.as_bytes())
}

/// One socket using the port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub proto: &'static str,
    /// ss's state name (LISTEN, ESTAB, UNCONN ...).
    pub state: &'static str,
    /// Which end uses the port: "local" or "remote".
    pub side: &'static str,
    pub local: Option<String>,
    pub remote: Option<String>,
    /// Holding processes; `None` when the owner scan did not run.
    pub owners: Option<Vec<OwnerInfo>>,
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerInfo {
    pub pid: u32,
    /// Command name, invalid UTF-8 replaced (JSON escapes control characters itself).
    pub comm: String,
    /// The exact bytes, as hex, when they are not UTF-8 (as in the listing's JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    /// The exact bytes, for the text renderer's escaping.
    #[serde(skip)]
    pub comm_bytes: Vec<u8>,
    pub fd: u32,
}

fn usage(row: &Row, port: u16, proto: Option<&str>) -> Option<Usage> {
    let s = &row.sock;
    let p = match s.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Unix | Proto::Raw => return None,
    };
    if proto.is_some_and(|q| q != p) {
        return None;
    }
    let lport = s.local.as_ref().and_then(Endpoint::port);
    let rport = s
        .remote
        .as_ref()
        .and_then(Endpoint::port)
        .filter(|&r| r != 0);
    let side = if lport == Some(port) {
        "local"
    } else if rport == Some(port) {
        "remote"
    } else {
        return None;
    };
    Some(Usage {
        proto: p,
        state: s.state.name(),
        side,
        local: s.local.as_ref().map(|_| end_text(row, true)),
        remote: s.remote.as_ref().map(|_| end_text(row, false)),
        owners: row.owners.as_ref().map(|os| {
            os.iter()
                .map(|o| OwnerInfo {
                    pid: o.pid,
                    comm: o.comm().to_str_lossy().into_owned(),
                    comm_hex: o
                        .comm()
                        .to_str()
                        .is_none()
                        .then(|| hex(o.comm().as_bytes())),
                    comm_bytes: o.comm().as_bytes().to_vec(),
                    fd: o.fd,
                })
                .collect()
        }),
        user: row.rare.user.as_deref().map(str::to_string),
    })
}

/// The human form of an explanation.
pub fn write_text(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let e = r.explanation;
    match e.proto {
        Some(p) => writeln!(out, "Port {}/{p}", e.port)?,
        None => writeln!(out, "Port {}", e.port)?,
    }
    writeln!(out, "  class:      {} ({})", e.class, e.class_range)?;
    match (e.ephemeral, e.ephemeral_range) {
        (Some(yes), Some([lo, hi])) => writeln!(
            out,
            "  ephemeral:  {} (this host's ephemeral range is {lo}-{hi})",
            if yes { "yes" } else { "no" }
        )?,
        _ => writeln!(out, "  ephemeral:  unknown (ephemeral range not readable)")?,
    }
    let labels: Vec<String> = e
        .names
        .iter()
        .filter(|n| n.source == "label")
        .map(|n| format!("{} ({}/{})", esc(&n.name), e.port, n.proto))
        .collect();
    if labels.is_empty() {
        let spec = format!("{}/{}", e.port, e.proto.unwrap_or("tcp"));
        writeln!(
            out,
            "  label:      none (set one: portwatch label set {spec} NAME [DESCRIPTION])"
        )?;
    } else {
        writeln!(out, "  label:      {}", labels.join(", "))?;
    }
    if e.names.is_empty() {
        writeln!(
            out,
            "  names:      none: no label, services file, IANA or curated entry names this port"
        )?;
    } else {
        writeln!(out, "  names (* = shown in the Service column):")?;
        let width = e.names.iter().map(|n| esc(&n.name).chars().count()).max();
        for n in &e.names {
            let spec = format!("{}/{}", e.port, n.proto);
            let mut line = format!(
                "  {} {spec:<10} {:<w$}",
                if n.primary { '*' } else { ' ' },
                esc(&n.name),
                w = width.unwrap_or(0)
            );
            if let Some(d) = &n.description {
                line.push_str("  ");
                line.push_str(&esc(d));
            }
            line.push_str(&format!("  [{}", n.source));
            if let Some(o) = &n.origin {
                line.push(' ');
                line.push_str(&esc(o));
            }
            if !n.aliases.is_empty() {
                line.push_str(&format!("; aliases: {}", esc(&n.aliases.join(" "))));
            }
            line.push(']');
            writeln!(out, "{line}")?;
        }
    }
    for f in &e.facts {
        writeln!(out, "  {:<11} {}", format!("{}:", f.kind), f.text)?;
    }
    if r.users.is_empty() {
        writeln!(out, "  in use:     no socket on this host uses it now")?;
    } else {
        writeln!(out, "  in use:")?;
        for u in &r.users {
            let owners = match &u.owners {
                None => "-".to_string(),
                Some(os) if os.is_empty() => "owner not visible".to_string(),
                Some(os) => os
                    .iter()
                    .map(|o| format!("{}({})", escape(&o.comm_bytes), o.pid))
                    .collect::<Vec<_>>()
                    .join(","),
            };
            writeln!(
                out,
                "    {:<4} {:<10} {} -> {}  {owners}{}",
                u.proto,
                u.state,
                // Already escaped by the address formatter.
                u.local.as_deref().unwrap_or("-"),
                u.remote.as_deref().unwrap_or("-"),
                u.user
                    .as_deref()
                    .map_or(String::new(), |n| format!(" user {}", esc(n))),
            )?;
        }
    }
    Ok(())
}
