//! `portwatch export`: the metrics of `serve`, collected once, to stdout or a textfile.

use super::Context;
use crate::cli::ExportArgs;
use crate::config;
use crate::error::{Error, Result};
use crate::export::{self, Format, Host};
use crate::platform::atomic;
use crate::render::notes;
use std::io::Write;
use std::sync::Arc;

pub fn run(args: &ExportArgs, ctx: Context, out: &mut dyn Write) -> Result<()> {
    let plan = config::export_plan(&args.listing)?;
    let c = export::collect(&plan, &ctx.system, &ctx.system, &ctx.registry);
    let warnings = [ctx.warnings.as_slice(), &c.warnings].concat();
    if c.failed() {
        notes::print_warnings(&warnings);
        // Keep the last good file: node_exporter's mtime metric shows it aging.
        return Err(Error::System(format!(
            "nothing could be read: {}",
            c.errors.join("; ")
        )));
    }
    let host = Host {
        netns: ctx.system.netns(),
        version: env!("CARGO_PKG_VERSION"),
        collections: None,
    };
    let text = export::encode(Arc::new(export::build(&c, &host)), Format::Text);
    match &args.textfile {
        Some(path) => atomic::replace(path, text.as_bytes())
            .map_err(|e| Error::System(format!("cannot write {}: {e}", path.display())))?,
        None => {
            out.write_all(text.as_bytes())?;
            // Notes come after the output, not in the middle of a buffered write.
            out.flush()?;
        }
    }
    notes::print_warnings(&warnings);
    Ok(())
}
