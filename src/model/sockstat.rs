//! The kernel's socket counters (`/proc/net/sockstat`, `sockstat6`, and `CurrEstab` from
//! `/proc/net/snmp`) and the totals `ss -s` derives from them (misc/ss.c, print_summary).
//!
//! Which counters belong to the network namespace and which are host-wide matters when
//! comparing two reads (net/ipv4/proc.c, sockstat_seq_show): `sockets: used`, the `inuse`
//! counts, TCP `tw`, FRAG and CurrEstab are per namespace; TCP `orphan`, `alloc` and the
//! `mem` pages are host-wide, so ss's `TCP:` total and `closed` mix both.

/// The counters ss reads; `None` when the line or the field was absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SockStat {
    /// `sockets: used`.
    pub sockets_used: Option<u64>,
    pub tcp_inuse: Option<u64>,
    pub tcp_orphan: Option<u64>,
    pub tcp_tw: Option<u64>,
    pub tcp_alloc: Option<u64>,
    /// Pages.
    pub tcp_mem: Option<u64>,
    pub udp_inuse: Option<u64>,
    /// Pages.
    pub udp_mem: Option<u64>,
    pub udplite_inuse: Option<u64>,
    pub raw_inuse: Option<u64>,
    pub frag_inuse: Option<u64>,
    /// Bytes.
    pub frag_memory: Option<u64>,
    pub tcp6_inuse: Option<u64>,
    pub udp6_inuse: Option<u64>,
    pub udplite6_inuse: Option<u64>,
    pub raw6_inuse: Option<u64>,
    pub frag6_inuse: Option<u64>,
    pub frag6_memory: Option<u64>,
    /// `Tcp: CurrEstab` from /proc/net/snmp: ESTABLISHED and CLOSE-WAIT connections.
    pub tcp_estab: Option<u64>,
}

/// One `Transport Total IP IPv6` line of `ss -s`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Split {
    pub total: Option<i64>,
    pub ipv4: Option<i64>,
    pub ipv6: Option<i64>,
}

impl Split {
    fn of(v4: Option<u64>, v6: Option<u64>) -> Split {
        let (ipv4, ipv6) = (v4.map(signed), v6.map(signed));
        Split {
            total: add(ipv4, ipv6),
            ipv4,
            ipv6,
        }
    }

    fn plus(self, o: Split) -> Split {
        Split {
            total: add(self.total, o.total),
            ipv4: add(self.ipv4, o.ipv4),
            ipv6: add(self.ipv6, o.ipv6),
        }
    }
}

/// Every number `ss -s` prints, computed as ss computes it. Signed: `closed` mixes a
/// host-wide count with per-namespace ones and is not guaranteed to be positive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SsTotals {
    /// `Total:`.
    pub sockets: Option<i64>,
    /// `TCP:` (allocated plus TIME-WAIT).
    pub tcp: Option<i64>,
    pub estab: Option<i64>,
    pub closed: Option<i64>,
    pub orphaned: Option<i64>,
    pub timewait: Option<i64>,
    pub raw: Split,
    pub udp: Split,
    pub tcp_hashed: Split,
    pub inet: Split,
    pub frag: Split,
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn add(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    Some(a?.saturating_add(b?))
}

fn sub(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    Some(a?.saturating_sub(b?))
}

impl SockStat {
    /// The totals of `ss -s`. ss reads a missing counter as 0; here the totals that depend
    /// on it are `None` instead.
    pub fn ss_totals(&self) -> SsTotals {
        let tw = self.tcp_tw.map(signed);
        let alloc = self.tcp_alloc.map(signed);
        let tcp_hashed = Split::of(self.tcp_inuse, self.tcp6_inuse);
        let raw = Split::of(self.raw_inuse, self.raw6_inuse);
        let udp = Split::of(self.udp_inuse, self.udp6_inuse);
        SsTotals {
            sockets: self.sockets_used.map(signed),
            tcp: add(alloc, tw),
            estab: self.tcp_estab.map(signed),
            closed: sub(alloc, sub(tcp_hashed.total, tw)),
            orphaned: self.tcp_orphan.map(signed),
            timewait: tw,
            raw,
            udp,
            tcp_hashed,
            inet: raw.plus(udp).plus(tcp_hashed),
            frag: Split::of(self.frag_inuse, self.frag6_inuse),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_follow_ss_arithmetic() {
        let s = SockStat {
            sockets_used: Some(22),
            tcp_inuse: Some(3),
            tcp_orphan: Some(1),
            tcp_tw: Some(2),
            tcp_alloc: Some(4),
            tcp6_inuse: Some(5),
            udp_inuse: Some(6),
            udp6_inuse: Some(7),
            raw_inuse: Some(1),
            raw6_inuse: Some(0),
            frag_inuse: Some(0),
            frag6_inuse: Some(2),
            tcp_estab: Some(2),
            ..SockStat::default()
        };
        let t = s.ss_totals();
        assert_eq!(t.sockets, Some(22));
        // TCP: alloc + tw; closed: alloc - (hashed - tw).
        assert_eq!((t.tcp, t.closed, t.timewait), (Some(6), Some(-2), Some(2)));
        assert_eq!((t.estab, t.orphaned), (Some(2), Some(1)));
        let line = |s: Split| (s.total, s.ipv4, s.ipv6);
        assert_eq!(line(t.tcp_hashed), (Some(8), Some(3), Some(5)));
        assert_eq!(line(t.udp), (Some(13), Some(6), Some(7)));
        assert_eq!(line(t.raw), (Some(1), Some(1), Some(0)));
        assert_eq!(line(t.inet), (Some(22), Some(10), Some(12)));
        assert_eq!(line(t.frag), (Some(2), Some(0), Some(2)));
    }

    #[test]
    fn missing_counters_leave_their_totals_unknown() {
        let s = SockStat {
            tcp_inuse: Some(3),
            tcp_tw: Some(1),
            ..SockStat::default()
        };
        let t = s.ss_totals();
        assert_eq!((t.tcp, t.closed, t.sockets), (None, None, None));
        assert_eq!(t.tcp_hashed.ipv4, Some(3));
        assert_eq!((t.tcp_hashed.total, t.inet.ipv4), (None, None));
    }
}
