//! Subcommands: they only orchestrate platform -> join -> filter -> render.

pub mod explain;
pub mod label;
pub mod list;

use crate::error::{Error, Result};
use crate::model::Warning;
use crate::registry::{Registry, RegistryOptions};
use std::io::{self, Write};

/// Load the registry layers. A labels file the user named (`--labels`) must be readable; one
/// found by default (or through $PORTWATCH_LABELS) that cannot be read, e.g. root's labels
/// under `sudo -u`, only costs its names: the listing goes on with a warning. A malformed
/// file is always an error (it names the line).
pub fn load_registry(
    opts: &RegistryOptions,
    labels_explicit: bool,
) -> Result<(Registry, Vec<Warning>)> {
    match Registry::load(opts) {
        Err(Error::Io(e)) if !labels_explicit && opts.labels.is_some() => {
            let without = RegistryOptions {
                labels: None,
                ..opts.clone()
            };
            let (reg, mut warnings) = Registry::load(&without)?;
            warnings.push(Warning::new(
                "labels-unreadable",
                format!("labels not used: {e}"),
            ));
            Ok((reg, warnings))
        }
        other => other,
    }
}

/// Print warnings once each to stderr as `portwatch: warning: ...`. Stderr errors are ignored:
/// a closed stderr must not turn a listing into a failure.
pub fn print_warnings(warnings: &[crate::model::Warning]) {
    let mut seen = std::collections::HashSet::new();
    let stderr = io::stderr();
    let mut e = stderr.lock();
    for w in warnings {
        if seen.insert(&w.message) {
            let _ = writeln!(e, "portwatch: warning: {}", w.message);
        }
    }
}
