//! What the host tells about itself beyond sockets, as `portwatch audit` needs it: the
//! interfaces of a network namespace, the holders' executables, the firewall's own output.
//! Read by the platform layer, judged by the audit.

use super::{Text, Warning};
use std::collections::HashMap;
use std::net::IpAddr;

/// A network interface of the namespace a listener lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub up: bool,
    pub loopback: bool,
    /// Its addresses (IPv6 ones without scope id).
    pub addrs: Vec<IpAddr>,
}

impl Interface {
    /// Up, not loopback: traffic from other hosts arrives here.
    pub fn external(&self) -> bool {
        self.up && !self.loopback
    }
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

/// One network namespace's facts as read, before the audit judges them.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Its interfaces; empty when they could not be read (a warning says so).
    pub interfaces: Vec<Interface>,
    /// `nft -j list ruleset` output, or why it could not be read.
    pub nft_ruleset: Option<Result<serde_json::Value, String>>,
    /// The `ip{,6}tables-legacy-save` outputs of the legacy tables in use (empty: none in
    /// use), or why they could not be read.
    pub legacy_save: Option<Result<Vec<String>, String>>,
    /// Holder executables by pid (unreadable ones left out).
    pub exes: HashMap<u32, ExeInfo>,
    /// Holder user names by uid.
    pub user_names: HashMap<u32, String>,
    pub warnings: Vec<Warning>,
}
