//! Acting on processes, for `kill` (issue #14): handles that stay bound to one process (Linux
//! pidfds), signals sent and exits awaited through them, and what is shown about a process.
//! Elsewhere opening a handle fails, so `kill` refuses rather than race with pid reuse.

use crate::model::kill::{ProcessFacts, Signal};
use std::path::Path;
use std::time::Duration;

#[cfg(target_os = "linux")]
use crate::platform::linux::process as imp;

/// Why a signal (or a handle) could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalError {
    /// The process has exited.
    Gone,
    /// The kernel refuses: another user's process (EPERM).
    NotPermitted,
    /// Anything else, as the system says it.
    Other(String),
}

/// One process, for as long as the handle lives: signals through it never reach another
/// process that reused the pid.
#[derive(Debug)]
pub struct Handle {
    #[cfg(target_os = "linux")]
    fd: imp::Pidfd,
}

#[cfg(target_os = "linux")]
fn signal_error(e: nix::errno::Errno) -> SignalError {
    use nix::errno::Errno;
    match e {
        Errno::ESRCH => SignalError::Gone,
        Errno::EPERM => SignalError::NotPermitted,
        Errno::ENOSYS => SignalError::Other(
            "pidfds are not available (Linux 5.3 or later is needed to signal safely)".into(),
        ),
        e => SignalError::Other(e.desc().to_string()),
    }
}

/// Open a handle on process `pid`.
pub fn open(pid: u32) -> Result<Handle, SignalError> {
    #[cfg(target_os = "linux")]
    {
        imp::Pidfd::open(pid)
            .map(|fd| Handle { fd })
            .map_err(signal_error)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        Err(SignalError::Other(
            "signalling through a process handle is implemented on Linux only".into(),
        ))
    }
}

impl Handle {
    /// Send `sig`; `None` sends nothing but checks that the process exists and may be
    /// signalled.
    pub fn send(&self, sig: Option<&Signal>) -> Result<(), SignalError> {
        #[cfg(target_os = "linux")]
        {
            self.fd
                .send(sig.map_or(0, |s| s.number))
                .map_err(signal_error)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = sig;
            Err(SignalError::Other("unsupported".into()))
        }
    }

    /// Whether the process has exited.
    pub fn exited(&self) -> bool {
        wait_any(&[self], Duration::ZERO)
            .first()
            .copied()
            .unwrap_or(false)
    }
}

/// Wait until one of the processes exits or `timeout` passes; says which have exited.
pub fn wait_any(handles: &[&Handle], timeout: Duration) -> Vec<bool> {
    #[cfg(target_os = "linux")]
    {
        let fds: Vec<&imp::Pidfd> = handles.iter().map(|h| &h.fd).collect();
        imp::wait_any(&fds, timeout)
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::thread::sleep(timeout);
        vec![false; handles.len()]
    }
}

/// Reads what `kill` shows about processes, under one proc root.
pub struct Inspector {
    #[cfg(target_os = "linux")]
    inner: imp::Inspector,
}

impl Inspector {
    /// `live`: the running system (container names from the runtimes' state on disk); else a
    /// fixture tree.
    pub fn new(proc_root: &Path, live: bool) -> Inspector {
        #[cfg(target_os = "linux")]
        {
            Inspector {
                inner: imp::Inspector::new(proc_root, live),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (proc_root, live);
            Inspector {}
        }
    }

    /// Start time, arguments, kernel-thread flag, container and unit; unknown parts `None`.
    pub fn facts(&mut self, pid: u32) -> ProcessFacts {
        #[cfg(target_os = "linux")]
        {
            self.inner.facts(pid)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            ProcessFacts::default()
        }
    }

    /// The start time alone (clock ticks after boot); `None` when the process is gone.
    pub fn start_time(&self, pid: u32) -> Option<u64> {
        #[cfg(target_os = "linux")]
        {
            self.inner.start_time(pid)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            None
        }
    }

    /// The (socket inode, fd) pairs the process holds now; `None` when unreadable.
    pub fn socket_fds(&self, pid: u32) -> Option<Vec<(u64, u32)>> {
        #[cfg(target_os = "linux")]
        {
            self.inner.socket_fds(pid)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            None
        }
    }
}

/// The signal with this number, named; `None` when the platform has no such signal.
pub fn signal_by_number(n: i32) -> Option<Signal> {
    #[cfg(target_os = "linux")]
    {
        imp::signal_by_number(n)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = n;
        None
    }
}

/// The signal with this name: upper case, without `SIG` (`TERM`, `RTMIN+2`).
pub fn signal_by_name(name: &str) -> Option<Signal> {
    #[cfg(target_os = "linux")]
    {
        imp::signal_by_name(name)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = name;
        None
    }
}
