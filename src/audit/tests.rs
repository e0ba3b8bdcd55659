//! Table tests of the checks on rows built in memory: reach, catalog, registry names,
//! probe answers, firewall downgrade, allow file, holder executables, grouping, JSON shape.

use super::*;
use crate::model::OptU32;
use crate::model::{Endpoint, Family, Owner, Proto, SockType, Socket, State, Text};
use crate::registry::{AnnotateCtx, Registry};
use std::collections::HashSet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

fn row(proto: Proto, addr: &str, port: u16, pid: u32, comm: &str) -> Row {
    let addr: IpAddr = addr.parse().unwrap();
    let family = if addr.is_ipv4() {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    let state = if proto == Proto::Tcp {
        State::LISTEN
    } else {
        State::CLOSE
    };
    let sock = Socket {
        local: Some(Endpoint::Inet { addr, port }),
        inode: u64::from(port) * 10 + u64::from(family == Family::Ipv6),
        uid: OptU32::some(0),
        v6only: (family == Family::Ipv6).then_some(false),
        ..Socket::new(proto, family, SockType::Stream, state)
    };
    let listening = HashSet::new();
    let ctx = AnnotateCtx {
        ephemeral: None,
        listening: &listening,
        owners: None,
    };
    let service = Registry::builtin().annotate(&sock, &ctx).map(Arc::new);
    let owner = Owner::new(pid, comm, 3, Some(0));
    Row {
        owners: Some(vec![owner].into()),
        service,
        ..Row::new(sock)
    }
}

fn tcp(addr: &str, port: u16) -> Row {
    row(Proto::Tcp, addr, port, 100 + u32::from(port), "daemon")
}

fn facts() -> Facts {
    let ifaces = vec![
        Interface {
            name: "lo".into(),
            up: true,
            loopback: true,
            addrs: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        },
        Interface {
            name: "veth0".into(),
            up: true,
            loopback: false,
            addrs: vec!["10.9.0.1".parse().unwrap()],
        },
    ];
    let mut f = Facts::default();
    f.namespaces.insert(
        None,
        NamespaceFacts {
            interfaces: ifaces,
            firewall: None,
        },
    );
    f
}

fn ids(r: &Report) -> Vec<(&'static str, &'static str, u16)> {
    r.findings
        .iter()
        .map(|f| (f.id.name(), f.severity.name(), f.port))
        .collect()
}

/// Expected (id, severity) pairs, most severe first.
type Expected = &'static [(&'static str, &'static str)];

fn run(rows: &[Row], facts: &Facts) -> Report {
    audit(rows, facts, &AllowList::default())
}

#[test]
fn reach_decides_plaintext_and_private_services() {
    // (bind address, port, expected findings)
    #[rustfmt::skip]
    let table: &[(&str, u16, Expected)] = &[
        ("0.0.0.0", 23, &[("plaintext-login", "high")]),
        ("127.0.0.1", 23, &[]),
        ("::1", 23, &[]),
        ("10.9.0.1", 23, &[("plaintext-login", "high")]),
        ("0.0.0.0", 6379, &[("private-service-exposed", "high")]),
        ("::", 6379, &[("private-service-exposed", "high")]),
        ("203.0.113.7", 6379, &[("private-service-exposed", "high")]),
        ("10.9.0.1", 6379, &[("private-service-exposed", "medium")]),
        ("127.0.0.1", 6379, &[]),
        ("0.0.0.0", 22, &[("exposed-listener", "info")]),
        ("0.0.0.0", 110, &[("plaintext-login", "high")]),
        ("0.0.0.0", 9229, &[("private-service-exposed", "high")]),
    ];
    for &(addr, port, want) in table {
        let r = run(&[tcp(addr, port)], &facts());
        let got: Vec<(&str, &str)> = ids(&r).into_iter().map(|(i, s, _)| (i, s)).collect();
        assert_eq!(got, want, "{addr}:{port}");
        assert!(r.findings.iter().all(|f| f.port == port));
    }
}

#[test]
fn udp_listeners_count_and_connections_do_not() {
    let snmp = row(Proto::Udp, "0.0.0.0", 161, 7, "snmpd");
    let mut client = row(Proto::Udp, "0.0.0.0", 5353, 8, "x");
    client.sock.remote = Some(Endpoint::Inet {
        addr: "10.9.0.2".parse().unwrap(),
        port: 5353,
    });
    let mut estab = tcp("10.9.0.1", 23);
    estab.sock.state = State::ESTABLISHED;
    let r = run(&[snmp, client, estab], &facts());
    assert_eq!(ids(&r), [("plaintext-login", "high", 161)]);
    assert_eq!(r.summary.listeners, 1);
}

#[test]
fn a_dual_stack_service_is_one_finding_with_both_sockets() {
    let v4 = row(Proto::Tcp, "0.0.0.0", 6379, 50, "redis-server");
    let v6 = row(Proto::Tcp, "::", 6379, 50, "redis-server");
    let other = row(Proto::Tcp, "::", 6379, 51, "imposter");
    let r = run(&[v4, v6, other], &facts());
    assert_eq!(r.findings.len(), 2, "{:?}", ids(&r));
    let redis = r
        .findings
        .iter()
        .find(|f| f.processes[0].comm.as_bytes() == b"redis-server")
        .unwrap();
    assert_eq!(redis.sockets.len(), 2);
    assert_eq!(redis.reach, Reach::Wildcard);
    assert_eq!(redis.interfaces, ["veth0"]);
    assert_eq!(r.summary.listeners, 3);
    assert_eq!(r.summary.exposed, 3);
}

#[test]
fn unnamed_ports_are_unknown_listeners() {
    let reg = Registry::builtin();
    let port = (40000..50000)
        .find(|p| reg.lookup(*p, "tcp").is_none())
        .expect("an unnamed port");
    let r = run(
        &[tcp("0.0.0.0", port), tcp("127.0.0.1", port + 1)],
        &facts(),
    );
    assert_eq!(ids(&r), [("unknown-listener", "medium", port)]);
}

#[test]
fn allow_entries_accept_exposures_by_port_program_and_scope() {
    let path = Path::new("allow");
    let telnet = row(Proto::Tcp, "0.0.0.0", 23, 9, "telnetd");
    let table: &[(&str, usize)] = &[
        ("tcp/23\n", 0),
        ("tcp/23 telnet*\n", 0),
        ("tcp/23 sshd\n", 1),
        ("tcp/23 telnetd private\n", 1),
        ("udp/23\n", 1),
        ("tcp/24\n", 1),
    ];
    for &(text, left) in table {
        let allow = AllowList::parse(text, path).unwrap();
        let r = audit(std::slice::from_ref(&telnet), &facts(), &allow);
        assert_eq!(r.findings.len(), left, "{text:?}");
        assert_eq!(r.summary.allowed, 1 - left, "{text:?}");
    }
    // The holder's executable is not an exposure: an allow entry leaves it.
    let mut f = facts();
    f.exes.insert(
        9,
        ExeInfo {
            path: Some("/usr/sbin/in.telnetd".into()),
            deleted: true,
            world_writable_dir: None,
        },
    );
    let allow = AllowList::parse("tcp/23\n", path).unwrap();
    let r = audit(&[telnet], &f, &allow);
    assert_eq!(ids(&r), [("deleted-executable", "high", 23)]);
}

#[test]
fn suspicious_holders_are_high_even_on_loopback() {
    let mut f = facts();
    let exe = |deleted, ww: Option<&str>| ExeInfo {
        path: Some("/tmp/x/agent".into()),
        deleted,
        world_writable_dir: ww.map(Text::from),
    };
    f.exes.insert(100 + 8000, exe(true, None));
    f.exes.insert(100 + 8001, exe(false, Some("/tmp")));
    f.exes.insert(100 + 8002, exe(true, Some("/dev/shm")));
    f.exes.insert(100 + 8003, exe(false, None));
    let rows = [
        tcp("127.0.0.1", 8000),
        tcp("127.0.0.1", 8001),
        tcp("127.0.0.1", 8002),
        tcp("127.0.0.1", 8003),
        tcp("127.0.0.1", 8004),
    ];
    let r = run(&rows, &f);
    assert_eq!(
        ids(&r),
        [
            ("deleted-executable", "high", 8000),
            ("world-writable-exe", "high", 8001),
            ("deleted-executable", "high", 8002),
            ("world-writable-exe", "high", 8002),
        ]
    );
    assert_eq!(
        r.findings[0].processes[0].exe.as_ref().unwrap().as_bytes(),
        b"/tmp/x/agent"
    );
    assert_eq!(r.findings[0].reach, Reach::Loopback);
}

fn firewall_dropping(port: u16) -> Firewall {
    let json = format!(
        r#"{{"nftables": [{{"chain": {{"family": "inet", "table": "f", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}}},
        {{"rule": {{"family": "inet", "table": "f", "chain": "input", "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": {port}}}}}, {{"drop": null}}]}}}}]}}"#
    );
    Firewall {
        nft: Some(
            firewall::nft::Ruleset::from_json(&serde_json::from_str(&json).unwrap()).unwrap(),
        ),
        legacy_rules: Some(false),
    }
}

#[test]
fn dropped_ports_are_downgraded_not_hidden() {
    let mut f = facts();
    f.namespaces.get_mut(&None).unwrap().firewall = Some(firewall_dropping(23));
    let r = run(&[tcp("0.0.0.0", 23), tcp("0.0.0.0", 6379)], &f);
    assert_eq!(
        ids(&r),
        [
            ("private-service-exposed", "high", 6379),
            ("plaintext-login", "low", 23)
        ]
    );
    assert_eq!(r.findings[0].firewall, Some(FirewallVerdict::Accepts));
    assert_eq!(r.findings[1].firewall, Some(FirewallVerdict::Drops));
    assert!(r.findings[1].why.contains("firewall drops"));
    assert!(r.fails(Severity::High));
    let only23 = run(&[tcp("0.0.0.0", 23)], &f);
    assert!(!only23.fails(Severity::Medium) && only23.fails(Severity::Low));
    // An unreadable ruleset: unknown, nothing downgraded.
    f.namespaces.get_mut(&None).unwrap().firewall = Some(Firewall::default());
    let r = run(&[tcp("0.0.0.0", 23)], &f);
    assert_eq!(r.findings[0].firewall, Some(FirewallVerdict::Unknown));
    assert_eq!(r.findings[0].severity, Severity::High);
}

#[test]
fn probe_answers_override_port_numbers() {
    // (port, probe answer, expected findings)
    #[rustfmt::skip]
    let table: &[(u16, Option<Protocol>, Expected)] = &[
        (23, Some(Protocol::Tls), &[("tls-on-plaintext-port", "info")]),
        (23, Some(Protocol::Unknown), &[("plaintext-login", "high")]),
        (23, Some(Protocol::Ssh), &[("exposed-listener", "info")]),
        (23, Some(Protocol::Telnet), &[("plaintext-login", "high")]),
        (443, Some(Protocol::Http), &[("plaintext-unexpected-port", "medium")]),
        (443, Some(Protocol::Tls), &[("exposed-listener", "info")]),
        (443, None, &[("exposed-listener", "info")]),
        (2121, Some(Protocol::Ftp), &[("plaintext-login", "high")]),
        (587, Some(Protocol::SmtpNoStarttls), &[("plaintext-login", "high")]),
        (587, Some(Protocol::Smtp), &[("exposed-listener", "info")]),
        (110, Some(Protocol::Pop3), &[("plaintext-login", "high")]),
        (110, Some(Protocol::Pop3Starttls), &[("exposed-listener", "info")]),
        (143, Some(Protocol::ImapStarttls), &[("exposed-listener", "info")]),
        (8143, Some(Protocol::Imap), &[("plaintext-login", "high"), ("unknown-listener", "medium")]),
        (22, Some(Protocol::Http), &[("plaintext-unexpected-port", "medium")]),
    ];
    for &(port, answer, want) in table {
        let mut f = facts();
        if let Some(p) = answer {
            f.probes = Some([((None, port), p)].into_iter().collect());
        }
        let r = run(&[tcp("0.0.0.0", port)], &f);
        let got: Vec<(&str, &str)> = ids(&r).into_iter().map(|(i, s, _)| (i, s)).collect();
        assert_eq!(got, want, "{port} {answer:?}");
        assert_eq!(r.findings[0].protocol, answer.map(Protocol::name));
    }
    // Probed, but the port is missing from the answers: unknown, not a guess.
    let mut f = facts();
    f.probes = Some(Default::default());
    let r = run(&[tcp("0.0.0.0", 23)], &f);
    assert_eq!(r.findings[0].protocol, Some("unknown"));
}

#[test]
fn probe_targets_are_exposed_tcp_listeners_once_per_port() {
    let rows = [
        tcp("0.0.0.0", 23),
        tcp("::", 23),
        tcp("127.0.0.1", 24),
        tcp("10.9.0.1", 25),
        row(Proto::Udp, "0.0.0.0", 161, 1, "snmpd"),
    ];
    let t: Vec<String> = probe_targets(&rows, &facts())
        .into_iter()
        .map(|(_, port, addr)| format!("{port}={addr}"))
        .collect();
    assert_eq!(t, ["23=127.0.0.1:23", "25=10.9.0.1:25"]);
}

#[test]
fn report_json_has_schema_findings_and_summary() {
    let mut f = facts();
    f.user_names.insert(0, "root".into());
    let r = run(&[tcp("0.0.0.0", 23), tcp("0.0.0.0", 22)], &f);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["schema"], 1);
    let first = &v["findings"][0];
    assert_eq!(first["id"], "plaintext-login");
    assert_eq!(first["severity"], "high");
    assert_eq!(first["proto"], "tcp");
    assert_eq!(first["port"], 23);
    assert_eq!(first["service"], "telnet");
    assert_eq!(first["reach"], "wildcard");
    assert_eq!(first["interfaces"], serde_json::json!(["veth0"]));
    assert_eq!(first["firewall"], serde_json::Value::Null);
    assert_eq!(first["sockets"][0]["address"], "0.0.0.0");
    assert_eq!(first["processes"][0]["comm"], "daemon");
    assert_eq!(first["processes"][0]["user"], "root");
    assert_eq!(first["container"], serde_json::Value::Null);
    assert!(first["why"].as_str().unwrap().ends_with(')'));
    assert!(first["fix"].as_str().unwrap().ends_with('.'));
    assert_eq!(v["summary"]["high"], 1);
    assert_eq!(v["summary"]["info"], 1);
    assert_eq!(v["summary"]["max_severity"], "high");
    assert_eq!(v["summary"]["listeners"], 2);
    let empty = serde_json::to_value(run(&[], &f)).unwrap();
    assert_eq!(empty["summary"]["max_severity"], serde_json::Value::Null);
    assert_eq!(empty["findings"], serde_json::json!([]));
}

#[test]
fn findings_carry_the_namespace_container_and_unit_the_rows_agree_on() {
    use crate::model::{Container, Netns, Runtime, Unit};
    let ns = Arc::new(Netns {
        inode: std::num::NonZeroU64::new(4026532000).unwrap(),
        name: Some("blue".into()),
        host: false,
    });
    let web = Arc::new(Container {
        name: Some("web".into()),
        ..Container::new(Runtime::Podman, "ab".repeat(32))
    });
    let place = |mut r: Row, c: Option<&Arc<Container>>| {
        r.netns = Some(Arc::clone(&ns));
        r.rare.container = c.cloned();
        r.rare.unit = Some(Arc::new(Unit {
            name: "web.service".into(),
            user: None,
        }));
        r
    };
    let mut f = facts();
    f.namespaces.insert(
        Some(ns.inode),
        f.namespaces.get(&None).cloned().unwrap_or_default(),
    );
    let with_ns = |mut r: Row| {
        r.sock.netns = NonZeroU32::try_from(ns.inode).ok();
        r
    };
    let r = run(
        &[
            with_ns(place(tcp("0.0.0.0", 6379), Some(&web))),
            with_ns(place(tcp("::", 6379), Some(&web))),
        ],
        &f,
    );
    let v = serde_json::to_value(&r.findings[0]).unwrap();
    assert_eq!(
        v["netns"],
        serde_json::json!({"inode": 4026532000u64, "name": "blue", "host": false})
    );
    assert_eq!(v["container"]["runtime"], "podman");
    assert_eq!(v["container"]["name"], "web");
    assert_eq!(v["container"]["id"], "ab".repeat(32));
    assert_eq!(v["unit"], "web.service");
    assert_eq!(r.findings[0].interfaces, ["veth0"], "the namespace's facts");
    // One socket of the service in no container: the finding names none, not a guess.
    let r = run(
        &[
            with_ns(place(tcp("0.0.0.0", 6379), Some(&web))),
            with_ns(place(tcp("::", 6379), None)),
        ],
        &f,
    );
    assert_eq!(r.findings[0].container, None);
    assert_eq!(r.findings[0].unit.as_deref(), Some("web.service"));
}

#[test]
fn json_keeps_exact_bytes_of_names_that_are_not_utf8() {
    let mut bad = row(Proto::Tcp, "0.0.0.0", 23, 7, "x");
    if let Some(o) = bad.owners.as_mut() {
        let mut v: Vec<Owner> = o.iter().cloned().collect();
        v[0] = Owner::new(v[0].pid, &b"bad\xff\x1b[2J"[..], v[0].fd, v[0].uid());
        *o = v.into();
    }
    let mut f = facts();
    f.exes.insert(
        7,
        ExeInfo {
            path: Some(Text::from(&b"/tmp/\xfe"[..])),
            deleted: true,
            world_writable_dir: None,
        },
    );
    let text = serde_json::to_string(&run(&[bad], &f)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = &v["findings"][0]["processes"][0];
    assert_eq!(p["comm"], "bad\u{fffd}\u{1b}[2J");
    assert_eq!(p["comm_hex"], "626164ff1b5b324a");
    assert_eq!(p["exe_hex"], "2f746d702ffe");
    let ok = run(&[tcp("0.0.0.0", 23)], &facts());
    let v = serde_json::to_value(&ok).unwrap();
    let p = &v["findings"][0]["processes"][0];
    assert!(p.get("comm_hex").is_none() && p["exe"].is_null());
}

#[test]
fn namespaces_added_by_key_keep_their_own_interfaces_and_firewall() {
    let ns = std::num::NonZeroU64::new(9).unwrap();
    let lo = Interface {
        name: "lo".into(),
        up: true,
        loopback: true,
        addrs: vec!["127.0.0.1".parse().unwrap()],
    };
    let (mut f, w) = Facts::from_host(crate::model::HostFacts::default());
    assert!(w.is_empty());
    let w = f.add_namespace(
        Some(ns),
        crate::model::HostFacts {
            interfaces: vec![lo],
            nft_ruleset: Some(Err("`nft` is not installed".into())),
            ..Default::default()
        },
    );
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].kind, "firewall-unreadable");
    let mut r = tcp("0.0.0.0", 23);
    r.sock.netns = NonZeroU32::try_from(ns).ok();
    let rep = run(&[r], &f);
    assert_eq!(rep.findings[0].firewall, Some(FirewallVerdict::Unknown));
    assert!(rep.findings[0].interfaces.is_empty(), "only lo there");
}
