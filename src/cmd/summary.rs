//! `-s`: the kernel's socket counters as ss -s prints them; with -l also the listeners
//! (accept queues filling up, listeners per service), with -a also the listeners with most
//! open connections.

use super::Context;
use crate::config::{Format, ListConfig};
use crate::error::Result;
use crate::model::StateSet;
use crate::pipeline::{self, summary};
use crate::render::{self, notes};
use std::io::Write;

/// Whether `-s` reads the listeners (-sl, -sa) besides the counters: only then does it name
/// services, so only then is the registry loaded.
pub fn reads_listeners(cfg: &ListConfig) -> bool {
    let states = cfg.request.query.states;
    states == StateSet::ALL || states == StateSet::LISTENING
}

pub fn run(cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    let sys = &ctx.system;
    let counters = sys.sockstat()?;
    // Plain -s reads three small files, as ss -s. The listener sections need the listeners
    // (-sl: cheap, the kernel filters by state) and, to count connections per listener,
    // every TCP connection (-sa: at 100k sockets that costs more than all of ss -s).
    let states = cfg.request.query.states;
    let (s, mut warnings) = if reads_listeners(cfg) {
        let with_connections = states == StateSet::ALL;
        let mut req = cfg.request.clone();
        req.query.unix = false;
        req.query.raw = false;
        req.query.detail = Default::default();
        req.sort = None;
        let listing = pipeline::run(&req, sys, sys, &ctx.registry)?;
        let s = summary::summarize(counters, listing.rows, with_connections);
        (s, listing.warnings)
    } else {
        (summary::counters_only(counters), Vec::new())
    };
    warnings.extend(ctx.warnings);
    if cfg.output.format == Format::Json {
        render::summary::write_json(&s, &warnings, out)?;
    } else {
        render::summary::write_text(&s, out)?;
        out.flush()?;
        notes::print_warnings(&warnings);
    }
    Ok(0)
}
