//! The default command: the listing, as a table, JSON or CSV, of portwatch's own network
//! namespace or of those `-N` selects (one source each, host first); or one of ss's other
//! modes.

use super::Context;
use crate::config::{self, Format, ListConfig, Mode};
use crate::error::Result;
use crate::pipeline;
use crate::platform::SocketSource;
use crate::render::{csv, json, notes, table};
use std::io::Write;

/// Run `mode` (list, -s, -K, -E); `Ok` carries the exit status.
pub fn run_mode(mode: Mode, cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    match mode {
        Mode::List => run(cfg, ctx, out).map(|()| 0),
        Mode::Summary => super::summary::run(cfg, ctx, out),
        Mode::Kill => super::close::run(cfg, ctx, out),
        Mode::Events => super::events::run(cfg, ctx, out),
    }
}

pub fn run(cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<()> {
    let sys = &ctx.system;
    let namespaces = match cfg.netns.is_empty() {
        true => None,
        false => Some(sys.namespaces(&cfg.netns)?),
    };
    let sources: Vec<&dyn SocketSource> = match &namespaces {
        Some(n) => n.sources(),
        None => vec![sys],
    };
    let mut request = cfg.request.clone();
    let mut columns = cfg.output.columns.clone();
    if sources.len() > 1 {
        columns = config::with_namespace_columns(&columns);
        request.attribution = true;
    }
    let mut listing = pipeline::run_many(&request, &sources, sys, &ctx.registry)?;
    listing.warnings.extend(ctx.warnings);
    if let Some(n) = &namespaces {
        listing.warnings.extend(n.warnings());
    }
    let near_miss = match (
        &cfg.output.format,
        listing.rows.is_empty(),
        sources.as_slice(),
    ) {
        (Format::Json, _, _) | (_, false, _) => None,
        (_, true, [one]) => pipeline::near_misses(&request, *one, sys, &ctx.registry)?,
        _ => None,
    };
    match &cfg.output.format {
        Format::Json => json::write(
            &listing.rows,
            &listing.warnings,
            listing.owner_scan,
            listing.owner_method,
            out,
        )?,
        Format::Csv => csv::write(&listing.rows, cfg.output.header, out)?,
        Format::Table { .. } => {
            if let Some(mut opts) = cfg.output.table_opts() {
                opts.columns = columns;
                table::write(&listing.rows, &opts, out)?;
            }
        }
    }
    if let (true, Some(method)) = (cfg.debug, listing.owner_method) {
        out.flush()?;
        notes::print_owner_method(method, listing.owner_note.as_deref());
    }
    if !matches!(cfg.output.format, Format::Json) {
        // Notes come after the output, not in the middle of a buffered write.
        out.flush()?;
        notes::print_warnings(&listing.warnings);
        if let Some(m) = near_miss {
            notes::print_near_miss(&m);
        }
    }
    // The process ends after a listing: freeing 100k rows one by one (most with boxed
    // extras or owner lists) costs a few percent of a big listing, for memory that the
    // exit gives back at once.
    std::mem::forget(listing);
    Ok(())
}
