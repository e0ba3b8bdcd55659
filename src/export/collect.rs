//! One collection: the listeners with their owners, and the other sockets without, read by
//! two runs of the listing pipeline. Listing owners is the expensive step (one readlink per
//! open fd on the host); the labels need them for listeners only, so the connections, which
//! only count, never pay for it.

use crate::model::{NetnsSpec, Query, Row, StateSet, Warning};
use crate::pipeline::{self, Request};
use crate::platform::{ProcessSource, SocketSource};
use crate::registry::Registry;
use std::time::{Duration, Instant};

/// What one collection reads: built from the listing flags by `config::export_plan`.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Listening sockets (TCP LISTEN, unconnected UDP; unix and raw when asked), with owners
    /// and user names; `None` when the flags or filter exclude every listening state.
    pub listeners: Option<Request>,
    /// Every other selected socket, without owners unless the filter needs them.
    pub others: Option<Request>,
    /// The network namespaces to read (`-N`), resolved anew for each collection as
    /// containers come and go; empty: portwatch's own.
    pub netns: Vec<NetnsSpec>,
}

impl Plan {
    /// Split `base` (tables, families and filter from the flags) at the listening states:
    /// `states` are all the states to read. Listeners get owners, user names and their
    /// container and unit (their labels); the rest none of them.
    pub fn split(base: Request, states: StateSet) -> Plan {
        let with_states = |states: StateSet| Query {
            states,
            ..base.query.clone()
        };
        let listening = StateSet(states.0 & StateSet::LISTENING.0);
        let rest = StateSet(states.0 & !StateSet::LISTENING.0);
        Plan {
            listeners: (!listening.is_empty()).then(|| Request {
                query: with_states(listening),
                owners: true,
                user_names: true,
                attribution: true,
                ..base.clone()
            }),
            others: (!rest.is_empty()).then(|| Request {
                query: with_states(rest),
                owners: false,
                all_owners: false,
                user_names: false,
                attribution: false,
                ..base.clone()
            }),
            netns: Vec::new(),
        }
    }
}

/// What one collection read, and what it could not.
#[derive(Debug, Default)]
pub struct Collected {
    pub listeners: Vec<Row>,
    pub others: Vec<Row>,
    pub warnings: Vec<Warning>,
    /// What could not be read (a table, the process list, a whole run): `scrape_error`.
    pub errors: Vec<String>,
    /// How long the collection took.
    pub duration: Duration,
}

impl Collected {
    /// Nothing could be read: an error, and not one socket.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty() && self.listeners.is_empty() && self.others.is_empty()
    }

    /// A collection that could not start (the namespaces could not be opened).
    pub fn could_not(why: String) -> Collected {
        Collected {
            warnings: vec![Warning::new("collection-failed", why.clone())],
            errors: vec![why],
            ..Collected::default()
        }
    }
}

/// Warning kinds that mean a table, or the process list, could not be read (partly or
/// wholly). Others (a netlink dump that fell back to /proc, hidden owners) lose nothing or
/// have their own metric.
const UNREADABLE: &[&str] = &[
    "collection-failed",
    "proto-unavailable",
    "malformed-line",
    "owners-unavailable",
];

/// Run the plan over `sources` (one per network namespace, portwatch's own first). Never
/// fails: what could not be read is in `errors`.
pub fn collect(
    plan: &Plan,
    sources: &[&dyn SocketSource],
    procs: &dyn ProcessSource,
    reg: &Registry,
) -> Collected {
    let start = Instant::now();
    let mut c = Collected::default();
    for (req, rows) in [
        (&plan.listeners, &mut c.listeners),
        (&plan.others, &mut c.others),
    ] {
        let Some(req) = req else { continue };
        match pipeline::run_many(req, sources, procs, reg) {
            Ok(listing) => {
                *rows = listing.rows;
                c.warnings.extend(listing.warnings);
            }
            // Said like a warning (once, on stderr) and counted as an error.
            Err(e) => c
                .warnings
                .push(Warning::new("collection-failed", e.to_string())),
        }
    }
    // Both runs read the same tables: say each problem once.
    let mut seen = std::collections::HashSet::new();
    c.warnings
        .retain(|w| seen.insert((w.kind, w.message.clone())));
    c.errors.extend(
        c.warnings
            .iter()
            .filter(|w| UNREADABLE.contains(&w.kind))
            .map(|w| w.message.clone()),
    );
    c.duration = start.elapsed();
    c
}
