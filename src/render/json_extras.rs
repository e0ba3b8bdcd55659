//! The JSON form of a socket's extras (issue #13): `cookie`, `cgroup`, `tcp_info`, `skmem`,
//! `timer`, `shutdown` and `alerts`, each `null` when not asked for or not known. Inside
//! `tcp_info` a field the kernel did not report is absent, never 0. Units are in the names:
//! `_us`, `_ms`, `_bps` (bits per second), `bytes_`.

use crate::model::{CcInfo, Row, TcpInfo};
use crate::pipeline::alerts;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Microseconds as milliseconds with a fraction (`rto_ms`: 204, 0.5); exact for any u32.
fn ms(us: u32) -> f64 {
    f64::from(us) / 1000.0
}

/// `key: value`, left out when the value is unknown.
fn opt<M: SerializeMap, T: Serialize>(m: &mut M, key: &str, v: Option<T>) -> Result<(), M::Error> {
    match v {
        Some(v) => m.serialize_entry(key, &v),
        None => Ok(()),
    }
}

struct CcJ(CcInfo);

impl Serialize for CcJ {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        match self.0 {
            CcInfo::Vegas {
                enabled,
                rtt_count,
                rtt_us,
                min_rtt_us,
            } => {
                m.serialize_entry("algorithm", "vegas")?;
                m.serialize_entry("enabled", &enabled)?;
                m.serialize_entry("rtt_count", &rtt_count)?;
                m.serialize_entry("rtt_us", &rtt_us)?;
                m.serialize_entry("min_rtt_us", &min_rtt_us)?;
            }
            CcInfo::Dctcp {
                enabled,
                ce_state,
                alpha,
                ab_ecn,
                ab_tot,
            } => {
                m.serialize_entry("algorithm", "dctcp")?;
                m.serialize_entry("enabled", &enabled)?;
                m.serialize_entry("ce_state", &ce_state)?;
                m.serialize_entry("alpha", &alpha)?;
                m.serialize_entry("ab_ecn", &ab_ecn)?;
                m.serialize_entry("ab_tot", &ab_tot)?;
            }
            CcInfo::Bbr {
                bw_bps,
                min_rtt_us,
                pacing_gain,
                cwnd_gain,
            } => {
                m.serialize_entry("algorithm", "bbr")?;
                m.serialize_entry("bw_bps", &bw_bps)?;
                m.serialize_entry("min_rtt_us", &min_rtt_us)?;
                m.serialize_entry("pacing_gain", &(f64::from(pacing_gain) / 256.0))?;
                m.serialize_entry("cwnd_gain", &(f64::from(cwnd_gain) / 256.0))?;
            }
        }
        m.end()
    }
}

pub(super) struct TcpInfoJ<'a>(pub &'a TcpInfo);

impl Serialize for TcpInfoJ<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut m = ser.serialize_map(None)?;
        opt(
            &mut m,
            "congestion",
            i.congestion.as_ref().map(|c| c.as_str()),
        )?;
        opt(&mut m, "cc_info", i.cc_info.map(CcJ))?;
        opt(&mut m, "ts", i.ts)?;
        opt(&mut m, "sack", i.sack)?;
        opt(&mut m, "ecn", i.ecn)?;
        opt(&mut m, "ecn_seen", i.ecn_seen)?;
        opt(&mut m, "fastopen", i.fastopen)?;
        opt(&mut m, "wscale_snd", i.wscale_snd)?;
        opt(&mut m, "wscale_rcv", i.wscale_rcv)?;
        opt(&mut m, "rto_ms", i.rto_us.get().map(ms))?;
        opt(&mut m, "backoff", i.backoff)?;
        opt(&mut m, "rtt_us", i.rtt_us.get())?;
        opt(&mut m, "rttvar_us", i.rttvar_us.get())?;
        opt(&mut m, "ato_ms", i.ato_us.get().map(ms))?;
        opt(&mut m, "mss", i.mss.get())?;
        opt(&mut m, "pmtu", i.pmtu.get())?;
        opt(&mut m, "rcv_mss", i.rcv_mss.get())?;
        opt(&mut m, "advmss", i.advmss.get())?;
        opt(&mut m, "cwnd", i.cwnd.get())?;
        opt(&mut m, "ssthresh", i.ssthresh.get())?;
        opt(&mut m, "bytes_sent", i.bytes_sent.get())?;
        opt(&mut m, "bytes_acked", i.bytes_acked.get())?;
        opt(&mut m, "bytes_received", i.bytes_received.get())?;
        opt(&mut m, "bytes_retrans", i.bytes_retrans.get())?;
        opt(&mut m, "segs_out", i.segs_out.get())?;
        opt(&mut m, "segs_in", i.segs_in.get())?;
        opt(&mut m, "data_segs_out", i.data_segs_out.get())?;
        opt(&mut m, "data_segs_in", i.data_segs_in.get())?;
        opt(&mut m, "send_bps", i.send_bps.get())?;
        opt(&mut m, "pacing_rate_bps", i.pacing_rate_bps.get())?;
        opt(&mut m, "max_pacing_rate_bps", i.max_pacing_rate_bps.get())?;
        opt(&mut m, "delivery_rate_bps", i.delivery_rate_bps.get())?;
        opt(&mut m, "delivered", i.delivered.get())?;
        opt(&mut m, "delivered_ce", i.delivered_ce.get())?;
        opt(&mut m, "app_limited", i.app_limited)?;
        opt(&mut m, "lastsnd_ms", i.lastsnd_ms.get())?;
        opt(&mut m, "lastrcv_ms", i.lastrcv_ms.get())?;
        opt(&mut m, "lastack_ms", i.lastack_ms.get())?;
        opt(&mut m, "busy_ms", i.busy_us.get().map(|u| u / 1000))?;
        opt(
            &mut m,
            "rwnd_limited_ms",
            i.rwnd_limited_us.get().map(|u| u / 1000),
        )?;
        opt(
            &mut m,
            "sndbuf_limited_ms",
            i.sndbuf_limited_us.get().map(|u| u / 1000),
        )?;
        opt(&mut m, "retrans", i.retrans.get())?;
        opt(&mut m, "total_retrans", i.total_retrans.get())?;
        opt(&mut m, "lost", i.lost.get())?;
        opt(&mut m, "unacked", i.unacked.get())?;
        opt(&mut m, "sacked", i.sacked.get())?;
        opt(&mut m, "fackets", i.fackets.get())?;
        opt(&mut m, "dsack_dups", i.dsack_dups.get())?;
        opt(&mut m, "reordering", i.reordering.get())?;
        opt(&mut m, "reord_seen", i.reord_seen.get())?;
        opt(&mut m, "rcv_rtt_us", i.rcv_rtt_us.get())?;
        opt(&mut m, "rcv_space", i.rcv_space.get())?;
        opt(&mut m, "rcv_ssthresh", i.rcv_ssthresh.get())?;
        opt(&mut m, "rcv_ooopack", i.rcv_ooopack.get())?;
        opt(&mut m, "minrtt_us", i.minrtt_us.get())?;
        opt(&mut m, "notsent_bytes", i.notsent_bytes.get())?;
        opt(&mut m, "snd_wnd", i.snd_wnd.get())?;
        opt(&mut m, "rcv_wnd", i.rcv_wnd.get())?;
        opt(&mut m, "rehash", i.rehash.get())?;
        opt(&mut m, "total_rto", i.total_rto)?;
        opt(&mut m, "total_rto_recoveries", i.total_rto_recoveries)?;
        opt(&mut m, "total_rto_time_ms", i.total_rto_time_ms.get())?;
        m.end()
    }
}

/// Add the extras' keys to a socket object.
pub(super) fn entries<M: SerializeMap>(m: &mut M, r: &Row) -> Result<(), M::Error> {
    let s = &r.sock;
    let x = s.extras.as_deref();
    m.serialize_entry("cookie", &s.cookie)?;
    m.serialize_entry(
        "cgroup",
        &s.cgroup
            .map(|id| serde_json::json!({"id": id, "path": r.rare.cgroup.as_deref()})),
    )?;
    m.serialize_entry(
        "tcp_info",
        &x.and_then(|x| x.tcp_info.as_ref()).map(TcpInfoJ),
    )?;
    m.serialize_entry(
        "skmem",
        &x.and_then(|x| x.skmem).map(|k| {
            serde_json::json!({
                "rmem_alloc": k.rmem_alloc, "rcvbuf": k.rcvbuf, "wmem_alloc": k.wmem_alloc,
                "sndbuf": k.sndbuf, "fwd_alloc": k.fwd_alloc, "wmem_queued": k.wmem_queued,
                "optmem": k.optmem, "backlog": k.backlog, "drops": k.drops,
            })
        }),
    )?;
    m.serialize_entry(
        "timer",
        &x.and_then(|x| x.timer).map(|t| {
            serde_json::json!({"name": t.kind.name(), "expires_ms": t.expires_ms, "retrans": t.retrans})
        }),
    )?;
    m.serialize_entry(
        "shutdown",
        &x.and_then(|x| x.shutdown)
            .map(|d| serde_json::json!({"receive": d.receive(), "send": d.send()})),
    )?;
    let names: Vec<&str> = alerts(r).into_iter().map(|a| a.name()).collect();
    m.serialize_entry("alerts", &names)
}
