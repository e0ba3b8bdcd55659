//! Evaluator table tests on hand-built rows.

use super::{parse_str, Filter, Pred, UserSpec};
use crate::model::OptU32;
use crate::model::Row;
use crate::model::{Annotation, PortClass, ServiceName, Source};
use crate::model::{
    Endpoint, Family, Owner, Proto, SockType, Socket, State, StateSet, Text, UnixName,
};
use std::net::IpAddr;

fn ep(s: &str) -> Option<Endpoint> {
    let (a, p) = s.rsplit_once(':')?;
    let a = a.trim_start_matches('[').trim_end_matches(']');
    Some(Endpoint::Inet {
        addr: a.parse::<IpAddr>().ok()?,
        port: p.parse().ok()?,
    })
}

/// An inet row: "tcp", state, "local", "remote" (IPv6 in brackets).
fn inet(proto: Proto, state: State, local: &str, remote: &str) -> Row {
    let local = ep(local);
    let family = match local {
        Some(Endpoint::Inet {
            addr: IpAddr::V6(_),
            ..
        }) => Family::Ipv6,
        _ => Family::Ipv4,
    };
    Row::new(Socket {
        local,
        remote: ep(remote),
        recv_q: OptU32::some(0),
        send_q: OptU32::some(0),
        inode: 1000,
        uid: OptU32::some(1000),
        v6only: (family == Family::Ipv6).then_some(false),
        ..Socket::new(
            proto,
            family,
            if proto == Proto::Udp {
                SockType::Dgram
            } else {
                SockType::Stream
            },
            state,
        )
    })
}

fn tcp(state: State, local: &str, remote: &str) -> Row {
    inet(Proto::Tcp, state, local, remote)
}

fn unix(name: Option<&str>, peer: Option<&str>) -> Row {
    let n = |s: &str| {
        Endpoint::Unix(UnixName {
            abstract_ns: s.starts_with('@'),
            name: Text::from(s.trim_start_matches('@')),
        })
    };
    let mut r = tcp(State::ESTABLISHED, "127.0.0.1:1", "127.0.0.1:2");
    r.sock.proto = Proto::Unix;
    r.sock.family = Family::Unix;
    r.sock.local = name.map(n);
    r.sock.remote = peer.map(n);
    r
}

fn with_owner(mut r: Row, pid: u32, comm: &str) -> Row {
    let mut owners = r.owners.as_deref().unwrap_or_default().to_vec();
    owners.push(Owner::new(pid, Text::from(comm), 3, Some(1000)));
    r.owners = Some(owners.into());
    r
}

fn with_service(mut r: Row, name: &str) -> Row {
    r.service = Some(std::sync::Arc::new(Annotation {
        port: 22,
        service: Some(ServiceName {
            name: name.into(),
            description: None,
            source: Source::EtcServices,
            origin: None,
        }),
        class: PortClass::WellKnown,
        ephemeral: false,
        hint: None,
    }));
    r
}

fn f(e: &str) -> Filter {
    let mut f = parse_str(e).unwrap_or_else(|err| panic!("{e}: {err}"));
    f.resolve(&|name, proto| match (name, proto) {
        ("ssh", _) => Some(22),
        ("http", _) => Some(80),
        // A name with different ports per protocol.
        ("odd", Some(Proto::Udp)) => Some(5000),
        ("odd", _) => Some(4000),
        _ => None,
    })
    .unwrap();
    f.set_ephemeral_range(Some((32768, 60999)));
    f
}

#[test]
fn evaluator_table() {
    let listen22 = tcp(State::LISTEN, "0.0.0.0:22", "0.0.0.0:0");
    let listen22_v6 = tcp(State::LISTEN, "[::]:22", "[::]:0");
    let est = tcp(State::ESTABLISHED, "127.0.0.1:22", "127.0.0.1:40000");
    let client = tcp(State::ESTABLISHED, "10.1.2.3:40001", "93.184.216.34:443");
    let mapped = tcp(
        State::ESTABLISHED,
        "[::ffff:127.0.0.1]:8080",
        "[::ffff:127.0.0.1]:50000",
    );
    let v6 = tcp(State::ESTABLISHED, "[fe80::1]:22", "[2001:db8::5]:50000");
    let tw = tcp(State::TIME_WAIT, "127.0.0.1:80", "127.0.0.1:50001");
    let udp = inet(Proto::Udp, State::CLOSE, "0.0.0.0:5000", "0.0.0.0:0");
    let udp4000 = inet(Proto::Udp, State::CLOSE, "0.0.0.0:4000", "0.0.0.0:0");
    let us = unix(Some("/run/app.sock"), None);
    let abs = unix(Some("@/tmp/.X11-unix/X0"), None);
    let unnamed = unix(None, Some("/run/app.sock"));
    let nginx = with_owner(listen22.clone(), 7, "nginx");
    let ssh = with_service(est.clone(), "ssh");

    let cases: &[(&str, &Row, bool)] = &[
        ("sport = :22", &listen22, true),
        ("sport = :22", &listen22_v6, true),
        ("sport = :ssh", &est, true),
        ("sport = :23", &listen22, false),
        ("sport != :22", &est, false),
        ("sport != :22", &client, true),
        ("sport > :21", &est, true),
        ("sport > :22", &est, false),
        ("sport >= :22", &est, true),
        ("sport < :22", &est, false),
        ("sport <= :22", &est, true),
        ("dport = :443", &client, true),
        ("dport = :http", &tw, false),
        ("sport = :http", &tw, true),
        ("port 40000", &est, true),
        ("port 22", &est, true),
        ("port != 22", &est, false),
        ("port > 30000", &est, true),
        ("port = :odd", &udp, true),
        ("port = :odd", &udp4000, false),
        ("src 127.0.0.1", &est, true),
        ("src 127.0.0.1", &client, false),
        ("src 127.0.0.1/8", &tw, true),
        ("src 127/8", &tw, true),
        ("src 10.0.0.0/8:40001", &client, true),
        ("src 10.0.0.0/8:40002", &client, false),
        ("dst 93.184.216.34", &client, true),
        ("dst 93.184.216.0/24:443", &client, true),
        ("src *:22", &listen22_v6, true),
        ("src :22", &listen22, true),
        ("dst :443", &client, true),
        ("src *", &us, true),
        ("src 0.0.0.0", &listen22, true),
        // An IPv4 address never matches a pure IPv6 socket, even the dual-stack wildcard.
        ("src 0.0.0.0", &listen22_v6, false),
        ("src 0.0.0.0/0", &v6, false),
        // ... but it matches IPv4-mapped addresses (ss's "cursed v4 mapped").
        ("src 127.0.0.1", &mapped, true),
        ("src 127.0.0.0/8:8080", &mapped, true),
        // An IPv6 (even v4-mapped) prefix never matches an IPv4 socket.
        ("src ::ffff:127.0.0.1", &est, false),
        ("src ::ffff:127.0.0.1", &mapped, true),
        ("src [::1]", &mapped, false),
        ("src fe80::/10", &v6, true),
        ("dst [2001:db8::/32]:50000", &v6, true),
        ("dst 0.0.0.0", &listen22, true),
        ("src inet:0.0.0.0/0", &listen22, true),
        ("src inet:0.0.0.0/0", &mapped, false),
        ("src localhost", &est, true),
        ("src localhost", &client, false),
        ("src /run/*", &us, true),
        ("src unix:/run/app.sock", &us, true),
        ("src /tmp/*", &us, false),
        ("src /RUN/APP*", &us, true),
        ("src @/tmp/.X11*", &abs, true),
        ("src /run/*", &listen22, false),
        ("dst /run/app.sock", &unnamed, true),
        ("src unix:*", &unnamed, true),
        ("src unix:?*", &unnamed, false),
        ("state listening", &listen22, true),
        ("state listening", &udp, false),
        ("state closed", &udp, true),
        ("state connected", &tw, true),
        ("state connected", &listen22, false),
        ("state synchronized", &est, true),
        ("state bucket", &tw, true),
        ("state big", &tw, false),
        ("exclude time-wait", &tw, false),
        ("exclude time-wait", &est, true),
        (
            "state established ( dport = :443 or dport = :80 )",
            &client,
            true,
        ),
        (
            "state established ( dport = :443 or dport = :80 )",
            &est,
            false,
        ),
        ("state listening sport = :22", &listen22, true),
        ("sport :1 or sport :22 and sport :1", &est, false),
        ("not sport :1 and sport :22", &est, true),
        ("proc nginx", &nginx, true),
        ("proc ngin*", &nginx, true),
        ("proc apache", &nginx, false),
        ("proc nginx", &listen22, false),
        ("not proc nginx", &listen22, true),
        ("pid 7", &nginx, true),
        ("pid 8", &nginx, false),
        ("user 1000", &est, true),
        ("user 0", &est, false),
        ("service ssh", &ssh, true),
        ("service SSH", &ssh, true),
        ("service s*", &ssh, true),
        ("service http", &ssh, false),
        ("service ssh", &est, false),
        ("scope loopback", &est, true),
        ("scope loopback", &mapped, true),
        ("scope wildcard", &listen22, true),
        ("scope wildcard", &listen22_v6, true),
        ("scope private", &client, true),
        ("scope link-local", &v6, true),
        ("scope public", &client, false),
        ("scope public", &us, false),
        ("autobound", &client, true),
        ("autobound", &est, false),
    ];
    for (expr, row, want) in cases {
        assert_eq!(f(expr).matches(row), *want, "{expr}");
    }
}

#[test]
fn user_names_compare_with_the_row_or_the_resolved_uid() {
    let mut row = tcp(State::LISTEN, "0.0.0.0:22", "0.0.0.0:0");
    let by_name = parse_str("user alice").unwrap();
    assert!(by_name.needs_users());
    assert!(!by_name.matches(&row));
    row.rare.user = Some("alice".into());
    assert!(by_name.matches(&row));

    let mut resolved = parse_str("user bob").unwrap();
    resolved
        .resolve_users(&|n| (n == "bob").then_some(1000))
        .unwrap();
    assert!(!resolved.needs_users());
    assert!(resolved.matches(&row), "uid 1000 is bob");

    let mut unknown = parse_str("sport :1 or user carol").unwrap();
    let err = unknown.resolve_users(&|_| None).unwrap_err();
    assert_eq!(err.span, 17..22);
}

#[test]
fn unknown_service_is_an_error_at_the_name() {
    let mut flt = parse_str("( dport = :nosuch )").unwrap();
    let err = flt.resolve(&|_, _| None).unwrap_err();
    assert_eq!(err.span, 11..17);
    assert!(err.message.contains("unknown service name 'nosuch'"));
    // Combined with option-built filters, the span still points into the expression.
    let mut both = parse_str("( dport = :nosuch )")
        .unwrap()
        .and(Filter::any_of([Pred::Pid(1)]));
    let err = both.resolve(&|_, _| None).unwrap_err();
    assert_eq!(&err.expr[err.span.clone()], "nosuch");
}

#[test]
fn needs_owners_only_for_process_predicates() {
    assert!(parse_str("proc x").unwrap().needs_owners());
    assert!(parse_str("sport :1 or not pid 3").unwrap().needs_owners());
    assert!(!parse_str("sport :1 or user 0").unwrap().needs_owners());
    assert!(!Filter::all().needs_owners());
}

#[test]
fn state_override_replaces_the_default_set() {
    let o = |e: &str| parse_str(e).unwrap().state_override();
    assert_eq!(o("sport :22"), None);
    assert_eq!(o(""), None);
    assert_eq!(
        o("state listening sport :22"),
        Some(StateSet::of(&[State::LISTEN]))
    );
    assert_eq!(
        o("state established or state time-wait"),
        Some(StateSet::of(&[State::ESTABLISHED, State::TIME_WAIT]))
    );
    let ex = o("exclude listening").unwrap();
    assert!(!ex.contains(State::LISTEN) && ex.contains(State::CLOSE));
    let not = o("not state listening").unwrap();
    assert!(!not.contains(State::LISTEN) && not.contains(State::ESTABLISHED));
    // A state under `or` with another predicate can match any state.
    let any = o("state listening or sport :22").unwrap();
    assert!(any.contains(State::TIME_WAIT) && any.contains(State::CLOSE));
    // The override is a superset: every row that matches has a state in it.
    let flt = f("state connected and not state time-wait");
    let set = flt.state_override().unwrap();
    for s in 1..=13u8 {
        let row = tcp(State(s), "127.0.0.1:1", "127.0.0.1:2");
        if flt.matches(&row) {
            assert!(set.contains(State(s)), "{s}");
        }
    }
}

#[test]
fn combining_filters_ands_them() {
    let row = with_owner(tcp(State::LISTEN, "0.0.0.0:22", "0.0.0.0:0"), 7, "sshd");
    let a = f("sport :22");
    assert!(a.clone().and(f("pid 7")).matches(&row));
    assert!(!a.clone().and(f("pid 8")).matches(&row));
    assert!(a.clone().and(Filter::all()).matches(&row));
    assert!(Filter::all().and(Filter::all()).matches(&row));
    let pids = Filter::any_of([Pred::Pid(1), Pred::Pid(7)]);
    assert!(pids.needs_owners() && pids.matches(&row));
    assert!(!Filter::any_of([Pred::Pid(1)]).matches(&row));
    assert!(Filter::any_of([]).matches(&row));
    let users = Filter::any_of([Pred::User(UserSpec::parse("1000"))]);
    assert!(users.matches(&row) && !users.needs_users());
}

#[test]
fn local_ports_the_kernel_may_filter_by() {
    let ports = |e: &str, p: Proto| f(e).local_ports(p);
    let tcp = |e: &str| ports(e, Proto::Tcp);
    assert_eq!(tcp("sport = :80"), Some(vec![80]));
    assert_eq!(tcp("sport = :443 or sport = :80"), Some(vec![80, 443]));
    assert_eq!(
        tcp("( sport = :80 or sport = :443 ) and dst 10/8"),
        Some(vec![80, 443])
    );
    assert_eq!(tcp("src 127.0.0.1:22"), Some(vec![22]));
    assert_eq!(tcp("sport = :ssh and state listening"), Some(vec![22]));
    assert_eq!(
        tcp("sport = :80 and sport = :81"),
        Some(vec![]),
        "nothing can match"
    );
    assert_eq!(
        ports("sport = :odd", Proto::Udp),
        Some(vec![5000]),
        "per protocol"
    );
    assert_eq!(tcp("sport = :odd"), Some(vec![4000]));
    for any in [
        "port = :80",
        "dport = :80",
        "not sport = :80",
        "sport != :80",
        "sport > :80",
        "sport = :80 or dport = :1",
        "src :*",
        "src 127.0.0.1",
        "proc nginx",
    ] {
        assert_eq!(tcp(any), None, "{any}: any port");
    }
    let unresolved = parse_str("sport = :some-name").expect("parse");
    assert_eq!(
        unresolved.local_ports(Proto::Tcp),
        None,
        "not resolved yet: any port"
    );
    let many: Vec<String> = (1..=17).map(|p| format!("sport = :{p}")).collect();
    assert_eq!(
        tcp(&many.join(" or ")),
        None,
        "too many to be worth a kernel filter"
    );
    assert_eq!(tcp(&many[..16].join(" or ")).map(|v| v.len()), Some(16));
}

proptest::proptest! {
    /// Whatever the expression, every socket it matches is on one of its local ports: a
    /// kernel that leaves out the others loses nothing.
    #[test]
    fn a_match_is_always_on_one_of_the_local_ports(
        a in 1u16..6, b in 1u16..6, c in 1u16..6, shape in 0usize..6,
        local in 1u16..6, remote in 1u16..6, udp: bool,
    ) {
        let e = match shape {
            0 => format!("sport = :{a}"),
            1 => format!("sport = :{a} or sport = :{b}"),
            2 => format!("( sport = :{a} or sport = :{b} ) and dport = :{c}"),
            3 => format!("sport = :{a} and ( sport = :{b} or dport = :{c} )"),
            4 => format!("src 127.0.0.1:{a} or ( sport = :{b} and not dport = :{c} )"),
            _ => format!("( sport = :{a} or src :{b} ) and ( sport = :{c} or sport = :{a} )"),
        };
        let proto = if udp { Proto::Udp } else { Proto::Tcp };
        let row = inet(proto, State::ESTABLISHED, &format!("127.0.0.1:{local}"), &format!("127.0.0.1:{remote}"));
        let flt = f(&e);
        if let Some(ports) = flt.local_ports(proto) {
            proptest::prop_assert!(!flt.matches(&row) || ports.contains(&local), "{} {:?}", e, ports);
        }
    }
}
