//! Linux sources: netlink sock_diag (default), /proc/net text (fallback, raw, fixtures), the
//! /proc/<pid>/fd owner scan, other network namespaces (`netns`) and container and unit
//! attribution (`cgroup`).

pub mod audit;
pub mod cgroup;
pub mod host;
pub mod netlink;
pub mod netns;
pub mod owners;
pub mod process;
pub mod procmount;
pub mod procnet;
pub mod sockstat;

use crate::error::Result;
use crate::model::{Family, Proto, Query, Snapshot, Warning};
use std::path::Path;

/// The (proto, family) tables a query touches, in ss's output order.
pub(crate) fn tables(q: &Query) -> Vec<(Proto, Family)> {
    let mut v = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp, Proto::Raw] {
        if !q.wants(proto) {
            continue;
        }
        if q.ipv4 {
            v.push((proto, Family::Ipv4));
        }
        if q.ipv6 {
            v.push((proto, Family::Ipv6));
        }
    }
    if q.unix {
        v.push((Proto::Unix, Family::Unix));
    }
    v
}

/// netlink for TCP, UDP and UNIX; /proc/net for raw sockets (no raw diag module on most
/// kernels) and for any table whose netlink dump is unavailable.
/// With the extras `q.detail` asks for; sockets read from /proc/net (raw, fallbacks) have
/// none: the text tables do not carry them.
///
/// The tables are dumped at once, one thread each: the kernel walks the whole TCP hash for
/// each family's dump and fills the messages inside our recvmsg, so on a big host the IPv6
/// dump (and UDP, unix) costs nothing beside the IPv4 one when there is a core free. New
/// threads start in the calling thread's network namespace, where their sockets are opened.
pub fn read_sockets_netlink(proc_root: &Path, q: &Query) -> Result<Snapshot> {
    let detail = q.detail;
    let tables = tables(q);
    let dump = |(proto, family): (Proto, Family)| match proto {
        Proto::Raw => None,
        Proto::Unix => Some(netlink::dump_unix_detail(q.states, detail)),
        _ => Some(netlink::dump_inet_ports(
            proto,
            family,
            q.states,
            detail,
            q.local_ports.of(proto),
        )),
    };
    let dumped = in_parallel(&tables, dump);
    let mut snap = Snapshot::default();
    for ((proto, family), dumped) in tables.into_iter().zip(dumped) {
        match dumped {
            // The first table is moved, not copied: on a big host it is the TCP one.
            Some(Ok(socks)) if snap.sockets.is_empty() => snap.sockets = socks,
            Some(Ok(socks)) => snap.sockets.extend(socks),
            Some(Err(e)) => {
                // A missing diag module ends the dump with an error in NLMSG_DONE; the text
                // table still has the sockets, so fall back for this table only.
                snap.warnings.push(Warning::new(
                    "netlink-unavailable",
                    format!(
                        "netlink sock_diag for {} {} failed ({e}); read /proc/net instead",
                        proto.name(),
                        family.name()
                    ),
                ));
                procnet::read_table(proc_root, proto, family, q.states, &mut snap);
            }
            None => procnet::read_table(proc_root, proto, family, q.states, &mut snap),
        }
    }
    Ok(snap)
}

/// The cores this process may run on (its affinity and cgroup quota), read once: the
/// standard library reads the cgroup files on every call.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` of each item, the first on this thread and the others on one thread each, results
/// in the items' order. A thread that cannot start or panicked has its item done here.
fn in_parallel<T: Copy + Send + Sync, R: Send>(items: &[T], f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let Some((&first, rest)) = items.split_first() else {
        return Vec::new();
    };
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = rest
            .iter()
            .map(|&item| std::thread::Builder::new().spawn_scoped(s, move || f(item)))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        out.push(f(first));
        for (h, &item) in handles.into_iter().zip(rest) {
            out.push(match h.map(|h| h.join()) {
                Ok(Ok(r)) => r,
                _ => f(item),
            });
        }
        out
    })
}

/// The ephemeral port range (`net/ipv4/ip_local_port_range` under the proc root). `/proc/sys/net`
/// files are looked up in the network namespace of the thread that opens them, so a thread
/// that entered another namespace reads that namespace's range.
pub fn ephemeral_range(proc_root: &Path) -> Option<(u16, u16)> {
    let text = std::fs::read_to_string(proc_root.join("sys/net/ipv4/ip_local_port_range")).ok()?;
    let mut it = text.split_whitespace().map(|s| s.parse::<u16>().ok());
    let lo = it.next()??;
    let hi = it.next()??;
    (lo <= hi).then_some((lo, hi))
}

/// Interface name for an index in the calling thread's network namespace (`%lo` in
/// addresses); `None` when it has none there (it is in another namespace, or gone).
pub fn iface_name(index: u32) -> Option<String> {
    nix::net::if_::if_indextoname(index)
        .ok()
        .and_then(|c| c.into_string().ok())
}
