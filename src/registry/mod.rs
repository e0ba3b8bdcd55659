//! Service names for ports: user labels > extra services files > /etc/services > embedded IANA
//! > curated list; plus port classes and the ephemeral range.

mod annotate;
pub mod curated;
pub mod explain;
pub mod facts;
#[cfg(test)]
mod gen;
pub mod iana;
pub mod labels;
mod layers;
pub mod services;

pub use annotate::{listening_ports, AnnotateCtx};
pub use layers::{NameRecord, Registry, RegistryOptions};

use std::path::PathBuf;

/// Where a service name came from, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Label,
    ServicesFile,
    EtcServices,
    Iana,
    Curated,
}

impl Source {
    /// Spelling in JSON (`service.source`) and explain output.
    pub fn name(self) -> &'static str {
        match self {
            Source::Label => "label",
            Source::ServicesFile => "services-file",
            Source::EtcServices => "etc-services",
            Source::Iana => "iana",
            Source::Curated => "curated",
        }
    }
}

/// IANA's port range classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortClass {
    /// 0-1023
    WellKnown,
    /// 1024-49151
    Registered,
    /// 49152-65535
    Dynamic,
}

impl PortClass {
    pub fn of(port: u16) -> PortClass {
        match port {
            0..=1023 => PortClass::WellKnown,
            1024..=49151 => PortClass::Registered,
            _ => PortClass::Dynamic,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PortClass::WellKnown => "well-known",
            PortClass::Registered => "registered",
            PortClass::Dynamic => "dynamic",
        }
    }
}

/// A name some layer gives a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName {
    pub name: String,
    pub description: Option<String>,
    pub source: Source,
    /// The file it came from, for sources that are files.
    pub origin: Option<PathBuf>,
}

/// The annotation of one socket: the port that identifies its service and what is known of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// The service side's port (for a client connection, the remote port).
    pub port: u16,
    pub service: Option<ServiceName>,
    pub class: PortClass,
    /// Inside this host's ip_local_port_range.
    pub ephemeral: bool,
    /// A guess from the owning process, never presented as a registry name.
    pub hint: Option<String>,
}
