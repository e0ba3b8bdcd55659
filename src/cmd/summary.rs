//! `-s`: the kernel's socket counters as ss -s prints them, then the listeners: accept
//! queues filling up, most connections (with -a), listeners per service.

use super::Context;
use crate::config::{Format, ListConfig};
use crate::error::Result;
use crate::model::StateSet;
use crate::pipeline::{self, summary};
use crate::render::{self, notes};
use std::io::Write;

pub fn run(cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    let sys = &ctx.system;
    let counters = sys.sockstat()?;
    // The listeners are cheap to read (the kernel filters by state); connections, to count
    // them per listener, only with -a (at 100k sockets they cost more than all of ss -s).
    let with_connections = cfg.request.query.states == StateSet::ALL;
    let mut req = cfg.request.clone();
    req.query.unix = false;
    req.query.raw = false;
    req.query.states = if with_connections {
        StateSet::ALL
    } else {
        StateSet::LISTENING
    };
    req.query.detail = Default::default();
    req.sort = None;
    let mut listing = pipeline::run(&req, sys, sys, &ctx.registry)?;
    listing.warnings.extend(ctx.warnings);
    let s = summary::summarize(counters, listing.rows, with_connections);
    if cfg.output.format == Format::Json {
        render::summary::write_json(&s, &listing.warnings, out)?;
    } else {
        render::summary::write_text(&s, out)?;
        out.flush()?;
        notes::print_warnings(&listing.warnings);
    }
    Ok(0)
}
