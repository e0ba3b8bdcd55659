//! The metric families of a fake host, collected through the real pipeline.

use super::*;
use crate::export::{collect, encode, Format, Plan};
use crate::model::OptU32;
use crate::model::{Family as AddrFamily, Netns, Owner, SockType, Socket, Warning};
use crate::pipeline::Request;
use crate::platform::fake::Fake;
use crate::registry::Registry;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU64;
use std::sync::Arc;

fn ep(addr: IpAddr, port: u16) -> Option<Endpoint> {
    Some(Endpoint::Inet { addr, port })
}

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const ANY6: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

fn sock(proto: Proto, state: State, local: u16, remote: Option<u16>, inode: u64) -> Socket {
    let kind = if proto == Proto::Tcp {
        SockType::Stream
    } else {
        SockType::Dgram
    };
    Socket {
        local: ep(LO, local),
        remote: remote.map_or_else(|| ep(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), |p| ep(LO, p)),
        inode,
        uid: OptU32::some(1000),
        recv_q: OptU32::some(0),
        send_q: OptU32::some(0),
        ..Socket::new(proto, AddrFamily::Ipv4, kind, state)
    }
}

fn owner(pid: u32, comm: &[u8]) -> Owner {
    Owner::new(pid, comm, 3, Some(1000))
}

/// A web server on :8080 with two SO_REUSEPORT sockets held by forked workers, an ssh daemon
/// on [::]:22 started by systemd (socket activation: two names), a DNS resolver on udp :53,
/// an inbound and an outbound connection, one to a port nobody names, and TIME-WAIT.
fn host() -> Fake {
    let mut web2 = sock(Proto::Tcp, State::LISTEN, 8080, None, 101);
    web2.recv_q = OptU32::some(3);
    web2.send_q = OptU32::some(128);
    let mut web1 = sock(Proto::Tcp, State::LISTEN, 8080, None, 100);
    web1.recv_q = OptU32::some(2);
    web1.send_q = OptU32::some(128);
    let ssh = Socket {
        family: AddrFamily::Ipv6,
        local: ep(ANY6, 22),
        remote: ep(ANY6, 0),
        v6only: Some(false),
        uid: OptU32::some(0),
        ..sock(Proto::Tcp, State::LISTEN, 22, None, 200)
    };
    Fake {
        sockets: vec![
            web1,
            web2,
            ssh,
            sock(Proto::Udp, State::CLOSE, 53, None, 300),
            sock(Proto::Tcp, State::ESTABLISHED, 8080, Some(50000), 102),
            sock(Proto::Tcp, State::ESTABLISHED, 50000, Some(8080), 103),
            sock(Proto::Tcp, State::ESTABLISHED, 50002, Some(443), 104),
            sock(Proto::Tcp, State::ESTABLISHED, 50004, Some(10455), 105),
            sock(Proto::Tcp, State::TIME_WAIT, 8080, Some(50001), 0),
        ],
        owners: vec![
            (100, owner(10, b"web")),
            (100, owner(11, b"web")),
            (101, owner(12, b"web")),
            (200, owner(1, b"systemd")),
            (200, owner(500, b"sshd")),
            (300, owner(30, b"resolver")),
        ],
        ephemeral: Some((32768, 60999)),
        users: [(1000, "alice".to_string()), (0, "root".to_string())].into(),
        netns: Some(Netns {
            inode: NonZeroU64::new(4026531840).unwrap(),
            name: None,
            host: true,
        }),
        ..Fake::default()
    }
}

/// A collection of `fake` with `serve`'s default plan.
fn collect_on(fake: &Fake) -> crate::export::Collected {
    collect(&default_plan(), &[fake], fake, &Registry::builtin())
}

/// `serve`'s default plan: TCP and UDP in every state.
fn default_plan() -> Plan {
    let base = Request::new(Query::inet(true, true, StateSet::ALL));
    Plan::split(base, StateSet::ALL)
}

use crate::model::{Query, StateSet};

fn families_of(fake: &Fake) -> Vec<Family> {
    build(&collect_on(fake), &host_info())
}

fn host_info() -> Host {
    Host {
        version: "9.9.9",
        collections: Some(7),
    }
}

fn family<'a>(fs: &'a [Family], def: &Def) -> &'a Family {
    fs.iter()
        .find(|f| f.def == def)
        .unwrap_or_else(|| panic!("no family {}", def.full_name()))
}

fn int(s: &Sample) -> u64 {
    match s.value {
        Value::Int(v) => v,
        Value::Float(f) => panic!("float {f}"),
    }
}

#[test]
fn one_listener_series_per_address_and_process_name() {
    let fs = families_of(&host());
    let l = family(&fs, &LISTENER);
    // web: two sockets, three holders, one name; ssh: two names; resolver.
    assert_eq!(l.samples.len(), 4, "{:#?}", l.samples);
    let web = l
        .find(&[("port", "8080"), ("process", "web")])
        .expect("web");
    let want = [
        ("proto", "tcp"),
        ("family", "ipv4"),
        ("address", "127.0.0.1"),
        ("port", "8080"),
        ("service", "http-alt"),
        ("process", "web"),
        ("user", "alice"),
        ("netns", "net:[4026531840]"),
        ("container", ""),
        ("unit", ""),
    ];
    let got: Vec<(&str, &str)> = web.labels.iter().map(|(k, v)| (*k, &**v)).collect();
    assert_eq!(got, want);
    for process in ["systemd", "sshd"] {
        let s = l
            .find(&[("port", "22"), ("process", process)])
            .unwrap_or_else(|| panic!("{process}"));
        assert!(s.labels.contains(&("address", "::".into())));
        assert!(s.labels.contains(&("user", "root".into())));
        assert!(s.labels.contains(&("service", "ssh".into())));
    }
    let dns = l.find(&[("proto", "udp"), ("port", "53")]).expect("udp");
    assert!(dns.labels.contains(&("service", "domain".into())));
}

#[test]
fn accept_queues_sum_over_reuseport_sockets_and_skip_udp() {
    let fs = families_of(&host());
    let q = family(&fs, &QUEUE);
    let b = family(&fs, &BACKLOG);
    let web = [("proto", "tcp"), ("port", "8080")];
    assert_eq!(int(q.find(&web).unwrap()), 5);
    assert_eq!(int(b.find(&web).unwrap()), 256);
    assert_eq!(
        q.samples.len(),
        2,
        "8080 and 22; UDP buffers are bytes, not a queue"
    );
    assert!(q.find(&[("proto", "udp")]).is_none());
}

#[test]
fn an_unknown_backlog_is_left_out_not_zero() {
    let mut fake = host();
    for s in fake.sockets.iter_mut().filter(|s| s.inode == 101) {
        s.send_q = OptU32::NONE; // as /proc/net/tcp reads it
    }
    let fs = families_of(&fake);
    let web = [("port", "8080")];
    assert!(family(&fs, &BACKLOG).find(&web).is_none());
    assert!(family(&fs, &BACKLOG).find(&[("port", "22")]).is_some());
    assert_eq!(int(family(&fs, &QUEUE).find(&web).unwrap()), 5);
}

#[test]
fn connections_count_by_server_side_service_and_direction() {
    let fs = families_of(&host());
    let c = family(&fs, &CONNECTIONS);
    let count = |state: &str, service: &str, direction: &str| {
        c.find(&[
            ("state", state),
            ("local_service", service),
            ("direction", direction),
        ])
        .map_or(0, int)
    };
    assert_eq!(count("ESTAB", "http-alt", "inbound"), 1);
    // The client end of the same loopback connection goes out to the same service.
    assert_eq!(count("ESTAB", "http-alt", "outbound"), 1);
    assert_eq!(count("ESTAB", "https", "outbound"), 1);
    assert_eq!(
        count("ESTAB", "other", "outbound"),
        1,
        "10455: nobody names it"
    );
    assert_eq!(count("TIME-WAIT", "http-alt", "inbound"), 1);
    assert_eq!(c.samples.len(), 5, "{:#?}", c.samples);
    for s in &c.samples {
        for (_, v) in &s.labels {
            assert!(
                !v.chars().all(|ch| ch.is_ascii_digit()),
                "a port as label: {v}"
            );
        }
    }
}

#[test]
fn sockets_by_protocol_and_state() {
    let fs = families_of(&host());
    let s = family(&fs, &SOCKETS);
    let n = |proto: &str, state: &str| s.find(&[("proto", proto), ("state", state)]).map(int);
    assert_eq!(n("tcp", "LISTEN"), Some(3));
    assert_eq!(n("tcp", "ESTAB"), Some(4));
    assert_eq!(n("tcp", "TIME-WAIT"), Some(1));
    assert_eq!(n("udp", "UNCONN"), Some(1));
    assert_eq!(int(&family(&fs, &ERROR).samples[0]), 0);
    assert_eq!(int(&family(&fs, &OWNERS_HIDDEN).samples[0]), 0);
    assert_eq!(int(&family(&fs, &COLLECTIONS).samples[0]), 7);
}

#[test]
fn hidden_owners_counted_only_when_the_scan_was_refused() {
    let mut fake = host();
    fake.owners.retain(|(inode, _)| *inode != 300);
    let fs = families_of(&fake);
    assert_eq!(
        int(&family(&fs, &OWNERS_HIDDEN).samples[0]),
        0,
        "nobody refused: the resolver socket has no holder, it is not hidden"
    );
    let l = family(&fs, &LISTENER);
    assert!(l.find(&[("port", "53"), ("process", "")]).is_some());
    fake.denied_pids = 2;
    let fs = families_of(&fake);
    assert_eq!(int(&family(&fs, &OWNERS_HIDDEN).samples[0]), 1);
}

#[test]
fn unreadable_tables_set_scrape_error_and_nothing_read_is_a_failure() {
    let mut fake = host();
    fake.read_warnings = vec![Warning::new("proto-unavailable", "cannot read /x/net/udp")];
    let c = collect_on(&fake);
    assert_eq!(
        c.errors,
        ["cannot read /x/net/udp"],
        "said once for both runs"
    );
    assert!(!c.failed(), "the TCP sockets were read");
    assert_eq!(int(&family(&build(&c, &host_info()), &ERROR).samples[0]), 1);
    fake.sockets.clear();
    let c = collect_on(&fake);
    assert!(c.failed());
    fake.read_warnings.clear();
    let c = collect_on(&fake);
    assert!(!c.failed(), "an empty host is not a failure");
}

#[test]
fn user_label_is_the_uid_when_it_has_no_name_and_empty_when_unknown() {
    let mut fake = host();
    fake.users.clear();
    fake.sockets.retain(|s| s.inode == 300);
    let mut unknown = sock(Proto::Udp, State::CLOSE, 123, None, 301);
    unknown.uid = OptU32::NONE;
    fake.sockets.push(unknown);
    let fs = families_of(&fake);
    let l = family(&fs, &LISTENER);
    assert!(l.find(&[("port", "53"), ("user", "1000")]).is_some());
    assert!(l.find(&[("port", "123"), ("user", "")]).is_some());
}

#[test]
fn hostile_process_names_are_escaped_in_the_exposition() {
    let mut fake = host();
    fake.owners = vec![
        (300, owner(1, b"a\"b\\c\nd}")),
        (300, owner(2, b"\x1b[31mred")),
        (300, owner(3, b"bad\xffutf8")),
    ];
    fake.sockets.retain(|s| s.inode == 300);
    let fs = Arc::new(families_of(&fake));
    for format in [Format::Text, Format::OpenMetrics] {
        let text = encode(Arc::clone(&fs), format);
        // The table's escaping (reversible, no control character left), then the
        // exposition format's: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
        assert!(text.contains(r#"process="a\"b\\\\c\\nd}""#), "{text}");
        assert!(text.contains(r#"process="\\e[31mred""#), "{text}");
        assert!(text.contains(r#"process="bad\\xffutf8""#), "{text}");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character in {text:?}"
        );
        for line in text.lines() {
            assert!(
                line.starts_with('#') || line.starts_with("portwatch_"),
                "a name broke a line: {line:?}"
            );
        }
    }
}

#[test]
fn both_formats_carry_help_type_and_suffixes() {
    let fs = Arc::new(families_of(&host()));
    let text = encode(Arc::clone(&fs), Format::Text);
    for line in [
        "# TYPE portwatch_listener_info gauge",
        "# TYPE portwatch_collections_total counter",
        "portwatch_collections_total 7",
        "portwatch_scrape_error 0",
        "portwatch_build_info{version=\"9.9.9\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    assert!(!text.contains("# EOF"));
    let om = encode(fs, Format::OpenMetrics);
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.lines().any(|l| l == "# TYPE portwatch_listener info"),
        "{om}"
    );
    assert!(om
        .lines()
        .any(|l| l == "# TYPE portwatch_collections counter"));
    for def in DEFS {
        assert!(
            text.contains(&format!("# HELP {} ", def.full_name())),
            "{}",
            def.full_name()
        );
    }
}

#[test]
fn export_has_no_collection_counter() {
    let c = collect_on(&host());
    let fs = build(
        &c,
        &Host {
            collections: None,
            ..host_info()
        },
    );
    assert!(fs.iter().all(|f| f.def != &COLLECTIONS));
}

/// A socket source whose every read fails (netlink refused, out of fds).
struct Broken;

impl crate::platform::SocketSource for Broken {
    fn read_sockets(&self, _: &Query) -> crate::error::Result<crate::model::Snapshot> {
        Err(crate::error::Error::System(
            "sock_diag: Too many open files".into(),
        ))
    }
    fn ephemeral_range(&self) -> Option<(u16, u16)> {
        None
    }
    fn iface_name(&self, _: u32) -> Option<String> {
        None
    }
}

#[test]
fn a_listing_that_fails_is_an_error_said_once_never_a_panic() {
    let c = collect(&default_plan(), &[&Broken], &host(), &Registry::builtin());
    assert!(c.failed());
    assert_eq!(
        c.errors,
        ["sock_diag: Too many open files"],
        "both runs, said once"
    );
    assert!(c.warnings.iter().any(|w| w.kind == "collection-failed"));
    let fs = build(&c, &host_info());
    assert_eq!(int(&family(&fs, &ERROR).samples[0]), 1);
    assert!(family(&fs, &LISTENER).samples.is_empty());
}

#[test]
fn container_and_unit_label_a_listener_held_in_them() {
    use crate::model::{Attribution, Container, Runtime, Unit};
    let mut fake = host();
    let mut web = Container::new(Runtime::Podman, "0123456789ab".repeat(5) + "0123");
    web.name = Some("web-1".into());
    let attribution = Attribution {
        container: Some(Arc::new(web)),
        unit: Some(Arc::new(Unit {
            name: "libpod-0123.scope".into(),
            user: None,
        })),
    };
    for pid in [10, 11, 12] {
        fake.processes.insert(pid, (attribution.clone(), None));
    }
    let fs = families_of(&fake);
    let l = family(&fs, &LISTENER);
    let web = l.find(&[("port", "8080")]).unwrap();
    assert!(
        web.labels.contains(&("container", "web-1".into())),
        "{web:?}"
    );
    assert!(web.labels.contains(&("unit", "libpod-0123.scope".into())));
    let ssh = l.find(&[("port", "22"), ("process", "sshd")]).unwrap();
    assert!(
        ssh.labels.contains(&("container", "".into())),
        "not in one: {ssh:?}"
    );
    assert!(ssh.labels.contains(&("netns", "net:[4026531840]".into())));
}
