//! What watch's TCP state feed costs (library calls only): the tracepoint program's time per
//! state change, from N loopback connect/accept/close cycles timed with the feed attached and
//! without it (runs alternated, medians), and the time of one `changes` call that reads about
//! 1,500 records. Run as root (bench/README.md, "TCP state feed"):
//!
//!     cargo run --release --example feed -- [CYCLES [RUNS]]
//!
//! With `sysctl kernel.bpf_stats_enabled=1` (and bpftool installed) it also prints the
//! kernel's own count of the program's runs and their time (`bpftool prog show`), which
//! excludes the tracepoint's dispatch but none of the program.
//!
//! Each cycle: connect to a loopback listener, accept, and abort the client with a reset
//! (SO_LINGER 0), which leaves no TIME-WAIT socket to exhaust the ports: six changes (the
//! client's CLOSE>SYN-SENT>ESTABLISHED>CLOSE, the accepted end's LISTEN>SYN-RECV>ESTABLISHED
//! and, on the reset, >CLOSE).

use portwatch::model::StateChange;
use portwatch::platform::{Glimpser, SourceOptions, System};
use std::collections::HashSet;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let out = &mut std::io::stdout().lock();
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let cycles = args.next().flatten().unwrap_or(20_000).max(1);
    let runs = args.next().flatten().unwrap_or(5).max(1);
    let sys = System::new(SourceOptions::default()).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let mut changes = 0u64;
    let mut stats = (0u64, 0u64);
    for _ in 0..runs {
        // Without: no program attached (the glimpser alone attaches nothing).
        without.push(cycle_run(&listener, cycles)?);
        let mut gl = sys.glimpser().map_err(std::io::Error::other)?;
        gl.follow().map_err(std::io::Error::other)?;
        let (t, n) = cycle_run_counted(&listener, cycles, &mut gl)?;
        with.push(t);
        changes = n;
        if let Some((cnt, ns)) = kernel_stats() {
            stats.0 += cnt;
            stats.1 += ns;
        }
    }
    let per_cycle = |v: &mut Vec<Duration>| median(v).as_secs_f64() * 1e9 / cycles as f64;
    let (w, wo) = (per_cycle(&mut with), per_cycle(&mut without));
    let per_change = (w - wo) * cycles as f64 / changes.max(1) as f64;
    writeln!(
        out,
        "{cycles} cycles x {runs} runs: {wo:.0} ns/cycle without the feed, {w:.0} with; \
         {changes} changes ({:.1}/cycle): {per_change:.0} ns per change",
        changes as f64 / cycles as f64
    )?;

    if stats.0 > 0 {
        writeln!(
            out,
            "kernel stats: {} runs of the program, {:.0} ns per run",
            stats.0,
            stats.1 as f64 / stats.0 as f64
        )?;
    }

    // One `changes` of ~1,500 records: 250 cycles, then the read, timed alone.
    let mut gl = sys.glimpser().map_err(std::io::Error::other)?;
    gl.follow().map_err(std::io::Error::other)?;
    let mut reads = Vec::new();
    let mut buf: Vec<StateChange> = Vec::with_capacity(4096);
    let mut records = 0;
    for _ in 0..25 {
        cycle_run(&listener, 250)?;
        buf.clear();
        let t = Instant::now();
        let lost = gl.changes(&mut buf).map_err(std::io::Error::other)?;
        reads.push(t.elapsed());
        assert_eq!(lost, 0);
        records = buf.len();
    }
    let (lo, mid) = (*reads.iter().min().unwrap(), median(&mut reads));
    writeln!(
        out,
        "changes() of {records} records: median {:.1} us, min {:.1} us ({:.0} ns per record)",
        mid.as_secs_f64() * 1e6,
        lo.as_secs_f64() * 1e6,
        mid.as_secs_f64() * 1e9 / records.max(1) as f64
    )?;
    Ok(())
}

/// `cycles` cycles, timed.
fn cycle_run(l: &TcpListener, cycles: usize) -> std::io::Result<Duration> {
    let t = Instant::now();
    for _ in 0..cycles {
        one(l)?;
    }
    Ok(t.elapsed())
}

/// `cycles` cycles with `gl` following, its ring emptied every 2,000 cycles outside the
/// timing (the ring holds 131k records; 20k cycles make 120k); and how many changes of the
/// listener's connections it reported.
fn cycle_run_counted(
    l: &TcpListener,
    cycles: usize,
    gl: &mut Glimpser,
) -> std::io::Result<(Duration, u64)> {
    let mut buf = Vec::new();
    let mut n = 0u64;
    let mut seen = HashSet::new();
    let mut spent = Duration::ZERO;
    for chunk in (0..cycles).collect::<Vec<_>>().chunks(2_000) {
        let t = Instant::now();
        for _ in chunk {
            one(l)?;
        }
        spent += t.elapsed();
        buf.clear();
        let lost = gl.changes(&mut buf).map_err(std::io::Error::other)?;
        assert_eq!(lost, 0, "records lost");
        n += ours(l, &buf, &mut seen);
    }
    // The last resets may still be in flight: count what arrives.
    std::thread::sleep(Duration::from_millis(20));
    buf.clear();
    gl.changes(&mut buf).map_err(std::io::Error::other)?;
    n += ours(l, &buf, &mut seen);
    Ok((spent, n))
}

/// The changes of `l`'s connections (other sockets of the host may change meanwhile): of a
/// socket with the listener's port at one end, found by its cookie once its move to CLOSE
/// has let go of the port (local port 0).
fn ours(l: &TcpListener, changes: &[StateChange], seen: &mut HashSet<u64>) -> u64 {
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut n = 0;
    for c in changes {
        let cookie = c.now.cookie.get();
        if c.now.local.1 == port || c.now.remote.1 == port {
            seen.insert(cookie);
        }
        n += u64::from(seen.contains(&cookie));
    }
    n
}

fn one(l: &TcpListener) -> std::io::Result<()> {
    let c = TcpStream::connect(l.local_addr()?)?;
    let (s, _) = l.accept()?;
    socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO))?;
    drop(c);
    drop(s);
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// The feed program's (run_cnt, run_time_ns) from `bpftool prog show` when the kernel keeps
/// them (kernel.bpf_stats_enabled=1).
fn kernel_stats() -> Option<(u64, u64)> {
    let enabled = std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").ok()?;
    if enabled.trim() != "1" {
        return None;
    }
    let out = std::process::Command::new("bpftool")
        .args(["-j", "prog", "show", "name", "portwatch_feed"])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let one = if v.is_array() { v.get(0)?.clone() } else { v };
    Some((
        one.get("run_cnt")?.as_u64()?,
        one.get("run_time_ns")?.as_u64()?,
    ))
}
