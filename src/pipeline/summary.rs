//! `-s`: the totals `ss -s` prints (from the kernel's counters, see model/sockstat.rs), and
//! what ss does not say about the listeners: which accept queues fill up, which listeners
//! hold the most connections, how many listeners each service has.

use crate::model::{Endpoint, Proto, Row, SockStat, SsTotals, State};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// How many listeners each "top" list shows.
pub const TOP: usize = 10;

/// A listener and its load.
#[derive(Debug, Clone)]
pub struct ListenerLoad {
    pub row: Row,
    /// Connections open now on its address (server-side sockets, accepted or waiting to
    /// be; not TIME-WAIT or SYN-RECV); `None` when connections were not read (`-s` without
    /// `-a`).
    pub connections: Option<usize>,
}

impl ListenerLoad {
    /// Accept-queue fill in percent (Recv-Q over the backlog in Send-Q), TCP only.
    pub fn queue_percent(&self) -> Option<u64> {
        let s = &self.row.sock;
        let backlog = s.send_q.get().filter(|&b| b > 0 && s.proto == Proto::Tcp)?;
        Some(u64::from(s.recv_q.get()?) * 100 / u64::from(backlog))
    }
}

/// Listeners of one service name (`None`: no registry layer names the port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCount {
    pub proto: Proto,
    pub service: Option<String>,
    pub listeners: usize,
}

/// Everything `-s` prints.
#[derive(Debug, Clone)]
pub struct Summary {
    pub counters: SockStat,
    pub totals: SsTotals,
    /// The listeners were read (`-sl`, `-sa`): the sections below mean something.
    pub listeners_read: bool,
    /// Listeners with a non-empty accept queue, fullest first (at most `TOP`).
    pub by_queue: Vec<ListenerLoad>,
    /// Listeners with the most connections (at most `TOP`); `None` when connections were not
    /// read.
    pub by_connections: Option<Vec<ListenerLoad>>,
    /// Listeners per (protocol, service), most first.
    pub per_service: Vec<ServiceCount>,
}

fn port(e: &Option<Endpoint>) -> Option<u16> {
    e.as_ref().and_then(Endpoint::port)
}

fn ip(e: &Option<Endpoint>) -> Option<IpAddr> {
    e.as_ref().and_then(Endpoint::ip)
}

/// Which listener accepted a server-side connection: one on the same port whose address is
/// the connection's local address, else a wildcard one of the same family, else a
/// dual-stack `[::]` one (v4 and v4-mapped connections).
fn listener_of(conn: &Row, listeners: &[Row], on_port: &[usize]) -> Option<usize> {
    let c = &conn.sock;
    let local = ip(&c.local)?;
    let v4 = |a: IpAddr| match a {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    };
    let rank = |i: &usize| -> Option<u8> {
        let l = &listeners[*i].sock;
        let a = ip(&l.local)?;
        if a == local {
            Some(0)
        } else if a.is_unspecified() && l.family == c.family {
            Some(1)
        } else if a.is_unspecified() && l.serves_ipv4() && v4(local) {
            Some(2)
        } else {
            None
        }
    };
    on_port
        .iter()
        .filter_map(|i| rank(i).map(|r| (r, *i)))
        .min()
        .map(|(_, i)| i)
}

/// The summary of the counters alone (`-s`: what ss -s prints, nothing read but them).
pub fn counters_only(counters: SockStat) -> Summary {
    Summary {
        counters,
        totals: counters.ss_totals(),
        listeners_read: false,
        by_queue: Vec::new(),
        by_connections: None,
        per_service: Vec::new(),
    }
}

/// Build the summary from the kernel's counters and a listing of the listeners (and, when
/// `with_connections`, of the TCP connections too).
pub fn summarize(counters: SockStat, rows: Vec<Row>, with_connections: bool) -> Summary {
    let is_listener = |r: &Row| matches!(r.sock.state, State::LISTEN | State::CLOSE);
    let (listeners, conns): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(is_listener);
    let mut counts = vec![0usize; listeners.len()];
    if with_connections {
        let mut by_port: HashMap<(Proto, u16), Vec<usize>> = HashMap::new();
        for (i, l) in listeners.iter().enumerate() {
            if l.sock.state == State::LISTEN {
                if let Some(p) = port(&l.sock.local) {
                    by_port.entry((l.sock.proto, p)).or_default().push(i);
                }
            }
        }
        let open = |c: &&Row| {
            c.sock.proto == Proto::Tcp
                && !matches!(
                    c.sock.state,
                    State::TIME_WAIT | State::SYN_RECV | State::NEW_SYN_RECV
                )
        };
        for c in conns.iter().filter(open) {
            let Some(p) = port(&c.sock.local) else {
                continue;
            };
            if let Some(on_port) = by_port.get(&(Proto::Tcp, p)) {
                if let Some(i) = listener_of(c, &listeners, on_port) {
                    counts[i] += 1;
                }
            }
        }
    }
    let mut per: BTreeMap<(Proto, Option<String>), usize> = BTreeMap::new();
    for l in &listeners {
        let name = l
            .service
            .as_ref()
            .and_then(|a| a.service.as_ref())
            .map(|s| s.name.clone());
        *per.entry((l.sock.proto, name)).or_default() += 1;
    }
    let mut per_service: Vec<ServiceCount> = per
        .into_iter()
        .map(|((proto, service), listeners)| ServiceCount {
            proto,
            service,
            listeners,
        })
        .collect();
    // Most listeners first; the BTreeMap's (protocol, name) order among equals.
    per_service.sort_by_key(|c| std::cmp::Reverse(c.listeners));

    let loads: Vec<ListenerLoad> = listeners
        .into_iter()
        .zip(counts)
        .map(|(row, n)| ListenerLoad {
            row,
            connections: with_connections.then_some(n),
        })
        .collect();
    let mut by_queue: Vec<ListenerLoad> = loads
        .iter()
        .filter(|l| l.row.sock.recv_q.get().is_some_and(|q| q > 0) && l.queue_percent().is_some())
        .cloned()
        .collect();
    by_queue.sort_by_key(|l| std::cmp::Reverse(l.queue_percent()));
    by_queue.truncate(TOP);
    let by_connections = with_connections.then(|| {
        let mut v: Vec<ListenerLoad> = loads
            .into_iter()
            .filter(|l| l.row.sock.proto == Proto::Tcp && l.connections.is_some_and(|n| n > 0))
            .collect();
        v.sort_by_key(|l| std::cmp::Reverse(l.connections));
        v.truncate(TOP);
        v
    });
    Summary {
        counters,
        totals: counters.ss_totals(),
        listeners_read: true,
        by_queue,
        by_connections,
        per_service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OptU32;
    use crate::model::{testing, Family, Socket};

    fn tcp(state: State, local: &str, remote: &str, q: (u32, u32)) -> Row {
        let s = testing::tcp(state, local, remote);
        Row::new(Socket {
            recv_q: OptU32::some(q.0),
            send_q: OptU32::some(q.1),
            v6only: (s.family == Family::Ipv6).then_some(false),
            ..s
        })
    }

    #[test]
    fn connections_go_to_the_most_specific_listener() {
        let rows = vec![
            tcp(State::LISTEN, "127.0.0.1:80", "0.0.0.0:0", (0, 128)),
            tcp(State::LISTEN, "0.0.0.0:80", "0.0.0.0:0", (9, 10)),
            tcp(State::LISTEN, "[::]:22", "[::]:0", (0, 128)),
            tcp(State::ESTABLISHED, "127.0.0.1:80", "127.0.0.1:5000", (0, 0)),
            tcp(State::ESTABLISHED, "10.0.0.1:80", "10.0.0.2:5000", (0, 0)),
            tcp(State::ESTABLISHED, "10.0.0.1:80", "10.0.0.3:5000", (0, 0)),
            // A v4 client of the dual-stack listener.
            tcp(
                State::ESTABLISHED,
                "[::ffff:10.0.0.1]:22",
                "[::ffff:10.0.0.9]:7",
                (0, 0),
            ),
            // A client socket: no listener on its port.
            tcp(State::ESTABLISHED, "10.0.0.1:40000", "10.0.0.2:443", (0, 0)),
            // Over, or not yet open: not counted.
            tcp(State::TIME_WAIT, "127.0.0.1:80", "127.0.0.1:5001", (0, 0)),
            tcp(State::SYN_RECV, "127.0.0.1:80", "127.0.0.1:5002", (0, 0)),
        ];
        let s = summarize(SockStat::default(), rows, true);
        let top: Vec<(Option<u16>, Option<usize>)> = s
            .by_connections
            .unwrap()
            .iter()
            .map(|l| (port(&l.row.sock.local), l.connections))
            .collect();
        assert_eq!(
            top,
            [
                (Some(80), Some(2)),
                (Some(80), Some(1)),
                (Some(22), Some(1))
            ]
        );
        let q: Vec<Option<u64>> = s.by_queue.iter().map(ListenerLoad::queue_percent).collect();
        assert_eq!(q, [Some(90)], "only non-empty queues");
        assert_eq!(
            s.per_service,
            [ServiceCount {
                proto: Proto::Tcp,
                service: None,
                listeners: 3
            }]
        );
    }

    #[test]
    fn without_connections_nothing_is_counted() {
        let rows = vec![tcp(State::LISTEN, "0.0.0.0:80", "0.0.0.0:0", (1, 2))];
        let s = summarize(SockStat::default(), rows, false);
        assert!(s.by_connections.is_none());
        assert_eq!(s.by_queue.len(), 1);
    }
}
