//! The default command: the listing, as a table, JSON or CSV; or one of ss's other modes.

use super::Context;
use crate::config::{Format, ListConfig, Mode};
use crate::error::Result;
use crate::pipeline;
use crate::render::{csv, json, notes, table};
use std::io::Write;

/// Run `mode` (list, -s, -K, -E); `Ok` carries the exit status.
pub fn run_mode(mode: Mode, cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    match mode {
        Mode::List => run(cfg, ctx, out).map(|()| 0),
        Mode::Summary => super::summary::run(cfg, ctx, out),
        Mode::Kill => super::kill::run(cfg, ctx, out),
        Mode::Events => super::events::run(cfg, ctx, out),
    }
}

pub fn run(cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<()> {
    let sys = &ctx.system;
    let mut listing = pipeline::run(&cfg.request, sys, sys, &ctx.registry)?;
    listing.warnings.extend(ctx.warnings);
    let near_miss = match (&cfg.output.format, listing.rows.is_empty()) {
        (Format::Json, _) | (_, false) => None,
        _ => pipeline::near_misses(&cfg.request, sys, sys, &ctx.registry)?,
    };
    match &cfg.output.format {
        Format::Json => json::write(&listing.rows, &listing.warnings, listing.owner_scan, out)?,
        Format::Csv => csv::write(&listing.rows, cfg.output.header, out)?,
        Format::Table { .. } => {
            if let Some(opts) = cfg.output.table_opts() {
                table::write(&listing.rows, &opts, out)?;
            }
        }
    }
    if !matches!(cfg.output.format, Format::Json) {
        // Notes come after the output, not in the middle of a buffered write.
        out.flush()?;
        notes::print_warnings(&listing.warnings);
        if let Some(m) = near_miss {
            notes::print_near_miss(&m);
        }
    }
    Ok(())
}
