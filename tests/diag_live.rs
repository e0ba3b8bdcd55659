//! Live checks of the sock_diag extras against ss on the test's own loopback sockets:
//! tcp_info and congestion (`ss -ti`), socket memory (`ss -tm`, `ss -xm`), timers
//! (`ss -to`); and, in diag_live/kill.rs, SOCK_DESTROY (`ss -K`) and the close-event stream
//! (`ss -E`).
//!
//! ss and a dump never read at the same instant. Values that move on their own (lastsnd,
//! timers) are compared with the time between the two reads as tolerance; the others are
//! read when the connection is idle, and a comparison counts only when two ss reads around
//! our dump agree (`stable`), so traffic from a delayed ACK cannot make a flaky failure.
#![cfg(target_os = "linux")]

mod common;
#[path = "diag_live/kill.rs"]
mod kill;
#[path = "common/sslive.rs"]
mod sslive;

use sslive::*;

use portwatch::model::{Detail, Family, Proto, SkMem, Socket, StateSet, TimerKind};
use portwatch::platform::linux::netlink::{dump_inet_detail, dump_unix_detail};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// ss's number for `key`: absent means 0 (ss prints only non-zero values).
fn num(kv: &HashMap<String, String>, key: &str) -> u64 {
    kv.get(key).map_or(0, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("ss {key}:{v} is not a number"))
    })
}

/// ss's milliseconds with fractions ("0.106") as microseconds.
fn ms_as_us(v: &str) -> u32 {
    (v.parse::<f64>().expect("ss ms value") * 1000.0).round() as u32
}

#[test]
fn tcp_info_matches_ss() {
    let (_l, mut c, mut s) = pair();
    transfer(&mut c, &mut s, 200_000);
    transfer(&mut s, &mut c, 3_000);
    let keys = [
        "wscale",
        "rto",
        "rtt",
        "mss",
        "pmtu",
        "rcvmss",
        "advmss",
        "cwnd",
        "ssthresh",
        "bytes_sent",
        "bytes_acked",
        "bytes_received",
        "segs_out",
        "segs_in",
        "data_segs_out",
        "data_segs_in",
        "rcv_space",
        "rcv_ssthresh",
        "snd_wnd",
        "minrtt",
    ];
    let ino = inode(&c);
    let (kv, words, sock) = stable("-tin", &one(&c), &keys, || {
        ours(ino, ESTAB, detail(true, false, false))
    });
    let i = sock.extras.and_then(|x| x.tcp_info).expect("tcp_info");
    let cong = i.congestion.expect("congestion").to_string();
    assert_eq!(words.first(), Some(&cong), "algorithm: ss {words:?}");
    let wscale = format!("{},{}", i.wscale_snd.unwrap(), i.wscale_rcv.unwrap());
    assert_eq!(kv.get("wscale"), Some(&wscale));
    let u = |v: Option<u32>| u64::from(v.expect("field reported"));
    let l = |v: Option<u64>| v.expect("field reported");
    for (key, mine) in [
        ("mss", u(i.mss.get())),
        ("pmtu", u(i.pmtu.get())),
        ("rcvmss", u(i.rcv_mss.get())),
        ("advmss", u(i.advmss.get())),
        ("cwnd", u(i.cwnd.get())),
        ("rcv_space", u(i.rcv_space.get())),
        ("rcv_ssthresh", u(i.rcv_ssthresh.get())),
        ("bytes_sent", l(i.bytes_sent.get())),
        ("bytes_acked", l(i.bytes_acked.get())),
        ("bytes_received", l(i.bytes_received.get())),
        ("segs_out", u(i.segs_out.get())),
        ("segs_in", u(i.segs_in.get())),
        ("data_segs_out", u(i.data_segs_out.get())),
        ("data_segs_in", u(i.data_segs_in.get())),
        ("snd_wnd", u(i.snd_wnd.get())),
        ("ssthresh", i.ssthresh.get().map_or(0, u64::from)),
    ] {
        assert_eq!(num(&kv, key), mine, "{key}: ss {kv:?}");
    }
    // Times: ss prints ms with three decimals of the kernel's microseconds.
    let rtt = kv.get("rtt").expect("ss rtt").split_once('/').unwrap();
    assert_eq!(
        (ms_as_us(rtt.0), ms_as_us(rtt.1)),
        (u(i.rtt_us.get()) as u32, u(i.rttvar_us.get()) as u32)
    );
    assert_eq!(ms_as_us(&kv["rto"]), i.rto_us.get().unwrap());
    assert_eq!(ms_as_us(&kv["minrtt"]), i.minrtt_us.get().unwrap());
    assert!(i.send_bps.get().is_some_and(|b| b > 0));
}

#[test]
fn bytes_acked_grows_by_what_was_sent() {
    let (_l, mut c, mut s) = pair();
    transfer(&mut c, &mut s, 1_000);
    let ino = inode(&c);
    let acked = || {
        ours(ino, ESTAB, detail(true, false, false))
            .extras
            .and_then(|x| x.tcp_info)
            .and_then(|i| i.bytes_acked.get())
            .expect("bytes_acked")
    };
    let before = acked();
    transfer(&mut c, &mut s, 123_457);
    assert_eq!(acked() - before, 123_457);
}

#[test]
fn ss_timer_ranges() {
    assert_eq!(ss_timer_range("119min"), (7_140_000, 7_200_000));
    assert_eq!(ss_timer_range("9min59sec"), (599_000, 600_000));
    assert_eq!(ss_timer_range("29sec"), (29_000, 30_000));
    assert_eq!(ss_timer_range("4.250ms"), (4_250, 4_251));
    assert_eq!(ss_timer_range("030ms"), (30, 31));
}

/// The TCP socket (IPv4, in `states`) with these ports, with its timer.
fn by_ports(states: StateSet, local: u16, remote: u16) -> Option<Socket> {
    let port = |e: &Option<portwatch::model::Endpoint>| e.as_ref().and_then(|e| e.port());
    dump_inet_detail(Proto::Tcp, Family::Ipv4, states, detail(false, false, true))
        .expect("dump")
        .into_iter()
        .find(|x| port(&x.local) == Some(local) && port(&x.remote) == Some(remote))
}

/// Our timer of the socket (in `states`) with these ports against what `ss -to` prints.
fn assert_timer_as_ss(states: StateSet, (local, remote): (u16, u16), want: TimerKind) {
    let filter = format!("sport = :{local} and dport = :{remote}");
    let started = Instant::now();
    let t = by_ports(states, local, remote)
        .and_then(|s| s.extras)
        .and_then(|x| x.timer)
        .expect("a pending timer");
    let line = ss_line("-tnoa", &filter);
    let elapsed = started.elapsed().as_millis() as u64 + 1;
    let inner = line
        .split("timer:(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no timer in ss: {line}"));
    let f: Vec<&str> = inner.split(',').collect();
    assert_eq!(f[0], t.kind.name(), "{line}");
    assert_eq!(t.kind, want);
    assert_eq!(f[2], t.retrans.to_string(), "{line}");
    // We read first: ss's expiry is ours minus the time in between, cut to its unit.
    let (lo, hi) = ss_timer_range(f[1]);
    let mine = u64::from(t.expires_ms);
    assert!(
        mine + 1 >= lo && mine < hi + elapsed,
        "ours {mine} ms, ss {} = [{lo}, {hi}) ms, {elapsed} ms apart",
        f[1]
    );
}

#[test]
fn keepalive_and_timewait_timers_as_ss_shows_them() {
    let (_l, c, mut s) = pair();
    let ports = (
        c.local_addr().unwrap().port(),
        s.local_addr().unwrap().port(),
    );
    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(30));
    socket2::SockRef::from(&c).set_tcp_keepalive(&ka).unwrap();
    assert_timer_as_ss(ESTAB, ports, TimerKind::Keepalive);
    // Without SO_KEEPALIVE and with nothing in flight, no timer: ss prints none either.
    let t = ours(inode(&s), ESTAB, detail(false, false, true)).extras;
    assert_eq!(t.and_then(|x| x.timer), None);
    assert!(!ss_line("-tno", &one(&s)).contains("timer:"));

    // The side that closes first waits in TIME-WAIT (inode 0: found by its ports).
    drop(c);
    assert_eq!(s.read(&mut [0u8; 1]).unwrap(), 0, "FIN from the client");
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(5);
    let tw = loop {
        if let Some(t) = by_ports(TIME_WAIT, ports.0, ports.1) {
            break t;
        }
        assert!(Instant::now() < deadline, "no TIME-WAIT socket");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(tw.cookie.is_some(), "TIME-WAIT sockets have a cookie too");
    assert_timer_as_ss(TIME_WAIT, ports, TimerKind::TimeWait);
}

fn as_ss(m: &SkMem) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = [
        ("r", m.rmem_alloc),
        ("rb", m.rcvbuf),
        ("t", m.wmem_alloc),
        ("tb", m.sndbuf),
        ("f", m.fwd_alloc),
        ("w", m.wmem_queued),
        ("o", m.optmem),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), u64::from(v)))
    .collect();
    v.extend(m.backlog.map(|b| ("bl".to_string(), u64::from(b))));
    v.extend(m.drops.map(|d| ("d".to_string(), u64::from(d))));
    v
}

/// Read ss's skmem line for `filter` around `read` until two ss reads agree.
fn stable_skmem(args: &str, filter: &str, mut read: impl FnMut() -> SkMem) {
    for _ in 0..20 {
        let a = ss_skmem(&ss_line(args, filter));
        let mine = read();
        let b = ss_skmem(&ss_line(args, filter));
        if a == b {
            assert_eq!(as_ss(&mine), a, "skmem for {filter}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("ss never read skmem twice alike for {filter}");
}

#[test]
fn tcp_skmem_matches_ss() {
    let (_l, mut c, s) = pair();
    // Unread data on the server end, so the receive side is not all zeros.
    c.write_all(&[7u8; 3000]).unwrap();
    let ino = inode(&s);
    let deadline = Instant::now() + Duration::from_secs(5);
    while ours(ino, ESTAB, Detail::default()).recv_q.get() != Some(3000) {
        assert!(Instant::now() < deadline, "data never queued");
        std::thread::sleep(Duration::from_millis(10));
    }
    stable_skmem("-tnm", &one(&s), || {
        let x = ours(ino, ESTAB, detail(false, true, false)).extras;
        x.and_then(|x| x.skmem).expect("skmem")
    });
}

#[test]
fn unix_skmem_matches_ss() {
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.write_all(&[1u8; 500]).unwrap();
    // A unix stream charges queued data to the sender's write memory (unix_stream_sendmsg:
    // skb_set_owner_w), so the sender is the socket with numbers to compare.
    let ino = inode(&a);
    let _peer = b;
    let read = || {
        dump_unix_detail(StateSet::ALL, detail(false, true, false))
            .expect("dump")
            .into_iter()
            .find(|s| s.inode == ino)
            .and_then(|s| s.extras)
            .and_then(|x| x.skmem)
            .expect("unix skmem")
    };
    // ss prints an unnamed unix socket's inode as its port: `* INODE * PEER`.
    let text_for = || {
        let out = common::ss(&["-xmHO"]);
        out.lines()
            .find(|l| l.split_whitespace().nth(5) == Some(ino.to_string().as_str()))
            .unwrap_or_else(|| panic!("ss -xm has no socket {ino}"))
            .to_string()
    };
    for _ in 0..20 {
        let x = ss_skmem(&text_for());
        let mine = read();
        if x == ss_skmem(&text_for()) {
            assert_eq!(as_ss(&mine), x);
            assert!(
                mine.wmem_alloc >= 500,
                "the queued bytes are charged: {mine:?}"
            );
            return;
        }
    }
    panic!("ss -xm never stable");
}
