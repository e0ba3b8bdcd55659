//! The owner scan's two methods timed on this host: the /proc readlink scan and the BPF
//! iterator, both of its programs (load, the kernel iteration alone, a scan by one walk and
//! one by process on threads), and a full scan; library calls only, no socket table read. Run as
//! root on a host with the population to measure (bench/README.md, "Owner scan: BPF and
//! /proc"):
//!
//!     cargo run --release --example owners -- [RUNS [PORT]]
//!
//! Prints the median and min of each phase in ms, and whether both methods found the same
//! owners (pid, fd, comm) for the sockets that did not change during the run.

use portwatch::model::{OwnerMap, Wanted};
use portwatch::platform::linux::owners::{self, bpf};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let out = &mut std::io::stdout().lock();
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15)
        .max(1);
    let (proc_times, _) = time(runs, || owners::scan(Path::new("/proc"), Wanted::All));
    report(out, "proc scan (readlink per fd)", &proc_times)?;

    let (btf_times, _) = time(runs, || {
        bpf::btf::KernelBtf::open("/sys/kernel/btf/vmlinux")
            .map(|b| bpf::btf::layout(b.bytes()).is_ok())
    });
    report(out, "kernel BTF read + offsets pass", &btf_times)?;
    // Each program, then the one a scan loads (per task where the kernel takes it).
    for program in [
        bpf::Program::ByTask,
        bpf::Program::ByTaskChunked,
        bpf::Program::ByFile,
    ] {
        let (load_times, loaded) = time(runs, || bpf::OwnerIter::load_program(Some(program)));
        let mut it = match loaded {
            Ok(it) => it,
            Err(e) => {
                writeln!(out, "{program:?} program unavailable: {e}")?;
                continue;
            }
        };
        report(out, &format!("{program:?}: load + verify"), &load_times)?;
        let (t, _) = time(runs, || it.for_each_record(|_| {}));
        report(out, &format!("{program:?}: kernel iteration"), &t)?;
        let (t, _) = time(runs, || it.scan_walking(Wanted::All, bpf::Walk::Whole));
        report(out, &format!("{program:?}: scan, one walk"), &t)?;
        let (t, _) = time(runs, || it.scan_walking(Wanted::All, bpf::Walk::ByProcess));
        report(out, &format!("{program:?}: scan by process"), &t)?;
    }
    let mut iter = match bpf::OwnerIter::load() {
        Ok(it) => it,
        Err(e) => {
            eprintln!("BPF owner scan unavailable: {e}");
            std::process::exit(1);
        }
    };
    writeln!(out, "a scan loads: {:?}", iter.program())?;
    let (_, count) = time(1, || iter.for_each_record(|_| {}));
    let (scan_times, scan) = time(runs, || iter.scan(Wanted::All));
    report(out, "bpf scan (auto walk), loaded", &scan_times)?;
    let (full_times, _) = time(runs, || bpf::scan(Wanted::All));
    report(out, "bpf scan, load included", &full_times)?;

    // The one-port query's shortcut, for the TCP listener on the port given after RUNS (else
    // the first in /proc/net/tcp).
    let port: Option<u16> = std::env::args().nth(2).and_then(|a| a.parse().ok());
    if let Some(inode) = listener(port) {
        let set: portwatch::model::InodeSet = [inode].into_iter().collect();
        let (t, files) = time(runs, || iter.listener_files(&set));
        report(out, "one listener: its file, by the TCP iterator", &t)?;
        let (t, found) = time(runs, || iter.scan_listeners(&set));
        report(out, "one listener: scan_listeners (both passes)", &t)?;
        let applied = matches!((&files, &found), (Ok(Some(_)), Ok(Some(_))));
        writeln!(out, "one listener: shortcut applied: {applied}")?;
    }

    if let Err(e) = scan {
        eprintln!("BPF scan failed: {e}");
        std::process::exit(1);
    }
    // Agreement, on the sockets that did not change meanwhile: those whose owners are the
    // same in a /proc scan just before and just after the BPF one.
    let before = owners::scan(Path::new("/proc"), Wanted::All);
    let by_bpf = iter.scan(Wanted::All).map(|s| s.owners).unwrap_or_default();
    let after = owners::scan(Path::new("/proc"), Wanted::All);
    let stable: Vec<u64> = before
        .inodes()
        .filter(|&i| key(&before, i) == key(&after, i))
        .collect();
    let differ = stable
        .iter()
        .filter(|&&i| key(&before, i) != key(&by_bpf, i))
        .count();
    writeln!(
        out,
        "socket fds: {} (bpf records); sockets with owners: bpf {}, proc {}",
        count.unwrap_or(0),
        by_bpf.len(),
        before.len()
    )?;
    writeln!(
        out,
        "sockets unchanged across the runs: {}; their owners differ by method: {differ}",
        stable.len()
    )
}

/// The (pid, fd, comm) of a socket's owners.
fn key(m: &OwnerMap, inode: u64) -> Vec<(u32, u32, Vec<u8>)> {
    m.get(inode)
        .iter()
        .map(|o| (o.pid, o.fd, o.comm().as_bytes().to_vec()))
        .collect()
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        times.push(t.elapsed());
        last = Some(v);
    }
    times.sort_unstable();
    match last {
        Some(v) => (times, v),
        None => unreachable!("runs >= 1"),
    }
}

fn report(out: &mut dyn Write, what: &str, times: &[Duration]) -> std::io::Result<()> {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let min = times.first().copied().unwrap_or_default();
    writeln!(
        out,
        "{what:<40} median {:>8.2} ms   min {:>8.2} ms   ({} runs)",
        ms(median),
        ms(min),
        times.len()
    )
}

/// The inode of the first TCP listener (state 0A) in /proc/net/tcp and tcp6 on `port` (any
/// port for `None`).
fn listener(port: Option<u16>) -> Option<u64> {
    let port = port.map(|p| format!(":{p:04X}"));
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let on_port = port
                    .as_ref()
                    .is_none_or(|p| f.get(1).is_some_and(|a| a.ends_with(p.as_str())));
                (f.get(3) == Some(&"0A") && on_port).then(|| f.get(9)?.parse().ok())?
            })
        })
}
