//! `portwatch explain PORT[/PROTO]`: everything known about a port, as data (serialisable for
//! --json) and as text. The data is built from the registry and rows the caller read; the
//! text renderer escapes everything that came from files or processes.

use super::annotate::in_ephemeral_range;
use super::facts::{self, Fact};
use super::{PortClass, Registry};
use crate::join::Row;
use crate::model::{Endpoint, Proto};
use serde::Serialize;
use std::io::{self, Write};
use std::net::IpAddr;

/// Everything known about one port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub port: u16,
    /// The protocol asked for; `None`: all.
    pub proto: Option<&'static str>,
    /// well-known, registered or dynamic.
    pub class: &'static str,
    /// The class's range, e.g. "1024-49151".
    pub class_range: &'static str,
    /// Inside this host's ephemeral range; `None` when the range is unknown.
    pub ephemeral: Option<bool>,
    pub ephemeral_range: Option<[u16; 2]>,
    /// Every name from every layer, highest layer first per protocol.
    pub names: Vec<NameInfo>,
    pub facts: Vec<Fact>,
    /// Sockets on this host using the port now (local or remote side).
    pub users: Vec<Usage>,
}

/// One name of the port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameInfo {
    pub proto: &'static str,
    pub name: String,
    pub description: Option<String>,
    /// label, services-file, etc-services, iana, curated.
    pub source: &'static str,
    /// The file the name came from, for file sources.
    pub origin: Option<String>,
    pub aliases: Vec<String>,
    /// The name the Service column shows for this port/proto.
    pub primary: bool,
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

/// Parse `PORT[/PROTO]`; a service name (`http`, `postgresql/tcp`) is resolved through the
/// registry (tcp first, then udp, when no protocol is given).
pub fn parse_spec(reg: &Registry, spec: &str) -> Result<(u16, Option<&'static str>), String> {
    let (what, proto) = match spec.split_once('/') {
        Some((w, p)) => (w, Some(super::labels::parse_proto(p)?)),
        None => (spec, None),
    };
    if let Ok(port) = what.parse::<u16>() {
        return Ok((port, proto));
    }
    if what.bytes().all(|b| b.is_ascii_digit()) && !what.is_empty() {
        return Err(format!("bad port {what:?} (expected 0-65535)"));
    }
    let found = match proto {
        Some(p) => reg.port_by_name(what, p),
        None => reg
            .port_by_name(what, "tcp")
            .or_else(|| reg.port_by_name(what, "udp")),
    };
    found
        .map(|port| (port, proto))
        .ok_or_else(|| format!("no port or known service named {what:?}"))
}

/// Gather what is known about `port` (over `proto`, or all protocols). `rows` are the
/// host's current sockets (any states, with owners when available); those using the port
/// become `users`.
pub fn explain(
    reg: &Registry,
    port: u16,
    proto: Option<&'static str>,
    ephemeral: Option<(u16, u16)>,
    rows: &[Row],
) -> Explanation {
    let class = PortClass::of(port);
    let names = reg
        .names(port, proto)
        .into_iter()
        .map(|r| NameInfo {
            proto: r.proto,
            name: r.service.name,
            description: r.service.description,
            source: r.service.source.name(),
            origin: r.service.origin.map(|p| p.display().to_string()),
            aliases: r.aliases,
            primary: r.primary,
        })
        .collect();
    Explanation {
        port,
        proto,
        class: class.name(),
        class_range: match class {
            PortClass::WellKnown => "0-1023",
            PortClass::Registered => "1024-49151",
            PortClass::Dynamic => "49152-65535",
        },
        ephemeral: ephemeral.map(|r| in_ephemeral_range(port, Some(r))),
        ephemeral_range: ephemeral.map(|(lo, hi)| [lo, hi]),
        names,
        facts: class_notes(class, ephemeral.map(|r| in_ephemeral_range(port, Some(r))))
            .into_iter()
            .chain(facts::facts(port, proto))
            .collect(),
        users: rows.iter().filter_map(|r| usage(r, port, proto)).collect(),
    }
}

/// What the port's range means on this host.
fn class_notes(class: PortClass, ephemeral: Option<bool>) -> Vec<Fact> {
    let mut notes = Vec::new();
    if class == PortClass::WellKnown {
        notes.push(Fact {
            kind: "note",
            text: "well-known port: binding it needs root or CAP_NET_BIND_SERVICE (unless \
                   net.ipv4.ip_unprivileged_port_start is lowered)",
        });
    }
    if ephemeral == Some(true) {
        notes.push(Fact {
            kind: "note",
            text: "ephemeral: the kernel hands ports in this range to outgoing connections, so \
                   a socket here is usually a client's end and the number changes each time",
        });
    }
    notes
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
        local: s.local.as_ref().map(endpoint),
        remote: s.remote.as_ref().map(endpoint),
        owners: row.owners.as_ref().map(|os| {
            os.iter()
                .map(|o| OwnerInfo {
                    pid: o.pid,
                    comm: o.comm.to_str_lossy().into_owned(),
                    comm_hex: o
                        .comm
                        .to_str()
                        .is_none()
                        .then(|| crate::render::sanitize::hex(o.comm.as_bytes())),
                    comm_bytes: o.comm.as_bytes().to_vec(),
                    fd: o.fd,
                })
                .collect()
        }),
        user: row.user.as_deref().map(str::to_string),
    })
}

/// ss's address form: `1.2.3.4:80`, `[::1]:80`, `*:*` for an unspecified remote.
fn endpoint(e: &Endpoint) -> String {
    match e {
        Endpoint::Inet { addr, port } => {
            let host = match addr {
                IpAddr::V4(a) if a.is_unspecified() => "*".to_string(),
                IpAddr::V6(a) if a.is_unspecified() => "*".to_string(),
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => format!("[{a}]"),
            };
            if *port == 0 {
                format!("{host}:*")
            } else {
                format!("{host}:{port}")
            }
        }
        Endpoint::Unix(n) => escape(&n.display_bytes()),
    }
}

/// Escape text from files and processes for a terminal, with the README's reversible rules
/// (`\e`, `\n`, `\xNN`, `\u{202e}`, `\\` ...), the same as the table: the former local
/// escaper let zero-width characters, LRM/RLM and U+2028/U+2029 (a line break to some
/// terminals) through raw, and did not escape `\`.
pub fn escape(bytes: &[u8]) -> String {
    crate::render::sanitize::escape(bytes).into_owned()
}

fn esc(s: &str) -> String {
    escape(s.as_bytes())
}

/// The human form of an explanation.
pub fn write_text(e: &Explanation, out: &mut dyn Write) -> io::Result<()> {
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
    if e.users.is_empty() {
        writeln!(out, "  in use:     no socket on this host uses it now")?;
    } else {
        writeln!(out, "  in use:")?;
        for u in &e.users {
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
                u.local.as_deref().map_or("-".into(), esc),
                u.remote.as_deref().map_or("-".into(), esc),
                u.user
                    .as_deref()
                    .map_or(String::new(), |n| format!(" user {}", esc(n))),
            )?;
        }
    }
    Ok(())
}
