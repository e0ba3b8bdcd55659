//! What happened between two reads: sockets opened, closed and changed. Pure: two readings
//! in, events out; the watch command adds the clock, the close stream and the output.

use super::key::{key, Ends, Reading};
use crate::model::{listing_order, Row, Socket};
use std::collections::{HashMap, HashSet};

/// The kind of an event (JSON `"event"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    Opened,
    Closed,
    Changed,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Opened => "opened",
            Change::Closed => "closed",
            Change::Changed => "changed",
        }
    }
}

/// One socket that appeared, disappeared or changed. `row` is the socket as last seen (for
/// `Closed`, as in the earlier read); `before` the earlier row of a `Changed` socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub change: Change,
    pub row: Row,
    pub before: Option<Row>,
}

impl Event {
    pub fn opened(row: Row) -> Event {
        Event {
            change: Change::Opened,
            row,
            before: None,
        }
    }

    pub fn closed(row: Row) -> Event {
        Event {
            change: Change::Closed,
            row,
            before: None,
        }
    }

    pub fn changed(before: Row, row: Row) -> Event {
        Event {
            change: Change::Changed,
            row,
            before: Some(before),
        }
    }
}

/// The events of one read as they are reported: `closed` ones first, then the others, each
/// group in the listing's order (`model::listing_order`).
pub fn in_order(mut closed: Vec<Event>, mut later: Vec<Event>) -> Vec<Event> {
    let by_listing = |a: &Event, b: &Event| listing_order(&a.row.sock, &b.row.sock);
    closed.sort_by(by_listing);
    later.sort_by(by_listing);
    closed.append(&mut later);
    closed
}

/// What counts as a change of a socket that is still there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compare {
    /// Recv-Q / Send-Q differences are changes (`--queues`); otherwise queues move with
    /// every byte and would bury the state changes.
    pub queues: bool,
}

/// Whether `b` differs from `a` in what `cmp` watches: state, owners, and queues if asked.
pub fn differs(a: &Row, b: &Row, cmp: Compare) -> bool {
    a.sock.state != b.sock.state
        || a.owners != b.owners
        || (cmp.queues
            && (a.sock.recv_q.get(), a.sock.send_q.get())
                != (b.sock.recv_q.get(), b.sock.send_q.get()))
}

/// The events that turn `prev` into `next`: closed sockets first, then opened and changed
/// ones, each group in the listing's order (`model::listing_order`) whatever order the
/// readings' rows are in (watch reads them unsorted: sorting 100k rows a read to order a
/// few hundred events cost more than the diff).
///
/// A connection that loses its inode between the reads (its process closed it and the
/// kernel finishes it: FIN-WAIT, TIME-WAIT) or gains one (a request socket accepted) has
/// another key in each read, yet is the same connection: one `Changed`, not a close and an
/// open. The pairing is by both ends, which no two connections share at one time.
pub fn diff(prev: &Reading, next: &Reading, cmp: Compare) -> Vec<Event> {
    let gone: Vec<&Row> = prev
        .keyed()
        .filter(|(k, _)| !next.contains(k))
        .map(|(_, r)| r)
        .collect();
    // Closed connections by their ends, for pairing with a reopened key.
    let mut gone_conns: HashMap<Ends, usize> = gone
        .iter()
        .enumerate()
        .map(|(i, r)| (Ends::of(&r.sock), i))
        .filter(|(e, _)| e.is_connection())
        .collect();
    let mut paired = vec![false; gone.len()];
    let mut later = Vec::new();
    for (k, row) in next.keyed() {
        if let Some(before) = prev.get(k) {
            if differs(before, row, cmp) {
                later.push(changed(before, row));
            }
            continue;
        }
        let inode_moved = |b: &Row| b.sock.inode == 0 || row.sock.inode == 0;
        let pair = gone_conns
            .get(&Ends::of(&row.sock))
            .copied()
            .filter(|&i| inode_moved(gone[i]));
        match pair {
            Some(i) => {
                gone_conns.remove(&Ends::of(&row.sock));
                paired[i] = true;
                later.push(changed(gone[i], row));
            }
            None => later.push(Event::opened(row.clone())),
        }
    }
    let closed: Vec<Event> = gone
        .iter()
        .zip(&paired)
        .filter(|(_, &p)| !p)
        .map(|(r, _)| Event::closed((*r).clone()))
        .collect();
    in_order(closed, later)
}

fn changed(before: &Row, row: &Row) -> Event {
    Event::changed(before.clone(), row.clone())
}

/// The destroyed sockets (from the kernel's close stream) that neither read saw: they opened
/// and closed between `prev` and `next`. A destroyed socket that a read did see is the
/// poll's to report (or still there: a connection that went to TIME-WAIT is destroyed as a
/// full socket and lives on as a TIME-WAIT one with the same cookie and ends). At destruction
/// the kernel reports inode 0, so besides the key both ends are compared.
pub fn unseen<'a>(prev: &Reading, next: &Reading, destroyed: &'a [Socket]) -> Vec<&'a Socket> {
    let fresh: Vec<&Socket> = destroyed
        .iter()
        .filter(|s| {
            let k = key(s);
            !prev.contains(&k) && !next.contains(&k)
        })
        .collect();
    if fresh.is_empty() {
        return fresh;
    }
    // Few sockets against two whole reads: look only at rows with the same ports.
    let ports = |s: &Socket| {
        let p = |e: &Option<crate::model::Endpoint>| e.as_ref().and_then(|e| e.port());
        (s.proto, p(&s.local), p(&s.remote))
    };
    let wanted: HashSet<_> = fresh.iter().map(|s| ports(s)).collect();
    let seen: HashSet<Ends> = prev
        .rows()
        .iter()
        .chain(next.rows())
        .filter(|r| wanted.contains(&ports(&r.sock)))
        .map(|r| Ends::of(&r.sock))
        .collect();
    fresh
        .into_iter()
        .filter(|s| !seen.contains(&Ends::of(s)))
        .collect()
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
