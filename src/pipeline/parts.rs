//! One part per network namespace: everything about a listing that is per namespace (the
//! socket tables, the listener set that tells the server side of a connection, the ephemeral
//! range, `sport`/`dport` and `autobound` matching, interface names), and the rows of every
//! part in one vector for the steps that are host-wide (the owner scan, attribution).

use super::{holds_listeners, into_rows, listening_set, Request};
use crate::error::Result;
use crate::filter::Filter;
use crate::join;
use crate::model::{LocalPorts, Proto, Query, Row, Snapshot, Socket, Warning};
use crate::platform::{ProcessSource, SocketSource};
use crate::registry::{AnnotateCtx, AnnotationCache, Registry};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What is per namespace, beside its rows.
pub(super) struct Part<'a> {
    pub src: &'a dyn SocketSource,
    /// The filter with this namespace's ephemeral range.
    pub filter: Filter,
    ephemeral: Option<(u16, u16)>,
    listening: HashSet<(Proto, u16)>,
    cache: AnnotationCache,
}

impl Part<'_> {
    /// Name each row's service port; `only_unnamed`: only rows no layer named yet (their
    /// owners may now give a hint).
    pub fn annotate(&mut self, rows: &mut [Row], reg: &Registry, only_unnamed: bool) {
        for r in rows.iter_mut() {
            if only_unnamed && r.service.as_ref().is_none_or(|a| a.service.is_some()) {
                continue;
            }
            let ctx = AnnotateCtx {
                ephemeral: self.ephemeral,
                listening: &self.listening,
                owners: r.owners.as_deref(),
            };
            r.service = reg.annotate_shared(&r.sock, &ctx, &mut self.cache);
        }
    }
}

/// One namespace read: its part, its rows and what its source could not read.
pub(super) struct Read<'a> {
    part: Part<'a>,
    rows: Vec<Row>,
    warnings: Vec<Warning>,
}

/// Read one namespace: its tables, kept, joined and annotated; filtered when `filter_now`
/// (the filter needs no owners). `before_rows` sees the sockets kept, before they are rows.
fn read_one<'a>(
    req: &Request,
    src: &'a dyn SocketSource,
    procs: &dyn ProcessSource,
    reg: &Registry,
    base: &Filter,
    filter_now: bool,
    before_rows: &mut dyn FnMut(&[Socket]),
) -> Result<Read<'a>> {
    // The kernel may leave out sockets on other local ports than the filter's: none of them
    // could be shown, and the listener set, which the read gives when it holds the
    // listeners, is asked only about the shown sockets' own ports.
    let narrowed = Query {
        local_ports: LocalPorts {
            tcp: base.local_ports(Proto::Tcp),
            udp: base.local_ports(Proto::Udp),
        },
        ..req.query.clone()
    };
    // The listener set needs a read of its own when the query does not hold the listeners:
    // it runs beside the main read (a core is usually free while the kernel fills a dump).
    let (read, listening) = if holds_listeners(&req.query) {
        let read = src.read_sockets(&narrowed)?;
        let listening = listening_set(src, &req.query, &read.sockets);
        (Ok(read), listening)
    } else {
        std::thread::scope(|s| {
            let side = std::thread::Builder::new()
                .spawn_scoped(s, || listening_set(src, &req.query, &[]))
                .ok();
            let read = src.read_sockets(&narrowed);
            let listening = side
                .and_then(|h| h.join().ok())
                .unwrap_or_else(|| listening_set(src, &req.query, &[]));
            (read, listening)
        })
    };
    let Snapshot {
        mut sockets,
        warnings,
    } = read?;
    // Backends may return more than asked (raw ignores the kernel state filter; netstat2
    // reads everything); UNKNOWN-state rows are netstat2's UDP, kept as the backend decided.
    sockets
        .retain(|s| (req.query.states.contains(s.state) || s.state.0 == 0) && req.family.keeps(s));
    join::attach_unix_peers(&mut sockets);
    before_rows(&sockets);
    let mut rows = into_rows(sockets);
    if let Some(ns) = src.netns().map(Arc::new) {
        for r in &mut rows {
            r.netns = Some(Arc::clone(&ns));
        }
    }
    let ephemeral = src.ephemeral_range();
    let mut filter = base.clone();
    if filter.needs_ephemeral_range() {
        filter.set_ephemeral_range(ephemeral);
    }
    let mut part = Part {
        src,
        filter,
        ephemeral,
        listening,
        cache: AnnotationCache::new(),
    };
    part.annotate(&mut rows, reg, false);
    if part.filter.needs_users() || req.user_names {
        join::attach_users(&mut rows, |uid| procs.user_name(uid));
    }
    if filter_now {
        rows.retain(|r| part.filter.matches(r));
    }
    Ok(Read {
        part,
        rows,
        warnings,
    })
}

/// Read every namespace, in parallel when there are several (a foreign namespace's read
/// waits on a thread inside it; ours runs here meanwhile). Results keep the sources' order.
/// `before_rows` sees the sockets of a single namespace before they become rows (not called
/// when there are several).
pub(super) fn read_all<'a>(
    req: &Request,
    sources: &[&'a dyn SocketSource],
    procs: &dyn ProcessSource,
    reg: &Registry,
    base: &Filter,
    filter_now: bool,
    before_rows: &mut dyn FnMut(&[Socket]),
) -> Result<Vec<Read<'a>>> {
    if sources.len() == 1 {
        return sources
            .iter()
            .map(|s| read_one(req, *s, procs, reg, base, filter_now, &mut *before_rows))
            .collect();
    }
    let slots: Vec<Mutex<Option<Result<Read<'a>>>>> =
        sources.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let cores = crate::platform::cores();
    std::thread::scope(|s| {
        for _ in 0..cores.min(sources.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(src) = sources.get(i) else { return };
                let r = read_one(req, *src, procs, reg, base, filter_now, &mut |_| {});
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(crate::error::Error::System(
                    "a namespace read failed".into(),
                ))
            })
        })
        .collect()
}

/// The rows of every part in one vector, in the parts' order; `ends[i]` is where part i's
/// rows end. One part costs nothing: its vector is taken as it is.
pub(super) struct Flat<'a> {
    pub rows: Vec<Row>,
    parts: Vec<Part<'a>>,
    ends: Vec<usize>,
}

impl<'a> Flat<'a> {
    /// The parts' rows joined, and their warnings in order.
    pub fn join(read: Vec<Read<'a>>) -> (Flat<'a>, Vec<Warning>) {
        let mut flat = Flat {
            rows: Vec::new(),
            parts: Vec::with_capacity(read.len()),
            ends: Vec::with_capacity(read.len()),
        };
        let mut warnings = Vec::new();
        for Read {
            part,
            mut rows,
            warnings: mut w,
        } in read
        {
            if flat.rows.is_empty() {
                flat.rows = rows;
            } else {
                flat.rows.append(&mut rows);
            }
            flat.parts.push(part);
            flat.ends.push(flat.rows.len());
            warnings.append(&mut w);
        }
        (flat, warnings)
    }

    /// Keep the rows `keep` accepts, told which part each is in.
    pub fn retain(&mut self, keep: impl Fn(&Part<'a>, &Row) -> bool) {
        let mut kept = vec![0usize; self.parts.len()];
        let (mut index, mut part) = (0usize, 0usize);
        let (ends, parts) = (&self.ends, &self.parts);
        self.rows.retain(|r| {
            while index >= ends[part] {
                part += 1;
            }
            index += 1;
            let k = keep(&parts[part], r);
            kept[part] += usize::from(k);
            k
        });
        let mut end = 0;
        for (e, k) in self.ends.iter_mut().zip(kept) {
            end += k;
            *e = end;
        }
    }

    /// Run `f` on each part with its rows.
    pub fn each_part(&mut self, mut f: impl FnMut(&mut Part<'a>, &mut [Row])) {
        let mut start = 0;
        for (part, &end) in self.parts.iter_mut().zip(&self.ends) {
            f(part, &mut self.rows[start..end]);
            start = end;
        }
    }
}
