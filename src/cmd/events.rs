//! `-E`: print TCP and UDP sockets as they close, as ss -E, until SIGINT or SIGTERM; with
//! --json one object per line, flushed per event.

use super::Context;
use crate::config::{Format, ListConfig};
use crate::error::{Error, Result};
use crate::model::Warning;
use crate::pipeline::Matcher;
use crate::platform;
use crate::render::{json, notes, table, time};
use std::io::Write;
use std::time::{Duration, SystemTime};

/// How long one wait lasts: the longest a Ctrl-C waits to be noticed if the signal lands
/// between two checks.
const TICK: Duration = Duration::from_millis(200);

pub fn run(cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    let req = &cfg.request;
    if req.owners || req.filter.needs_owners() {
        return Err(Error::Usage(
            "-E: a closed socket has no owner left to show or match (drop -p, proc, pid)".into(),
        ));
    }
    let sys = &ctx.system;
    let mut stream = sys.close_events(&req.query)?;
    platform::catch_interrupts();
    let mut matcher = Matcher::new(req, sys, sys, &ctx.registry)?;
    let json = cfg.output.format == Format::Json;
    if json {
        for w in &ctx.warnings {
            json::write_event_warning(w, out)?;
        }
    } else {
        notes::print_warnings(&ctx.warnings);
    }
    let mut header = cfg.output.header;
    let mut batch = Vec::new();
    while !platform::interrupted() {
        batch.clear();
        let got = stream.wait(TICK, &mut batch)?;
        if got.lost {
            let w = Warning::new(
                "events-lost",
                "some closes were lost: the kernel's event queue overflowed",
            );
            if json {
                json::write_event_warning(&w, out)?;
            } else {
                notes::print_warnings(&[w]);
            }
        }
        if batch.is_empty() {
            continue;
        }
        let rows = matcher.rows(std::mem::take(&mut batch));
        if rows.is_empty() {
            continue;
        }
        if json {
            let now = time::rfc3339_ms(SystemTime::now());
            for r in &rows {
                json::write_event(r, &now, out)?;
            }
        } else {
            // config::mode refuses CSV with -E: not JSON is a table.
            if let Some(opts) = cfg.output.table_opts() {
                let opts = table::TableOpts { header, ..opts };
                table::write(&rows, &opts, out)?;
                header = false;
            }
        }
        out.flush()?;
    }
    Ok(0)
}
