//! What portwatch does with the kernel beyond listing (issue #13): close sockets
//! (SOCK_DESTROY, `-K`), follow them closing (the destroy multicast groups, `-E`), read the
//! counters of `-s`, and notice Ctrl-C in such a loop. Linux only; elsewhere each one says it
//! is not available instead of pretending.

use super::System;
use crate::error::{Error, Result};
use crate::model::{Query, SockStat, Socket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Why the kernel (or portwatch) did not close a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// For a human: what happened and, where there is one, what to do.
    pub reason: String,
    /// The kernel's errno, when it was the kernel that refused.
    pub errno: Option<i32>,
}

/// What a refusal means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not permitted (no CAP_NET_ADMIN): every socket will be refused alike.
    NotPermitted,
    /// The socket no longer exists (closed since it was read).
    Gone,
    /// Anything else: the kernel cannot close this one.
    Other,
}

/// Closes sockets one by one, reusing one kernel connection.
pub struct Closer {
    #[cfg(target_os = "linux")]
    inner: super::linux::netlink::Destroyer,
}

impl Closer {
    /// Close `s` (read by this source, so that it carries its cookie).
    pub fn close(&mut self, s: &Socket) -> std::result::Result<(), Refusal> {
        #[cfg(target_os = "linux")]
        {
            self.inner.destroy(s).map_err(|e| Refusal {
                kind: match e.errno() {
                    Some(libc::EPERM | libc::EACCES) => RefusalKind::NotPermitted,
                    Some(libc::ENOENT | libc::ESTALE) => RefusalKind::Gone,
                    _ => RefusalKind::Other,
                },
                reason: e.to_string(),
                errno: e.errno(),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = s;
            Err(Refusal {
                kind: RefusalKind::Other,
                reason: "closing sockets needs Linux (SOCK_DESTROY)".into(),
                errno: None,
            })
        }
    }
}

/// What one `CloseStream::wait` brought.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Arrived {
    /// Closed sockets appended.
    pub sockets: usize,
    /// Closes were lost: the kernel's queue overflowed since the last wait.
    pub lost: bool,
}

/// Sockets as they close (TCP and UDP of this network namespace).
pub struct CloseStream {
    #[cfg(target_os = "linux")]
    inner: super::linux::netlink::CloseEvents,
}

impl CloseStream {
    /// Wait up to `timeout` and append the sockets that closed to `out`. Returns early when
    /// a signal arrives, so a loop can check `interrupted()`.
    pub fn wait(&mut self, timeout: Duration, out: &mut Vec<Socket>) -> Result<Arrived> {
        #[cfg(target_os = "linux")]
        {
            let r = self
                .inner
                .wait(timeout, out)
                .map_err(|e| Error::System(e.to_string()))?;
            Ok(Arrived {
                sockets: r.sockets,
                lost: r.overrun,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (timeout, out);
            Ok(Arrived::default())
        }
    }
}

fn live_only(opts: &super::SourceOptions, what: &str) -> Result<()> {
    if opts.fixture {
        return Err(Error::Usage(format!(
            "{what} acts on the live kernel; it cannot be combined with --proc-root"
        )));
    }
    Ok(())
}

impl System {
    /// A closer for sockets this source read.
    pub fn closer(&self) -> Result<Closer> {
        live_only(self.options(), "-K (--kill)")?;
        #[cfg(target_os = "linux")]
        {
            let inner = super::linux::netlink::Destroyer::new()
                .map_err(|e| Error::System(format!("cannot open sock_diag: {e}")))?;
            Ok(Closer { inner })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Ok(Closer {})
        }
    }

    /// Follow the closes of the TCP and UDP sockets `q` selects.
    pub fn close_events(&self, q: &Query) -> Result<CloseStream> {
        live_only(self.options(), "-E (--events)")?;
        #[cfg(target_os = "linux")]
        {
            use super::linux::netlink::{CloseEvents, EventsError};
            match CloseEvents::subscribe(q) {
                Ok(inner) => Ok(CloseStream { inner }),
                Err(EventsError::NotPermitted(e)) => Err(Error::Permission {
                    what: format!("following socket closes ({e})"),
                    hint: "run as root".into(),
                }),
                Err(EventsError::NothingToWatch) => Err(Error::Usage(
                    "-E follows TCP and UDP sockets only: add -t or -u".into(),
                )),
                Err(e) => Err(Error::System(e.to_string())),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = q;
            Err(Error::System(
                "-E (--events) needs Linux (sock_diag destroy events)".into(),
            ))
        }
    }

    /// The counters `ss -s` prints, from the proc root's `net/sockstat{,6}` and `net/snmp`.
    pub fn sockstat(&self) -> Result<SockStat> {
        #[cfg(target_os = "linux")]
        {
            super::linux::sockstat::read_sockstat(&self.options().proc_root)
                .map_err(|e| Error::System(e.to_string()))
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(Error::System(
                "-s (--summary) needs Linux (/proc/net/sockstat)".into(),
            ))
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT or SIGTERM arrived since `catch_interrupts`.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Turn SIGINT and SIGTERM into `interrupted()` instead of death, so a following loop ends
/// cleanly (output flushed, exit 0). Without SA_RESTART, so a blocking wait returns at once.
pub fn catch_interrupts() {
    #[cfg(target_os = "linux")]
    {
        extern "C" fn on_signal(_: libc::c_int) {
            // An atomic store is async-signal-safe.
            INTERRUPTED.store(true, Ordering::Relaxed);
        }
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: sigaction with a zeroed struct, an empty mask and a handler that only
            // stores to an atomic; the struct outlives the call.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    }
}
