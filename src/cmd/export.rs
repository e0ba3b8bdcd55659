//! `portwatch export`: the metrics of `serve`, collected once, to stdout or a textfile.

use super::Context;
use crate::cli::ExportArgs;
use crate::config;
use crate::error::{Error, Result};
use crate::export::{self, Collected, Format, Host, Plan};
use crate::platform::{atomic, SocketSource};
use crate::render::notes;
use std::io::Write;
use std::sync::Arc;

pub fn run(args: &ExportArgs, ctx: Context, out: &mut dyn Write) -> Result<()> {
    let plan = config::export_plan(&args.listing)?;
    // A -N value that names no namespace is the user's mistake: exit 2 before reading.
    if !plan.netns.is_empty() {
        ctx.system.namespaces(&plan.netns)?;
    }
    let c = collect(&plan, &ctx);
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
        version: env!("CARGO_PKG_VERSION"),
        collections: None,
    };
    let text = export::encode(Arc::new(export::build(&c, &host)), Format::Text);
    match &args.textfile {
        Some(path) => atomic::write(path, text.as_bytes())
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

/// One collection of `plan` on this host (`serve` makes one per scrape): the namespaces -N
/// selects are opened anew each time, as containers come and go.
pub(super) fn collect(plan: &Plan, ctx: &Context) -> Collected {
    let sys = &ctx.system;
    let namespaces = match plan.netns.is_empty() {
        true => None,
        false => match sys.namespaces(&plan.netns) {
            Ok(n) => Some(n),
            Err(e) => return Collected::could_not(e.to_string()),
        },
    };
    let sources: Vec<&dyn SocketSource> = match &namespaces {
        Some(n) => n.sources(),
        None => vec![sys],
    };
    let mut c = export::collect(plan, &sources, sys, &ctx.registry);
    if let Some(n) = &namespaces {
        c.warnings.extend(n.warnings());
    }
    c
}
