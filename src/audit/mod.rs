//! `portwatch audit` (issue #15): what this host exposes, and what it should not. The core is
//! pure: joined listing rows and facts read elsewhere (interfaces, firewall ruleset, holder
//! executables, probe answers) go in, a `Report` comes out. The platform layer reads the
//! facts (`platform::linux::audit`); `probe::connect` talks to the listeners.
//!
//! Findings (ids are stable, see `FindingId`):
//! - `plaintext-login` (high): telnet, FTP, r-services, POP3, IMAP, VNC, SNMP, or (probed)
//!   SMTP without STARTTLS, beyond loopback;
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
    Finding, FindingId, FirewallVerdict, ProcessRef, Report, Severity, SocketRef, Summary,
};
pub use firewall::Firewall;
pub use probe::Protocol;
pub use reach::{Exposure, Interface, Reach};

use crate::model::Row;
use crate::model::Text;
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

/// What `/proc/PID/exe` says of a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExeInfo {
    /// The executable's path, without the kernel's " (deleted)" mark.
    pub path: Option<Text>,
    /// The file was deleted or replaced since the process started.
    pub deleted: bool,
    /// A world-writable directory the executable lies under (its own or an ancestor).
    pub world_writable_dir: Option<Text>,
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

/// Audit the listeners among `rows` (other rows are ignored).
pub fn audit(rows: &[Row], facts: &Facts, allow: &AllowList) -> Report {
    checks::run(rows, facts, allow)
}

#[cfg(test)]
mod tests;
