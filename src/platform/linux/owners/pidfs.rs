//! Small readers of one process's proc files, relative to an open proc root fd and into
//! stack buffers: the owner scan calls them for every process and fd, so none allocates (but
//! for the comm it returns).

use crate::model::Text;
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use std::ffi::CStr;
use std::io::Write as _;
use std::os::fd::BorrowedFd;

/// The kernel-thread bit of the stat flags field (include/linux/sched.h).
pub(crate) const PF_KTHREAD: u64 = 0x0020_0000;

/// Field `n` (0-based) after the `(comm)` one of `/proc/<pid>/stat`, which is found from the
/// last ')' since a comm may itself contain ") ": 0 is the state (field 3 in proc(5)).
pub(crate) fn stat_field(stat: &[u8], n: usize) -> Option<&[u8]> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 1..)?
        .split(u8::is_ascii_whitespace)
        .filter(|t| !t.is_empty())
        .nth(n)
}

/// The flags field of `/proc/<pid>/stat` (field 9 in proc(5)).
pub(crate) fn stat_flags(stat: &[u8]) -> Option<u64> {
    std::str::from_utf8(stat_field(stat, 6)?).ok()?.parse().ok()
}

/// The parent pid field of `/proc/<pid>/stat` (field 4 in proc(5)).
pub(super) fn stat_ppid(stat: &[u8]) -> Option<u32> {
    parse_u32(stat_field(stat, 1)?)
}

/// The start time (the 22nd, clock ticks since boot): with the pid, names one process.
pub(super) fn stat_start(stat: &[u8]) -> Option<u64> {
    std::str::from_utf8(stat_field(stat, 19)?)
        .ok()?
        .parse()
        .ok()
}

/// `readlinkat(2)` into a caller's buffer; returns the length written (possibly truncated).
pub(crate) fn readlinkat(dir: i32, name: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `name` is NUL-terminated and outlives the call; `buf` is valid for writes of
    // `buf.len()` bytes, and readlinkat writes at most that many.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| Errno::last())
}

/// The inode of a `socket:[N]` link target, exactly as the kernel writes it (sockfs_dname).
pub(super) fn socket_inode(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

pub(crate) fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let v = s.iter().try_fold(0u64, |acc, &b| {
        Some(acc * 10 + u64::from((b as char).to_digit(10)?))
    })?;
    u32::try_from(v).ok()
}

/// `/proc/<pid>/comm` without its trailing newline, raw bytes (names are chosen by the
/// process and need not be UTF-8). Errors when the process is gone.
pub(super) fn read_comm(root: BorrowedFd<'_>, pid: u32) -> Result<Text, Errno> {
    let mut buf = [0u8; 64];
    let n = read_file(root, pid_path(pid, "/comm").as_c(), &mut buf)?;
    let comm = buf.get(..n).unwrap_or_default();
    Ok(Text::from(comm.strip_suffix(b"\n").unwrap_or(comm)))
}

/// The real uid from the `Uid:` line of `/proc/<pid>/status`. Not the owner of the
/// `/proc/<pid>` directory: for a non-dumpable process (setuid programs, sshd's privilege
/// separation, anything calling PR_SET_DUMPABLE 0) the kernel shows root there
/// (fs/proc/base.c task_dump_owner), which would be a guess printed as a fact. Fixture trees
/// set uids through status files too, as git does not keep file ownership.
pub(super) fn read_uid(root: BorrowedFd<'_>, pid: u32) -> Option<u32> {
    let mut buf = [0u8; 4096];
    let n = read_file(root, pid_path(pid, "/status").as_c(), &mut buf).ok()?;
    let text = buf.get(..n)?;
    let line = text
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Uid:"))?;
    let real = line
        .split(|&b| b == b'\t' || b == b' ')
        .find(|f| !f.is_empty())?;
    parse_u32(real)
}

/// Read up to `buf.len()` bytes of a file under the root (a seq_file returns whole records
/// per read, so loop until full or EOF).
pub(crate) fn read_file(root: BorrowedFd<'_>, path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = openat(
        root,
        path,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut len = 0;
    while len < buf.len() {
        let rest = buf.get_mut(len..).unwrap_or_default();
        match nix::unistd::read(&fd, rest) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// `<pid><suffix>\0` in a stack buffer: paths relative to the root fd, without allocating.
pub(crate) struct PidPath {
    buf: [u8; 32],
    len: usize,
}

impl PidPath {
    pub(crate) fn as_c(&self) -> &CStr {
        self.buf
            .get(..self.len)
            .and_then(|b| CStr::from_bytes_with_nul(b).ok())
            .unwrap_or(c"")
    }
}

pub(crate) fn pid_path(pid: u32, suffix: &str) -> PidPath {
    let mut p = PidPath {
        buf: [0; 32],
        len: 0,
    };
    let mut w = &mut p.buf[..];
    // At most 10 digits + "/status" + NUL: always fits in 32 bytes.
    if write!(w, "{pid}{suffix}\0").is_ok() {
        p.len = 32 - w.len();
    }
    p
}
