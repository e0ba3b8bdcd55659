//! Which container and systemd unit each socket belongs to, and whether a holder sits in
//! another network namespace than the socket (issue #11).
//!
//! - Holders known: their agreed container and unit (`ProcessSource::attribute`), and the
//!   flag when a holder's namespace is known and is not the socket's (a socket made in one
//!   namespace and kept or passed elsewhere: it is still listed under its own).
//! - No holder known (no owner scan, none visible, kernel-owned): the container of the
//!   socket's namespace when every process there is in that one container; no unit.

use crate::model::{Attribution, Container, Row};
use crate::platform::ProcessSource;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Arc;

/// Fill `container`, `unit` and `holder_netns_differs` of every row. Each process and each
/// namespace is asked about once, however many rows share it.
pub(super) fn attribute(rows: &mut [Row], procs: &dyn ProcessSource) {
    let mut one: HashMap<u32, Attribution> = HashMap::new();
    let mut pid_ns: HashMap<u32, Option<NonZeroU64>> = HashMap::new();
    let mut ns_container: HashMap<NonZeroU64, Option<Arc<Container>>> = HashMap::new();
    let mut pids: Vec<u32> = Vec::new();
    for r in rows {
        pids.clear();
        if let Some(owners) = &r.owners {
            // Owners are sorted by (pid, fd): one pid per process after dedup.
            pids.extend(owners.iter().map(|o| o.pid));
            pids.dedup();
        }
        if pids.is_empty() {
            if let Some(ns) = &r.netns {
                let c = ns_container
                    .entry(ns.inode)
                    .or_insert_with(|| procs.namespace_container(ns.inode))
                    .clone();
                r.rare.set(|x| &mut x.container, c);
            }
            continue;
        }
        let a = match pids.as_slice() {
            [pid] => one
                .entry(*pid)
                .or_insert_with(|| procs.attribute(&[*pid]))
                .clone(),
            many => procs.attribute(many),
        };
        r.rare.set(|x| &mut x.container, a.container);
        r.rare.set(|x| &mut x.unit, a.unit);
        if let Some(ns) = &r.netns {
            let known: Vec<NonZeroU64> = pids
                .iter()
                .filter_map(|&p| *pid_ns.entry(p).or_insert_with(|| procs.netns_of_pid(p)))
                .collect();
            let differs = (!known.is_empty()).then(|| known.iter().any(|n| *n != ns.inode));
            r.rare.set(|x| &mut x.holder_netns_differs, differs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, Netns, Owner, Proto, Runtime, SockType, Socket, State, Unit};
    use crate::platform::fake::Fake;

    fn ino(n: u64) -> NonZeroU64 {
        NonZeroU64::new(n).unwrap()
    }

    fn row(inode: u64, netns: u64, holders: Option<&[u32]>) -> Row {
        let mut r = Row::new(Socket {
            inode,
            ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, State::LISTEN)
        });
        r.netns = Some(Arc::new(Netns {
            inode: ino(netns),
            name: None,
            host: netns == 1,
        }));
        r.owners = holders.map(|h| {
            h.iter()
                .map(|&pid| Owner::new(pid, "x", 3, None))
                .collect::<Vec<_>>()
                .into()
        });
        r
    }

    #[test]
    fn holders_then_namespace_and_the_elsewhere_flag() {
        let web = Arc::new(Container::new(Runtime::Podman, "a"));
        let unit = Arc::new(Unit {
            name: "libpod-a.scope".into(),
            user: None,
        });
        let in_web = Attribution {
            container: Some(Arc::clone(&web)),
            unit: Some(unit),
        };
        let mut procs = Fake::default();
        procs.processes.insert(10, (in_web.clone(), Some(ino(2))));
        procs
            .processes
            .insert(20, (Attribution::default(), Some(ino(1))));
        procs.namespace_containers.insert(ino(2), Arc::clone(&web));
        let mut rows = vec![
            row(1, 2, Some(&[10])),
            row(2, 2, None),
            row(3, 2, Some(&[])),
            row(4, 1, None),
            row(5, 2, Some(&[20])),
            row(6, 2, Some(&[10, 20])),
            row(7, 2, Some(&[99])),
        ];
        attribute(&mut rows, &procs);
        let got: Vec<(Option<&str>, bool, Option<bool>)> = rows
            .iter()
            .map(|r| {
                (
                    r.rare.container.as_ref().map(|c| c.id.as_str()),
                    r.rare.unit.is_some(),
                    r.rare.holder_netns_differs,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("a"), true, Some(false)), // its holder's container, same namespace
                (Some("a"), false, None),       // no owner scan: the namespace's container
                (Some("a"), false, None),       // no visible holder: the same
                (None, false, None),            // the host namespace is in no container
                (None, false, Some(true)),      // held from the host: flagged, no container
                (None, false, Some(true)),      // held from both: disagree, flagged
                (None, false, None),            // a holder we know nothing about
            ]
        );
    }
}
