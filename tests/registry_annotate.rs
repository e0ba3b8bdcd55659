//! Socket annotation: the server side names a connection, unknown ports are explained (class,
//! ephemeral, owner hint), and the ephemeral range comes from a fixture ip_local_port_range.

use portwatch::model::{Endpoint, Family, Owner, Proto, SockType, Socket, State, Text, UnixName};
use portwatch::platform::{SocketSource, SourceOptions, System};
use portwatch::registry::{
    listening_ports, AnnotateCtx, AnnotationCache, PortClass, Registry, Source,
};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

fn ep(port: u16) -> Option<Endpoint> {
    Some(Endpoint::Inet {
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
    })
}

fn sock(proto: Proto, state: State, local: u16, remote: Option<u16>) -> Socket {
    Socket {
        local: ep(local),
        remote: remote.map_or(ep(0), ep),
        inode: 1,
        ..Socket::new(
            proto,
            Family::Ipv4,
            if proto == Proto::Udp {
                SockType::Dgram
            } else {
                SockType::Stream
            },
            state,
        )
    }
}

fn owner(comm: &str) -> Owner {
    Owner::new(42, Text::from(comm), 3, None)
}

const EPH: Option<(u16, u16)> = Some((32768, 60999));

/// The context of a listing with the host's usual ephemeral range, no owner scan.
fn no_owners(listening: &HashSet<(Proto, u16)>) -> AnnotateCtx<'_> {
    AnnotateCtx {
        ephemeral: EPH,
        listening,
        owners: None,
    }
}

#[test]
fn a_client_connection_takes_the_servers_service() {
    let reg = Registry::builtin();
    let none = HashSet::new();
    let ctx = no_owners(&none);
    // A browser's socket from 127.0.0.1:51234 to :443 is https, not "unknown 51234".
    let a = reg
        .annotate(
            &sock(Proto::Tcp, State::ESTABLISHED, 51234, Some(443)),
            &ctx,
        )
        .unwrap();
    assert_eq!(a.port, 443);
    assert_eq!(a.service.as_ref().map(|s| s.name.as_str()), Some("https"));
    assert_eq!(a.class, PortClass::WellKnown);
    assert!(!a.ephemeral);
    // Connected UDP (a DNS client) works the same.
    let a = reg
        .annotate(&sock(Proto::Udp, State::ESTABLISHED, 40000, Some(53)), &ctx)
        .unwrap();
    assert_eq!(a.service.unwrap().name, "domain");
}

#[test]
fn the_server_side_of_a_connection_keeps_its_local_port() {
    let reg = Registry::builtin();
    let listener = sock(Proto::Tcp, State::LISTEN, 5432, None);
    let server = sock(Proto::Tcp, State::ESTABLISHED, 5432, Some(51000));
    let client = sock(Proto::Tcp, State::ESTABLISHED, 51000, Some(5432));
    let listening = listening_ports([&listener, &server, &client]);
    assert_eq!(listening, HashSet::from([(Proto::Tcp, 5432)]));
    let ctx = no_owners(&listening);
    for s in [&listener, &server, &client] {
        let a = reg.annotate(s, &ctx).unwrap();
        assert_eq!(a.port, 5432, "{s:?}");
        assert_eq!(a.service.unwrap().name, "postgresql");
    }
    // Without the listener in the snapshot, a non-ephemeral local port talking to an
    // ephemeral remote one is still taken as the server side.
    let empty = HashSet::new();
    let ctx = no_owners(&empty);
    assert_eq!(reg.annotate(&server, &ctx).unwrap().port, 5432);
    // A listener on another protocol does not count.
    let udp_only = HashSet::from([(Proto::Udp, 51000)]);
    let ctx = no_owners(&udp_only);
    assert_eq!(reg.annotate(&client, &ctx).unwrap().port, 5432);
}

#[test]
fn unconnected_udp_and_listeners_use_the_local_port() {
    let reg = Registry::builtin();
    let empty = HashSet::new();
    let ctx = no_owners(&empty);
    let mut s = sock(Proto::Udp, State::CLOSE, 123, None);
    s.remote = None;
    let a = reg.annotate(&s, &ctx).unwrap();
    assert_eq!((a.port, a.service.unwrap().name.as_str()), (123, "ntp"));
    let set = listening_ports([&s]);
    assert!(set.contains(&(Proto::Udp, 123)));
}

#[test]
fn an_unknown_port_is_explained_never_blank() {
    let reg = Registry::builtin();
    let empty = HashSet::new();
    let owners = [owner("node"), owner("node"), owner("worker")];
    let ctx = AnnotateCtx {
        ephemeral: EPH,
        listening: &empty,
        owners: Some(&owners),
    };
    // 5174/tcp: nobody names it.
    let a = reg
        .annotate(&sock(Proto::Tcp, State::LISTEN, 5174, None), &ctx)
        .unwrap();
    assert_eq!(a.service, None);
    assert_eq!(a.class, PortClass::Registered);
    assert!(!a.ephemeral);
    assert_eq!(a.hint.as_deref(), Some("held by node, worker"));
    let cell = a.cell();
    assert_eq!(
        cell,
        "unregistered (registered range; hint: held by node, worker)"
    );
    assert!(cell.contains("hint"), "a hint is marked as one: {cell}");

    // An ephemeral dynamic port, no owners known: no hint.
    let ctx = no_owners(&empty);
    let a = reg
        .annotate(&sock(Proto::Udp, State::CLOSE, 50001, None), &ctx)
        .unwrap();
    assert_eq!(
        (a.service.clone(), a.class, a.ephemeral, a.hint.clone()),
        (None, PortClass::Dynamic, true, None)
    );
    assert_eq!(a.cell(), "unregistered (dynamic range, ephemeral)");

    // A client towards an unnamed remote port: the client's owner is not a hint for it.
    let a = reg
        .annotate(
            &sock(Proto::Tcp, State::ESTABLISHED, 40000, Some(5174)),
            &ctx,
        )
        .unwrap();
    assert_eq!((a.port, a.hint), (5174, None));
}

#[test]
fn named_ports_carry_their_source_and_no_hint() {
    let reg = Registry::builtin();
    let empty = HashSet::new();
    let owners = [owner("vite")];
    let ctx = AnnotateCtx {
        ephemeral: EPH,
        listening: &empty,
        owners: Some(&owners),
    };
    let a = reg
        .annotate(&sock(Proto::Tcp, State::LISTEN, 5173, None), &ctx)
        .unwrap();
    let s = a.service.as_ref().unwrap();
    assert_eq!((s.name.as_str(), s.source), ("vite", Source::Curated));
    assert_eq!(a.hint, None);
    assert_eq!(a.cell(), "vite");
}

#[test]
fn unix_and_raw_sockets_have_no_annotation() {
    let reg = Registry::builtin();
    let empty = HashSet::new();
    let ctx = no_owners(&empty);
    let mut u = sock(Proto::Unix, State::LISTEN, 0, None);
    u.local = Some(Endpoint::Unix(UnixName {
        abstract_ns: false,
        name: Text::from("/run/x"),
    }));
    assert_eq!(reg.annotate(&u, &ctx), None);
    assert_eq!(
        reg.annotate(&sock(Proto::Raw, State::CLOSE, 1, None), &ctx),
        None
    );
}

#[test]
fn ephemeral_detection_from_a_fixture_range() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys/net/ipv4");
    std::fs::create_dir_all(&sys).unwrap();
    std::fs::write(sys.join("ip_local_port_range"), "20000\t20999\n").unwrap();
    let opts = SourceOptions {
        proc_root: dir.path().to_path_buf(),
        fixture: true,
        ..Default::default()
    };
    let range = System::new(opts).unwrap().ephemeral_range();
    assert_eq!(range, Some((20000, 20999)));

    let reg = Registry::builtin();
    let empty = HashSet::new();
    let ctx = AnnotateCtx {
        ephemeral: range,
        listening: &empty,
        owners: None,
    };
    let inside = reg
        .annotate(&sock(Proto::Udp, State::CLOSE, 20500, None), &ctx)
        .unwrap();
    assert!(inside.ephemeral);
    assert_eq!(inside.class, PortClass::Registered);
    let outside = reg
        .annotate(&sock(Proto::Udp, State::CLOSE, 50000, None), &ctx)
        .unwrap();
    assert!(!outside.ephemeral);
    // The heuristic follows the host's range: a client on 20500 towards 50000.
    let a = reg
        .annotate(
            &sock(Proto::Tcp, State::ESTABLISHED, 20500, Some(50000)),
            &ctx,
        )
        .unwrap();
    assert_eq!(a.port, 50000);
    // An unknown range marks nothing ephemeral.
    let ctx = AnnotateCtx {
        ephemeral: None,
        listening: &empty,
        owners: None,
    };
    assert!(
        !reg.annotate(&sock(Proto::Udp, State::CLOSE, 20500, None), &ctx)
            .unwrap()
            .ephemeral
    );
}

#[test]
fn json_shows_the_source_of_every_name() {
    let reg = Registry::builtin();
    let empty = HashSet::new();
    let ctx = no_owners(&empty);
    let a = reg
        .annotate(
            &sock(Proto::Tcp, State::ESTABLISHED, 51234, Some(443)),
            &ctx,
        )
        .unwrap();
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["port"], 443);
    assert_eq!(v["service"]["name"], "https");
    assert_eq!(v["service"]["source"], "iana");
    assert_eq!(v["class"], "well-known");
    assert_eq!(v["ephemeral"], false);
    let a = reg
        .annotate(&sock(Proto::Udp, State::CLOSE, 50001, None), &ctx)
        .unwrap();
    let v = serde_json::to_value(&a).unwrap();
    assert!(v["service"].is_null());
    assert_eq!(
        (v["class"].as_str(), v["ephemeral"].as_bool()),
        (Some("dynamic"), Some(true))
    );
}

/// A context of a listing with owners: no listeners known.
fn with<'a>(owners: &'a [Owner], none: &'a HashSet<(Proto, u16)>) -> AnnotateCtx<'a> {
    AnnotateCtx {
        ephemeral: EPH,
        listening: none,
        owners: Some(owners),
    }
}

#[test]
fn shared_annotations_are_one_per_port_and_hint() {
    let reg = Registry::builtin();
    let mut cache = AnnotationCache::new();
    let none = HashSet::new();
    let (node, deno) = ([owner("node")], [owner("deno")]);
    let listener = sock(Proto::Tcp, State::LISTEN, 5174, None);
    let mut shared = |s: &Socket, ctx: &AnnotateCtx<'_>| {
        reg.annotate_shared(s, ctx, &mut cache)
            .expect("an inet socket")
    };
    let a = shared(&listener, &with(&node, &none));
    let b = shared(&listener, &with(&node, &none));
    let c = shared(&listener, &with(&deno, &none));
    assert!(
        Arc::ptr_eq(&a, &b),
        "same port, same holder: one annotation"
    );
    assert_eq!(a.hint.as_deref(), Some("held by node"));
    assert_eq!(
        c.hint.as_deref(),
        Some("held by deno"),
        "never another program's hint"
    );
    // A named port takes no hint, whoever holds it; a client socket's owner is no hint.
    let ssh = shared(
        &sock(Proto::Tcp, State::LISTEN, 22, None),
        &with(&node, &none),
    );
    assert_eq!((ssh.hint.as_deref(), ssh.port), (None, 22));
    let client = shared(
        &sock(Proto::Tcp, State::ESTABLISHED, 40000, Some(5174)),
        &with(&node, &none),
    );
    assert_eq!((client.hint.as_deref(), client.port), (None, 5174));
    // Equal to what the unshared path gives.
    assert_eq!(*c, reg.annotate(&listener, &with(&deno, &none)).unwrap());
}
