//! The checks: listeners grouped into services, each group judged by reach, port catalog,
//! registry name, probe answer, firewall verdict and holder executable. Pure.

use super::allow::AllowList;
use super::catalog;
use super::finding::{
    ContainerRef, Finding, FindingId, FirewallVerdict, NetnsRef, ProcessRef, Report, Severity,
    SocketRef,
};
use super::probe::Protocol;
use super::reach::{exposure, Exposure, Reach};
use super::{Facts, NamespaceFacts};
use crate::model::Row;
use crate::model::{Endpoint, Family, Proto, State};
use std::collections::BTreeMap;
use std::num::NonZeroU64;

/// A listener: TCP in LISTEN, or a bound UDP socket with no peer (ss's UNCONN).
pub fn is_listener(r: &Row) -> bool {
    let s = &r.sock;
    let bound = s
        .local
        .as_ref()
        .and_then(Endpoint::port)
        .is_some_and(|p| p != 0);
    bound
        && match s.proto {
            Proto::Tcp => s.state == State::LISTEN,
            Proto::Udp => s
                .remote
                .as_ref()
                .and_then(Endpoint::port)
                .is_none_or(|p| p == 0),
            Proto::Unix | Proto::Raw => false,
        }
}

/// The sockets of one service: same namespace, protocol and port, held by the same programs
/// (a daemon's IPv4 and IPv6 sockets, a pre-fork server's shared one). Sockets nobody is
/// known to hold group by their uid instead.
struct Group<'a> {
    netns: Option<NonZeroU64>,
    proto: Proto,
    port: u16,
    rows: Vec<&'a Row>,
}

type GroupKey = (Option<NonZeroU64>, Proto, u16, Vec<Vec<u8>>, Option<u32>);

fn groups(rows: &[Row]) -> Vec<Group<'_>> {
    let mut map: BTreeMap<GroupKey, Vec<&Row>> = BTreeMap::new();
    for r in rows.iter().filter(|r| is_listener(r)) {
        let Some(port) = r.sock.local.as_ref().and_then(Endpoint::port) else {
            continue;
        };
        let mut comms: Vec<Vec<u8>> = r
            .owners
            .iter()
            .flat_map(|o| o.iter())
            .map(|o| o.comm().as_bytes().to_vec())
            .collect();
        comms.sort();
        comms.dedup();
        let uid = if comms.is_empty() {
            r.sock.uid.get()
        } else {
            None
        };
        map.entry((r.sock.netns_inode(), r.sock.proto, port, comms, uid))
            .or_default()
            .push(r);
    }
    map.into_iter()
        .map(|((netns, proto, port, _, _), rows)| Group {
            netns,
            proto,
            port,
            rows,
        })
        .collect()
}

fn socket_ref(r: &Row) -> Option<SocketRef> {
    let Some(Endpoint::Inet { addr, port }) = r.sock.local.as_ref() else {
        return None;
    };
    Some(SocketRef {
        family: match r.sock.family {
            Family::Ipv6 => "ipv6",
            _ => "ipv4",
        },
        address: *addr,
        port: *port,
        v6only: r.sock.v6only,
        inode: r.sock.inode,
        device: r.rare.iface.as_deref().map(String::from),
    })
}

fn processes(rows: &[&Row], facts: &Facts) -> Vec<ProcessRef> {
    let mut v: Vec<ProcessRef> = rows
        .iter()
        .flat_map(|r| r.owners.iter().flat_map(|o| o.iter()))
        .map(|o| ProcessRef {
            pid: o.pid,
            comm: o.comm().clone(),
            exe: facts.exes.get(&o.pid).and_then(|e| e.path.clone()),
            uid: o.uid(),
            user: o.uid().and_then(|u| facts.user_names.get(&u).cloned()),
        })
        .collect();
    v.sort();
    v.dedup_by_key(|p| p.pid);
    v
}

/// One value every row agrees on; `None` when they differ or none has one (never a guess).
fn agreed<T: PartialEq>(rows: &[&Row], f: impl Fn(&Row) -> Option<T>) -> Option<T> {
    let mut vals = rows.iter().map(|r| f(r));
    let first = vals.next()??;
    vals.all(|v| v.as_ref() == Some(&first)).then_some(first)
}

/// Where a group's sockets live: namespace, container and unit, as the listing joined them.
fn placement(rows: &[&Row]) -> (Option<NetnsRef>, Option<ContainerRef>, Option<String>) {
    let netns = agreed(rows, |r| {
        r.netns.as_deref().map(|n| NetnsRef {
            inode: n.inode.get(),
            name: n.name.clone(),
            host: n.host,
        })
    });
    let container = agreed(rows, |r| {
        r.rare.container.as_deref().map(|c| ContainerRef {
            runtime: c.runtime.name(),
            id: c.id.clone(),
            name: c.name.clone(),
            pod: c.pod.clone(),
            namespace: c.namespace.clone(),
        })
    });
    let unit = agreed(rows, |r| r.rare.unit.as_deref().map(|u| u.name.clone()));
    (netns, container, unit)
}

/// What the port catalog, the registry and the probe say of an exposed group, before the
/// firewall and the allow file: (id, severity, why, fix).
fn exposure_checks(
    g: &Group,
    reach: Reach,
    probed: Option<Protocol>,
) -> Vec<(FindingId, Severity, String, String)> {
    let mut out = Vec::new();
    let proto = g.proto.name();
    // What the probe identified; `None` without --probe or when it could not tell.
    let known = probed.filter(|p| *p != Protocol::Unknown);
    match (catalog::plaintext_login(g.port, proto), known) {
        (Some((name, why, fix)), None) => {
            out.push((FindingId::PlaintextLogin, Severity::High, format!("{why} ({name} port, reachable beyond loopback)"), fix.into()));
        }
        (Some((name, _, _)), Some(Protocol::Tls)) => out.push((
            FindingId::TlsOnPlaintextPort,
            Severity::Info,
            format!("The {name} port answers with TLS, so its traffic is encrypted although the port number suggests otherwise."),
            "Nothing to do if clients expect TLS here; document the port so nobody mistakes it.".into(),
        )),
        _ => {}
    }
    if let Some(p) = known.filter(|p| p.plaintext_login()) {
        out.push((
            FindingId::PlaintextLogin,
            Severity::High,
            format!("The port answers as {}, which sends passwords unencrypted, and is reachable beyond loopback.", p.name()),
            "Require TLS (or ssh) for it, or bind it to 127.0.0.1.".into(),
        ));
    } else if let Some(p) = known.filter(|p| p.plaintext()) {
        if let Some(e) = catalog::expected(g.port).filter(|e| !p.is(*e)) {
            out.push((
                FindingId::PlaintextUnexpectedPort,
                Severity::Medium,
                format!(
                    "The port answers as plaintext {} where clients expect {}.",
                    p.name(),
                    e.name()
                ),
                "Serve the expected protocol here, or move the service to its own port.".into(),
            ));
        }
    }
    if let Some((name, why)) = catalog::private_service(g.port, proto) {
        let severity = if reach.public_like() {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push((
            FindingId::PrivateServiceExposed,
            severity,
            format!("{why} ({name}, reachable beyond loopback)"),
            "Bind it to 127.0.0.1 (or a private interface behind a firewall) and require authentication.".into(),
        ));
    }
    let service = g.rows.iter().find_map(|r| r.service.as_ref());
    if service.is_some_and(|a| a.service.is_none()) {
        out.push((
            FindingId::UnknownListener,
            Severity::Medium,
            "No registry or label names this port, so nobody has said what it is for, yet it is reachable beyond loopback.".into(),
            "Find out what it serves; stop it, bind it to 127.0.0.1, or label it and add it to the allow file.".into(),
        ));
    }
    if out.is_empty() {
        out.push((
            FindingId::ExposedListener,
            Severity::Info,
            "The port is reachable beyond loopback.".into(),
            "Nothing to do if it is meant to be; add it to the allow file to say so.".into(),
        ));
    }
    out
}

/// A check of the holding process: id, test on its executable, why, fix.
type HolderCheck = (
    FindingId,
    fn(&super::ExeInfo) -> bool,
    &'static str,
    &'static str,
);

/// One group's findings; `allowed` counts those the allow file accepted.
fn group_findings(
    g: &Group,
    facts: &Facts,
    allow: &AllowList,
    allowed: &mut usize,
) -> Vec<Finding> {
    let no_facts = NamespaceFacts::default();
    let ns = facts.namespaces.get(&g.netns).unwrap_or(&no_facts);
    let exposures: Vec<(&Row, Exposure)> = g
        .rows
        .iter()
        .filter_map(|r| {
            Some((
                *r,
                exposure(&r.sock, r.rare.iface.as_deref(), &ns.interfaces)?,
            ))
        })
        .collect();
    let exposed: Vec<&(&Row, Exposure)> = exposures
        .iter()
        .filter(|(_, e)| e.reach.exposed())
        .collect();
    let procs = processes(&g.rows, facts);
    let service = g
        .rows
        .iter()
        .find_map(|r| r.service.as_ref()?.service.as_ref().map(|s| s.name.clone()));
    let user = g
        .rows
        .iter()
        .find_map(|r| r.rare.user.as_deref().map(String::from));
    let (netns, container, unit) = placement(&g.rows);
    let probed = facts
        .probes
        .as_ref()
        .filter(|_| g.proto == Proto::Tcp)
        .map(|p| {
            p.get(&(g.netns, g.port))
                .copied()
                .unwrap_or(Protocol::Unknown)
        });
    let base = |id, severity, rows: &[&Row], reach, why: String, fix: String| Finding {
        id,
        severity,
        proto: g.proto.name(),
        port: g.port,
        service: service.clone(),
        sockets: rows.iter().filter_map(|r| socket_ref(r)).collect(),
        reach,
        interfaces: Vec::new(),
        firewall: None,
        protocol: probed.map(Protocol::name),
        processes: procs.clone(),
        user: user.clone(),
        netns: netns.clone(),
        container: container.clone(),
        unit: unit.clone(),
        why,
        fix,
    };
    let mut out = Vec::new();
    if let Some(reach) = exposed.iter().map(|(_, e)| e.reach).max() {
        let mut interfaces: Vec<String> = exposed
            .iter()
            .flat_map(|(_, e)| e.interfaces.clone())
            .collect();
        interfaces.sort();
        interfaces.dedup();
        let firewall = ns.firewall.as_ref().and_then(|fw| {
            FirewallVerdict::combine(
                exposed
                    .iter()
                    .filter_map(|(_, e)| fw.verdict_for(g.proto, g.port, e, &ns.interfaces)),
            )
        });
        let comms: Vec<&[u8]> = procs.iter().map(|p| p.comm.as_bytes()).collect();
        let rows: Vec<&Row> = exposed.iter().map(|(r, _)| *r).collect();
        for (id, severity, why, fix) in exposure_checks(g, reach, probed) {
            if allow
                .accepts(g.proto.name(), g.port, &comms, reach)
                .is_some()
            {
                *allowed += 1;
                continue;
            }
            let (severity, why) = match firewall {
                Some(FirewallVerdict::Drops) => (
                    severity.downgraded(),
                    format!("{why} The firewall drops new connections to it now, so it is one rule change away."),
                ),
                _ => (severity, why),
            };
            let mut f = base(id, severity, &rows, reach, why, fix);
            f.interfaces = interfaces.clone();
            f.firewall = firewall;
            out.push(f);
        }
    }
    let reach = exposures
        .iter()
        .map(|(_, e)| e.reach)
        .max()
        .unwrap_or(Reach::Loopback);
    let holder_checks: [HolderCheck; 2] = [
        (
            FindingId::DeletedExecutable,
            |e| e.deleted,
            "The program holding this port was deleted or replaced on disk since it started (an upgrade not yet restarted, or a program hiding its file).",
            "Find out what it is (ls -l /proc/PID/exe) and restart the service from its installed binary.",
        ),
        (
            FindingId::WorldWritableExe,
            |e| e.world_writable_dir.is_some(),
            "The program holding this port runs from a directory anyone can write to (such as /tmp or /dev/shm), where malware and stray builds live.",
            "Find out what it is, stop it, and run services only from root-owned directories.",
        ),
    ];
    for (id, bad, why, fix) in holder_checks {
        let hit: Vec<ProcessRef> = procs
            .iter()
            .filter(|p| facts.exes.get(&p.pid).is_some_and(bad))
            .cloned()
            .collect();
        if !hit.is_empty() {
            let mut f = base(id, Severity::High, &g.rows, reach, why.into(), fix.into());
            f.processes = hit;
            out.push(f);
        }
    }
    out
}

/// Audit the listeners among `rows`.
pub fn run(rows: &[Row], facts: &Facts, allow: &AllowList) -> Report {
    let gs = groups(rows);
    let mut allowed = 0;
    let mut findings = Vec::new();
    let (mut listeners, mut exposed) = (0, 0);
    for g in &gs {
        let ns = facts.namespaces.get(&g.netns);
        let ifaces = ns.map(|n| n.interfaces.as_slice()).unwrap_or_default();
        for r in &g.rows {
            listeners += 1;
            if exposure(&r.sock, r.rare.iface.as_deref(), ifaces).is_some_and(|e| e.reach.exposed())
            {
                exposed += 1;
            }
        }
        findings.extend(group_findings(g, facts, allow, &mut allowed));
    }
    Report::new(findings, listeners, exposed, allowed)
}

/// The TCP listeners `--probe` should connect to: one per (namespace, port) reachable beyond
/// loopback, with the address to connect to from inside its namespace.
pub fn probe_targets(
    rows: &[Row],
    facts: &Facts,
) -> Vec<(Option<NonZeroU64>, u16, std::net::SocketAddr)> {
    let mut out: Vec<(Option<NonZeroU64>, u16, std::net::SocketAddr)> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| is_listener(r) && r.sock.proto == Proto::Tcp)
    {
        let ifaces = facts
            .namespaces
            .get(&r.sock.netns_inode())
            .map(|n| n.interfaces.as_slice())
            .unwrap_or_default();
        let Some(e) = exposure(&r.sock, r.rare.iface.as_deref(), ifaces) else {
            continue;
        };
        let Some(Endpoint::Inet { addr, port }) = r.sock.local.as_ref() else {
            continue;
        };
        if e.reach.exposed()
            && !out
                .iter()
                .any(|t| (t.0, t.1) == (r.sock.netns_inode(), *port))
        {
            out.push((
                r.sock.netns_inode(),
                *port,
                super::probe::connect::target(*addr, *port),
            ));
        }
    }
    out
}
