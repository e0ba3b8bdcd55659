//! The extension attributes of a sock_diag reply, parsed into `model::Extras` parts:
//! tcp_info (INET_DIAG_INFO), the congestion control's name and details (INET_DIAG_CONG,
//! _VEGASINFO, _DCTCPINFO, _BBRINFO) and socket memory (INET_DIAG_SKMEMINFO,
//! UNIX_DIAG_MEMINFO). Fields are read by offset with a bounds check each, so a kernel with
//! a shorter `struct tcp_info` yields `None` for what it lacks, and a longer one is read up
//! to what is known (include/uapi/linux/tcp.h, checked against offsetof on 6.18 headers).

use super::wire;
use crate::model::{CcInfo, OptU64, SkMem, TcpInfo};

/// tcpi_options bits.
const OPT_TIMESTAMPS: u8 = 1;
const OPT_SACK: u8 = 2;
const OPT_WSCALE: u8 = 4;
const OPT_ECN: u8 = 8;
const OPT_ECN_SEEN: u8 = 16;
const OPT_SYN_DATA: u8 = 32;

/// TCP_INFINITE_SSTHRESH (include/net/tcp.h): ssthresh before slow start ends.
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;
/// Offset just past tcpi_delivery_rate (Linux 4.9): the kernel that added it also added
/// tcpi_delivery_rate_app_limited in the byte that was padding before, zero on older ones.
const END_OF_DELIVERY_RATE: usize = 168;

/// The two 4-bit fields of tcp_info byte 6 (and the flag bit of byte 7): C bit-fields are
/// laid out from the least significant bit on little-endian targets, from the most
/// significant on big-endian ones (the kernel's own build decides, and it is native).
fn nibbles(b: u8) -> (u8, u8) {
    if cfg!(target_endian = "little") {
        (b & 0x0f, b >> 4)
    } else {
        (b >> 4, b & 0x0f)
    }
}

fn first_bit(b: u8) -> bool {
    if cfg!(target_endian = "little") {
        b & 1 != 0
    } else {
        b & 0x80 != 0
    }
}

/// A rate in bytes per second as bits per second; `None` for ~0 ("unlimited").
fn rate_bps(v: Option<u64>) -> Option<u64> {
    v.filter(|&r| r != u64::MAX).map(|r| r.saturating_mul(8))
}

/// `struct tcp_info`, as long as the attribute is. `congestion`, `cc_info` and `send_bps`
/// come from other attributes: see `finish`.
pub(crate) fn tcp_info(b: &[u8]) -> TcpInfo {
    let u8f = |off: usize| b.get(off).copied();
    let u16f = |off| wire::u16_at(b, off);
    let u32f = |off| wire::u32_at(b, off);
    let u64f = |off| wire::u64_at(b, off);
    let opts = u8f(5);
    let opt = |bit: u8| opts.map(|o| o & bit != 0);
    let wscale = u8f(6)
        .filter(|_| opt(OPT_WSCALE) == Some(true))
        .map(nibbles);
    TcpInfo {
        congestion: None,
        cc_info: None,
        ts: opt(OPT_TIMESTAMPS),
        sack: opt(OPT_SACK),
        ecn: opt(OPT_ECN),
        ecn_seen: opt(OPT_ECN_SEEN),
        fastopen: opt(OPT_SYN_DATA),
        wscale_snd: wscale.map(|w| w.0),
        wscale_rcv: wscale.map(|w| w.1),
        app_limited: u8f(7)
            .filter(|_| b.len() >= END_OF_DELIVERY_RATE)
            .map(first_bit),
        backoff: u8f(4),
        rto_us: u32f(8).into(),
        ato_us: u32f(12).into(),
        mss: u32f(16).into(),
        rcv_mss: u32f(20).into(),
        unacked: u32f(24).into(),
        sacked: u32f(28).into(),
        lost: u32f(32).into(),
        retrans: u32f(36).into(),
        fackets: u32f(40).into(),
        lastsnd_ms: u32f(44).into(),
        // 48 is tcpi_last_ack_sent, which the kernel never fills.
        lastrcv_ms: u32f(52).into(),
        lastack_ms: u32f(56).into(),
        pmtu: u32f(60).into(),
        rcv_ssthresh: u32f(64).into(),
        rtt_us: u32f(68).into(),
        rttvar_us: u32f(72).into(),
        ssthresh: u32f(76).filter(|&s| s != INFINITE_SSTHRESH).into(),
        cwnd: u32f(80).into(),
        advmss: u32f(84).into(),
        reordering: u32f(88).into(),
        rcv_rtt_us: u32f(92).into(),
        rcv_space: u32f(96).into(),
        total_retrans: u32f(100).into(),
        pacing_rate_bps: rate_bps(u64f(104)).into(),
        max_pacing_rate_bps: rate_bps(u64f(112)).into(),
        bytes_acked: u64f(120).into(),
        bytes_received: u64f(128).into(),
        segs_out: u32f(136).into(),
        segs_in: u32f(140).into(),
        notsent_bytes: u32f(144).into(),
        minrtt_us: u32f(148).filter(|&r| r != u32::MAX).into(),
        data_segs_in: u32f(152).into(),
        data_segs_out: u32f(156).into(),
        delivery_rate_bps: u64f(160).map(|r| r.saturating_mul(8)).into(),
        busy_us: u64f(168).into(),
        rwnd_limited_us: u64f(176).into(),
        sndbuf_limited_us: u64f(184).into(),
        delivered: u32f(192).into(),
        delivered_ce: u32f(196).into(),
        bytes_sent: u64f(200).into(),
        bytes_retrans: u64f(208).into(),
        dsack_dups: u32f(216).into(),
        reord_seen: u32f(220).into(),
        rcv_ooopack: u32f(224).into(),
        snd_wnd: u32f(228).into(),
        rcv_wnd: u32f(232).into(),
        rehash: u32f(236).into(),
        total_rto: u16f(240),
        total_rto_recoveries: u16f(242),
        total_rto_time_ms: u32f(244).into(),
        send_bps: OptU64::NONE,
    }
}

/// What depends on several attributes: ss's send rate, cwnd * mss * 8 / rtt, with Vegas's
/// own RTT sample when Vegas reports a valid one (misc/ss.c, tcp_show_info).
pub(crate) fn finish(info: &mut TcpInfo) {
    let vegas_rtt = match info.cc_info {
        Some(CcInfo::Vegas {
            enabled: true,
            rtt_us,
            ..
        }) if rtt_us != 0 && rtt_us != 0x7fff_ffff => Some(rtt_us),
        _ => None,
    };
    let rtt = vegas_rtt.or(info.rtt_us.get()).filter(|&r| r > 0);
    info.send_bps = OptU64::new(match (rtt, info.cwnd.get(), info.mss.get()) {
        (Some(rtt), Some(cwnd), Some(mss)) if cwnd > 0 && mss > 0 => {
            let bps = f64::from(cwnd) * f64::from(mss) * 8_000_000.0 / f64::from(rtt);
            // `as` saturates; the product of two u32 over a u32 always fits anyway.
            Some(bps as u64)
        }
        _ => None,
    });
}

/// Attribute types of the per-algorithm details (include/uapi/linux/inet_diag.h).
pub(crate) const INET_DIAG_VEGASINFO: u16 = 3;
pub(crate) const INET_DIAG_DCTCPINFO: u16 = 9;
pub(crate) const INET_DIAG_BBRINFO: u16 = 16;

/// `struct tcpvegas_info`, `tcp_dctcp_info` or `tcp_bbr_info`, whichever `ty` names; a
/// value shorter than its struct is dropped rather than half read.
pub(crate) fn cc_info(ty: u16, b: &[u8]) -> Option<CcInfo> {
    let u32f = |off| wire::u32_at(b, off);
    match ty {
        INET_DIAG_VEGASINFO => Some(CcInfo::Vegas {
            enabled: u32f(0)? != 0,
            rtt_count: u32f(4)?,
            rtt_us: u32f(8)?,
            min_rtt_us: u32f(12)?,
        }),
        INET_DIAG_DCTCPINFO => Some(CcInfo::Dctcp {
            enabled: wire::u16_at(b, 0)? != 0,
            ce_state: wire::u16_at(b, 2)?,
            alpha: u32f(4)?,
            ab_ecn: u32f(8)?,
            ab_tot: u32f(12)?,
        }),
        INET_DIAG_BBRINFO => {
            let bw = u64::from(u32f(4)?) << 32 | u64::from(u32f(0)?);
            Some(CcInfo::Bbr {
                bw_bps: bw.saturating_mul(8),
                min_rtt_us: u32f(8)?,
                pacing_gain: u32f(12)?,
                cwnd_gain: u32f(16)?,
            })
        }
        _ => None,
    }
}

/// `u32 mem[SK_MEMINFO_VARS]` (net/core/sock.c, sk_get_meminfo). The first seven exist on
/// every kernel that sends the attribute; backlog and drops came later and are read when
/// the array is long enough, as ss does.
pub(crate) fn skmem(b: &[u8]) -> Option<SkMem> {
    let at = |i: usize| wire::u32_at(b, i * 4);
    Some(SkMem {
        rmem_alloc: at(0)?,
        rcvbuf: at(1)?,
        wmem_alloc: at(2)?,
        sndbuf: at(3)?,
        fwd_alloc: at(4)?,
        wmem_queued: at(5)?,
        optmem: at(6)?,
        backlog: at(7),
        drops: at(8),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A full 6.18-sized tcp_info (280 bytes) whose every field holds a distinct value:
    /// byte fields their offset, u16 at N hold N, u32 at N hold N * 1000 + 1, u64 at N hold
    /// N << 33 | 1.
    pub(crate) fn full_info() -> Vec<u8> {
        let mut b = vec![0u8; 280];
        for (i, v) in b.iter_mut().enumerate().take(8) {
            *v = i as u8;
        }
        // Every option bit set, wscale 7 (send) and 9 (receive), app_limited.
        b[5] = 0xff;
        b[6] = if cfg!(target_endian = "little") {
            0x97
        } else {
            0x79
        };
        b[7] = if cfg!(target_endian = "little") {
            1
        } else {
            0x80
        };
        for off in (8..104).step_by(4).chain((136..160).step_by(4)) {
            b[off..off + 4].copy_from_slice(&(off as u32 * 1000 + 1).to_ne_bytes());
        }
        for off in (192..200).step_by(4).chain((216..240).step_by(4)) {
            b[off..off + 4].copy_from_slice(&(off as u32 * 1000 + 1).to_ne_bytes());
        }
        b[244..248].copy_from_slice(&(244u32 * 1000 + 1).to_ne_bytes());
        for off in (104..136).step_by(8).chain((160..192).step_by(8)) {
            b[off..off + 8].copy_from_slice(&((off as u64) << 33 | 1).to_ne_bytes());
        }
        for off in (200..216).step_by(8) {
            b[off..off + 8].copy_from_slice(&((off as u64) << 33 | 1).to_ne_bytes());
        }
        b[240..242].copy_from_slice(&240u16.to_ne_bytes());
        b[242..244].copy_from_slice(&242u16.to_ne_bytes());
        b
    }

    fn v32(off: u32) -> Option<u32> {
        Some(off * 1000 + 1)
    }

    fn v64(off: u64) -> Option<u64> {
        Some(off << 33 | 1)
    }

    #[test]
    fn every_field_from_its_offset() {
        let i = tcp_info(&full_info());
        assert_eq!(
            (i.ts, i.sack, i.ecn, i.ecn_seen, i.fastopen),
            (Some(true), Some(true), Some(true), Some(true), Some(true))
        );
        assert_eq!((i.wscale_snd, i.wscale_rcv), (Some(7), Some(9)));
        assert_eq!((i.app_limited, i.backoff), (Some(true), Some(4)));
        assert_eq!(
            (i.rto_us.get(), i.ato_us.get(), i.mss.get(), i.rcv_mss.get()),
            (v32(8), v32(12), v32(16), v32(20))
        );
        assert_eq!(
            (
                i.unacked.get(),
                i.sacked.get(),
                i.lost.get(),
                i.retrans.get(),
                i.fackets.get()
            ),
            (v32(24), v32(28), v32(32), v32(36), v32(40))
        );
        assert_eq!(
            (i.lastsnd_ms.get(), i.lastrcv_ms.get(), i.lastack_ms.get()),
            (v32(44), v32(52), v32(56))
        );
        assert_eq!(
            (
                i.pmtu.get(),
                i.rcv_ssthresh.get(),
                i.rtt_us.get(),
                i.rttvar_us.get(),
                i.ssthresh.get()
            ),
            (v32(60), v32(64), v32(68), v32(72), v32(76))
        );
        assert_eq!(
            (
                i.cwnd.get(),
                i.advmss.get(),
                i.reordering.get(),
                i.rcv_rtt_us.get(),
                i.rcv_space.get()
            ),
            (v32(80), v32(84), v32(88), v32(92), v32(96))
        );
        assert_eq!(i.total_retrans.get(), v32(100));
        let bps = |off| v64(off).map(|v| v * 8);
        assert_eq!(
            (i.pacing_rate_bps.get(), i.max_pacing_rate_bps.get()),
            (bps(104), bps(112))
        );
        assert_eq!(
            (i.bytes_acked.get(), i.bytes_received.get()),
            (v64(120), v64(128))
        );
        assert_eq!(
            (
                i.segs_out.get(),
                i.segs_in.get(),
                i.notsent_bytes.get(),
                i.minrtt_us.get()
            ),
            (v32(136), v32(140), v32(144), v32(148))
        );
        assert_eq!(
            (i.data_segs_in.get(), i.data_segs_out.get()),
            (v32(152), v32(156))
        );
        assert_eq!(i.delivery_rate_bps.get(), bps(160));
        assert_eq!(
            (
                i.busy_us.get(),
                i.rwnd_limited_us.get(),
                i.sndbuf_limited_us.get()
            ),
            (v64(168), v64(176), v64(184))
        );
        assert_eq!(
            (i.delivered.get(), i.delivered_ce.get()),
            (v32(192), v32(196))
        );
        assert_eq!(
            (i.bytes_sent.get(), i.bytes_retrans.get()),
            (v64(200), v64(208))
        );
        assert_eq!(
            (i.dsack_dups.get(), i.reord_seen.get(), i.rcv_ooopack.get()),
            (v32(216), v32(220), v32(224))
        );
        assert_eq!(
            (i.snd_wnd.get(), i.rcv_wnd.get(), i.rehash.get()),
            (v32(228), v32(232), v32(236))
        );
        assert_eq!(
            (
                i.total_rto,
                i.total_rto_recoveries,
                i.total_rto_time_ms.get()
            ),
            (Some(240), Some(242), v32(244))
        );
        assert_eq!(
            (i.congestion, i.cc_info, i.send_bps.get()),
            (None, None, None)
        );
    }

    #[test]
    fn sentinels_are_none_as_in_ss() {
        let mut b = full_info();
        b[76..80].copy_from_slice(&INFINITE_SSTHRESH.to_ne_bytes());
        b[148..152].copy_from_slice(&u32::MAX.to_ne_bytes());
        b[104..112].copy_from_slice(&u64::MAX.to_ne_bytes());
        b[5] = OPT_SACK;
        let i = tcp_info(&b);
        assert_eq!(
            (i.ssthresh.get(), i.minrtt_us.get(), i.pacing_rate_bps.get()),
            (None, None, None)
        );
        assert_eq!((i.sack, i.ts), (Some(true), Some(false)));
        // No window scaling negotiated: no wscale, as ss prints none.
        assert_eq!((i.wscale_snd, i.wscale_rcv), (None, None));
    }

    #[test]
    fn pre_4_9_tcp_info_has_no_app_limited_or_later_fields() {
        // Linux 4.6's tcp_info ended after tcpi_data_segs_out (160 bytes).
        let i = tcp_info(&full_info()[..160]);
        assert_eq!(i.data_segs_out.get(), v32(156));
        assert_eq!(
            (i.app_limited, i.delivery_rate_bps.get(), i.busy_us.get()),
            (None, None, None)
        );
        assert_eq!(
            (i.bytes_sent.get(), i.snd_wnd.get(), i.total_rto),
            (None, None, None)
        );
    }

    #[test]
    fn send_rate_as_ss_computes_it() {
        let mut i = TcpInfo {
            cwnd: Some(10).into(),
            mss: Some(1448).into(),
            rtt_us: Some(1000).into(),
            ..TcpInfo::default()
        };
        finish(&mut i);
        assert_eq!(i.send_bps.get(), Some(115_840_000));
        i.cc_info = Some(CcInfo::Vegas {
            enabled: true,
            rtt_count: 1,
            rtt_us: 2000,
            min_rtt_us: 900,
        });
        finish(&mut i);
        assert_eq!(i.send_bps.get(), Some(57_920_000), "Vegas's RTT wins");
        i.rtt_us = crate::model::OptU32::some(0);
        i.cc_info = None;
        finish(&mut i);
        assert_eq!(i.send_bps.get(), None);
    }

    #[test]
    fn cc_details_and_short_values() {
        let words = |w: &[u32]| w.iter().flat_map(|x| x.to_ne_bytes()).collect::<Vec<u8>>();
        assert_eq!(
            cc_info(INET_DIAG_BBRINFO, &words(&[5, 1, 30, 256, 512])),
            Some(CcInfo::Bbr {
                bw_bps: ((1u64 << 32) | 5) * 8,
                min_rtt_us: 30,
                pacing_gain: 256,
                cwnd_gain: 512
            })
        );
        assert_eq!(cc_info(INET_DIAG_BBRINFO, &words(&[5, 1, 30, 256])), None);
        let mut d = 1u16.to_ne_bytes().to_vec();
        d.extend(2u16.to_ne_bytes());
        d.extend(words(&[3, 4, 5]));
        assert_eq!(
            cc_info(INET_DIAG_DCTCPINFO, &d),
            Some(CcInfo::Dctcp {
                enabled: true,
                ce_state: 2,
                alpha: 3,
                ab_ecn: 4,
                ab_tot: 5
            })
        );
        assert!(matches!(
            cc_info(INET_DIAG_VEGASINFO, &words(&[1, 2, 3, 4])),
            Some(CcInfo::Vegas { rtt_us: 3, .. })
        ));
        assert_eq!(cc_info(99, &words(&[1, 2, 3, 4])), None);
    }

    #[test]
    fn skmem_lengths() {
        let words: Vec<u8> = (1u32..=9).flat_map(|x| x.to_ne_bytes()).collect();
        let m = skmem(&words).unwrap();
        assert_eq!((m.rmem_alloc, m.optmem), (1, 7));
        assert_eq!((m.backlog, m.drops), (Some(8), Some(9)));
        let m = skmem(&words[..28]).unwrap();
        assert_eq!((m.backlog, m.drops), (None, None));
        assert_eq!(skmem(&words[..27]), None);
    }

    /// Offset and size of every tcp_info field this parser reads, for the truncation
    /// property: a field is `Some` exactly when the value covers it.
    fn covered(i: &TcpInfo) -> Vec<(usize, bool)> {
        vec![
            (6, i.ts.is_some()),
            (5, i.backoff.is_some()),
            (12, i.rto_us.get().is_some()),
            (48, i.lastsnd_ms.get().is_some()),
            (60, i.lastack_ms.get().is_some()),
            (80, i.ssthresh.get().is_some()),
            (104, i.total_retrans.get().is_some()),
            (112, i.pacing_rate_bps.get().is_some()),
            (128, i.bytes_acked.get().is_some()),
            (152, i.minrtt_us.get().is_some()),
            (168, i.delivery_rate_bps.get().is_some()),
            (168, i.app_limited.is_some()),
            (192, i.sndbuf_limited_us.get().is_some()),
            (208, i.bytes_sent.get().is_some()),
            (240, i.rehash.get().is_some()),
            (242, i.total_rto.is_some()),
            (248, i.total_rto_time_ms.get().is_some()),
        ]
    }

    proptest! {
        #[test]
        fn truncated_tcp_info_has_none_past_its_end(len in 0usize..300) {
            let mut b = full_info();
            b.resize(300, 0xee);
            let i = tcp_info(&b[..len]);
            for (end, some) in covered(&i) {
                prop_assert_eq!(some, len >= end, "field ending at {} with len {}", end, len);
            }
        }

        #[test]
        fn extension_parsers_never_panic(
            ty in 0u16..20,
            b in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let mut i = tcp_info(&b);
            i.cc_info = cc_info(ty, &b);
            finish(&mut i);
            let _ = skmem(&b);
        }
    }
}
