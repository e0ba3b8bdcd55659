//! What a port is: the service names registry layers give it, where each came from, and the
//! annotation a socket carries. Data only; the registry (`crate::registry`) fills it.

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

impl serde::Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl serde::Serialize for PortClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A name some layer gives a port. JSON: `{"name", "description", "source", "origin"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceName {
    pub name: String,
    pub description: Option<String>,
    pub source: Source,
    /// The file it came from, for sources that are files.
    #[serde(serialize_with = "lossy_path")]
    pub origin: Option<PathBuf>,
}

/// Paths need not be UTF-8; serde's own PathBuf impl fails on those, so replace bad bytes.
fn lossy_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_some(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// The annotation of one socket: the port that identifies its service and what is known of it.
/// JSON: `{"port", "service": ServiceName|null, "class", "ephemeral", "hint"}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
