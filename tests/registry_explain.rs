//! `explain`: every name across protocols with sources, class, ephemeral flag, label, seed
//! facts and current users; JSON and text; unknown ports still explained.

use portwatch::model::OptU32;
use portwatch::model::Row;
use portwatch::model::{Endpoint, Family, Owner, Proto, SockType, Socket, State, Text};
use portwatch::registry::explain;
use portwatch::registry::{Registry, RegistryOptions};
use portwatch::render::explain::{report, write_text, Report};
use std::net::{IpAddr, Ipv4Addr};

fn row(proto: Proto, state: State, local: u16, remote: u16, comm: &[u8]) -> Row {
    let ep = |port| {
        Some(Endpoint::Inet {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        })
    };
    let mut r = Row {
        owners: Some(vec![Owner::new(99, Text::from(comm), 4, None)].into()),
        ..Row::new(Socket {
            local: ep(local),
            remote: ep(remote),
            inode: 7,
            uid: OptU32::some(1000),
            ..Socket::new(proto, Family::Ipv4, SockType::Stream, state)
        })
    };
    r.rare.user = Some("alice".into());
    r
}

fn registry_with_label(dir: &std::path::Path) -> Registry {
    let labels = dir.join("labels");
    std::fs::write(&labels, "5432/tcp maindb Our Postgres\n").unwrap();
    let opts = RegistryOptions {
        etc_services: dir.join("none"),
        extra_services: vec![],
        labels: Some(labels),
    };
    Registry::load(&opts).unwrap().0
}

fn text(r: &Report<'_>) -> String {
    let mut out = Vec::new();
    write_text(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn explains_names_sources_label_class_and_users() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry_with_label(dir.path());
    let rows = [
        row(Proto::Tcp, State::LISTEN, 5432, 0, b"postgres"),
        row(Proto::Tcp, State::ESTABLISHED, 40000, 5432, b"psql"),
        row(Proto::Tcp, State::ESTABLISHED, 40001, 443, b"curl"),
    ];
    let e = explain::explain(&reg, 5432, None, Some((32768, 60999)));
    let r = report(&e, &rows);
    assert_eq!(
        (e.class, e.class_range, e.ephemeral),
        ("registered", "1024-49151", Some(false))
    );
    // Label first and shown; IANA's names for tcp and udp listed with their source.
    let first = &e.names[0];
    assert_eq!(
        (first.name.as_str(), first.source, first.primary),
        ("maindb", "label", true)
    );
    assert!(e
        .names
        .iter()
        .any(|n| n.proto == "tcp" && n.name == "postgresql" && n.source == "iana" && !n.primary));
    assert!(e
        .names
        .iter()
        .any(|n| n.proto == "udp" && n.name == "postgresql" && n.primary));
    // Users: the listener and the client towards it, not the unrelated socket.
    let sides: Vec<(&str, &str)> = r.users.iter().map(|u| (u.state, u.side)).collect();
    assert_eq!(sides, vec![("LISTEN", "local"), ("ESTAB", "remote")]);
    assert_eq!(r.users[0].owners.as_ref().unwrap()[0].comm, "postgres");
    // Addresses as the table prints them (one formatter for both).
    assert_eq!(r.users[1].local.as_deref(), Some("127.0.0.1:40000"));

    let t = text(&r);
    assert!(t.contains("maindb"), "{t}");
    assert!(t.contains("postgres(99)"), "{t}");
    assert!(t.contains("registered (1024-49151)"), "{t}");

    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(json["port"], 5432);
    assert_eq!(json["names"][0]["source"], "label");
    assert_eq!(json["ephemeral_range"], serde_json::json!([32768, 60999]));
    assert_eq!(json["users"][0]["owners"][0]["pid"], 99);
}

#[test]
fn plaintext_facts_and_protocol_filter() {
    let reg = Registry::builtin();
    let e = explain::explain(&reg, 23, Some("tcp"), None);
    assert!(
        e.facts.iter().any(|f| f.kind == "plaintext"),
        "{:?}",
        e.facts
    );
    assert!(e.names.iter().all(|n| n.proto == "tcp"));
    assert_eq!(e.names[0].name, "telnet");
    assert_eq!(e.ephemeral, None);
    let t = text(&report(&e, &[]));
    assert!(t.contains("plaintext"), "{t}");
    assert!(
        t.contains("unknown"),
        "unknown ephemeral range is said: {t}"
    );
    let ssh = explain::explain(&reg, 22, Some("tcp"), None);
    assert!(
        ssh.facts.iter().all(|f| f.kind != "plaintext"),
        "{:?}",
        ssh.facts
    );
    // Well-known ports say what binding them takes; the range notes follow the class.
    assert!(ssh
        .facts
        .iter()
        .any(|f| f.text.contains("CAP_NET_BIND_SERVICE")));
    let high = explain::explain(&reg, 8080, Some("tcp"), Some((32768, 60999)));
    assert!(high
        .facts
        .iter()
        .all(|f| !f.text.contains("CAP_NET_BIND_SERVICE")));
}

#[test]
fn an_unknown_port_is_still_explained() {
    let reg = Registry::builtin();
    let e = explain::explain(&reg, 50123, None, Some((32768, 60999)));
    assert!(e.names.is_empty());
    assert_eq!((e.class, e.ephemeral), ("dynamic", Some(true)));
    let t = text(&report(&e, &[]));
    assert!(t.contains("none"), "{t}");
    assert!(t.contains("dynamic"), "{t}");
    assert!(t.contains("ephemeral:  yes"), "{t}");
    assert!(
        e.facts.iter().any(|f| f.text.starts_with("ephemeral")),
        "{:?}",
        e.facts
    );
}

#[test]
fn hostile_process_names_are_escaped_in_text() {
    let reg = Registry::builtin();
    let rows = [row(
        Proto::Tcp,
        State::LISTEN,
        8080,
        0,
        b"ev\x1b[31mil\xff\xe2\x80\xae",
    )];
    let e = explain::explain(&reg, 8080, None, None);
    let t = text(&report(&e, &rows));
    assert!(!t.contains('\x1b') && !t.contains('\u{202e}'), "{t:?}");
    // README "Untrusted text": ESC is `\e`, like in the table.
    assert!(t.contains("ev\\e[31mil\\xff\\u{202e}(99)"), "{t}");
}

#[test]
fn specs_accept_ports_protocols_and_names() {
    let reg = Registry::builtin();
    assert_eq!(explain::parse_spec(&reg, "5432"), Ok((5432, None)));
    assert_eq!(explain::parse_spec(&reg, "53/udp"), Ok((53, Some("udp"))));
    assert_eq!(explain::parse_spec(&reg, "https"), Ok((443, None)));
    assert_eq!(explain::parse_spec(&reg, "ntp/udp"), Ok((123, Some("udp"))));
    assert!(explain::parse_spec(&reg, "70000").is_err());
    assert!(explain::parse_spec(&reg, "22/icmp").is_err());
    assert!(explain::parse_spec(&reg, "no-such-service-xyz").is_err());
}
