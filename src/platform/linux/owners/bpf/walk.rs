//! How a BPF owner scan walks the processes: one iterator over every process, or (Linux
//! 6.1+, where an iterator can be limited to one process) an iterator per process with the
//! processes shared among threads. The kernel's walk is most of a scan's time and one
//! iterator runs on one core; by process, a scan of a big host takes about half as long on
//! two cores.

use super::Unavailable;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How a scan walks the processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// By process where that is expected to be faster (`split`).
    Auto,
    /// One iterator over every process, on the calling thread.
    Whole,
    /// One iterator per process of /proc, shared among threads (Linux 6.1+).
    ByProcess,
}

/// At most this many threads share a scan: the kernel's walk scales with them, but a listing
/// has other work for the cores.
pub const MAX_THREADS: usize = 4;

/// Open files per process from which iterating process by process on several threads beats
/// one walk of every process, for each program. Measured with bench/owners.rs (2 cores):
/// by process costs 16 us more per process (a link, an iterator, two reads, two closes).
/// The per-file program walks ~0.4 us per file (203k files in 336 processes: one walk 80 ms,
/// by process 43 ms on two threads): the split pays from about 40 files per process. The
/// per-task program walks 0.12 us per file where files are not sockets (101k in 175
/// processes: 11.8 ms, by process 8.0) and 0.25 us where half are (203k in 340: 57 and 35):
/// from about 130. Both thresholds are about twice that, for a margin.
pub const SPLIT_FROM_FILES_PER_PROCESS: u64 = 80;
pub const SPLIT_FROM_FILES_PER_PROCESS_BY_TASK: u64 = 250;

/// The processes to iterate one by one on `cores` cores, when that is expected to be faster
/// than one walk of every process (from `per_process` open files per process on); `None` when
/// it is not, or cannot be done.
pub fn split(cores: usize, per_process: u64) -> Option<Vec<u32>> {
    if cores < 2 {
        return None;
    }
    let pids = processes()?;
    let file_nr = std::fs::read_to_string("/proc/sys/fs/file-nr").ok()?;
    split_pays(super::open_files(&file_nr)?, pids.len(), per_process).then_some(pids)
}

/// Whether `files` open files in `processes` processes are scanned faster process by process.
fn split_pays(files: u64, processes: usize, per_process: u64) -> bool {
    processes > 1 && files >= per_process.saturating_mul(processes as u64)
}

/// The processes of /proc, when /proc numbers them as this process's pid namespace does (an
/// iterator takes a pid of that namespace); `None` when it does not or cannot be read.
pub fn processes() -> Option<Vec<u32>> {
    let me = std::fs::read_link("/proc/self").ok()?;
    if me.to_str()?.parse::<u32>().ok()? != std::process::id() {
        return None;
    }
    let pids = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    Some(pids)
}

/// `each` pid of `pids` on up to `threads` threads (this one included), each thread taking
/// the next pid and folding it into a state of its own from `init`. Returns the states, or
/// the first error (the other threads stop at their next pid).
pub fn share<S: Send>(
    pids: &[u32],
    threads: usize,
    init: impl Fn() -> S + Sync,
    each: impl Fn(&mut S, u32) -> Result<(), Unavailable> + Sync,
) -> Result<Vec<S>, Unavailable> {
    let next = AtomicUsize::new(0);
    let work = || -> Result<S, Unavailable> {
        let mut state = init();
        while let Some(&pid) = pids.get(next.fetch_add(1, Ordering::Relaxed)) {
            if let Err(e) = each(&mut state, pid) {
                // The others find nothing left to take.
                next.store(pids.len(), Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(state)
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads.max(1))
            .filter_map(|i| {
                std::thread::Builder::new()
                    .name(format!("bpf-owners-{i}"))
                    .spawn_scoped(s, work)
                    .ok()
            })
            .collect();
        // A helper that could not start leaves this thread more to do.
        let mut states = vec![work()?];
        for h in helpers {
            let state = h.join().map_err(|_| {
                Unavailable::Read(io::Error::other("a BPF owner scan thread panicked"))
            })?;
            states.push(state?);
        }
        Ok(states)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_pays_from_a_number_of_files_per_process() {
        let per = SPLIT_FROM_FILES_PER_PROCESS;
        assert!(split_pays(per * 300, 300, per));
        assert!(!split_pays(per * 300 - 1, 300, per));
        assert!(
            !split_pays(u64::MAX, 1, per),
            "one process has nothing to share"
        );
        assert!(!split_pays(0, 0, per));
        assert!(split_pays(u64::MAX, usize::MAX, per), "no overflow");
    }

    #[test]
    fn every_pid_is_taken_once_whatever_the_threads() {
        let pids: Vec<u32> = (1..=1000).collect();
        for threads in [0, 1, 2, 5] {
            let shares = share(&pids, threads, Vec::new, |v, pid| {
                v.push(pid);
                Ok(())
            })
            .expect("no error");
            assert!(shares.len() <= threads.max(1));
            let mut all: Vec<u32> = shares.into_iter().flatten().collect();
            all.sort_unstable();
            assert_eq!(all, pids, "{threads} threads");
        }
    }

    #[test]
    fn an_error_stops_the_share_and_is_returned() {
        let pids: Vec<u32> = (1..=1000).collect();
        for threads in [1, 2] {
            let taken = AtomicUsize::new(0);
            let r = share(
                &pids,
                threads,
                || (),
                |_, pid| {
                    taken.fetch_add(1, Ordering::Relaxed);
                    if pid == 10 {
                        return Err(Unavailable::Read(io::Error::other("pid 10")));
                    }
                    Ok(())
                },
            );
            assert!(matches!(r, Err(Unavailable::Read(e)) if e.to_string() == "pid 10"));
            if threads == 1 {
                assert_eq!(taken.into_inner(), 10, "nothing after the error");
            }
        }
    }

    #[test]
    fn processes_are_those_of_proc() {
        let pids = processes().expect("/proc is this process's pid namespace's");
        assert!(pids.contains(&std::process::id()));
    }
}
