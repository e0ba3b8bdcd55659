//! Events between two readings, on hand-built rows (tests/watch_fake.rs drives the pipeline).

use super::*;
use crate::model::OptU32;
use crate::model::State;
use crate::timeline::testrows::{ep, owner, row, tcp};

fn reading(rows: Vec<Row>) -> Reading {
    Reading::new(rows)
}

/// (change, inode, state) of each event, and the state before for changes.
fn summary(events: &[Event]) -> Vec<(Change, u64, &'static str, Option<&'static str>)> {
    events
        .iter()
        .map(|e| {
            (
                e.change,
                e.row.sock.inode,
                e.row.sock.state.name(),
                e.before.as_ref().map(|b| b.sock.state.name()),
            )
        })
        .collect()
}

#[test]
fn opened_closed_and_changed() {
    let web = [owner(10, "web")];
    let prev = reading(vec![
        row(tcp(State::LISTEN, 100, 8080, 0), &web),
        row(tcp(State::ESTABLISHED, 101, 8080, 50000), &web),
        row(tcp(State::ESTABLISHED, 103, 8080, 50002), &web),
    ]);
    let next = reading(vec![
        row(tcp(State::LISTEN, 100, 8080, 0), &web),
        row(tcp(State::CLOSE_WAIT, 101, 8080, 50000), &web),
        row(tcp(State::ESTABLISHED, 102, 8080, 50001), &web),
    ]);
    assert_eq!(
        summary(&diff(&prev, &next, Compare::default())),
        [
            (Change::Closed, 103, "ESTAB", None),
            (Change::Changed, 101, "CLOSE-WAIT", Some("ESTAB")),
            (Change::Opened, 102, "ESTAB", None),
        ]
    );
    assert!(diff(&next, &next, Compare::default()).is_empty());
}

#[test]
fn the_first_read_is_all_opened() {
    let next = reading(vec![
        row(tcp(State::LISTEN, 100, 8080, 0), &[]),
        row(tcp(State::LISTEN, 101, 8081, 0), &[]),
    ]);
    let e = diff(&Reading::default(), &next, Compare::default());
    assert_eq!(
        summary(&e),
        [
            (Change::Opened, 100, "LISTEN", None),
            (Change::Opened, 101, "LISTEN", None)
        ]
    );
}

#[test]
fn owners_change_and_queues_only_when_asked() {
    let prev = reading(vec![row(tcp(State::LISTEN, 100, 80, 0), &[owner(1, "a")])]);
    let forked = reading(vec![row(
        tcp(State::LISTEN, 100, 80, 0),
        &[owner(1, "a"), owner(2, "a")],
    )]);
    let e = diff(&prev, &forked, Compare::default());
    assert_eq!(
        summary(&e),
        [(Change::Changed, 100, "LISTEN", Some("LISTEN"))]
    );
    assert_eq!(
        e[0].before.as_ref().unwrap().owners.as_ref().unwrap().len(),
        1
    );

    let queued = reading(vec![row(
        Socket {
            recv_q: OptU32::some(5),
            ..tcp(State::LISTEN, 100, 80, 0)
        },
        &[owner(1, "a")],
    )]);
    assert!(diff(&prev, &queued, Compare::default()).is_empty());
    assert_eq!(diff(&prev, &queued, Compare { queues: true }).len(), 1);
}

#[test]
fn a_connection_that_loses_its_inode_is_changed_not_reopened() {
    // The process closed it: the kernel finishes it as TIME-WAIT with inode 0.
    let prev = reading(vec![row(
        tcp(State::ESTABLISHED, 101, 50000, 80),
        &[owner(3, "c")],
    )]);
    let next = reading(vec![Row::new(tcp(State::TIME_WAIT, 0, 50000, 80))]);
    assert_eq!(
        summary(&diff(&prev, &next, Compare::default())),
        [(Change::Changed, 0, "TIME-WAIT", Some("ESTAB"))]
    );
    // Two sockets with an inode each are two sockets, ends or not.
    let reused = reading(vec![row(
        tcp(State::ESTABLISHED, 102, 50000, 80),
        &[owner(3, "c")],
    )]);
    assert_eq!(
        summary(&diff(&prev, &reused, Compare::default())),
        [
            (Change::Closed, 101, "ESTAB", None),
            (Change::Opened, 102, "ESTAB", None)
        ]
    );
}

#[test]
fn a_listener_replaced_on_its_port_is_closed_and_opened() {
    let prev = reading(vec![row(tcp(State::LISTEN, 100, 80, 0), &[owner(1, "a")])]);
    let next = reading(vec![row(tcp(State::LISTEN, 0, 80, 0), &[])]);
    assert_eq!(
        summary(&diff(&prev, &next, Compare::default())),
        [
            (Change::Closed, 100, "LISTEN", None),
            (Change::Opened, 0, "LISTEN", None)
        ]
    );
}

#[test]
fn only_sockets_no_read_saw_are_unseen() {
    let prev = reading(vec![row(tcp(State::ESTABLISHED, 101, 50000, 80), &[])]);
    let next = reading(vec![Row::new(tcp(State::TIME_WAIT, 0, 50001, 80))]);
    let destroyed = [
        // Seen by prev (destroyed sockets report inode 0): the poll reports its close.
        tcp(State::CLOSE, 0, 50000, 80),
        // Lives on as TIME-WAIT in next.
        tcp(State::CLOSE, 0, 50001, 80),
        // Never seen: opened and closed between the reads.
        tcp(State::CLOSE, 0, 50002, 80),
    ];
    let u = unseen(&prev, &next, &destroyed);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].local, ep(50002));
}

#[test]
fn events_come_in_listing_order_whatever_order_the_rows_are_in() {
    // watch reads its rows unsorted (the tables' order); its events are still ordered: the
    // closed ones first, then opened and changed ones, each by local and remote end.
    let web = [owner(10, "web")];
    let prev = reading(vec![
        row(tcp(State::ESTABLISHED, 205, 8080, 50005), &web),
        row(tcp(State::ESTABLISHED, 201, 8080, 50001), &web),
        row(tcp(State::ESTABLISHED, 203, 8080, 50003), &web),
        row(tcp(State::ESTABLISHED, 204, 8080, 50004), &web),
    ]);
    let next = reading(vec![
        row(tcp(State::ESTABLISHED, 209, 8080, 50009), &web),
        row(tcp(State::CLOSE_WAIT, 204, 8080, 50004), &web),
        row(tcp(State::ESTABLISHED, 207, 8080, 50007), &web),
        row(tcp(State::ESTABLISHED, 203, 8080, 50003), &web),
        row(tcp(State::ESTABLISHED, 208, 8080, 50008), &web),
    ]);
    let got: Vec<(Change, u64)> = diff(&prev, &next, Compare::default())
        .iter()
        .map(|e| (e.change, e.row.sock.inode))
        .collect();
    assert_eq!(
        got,
        [
            (Change::Closed, 201),
            (Change::Closed, 205),
            (Change::Changed, 204),
            (Change::Opened, 207),
            (Change::Opened, 208),
            (Change::Opened, 209),
        ]
    );
}
