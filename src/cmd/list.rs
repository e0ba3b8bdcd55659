//! The default command: read sockets, join owners/users/services, filter, render.

use crate::config::{Format, ListConfig};
use crate::error::Result;
use crate::filter::Filter;
use crate::join::{self, Row};
use crate::model::{OwnerScan, Proto, Query, Snapshot, Socket, State, StateSet, Warning};
use crate::platform::{self, InodeSet, OwnerMap, SourceOptions, Wanted};
use crate::registry::{listening_ports, AnnotateCtx, AnnotationCache, Registry};
use crate::render::{csv, json, table};
use std::collections::HashSet;
use std::io::Write;

/// The rows a listing shows, and what could not be seen.
pub struct Listing {
    pub rows: Vec<Row>,
    pub warnings: Vec<Warning>,
    /// How far the owner scan read; `None` when it did not run.
    pub owner_scan: Option<OwnerScan>,
}

/// Local (proto, port) pairs that have a listener, for telling the server side of a
/// connection. Taken from the snapshot when it holds the listeners, else from one extra
/// listeners-only read (a few ms: the kernel filters by state).
fn listening_set(src: &SourceOptions, q: &Query, sockets: &[Socket]) -> HashSet<(Proto, u16)> {
    if q.states.contains(crate::model::State::LISTEN)
        && q.states.contains(crate::model::State::CLOSE)
    {
        return listening_ports(sockets);
    }
    if !(q.tcp || q.udp) {
        return HashSet::new();
    }
    let lq = Query {
        unix: false,
        raw: false,
        ipv4: true,
        ipv6: true,
        states: StateSet::LISTENING,
        ..q.clone()
    };
    platform::read_sockets(src, &lq)
        .map(|s| listening_ports(&s.sockets))
        .unwrap_or_default()
}

/// Attach owners to the rows, from `prefetched` (a read of every process) or a scan for the
/// rows' sockets now; says how far the scan read (`None`: no socket could have an owner, so
/// no process was read).
pub fn attach_owners(
    cfg: &ListConfig,
    rows: &mut [Row],
    warnings: &mut Vec<Warning>,
    prefetched: Option<OwnerMap>,
) -> Option<OwnerScan> {
    let read = prefetched.is_some() || rows.iter().any(|r| r.sock.inode != 0);
    let mut map = match prefetched {
        Some(map) => map,
        None => scan_for(cfg, rows),
    };
    join::attach_owners(rows, &map);
    warnings.append(&mut map.warnings);
    warnings.extend(join::owner_visibility_warning(rows, &map));
    read.then_some(if map.partial {
        OwnerScan::StoppedEarly
    } else {
        OwnerScan::AllProcesses
    })
}

/// The owner scan for the rows' sockets: stopping early unless --all-owners.
fn scan_for(cfg: &ListConfig, rows: &[Row]) -> OwnerMap {
    let inodes: InodeSet = rows
        .iter()
        .map(|r| r.sock.inode)
        .filter(|&i| i != 0)
        .collect();
    if cfg.all_owners {
        return platform::scan_owners(&cfg.source, Wanted::Some { inodes: &inodes });
    }
    let uids: HashSet<u32> = rows.iter().filter_map(|r| r.sock.uid).collect();
    let wanted = Wanted::Family {
        inodes: &inodes,
        uids: &uids,
    };
    platform::scan_owners(&cfg.source, wanted)
}

/// Whether to read every process's owners while the socket tables are dumped. A listing of
/// every connection (no filter, not listeners only) wants the owners of nearly every socket
/// on the host, so an early stop rarely comes, while the dump (a quarter of `-antp` at 100k
/// sockets) would leave a core idle.
fn scan_during_dump(cfg: &ListConfig) -> bool {
    cfg.show_owners && cfg.filter.is_empty() && cfg.query.states.contains(State::ESTABLISHED)
}

/// Turn sockets into rows without holding both tables whole: sockets are taken from the end
/// and their vector shrunk as it empties, so peak memory is about the rows alone. Order does
/// not matter: rows are sorted later.
fn into_rows(mut sockets: Vec<Socket>) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::with_capacity(sockets.len());
    platform::advise_huge_pages(&mut rows);
    while let Some(s) = sockets.pop() {
        rows.push(Row::new(s));
        // Give back each MiB as it empties: with both tables mapped on their own (see
        // `platform::tune_allocator`) that is an in-place mremap, and the two never overlap
        // by more than a MiB.
        if (sockets.capacity() - sockets.len()) * std::mem::size_of::<Socket>() >= 1 << 20 {
            sockets.shrink_to_fit();
        }
    }
    rows
}

/// Read, join and filter: everything but rendering (also used by `explain`).
pub fn collect(cfg: &ListConfig, reg: &Registry) -> Result<Listing> {
    if !scan_during_dump(cfg) {
        return collect_with(cfg, reg, || None);
    }
    std::thread::scope(|s| {
        let scan = std::thread::Builder::new()
            .name("owner-scan".into())
            .spawn_scoped(s, || platform::scan_owners(&cfg.source, Wanted::All))
            .ok();
        // A scan that could not start or panicked is done again, in line.
        collect_with(cfg, reg, || scan.and_then(|h| h.join().ok()))
    })
}

/// `collect`, given the owners of every process when they were read during the dump.
fn collect_with(
    cfg: &ListConfig,
    reg: &Registry,
    prefetched: impl FnOnce() -> Option<OwnerMap>,
) -> Result<Listing> {
    let Snapshot {
        mut sockets,
        mut warnings,
    } = platform::read_sockets(&cfg.source, &cfg.query)?;
    let listening = listening_set(&cfg.source, &cfg.query, &sockets);
    // Backends may return more than asked (raw ignores the kernel state filter; netstat2
    // reads everything); UNKNOWN-state rows are netstat2's UDP, kept as the backend decided.
    sockets.retain(|s| {
        (cfg.query.states.contains(s.state) || s.state.0 == 0) && join::keep_family(s, cfg.family)
    });
    join::attach_unix_peers(&mut sockets);
    let mut rows = into_rows(sockets);
    let ephemeral = platform::ephemeral_range(&cfg.source);
    let filter = resolve_filter(cfg, reg, ephemeral)?;

    let mut cache = AnnotationCache::new();
    let mut annotate = |rows: &mut [Row], only_unnamed: bool| {
        for r in rows.iter_mut() {
            if only_unnamed && r.service.as_ref().is_none_or(|a| a.service.is_some()) {
                continue;
            }
            let ctx = AnnotateCtx {
                ephemeral,
                listening: &listening,
                owners: r.owners.as_deref(),
            };
            r.service = reg.annotate_shared(&r.sock, &ctx, &mut cache);
        }
    };
    annotate(&mut rows, false);
    if filter.needs_users() || cfg.extended || matches!(cfg.format, Format::Json | Format::Csv) {
        join::attach_users(&mut rows, platform::user_name);
    }
    let mut owner_scan = None;
    if filter.needs_owners() {
        // Process predicates need every candidate's owners before filtering.
        owner_scan = attach_owners(cfg, &mut rows, &mut warnings, prefetched());
        rows.retain(|r| filter.matches(r));
    } else {
        // Filter first: the owner scan then looks only for the sockets shown.
        rows.retain(|r| filter.matches(r));
        if cfg.show_owners {
            owner_scan = attach_owners(cfg, &mut rows, &mut warnings, prefetched());
        }
    }
    if rows.iter().any(|r| r.owners.is_some()) {
        // Owners add a hint to ports no registry layer names; named ones stay as they are.
        annotate(&mut rows, true);
    }
    join::attach_ifaces(&mut rows, platform::iface_name);
    join::sort_rows(&mut rows);
    Ok(Listing {
        rows,
        warnings,
        owner_scan,
    })
}

/// Resolve service names, user names and the ephemeral range the filter refers to.
fn resolve_filter(
    cfg: &ListConfig,
    reg: &Registry,
    ephemeral: Option<(u16, u16)>,
) -> Result<Filter> {
    let mut f = cfg.filter.clone();
    if f.is_empty() {
        return Ok(f);
    }
    f.resolve(&|name, proto| match proto {
        Some(p) => reg.port_by_name(name, p.name()),
        None => reg
            .port_by_name(name, "tcp")
            .or_else(|| reg.port_by_name(name, "udp")),
    })?;
    f.resolve_users(&platform::uid_by_name)?;
    if f.needs_ephemeral_range() {
        f.set_ephemeral_range(ephemeral);
    }
    Ok(f)
}

pub fn run(cfg: &ListConfig, out: &mut dyn Write) -> Result<()> {
    let (reg, reg_warnings) = super::load_registry(&cfg.registry, cfg.labels_explicit)?;
    let mut listing = collect(cfg, &reg)?;
    listing.warnings.extend(reg_warnings);
    match &cfg.format {
        Format::Json => json::write(&listing.rows, &listing.warnings, listing.owner_scan, out)?,
        Format::Csv => {
            csv::write(&listing.rows, cfg.header, out)?;
            out.flush()?;
            super::print_warnings(&listing.warnings);
        }
        Format::Table { fit_width } => {
            let opts = table::TableOpts {
                columns: cfg.columns(),
                header: cfg.header,
                fit_width: *fit_width,
            };
            table::write(&listing.rows, &opts, out)?;
            // Warnings come after the table, not in the middle of a buffered write.
            out.flush()?;
            super::print_warnings(&listing.warnings);
        }
    }
    Ok(())
}
