//! `portwatch explain PORT[/PROTO]`: the registry's knowledge plus who uses the port now.

use super::list;
use crate::cli::{ExplainArgs, ListArgs};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::model::Proto;
use crate::platform;
use crate::registry::explain;
use std::io::Write;

pub fn run(
    args: &ExplainArgs,
    g: &crate::cli::GlobalArgs,
    env: &Env,
    out: &mut dyn Write,
) -> Result<()> {
    let (reg, mut warnings) =
        super::load_registry(&config::registry_options(g, env), g.labels.is_some())?;
    let (port, proto) =
        explain::parse_spec(&reg, &args.port).map_err(|m| Error::Usage(format!("explain: {m}")))?;
    // Who uses it: TCP and UDP sockets in every state; owners only for the matching ones.
    let list_args = ListArgs {
        all: true,
        tcp: proto.is_none_or(|p| p == "tcp"),
        udp: proto.is_none_or(|p| p == "udp"),
        ..ListArgs::default()
    };
    let mut cfg = config::list_config(&list_args, g, env)?;
    let mut rows = Vec::new();
    if cfg.query.tcp || cfg.query.udp {
        cfg.show_owners = false;
        // One port, asked about on purpose: read every process rather than stop early, so
        // the users listed are all of them.
        cfg.all_owners = true;
        let mut listing = list::collect(&cfg, &reg)?;
        listing.rows.retain(|r| {
            matches!(r.sock.proto, Proto::Tcp | Proto::Udp)
                && (r.sock.local.as_ref().and_then(|e| e.port()) == Some(port)
                    || r.sock.remote.as_ref().and_then(|e| e.port()) == Some(port))
        });
        list::attach_owners(&cfg, &mut listing.rows, &mut listing.warnings, None);
        platform_users(&mut listing.rows);
        rows = listing.rows;
        warnings.extend(listing.warnings);
    }
    let e = explain::explain(
        &reg,
        port,
        proto,
        platform::ephemeral_range(&cfg.source),
        &rows,
    );
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &e).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    } else {
        explain::write_text(&e, out)?;
    }
    super::print_warnings(&warnings);
    Ok(())
}

fn platform_users(rows: &mut [crate::join::Row]) {
    crate::join::attach_users(rows, platform::user_name);
}
