//! Listings compared by stable identity, on hand-built rows.

use super::*;
use crate::model::OptU32;
use crate::model::{Annotation, Family, Name, Owner, Owners, PortClass, SockType, Socket};
use std::net::Ipv4Addr;
use std::sync::Arc;

fn v4(a: [u8; 4], port: u16) -> Option<Endpoint> {
    Some(Endpoint::Inet {
        addr: IpAddr::V4(Ipv4Addr::from(a)),
        port,
    })
}

/// A TCP socket held by `comm` (pid and inode vary: they must not matter).
fn row(
    state: State,
    local: Option<Endpoint>,
    remote: Option<Endpoint>,
    comm: &str,
    pid: u32,
) -> Row {
    let service_port = match (&local, &remote) {
        (Some(Endpoint::Inet { port: l, .. }), Some(Endpoint::Inet { port: r, .. })) => {
            // The lower port is the service in these tests.
            if *r == 0 || l < r {
                *l
            } else {
                *r
            }
        }
        _ => 0,
    };
    let mut r = Row {
        owners: Some(Owners::from(vec![Owner::new(pid, comm, 3, Some(0))])),
        service: Some(Arc::new(Annotation {
            port: service_port,
            service: None,
            class: PortClass::of(service_port),
            ephemeral: false,
            hint: None,
        })),
        ..Row::new(Socket {
            local,
            remote,
            inode: u64::from(pid) * 1000,
            uid: OptU32::some(0),
            ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, state)
        })
    };
    r.rare.user = Some(Name::from("root"));
    r
}

fn listener(port: u16, comm: &str, pid: u32) -> Row {
    row(
        State::LISTEN,
        v4([0, 0, 0, 0], port),
        v4([0, 0, 0, 0], 0),
        comm,
        pid,
    )
}

fn conn(local: ([u8; 4], u16), remote: ([u8; 4], u16), comm: &str, pid: u32) -> Row {
    row(
        State::ESTABLISHED,
        v4(local.0, local.1),
        v4(remote.0, remote.1),
        comm,
        pid,
    )
}

const BOTH: Options = Options {
    connections: false,
    programs: true,
};

fn deltas(d: &[Difference]) -> Vec<(&'static str, String)> {
    d.iter()
        .map(|d| (d.delta.name(), format!("{:?}", d.ident.what)))
        .collect()
}

#[test]
fn a_restarted_listener_is_no_difference_and_a_new_one_is() {
    let old = [listener(80, "nginx", 10), listener(22, "sshd", 11)];
    let restarted = [listener(80, "nginx", 99), listener(22, "sshd", 11)];
    assert!(compare(&old, &restarted, BOTH).is_empty());

    let more = [
        listener(80, "nginx", 99),
        listener(22, "sshd", 11),
        listener(8080, "python3", 7),
    ];
    let d = compare(&old, &more, BOTH);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].delta, Delta::Added);
    assert_eq!(d[0].ident.program, Some(vec![Text::from("python3")]));
    assert_eq!(d[0].before, None);
    assert_eq!(d[0].after.as_ref().unwrap().count, 1);

    let d = compare(&more, &old, BOTH);
    assert_eq!(deltas(&d).len(), 1);
    assert_eq!(d[0].delta, Delta::Removed);
}

#[test]
fn another_program_on_the_port_is_a_removal_and_an_addition() {
    let old = [listener(80, "nginx", 10)];
    let new = [listener(80, "caddy", 10)];
    let d = compare(&old, &new, BOTH);
    let kinds: Vec<Delta> = d.iter().map(|d| d.delta).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&Delta::Added) && kinds.contains(&Delta::Removed));
    // Without owners on a side, programs are not compared.
    let no_programs = Options {
        programs: false,
        ..BOTH
    };
    assert!(compare(&old, &new, no_programs).is_empty());
}

#[test]
fn users_dual_stack_and_socket_counts_are_changes_of_a_listener() {
    let old = [listener(80, "nginx", 10)];
    let mut other_user = listener(80, "nginx", 10);
    other_user.rare.user = Some(Name::from("www-data"));
    let d = compare(&old, &[other_user], BOTH);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].delta, Delta::Changed);
    let users = |a: &Option<Attrs>| {
        a.as_ref()
            .unwrap()
            .users
            .iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (users(&d[0].before), users(&d[0].after)),
        (vec!["root".into()], vec!["www-data".into()])
    );

    let reuseport = [listener(80, "nginx", 10), listener(80, "nginx", 11)];
    let d = compare(&old, &reuseport, BOTH);
    assert_eq!((d.len(), d[0].delta), (1, Delta::Changed));
}

#[test]
fn connections_count_per_service_and_remote_class_without_ephemeral_ports() {
    let public = [203, 0, 113, 5];
    let old = [
        listener(443, "nginx", 10),
        conn(([10, 0, 0, 1], 443), (public, 50000), "nginx", 10),
        conn(([10, 0, 0, 1], 443), (public, 50001), "nginx", 10),
        conn(([10, 0, 0, 1], 40000), ([10, 0, 0, 9], 5432), "app", 20),
    ];
    // Other clients, other ephemeral ports, another count: the same groups.
    let new = [
        listener(443, "nginx", 10),
        conn(
            ([10, 0, 0, 1], 443),
            ([198, 51, 100, 7], 61000),
            "nginx",
            10,
        ),
        conn(([10, 0, 0, 1], 41234), ([10, 0, 0, 8], 5432), "app", 21),
    ];
    assert!(compare(&old, &new, BOTH).is_empty());

    // A connection from a private address to :443 is a new group.
    let mut more = new.to_vec();
    more.push(conn(
        ([10, 0, 0, 1], 443),
        ([10, 1, 2, 3], 52000),
        "nginx",
        10,
    ));
    let d = compare(&old, &more, BOTH);
    assert_eq!(
        deltas(&d),
        [(
            "added",
            "Served { port: 443, remote: \"private\" }".to_string()
        )]
    );
    // Our connections to :5432 gone: the group is removed.
    let d = compare(&old, &new[..2], BOTH);
    assert_eq!(
        deltas(&d),
        [(
            "removed",
            "Used { port: 5432, remote: \"private\" }".to_string()
        )]
    );
}

#[test]
fn one_by_one_connections_compare_their_counts() {
    let one = Options {
        connections: true,
        ..BOTH
    };
    let db = [10, 0, 0, 9];
    let old = [conn(([10, 0, 0, 1], 40000), (db, 5432), "app", 20)];
    // Same ends but the ephemeral port: the same connection.
    let same = [conn(([10, 0, 0, 1], 45555), (db, 5432), "app", 21)];
    assert!(compare(&old, &same, one).is_empty());
    let two = [
        conn(([10, 0, 0, 1], 45555), (db, 5432), "app", 21),
        conn(([10, 0, 0, 1], 45556), (db, 5432), "app", 21),
    ];
    let d = compare(&old, &two, one);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].delta, Delta::Changed);
    assert_eq!(
        d[0].ident.what,
        What::Connection {
            local: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            remote: IpAddr::V4(Ipv4Addr::from(db)),
            port: 5432,
            inbound: false
        }
    );
    // As groups, a count is no difference.
    assert!(compare(&old, &two, BOTH).is_empty());
}
