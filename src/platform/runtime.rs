//! What a long-running command (watch, serve) needs from the OS besides sockets: the signals
//! that ask it to stop, and its own CPU time (for `watch --timings`).

use std::io;
use std::time::Duration;

/// Call `on_stop` with the signal's name (on a thread of its own) each time SIGINT, SIGTERM
/// or SIGHUP arrives. The signals no longer end the process: the caller finishes what it is
/// writing and returns, so no output is cut in the middle of a line, a terminal is restored
/// and a server finishes the responses in flight. (`-E` keeps its own handler: it needs the
/// signal to interrupt a blocking read, see `diag::catch_interrupts`.)
pub fn on_stop_signals(on_stop: impl Fn(&'static str) + Send + 'static) -> io::Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    on_stop(match sig {
                        SIGINT => "SIGINT",
                        SIGTERM => "SIGTERM",
                        _ => "SIGHUP",
                    });
                }
            })?;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = on_stop;
        Ok(())
    }
}

/// CPU time (user + system) this process has used so far; `None` where it cannot be read.
pub fn cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getrusage writes one rusage into the zeroed struct we own.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a struct of the right type, for the duration of the call.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
            return None;
        }
        let tv = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).ok()?)
                .checked_add(Duration::from_micros(u64::try_from(t.tv_usec).ok()?))
        };
        tv(ru.ru_utime)?.checked_add(tv(ru.ru_stime)?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Hand the memory that reads freed back to the system. glibc keeps freed chunks in its
/// heaps, and a heap only shrinks from its top: the reads' short-lived tables, freed between
/// long-lived ones (and on the threads' own arenas, which a read's scoped threads fill and
/// the main thread frees), stay in a long-running watch's RSS. `malloc_trim` returns every
/// free page inside the heaps too. Elsewhere (musl, other systems) this does nothing.
pub fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only rearranges the allocator's free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Make every thread allocate from the main heap. glibc gives each thread that allocates
/// a heap of its own (up to eight per core); a read's scoped threads fill theirs, the main
/// thread frees it there, and what stays scattered between long-lived tables is resident
/// for good: a fed watch's per-20-second peaks rose 52.5 -> 57.9 MiB over four minutes
/// with them, and stayed at 51.1-51.9 MiB with one heap (the large benchmark scale; read
/// time the same, 62-63 ms). A listing's helper threads (the owner scan, the listener set)
/// each touched an arena of their own too: `-antp` at the large scale peaked 0.5-0.9 MB
/// lower with one heap, in the same time (issue #17; bench/ab.py, 20 alternated runs, 149
/// vs 150 ms). Every command calls it before any thread starts; elsewhere (musl, other
/// systems) this does nothing.
///
/// It also fixes the mmap threshold at 128 KiB. glibc raises it to the size of each mapped
/// block freed (up to 32 MiB), so after a big table's vectors were freed, later blocks of up
/// to a few MB came from the heap and stayed resident once freed (the heap shrinks only from
/// its top): 0.3 MB of `-antp`'s peak at the large scale.
pub fn one_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only changes the allocator's settings.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}
