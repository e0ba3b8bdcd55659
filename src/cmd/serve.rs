//! `portwatch serve`: the metrics over HTTP, collected when scraped (see `serve` and `export`).

use super::Context;
use crate::cli::ServeArgs;
use crate::config;
use crate::error::Result;
use crate::export::{self, Host};
use crate::model::Warning;
use crate::render::notes;
use crate::serve::{self, cache::Cache, cache::Snapshot};
use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

pub fn run(args: &ServeArgs, ctx: Context) -> Result<()> {
    let plan = config::export_plan(&args.listing)?;
    let addr = config::listen_addr(&args.listen)?;
    let min_interval = config::min_interval(&args.min_interval)?;
    // A -N value that names no namespace is the user's mistake: exit 2 before serving. Later
    // failures (a namespace deleted while serving) are scrape errors.
    if !plan.netns.is_empty() {
        ctx.system.namespaces(&plan.netns)?;
    }
    let host = Host {
        version: env!("CARGO_PKG_VERSION"),
        collections: None,
    };
    // Each problem is said once for the server's life, not once per scrape.
    let said = Mutex::new(HashSet::new());
    warn_once(&said, &ctx.warnings);
    let collect = move |n: u64| {
        let c = super::export::collect(&plan, &ctx);
        warn_once(&said, &c.warnings);
        let failure = c.failed().then(|| c.errors.join("; "));
        let host = Host {
            collections: Some(n),
            ..host.clone()
        };
        Snapshot::new(export::build(&c, &host), failure)
    };
    let cache = Arc::new(Cache::new(min_interval, Arc::new(collect)));
    let timeout = std::time::Duration::from_secs(args.http_timeout.clamp(1, 3600));
    let opts = serve::Options {
        header_timeout: timeout,
        write_timeout: timeout,
        ..serve::Options::default()
    };
    let signal = serve::run(addr, &opts, cache, |local| {
        let mut e = std::io::stderr().lock();
        if !local.ip().is_loopback() {
            let _ = writeln!(
                e,
                "portwatch: warning: serving on {local}, beyond this host: every scraper that \
                 can reach it sees this host's listeners, processes and users"
            );
        }
        let _ = writeln!(e, "portwatch: serving metrics on http://{local}/metrics");
    })?;
    let _ = writeln!(std::io::stderr(), "portwatch: {signal}: stopped");
    Ok(())
}

/// Print the warnings not said before. Hidden owners are one problem whatever their count,
/// which changes from scrape to scrape; any other message is its own problem (another table).
fn warn_once(said: &Mutex<HashSet<String>>, warnings: &[Warning]) {
    let Ok(mut said) = said.lock() else { return };
    let new: Vec<Warning> = warnings
        .iter()
        .filter(|w| {
            said.insert(match w.kind {
                "owners-hidden" => w.kind.to_string(),
                _ => format!("{}: {}", w.kind, w.message),
            })
        })
        .cloned()
        .collect();
    notes::print_warnings(&new);
}
