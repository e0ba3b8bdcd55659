//! `portwatch audit` (issue #15): what this host exposes, and what it should not. The core is
//! pure: joined listing rows and facts read elsewhere (interfaces, firewall ruleset, holder
//! executables, probe answers) go in, a `Report` comes out. The platform layer reads the
//! facts (`platform::linux::audit`); `probe::connect` talks to the listeners.
//!
//! Findings (ids are stable, see `FindingId`):
//! - `plaintext-login` (high): telnet, FTP, r-services, POP3, IMAP, VNC, SNMP, or (probed)
//!   SMTP without STARTTLS, beyond loopback; a POP3 or IMAP server the probe finds offering
//!   STARTTLS is not (whether it refuses logins before the upgrade is not checked);
//! - `private-service-exposed`: databases, caches, container and cluster APIs, exporters,
//!   debug ports beyond loopback: high on a public or wildcard address, medium on a private;
//! - `unknown-listener` (medium): beyond loopback on a port nothing names;
//! - `plaintext-unexpected-port` (medium), `tls-on-plaintext-port` (info): from `--probe`;
//! - `deleted-executable`, `world-writable-exe` (high): the holding process;
//! - `exposed-listener` (info): reachable beyond loopback, nothing more to say.
//!
//! A firewall that drops new connections to a port downgrades its findings (high and medium
//! to low); an allow-file entry accepts exposure findings (counted in `summary.allowed`).

pub mod allow;
pub mod catalog;
mod checks;
pub mod finding;
pub mod firewall;
pub mod probe;
pub mod reach;

pub use allow::{AllowEntry, AllowList, AllowScope};
pub use checks::{is_listener, probe_targets};
pub use finding::{
    ContainerRef, Finding, FindingId, FirewallVerdict, NetnsRef, ProcessRef, Report, Severity,
    SocketRef, Summary,
};
pub use firewall::Firewall;
pub use probe::Protocol;
pub use reach::{Exposure, Interface, Reach};

pub use crate::model::ExeInfo;
use crate::model::Row;
use crate::model::{HostFacts, Warning};
use std::collections::HashMap;
use std::num::NonZeroU64;

/// What is known of one network namespace.
#[derive(Debug, Clone, Default)]
pub struct NamespaceFacts {
    /// Its interfaces; empty when unknown (then no interface is named as a way in).
    pub interfaces: Vec<Interface>,
    /// Its firewall; `None` when not read (no verdict is given), while a `Firewall` whose
    /// ruleset could not be read gives "unknown".
    pub firewall: Option<Firewall>,
}

/// Everything the checks need beyond the rows.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// By `Socket::netns` (`None`: the namespace the rows were read in).
    pub namespaces: HashMap<Option<NonZeroU64>, NamespaceFacts>,
    /// By pid; a pid missing here has no holder finding (its exe could not be read).
    pub exes: HashMap<u32, ExeInfo>,
    /// `--probe` answers by (netns, TCP port); `None` without `--probe`. A probed port
    /// missing here is "unknown".
    pub probes: Option<HashMap<(Option<NonZeroU64>, u16), Protocol>>,
    /// User names by uid, for the holders.
    pub user_names: HashMap<u32, String>,
}

impl Facts {
    /// The facts of one namespace as the platform read them (`Socket::netns` `None`), the
    /// firewall output parsed; what could not be read is a warning, and the verdicts then
    /// say "unknown".
    pub fn from_host(mut host: HostFacts) -> (Facts, Vec<Warning>) {
        let mut facts = Facts {
            exes: std::mem::take(&mut host.exes),
            user_names: std::mem::take(&mut host.user_names),
            ..Facts::default()
        };
        let warnings = facts.add_namespace(None, host);
        (facts, warnings)
    }

    /// Add the interfaces and firewall of the namespace whose sockets carry `netns` (read
    /// inside it); holder facts in `host` are merged. Returns what could not be read.
    pub fn add_namespace(&mut self, netns: Option<NonZeroU64>, host: HostFacts) -> Vec<Warning> {
        let mut warnings = host.warnings;
        let unreadable = |what: &str, e: String| {
            Warning::new(
                "firewall-unreadable",
                format!("{what} not read, firewall verdicts are unknown: {e}"),
            )
        };
        let nft = host.nft_ruleset.map(|r| {
            r.and_then(|doc| firewall::nft::Ruleset::from_json(&doc))
                .map_err(|e| warnings.push(unreadable("nftables ruleset", e)))
                .ok()
        });
        let legacy = host.legacy_save.map(|r| {
            r.map(|outs| outs.iter().any(|t| firewall::legacy_save_filters(t)))
                .map_err(|e| warnings.push(unreadable("iptables-legacy tables", e)))
                .ok()
        });
        let firewall = (nft.is_some() || legacy.is_some()).then(|| Firewall {
            nft: nft.flatten(),
            legacy_rules: legacy.flatten(),
        });
        self.exes.extend(host.exes);
        self.user_names.extend(host.user_names);
        self.namespaces.insert(
            netns,
            NamespaceFacts {
                interfaces: host.interfaces,
                firewall,
            },
        );
        warnings
    }

    /// `--probe`: connect to the exposed TCP listeners among `rows` (from the calling
    /// thread's network namespace, which must be theirs) and keep the answers.
    pub fn probe(&mut self, rows: &[Row], opts: &probe::connect::ProbeOptions) {
        self.probe_with(rows, |targets| {
            targets
                .into_iter()
                .map(|(ns, addrs)| (ns, probe::connect::probe_all(&addrs, opts)))
                .collect()
        });
    }

    /// `--probe` across namespaces: `run` gets the addresses to connect to in each namespace
    /// (by `Socket::netns`) and returns the answers, in their order, of the namespaces it
    /// could enter; the ports of the others stay "unknown".
    pub fn probe_with(
        &mut self,
        rows: &[Row],
        run: impl FnOnce(ProbeTargets) -> HashMap<Option<NonZeroU64>, Vec<Protocol>>,
    ) {
        let mut ports: HashMap<Option<NonZeroU64>, Vec<u16>> = HashMap::new();
        let mut addrs: ProbeTargets = HashMap::new();
        for (ns, port, addr) in probe_targets(rows, self) {
            ports.entry(ns).or_default().push(port);
            addrs.entry(ns).or_default().push(addr);
        }
        let answers = run(addrs);
        let mut probes = HashMap::new();
        for (ns, ports) in ports {
            let got = answers.get(&ns).map(Vec::as_slice).unwrap_or_default();
            for (port, p) in ports.into_iter().zip(got) {
                probes.insert((ns, port), *p);
            }
        }
        self.probes = Some(probes);
    }
}

/// The addresses `--probe` connects to, by namespace (`Socket::netns`).
pub type ProbeTargets = HashMap<Option<NonZeroU64>, Vec<std::net::SocketAddr>>;

/// Audit the listeners among `rows` (other rows are ignored).
pub fn audit(rows: &[Row], facts: &Facts, allow: &AllowList) -> Report {
    checks::run(rows, facts, allow)
}

#[cfg(test)]
mod tests;
