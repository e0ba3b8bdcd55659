//! The sources a glimpsed watch reads through (`delta.rs`): one that hands the pipeline the
//! sockets a glimpsed read fetched, and one that records a full read for the next to compare
//! with. Both are the host's for the rest (ephemeral range, interfaces, namespace).

use super::collect::{awaiting_accept, glimpse_of};
use super::delta::{local_port, Recorded};
use crate::error::Result;
use crate::model::{
    Glimpse, LocalPorts, Netns, Proto, Query, Snapshot, Socket, State, StateSet, U64Map,
};
use crate::pipeline::Request;
use crate::platform::SocketSource;
use crate::timeline::Compare;
use std::collections::HashSet;
use std::sync::Mutex;

/// The `SocketSource` methods both take from the host as they are.
macro_rules! from_host {
    () => {
        fn ephemeral_range(&self) -> Option<(u16, u16)> {
            self.inner.ephemeral_range()
        }

        fn iface_name(&self, index: u32) -> Option<String> {
            self.inner.iface_name(index)
        }

        fn netns(&self) -> Option<Netns> {
            self.inner.netns()
        }
    };
}

/// A source that hands out the sockets a glimpsed read fetched, and knows the listeners
/// from the glimpse; the rest (ephemeral range, interfaces, namespace) is the host's.
pub(super) struct Handed<'a> {
    pub inner: &'a dyn SocketSource,
    pub sockets: Mutex<Option<Vec<Socket>>>,
    pub listening: HashSet<(Proto, u16)>,
}

impl SocketSource for Handed<'_> {
    fn read_sockets(&self, _q: &Query) -> Result<Snapshot> {
        let sockets = self
            .sockets
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_default();
        Ok(Snapshot {
            sockets,
            warnings: Vec::new(),
        })
    }

    from_host!();

    fn listening(&self) -> Option<HashSet<(Proto, u16)>> {
        Some(self.listening.clone())
    }
}

/// The host's source for a full read that a glimpsed one will compare with: it reads the
/// whole tables the query names (not only the filter's ports) and records the fingerprint
/// of every TCP socket in them, shown or not.
pub(super) struct Recording<'a> {
    inner: &'a dyn SocketSource,
    queues: bool,
    states: StateSet,
    pub(super) seen: Mutex<Vec<Recorded>>,
    /// Every TCP listener read: cookie and port.
    pub(super) listeners: Mutex<U64Map<u16>>,
    /// Connections not yet accepted (`awaiting_accept`).
    pub(super) unheld: Mutex<U64Map<Glimpse>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn SocketSource, req: &Request, cmp: Compare) -> Recording<'a> {
        Recording {
            inner,
            queues: cmp.queues,
            states: req.query.states,
            seen: Mutex::new(Vec::new()),
            listeners: Mutex::new(U64Map::default()),
            unheld: Mutex::new(U64Map::default()),
        }
    }
}

impl SocketSource for Recording<'_> {
    fn read_sockets(&self, q: &Query) -> Result<Snapshot> {
        let whole = Query {
            local_ports: LocalPorts::default(),
            ..q.clone()
        };
        let snap = self.inner.read_sockets(&whole)?;
        if let (Ok(mut seen), Ok(mut listeners), Ok(mut unheld)) =
            (self.seen.lock(), self.listeners.lock(), self.unheld.lock())
        {
            for s in &snap.sockets {
                let Some(c) = s.cookie.filter(|_| s.proto == Proto::Tcp) else {
                    continue;
                };
                if s.state == State::LISTEN {
                    if let Some(p) = local_port(s) {
                        listeners.insert(c.get(), p);
                    }
                }
                if self.states.contains(s.state) {
                    seen.extend(Recorded::of(s, self.queues));
                    if awaiting_accept(s) {
                        unheld.extend(glimpse_of(s).map(|g| (c.get(), g)));
                    }
                }
            }
        }
        Ok(snap)
    }

    from_host!();
}
