//! watch's core without a kernel: the pipeline reads a fake host twice around a change, and
//! the events between the two readings are exactly what changed, with owners and before.

use portwatch::model::OptU32;
use portwatch::model::{Endpoint, Family, Owner, Proto, Query, SockType, Socket, State, StateSet};
use portwatch::pipeline::{self, Request};
use portwatch::platform::fake::Fake;
use portwatch::registry::Registry;
use portwatch::timeline::{diff, Change, Compare, Reading};
use std::net::{IpAddr, Ipv4Addr};

fn ep(port: u16) -> Option<Endpoint> {
    Some(Endpoint::Inet {
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
    })
}

fn tcp(state: State, inode: u64, local: u16, remote: u16) -> Socket {
    Socket {
        inode,
        local: ep(local),
        remote: ep(remote),
        uid: OptU32::some(1000),
        ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, state)
    }
}

fn owner(pid: u32, comm: &str, fd: u32) -> Owner {
    Owner::new(pid, comm, fd, Some(1000))
}

/// (change, inode, state, state before, owner pids) of an event.
type Brief<'a> = (Change, u64, &'a str, Option<&'a str>, Vec<u32>);

#[test]
fn pipeline_reads_of_a_changing_fake_host() {
    let reg = Registry::builtin();
    let req = Request {
        owners: true,
        ..Request::new(Query::inet(true, false, StateSet::ALL))
    };
    let mut host = Fake {
        sockets: vec![
            tcp(State::LISTEN, 100, 8080, 0),
            tcp(State::ESTABLISHED, 101, 8080, 50000),
            tcp(State::ESTABLISHED, 102, 50000, 8080),
        ],
        owners: vec![
            (100, owner(10, "web", 3)),
            (101, owner(10, "web", 5)),
            (102, owner(20, "curl", 4)),
        ],
        ephemeral: Some((32768, 60999)),
        ..Fake::default()
    };
    let read = |h: &Fake| Reading::new(pipeline::run(&req, h, h, &reg).unwrap().rows);
    let first = read(&host);
    assert!(diff(&first, &first, Compare::default()).is_empty());

    // The client goes away (its end becomes TIME-WAIT without inode or owner), the server's
    // end waits in CLOSE-WAIT, an api server starts listening and the web server forks a
    // worker that shares its listener.
    host.sockets[1].state = State::CLOSE_WAIT;
    host.sockets[2] = tcp(State::TIME_WAIT, 0, 50000, 8080);
    host.owners.retain(|(inode, _)| *inode != 102);
    host.sockets.push(tcp(State::LISTEN, 103, 9090, 0));
    host.owners.push((103, owner(11, "api", 3)));
    host.owners.push((100, owner(12, "web", 3)));
    let second = read(&host);

    let events = diff(&first, &second, Compare::default());
    let got: Vec<Brief> = events
        .iter()
        .map(|e| {
            let pids = e
                .row
                .owners
                .iter()
                .flat_map(|o| o.iter())
                .map(|o| o.pid)
                .collect();
            (
                e.change,
                e.row.sock.inode,
                e.row.sock.state.name(),
                e.before.as_ref().map(|b| b.sock.state.name()),
                pids,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Change::Changed, 100, "LISTEN", Some("LISTEN"), vec![10, 12]),
            (Change::Changed, 101, "CLOSE-WAIT", Some("ESTAB"), vec![10]),
            (Change::Opened, 103, "LISTEN", None, vec![11]),
            (Change::Changed, 0, "TIME-WAIT", Some("ESTAB"), vec![]),
        ]
    );
}
