//! `-K`: close the TCP and UDP sockets the flags and filter select (SOCK_DESTROY, as ss -K),
//! print those closed and those the kernel refused with the reason. Exit 0 when every
//! selected socket was closed (or was already gone), 1 when some could not be.

use super::Context;
use crate::config::{Format, ListConfig};
use crate::error::{Error, Result};
use crate::model::{Row, Warning};
use crate::pipeline;
use crate::platform::RefusalKind;
use crate::render::json::NotClosed;
use crate::render::{cells, json, notes, table};
use std::io::Write;

pub fn run(cfg: &ListConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    let sys = &ctx.system;
    let mut listing = pipeline::run(&cfg.request, sys, sys, &ctx.registry)?;
    listing.warnings.extend(ctx.warnings);
    let mut closer = sys.closer()?;
    let mut closed: Vec<Row> = Vec::new();
    let mut refused: Vec<(Row, String, Option<i32>)> = Vec::new();
    let mut gone = 0usize;
    for row in listing.rows {
        match closer.close(&row.sock) {
            Ok(()) => closed.push(row),
            // Without CAP_NET_ADMIN every socket is refused alike: say it once.
            Err(r) if r.kind == RefusalKind::NotPermitted && closed.is_empty() => {
                return Err(Error::Permission {
                    what: "closing sockets".into(),
                    hint: "it needs CAP_NET_ADMIN: run as root".into(),
                });
            }
            // Closed by its owner between the read and now: what was asked happened.
            Err(r) if r.kind == RefusalKind::Gone => gone += 1,
            Err(r) => refused.push((row, r.reason, r.errno)),
        }
    }
    if gone > 0 {
        listing.warnings.push(Warning::new(
            "already-closed",
            format!(
                "{gone} selected socket{} closed on {} own before -K reached {}",
                if gone == 1 { "" } else { "s" },
                if gone == 1 { "its" } else { "their" },
                if gone == 1 { "it" } else { "them" }
            ),
        ));
    }
    match &cfg.output.format {
        Format::Json => {
            let not: Vec<NotClosed<'_>> = refused
                .iter()
                .map(|(row, reason, errno)| NotClosed {
                    row,
                    reason,
                    errno: *errno,
                })
                .collect();
            json::write_kill(&closed, &not, &listing.warnings, out)?;
        }
        Format::Table { .. } => {
            if let Some(opts) = cfg.output.table_opts() {
                table::write(&closed, &opts, out)?;
            }
            out.flush()?;
            let mut stderr = std::io::stderr().lock();
            for (row, reason, _) in &refused {
                let _ = writeln!(stderr, "portwatch: not closed: {}: {reason}", describe(row));
            }
            notes::print_warnings(&listing.warnings);
        }
        // config::mode refuses CSV with -K.
        Format::Csv => {}
    }
    Ok(u8::from(!refused.is_empty()))
}

/// `tcp ESTAB 127.0.0.1:5000 -> 127.0.0.1:8080`, as the table spells the ends.
fn describe(row: &Row) -> String {
    let (mut l, mut r) = (String::new(), String::new());
    cells::cell(&mut l, row, crate::render::Column::Local);
    cells::cell(&mut r, row, crate::render::Column::Peer);
    format!("{} {} {l} -> {r}", row.sock.netid(), row.sock.state.name())
}
