//! One process, acted on safely (issue #14). A pidfd stays bound to the process it was opened
//! for: a signal sent through it (pidfd_send_signal(2), Linux 5.1) reaches that process or
//! fails with ESRCH, never another process that reused the pid, and polling it (Linux 5.3)
//! says when that process exited. Plus what `kill` shows about a process: start time,
//! arguments, the kernel-thread flag, and the container and unit its cgroup names.

use super::cgroup::{Attributor, NameStore};
use super::owners::pidfs::{pid_path, read_file, stat_field, stat_flags, PF_KTHREAD};
use crate::model::kill::{ProcessFacts, Signal};
use crate::model::Text;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A pidfd: one process, for as long as the fd is open.
#[derive(Debug)]
pub struct Pidfd {
    fd: OwnedFd,
}

impl Pidfd {
    /// pidfd_open(2) for a process (a thread-group leader, as /proc lists them).
    pub fn open(pid: u32) -> Result<Pidfd, Errno> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| Errno::ESRCH)?;
        let flags: libc::c_uint = 0;
        // SAFETY: pidfd_open takes a pid and flags, no pointers.
        let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) };
        if r < 0 {
            return Err(Errno::last());
        }
        let raw = i32::try_from(r).map_err(|_| Errno::EBADF)?;
        // SAFETY: the kernel just returned this fd; nothing else owns it.
        Ok(Pidfd {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// pidfd_send_signal(2): `sig` 0 sends nothing but checks existence and permission.
    pub fn send(&self, sig: i32) -> Result<(), Errno> {
        let flags: libc::c_uint = 0;
        // SAFETY: a pidfd we own, a signal number, a null siginfo (the kernel fills it as
        // kill(2) does) and no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                flags,
            )
        };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }

    /// Whether the process has exited (a zombie has: it runs no more and holds no files).
    pub fn exited(&self) -> bool {
        wait_any(&[self], Duration::ZERO)
            .first()
            .copied()
            .unwrap_or(false)
    }
}

/// Wait until one of the processes exits or `timeout` passes; says which have exited. A
/// pidfd polls readable once its process has exited (pidfd_open(2)).
pub fn wait_any(fds: &[&Pidfd], timeout: Duration) -> Vec<bool> {
    let mut polls: Vec<libc::pollfd> = fds
        .iter()
        .map(|p| libc::pollfd {
            fd: p.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let deadline = Instant::now() + timeout;
    let len = libc::nfds_t::try_from(polls.len()).unwrap_or(0);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: `polls` is an array of `len` pollfd structs, valid for the call.
        let n = unsafe { libc::poll(polls.as_mut_ptr(), len, ms) };
        if n >= 0 || left.is_zero() {
            break;
        }
        if Errno::last() != Errno::EINTR {
            // Out of memory in the kernel: nothing better to do than wait a little.
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }
    polls.iter().map(|p| p.revents != 0).collect()
}

/// Reads what `kill` shows about processes under one proc root.
pub struct Inspector {
    root: PathBuf,
    cgroups: Attributor,
}

impl Inspector {
    /// `live`: the running system, with container names from the runtimes' state on disk;
    /// else a fixture tree, with no container names.
    pub fn new(proc_root: &Path, live: bool) -> Inspector {
        let names = if live {
            NameStore::live()
        } else {
            NameStore::new(&proc_root.join("no-runtime-state"), |_| None)
        };
        Inspector {
            root: proc_root.to_path_buf(),
            cgroups: Attributor::new(proc_root, names),
        }
    }

    /// The process's facts; what cannot be read is `None` (a process that is gone has none).
    pub fn facts(&mut self, pid: u32) -> ProcessFacts {
        let mut buf = [0u8; 1024];
        let stat = self.read_stat(pid, &mut buf);
        let attribution = self.cgroups.of_pid(pid);
        ProcessFacts {
            start_time: stat.and_then(start_time_of),
            cmdline: self.cmdline(pid),
            kernel_thread: stat
                .and_then(stat_flags)
                .is_some_and(|f| f & PF_KTHREAD != 0),
            container: attribution.container.map(|c| (*c).clone()),
            unit: attribution.unit.map(|u| (*u).clone()),
        }
    }

    /// `/proc/PID/stat` field 22, clock ticks after boot; `None` when the process is gone.
    pub fn start_time(&self, pid: u32) -> Option<u64> {
        let mut buf = [0u8; 1024];
        self.read_stat(pid, &mut buf).and_then(start_time_of)
    }

    /// The (socket inode, fd) pairs the process holds now; `None` when unreadable.
    pub fn socket_fds(&self, pid: u32) -> Option<Vec<(u64, u32)>> {
        super::owners::socket_fds(&self.root, pid).ok()
    }

    fn read_stat<'b>(&self, pid: u32, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let root = nix::fcntl::open(&self.root, flags, Mode::empty()).ok()?;
        let n = read_file(root.as_fd(), pid_path(pid, "/stat").as_c(), buf).ok()?;
        buf.get(..n)
    }

    fn cmdline(&self, pid: u32) -> Option<Vec<Text>> {
        let bytes = std::fs::read(self.root.join(pid.to_string()).join("cmdline")).ok()?;
        Some(split_cmdline(&bytes))
    }
}

fn start_time_of(stat: &[u8]) -> Option<u64> {
    std::str::from_utf8(stat_field(stat, 19)?)
        .ok()?
        .parse()
        .ok()
}

/// `/proc/PID/cmdline`: arguments, each ended by a NUL. A process that rewrote its arguments
/// (nginx's "nginx: master process ...") may leave one string without the final NUL.
fn split_cmdline(bytes: &[u8]) -> Vec<Text> {
    let body = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == 0).map(Text::from).collect()
}

/// Signal names (without `SIG`) and numbers; the first name of a number is its own.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The real-time signals the C library leaves to programs (glibc keeps the first two).
fn realtime() -> (i32, i32) {
    (libc::SIGRTMIN(), libc::SIGRTMAX())
}

/// The signal numbered `n`, with its name; `None` for 0, the C library's reserved real-time
/// signals and numbers past SIGRTMAX.
pub fn signal_by_number(n: i32) -> Option<Signal> {
    let name = match SIGNALS.iter().find(|(_, num)| *num == n) {
        Some((name, _)) => format!("SIG{name}"),
        None => {
            let (lo, hi) = realtime();
            if !(lo..=hi).contains(&n) {
                return None;
            }
            match n - lo {
                0 => "SIGRTMIN".to_string(),
                k => format!("SIGRTMIN+{k}"),
            }
        }
    };
    Some(Signal { number: n, name })
}

/// The signal named `name` (upper case, without `SIG`): `TERM`, `RTMIN+2`, `RTMAX-1`.
pub fn signal_by_name(name: &str) -> Option<Signal> {
    if let Some((_, n)) = SIGNALS.iter().find(|(s, _)| *s == name) {
        return signal_by_number(*n);
    }
    let (lo, hi) = realtime();
    let n = match name {
        "RTMIN" => lo,
        "RTMAX" => hi,
        _ => {
            if let Some(k) = name.strip_prefix("RTMIN+") {
                lo.checked_add(k.parse().ok()?)?
            } else {
                hi.checked_sub(name.strip_prefix("RTMAX-")?.parse().ok()?)?
            }
        }
    };
    (lo..=hi)
        .contains(&n)
        .then(|| signal_by_number(n))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::linux::owners::tests::Child;

    #[test]
    fn cmdline_arguments() {
        let t = |b: &[u8]| -> Vec<Vec<u8>> {
            split_cmdline(b)
                .iter()
                .map(|t| t.as_bytes().to_vec())
                .collect()
        };
        assert_eq!(t(b"sleep\x0060\x00"), [b"sleep".to_vec(), b"60".to_vec()]);
        assert_eq!(
            t(b"nginx: master process"),
            [b"nginx: master process".to_vec()]
        );
        assert_eq!(t(b"a\x00\x00b\x00"), [b"a".to_vec(), vec![], b"b".to_vec()]);
        assert!(t(b"").is_empty());
    }

    #[test]
    fn start_time_is_field_22() {
        // proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
        // majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
        // starttime ...
        let stat = b"42 (a) b (c)) S 1 42 42 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 987654 1 2";
        assert_eq!(start_time_of(stat), Some(987654));
        assert_eq!(start_time_of(b"42 (x) S 1 2"), None);
    }

    #[test]
    fn live_start_time_and_facts_of_this_process() {
        let me = std::process::id();
        let mut i = Inspector::new(Path::new("/proc"), true);
        let f = i.facts(me);
        assert!(f.start_time.is_some() && f.start_time == i.start_time(me));
        assert!(!f.kernel_thread);
        let args = f.cmdline.expect("own cmdline");
        let exe = std::env::args_os().next().expect("argv[0]");
        assert_eq!(args[0].as_bytes(), exe.as_encoded_bytes());
        // kthreadd, the parent of every kernel thread, is pid 2 in the initial pid namespace.
        if i.facts(2).cmdline.as_deref() == Some(&[]) {
            assert!(i.facts(2).kernel_thread);
        }
    }

    #[test]
    fn signal_names_and_numbers() {
        let term = signal_by_name("TERM").unwrap();
        assert_eq!((term.number, term.name.as_str()), (15, "SIGTERM"));
        assert_eq!(signal_by_number(9).unwrap().name, "SIGKILL");
        assert_eq!(signal_by_name("IOT").unwrap().name, "SIGABRT");
        let (lo, hi) = realtime();
        assert_eq!(signal_by_name("RTMIN+2").unwrap().number, lo + 2);
        assert_eq!(signal_by_name("RTMAX-1").unwrap().number, hi - 1);
        assert_eq!(signal_by_number(lo + 2).unwrap().name, "SIGRTMIN+2");
        assert_eq!(signal_by_name("RTMIN+99"), None);
        assert_eq!(signal_by_number(0), None);
        assert_eq!(signal_by_number(hi + 1), None);
        assert_eq!(signal_by_number(lo - 1), None, "reserved by the C library");
        assert_eq!(signal_by_name("NOPE"), None);
    }

    #[test]
    fn a_pidfd_sees_its_child_exit() {
        let mut child = Child(
            std::process::Command::new("sleep")
                .arg("30")
                .spawn()
                .expect("sleep"),
        );
        let fd = Pidfd::open(child.0.id()).expect("pidfd_open");
        assert!(!fd.exited());
        assert_eq!(fd.send(0), Ok(()));
        assert_eq!(wait_any(&[&fd], Duration::from_millis(20)), [false]);
        fd.send(libc::SIGTERM).expect("signal");
        assert_eq!(wait_any(&[&fd], Duration::from_secs(10)), [true]);
        assert!(fd.exited(), "a zombie has exited");
        let _ = child.0.wait();
        assert_eq!(fd.send(0), Err(Errno::ESRCH), "bound to the reaped process");
    }
}
