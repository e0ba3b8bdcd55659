//! Helpers of the live tests of issue #13 (tests/diag_live.rs, tests/diag_cli.rs): the
//! test's own loopback connections, reads of one socket by sock_diag, and what ss prints for
//! one socket, read so that values that move between two reads do not make a flaky failure.
#![allow(dead_code)]

use portwatch::model::{Detail, Family, Proto, Socket, StateSet};
use portwatch::platform::linux::netlink::dump_inet_detail;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

pub const ESTAB: StateSet = StateSet(1 << 1);
pub const TIME_WAIT: StateSet = StateSet(1 << 6);

pub fn inode(fd: impl AsFd) -> u64 {
    nix::sys::stat::fstat(fd).expect("fstat").st_ino
}

pub fn detail(tcp_info: bool, memory: bool, timers: bool) -> Detail {
    Detail {
        tcp_info,
        memory,
        timers,
        shutdown: false,
    }
}

/// Our view of one TCP socket (IPv4 loopback, any state in `states`), found by inode.
pub fn ours(ino: u64, states: StateSet, d: Detail) -> Socket {
    dump_inet_detail(Proto::Tcp, Family::Ipv4, states, d)
        .expect("dump")
        .into_iter()
        .find(|s| s.inode == ino)
        .unwrap_or_else(|| panic!("socket inode {ino} not in the dump"))
}

/// A connected loopback pair: (listener, client, server end).
pub fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (l, c, s)
}

/// ss's filter for exactly one connection, from `s`'s side.
pub fn one(s: &TcpStream) -> String {
    let (l, r) = (s.local_addr().unwrap(), s.peer_addr().unwrap());
    format!("sport = :{} and dport = :{}", l.port(), r.port())
}

/// The one line `ss ARGS -HO FILTER` prints for one socket.
pub fn ss_line(args: &str, filter: &str) -> String {
    let text = crate::common::ss(&[args, "-HO", filter]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "ss {args} {filter}: {text}");
    lines[0].to_string()
}

/// `key:value` tokens of an ss line, and the bare words (options, the algorithm name).
pub fn tokens(line: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut kv = HashMap::new();
    let mut words = Vec::new();
    for t in line.split_whitespace().skip(5) {
        match t.split_once(':') {
            Some((k, v)) => {
                kv.insert(k.to_string(), v.to_string());
            }
            None => words.push(t.to_string()),
        }
    }
    (kv, words)
}

/// Read ss, run `read`, read ss again, until the two ss lines agree on `keys` (at most 20
/// tries): the returned pair was read while those values stood still.
pub fn stable<T>(
    args: &str,
    filter: &str,
    keys: &[&str],
    mut read: impl FnMut() -> T,
) -> (HashMap<String, String>, Vec<String>, T) {
    for _ in 0..20 {
        let (a, wa) = tokens(&ss_line(args, filter));
        let ours = read();
        let (b, wb) = tokens(&ss_line(args, filter));
        if keys.iter().all(|k| a.get(*k) == b.get(*k)) && wa == wb {
            return (a, wa, ours);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("ss never read {keys:?} twice alike for {filter}");
}

/// Send `n` bytes from `c` to `s`, read them all on the other end, then wait until the
/// sender has nothing unacknowledged.
pub fn transfer(c: &mut TcpStream, s: &mut TcpStream, n: usize) {
    let data = vec![0x5au8; n];
    let writer = {
        let mut c = c.try_clone().unwrap();
        std::thread::spawn(move || c.write_all(&data))
    };
    let mut got = 0;
    let mut buf = vec![0u8; 65536];
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while got < n {
        got += s.read(&mut buf).expect("read the transfer");
    }
    writer.join().unwrap().expect("write the transfer");
    let ino = inode(&*c);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = ours(ino, ESTAB, detail(true, false, false))
            .extras
            .and_then(|x| x.tcp_info)
            .expect("tcp_info");
        if info.unacked.get() == Some(0) && info.notsent_bytes.get() == Some(0) {
            return;
        }
        assert!(Instant::now() < deadline, "never fully acked: {info:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// ss's `timer:(name,expires,retrans)` expiry (misc/ss.c, print_ms_timer) as the range of
/// milliseconds it stands for: minutes drop seconds past 9 min, seconds drop ms past 9 s.
pub fn ss_timer_range(text: &str) -> (u64, u64) {
    let mut rest = text;
    let mut lo = 0u64;
    let mut unit = 1u64;
    let take_num = |r: &mut &str| -> Option<u64> {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        let n = r[..end].parse().ok()?;
        *r = &r[end..];
        Some(n)
    };
    while !rest.is_empty() {
        let n = take_num(&mut rest).unwrap_or_else(|| panic!("ss timer {text}"));
        if let Some(r) = rest.strip_prefix("min") {
            lo += n * 60_000;
            unit = if n > 9 { 60_000 } else { 1_000 };
            rest = r;
        } else if let Some(r) = rest.strip_prefix("sec") {
            lo += n * 1000;
            unit = 1000;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            lo += n * 1000;
            unit = 1;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("ms") {
            lo += n;
            unit = 1;
            rest = r;
        } else {
            panic!("ss timer {text}");
        }
    }
    (lo, lo + unit)
}

/// ss's `skmem:(r0,rb131072,...)` as a map from prefix to value.
pub fn ss_skmem(line: &str) -> Vec<(String, u64)> {
    let inner = line
        .split("skmem:(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no skmem in ss: {line}"));
    inner
        .split(',')
        .map(|f| {
            let at = f.find(|c: char| c.is_ascii_digit()).expect("skmem value");
            (f[..at].to_string(), f[at..].parse().expect("skmem number"))
        })
        .collect()
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Under CI=true the test needs root and fails without it; elsewhere it is skipped.
pub fn root_or_skip(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs root (CI=true: failing, not skipping)"
    );
    eprintln!("skipped: {what} needs root");
    false
}

/// Whether `s` still works both ways with its peer `p`.
pub fn alive(s: &mut TcpStream, p: &mut TcpStream) -> bool {
    p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 4];
    s.write_all(b"ping").is_ok() && p.read_exact(&mut b).is_ok() && &b == b"ping"
}
