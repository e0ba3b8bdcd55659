//! Subcommands: they only orchestrate platform -> join -> filter -> render.

pub mod explain;
pub mod label;
pub mod list;

use std::io::{self, Write};

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
