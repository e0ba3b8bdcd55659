//! Glimpsed reads: a watch read that dumps only what changed. Between two reads a second
//! apart most sockets are the same; dumping, parsing, joining and annotating all of them
//! again is most of a read's cost. Instead every TCP socket is glimpsed (cookie, ends,
//! state, queues, whether a file holds it: `platform::Glimpser`), compared with what the
//! last read left, and only the new and changed ones are read in full (by identity) and go
//! through the listing pipeline; the rows of the others are kept, their queues updated.
//! Closed sockets are the cookies no longer glimpsed. Owners come from the tracker, which
//! says whose holders moved; those rows go through the pipeline again too.
//!
//! It applies to a TCP-only watch without extras (`eligible`); a read that starts over (the
//! first, or after a new filter) is a full one, recorded (`Recording`) so that the next can
//! compare with it.

use super::shared::Shared;
use super::sources::{Handed, Recording};
use crate::error::Result;
use crate::model::{
    Detail, Family, Fingerprint, Glimpse, InodeSet, LocalPorts, Owners, Proto, Query, Row, Socket,
    State, StateSet, U64Map, U64Set, Warning,
};
use crate::pipeline::{self, Request};
use crate::platform::{Glimpser, SocketSource, TrackedOwners};
use crate::registry::Registry;
use crate::timeline::{differs, in_order, Compare, Event, Key, Reading};
use std::collections::HashSet;
use std::num::NonZeroU64;
use std::sync::Mutex;

/// Why a watch with `req` reads in full every time; `Ok` when it can glimpse.
pub(super) fn eligible(req: &Request) -> std::result::Result<(), &'static str> {
    let q = &req.query;
    if !q.tcp || q.udp || q.unix || q.raw {
        return Err("only a TCP-only watch (-t) is glimpsed");
    }
    if q.detail != Detail::default() {
        return Err("-i, -m, -o and -e values change on every read: they are read in full");
    }
    if q.states.0 & !StateSet::LISTENING.0 == 0 {
        return Err("a listener watch reads only the listening table: in full, as cheaply");
    }
    if req.filter.needs_owners() || req.filter.needs_attribution() {
        return Err("a filter on processes, users' holders or containers is read in full");
    }
    Ok(())
}

/// A socket read in full: what `Known` takes from it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Recorded {
    cookie: u64,
    fp: Fingerprint,
    queues: (u32, u32),
    inode: u64,
}

impl Recorded {
    pub(super) fn of(s: &Socket, cmp_queues: bool) -> Option<Recorded> {
        Some(Recorded {
            cookie: s.cookie?.get(),
            fp: Fingerprint::of(s, cmp_queues),
            queues: queues(s),
            inode: s.inode,
        })
    }
}

/// What the last read knew of a socket, shown or not.
#[derive(Debug, Clone, Copy)]
struct Known {
    fp: Fingerprint,
    /// The queues its row shows (updated from each glimpse without an event).
    queues: (u32, u32),
    inode: u64,
    /// It has a row in the reading (the filter kept it).
    shown: bool,
    /// The read that last glimpsed it.
    seen: u64,
}

type CookieMap<V> = U64Map<V>;
type CookieSet = U64Set;

/// The glimpser and what the last read knew.
pub(super) struct Delta {
    glimpser: Glimpser,
    known: CookieMap<Known>,
    glimpses: Vec<Glimpse>,
    /// Reads done (the generation in `Known::seen`).
    reads: u64,
    /// The last read's listener ports (their change re-annotates the rows on them).
    listening: HashSet<(Proto, u16)>,
    /// One copy of what rows share, across reads (`shared.rs`).
    shared: Shared,
    /// The uids of every socket read in full since the start: the owner scan of a socket
    /// still without a holder reads their processes first (`Wanted::Family`).
    uids: HashSet<u32>,
}

/// What a glimpsed read found.
pub(super) struct DeltaRead {
    /// Closed first, then opened and changed, each in the listing's order.
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    /// The destroyed sockets neither this read nor the last one saw.
    pub unseen: Vec<Socket>,
}

impl Delta {
    pub fn new(glimpser: Glimpser) -> Delta {
        Delta {
            glimpser,
            known: CookieMap::default(),
            glimpses: Vec::new(),
            reads: 0,
            listening: HashSet::new(),
            uids: HashSet::new(),
            shared: Shared::default(),
        }
    }

    /// The glimpser back, for when the request no longer allows glimpses.
    pub fn into_glimpser(self) -> Glimpser {
        self.glimpser
    }

    /// Whether a read was recorded to compare with.
    pub fn primed(&self) -> bool {
        self.reads > 0
    }

    /// Take in a full read made through `rec`, whose rows are `now`.
    pub fn seed(&mut self, rec: Recording<'_>, now: &Reading) {
        self.reads += 1;
        let seen = self.reads;
        self.known.clear();
        for r in rec.seen.into_inner().unwrap_or_default() {
            let shown = NonZeroU64::new(r.cookie).is_some_and(|c| now.contains(&Key::Cookie(c)));
            self.known.insert(
                r.cookie,
                Known {
                    fp: r.fp,
                    queues: r.queues,
                    inode: r.inode,
                    shown,
                    seen,
                },
            );
        }
        self.listening = rec.listening.into_inner().unwrap_or_default();
        self.uids = now.rows().iter().filter_map(|r| r.sock.uid).collect();
    }

    /// One read: glimpse, read in full what is new or changed, update `now` in place.
    #[allow(clippy::too_many_arguments)]
    pub fn read(
        &mut self,
        req: &Request,
        cmp: Compare,
        sockets: &dyn SocketSource,
        owners: &TrackedOwners,
        reg: &Registry,
        now: &mut Reading,
        destroyed: &[Socket],
    ) -> Result<DeltaRead> {
        self.reads += 1;
        let gen = self.reads;
        let mut glimpses = std::mem::take(&mut self.glimpses);
        let got = self.glimpser.glimpse(&mut glimpses);
        if let Err(e) = got {
            self.glimpses = glimpses;
            return Err(e);
        }
        let q = &req.query;
        // Destroyed sockets the last read knew (shown or filtered out); the rest, unless this
        // read comes to know them, opened and closed in between.
        let knew: HashSet<u64> = destroyed
            .iter()
            .filter_map(|s| s.cookie)
            .map(|c| c.get())
            .filter(|c| self.known.contains_key(c))
            .collect();
        let listening: HashSet<(Proto, u16)> = glimpses
            .iter()
            .filter(|g| g.state == State::LISTEN)
            .map(|g| (Proto::Tcp, g.local.1))
            .collect();

        // Compare each glimpse with what the last read knew. A socket the table walk met
        // twice (it moved meanwhile) is asked for once.
        let mut fetch: Vec<Glimpse> = Vec::new();
        let mut asked: HashSet<u64> = HashSet::new();
        for g in glimpses.iter().filter(|g| selected(q, g)) {
            let c = g.cookie.get();
            match self.known.get_mut(&c) {
                Some(k) if k.seen == gen => {}
                Some(k) => {
                    k.seen = gen;
                    let queues = (g.recv_q, g.send_q);
                    if k.fp != g.fingerprint(cmp.queues) {
                        fetch.push(g.clone());
                    } else if k.shown && k.queues != queues {
                        k.queues = queues;
                        if let Some(r) = now.get_mut(&Key::Cookie(g.cookie)) {
                            r.sock.recv_q = Some(g.recv_q);
                            r.sock.send_q = Some(g.send_q);
                        }
                    }
                }
                None if asked.insert(c) => fetch.push(g.clone()),
                None => {}
            }
        }
        self.glimpses = glimpses;
        // TCP sockets bound and not listening (shown as UNCONN with -a) sit in the bind
        // hash only, which the TCP iterator does not walk: the kernel's dump of them alone
        // walks that hash only, and gives full records.
        let mut bound: Vec<Socket> = Vec::new();
        let mut warnings = Vec::new();
        if q.states.contains(State::CLOSE) {
            let bq = Query {
                states: StateSet(State::BOUND_INACTIVE.bit()),
                local_ports: LocalPorts::default(),
                ..q.clone()
            };
            let snap = sockets.read_sockets(&bq)?;
            warnings = snap.warnings;
            for s in snap.sockets {
                let Some(c) = s.cookie.filter(|_| s.proto == Proto::Tcp) else {
                    continue;
                };
                match self.known.get_mut(&c.get()) {
                    Some(k) if k.seen == gen => {}
                    Some(k) if k.fp == Fingerprint::of(&s, cmp.queues) => k.seen = gen,
                    Some(k) => {
                        k.seen = gen;
                        bound.push(s);
                    }
                    None if asked.insert(c.get()) => bound.push(s),
                    None => {}
                }
            }
        }

        // Gone since the last read. Their rows leave `now` only once nothing more can fail:
        // a read that fails leaves the reading as it was, for a full read to compare with.
        let mut gone: Vec<NonZeroU64> = Vec::new();
        self.known.retain(|&c, k| {
            let left = k.seen != gen;
            if left && k.shown {
                gone.extend(NonZeroU64::new(c));
            }
            !left
        });

        let mut fetched = self.glimpser.fetch(&fetch, q.detail)?;
        fetched.extend(bound);
        let got: HashSet<u64> = fetched
            .iter()
            .filter_map(|s| s.cookie)
            .map(|c| c.get())
            .collect();
        // Asked for and not there: closed between the glimpse and the fetch.
        for g in &fetch {
            let c = g.cookie.get();
            if got.contains(&c) {
                continue;
            }
            if self.known.remove(&c).is_some_and(|k| k.shown) {
                gone.push(g.cookie);
            }
        }

        // Rows to go through the pipeline again besides the fetched ones: those whose
        // holders moved, and those on a port that gained or lost a listener.
        let mut again: Vec<Socket> = Vec::new();
        let mut redo: HashSet<u64> = HashSet::new();
        if req.scans_owners() {
            let wanted: InodeSet = self
                .known
                .values()
                .map(|k| k.inode)
                .chain(fetched.iter().map(|s| s.inode))
                .filter(|&i| i != 0)
                .collect();
            let fresh: InodeSet = fetched
                .iter()
                .map(|s| s.inode)
                .filter(|&i| i != 0)
                .collect();
            // As the pipeline's scan: the holders of sockets still without one are looked
            // for among the processes of the sockets' users first (early stop).
            self.uids.extend(fetched.iter().filter_map(|s| s.uid));
            let uids = (!req.all_owners).then_some(&self.uids);
            let moved: CookieSet = owners.refresh(&wanted, &fresh, uids).into_iter().collect();
            if !moved.is_empty() {
                redo.extend(
                    self.known
                        .iter()
                        .filter(|(c, k)| k.shown && moved.contains(&k.inode) && !got.contains(c))
                        .map(|(c, _)| *c),
                );
            }
        }
        let ports: HashSet<u16> = listening
            .symmetric_difference(&self.listening)
            .map(|(_, p)| *p)
            .collect();
        if !ports.is_empty() {
            redo.extend(
                now.rows()
                    .iter()
                    .filter(|r| local_port(&r.sock).is_some_and(|p| ports.contains(&p)))
                    .filter_map(|r| r.sock.cookie)
                    .map(|c| c.get())
                    // Still there (a row of a socket gone since leaves below) and not read
                    // anew already.
                    .filter(|c| self.known.contains_key(c) && !got.contains(c)),
            );
        }
        for c in &redo {
            if let Some(r) = NonZeroU64::new(*c).and_then(|c| now.get(&Key::Cookie(c))) {
                again.push(r.sock.clone());
            }
        }

        let mut inputs = fetched;
        inputs.extend(again);
        let cookies: Vec<Recorded> = inputs
            .iter()
            .filter_map(|s| Recorded::of(s, cmp.queues))
            .collect();
        let listing = if inputs.is_empty() {
            pipeline::Listing::default()
        } else {
            let handed = Handed {
                inner: sockets,
                sockets: Mutex::new(Some(inputs)),
                listening: listening.clone(),
            };
            let listing = pipeline::run(req, &handed, owners, reg);
            owners.unprime();
            listing?
        };
        self.listening = listening;
        let mut closed: Vec<Event> = gone
            .into_iter()
            .filter_map(|c| now.remove(&Key::Cookie(c)))
            .map(Event::closed)
            .collect();

        let mut rows: CookieMap<Row> = CookieMap::default();
        for mut r in listing.rows {
            // A row holds a window into its read's table of owners, which lives as long as
            // any row kept from that read: a table per read would pile up for as long as
            // the longest-lived connection of each read. Kept rows own their few owners.
            r.owners = r.owners.map(|o| Owners::from(o.to_vec()));
            self.shared.intern(&mut r);
            if let Some(c) = r.sock.cookie {
                rows.insert(c.get(), r);
            }
        }
        let mut later: Vec<Event> = Vec::new();
        let mut done: HashSet<u64> = HashSet::new();
        for Recorded {
            cookie: c,
            fp,
            queues,
            inode,
        } in cookies
        {
            let Some(cookie) = NonZeroU64::new(c).filter(|_| done.insert(c)) else {
                continue;
            };
            let key = Key::Cookie(cookie);
            let row = rows.remove(&c);
            let shown = row.is_some();
            match (now.remove(&key), row) {
                (None, Some(r)) => {
                    later.push(Event::opened(r.clone()));
                    now.insert(r);
                }
                (Some(before), None) => closed.push(Event::closed(before)),
                (Some(before), Some(r)) => {
                    if differs(&before, &r, cmp) {
                        later.push(Event::changed(before, r.clone()));
                    }
                    now.insert(r);
                }
                (None, None) => {}
            }
            self.known.insert(
                c,
                Known {
                    fp,
                    queues,
                    inode,
                    shown,
                    seen: gen,
                },
            );
        }
        self.shared.purge();
        let unseen = destroyed
            .iter()
            .filter(|s| {
                s.cookie
                    .is_none_or(|c| !knew.contains(&c.get()) && !self.known.contains_key(&c.get()))
            })
            .cloned()
            .collect();
        warnings.extend(listing.warnings);
        Ok(DeltaRead {
            events: in_order(closed, later),
            warnings,
            unseen,
        })
    }
}

/// A socket's queues as a glimpse gives them (unknown: 0).
fn queues(s: &Socket) -> (u32, u32) {
    (s.recv_q.unwrap_or(0), s.send_q.unwrap_or(0))
}

pub(super) fn local_port(s: &Socket) -> Option<u16> {
    s.local.as_ref().and_then(|e| e.port())
}

/// Whether the query reads `g`'s table and state (as a dump for `q` would list it).
fn selected(q: &Query, g: &Glimpse) -> bool {
    let family = match g.family {
        Family::Ipv4 => q.ipv4,
        Family::Ipv6 => q.ipv6,
        Family::Unix => false,
    };
    family && q.states.contains(g.state)
}
