//! The one listing pipeline under every command: read sockets, join owners, users and
//! services, filter, sort. A command builds a `Request` (from the command line in `config`, or
//! by code), calls `run` with a source, and renders the `Listing`.
//!
//! ```text
//! SocketSource ─ read ─> sockets ─ join (peers, services, users) ─ filter ─ owners ─> rows
//!   (one per network namespace, `-N`)                                  │      │
//! ProcessSource ─────────────────────────────── owner scan ─────────┘      │
//!               ─────────────────────── containers, units ─────────────────┘
//! ```
//!
//! The owner scan is the expensive step (one readlink per open fd on the host), so it runs
//! only when asked, looks only for the sockets that will be shown, and stops early unless told
//! not to (`owners.rs`).

mod attribute;
pub mod detail;
pub mod hint;
mod owners;
mod parts;
pub mod summary;
mod widen;

pub use detail::{alerts, Alert, SortKey};
pub use hint::{near_misses, NearMiss};

use crate::error::Result;
use crate::filter::Filter;
use crate::join;
use crate::model::{
    FamilyFilter, OwnerMethod, OwnerScan, Proto, Query, Row, Socket, State, StateSet, Warning,
};
use crate::platform::{self, ProcessSource, SocketSource};
use crate::registry::{listening_ports, AnnotateCtx, AnnotationCache, Registry};
use std::collections::HashSet;

/// What to list: built from the command line (`config::request`) or by code.
#[derive(Debug, Clone)]
pub struct Request {
    /// Tables, families and states to read (the kernel applies the state set).
    pub query: Query,
    /// Families kept after reading (-4 / -6: dual-stack listeners count as IPv4).
    pub family: FamilyFilter,
    /// The filter expression and shorthand flags, not yet resolved against the registry.
    pub filter: Filter,
    /// Find the holders of every listed socket (-p). A filter on processes finds them for
    /// every candidate whether or not this is set.
    pub owners: bool,
    /// Read every process for owners instead of stopping once each socket has a holder.
    pub all_owners: bool,
    /// Look up the user name of each socket's uid.
    pub user_names: bool,
    /// Work out each socket's container, systemd unit and whether a holder is in another
    /// network namespace (JSON, CSV, the Container column). Container and unit filters do
    /// it whether or not this is set.
    pub attribution: bool,
    /// Look up the cgroup v2 path of each socket's cgroup id (-e, --cgroup).
    pub cgroups: bool,
    /// The order of the rows: by a metric (--sort), else by protocol and address.
    pub sort: Option<SortKey>,
    /// Whether to sort the rows at all: a caller that orders only what it shows (watch's
    /// events) leaves them in the tables' order and saves sorting every row.
    pub sorted: bool,
}

impl Request {
    /// The sockets `query` reads, unfiltered, without owners or user names.
    pub fn new(query: Query) -> Request {
        Request {
            query,
            family: FamilyFilter::Any,
            filter: Filter::all(),
            owners: false,
            all_owners: false,
            user_names: false,
            attribution: false,
            cgroups: false,
            sort: None,
            sorted: true,
        }
    }

    /// Whether the owner scan runs (asked for, or needed by the filter).
    pub fn scans_owners(&self) -> bool {
        self.owners || self.filter.needs_owners()
    }
}

/// The rows a listing shows, and what could not be seen.
#[derive(Debug, Default)]
pub struct Listing {
    pub rows: Vec<Row>,
    pub warnings: Vec<Warning>,
    /// How far the owner scan read; `None` when it did not run.
    pub owner_scan: Option<OwnerScan>,
    /// How the owner scan read (BPF or /proc); `None` when it did not run.
    pub owner_method: Option<OwnerMethod>,
    /// Why /proc was read when BPF could have been, or which BPF program read (PORTWATCH_DEBUG
    /// shows it).
    pub owner_note: Option<String>,
}

/// Read, join, filter and sort the sockets `req` asks for, in one network namespace.
pub fn run(
    req: &Request,
    sockets: &dyn SocketSource,
    procs: &dyn ProcessSource,
    reg: &Registry,
) -> Result<Listing> {
    run_many(req, &[sockets], procs, reg)
}

/// `run` over several network namespaces (`-N`): each is read, joined and filtered with its
/// own listener set, ephemeral range and interface names; one owner scan serves them all
/// (socket inodes are unique host-wide). Rows come in the sources' order (host first),
/// sorted within each namespace.
pub fn run_many(
    req: &Request,
    sources: &[&dyn SocketSource],
    procs: &dyn ProcessSource,
    reg: &Registry,
) -> Result<Listing> {
    if !owners::scan_during_dump(req) || !procs.prefetch() {
        if !req.owners {
            return run_with(req, sources, procs, reg, || None);
        }
        // The owner scan waits for the tables; what it needs is loaded meanwhile, here: the
        // load (a BPF program's verification) takes longer than a listener dump, so it is
        // the one that must not wait for a core.
        return std::thread::scope(|s| {
            let listing = std::thread::Builder::new()
                .name("listing".into())
                .spawn_scoped(s, || run_with(req, sources, procs, reg, || None));
            let Ok(listing) = listing else {
                return run_with(req, sources, procs, reg, || None);
            };
            procs.prepare_owners();
            listing
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
    }
    std::thread::scope(|s| {
        let scan = std::thread::Builder::new()
            .name("owner-scan".into())
            .spawn_scoped(s, || procs.scan_owners(crate::model::Wanted::All))
            .ok();
        // A scan that could not start or panicked is done again, in line.
        run_with(req, sources, procs, reg, || {
            scan.and_then(|h| h.join().ok())
        })
    })
}

/// `run_many`, given the owners of every process when they were read during the dump.
fn run_with(
    req: &Request,
    sources: &[&dyn SocketSource],
    procs: &dyn ProcessSource,
    reg: &Registry,
    prefetched: impl FnOnce() -> Option<crate::model::OwnerMap>,
) -> Result<Listing> {
    let base = resolve_filter(&req.filter, reg, procs)?;
    // Process predicates need every candidate's owners (and containers) before filtering;
    // otherwise filter first, so the owner scan looks only for the sockets shown.
    let late = base.needs_owners();
    // With one namespace, the scan read during the dump is awaited before the sockets become
    // rows and cut to their owners: the owners of sockets not listed (a quarter of a big
    // `-antp`'s, unix and UDP) are never held beside the rows (issue #17). Prefetched owners
    // come only with no filter, so every socket kept is listed.
    let mut prefetched = Some(prefetched);
    let mut cut = None;
    let parts = parts::read_all(req, sources, procs, reg, &base, !late, &mut |sockets| {
        if let Some(scan) = prefetched.take() {
            cut = scan().map(|mut map| {
                map.keep_only(&sockets.iter().map(|s| s.inode).collect());
                map
            });
        }
    })?;
    // Not taken above (several namespaces): the scan as it came.
    let prefetched = match prefetched.take() {
        Some(scan) => scan(),
        None => cut,
    };
    let (mut all, mut warnings) = parts::Flat::join(parts);
    let attribution = req.attribution || base.needs_attribution();
    let mut scanned = None;
    if late || req.owners {
        scanned = owners::attach(req, procs, &mut all.rows, &mut warnings, prefetched);
    }
    if attribution {
        attribute::attribute(&mut all.rows, procs);
    }
    if late {
        all.retain(|p, r| p.filter.matches(r));
    }
    if all.rows.iter().any(|r| r.owners.is_some()) {
        // Owners add a hint to ports no registry layer names; named ones stay as they are.
        all.each_part(|p, rows| p.annotate(rows, reg, true));
    }
    all.each_part(|p, rows| {
        join::attach_ifaces(rows, |i| p.src.iface_name(i));
        if req.sorted {
            join::sort_rows(rows);
            if let Some(key) = req.sort {
                detail::sort(rows, key);
            }
        }
    });
    if req.cgroups {
        attach_cgroups(&mut all.rows, procs);
    }
    let (owner_scan, owner_method, owner_note) = match scanned {
        Some(s) => (Some(s.scan), Some(s.method), s.note),
        None => (None, None, None),
    };
    Ok(Listing {
        rows: all.rows,
        warnings,
        owner_scan,
        owner_method,
        owner_note,
    })
}

/// Join and filter sockets that did not come from a read, such as close events: the same
/// filter, service annotation, user and interface names as `run`, and no owner scan (a
/// closed socket has no holder left). Built once, used per batch.
pub struct Matcher<'a> {
    req: &'a Request,
    filter: Filter,
    src: &'a dyn SocketSource,
    procs: &'a dyn ProcessSource,
    reg: &'a Registry,
    listening: HashSet<(Proto, u16)>,
    cache: AnnotationCache,
}

impl<'a> Matcher<'a> {
    /// Resolve the request's filter once. Process predicates cannot match what has no owner:
    /// the caller refuses them (`Filter::needs_owners`).
    pub fn new(
        req: &'a Request,
        src: &'a dyn SocketSource,
        procs: &'a dyn ProcessSource,
        reg: &'a Registry,
    ) -> Result<Matcher<'a>> {
        let mut filter = resolve_filter(&req.filter, reg, procs)?;
        if filter.needs_ephemeral_range() {
            filter.set_ephemeral_range(src.ephemeral_range());
        }
        let listening = listening_set(
            src,
            &Query {
                states: StateSet::NONE,
                ..req.query.clone()
            },
            &[],
        );
        Ok(Matcher {
            req,
            filter,
            src,
            procs,
            reg,
            listening,
            cache: AnnotationCache::new(),
        })
    }

    /// The rows of `sockets` the request keeps, joined.
    pub fn rows(&mut self, sockets: Vec<Socket>) -> Vec<Row> {
        let q = &self.req.query;
        let mut rows: Vec<Row> = sockets
            .into_iter()
            .filter(|s| q.wants(s.proto) && self.req.family.keeps(s))
            .map(Row::new)
            .collect();
        let ctx = AnnotateCtx {
            ephemeral: self.src.ephemeral_range(),
            listening: &self.listening,
            owners: None,
        };
        for r in rows.iter_mut() {
            r.service = self.reg.annotate_shared(&r.sock, &ctx, &mut self.cache);
        }
        if self.filter.needs_users() || self.req.user_names {
            join::attach_users(&mut rows, |uid| self.procs.user_name(uid));
        }
        rows.retain(|r| self.filter.matches(r));
        join::attach_ifaces(&mut rows, |i| self.src.iface_name(i));
        if self.req.cgroups {
            attach_cgroups(&mut rows, self.procs);
        }
        rows
    }
}

/// Local (proto, port) pairs that have a listener, for telling the server side of a
/// connection. Taken from the snapshot when it holds the listeners, else from one extra
/// listeners-only read (a few ms: the kernel filters by state).
fn listening_set(src: &dyn SocketSource, q: &Query, sockets: &[Socket]) -> HashSet<(Proto, u16)> {
    if let Some(known) = src.listening() {
        return known;
    }
    if holds_listeners(q) {
        return listening_ports(sockets);
    }
    if !(q.tcp || q.udp) {
        return HashSet::new();
    }
    src.read_sockets(&Query::inet(q.tcp, q.udp, StateSet::LISTENING))
        .map(|s| listening_ports(&s.sockets))
        .unwrap_or_default()
}

/// Whether what `q` reads holds every listener of the protocols it reads (TCP LISTEN,
/// unconnected UDP), so that no read of its own is needed: `-lnt` does, `-tn` does not.
fn holds_listeners(q: &Query) -> bool {
    q.ipv4
        && q.ipv6
        && (!q.tcp || q.states.contains(State::LISTEN))
        && (!q.udp || q.states.contains(State::CLOSE))
}

/// Turn sockets into rows without holding both tables whole: in the sockets' own buffer,
/// grown to the rows' size (`widen`), so peak memory is the rows alone. The rows' pages
/// beyond the sockets' are fresh: huge pages for those save thousands of page faults.
fn into_rows(sockets: Vec<Socket>) -> Vec<Row> {
    widen::widen(sockets, Row::new, platform::advise_huge_pages)
}

/// Name each row's cgroup, one walk of the cgroup2 mount for all. A cgroup not found (removed
/// since, or outside our cgroup namespace) stays unnamed, as ss's `unreachable:ID`.
fn attach_cgroups(rows: &mut [Row], procs: &dyn ProcessSource) {
    if rows.iter().all(|r| r.sock.cgroup.is_none()) {
        return;
    }
    let paths = procs.cgroup_paths();
    let mut names: std::collections::HashMap<u64, crate::model::Name> = Default::default();
    for r in rows.iter_mut() {
        let Some(id) = r.sock.cgroup.map(|c| c.get()) else {
            continue;
        };
        if let Some(p) = paths.get(&id) {
            let n = names.entry(id).or_insert_with(|| p.as_str().into());
            r.rare.cgroup = Some(n.clone());
        }
    }
}

/// Resolve the service, user and cgroup names the filter refers to (the ephemeral range is
/// each namespace's own: `parts`).
pub fn resolve_filter(
    filter: &Filter,
    reg: &Registry,
    procs: &dyn ProcessSource,
) -> Result<Filter> {
    let mut f = filter.clone();
    if f.is_empty() {
        return Ok(f);
    }
    f.resolve(&|name, proto| match proto {
        Some(p) => reg.port_by_name(name, p.name()),
        None => reg
            .port_by_name(name, "tcp")
            .or_else(|| reg.port_by_name(name, "udp")),
    })?;
    f.resolve_users(&|name| procs.uid_by_name(name))?;
    f.resolve_cgroups(&|path| procs.cgroup_id(path))?;
    Ok(f)
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_netns;
