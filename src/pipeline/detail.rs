//! What portwatch derives from a socket's extras beyond ss (issue #13): `--sort` by a TCP
//! metric or a queue, and alerts for accept queues filling up, zero windows and
//! retransmitting connections.

use crate::model::{Detail, Proto, Row, State, TimerKind};

/// `--sort KEY`: the table's order, largest first; sockets without the value come last, in
/// the usual order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    RecvQ,
    SendQ,
    /// Smoothed round-trip time (tcp_info).
    Rtt,
    /// Retransmitted segments over the connection's life (tcp_info total_retrans).
    Retrans,
    /// Bytes sent plus bytes received (tcp_info).
    Bytes,
    /// Congestion window (tcp_info).
    Cwnd,
    /// Socket memory: receive plus send allocation (skmem).
    Mem,
}

impl SortKey {
    /// The names `--sort` takes, in --help order.
    pub const NAMES: &'static [&'static str] =
        &["recv_q", "send_q", "rtt", "retrans", "bytes", "cwnd", "mem"];

    pub fn parse(s: &str) -> Option<SortKey> {
        Some(match s {
            "recv_q" | "recv-q" => SortKey::RecvQ,
            "send_q" | "send-q" => SortKey::SendQ,
            "rtt" => SortKey::Rtt,
            "retrans" => SortKey::Retrans,
            "bytes" => SortKey::Bytes,
            "cwnd" => SortKey::Cwnd,
            "mem" => SortKey::Mem,
            _ => return None,
        })
    }

    /// The extras the key needs read with each socket.
    pub fn detail(self) -> Detail {
        Detail {
            tcp_info: matches!(
                self,
                SortKey::Rtt | SortKey::Retrans | SortKey::Bytes | SortKey::Cwnd
            ),
            memory: self == SortKey::Mem,
            ..Detail::default()
        }
    }

    fn value(self, r: &Row) -> Option<u64> {
        let s = &r.sock;
        let x = s.extras.as_deref();
        let info = x.and_then(|x| x.tcp_info.as_ref());
        match self {
            SortKey::RecvQ => s.recv_q.get().map(u64::from),
            SortKey::SendQ => s.send_q.get().map(u64::from),
            SortKey::Rtt => info?.rtt_us.get().map(u64::from),
            SortKey::Retrans => info?.total_retrans.get().map(u64::from),
            SortKey::Bytes => Some(info?.bytes_sent.get()? + info?.bytes_received.get()?),
            SortKey::Cwnd => info?.cwnd.get().map(u64::from),
            SortKey::Mem => {
                let m = x?.skmem?;
                Some(u64::from(m.rmem_alloc) + u64::from(m.wmem_alloc))
            }
        }
    }
}

/// Sort rows by `key`, largest first, keeping the usual order among equals and for rows
/// without the value (which go last).
pub fn sort(rows: &mut [Row], key: SortKey) {
    rows.sort_by(|a, b| {
        let (x, y) = (key.value(a), key.value(b));
        match (x, y) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
}

/// Something about a socket worth a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// A listener's accept queue is over 80% of its backlog: the server does not accept
    /// fast enough, and new connections will soon be dropped.
    AcceptQueue { percent: u32 },
    /// The peer advertises a zero window (a persist timer probes it): nothing can be sent.
    ZeroWindow,
    /// Segments are being retransmitted now.
    Retransmitting { segments: u32 },
}

impl Alert {
    /// Stable machine-readable name (JSON `alerts`).
    pub fn name(self) -> &'static str {
        match self {
            Alert::AcceptQueue { .. } => "accept_queue_full",
            Alert::ZeroWindow => "zero_window",
            Alert::Retransmitting { .. } => "retransmitting",
        }
    }
}

/// Accept queue fill at which a listener is flagged.
const ACCEPT_QUEUE_ALERT_PERCENT: u64 = 80;

/// The alerts that what is known of `r` supports. The accept queue needs only the base
/// table; zero windows need timers or tcp_info; retransmissions tcp_info or timers.
pub fn alerts(r: &Row) -> Vec<Alert> {
    let s = &r.sock;
    let mut v = Vec::new();
    if s.proto == Proto::Tcp && s.state == State::LISTEN {
        if let (Some(q), Some(backlog)) = (s.recv_q.get(), s.send_q.get().filter(|&b| b > 0)) {
            let pct = u64::from(q) * 100 / u64::from(backlog);
            if pct > ACCEPT_QUEUE_ALERT_PERCENT {
                v.push(Alert::AcceptQueue {
                    percent: u32::try_from(pct).unwrap_or(u32::MAX),
                });
            }
        }
    }
    let x = s.extras.as_deref();
    let timer = x.and_then(|x| x.timer);
    let info = x.and_then(|x| x.tcp_info.as_ref());
    let connected = s.proto == Proto::Tcp && s.state != State::LISTEN;
    let zero_window = timer.is_some_and(|t| t.kind == TimerKind::Persist)
        || (s.state == State::ESTABLISHED && info.and_then(|i| i.snd_wnd.get()) == Some(0));
    if connected && zero_window {
        v.push(Alert::ZeroWindow);
    }
    let retrans = info
        .and_then(|i| i.retrans.get())
        .filter(|&n| n > 0)
        .or_else(|| {
            timer
                .filter(|t| t.kind == TimerKind::On && t.retrans > 0)
                .map(|t| u32::from(t.retrans))
        });
    if let Some(segments) = retrans.filter(|_| connected) {
        v.push(Alert::Retransmitting { segments });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OptU32;
    use crate::model::{Extras, Family, SockType, Socket, TcpInfo, Timer};

    fn row(state: State, recv_q: u32, send_q: u32, x: Option<Extras>) -> Row {
        Row::new(Socket {
            recv_q: OptU32::some(recv_q),
            send_q: OptU32::some(send_q),
            extras: x.map(Box::new),
            ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, state)
        })
    }

    fn info(i: TcpInfo) -> Option<Extras> {
        Some(Extras {
            tcp_info: Some(i),
            ..Extras::default()
        })
    }

    fn timer(kind: TimerKind, retrans: u8) -> Option<Extras> {
        Some(Extras {
            timer: Some(Timer {
                kind,
                expires_ms: 200,
                retrans,
            }),
            ..Extras::default()
        })
    }

    #[test]
    fn accept_queue_over_80_percent() {
        assert_eq!(
            alerts(&row(State::LISTEN, 9, 10, None)),
            [Alert::AcceptQueue { percent: 90 }]
        );
        assert!(
            alerts(&row(State::LISTEN, 8, 10, None)).is_empty(),
            "80% is not over"
        );
        assert!(
            alerts(&row(State::LISTEN, 3, 0, None)).is_empty(),
            "no backlog known"
        );
        assert!(alerts(&row(State::ESTABLISHED, 9, 10, None)).is_empty());
    }

    #[test]
    fn zero_window_and_retransmissions() {
        let r = row(State::ESTABLISHED, 0, 5, timer(TimerKind::Persist, 2));
        assert_eq!(alerts(&r), [Alert::ZeroWindow]);
        let r = row(State::ESTABLISHED, 0, 5, timer(TimerKind::On, 3));
        assert_eq!(alerts(&r), [Alert::Retransmitting { segments: 3 }]);
        let i = TcpInfo {
            snd_wnd: Some(0).into(),
            retrans: Some(2).into(),
            ..TcpInfo::default()
        };
        let r = row(State::ESTABLISHED, 0, 5, info(i));
        assert_eq!(
            alerts(&r),
            [Alert::ZeroWindow, Alert::Retransmitting { segments: 2 }]
        );
        let quiet = TcpInfo {
            snd_wnd: Some(65535).into(),
            retrans: Some(0).into(),
            ..TcpInfo::default()
        };
        assert!(alerts(&row(State::ESTABLISHED, 0, 0, info(quiet))).is_empty());
        assert!(alerts(&row(State::ESTABLISHED, 0, 0, timer(TimerKind::On, 0))).is_empty());
    }

    #[test]
    fn sort_largest_first_unknown_last() {
        let rtt = |us: Option<u32>| {
            row(
                State::ESTABLISHED,
                0,
                0,
                info(TcpInfo {
                    rtt_us: us.into(),
                    ..TcpInfo::default()
                }),
            )
        };
        let mut rows = vec![rtt(Some(5)), rtt(None), rtt(Some(50)), rtt(Some(7))];
        sort(&mut rows, SortKey::Rtt);
        let got: Vec<Option<u64>> = rows.iter().map(|r| SortKey::Rtt.value(r)).collect();
        assert_eq!(got, [Some(50), Some(7), Some(5), None]);
        assert_eq!(SortKey::parse("send-q"), Some(SortKey::SendQ));
        assert!(SortKey::NAMES.iter().all(|n| SortKey::parse(n).is_some()));
        assert_eq!(SortKey::parse("pid"), None);
        assert!(SortKey::Rtt.detail().tcp_info && SortKey::Mem.detail().memory);
    }
}
