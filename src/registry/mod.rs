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

pub use annotate::{in_ephemeral_range, listening_ports, AnnotateCtx, AnnotationCache};
pub use layers::{NameRecord, Registry, RegistryOptions};

pub use crate::model::{Annotation, PortClass, ServiceName, Source};
