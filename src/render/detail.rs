//! The text ss prints after a socket with -o, -e, --cgroup, -m and -i, in ss's order and
//! notation (misc/ss.c: tcp_timer_print, sock_details_print, print_skmeminfo,
//! tcp_stats_print), plus portwatch's alerts. The table puts it on a continuation line on a
//! terminal and at the end of the socket's line in a pipe.

use super::sanitize::escape;
use crate::model::{CcInfo, Extras, Row, SkMem, State, TcpInfo, Timer};
use crate::pipeline::{alerts, Alert};
use std::fmt::Write;

/// Which details to print (the flags that asked for them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Show {
    /// -o: timers (and, as in ss, the TCP options ts/sack/ecn with -i).
    pub timers: bool,
    /// -e: cookie (sk:), cgroup, shutdown state.
    pub extended: bool,
    /// --cgroup.
    pub cgroup: bool,
    /// -m.
    pub memory: bool,
    /// -i.
    pub info: bool,
    /// -n: rates as plain numbers (`46717584906bps`), else as ss without -n (`46.7Gbps`).
    pub numeric: bool,
}

impl Show {
    /// Whether any detail is printed (and so alerts with them).
    pub fn any(&self) -> bool {
        self.timers || self.extended || self.cgroup || self.memory || self.info
    }
}

/// The detail text of one row: empty when there is nothing to say.
pub fn text(out: &mut String, row: &Row, show: &Show) {
    let s = &row.sock;
    let x = s.extras.as_deref();
    let sep = |out: &mut String| {
        if !out.is_empty() {
            out.push(' ');
        }
    };
    if show.timers {
        if let Some(t) = x.and_then(|x| x.timer) {
            sep(out);
            timer(out, &t);
        }
    }
    if show.extended {
        if let Some(c) = s.cookie {
            sep(out);
            let _ = write!(out, "sk:{:x}", c.get());
        }
    }
    if show.extended || show.cgroup {
        if let Some(id) = s.cgroup {
            sep(out);
            match &row.cgroup {
                Some(p) => {
                    let _ = write!(out, "cgroup:{}", escape(p.as_bytes()));
                }
                // ss's spelling for an id no path was found for.
                None => {
                    let _ = write!(out, "cgroup:unreachable:{:x}", id.get());
                }
            }
        }
    }
    if show.extended {
        if let Some(sd) = x.and_then(|x| x.shutdown) {
            sep(out);
            out.push_str(sd.arrows());
        }
    }
    if show.memory {
        if let Some(m) = x.and_then(|x| x.skmem) {
            sep(out);
            skmem(out, &m);
        }
    }
    if show.info {
        if let Some(i) = x.and_then(|x: &Extras| x.tcp_info.as_ref()) {
            // Spaces its own words: nothing is left behind when it has nothing to say.
            tcp_info(out, i, s.state, show);
        }
    }
    for a in alerts(row) {
        sep(out);
        alert(out, a);
    }
}

fn alert(out: &mut String, a: Alert) {
    let _ = match a {
        Alert::AcceptQueue { percent } => write!(out, "!accept_queue_full({percent}%)"),
        Alert::ZeroWindow => write!(out, "!zero_window"),
        Alert::Retransmitting { segments } => write!(out, "!retransmitting({segments})"),
    };
}

/// ss's print_ms_timer: `119min`, `9min59sec`, `29sec`, `4.250ms`, `030ms`.
pub fn ms_timer(out: &mut String, ms: u32) {
    let (mut secs, mut msecs) = (ms / 1000, ms % 1000);
    let minutes = secs / 60;
    secs %= 60;
    if minutes > 0 {
        msecs = 0;
        let _ = write!(out, "{minutes}min");
        if minutes > 9 {
            secs = 0;
        }
    }
    if secs > 0 {
        if secs > 9 {
            msecs = 0;
        }
        let _ = write!(out, "{secs}{}", if msecs > 0 { "." } else { "sec" });
    }
    if msecs > 0 {
        let _ = write!(out, "{msecs:03}ms");
    }
}

fn timer(out: &mut String, t: &Timer) {
    let _ = write!(out, "timer:({},", t.kind.name());
    ms_timer(out, t.expires_ms);
    let _ = write!(out, ",{})", t.retrans);
}

fn skmem(out: &mut String, m: &SkMem) {
    let _ = write!(
        out,
        "skmem:(r{},rb{},t{},tb{},f{},w{},o{}",
        m.rmem_alloc, m.rcvbuf, m.wmem_alloc, m.sndbuf, m.fwd_alloc, m.wmem_queued, m.optmem
    );
    if let Some(b) = m.backlog {
        let _ = write!(out, ",bl{b}");
    }
    if let Some(d) = m.drops {
        let _ = write!(out, ",d{d}");
    }
    out.push(')');
}

/// C's `%.{prec}g` for the values ss prints (finite, below 1e15): `prec` significant digits,
/// trailing zeros dropped.
pub fn fmt_g(v: f64, prec: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if exp < -4 || exp >= prec as i32 {
        let s = format!("{:.*e}", prec.saturating_sub(1), v);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = trim_zeros(m);
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// ss's sprint_bw, in bits per second.
fn bw(out: &mut String, bps: f64, numeric: bool) {
    let s = if numeric {
        format!("{bps:.0}")
    } else {
        let (div, unit) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
            .into_iter()
            .find(|(d, _)| bps >= *d)
            .unwrap_or((1.0, ""));
        let prec = if unit.is_empty() { 6 } else { 3 };
        format!("{}{unit}", fmt_g(bps / div, prec))
    };
    out.push_str(&s);
    out.push_str("bps");
}

fn ms(us: u32) -> String {
    fmt_g(f64::from(us) / 1000.0, 6)
}

/// tcp_stats_print: what ss -i shows, values that are zero or unknown left out as there.
fn tcp_info(out: &mut String, i: &TcpInfo, state: State, show: &Show) {
    let mut w = Words(out);
    if show.timers {
        for (on, word) in [
            (i.ts, "ts"),
            (i.sack, "sack"),
            (i.ecn, "ecn"),
            (i.ecn_seen, "ecnseen"),
            (i.fastopen, "fastopen"),
        ] {
            if on == Some(true) {
                w.word(format_args!("{word}"));
            }
        }
    }
    if let Some(c) = &i.congestion {
        w.word(format_args!("{c}"));
    }
    if let (Some(s), Some(r)) = (i.wscale_snd, i.wscale_rcv) {
        w.word(format_args!("wscale:{s},{r}"));
    }
    // ss leaves out the initial 3 s timeout (TCP_TIMEOUT_INIT) of a socket never timed.
    if let Some(rto) = i.rto_us.filter(|&r| r != 0 && r != 3_000_000) {
        w.word(format_args!("rto:{}", ms(rto)));
    }
    w.nz("backoff", i.backoff.map(u64::from));
    if let Some(rtt) = i.rtt_us.filter(|&r| r != 0) {
        w.word(format_args!(
            "rtt:{}/{}",
            ms(rtt),
            ms(i.rttvar_us.unwrap_or(0))
        ));
    }
    if let Some(ato) = i.ato_us.filter(|&a| a != 0) {
        w.word(format_args!("ato:{}", ms(ato)));
    }
    let n = |v: Option<u32>| v.map(u64::from);
    w.nz("mss", n(i.mss));
    w.nz("pmtu", n(i.pmtu));
    w.nz("rcvmss", n(i.rcv_mss));
    w.nz("advmss", n(i.advmss));
    w.nz("cwnd", n(i.cwnd));
    w.nz("ssthresh", n(i.ssthresh.filter(|&s| s < 0xffff)));
    w.nz("bytes_sent", i.bytes_sent);
    w.nz("bytes_retrans", i.bytes_retrans);
    w.nz("bytes_acked", i.bytes_acked);
    w.nz("bytes_received", i.bytes_received);
    w.nz("segs_out", n(i.segs_out));
    w.nz("segs_in", n(i.segs_in));
    w.nz("data_segs_out", n(i.data_segs_out));
    w.nz("data_segs_in", n(i.data_segs_in));
    match i.cc_info {
        Some(CcInfo::Dctcp {
            enabled: true,
            ce_state,
            alpha,
            ab_ecn,
            ab_tot,
        }) => w.word(format_args!(
            "dctcp:(ce_state:{ce_state},alpha:{alpha},ab_ecn:{ab_ecn},ab_tot:{ab_tot})"
        )),
        Some(CcInfo::Dctcp { enabled: false, .. }) => w.word(format_args!("dctcp:fallback_mode")),
        Some(CcInfo::Bbr {
            bw_bps,
            min_rtt_us,
            pacing_gain,
            cwnd_gain,
        }) => {
            let mut b = String::new();
            bw(&mut b, bw_bps as f64, show.numeric);
            let _ = write!(b, ",mrtt:{}", ms(min_rtt_us));
            if pacing_gain != 0 {
                let _ = write!(
                    b,
                    ",pacing_gain:{}",
                    fmt_g(f64::from(pacing_gain) / 256.0, 6)
                );
            }
            if cwnd_gain != 0 {
                let _ = write!(b, ",cwnd_gain:{}", fmt_g(f64::from(cwnd_gain) / 256.0, 6));
            }
            w.word(format_args!("bbr:(bw:{b})"));
        }
        _ => {}
    }
    let rate = |label: &str, v: Option<u64>, w: &mut Words| {
        if let Some(v) = v.filter(|&v| v > 0) {
            let mut b = String::new();
            bw(&mut b, v as f64, show.numeric);
            w.word(format_args!("{label} {b}"));
        }
    };
    rate("send", i.send_bps, &mut w);
    w.nz("lastsnd", n(i.lastsnd_ms));
    w.nz("lastrcv", n(i.lastrcv_ms));
    w.nz("lastack", n(i.lastack_ms));
    if let Some(p) = i.pacing_rate_bps.filter(|&p| p > 0) {
        let mut b = String::new();
        bw(&mut b, p as f64, show.numeric);
        if let Some(m) = i.max_pacing_rate_bps.filter(|&m| m > 0) {
            b.push('/');
            bw(&mut b, m as f64, show.numeric);
        }
        w.word(format_args!("pacing_rate {b}"));
    }
    rate("delivery_rate", i.delivery_rate_bps, &mut w);
    w.nz("delivered", n(i.delivered));
    w.nz("delivered_ce", n(i.delivered_ce));
    if i.app_limited == Some(true) {
        w.word(format_args!("app_limited"));
    }
    if let Some(busy) = i.busy_us.filter(|&b| b > 0) {
        w.word(format_args!("busy:{}ms", busy / 1000));
        for (label, v) in [
            ("rwnd_limited", i.rwnd_limited_us),
            ("sndbuf_limited", i.sndbuf_limited_us),
        ] {
            if let Some(v) = v.filter(|&v| v > 0) {
                let pct = 100.0 * v as f64 / busy as f64;
                w.word(format_args!("{label}:{}ms({pct:.1}%)", v / 1000));
            }
        }
    }
    w.nz("unacked", n(i.unacked));
    let (r, t) = (i.retrans.unwrap_or(0), i.total_retrans.unwrap_or(0));
    if r > 0 || t > 0 {
        w.word(format_args!("retrans:{r}/{t}"));
    }
    w.nz("lost", n(i.lost));
    if state != State::LISTEN {
        w.nz("sacked", n(i.sacked));
    }
    w.nz("dsack_dups", n(i.dsack_dups));
    w.nz("fackets", n(i.fackets));
    if let Some(r) = i.reordering.filter(|&r| r != 3) {
        w.word(format_args!("reordering:{r}"));
    }
    w.nz("reord_seen", n(i.reord_seen));
    if let Some(r) = i.rcv_rtt_us.filter(|&r| r != 0) {
        w.word(format_args!("rcv_rtt:{}", ms(r)));
    }
    w.nz("rcv_space", n(i.rcv_space));
    w.nz("rcv_ssthresh", n(i.rcv_ssthresh));
    w.nz("notsent", n(i.notsent_bytes));
    if let Some(m) = i.minrtt_us.filter(|&m| m != 0) {
        w.word(format_args!("minrtt:{}", ms(m)));
    }
    w.nz("rcv_ooopack", n(i.rcv_ooopack));
    w.nz("snd_wnd", n(i.snd_wnd));
    w.nz("rcv_wnd", n(i.rcv_wnd));
    w.nz("rehash", n(i.rehash));
}

/// Space-separated words appended to a string.
struct Words<'a>(&'a mut String);

impl Words<'_> {
    fn word(&mut self, args: std::fmt::Arguments<'_>) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = self.0.write_fmt(args);
    }

    /// `name:value` when the value is known and not zero, as ss prints counters.
    fn nz(&mut self, name: &str, v: Option<u64>) {
        if let Some(v) = v.filter(|&v| v != 0) {
            self.word(format_args!("{name}:{v}"));
        }
    }
}

/// Break `text` (words separated by single spaces) into lines of at most `width` columns;
/// a word longer than that gets a line of its own.
pub fn wrap(text: &str, width: usize) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut last_space: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c == ' ' {
            if i - start > width {
                if let Some(sp) = last_space {
                    lines.push(&text[start..sp]);
                    start = sp + 1;
                }
            }
            last_space = Some(i);
        }
    }
    if text.len() - start > width {
        if let Some(sp) = last_space.filter(|&sp| sp > start) {
            lines.push(&text[start..sp]);
            start = sp + 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, Proto, Shutdown, SockType, Socket, TimerKind};
    use std::num::NonZeroU64;

    #[test]
    fn ms_timer_as_ss_prints_it() {
        let f = |ms| {
            let mut s = String::new();
            ms_timer(&mut s, ms);
            s
        };
        assert_eq!(f(7_190_000), "119min");
        assert_eq!(f(599_500), "9min59sec");
        assert_eq!(f(29_400), "29sec");
        assert_eq!(f(4_250), "4.250ms");
        assert_eq!(f(30), "030ms");
        assert_eq!(f(0), "");
    }

    #[test]
    fn g_format_like_c() {
        assert_eq!(fmt_g(204.0, 6), "204");
        assert_eq!(fmt_g(0.106, 6), "0.106");
        assert_eq!(fmt_g(0.017, 6), "0.017");
        assert_eq!(fmt_g(2.88671875, 6), "2.88672");
        assert_eq!(fmt_g(46.717584906, 3), "46.7");
        assert_eq!(fmt_g(115.84, 3), "116");
        assert_eq!(fmt_g(1.5, 3), "1.5");
        assert_eq!(fmt_g(0.00001, 6), "1e-05");
    }

    #[test]
    fn rates_as_ss_with_and_without_n() {
        let f = |v: f64, numeric| {
            let mut s = String::new();
            bw(&mut s, v, numeric);
            s
        };
        assert_eq!(f(46_717_584_906.0, false), "46.7Gbps");
        assert_eq!(f(46_717_584_906.0, true), "46717584906bps");
        assert_eq!(f(1500.0, false), "1.5kbps");
        assert_eq!(f(999.0, false), "999bps");
    }

    #[test]
    fn detail_line_in_ss_order() {
        let info = TcpInfo {
            congestion: crate::model::CongName::new(b"cubic"),
            ts: Some(true),
            sack: Some(false),
            wscale_snd: Some(7),
            wscale_rcv: Some(7),
            rto_us: Some(204_000),
            rtt_us: Some(106),
            rttvar_us: Some(66),
            mss: Some(32768),
            cwnd: Some(10),
            ssthresh: None,
            bytes_acked: Some(1),
            reordering: Some(3),
            retrans: Some(0),
            total_retrans: Some(2),
            rcv_space: Some(65495),
            minrtt_us: Some(17),
            send_bps: Some(24_730_867_924),
            ..TcpInfo::default()
        };
        let sock = Socket {
            cookie: NonZeroU64::new(0x69d8),
            cgroup: NonZeroU64::new(1),
            extras: Some(Box::new(Extras {
                tcp_info: Some(info),
                skmem: Some(SkMem {
                    rcvbuf: 131072,
                    sndbuf: 2626560,
                    backlog: Some(0),
                    drops: Some(0),
                    ..SkMem::default()
                }),
                timer: Some(Timer {
                    kind: TimerKind::Keepalive,
                    expires_ms: 7_190_000,
                    retrans: 0,
                }),
                shutdown: Some(Shutdown(0)),
            })),
            ..Socket::new(
                Proto::Tcp,
                Family::Ipv4,
                SockType::Stream,
                State::ESTABLISHED,
            )
        };
        let mut row = Row::new(sock);
        row.cgroup = Some("/".into());
        let all = Show {
            timers: true,
            extended: true,
            cgroup: true,
            memory: true,
            info: true,
            numeric: false,
        };
        let mut s = String::new();
        text(&mut s, &row, &all);
        assert_eq!(
            s,
            "timer:(keepalive,119min,0) sk:69d8 cgroup:/ <-> \
             skmem:(r0,rb131072,t0,tb2626560,f0,w0,o0,bl0,d0) ts cubic wscale:7,7 rto:204 \
             rtt:0.106/0.066 mss:32768 cwnd:10 bytes_acked:1 send 24.7Gbps retrans:0/2 \
             rcv_space:65495 minrtt:0.017"
        );
        let mut s = String::new();
        text(&mut s, &row, &Show::default());
        assert_eq!(s, "", "nothing asked, nothing shown");
        row.cgroup = None;
        let mut s = String::new();
        text(
            &mut s,
            &row,
            &Show {
                cgroup: true,
                ..Show::default()
            },
        );
        assert_eq!(s, "cgroup:unreachable:1");
    }

    #[test]
    fn wrap_at_spaces() {
        assert_eq!(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
        assert_eq!(wrap("aaaaaaa bb", 5), ["aaaaaaa", "bb"]);
        assert_eq!(wrap("aa", 5), ["aa"]);
        assert_eq!(wrap("", 5), Vec::<&str>::new());
        assert_eq!(wrap("a b c d e f", 3), ["a b", "c d", "e f"]);
    }
}
