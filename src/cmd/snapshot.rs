//! `portwatch snapshot`: the listing as a baseline document for `diff`, to stdout or written
//! atomically to a file (a failed write leaves the old baseline as it was).

use super::Context;
use crate::config::{DocPath, SnapshotConfig};
use crate::error::{Error, Result};
use crate::pipeline;
use crate::platform::{atomic, SocketSource};
use crate::render::{notes, snapshot};
use std::io::Write;
use std::time::SystemTime;

pub fn run(cfg: &SnapshotConfig, ctx: Context, out: &mut dyn Write) -> Result<()> {
    let sys = &ctx.system;
    let mut listing = pipeline::run(&cfg.request, sys, sys, &ctx.registry)?;
    listing.warnings.extend(ctx.warnings);
    let host = sys.hostname();
    let meta = snapshot::Meta {
        created: SystemTime::now(),
        host: host.as_deref(),
        args: &cfg.selection.0,
        filter: &cfg.selection.1,
        ephemeral: sys.ephemeral_range(),
    };
    match &cfg.output {
        DocPath::Std => snapshot::write(&meta, &listing, out)?,
        DocPath::File(path) => {
            let mut doc = Vec::with_capacity(256 * (listing.rows.len() + 1));
            snapshot::write(&meta, &listing, &mut doc)?;
            atomic::write(path, &doc)
                .map_err(|e| Error::System(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    out.flush()?;
    notes::print_warnings(&listing.warnings);
    Ok(())
}
