//! Glimpsed reads: a watch read that dumps only what changed. Between two reads a second
//! apart most sockets are the same; dumping, parsing, joining and annotating all of them
//! again is most of a read's cost. Instead every TCP socket is glimpsed (cookie, ends,
//! state, queues, whether a file holds it: `platform::Glimpser`), compared with what the
//! last read left, and only the new and changed ones are read in full (by identity) and go
//! through the listing pipeline; the rows of the others are kept, their queues updated.
//! Closed sockets are the cookies no longer glimpsed. Owners come from the tracker, which
//! says whose holders moved; those rows go through the pipeline again too.
//!
//! A watch that streams events and does not watch queues need not glimpse at all: the
//! kernel reports every move of a full TCP socket from one state to another (the state feed,
//! `Glimpser::follow`), so such a read takes the moves since the last one and dumps only
//! the states no move reports (`collect.rs`). Changes lost to a full ring cost one glimpsed
//! read.
//!
//! It applies to a TCP-only watch without extras (`eligible`); a read that starts over (the
//! first, or after a new filter) is a full one, recorded (`Recording`) so that the next can
//! compare with it.

use super::collect::{awaiting_accept, glimpse_of, selected, Found};
use super::shared::Shared;
use super::sources::{Handed, Recording};
use crate::error::Result;
use crate::model::{
    Detail, Fingerprint, Glimpse, InodeSet, OptU32, Proto, Row, Socket, StateChange, StateSet,
    U64Map, U64Set, Warning,
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
pub(super) struct Known {
    pub fp: Fingerprint,
    /// The queues its row shows (updated from each glimpse without an event).
    pub queues: (u32, u32),
    pub inode: u64,
    /// It has a row in the reading (the filter kept it).
    pub shown: bool,
    /// The read that last saw it (glimpsed, moved, dumped or read in full).
    pub seen: u64,
}

type CookieMap<V> = U64Map<V>;

/// Reads between two compactions of the kept rows' owners (`Reading::compact_owners`): at
/// most this many small tables are held besides the one they are put into.
const COMPACT_EVERY: u64 = 16;
type CookieSet = U64Set;

/// The glimpser and what the last read knew.
pub(super) struct Delta {
    pub(super) glimpser: Glimpser,
    pub(super) known: CookieMap<Known>,
    pub(super) glimpses: Vec<Glimpse>,
    pub(super) changes: Vec<StateChange>,
    /// Reads take the state feed's changes (`Delta::follow`) rather than glimpse.
    pub(super) feeding: bool,
    /// Fed reads that glimpsed instead because changes were lost.
    pub(super) resyncs: u64,
    /// What the last lost changes did to the ring (PORTWATCH_DEBUG).
    pub(super) feed_note: Option<String>,
    /// Reads done (the generation in `Known::seen`).
    reads: u64,
    /// Every TCP listener now: cookie and port.
    pub(super) listeners: CookieMap<u16>,
    /// Known connections not yet accepted, as their fetches need them.
    pub(super) unheld: CookieMap<Glimpse>,
    /// The last read's listener ports (their change re-annotates the rows on them).
    listening: HashSet<(Proto, u16)>,
    /// One copy of what rows share, across reads (`shared.rs`).
    shared: Shared,
    /// The uids of every socket read in full since the start: the owner scan of a socket
    /// still without a holder reads their processes first (`Wanted::Family`).
    uids: HashSet<u32>,
}

/// What a read goes by: the request, how rows compare, and the host's parts.
pub(super) struct ReadWith<'a> {
    pub req: &'a Request,
    pub cmp: Compare,
    pub sockets: &'a dyn SocketSource,
    pub owners: &'a TrackedOwners,
    pub reg: &'a Registry,
}

/// What a glimpsed read found.
pub(super) struct DeltaRead {
    /// Closed first, then opened and changed, each in the listing's order.
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    /// The destroyed sockets neither this read nor the last one saw.
    pub unseen: Vec<Socket>,
    /// "fed" or "glimpsed" (`--timings`).
    pub how: &'static str,
}

impl Delta {
    pub fn new(glimpser: Glimpser) -> Delta {
        Delta {
            glimpser,
            known: CookieMap::default(),
            glimpses: Vec::new(),
            changes: Vec::new(),
            feeding: false,
            resyncs: 0,
            feed_note: None,
            reads: 0,
            listeners: CookieMap::default(),
            unheld: CookieMap::default(),
            listening: HashSet::new(),
            uids: HashSet::new(),
            shared: Shared::default(),
        }
    }

    /// The glimpser back, for when the request no longer allows glimpses.
    pub fn into_glimpser(self) -> Glimpser {
        self.glimpser
    }

    /// Take the kernel's state changes rather than glimpse (a watch that streams events
    /// and does not watch queues: the rows it keeps lose their queues), with a first ring
    /// of `ring_bytes` (the default when `None`). Says why not.
    pub fn follow(&mut self, ring_bytes: Option<u32>) -> std::result::Result<(), String> {
        let follow = match ring_bytes {
            Some(b) => self.glimpser.follow_with(b),
            None => self.glimpser.follow(),
        };
        follow.map_err(|e| e.to_string())?;
        self.feeding = true;
        Ok(())
    }

    /// Fed reads that glimpsed because changes were lost (a full ring).
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// What the last loss of changes did to the ring, once.
    pub fn take_feed_note(&mut self) -> Option<String> {
        self.feed_note.take()
    }

    /// Whether a read was recorded to compare with.
    pub fn primed(&self) -> bool {
        self.reads > 0
    }

    /// Take in a full read made through `rec`, whose rows are `now`.
    pub fn seed(&mut self, rec: Recording<'_>, now: &mut Reading) {
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
        self.listeners = rec.listeners.into_inner().unwrap_or_default();
        self.listening = self.listening_now();
        self.unheld = rec.unheld.into_inner().unwrap_or_default();
        self.uids = now.rows().iter().filter_map(|r| r.sock.uid.get()).collect();
        if self.feeding {
            now.forget_queues();
        }
    }

    /// One read: learn what is new, changed or gone (`collect.rs`), read those in full, and
    /// update `now` in place.
    pub fn read(
        &mut self,
        cx: &ReadWith<'_>,
        now: &mut Reading,
        destroyed: &[Socket],
    ) -> Result<DeltaRead> {
        let (req, cmp, sockets) = (cx.req, cx.cmp, cx.sockets);
        self.reads += 1;
        let gen = self.reads;
        let q = &req.query;
        // Destroyed sockets the last read knew (shown or filtered out); the rest, unless this
        // read comes to know them, opened and closed in between.
        let knew: HashSet<u64> = destroyed
            .iter()
            .filter_map(|s| s.cookie)
            .map(|c| c.get())
            .filter(|c| self.known.contains_key(c))
            .collect();
        let mut how = "glimpsed";
        let mut found = None;
        if self.feeding {
            found = self.fed(q, cmp, sockets, now, gen)?;
            match found {
                Some(_) => how = "fed",
                None => self.resyncs += 1,
            }
        }
        let found = match found {
            Some(f) => f,
            None => self.glimpsed(q, cmp, sockets, now, gen)?,
        };
        let (events, warnings) = self.apply(cx, now, found, gen)?;
        let unseen = destroyed
            .iter()
            .filter(|s| {
                s.cookie
                    .is_none_or(|c| !knew.contains(&c.get()) && !self.known.contains_key(&c.get()))
            })
            .cloned()
            .collect();
        Ok(DeltaRead {
            events,
            warnings,
            unseen,
            how,
        })
    }

    /// Read in full what `found` names, run it and the rows it affects through the
    /// pipeline, and turn the differences into events.
    fn apply(
        &mut self,
        cx: &ReadWith<'_>,
        now: &mut Reading,
        found: Found,
        gen: u64,
    ) -> Result<(Vec<Event>, Vec<Warning>)> {
        let (req, cmp, sockets, owners) = (cx.req, cx.cmp, cx.sockets, cx.owners);
        let q = &req.query;
        let Found {
            fetch,
            full,
            mut gone,
            listening,
            mut warnings,
        } = found;
        let mut fetched = self.glimpser.fetch(&fetch, q.detail)?;
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
        // Read and no longer what the query lists (a move out of its states), or read and
        // the same as the last read knew it (a move and back, a connection still waiting
        // to be accepted): the first leave, the second stay as they are.
        fetched.retain(|s| {
            let Some(c) = s.cookie else { return false };
            if !selected(q, s.family, Some(s.state)) {
                if self.known.remove(&c.get()).is_some_and(|k| k.shown) {
                    gone.push(c);
                }
                return false;
            }
            match self.known.get(&c.get()) {
                Some(k) => k.fp != Fingerprint::of(s, cmp.queues),
                None => true,
            }
        });
        fetched.extend(full);
        let got: HashSet<u64> = fetched
            .iter()
            .filter_map(|s| s.cookie)
            .map(|c| c.get())
            .collect();

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
            self.uids.extend(fetched.iter().filter_map(|s| s.uid.get()));
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
        for s in &inputs {
            let Some(c) = s.cookie else { continue };
            match glimpse_of(s).filter(|_| awaiting_accept(s)) {
                Some(g) => self.unheld.insert(c.get(), g),
                None => self.unheld.remove(&c.get()),
            };
        }
        let listing = if inputs.is_empty() {
            pipeline::Listing::default()
        } else {
            let handed = Handed {
                inner: sockets,
                sockets: Mutex::new(Some(inputs)),
                listening: listening.clone(),
            };
            let listing = pipeline::run(req, &handed, owners, cx.reg);
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
                    now.insert(self.kept(r));
                }
                (Some(before), None) => closed.push(Event::closed(before)),
                (Some(before), Some(r)) => {
                    if differs(&before, &r, cmp) {
                        later.push(Event::changed(before, r.clone()));
                    }
                    now.insert(self.kept(r));
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
        // The rows kept from each read hold that read's table of owners (small: the owners
        // of what it read) for as long as any of them lives, so the tables of reads whose
        // last connection has not closed pile up: put them together now and then. (A
        // table of its own for each kept row did not pile up, but cost two allocations a
        // row, and a watch's memory grew for minutes as they replaced the first read's.)
        if gen.is_multiple_of(COMPACT_EVERY) {
            now.compact_owners();
        }
        let known = &self.known;
        self.unheld.retain(|c, _| known.contains_key(c));
        warnings.extend(listing.warnings);
        Ok((in_order(closed, later), warnings))
    }

    /// A row as the reading keeps it: fed reads never read its queues again, so they are
    /// unknown from now on rather than stale.
    fn kept(&self, mut r: Row) -> Row {
        if self.feeding {
            r.sock.recv_q = OptU32::NONE;
            r.sock.send_q = OptU32::NONE;
        }
        r
    }
}

/// A socket's queues as a glimpse gives them (unknown: 0).
fn queues(s: &Socket) -> (u32, u32) {
    (s.recv_q.get().unwrap_or(0), s.send_q.get().unwrap_or(0))
}

pub(super) fn local_port(s: &Socket) -> Option<u16> {
    s.local.as_ref().and_then(|e| e.port())
}
