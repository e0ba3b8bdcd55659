//! `portwatch watch`: sockets as they open, close and change. On a terminal a live view
//! (`terminal.rs`, state in `view.rs`), otherwise NDJSON events (`stream.rs`); the loop is
//! `session.rs`, the events come from `timeline`.

mod collect;
mod delta;
mod session;
mod shared;
mod sources;
mod stream;
mod terminal;
mod view;

use super::Context;
use crate::cli::ReadsArg;
use crate::config::{Color, WatchConfig, WatchMode};
use crate::error::Result;
use crate::platform::TrackedOwners;
use crate::render::sanitize::escape_str;
use session::Sources;
use std::io::Write;

pub fn run(cfg: &WatchConfig, ctx: Context, out: &mut dyn Write) -> Result<()> {
    let sys = &ctx.system;
    // Each read looks for the owners of new sockets only; known ones are remembered.
    let owners = TrackedOwners::new(sys);
    let src = Sources {
        sockets: sys,
        procs: &owners,
        registry: &ctx.registry,
    };
    let ch = session::channel(sys, &cfg.request)?;
    // Loaded once; used while the request allows glimpsed reads (`delta.rs`).
    let glimpser = match cfg.reads {
        ReadsArg::Full => Err("--reads full".to_string()),
        ReadsArg::Auto | ReadsArg::Glimpse => sys.glimpser(),
    };
    match cfg.mode {
        WatchMode::Stream => {
            let mut sink = stream::Stream { out };
            session::run(cfg, &src, &mut sink, ch, ctx.warnings, glimpser)
        }
        WatchMode::Terminal(color) => {
            let title: Vec<String> = std::env::args().skip(1).collect();
            let mut v = view::View::new(
                escape_str(&format!("portwatch {}", title.join(" "))).into_owned(),
                cfg.request.filter.text().to_string(),
                cfg.interval,
                cfg.columns.clone(),
            );
            v.color = color == Color::On;
            let mut sink = terminal::Terminal::enter(out, v, ch.tx.clone())?;
            session::run(cfg, &src, &mut sink, ch, ctx.warnings, glimpser)
        }
    }
}
