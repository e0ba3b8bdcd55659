//! The layered registry: user labels > extra services files (in command-line order) >
//! /etc/services > embedded IANA > curated list. Loading reads only the small text files;
//! the IANA table is static and searched in place.

use super::labels::{Label, LabelStore};
use super::services::{self, ServiceEntry};
use super::{curated, iana, ServiceName, Source};
use crate::error::{Error, Result};
use crate::model::Warning;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// What to load.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// The system services(5) file; default /etc/services. Missing is fine (no names).
    pub etc_services: PathBuf,
    /// `--services FILE`, in command-line order: an earlier file wins over a later one.
    pub extra_services: Vec<PathBuf>,
    /// The labels file (see `labels::default_labels_path`); `None`: no labels.
    pub labels: Option<PathBuf>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            etc_services: PathBuf::from("/etc/services"),
            extra_services: Vec::new(),
            labels: None,
        }
    }
}

/// One services file, parsed.
#[derive(Debug, Clone)]
struct FileLayer {
    source: Source,
    origin: PathBuf,
    entries: Vec<ServiceEntry>,
    /// (port, proto) -> index of the first entry, as getservbyport(3) takes the first match.
    by_port: HashMap<(u16, &'static str), usize>,
}

impl FileLayer {
    fn new(source: Source, origin: PathBuf, entries: Vec<ServiceEntry>) -> Self {
        let mut by_port = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            by_port.entry((e.port, e.proto)).or_insert(i);
        }
        FileLayer {
            source,
            origin,
            entries,
            by_port,
        }
    }

    fn name_of(&self, e: &ServiceEntry) -> ServiceName {
        ServiceName {
            name: e.name.clone(),
            description: e.description.clone(),
            source: self.source,
            origin: Some(self.origin.clone()),
        }
    }
}

/// Every name known for a port, from any layer: what `explain` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRecord {
    pub port: u16,
    /// tcp, udp, sctp or dccp.
    pub proto: &'static str,
    pub service: ServiceName,
    pub aliases: Vec<String>,
    /// The name the Service column shows for this port/proto (highest layer, first entry).
    pub primary: bool,
}

/// The loaded layers. Cheap to build: no parsing of the embedded table.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    labels: Vec<Label>,
    labels_path: Option<PathBuf>,
    /// Extra services files in order, then /etc/services.
    files: Vec<FileLayer>,
}

impl Registry {
    /// `load`, for commands that list sockets. A labels file the user named (`--labels`) must
    /// be readable; one found by default (or through $PORTWATCH_LABELS) that cannot be read,
    /// e.g. root's labels under `sudo -u`, only costs its names: the listing goes on with a
    /// warning. A malformed file is always an error (it names the line).
    pub fn load_lenient(
        opts: &RegistryOptions,
        labels_explicit: bool,
    ) -> Result<(Registry, Vec<Warning>)> {
        match Registry::load(opts) {
            Err(Error::File { path, source })
                if !labels_explicit && opts.labels.as_ref() == Some(&path) =>
            {
                let without = RegistryOptions {
                    labels: None,
                    ..opts.clone()
                };
                let (reg, mut warnings) = Registry::load(&without)?;
                warnings.push(Warning::new(
                    "labels-unreadable",
                    format!("labels not used: {}: {source}", path.display()),
                ));
                Ok((reg, warnings))
            }
            other => other,
        }
    }

    /// Load labels and services files. A malformed `--services` or labels file is an error
    /// (`Error::BadFile`, user input); a malformed line in /etc/services is a warning and the
    /// rest loads; a missing /etc/services or labels file is fine.
    pub fn load(opts: &RegistryOptions) -> Result<(Registry, Vec<Warning>)> {
        let mut warnings = Vec::new();
        let mut files = Vec::new();
        for path in &opts.extra_services {
            let text = read_text(path).map_err(|source| Error::File {
                path: path.clone(),
                source,
            })?;
            let (entries, bad) = services::parse(&text);
            if let Some(b) = bad.first() {
                return Err(Error::BadFile {
                    path: path.clone(),
                    line: b.line,
                    msg: b.msg.clone(),
                });
            }
            files.push(FileLayer::new(Source::ServicesFile, path.clone(), entries));
        }
        match read_text(&opts.etc_services) {
            Ok(text) => {
                let (entries, bad) = services::parse(&text);
                // System data: report once, keep the good lines.
                if let Some(b) = bad.first() {
                    let more = match bad.len() {
                        1 => String::new(),
                        n => format!(" (and {} more malformed lines)", n - 1),
                    };
                    warnings.push(Warning::new(
                        "malformed-line",
                        format!(
                            "{}:{}: {}; line skipped{more}",
                            opts.etc_services.display(),
                            b.line,
                            b.msg
                        ),
                    ));
                }
                files.push(FileLayer::new(
                    Source::EtcServices,
                    opts.etc_services.clone(),
                    entries,
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => warnings.push(Warning::new(
                "services-unreadable",
                format!(
                    "cannot read {}: {e}; using the built-in registry",
                    opts.etc_services.display()
                ),
            )),
        }
        let labels = match &opts.labels {
            Some(p) => LabelStore::open(p).list()?,
            None => Vec::new(),
        };
        let reg = Registry {
            labels,
            labels_path: opts.labels.clone(),
            files,
        };
        Ok((reg, warnings))
    }

    /// A registry with only the embedded layers (IANA, curated): for tests and fallbacks.
    pub fn builtin() -> Registry {
        Registry::default()
    }

    fn label_name(&self, l: &Label) -> ServiceName {
        ServiceName {
            name: l.name.clone(),
            description: l.description.clone(),
            source: Source::Label,
            origin: self.labels_path.clone(),
        }
    }

    /// The user's label of `port/proto`.
    pub fn label(&self, port: u16, proto: &str) -> Option<&Label> {
        self.labels
            .iter()
            .find(|l| l.port == port && l.proto == proto)
    }

    /// The name of `port/proto` from the highest layer that knows it (`proto`: tcp, udp,
    /// sctp or dccp).
    pub fn lookup(&self, port: u16, proto: &str) -> Option<ServiceName> {
        if let Some(l) = self.label(port, proto) {
            return Some(self.label_name(l));
        }
        for f in &self.files {
            if let Some(e) = f
                .by_port
                .get(&(port, proto))
                .and_then(|&i| f.entries.get(i))
            {
                return Some(f.name_of(e));
            }
        }
        if let Some(n) = iana::lookup(port, proto) {
            return Some(ServiceName {
                name: n.name.to_string(),
                description: n.description.map(str::to_string),
                source: Source::Iana,
                origin: None,
            });
        }
        curated::lookup(port, proto).map(|(name, desc)| ServiceName {
            name: name.to_string(),
            description: Some(desc.to_string()),
            source: Source::Curated,
            origin: None,
        })
    }

    /// The port a service name stands for, as getservbyname(3) resolves it for ss filters
    /// (`sport = :http`): labels, then names and aliases of the services files, then IANA,
    /// then the curated list. Also accepts a number.
    pub fn port_by_name(&self, name: &str, proto: &str) -> Option<u16> {
        if let Ok(p) = name.parse::<u16>() {
            return Some(p);
        }
        if let Some(l) = self
            .labels
            .iter()
            .find(|l| l.proto == proto && l.name == name)
        {
            return Some(l.port);
        }
        for f in &self.files {
            let hit = f.entries.iter().find(|e| {
                e.proto == proto && (e.name == name || e.aliases.iter().any(|a| a == name))
            });
            if let Some(e) = hit {
                return Some(e.port);
            }
        }
        iana::port_by_name(name, proto).or_else(|| curated::port_by_name(name, proto))
    }

    /// Every name of `port` in every layer, over `proto` or all protocols: grouped by protocol,
    /// highest layer first within one.
    pub fn names(&self, port: u16, proto: Option<&str>) -> Vec<NameRecord> {
        let wanted = |p: &str| proto.is_none_or(|q| q == p);
        let mut out: Vec<NameRecord> = Vec::new();
        let mut push = |proto: &'static str, service: ServiceName, aliases: Vec<String>| {
            let primary = !out.iter().any(|r| r.proto == proto);
            out.push(NameRecord {
                port,
                proto,
                service,
                aliases,
                primary,
            });
        };
        for l in self
            .labels
            .iter()
            .filter(|l| l.port == port && wanted(l.proto))
        {
            push(l.proto, self.label_name(l), Vec::new());
        }
        for f in &self.files {
            for e in f
                .entries
                .iter()
                .filter(|e| e.port == port && wanted(e.proto))
            {
                push(e.proto, f.name_of(e), e.aliases.clone());
            }
        }
        for n in iana::names_any_proto(port).filter(|n| wanted(n.proto)) {
            let service = ServiceName {
                name: n.name.to_string(),
                description: n.description.map(str::to_string),
                source: Source::Iana,
                origin: None,
            };
            push(n.proto, service, Vec::new());
        }
        for e in curated::for_port(port).filter(|e| wanted(e.1)) {
            let service = ServiceName {
                name: e.2.to_string(),
                description: Some(e.3.to_string()),
                source: Source::Curated,
                origin: None,
            };
            push(e.1, service, Vec::new());
        }
        // Group by protocol (tcp, udp, sctp, dccp); the stable sort keeps layer order inside.
        out.sort_by_key(|r| iana::proto_code(r.proto));
        out
    }
}

/// A text file, with invalid UTF-8 replaced (services files are ASCII in practice; a stray
/// byte must not hide the other entries).
fn read_text(path: &Path) -> io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
