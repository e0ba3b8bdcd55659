//! Advisory exclusive locks (flock(2)) on files that several portwatch processes may write,
//! such as the labels file's lock file. The lock is released when the guard is dropped.

use std::fs::File;
use std::io;

/// Holds an exclusive lock until dropped.
#[derive(Debug)]
pub struct FileLock {
    #[cfg(target_os = "linux")]
    _lock: nix::fcntl::Flock<File>,
    #[cfg(not(target_os = "linux"))]
    _file: File,
}

/// Block until `file` is exclusively locked. flock(2) locks belong to the open file
/// description, so two opens of the same path exclude each other even within one process.
#[cfg(target_os = "linux")]
pub fn lock_exclusive(mut file: File) -> io::Result<FileLock> {
    use nix::errno::Errno;
    use nix::fcntl::{Flock, FlockArg};
    loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(lock) => return Ok(FileLock { _lock: lock }),
            // A signal interrupted the wait (flock(2), EINTR): wait again.
            Err((f, Errno::EINTR)) => file = f,
            Err((_, e)) => return Err(io::Error::from(e)),
        }
    }
}

/// Without flock via nix (non-Linux builds), writers are not serialised: each write is still
/// atomic (temp file + rename), but a concurrent writer's change can be lost.
#[cfg(not(target_os = "linux"))]
pub fn lock_exclusive(file: File) -> io::Result<FileLock> {
    Ok(FileLock { _file: file })
}
