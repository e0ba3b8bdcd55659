//! A few long-lived threads that enter other network namespaces on request, so that the
//! main thread never leaves its own: `setns(CLONE_NEWNET)` changes only the calling thread
//! (setns(2)), and a netlink socket, a `/proc/sys/net` file or an interface ioctl then sees
//! the namespace that thread is in. A job enters its namespace itself, so any thread can run
//! any job, and the threads are reused for every namespace of a listing (a thread per
//! namespace would cost a clone and an exit each).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The threads and the queue they take jobs from.
pub struct Pool {
    tx: Mutex<Option<Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// Start `n` threads (at least one).
    pub fn new(n: usize) -> io::Result<Pool> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let rx = Arc::clone(&rx);
            let t = std::thread::Builder::new()
                .name(format!("pw-netns-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for one job, not while it runs.
                    let job = match rx.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A job that panics (a bug) loses its result, not the thread: the
                        // next job enters its own namespace anyway.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                })?;
            threads.push(t);
        }
        Ok(Pool {
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
        })
    }

    /// As many threads as cores, at most `cap` and at most `jobs`.
    pub fn sized_for(jobs: usize, cap: usize) -> io::Result<Pool> {
        let cores = crate::platform::linux::cores();
        Pool::new(cores.min(cap).min(jobs).max(1))
    }

    /// Queue `f`; its result arrives on the returned receiver (a receive error means the
    /// job was lost: the pool is shutting down, or the job panicked).
    pub fn submit<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Receiver<T> {
        let (rtx, rrx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = rtx.send(f());
        });
        if let Ok(guard) = self.tx.lock() {
            if let Some(tx) = guard.as_ref() {
                let _ = tx.send(job);
            }
        }
        rrx
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut threads) = self.threads.lock() {
            for t in threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}

/// Move the calling thread into the network namespace `fd` refers to. Only ever called on a
/// pool thread.
pub fn enter(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns takes a descriptor we hold open and a namespace type; it touches no memory
    // of ours and affects only the calling thread for CLONE_NEWNET.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_and_results_come_back() {
        let pool = Pool::new(2).unwrap();
        let rxs: Vec<_> = (0..20u32).map(|i| pool.submit(move || i * 2)).collect();
        let got: Vec<u32> = rxs.into_iter().map(|r| r.recv().unwrap()).collect();
        assert_eq!(got, (0..20).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_job_loses_only_itself() {
        let pool = Pool::new(1).unwrap();
        let bad = pool.submit(|| -> u32 { panic!("job panics") });
        assert!(bad.recv().is_err());
        let later = pool.submit(|| 1u32);
        assert_eq!(later.recv().unwrap(), 1, "the one thread survived");
    }
}
