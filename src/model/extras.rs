//! What `ss -i`, `-m`, `-o` and `-e` add to a socket: TCP internals (tcp_info and the
//! congestion control), socket memory, the pending timer and the shutdown state. Kept out of
//! `Socket` itself (behind one `Option<Box<Extras>>`) so that a listing without them stays
//! as compact as before: most sockets of a large table never carry any.
//!
//! Values are the kernel's, in the units it reports them (named in each field). `None` means
//! the kernel did not report the field: an older kernel with a shorter `struct tcp_info`, an
//! attribute it did not send, or a value ss also treats as "none" (documented per field).
//! tcp_info's integers are `OptU32`/`OptU64` (unknown stored in the value's own width): a
//! connection's tcp_info is 304 bytes instead of 544, which `-tin` holds for each of them.

use super::{OptU32, OptU64};

/// Which extras to ask the kernel for. Each one makes every reply larger (tcp_info alone is
/// about 250 bytes a socket), so they are requested only when something shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Detail {
    /// tcp_info and congestion control (`ss -i`).
    pub tcp_info: bool,
    /// Socket memory (`ss -m`).
    pub memory: bool,
    /// The pending timer (`ss -o`); it is in every reply, this only keeps it.
    pub timers: bool,
    /// The shutdown state (`ss -e`); in every reply, this only keeps it.
    pub shutdown: bool,
}

impl Detail {
    /// Nothing beyond the base table: no `Extras` are built.
    pub fn is_empty(&self) -> bool {
        *self == Detail::default()
    }
}

/// The extras of one socket; each part is `None` when not asked for or not reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// TCP only, full sockets only (not TIME-WAIT or SYN-RECV request sockets).
    pub tcp_info: Option<TcpInfo>,
    pub skmem: Option<SkMem>,
    /// `None` also when no timer is pending (ss prints nothing then).
    pub timer: Option<Timer>,
    pub shutdown: Option<Shutdown>,
}

/// A congestion-control algorithm name (INET_DIAG_CONG), held inline: the kernel caps it at
/// TCP_CA_NAME_MAX (16) bytes, and a name per socket must not cost an allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CongName {
    len: u8,
    bytes: [u8; CongName::MAX],
}

impl CongName {
    pub const MAX: usize = 16;

    /// The name, cut at its first NUL; `None` when empty, longer than the kernel allows or
    /// not UTF-8 (kernel names are ASCII identifiers).
    pub fn new(raw: &[u8]) -> Option<CongName> {
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        let name = raw.get(..end)?;
        if name.is_empty() || name.len() > Self::MAX || std::str::from_utf8(name).is_err() {
            return None;
        }
        let mut bytes = [0u8; Self::MAX];
        bytes.get_mut(..name.len())?.copy_from_slice(name);
        Some(CongName {
            len: name.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        let b = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(b).unwrap_or_default()
    }
}

impl std::fmt::Debug for CongName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for CongName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-algorithm details the congestion control reports (INET_DIAG_VEGASINFO,
/// INET_DIAG_DCTCPINFO, INET_DIAG_BBRINFO; include/uapi/linux/inet_diag.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CcInfo {
    Vegas {
        enabled: bool,
        rtt_count: u32,
        rtt_us: u32,
        min_rtt_us: u32,
    },
    Dctcp {
        enabled: bool,
        ce_state: u16,
        alpha: u32,
        ab_ecn: u32,
        ab_tot: u32,
    },
    Bbr {
        /// Bottleneck bandwidth estimate, bits per second (the kernel's bytes/s times 8).
        bw_bps: u64,
        min_rtt_us: u32,
        /// Fixed point, 8 fractional bits (256 = 1.0), as the kernel reports them.
        pacing_gain: u32,
        cwnd_gain: u32,
    },
}

/// `struct tcp_info` (include/uapi/linux/tcp.h), as `ss -i` reads it, plus the congestion
/// control. Every field is `None` when the running kernel's tcp_info is too short to hold it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// INET_DIAG_CONG.
    pub congestion: Option<CongName>,
    pub cc_info: Option<CcInfo>,
    /// Options negotiated on this connection (tcpi_options).
    pub ts: Option<bool>,
    pub sack: Option<bool>,
    pub ecn: Option<bool>,
    pub ecn_seen: Option<bool>,
    /// The SYN carried data that was acked (TCPI_OPT_SYN_DATA; ss's `fastopen`).
    pub fastopen: Option<bool>,
    /// Window scale shifts; `None` also when window scaling was not negotiated (ss prints no
    /// `wscale` then).
    pub wscale_snd: Option<u8>,
    pub wscale_rcv: Option<u8>,
    /// The last delivery-rate sample was limited by the application, not the network.
    pub app_limited: Option<bool>,
    pub backoff: Option<u8>,
    /// Retransmission timeout, microseconds (ss prints it in ms).
    pub rto_us: OptU32,
    /// Delayed-ack timeout, microseconds.
    pub ato_us: OptU32,
    /// Send MSS (ss's `mss`).
    pub mss: OptU32,
    pub rcv_mss: OptU32,
    pub unacked: OptU32,
    pub sacked: OptU32,
    pub lost: OptU32,
    /// Segments retransmitted and not yet acked (ss's first `retrans` number).
    pub retrans: OptU32,
    pub fackets: OptU32,
    pub lastsnd_ms: OptU32,
    pub lastrcv_ms: OptU32,
    pub lastack_ms: OptU32,
    pub pmtu: OptU32,
    pub rcv_ssthresh: OptU32,
    pub rtt_us: OptU32,
    pub rttvar_us: OptU32,
    /// Slow-start threshold in segments; `None` while it is still infinite
    /// (TCP_INFINITE_SSTHRESH, slow start not yet left).
    pub ssthresh: OptU32,
    pub cwnd: OptU32,
    pub advmss: OptU32,
    pub reordering: OptU32,
    pub rcv_rtt_us: OptU32,
    pub rcv_space: OptU32,
    pub total_retrans: OptU32,
    /// Bits per second; `None` when unlimited (~0, ss prints nothing).
    pub pacing_rate_bps: OptU64,
    pub max_pacing_rate_bps: OptU64,
    pub bytes_acked: OptU64,
    pub bytes_received: OptU64,
    pub segs_out: OptU32,
    pub segs_in: OptU32,
    pub notsent_bytes: OptU32,
    /// `None` also when there is no sample yet (~0).
    pub minrtt_us: OptU32,
    pub data_segs_in: OptU32,
    pub data_segs_out: OptU32,
    /// Bits per second.
    pub delivery_rate_bps: OptU64,
    /// Time busy sending, limited by the receive window, by the send buffer: microseconds
    /// (ss prints them in whole ms).
    pub busy_us: OptU64,
    pub rwnd_limited_us: OptU64,
    pub sndbuf_limited_us: OptU64,
    pub delivered: OptU32,
    pub delivered_ce: OptU32,
    pub bytes_sent: OptU64,
    pub bytes_retrans: OptU64,
    pub dsack_dups: OptU32,
    pub reord_seen: OptU32,
    pub rcv_ooopack: OptU32,
    pub snd_wnd: OptU32,
    pub rcv_wnd: OptU32,
    pub rehash: OptU32,
    pub total_rto: Option<u16>,
    pub total_rto_recoveries: Option<u16>,
    pub total_rto_time_ms: OptU32,
    /// ss's `send` rate: cwnd * mss * 8 / rtt in bits per second (with Vegas's own RTT when
    /// Vegas reports one); `None` when any input is missing or zero.
    pub send_bps: OptU64,
}

/// Socket memory, `SK_MEMINFO_*` (include/uapi/linux/sock_diag.h), bytes. ss prints them as
/// `skmem:(r,rb,t,tb,f,w,o,bl,d)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SkMem {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub wmem_queued: u32,
    pub optmem: u32,
    /// Linux 3.13+.
    pub backlog: Option<u32>,
    /// Packets dropped before reaching the socket (Linux 4.4+).
    pub drops: Option<u32>,
}

/// Which timer is pending (idiag_timer), named as ss names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// Retransmission (also the loss probe and reorder timers; ss's `on`).
    On,
    Keepalive,
    TimeWait,
    /// Zero-window probe (ss's `persist`).
    Persist,
    /// A code ss does not know; kept so nothing is guessed.
    Unknown(u8),
}

impl TimerKind {
    /// `None` for 0: no timer pending.
    pub fn from_code(code: u8) -> Option<TimerKind> {
        Some(match code {
            0 => return None,
            1 => TimerKind::On,
            2 => TimerKind::Keepalive,
            3 => TimerKind::TimeWait,
            4 => TimerKind::Persist,
            other => TimerKind::Unknown(other),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            TimerKind::On => "on",
            TimerKind::Keepalive => "keepalive",
            TimerKind::TimeWait => "timewait",
            TimerKind::Persist => "persist",
            TimerKind::Unknown(_) => "unknown",
        }
    }
}

/// A pending timer (ss's `timer:(name,expires,retrans)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timer {
    pub kind: TimerKind,
    /// Milliseconds until it fires (0 when overdue).
    pub expires_ms: u32,
    /// Retransmissions (for `on`) or unanswered probes (keepalive, persist) so far.
    pub retrans: u8,
}

/// Which directions were shut down (sk_shutdown: bit 0 receive, bit 1 send).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shutdown(pub u8);

impl Shutdown {
    /// No more data will be received (SHUT_RD).
    pub fn receive(self) -> bool {
        self.0 & 1 != 0
    }

    /// No more data will be sent (SHUT_WR).
    pub fn send(self) -> bool {
        self.0 & 2 != 0
    }

    /// ss's notation (`-e`): `<->` open, `-->` receive shut down, `<--` send shut down,
    /// `---` both.
    pub fn arrows(self) -> &'static str {
        match (self.receive(), self.send()) {
            (false, false) => "<->",
            (true, false) => "-->",
            (false, true) => "<--",
            (true, true) => "---",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cong_name_is_cut_at_nul_and_bounded() {
        assert_eq!(CongName::new(b"cubic\0").unwrap().as_str(), "cubic");
        assert_eq!(CongName::new(b"bbr").unwrap().to_string(), "bbr");
        assert!(CongName::new(b"").is_none());
        assert!(CongName::new(b"\0cubic").is_none());
        assert!(CongName::new(&[b'a'; 17]).is_none());
        assert_eq!(CongName::new(&[b'a'; 16]).unwrap().as_str().len(), 16);
        assert!(CongName::new(b"\xff\xfe").is_none());
    }

    #[test]
    fn timer_codes_as_ss_names_them() {
        let names: Vec<_> = (0..=6)
            .map(|c| TimerKind::from_code(c).map(TimerKind::name))
            .collect();
        assert_eq!(
            names,
            [
                None,
                Some("on"),
                Some("keepalive"),
                Some("timewait"),
                Some("persist"),
                Some("unknown"),
                Some("unknown")
            ]
        );
    }

    #[test]
    fn shutdown_arrows() {
        let a: Vec<_> = (0..4).map(|m| Shutdown(m).arrows()).collect();
        assert_eq!(a, ["<->", "-->", "<--", "---"]);
    }
}

#[cfg(test)]
mod size {
    /// `-tin` holds one per connection (70k at the benchmark's large scale): grow it only on
    /// purpose.
    #[test]
    fn tcp_info_stays_small() {
        let (info, extras) = (
            std::mem::size_of::<super::TcpInfo>(),
            std::mem::size_of::<super::Extras>(),
        );
        assert!(info <= 304, "TcpInfo is {info} bytes");
        assert!(extras <= 360, "Extras is {extras} bytes");
    }
}
