//! The two ways a delta read (`delta.rs`) learns which TCP sockets are new, changed or gone
//! since the last read: a glimpse of every socket compared with what the last read knew
//! (`glimpsed`), or the kernel's state changes since the last read (`fed`), with a dump of
//! the few kinds of socket whose moves the kernel does not report.

use super::delta::{Delta, Known};
use crate::error::Result;
use crate::model::{
    Family, Fingerprint, Glimpse, LocalPorts, OptU32, Proto, Query, Socket, State, StateSet,
    Warning,
};
use crate::platform::SocketSource;
use crate::timeline::{Compare, Key, Reading};
use std::collections::HashSet;
use std::num::NonZeroU64;

/// What a read found to do.
#[derive(Default)]
pub(super) struct Found {
    /// Sockets to read by identity: new, or changed since the last read.
    pub fetch: Vec<Glimpse>,
    /// Sockets a dump read in full that are new or changed.
    pub full: Vec<Socket>,
    /// Shown sockets gone since the last read.
    pub gone: Vec<NonZeroU64>,
    /// Every TCP listener's port now.
    pub listening: HashSet<(Proto, u16)>,
    pub warnings: Vec<Warning>,
}

/// The states whose moves the state feed cannot report, read by a dump on every fed read:
/// a connect's SYN-SENT can come before its port is chosen (no identity to read it by);
/// request sockets (SYN-RECV) and TIME-WAIT sockets (also FIN-WAIT-2 ones that timed out
/// of a full socket) are minisockets, born and gone without a state change; and a socket
/// only bound (CLOSE, UNCONN with -a) leaves when its file closes.
const DUMPED: StateSet = StateSet(
    (1 << State::SYN_SENT.0)
        | (1 << State::SYN_RECV.0)
        | (1 << State::TIME_WAIT.0)
        | (1 << State::FIN_WAIT2.0)
        | (1 << State::CLOSE.0),
);

/// A connection not yet accepted: it gains a file (an inode, an owner) without a move.
pub(super) fn awaiting_accept(s: &Socket) -> bool {
    s.inode == 0 && matches!(s.state, State::ESTABLISHED | State::CLOSE_WAIT)
}

/// A socket read in full as the glimpse of it a fetch by identity needs.
pub(super) fn glimpse_of(s: &Socket) -> Option<Glimpse> {
    let end = |e: &Option<crate::model::Endpoint>| match e {
        Some(crate::model::Endpoint::Inet { addr, port }) => {
            // Requests carry an IPv6 socket's ends as IPv6, v4-mapped ones included.
            let addr = match (s.family, addr) {
                (Family::Ipv6, std::net::IpAddr::V4(a)) => a.to_ipv6_mapped().into(),
                _ => *addr,
            };
            Some((addr, *port))
        }
        _ => None,
    };
    Some(Glimpse {
        cookie: s.cookie?,
        state: s.state,
        family: s.family,
        local: end(&s.local)?,
        remote: end(&s.remote)?,
        iface: s.iface.get().unwrap_or(0),
        held: s.inode != 0,
        recv_q: s.recv_q.get().unwrap_or(0),
        send_q: s.send_q.get().unwrap_or(0),
    })
}

impl Delta {
    /// Glimpse every TCP socket and compare each with what the last read knew.
    pub(super) fn glimpsed(
        &mut self,
        q: &Query,
        cmp: Compare,
        sockets: &dyn SocketSource,
        now: &mut Reading,
        gen: u64,
    ) -> Result<Found> {
        let mut glimpses = std::mem::take(&mut self.glimpses);
        let got = self.glimpser.glimpse(&mut glimpses);
        if let Err(e) = got {
            self.glimpses = glimpses;
            return Err(e);
        }
        self.listeners.clear();
        self.listeners.extend(
            glimpses
                .iter()
                .filter(|g| g.state == State::LISTEN)
                .map(|g| (g.cookie.get(), g.local.1)),
        );
        // Compare each glimpse with what the last read knew. A socket the table walk met
        // twice (it moved meanwhile) is asked for once.
        let mut found = Found::default();
        let mut asked: HashSet<u64> = HashSet::new();
        for g in glimpses
            .iter()
            .filter(|g| selected(q, g.family, Some(g.state)))
        {
            let c = g.cookie.get();
            match self.known.get_mut(&c) {
                Some(k) if k.seen == gen => {}
                Some(k) => {
                    k.seen = gen;
                    let queues = (g.recv_q, g.send_q);
                    if k.fp != g.fingerprint(cmp.queues) {
                        found.fetch.push(g.clone());
                    } else if k.shown && k.queues != queues && !self.feeding {
                        k.queues = queues;
                        if let Some(r) = now.get_mut(&Key::Cookie(g.cookie)) {
                            r.sock.recv_q = OptU32::some(g.recv_q);
                            r.sock.send_q = OptU32::some(g.send_q);
                        }
                    }
                }
                None if asked.insert(c) => found.fetch.push(g.clone()),
                None => {}
            }
        }
        self.glimpses = glimpses;
        // TCP sockets bound and not listening (shown as UNCONN with -a) sit in the bind
        // hash only, which the TCP iterator does not walk: the kernel's dump of them alone
        // walks that hash only, and gives full records.
        if q.states.contains(State::CLOSE) {
            let snap = dump(q, sockets, StateSet(State::BOUND_INACTIVE.bit()))?;
            found.warnings = snap.1;
            self.take_dumped(snap.0, &HashSet::new(), &mut asked, cmp, gen, &mut found);
        }
        found.gone = self.leave(gen, |_| true);
        found.listening = self.listening_now();
        Ok(found)
    }

    /// The state changes since the last read, and a dump of the states they cannot cover.
    /// `None` when changes were lost (the ring was full): the caller glimpses instead.
    pub(super) fn fed(
        &mut self,
        q: &Query,
        cmp: Compare,
        sockets: &dyn SocketSource,
        now: &Reading,
        gen: u64,
    ) -> Result<Option<Found>> {
        // The dump before the drain: a socket that moves after the dump read it has its
        // move in the drain, so a socket the dump misses was either gone or moved.
        let mut states = StateSet(q.states.0 & DUMPED.0 & !(1 << State::CLOSE.0));
        if q.states.contains(State::CLOSE) {
            states.0 |= State::BOUND_INACTIVE.bit();
        }
        let (dumped, warnings) = if states.0 == 0 {
            (Vec::new(), Vec::new())
        } else {
            dump(q, sockets, states)?
        };
        let mut changes = std::mem::take(&mut self.changes);
        changes.clear();
        let lost = self.glimpser.changes(&mut changes);
        let lost = match lost {
            Ok(n) => n,
            Err(e) => {
                self.changes = changes;
                return Err(e);
            }
        };
        if lost > 0 {
            self.changes = changes;
            self.feed_note = Some(match self.glimpser.grow_feed() {
                Ok(Some(b)) => format!(
                    "{lost} state changes lost: the ring grows to {} KiB",
                    b >> 10
                ),
                Ok(None) => format!("{lost} state changes lost (the ring grows no larger)"),
                Err(e) => format!("{lost} state changes lost; a larger ring failed: {e}"),
            });
            return Ok(None);
        }
        let mut found = Found {
            warnings,
            ..Found::default()
        };
        // The last move of each socket gives the identity to read it by.
        let mut last: crate::model::U64Map<usize> = Default::default();
        for (i, ch) in changes.iter().enumerate() {
            last.insert(ch.now.cookie.get(), i);
        }
        let mut asked: HashSet<u64> = HashSet::new();
        for (i, ch) in changes.iter().enumerate() {
            let c = ch.now.cookie.get();
            if last.get(&c) != Some(&i) {
                continue;
            }
            if ch.now.state == State::LISTEN {
                self.listeners.insert(c, ch.now.local.1);
            } else {
                self.listeners.remove(&c);
            }
            if !selected(q, ch.now.family, None) {
                continue;
            }
            let mut id = ch.now.clone();
            if id.local.1 == 0 {
                // No port to read it by: the kernel releases an unbound socket's port before
                // it reports the move to CLOSE, and a connect reports SYN-SENT before its
                // port is chosen. A shown socket is read by its row's ends (it may live on
                // as a TIME-WAIT socket); one not shown is forgotten, and one unknown is
                // left to the dump or its next move.
                let row = now.get(&Key::Cookie(ch.now.cookie));
                match row.and_then(|r| glimpse_of(&r.sock)) {
                    Some(g) if self.known.get(&c).is_some_and(|k| k.shown) => {
                        id = Glimpse {
                            state: ch.now.state,
                            ..g
                        };
                    }
                    _ => {
                        self.known.remove(&c);
                        continue;
                    }
                }
            }
            let known = self.known.get_mut(&c);
            let wanted = known.is_some() || q.states.contains(id.state);
            if let Some(k) = known {
                k.seen = gen;
            }
            if wanted && asked.insert(c) {
                found.fetch.push(id);
            }
        }
        self.changes = changes;
        // Only what is read by identity: a move without a port to read it by (a connect
        // stuck before its port) is the dump's to report.
        let moved: HashSet<u64> = asked.clone();
        self.take_dumped(dumped, &moved, &mut asked, cmp, gen, &mut found);
        // Connections waiting to be accepted gain a file without a move: asked each read.
        for (c, g) in &self.unheld {
            if let Some(k) = self.known.get_mut(c) {
                if asked.insert(*c) {
                    k.seen = gen;
                    found.fetch.push(g.clone());
                }
            }
        }
        // What the dump alone can tell of: gone when neither it nor a move saw them.
        found.gone = self.leave(gen, |k| DUMPED.contains(k.fp.state()));
        found.listening = self.listening_now();
        Ok(Some(found))
    }

    /// Sockets a dump read in full: the new and changed go on, the rest are seen. Those
    /// in `moved` are read by identity anyway (later than the dump).
    fn take_dumped(
        &mut self,
        dumped: Vec<Socket>,
        moved: &HashSet<u64>,
        asked: &mut HashSet<u64>,
        cmp: Compare,
        gen: u64,
        found: &mut Found,
    ) {
        for s in dumped {
            let Some(c) = s.cookie.filter(|_| s.proto == Proto::Tcp) else {
                continue;
            };
            if moved.contains(&c.get()) {
                continue;
            }
            match self.known.get_mut(&c.get()) {
                Some(k) if k.seen == gen => {}
                Some(k) if k.fp == Fingerprint::of(&s, cmp.queues) => k.seen = gen,
                Some(k) => {
                    k.seen = gen;
                    found.full.push(s);
                }
                None if asked.insert(c.get()) => found.full.push(s),
                None => {}
            }
        }
    }

    /// Forget the sockets not seen this read that `may_leave` says could have gone
    /// unseen; the shown ones' cookies, for their rows to close.
    fn leave(&mut self, gen: u64, may_leave: impl Fn(&Known) -> bool) -> Vec<NonZeroU64> {
        let mut gone = Vec::new();
        self.known.retain(|&c, k| {
            let left = k.seen != gen && may_leave(k);
            if left && k.shown {
                gone.extend(NonZeroU64::new(c));
            }
            !left
        });
        gone
    }

    pub(super) fn listening_now(&self) -> HashSet<(Proto, u16)> {
        self.listeners.values().map(|p| (Proto::Tcp, *p)).collect()
    }
}

/// A dump of `states` of the tables `q` reads, whatever ports its filter names.
fn dump(
    q: &Query,
    sockets: &dyn SocketSource,
    states: StateSet,
) -> Result<(Vec<Socket>, Vec<Warning>)> {
    let dq = Query {
        states,
        local_ports: LocalPorts::default(),
        ..q.clone()
    };
    let snap = sockets.read_sockets(&dq)?;
    Ok((snap.sockets, snap.warnings))
}

/// Whether the query reads a socket of this family and state.
pub(super) fn selected(q: &Query, family: Family, state: Option<State>) -> bool {
    let family = match family {
        Family::Ipv4 => q.ipv4,
        Family::Ipv6 => q.ipv6,
        Family::Unix => false,
    };
    family && state.is_none_or(|s| q.states.contains(s))
}
