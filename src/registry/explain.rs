//! `portwatch explain PORT[/PROTO]`: everything the registry knows about a port, as data
//! (rendered by `render::explain` together with the sockets that use the port now).

use super::annotate::in_ephemeral_range;
use super::facts::{self, Fact};
use super::{PortClass, Registry};
use serde::Serialize;

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

/// Gather what the registry knows about `port` (over `proto`, or all protocols). Who uses
/// the port now is the caller's listing (see `render::explain`).
pub fn explain(
    reg: &Registry,
    port: u16,
    proto: Option<&'static str>,
    ephemeral: Option<(u16, u16)>,
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
