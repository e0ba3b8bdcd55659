//! `label` output: what `set` and `rm` changed, and the list (tab-separated text or JSON).
//! Names and descriptions are the user's own text, escaped like everything else.

use super::sanitize::escape_str;
use crate::registry::labels::Label;
use std::io::{self, Write};

/// `PORT/PROTO: NAME`, with the replaced name when there was one.
pub fn write_set(
    port: u16,
    proto: &str,
    name: &str,
    old: Option<&Label>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match old {
        Some(o) => writeln!(
            out,
            "{port}/{proto}: {} (was {})",
            escape_str(name),
            escape_str(&o.name)
        ),
        None => writeln!(out, "{port}/{proto}: {}", escape_str(name)),
    }
}

/// `removed PORT/PROTO NAME`.
pub fn write_removed(port: u16, proto: &str, old: &Label, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "removed {port}/{proto} {}", escape_str(&old.name))
}

/// Every label: one line each, `PORT/PROTO<TAB>NAME[<TAB>DESCRIPTION]`, or a JSON array.
pub fn write_list(labels: &[Label], json: bool, out: &mut dyn Write) -> io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, labels).map_err(io::Error::from)?;
        return out.write_all(b"\n");
    }
    for l in labels {
        write!(out, "{}/{}\t{}", l.port, l.proto, escape_str(&l.name))?;
        match &l.description {
            Some(d) => writeln!(out, "\t{}", escape_str(d))?,
            None => writeln!(out)?,
        }
    }
    Ok(())
}
