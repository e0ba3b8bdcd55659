//! What an audit reports: findings with a stable id, a severity, the sockets and processes
//! they are about, why they matter and what to do; and the report (`schema` 1) around them.

use super::reach::Reach;
use crate::model::Text;
use serde::{Serialize, Serializer};
use std::net::IpAddr;

/// How much a finding matters. Ordered: `Info < Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// `info`, `low`, `medium`, `high` (the `--fail-on` values).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.name() == s)
    }

    /// What a firewall drop leaves of a finding: the exposure is blocked today, but one rule
    /// change away, so it stays visible at a lower level (high and medium become low).
    pub fn downgraded(self) -> Severity {
        match self {
            Severity::High | Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The kinds of finding. Their names are stable: scripts and allow decisions key on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingId {
    /// A listener reachable beyond loopback that no more specific check flags.
    ExposedListener,
    /// Telnet, FTP, r-services, POP3, IMAP, VNC, SNMP, or SMTP without STARTTLS beyond
    /// loopback.
    PlaintextLogin,
    /// A database, cache, container or cluster API, exporter or debug port beyond loopback.
    PrivateServiceExposed,
    /// Beyond loopback, on a port no registry layer (labels included) names.
    UnknownListener,
    /// The probe found a plaintext protocol where the port's service is another one (HTTP on
    /// 443).
    PlaintextUnexpectedPort,
    /// The probe found TLS on a port registered for a plaintext protocol: the number-based
    /// plaintext finding does not apply.
    TlsOnPlaintextPort,
    /// The holder's executable was deleted or replaced since it started.
    DeletedExecutable,
    /// The holder runs from a world-writable directory (/tmp, /dev/shm).
    WorldWritableExe,
}

impl FindingId {
    pub fn name(self) -> &'static str {
        match self {
            FindingId::ExposedListener => "exposed-listener",
            FindingId::PlaintextLogin => "plaintext-login",
            FindingId::PrivateServiceExposed => "private-service-exposed",
            FindingId::UnknownListener => "unknown-listener",
            FindingId::PlaintextUnexpectedPort => "plaintext-unexpected-port",
            FindingId::TlsOnPlaintextPort => "tls-on-plaintext-port",
            FindingId::DeletedExecutable => "deleted-executable",
            FindingId::WorldWritableExe => "world-writable-exe",
        }
    }

    /// Findings about who can reach a port (an allow-file entry can accept them), as opposed
    /// to findings about the process holding it.
    pub fn is_exposure(self) -> bool {
        !matches!(
            self,
            FindingId::DeletedExecutable | FindingId::WorldWritableExe
        )
    }
}

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What the host firewall does with a new connection from outside to a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FirewallVerdict {
    /// The input path accepts it (on at least one interface it is reachable through).
    Accepts,
    /// Every path to it drops or rejects it.
    Drops,
    /// A rule portwatch cannot evaluate decides, or the ruleset could not be read.
    Unknown,
}

impl FirewallVerdict {
    /// What the port is to a new connection from outside: `accepted`, `dropped` (dropped or
    /// rejected), `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            FirewallVerdict::Accepts => "accepted",
            FirewallVerdict::Drops => "dropped",
            FirewallVerdict::Unknown => "unknown",
        }
    }

    /// One verdict for several paths (interfaces, sockets of one service): reachable through
    /// any path is reachable; dropped only when every path drops.
    pub fn combine(verdicts: impl IntoIterator<Item = FirewallVerdict>) -> Option<FirewallVerdict> {
        let mut out = None;
        for v in verdicts {
            out = Some(match (out, v) {
                (None, v) => v,
                (Some(FirewallVerdict::Accepts), _) | (_, FirewallVerdict::Accepts) => {
                    FirewallVerdict::Accepts
                }
                (Some(FirewallVerdict::Drops), FirewallVerdict::Drops) => FirewallVerdict::Drops,
                _ => FirewallVerdict::Unknown,
            });
        }
        out
    }
}

impl Serialize for FirewallVerdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One socket a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SocketRef {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    pub address: IpAddr,
    pub port: u16,
    /// IPv6 only: `false` is a dual-stack socket that serves IPv4 too.
    pub v6only: Option<bool>,
    pub inode: u64,
    /// Interface the socket is bound to (SO_BINDTODEVICE), when it is.
    pub device: Option<String>,
}

/// One process holding a socket a finding is about. JSON: untrusted text (`comm`, `exe`) as
/// UTF-8 (lossy) plus an exact `*_hex` twin when it is not UTF-8, as in the listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProcessRef {
    pub pid: u32,
    pub comm: Text,
    /// `/proc/PID/exe` without the " (deleted)" mark, when readable.
    pub exe: Option<Text>,
    pub uid: Option<u32>,
    pub user: Option<String>,
}

impl Serialize for ProcessRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("pid", &self.pid)?;
        for (key, hex_key, t) in [
            ("comm", "comm_hex", Some(&self.comm)),
            ("exe", "exe_hex", self.exe.as_ref()),
        ] {
            m.serialize_entry(key, &t.map(|t| t.to_str_lossy()))?;
            if let Some(t) = t.filter(|t| t.to_str().is_none()) {
                let hex: String = t.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                m.serialize_entry(hex_key, &hex)?;
            }
        }
        m.serialize_entry("uid", &self.uid)?;
        m.serialize_entry("user", &self.user)?;
        m.end()
    }
}

/// The network namespace of a finding's sockets, as the listing's JSON gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetnsRef {
    pub inode: u64,
    /// Its name under /run/netns, when it has one.
    pub name: Option<String>,
    /// The host's namespace.
    pub host: bool,
}

impl NetnsRef {
    /// `host`, the name, else `net:[INODE]`.
    pub fn label(&self) -> String {
        match (&self.name, self.host) {
            (Some(n), _) => n.clone(),
            (None, true) => "host".into(),
            (None, false) => format!("net:[{}]", self.inode),
        }
    }
}

/// The container of a finding's sockets (issue #11), as the listing's JSON gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerRef {
    /// `docker`, `podman`, `containerd`, `cri-o`, `lxc`, `cri`.
    pub runtime: &'static str,
    pub id: String,
    pub name: Option<String>,
    /// Kubernetes pod and its namespace, when known.
    pub pod: Option<String>,
    pub namespace: Option<String>,
}

/// One finding. JSON field names are part of schema 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    /// `tcp` or `udp`.
    pub proto: &'static str,
    pub port: u16,
    /// The port's service name from the registry (labels included), when it has one.
    pub service: Option<String>,
    pub sockets: Vec<SocketRef>,
    /// How far the widest of `sockets` reaches.
    pub reach: Reach,
    /// Interfaces of the namespace the sockets are reachable through (empty: loopback only).
    pub interfaces: Vec<String>,
    /// The input path's verdict for a new connection from outside; `None`: not evaluated
    /// (a loopback-only listener, or a finding about the process).
    pub firewall: Option<FirewallVerdict>,
    /// What `--probe` found answering on the port (`unknown` when it answered nothing it
    /// could identify); `None` without `--probe`.
    pub protocol: Option<&'static str>,
    pub processes: Vec<ProcessRef>,
    /// Socket owner's user name (the uid of the socket, as `ss -e` shows it).
    pub user: Option<String>,
    /// The network namespace the sockets live in, when the source can tell.
    pub netns: Option<NetnsRef>,
    /// The container of the holders (or of the namespace, when no holder is known), when
    /// every socket of the finding agrees on one (issue #11).
    pub container: Option<ContainerRef>,
    /// The systemd unit of the holders, when every socket agrees on one (issue #11).
    pub unit: Option<String>,
    /// Why it matters, one sentence.
    pub why: String,
    /// What to do, one sentence.
    pub fix: String,
}

/// Counts over a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Listening sockets looked at.
    pub listeners: usize,
    /// Of them, reachable beyond loopback.
    pub exposed: usize,
    pub findings: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    /// Findings an allow-file entry accepted (not listed).
    pub allowed: usize,
    /// The most severe finding, `None` when there is none.
    pub max_severity: Option<Severity>,
}

/// An audit's result: `{"schema": 1, "findings": [...], "summary": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema: u32,
    /// Most severe first, then by port.
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Report {
    /// Sort findings (most severe first, then proto, port, id) and count them.
    pub fn new(
        mut findings: Vec<Finding>,
        listeners: usize,
        exposed: usize,
        allowed: usize,
    ) -> Report {
        findings.sort_by(|a, b| {
            (b.severity, a.proto, a.port, a.id, &a.sockets)
                .cmp(&(a.severity, b.proto, b.port, b.id, &b.sockets))
        });
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let summary = Summary {
            listeners,
            exposed,
            findings: findings.len(),
            high: count(Severity::High),
            medium: count(Severity::Medium),
            low: count(Severity::Low),
            info: count(Severity::Info),
            allowed,
            max_severity: findings.iter().map(|f| f.severity).max(),
        };
        Report {
            schema: 1,
            findings,
            summary,
        }
    }

    /// Whether any finding is at or above `threshold` (`--fail-on`: exit status 1).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.summary.max_severity.is_some_and(|m| m >= threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FirewallVerdict::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Low && Severity::Medium < Severity::High);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.name()), Some(s));
        }
        assert_eq!(Severity::parse("critical"), None);
        assert_eq!(Severity::High.downgraded(), Severity::Low);
        assert_eq!(Severity::Low.downgraded(), Severity::Info);
    }

    #[test]
    fn verdicts_combine_by_reachability() {
        let table: &[(&[FirewallVerdict], Option<FirewallVerdict>)] = &[
            (&[], None),
            (&[Drops], Some(Drops)),
            (&[Drops, Drops], Some(Drops)),
            (&[Drops, Accepts], Some(Accepts)),
            (&[Unknown, Accepts], Some(Accepts)),
            (&[Drops, Unknown], Some(Unknown)),
            (&[Unknown, Drops], Some(Unknown)),
        ];
        for (input, want) in table {
            assert_eq!(
                FirewallVerdict::combine(input.iter().copied()),
                *want,
                "{input:?}"
            );
        }
    }
}
