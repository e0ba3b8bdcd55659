//! `portwatch explain PORT[/PROTO]`: the registry's knowledge plus who uses the port now.

use super::Context;
use crate::cli::ExplainArgs;
use crate::error::{Error, Result};
use crate::filter::{Cmp, End, Filter, PortSpec, Pred};
use crate::model::{Query, StateSet};
use crate::pipeline::{self, Request};
use crate::platform::SocketSource;
use crate::registry::explain;
use crate::render::{self, notes};
use std::io::Write;

pub fn run(args: &ExplainArgs, ctx: Context, out: &mut dyn Write) -> Result<()> {
    let reg = &ctx.registry;
    let mut warnings = ctx.warnings;
    let (port, proto) =
        explain::parse_spec(reg, &args.port).map_err(|m| Error::Usage(format!("explain: {m}")))?;
    let tcp = proto.is_none_or(|p| p == "tcp");
    let udp = proto.is_none_or(|p| p == "udp");
    let mut rows = Vec::new();
    if tcp || udp {
        // Who uses it: TCP and UDP sockets in every state with the port at either end, with
        // every holder: one port, asked about on purpose, so every process is read rather
        // than stopping early.
        let request = Request {
            filter: Filter::any_of([Pred::Port {
                end: End::Either,
                cmp: Cmp::Eq,
                port: PortSpec::Num(port),
            }]),
            owners: true,
            all_owners: true,
            user_names: true,
            ..Request::new(Query::inet(tcp, udp, StateSet::ALL))
        };
        let listing = pipeline::run(&request, &ctx.system, &ctx.system, reg)?;
        rows = listing.rows;
        warnings.extend(listing.warnings);
    }
    let e = explain::explain(reg, port, proto, ctx.system.ephemeral_range());
    let report = render::explain::report(&e, &rows);
    if args.json {
        render::explain::write_json(&report, out)?;
    } else {
        render::explain::write_text(&report, out)?;
    }
    out.flush()?;
    notes::print_warnings(&warnings);
    Ok(())
}
