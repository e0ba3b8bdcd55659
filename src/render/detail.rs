//! The text ss prints after a socket with -o, -e, --cgroup, -m and -i, in ss's order and
//! notation (misc/ss.c: tcp_timer_print, sock_details_print, print_skmeminfo,
//! tcp_stats_print), plus portwatch's alerts. The table puts it on a continuation line on a
//! terminal and at the end of the socket's line in a pipe.

use super::num::push_u64;
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

/// Append the detail text of one row to `out`: nothing when there is nothing to say, and
/// each word after a space unless `out` was empty (so a table line can take it as it is).
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
            match &row.rare.cgroup {
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
/// trailing zeros dropped. As C says, the style follows the exponent of the `%e` form, after
/// its rounding: 999999.5 is `1e+06` at six digits, where the exponent of the value itself
/// (5) would give `1000000`. Reading it from the `%e` text also keeps libm out of the binary
/// (`log10` was its only use; mapping libm cost every run ~0.3 MB of resident pages).
pub fn fmt_g(v: f64, prec: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let prec = prec.max(1);
    let s = format!("{:.*e}", prec - 1, v);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = e.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let m = trim_zeros(m);
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
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

/// `%g` (six significant digits) of `n / 10^k` computed exactly, with C's rounding of an
/// exact value (to nearest, ties to even). For values that are exact in binary too (the
/// congestion-control gains, n/256), this is what printf prints, without the slow
/// exact float-to-decimal path. `None` where %g would use an exponent.
fn g6_exact(n: u64, k: u32) -> Option<String> {
    if n == 0 {
        return Some("0".into());
    }
    let digits = n.to_string();
    // The decimal exponent of the first (non-zero) digit: n has no leading zeros.
    let exp = digits.len() as i64 - 1 - i64::from(k);
    if !(-4..6).contains(&exp) {
        return None;
    }
    // Keep six significant digits; round the rest.
    let keep = digits.len().min(6);
    let (head, tail) = digits.split_at(keep);
    let mut v: u64 = head.parse().ok()?;
    let half = tail.as_bytes().first().map_or(0, |&b| b - b'0');
    let rest_zero = tail.bytes().skip(1).all(|b| b == b'0');
    if half > 5 || (half == 5 && (!rest_zero || v % 2 == 1)) {
        v += 1;
    }
    let scale = k as i64 - tail.len() as i64;
    let s = v.to_string();
    let out = if scale <= 0 {
        format!("{s}{}", "0".repeat((-scale) as usize))
    } else {
        let scale = scale as usize;
        let s = format!("{s:0>width$}", width = scale + 1);
        let (i, f) = s.split_at(s.len() - scale);
        format!("{i}.{f}")
    };
    Some(trim_zeros(&out).to_string())
}

/// A congestion-control gain (fixed point, 8 fractional bits) as ss prints it.
fn gain(out: &mut String, g: u32) {
    match g6_exact(u64::from(g) * 390_625, 8) {
        Some(s) => out.push_str(&s),
        None => out.push_str(&fmt_g(f64::from(g) / 256.0, 6)),
    }
}

/// ss's sprint_bw, in bits per second.
fn bw(out: &mut String, bps: u64, numeric: bool) {
    if numeric {
        push_u64(out, bps);
    } else {
        let v = bps as f64;
        let (div, unit) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
            .into_iter()
            .find(|(d, _)| v >= *d)
            .unwrap_or((1.0, ""));
        let prec = if unit.is_empty() { 6 } else { 3 };
        out.push_str(&fmt_g(v / div, prec));
        out.push_str(unit);
    }
    out.push_str("bps");
}

/// Microseconds as ss prints milliseconds (`%g` of us / 1000.0). Below 1000 ms the
/// integer part has at most three digits, so six significant digits are the exact three
/// decimals: written without floating point.
fn ms(out: &mut String, us: u32) {
    if us >= 1_000_000 {
        out.push_str(&fmt_g(f64::from(us) / 1000.0, 6));
        return;
    }
    push_u64(out, u64::from(us / 1000));
    let frac = us % 1000;
    if frac > 0 {
        // Three decimals, trailing zeros dropped: 0.5 not 0.500.
        let digits = [frac / 100, frac / 10 % 10, frac % 10];
        let used = 3 - digits.iter().rev().take_while(|&&d| d == 0).count();
        out.push('.');
        for d in &digits[..used] {
            out.push(char::from(b'0' + *d as u8));
        }
    }
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
                w.start(word);
            }
        }
    }
    if let Some(c) = &i.congestion {
        w.start(c.as_str());
    }
    if let (Some(s), Some(r)) = (i.wscale_snd, i.wscale_rcv) {
        let o = w.start("wscale:");
        push_u64(o, s.into());
        o.push(',');
        push_u64(o, r.into());
    }
    // ss leaves out the initial 3 s timeout (TCP_TIMEOUT_INIT) of a socket never timed.
    if let Some(rto) = i.rto_us.get().filter(|&r| r != 0 && r != 3_000_000) {
        ms(w.start("rto:"), rto);
    }
    w.nz("backoff", i.backoff.map(u64::from));
    if let Some(rtt) = i.rtt_us.get().filter(|&r| r != 0) {
        let o = w.start("rtt:");
        ms(o, rtt);
        o.push('/');
        ms(o, i.rttvar_us.get().unwrap_or(0));
    }
    if let Some(ato) = i.ato_us.get().filter(|&a| a != 0) {
        ms(w.start("ato:"), ato);
    }
    let n = |v: Option<u32>| v.map(u64::from);
    w.nz("mss", n(i.mss.get()));
    w.nz("pmtu", n(i.pmtu.get()));
    w.nz("rcvmss", n(i.rcv_mss.get()));
    w.nz("advmss", n(i.advmss.get()));
    w.nz("cwnd", n(i.cwnd.get()));
    w.nz("ssthresh", n(i.ssthresh.get().filter(|&s| s < 0xffff)));
    w.nz("bytes_sent", i.bytes_sent.get());
    w.nz("bytes_retrans", i.bytes_retrans.get());
    w.nz("bytes_acked", i.bytes_acked.get());
    w.nz("bytes_received", i.bytes_received.get());
    w.nz("segs_out", n(i.segs_out.get()));
    w.nz("segs_in", n(i.segs_in.get()));
    w.nz("data_segs_out", n(i.data_segs_out.get()));
    w.nz("data_segs_in", n(i.data_segs_in.get()));
    match i.cc_info {
        Some(CcInfo::Dctcp {
            enabled: true,
            ce_state,
            alpha,
            ab_ecn,
            ab_tot,
        }) => {
            let o = w.start("dctcp:(ce_state:");
            let _ = write!(
                o,
                "{ce_state},alpha:{alpha},ab_ecn:{ab_ecn},ab_tot:{ab_tot})"
            );
        }
        Some(CcInfo::Dctcp { enabled: false, .. }) => {
            w.start("dctcp:fallback_mode");
        }
        Some(CcInfo::Bbr {
            bw_bps,
            min_rtt_us,
            pacing_gain,
            cwnd_gain,
        }) => {
            let o = w.start("bbr:(bw:");
            bw(o, bw_bps, show.numeric);
            o.push_str(",mrtt:");
            ms(o, min_rtt_us);
            if pacing_gain != 0 {
                o.push_str(",pacing_gain:");
                gain(o, pacing_gain);
            }
            if cwnd_gain != 0 {
                o.push_str(",cwnd_gain:");
                gain(o, cwnd_gain);
            }
            o.push(')');
        }
        _ => {}
    }
    if let Some(v) = i.send_bps.get().filter(|&v| v > 0) {
        bw(w.start("send "), v, show.numeric);
    }
    w.nz("lastsnd", n(i.lastsnd_ms.get()));
    w.nz("lastrcv", n(i.lastrcv_ms.get()));
    w.nz("lastack", n(i.lastack_ms.get()));
    if let Some(p) = i.pacing_rate_bps.get().filter(|&p| p > 0) {
        let o = w.start("pacing_rate ");
        bw(o, p, show.numeric);
        if let Some(m) = i.max_pacing_rate_bps.get().filter(|&m| m > 0) {
            o.push('/');
            bw(o, m, show.numeric);
        }
    }
    if let Some(v) = i.delivery_rate_bps.get().filter(|&v| v > 0) {
        bw(w.start("delivery_rate "), v, show.numeric);
    }
    w.nz("delivered", n(i.delivered.get()));
    w.nz("delivered_ce", n(i.delivered_ce.get()));
    if i.app_limited == Some(true) {
        w.start("app_limited");
    }
    if let Some(busy) = i.busy_us.get().filter(|&b| b > 0) {
        let o = w.start("busy:");
        push_u64(o, busy / 1000);
        o.push_str("ms");
        for (label, v) in [
            ("rwnd_limited:", i.rwnd_limited_us.get()),
            ("sndbuf_limited:", i.sndbuf_limited_us.get()),
        ] {
            if let Some(v) = v.filter(|&v| v > 0) {
                let pct = 100.0 * v as f64 / busy as f64;
                let o = w.start(label);
                let _ = write!(o, "{}ms({pct:.1}%)", v / 1000);
            }
        }
    }
    w.nz("unacked", n(i.unacked.get()));
    let (r, t) = (
        i.retrans.get().unwrap_or(0),
        i.total_retrans.get().unwrap_or(0),
    );
    if r > 0 || t > 0 {
        let o = w.start("retrans:");
        push_u64(o, r.into());
        o.push('/');
        push_u64(o, t.into());
    }
    w.nz("lost", n(i.lost.get()));
    if state != State::LISTEN {
        w.nz("sacked", n(i.sacked.get()));
    }
    w.nz("dsack_dups", n(i.dsack_dups.get()));
    w.nz("fackets", n(i.fackets.get()));
    if let Some(r) = i.reordering.get().filter(|&r| r != 3) {
        push_u64(w.start("reordering:"), r.into());
    }
    w.nz("reord_seen", n(i.reord_seen.get()));
    if let Some(r) = i.rcv_rtt_us.get().filter(|&r| r != 0) {
        ms(w.start("rcv_rtt:"), r);
    }
    w.nz("rcv_space", n(i.rcv_space.get()));
    w.nz("rcv_ssthresh", n(i.rcv_ssthresh.get()));
    w.nz("notsent", n(i.notsent_bytes.get()));
    if let Some(m) = i.minrtt_us.get().filter(|&m| m != 0) {
        ms(w.start("minrtt:"), m);
    }
    w.nz("rcv_ooopack", n(i.rcv_ooopack.get()));
    w.nz("snd_wnd", n(i.snd_wnd.get()));
    w.nz("rcv_wnd", n(i.rcv_wnd.get()));
    w.nz("rehash", n(i.rehash.get()));
}

/// Space-separated words appended to a string.
struct Words<'a>(&'a mut String);

impl Words<'_> {
    /// Start a word with `head` and hand back the string to finish it.
    fn start(&mut self, head: &str) -> &mut String {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(head);
        self.0
    }

    /// `name:value` when the value is known and not zero, as ss prints counters.
    fn nz(&mut self, name: &str, v: Option<u64>) {
        if let Some(v) = v.filter(|&v| v != 0) {
            let o = self.start(name);
            o.push(':');
            push_u64(o, v);
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
        // printf's own (Python's '%.*g' % (p, v)): where rounding reaches the next power
        // of ten, the %e form's exponent decides the style.
        for (v, p, c) in [
            (999999.5, 6, "1e+06"),
            (9.9999995, 6, "10"),
            (99.95, 3, "100"),
            (0.00099995, 4, "0.001"),
            (999.96, 4, "1000"),
            (0.0001, 6, "0.0001"),
            (123456789.0, 6, "1.23457e+08"),
            (1e15, 6, "1e+15"),
            (0.1, 1, "0.1"),
            (5.0, 0, "5"),
        ] {
            assert_eq!(fmt_g(v, p), c, "%.{p}g of {v}");
        }
    }

    #[test]
    fn milliseconds_without_floats_match_g() {
        for us in [
            0u32, 1, 10, 17, 106, 1000, 1005, 1050, 1500, 1999, 204_000, 999_999, 1_000_000,
            1_234_567,
        ] {
            let mut s = String::new();
            ms(&mut s, us);
            assert_eq!(s, fmt_g(f64::from(us) / 1000.0, 6), "{us} us");
        }
    }

    #[test]
    fn gains_exactly_as_printf() {
        for g in [
            1u32,
            3,
            64,
            128,
            256,
            277,
            739,
            1000,
            65535,
            1 << 20,
            1 << 24,
        ] {
            let mut s = String::new();
            gain(&mut s, g);
            assert_eq!(s, fmt_g(f64::from(g) / 256.0, 6), "gain {g}");
        }
        let mut s = String::new();
        gain(&mut s, 739);
        assert_eq!(s, "2.88672", "bbr's high gain, as ss printed it live");
    }

    #[test]
    fn rates_as_ss_with_and_without_n() {
        let f = |v: u64, numeric| {
            let mut s = String::new();
            bw(&mut s, v, numeric);
            s
        };
        assert_eq!(f(46_717_584_906, false), "46.7Gbps");
        assert_eq!(f(46_717_584_906, true), "46717584906bps");
        assert_eq!(f(1500, false), "1.5kbps");
        assert_eq!(f(999, false), "999bps");
        assert_eq!(f(0, true), "0bps");
        assert_eq!(f(u64::MAX, true), "18446744073709551615bps");
    }

    #[test]
    fn detail_line_in_ss_order() {
        let info = TcpInfo {
            congestion: crate::model::CongName::new(b"cubic"),
            ts: Some(true),
            sack: Some(false),
            wscale_snd: Some(7),
            wscale_rcv: Some(7),
            rto_us: Some(204_000).into(),
            rtt_us: Some(106).into(),
            rttvar_us: Some(66).into(),
            mss: Some(32768).into(),
            cwnd: Some(10).into(),
            ssthresh: None.into(),
            bytes_acked: Some(1).into(),
            reordering: Some(3).into(),
            retrans: Some(0).into(),
            total_retrans: Some(2).into(),
            rcv_space: Some(65495).into(),
            minrtt_us: Some(17).into(),
            send_bps: Some(24_730_867_924).into(),
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
        row.rare.cgroup = Some("/".into());
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
        row.rare.cgroup = None;
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
