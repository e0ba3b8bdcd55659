//! Opening a namespace found earlier, checked to still be that namespace: a path may have
//! been re-pointed and a pid reused since discovery. What is opened is held for the whole
//! read, so the namespace cannot go away under it, and sockets are tagged with the inode of
//! the handle itself.

use super::discover::NsEntry;
use super::parse::ns_link_inode;
use crate::platform::linux::owners::pidfs::readlinkat;
use nix::errno::Errno;
use std::num::NonZeroU64;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `NS_GET_NSTYPE` (include/uapi/linux/nsfs.h: `_IO(0xb7, 0x3)`), Linux 4.11+.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// An open network namespace file (`/proc/PID/ns/net` or a bind mount of one).
#[derive(Debug)]
pub struct NsHandle {
    pub fd: OwnedFd,
    pub inode: NonZeroU64,
}

/// An open `/proc/PID` directory of a member process: reading through it reaches that
/// process even if its pid is reused, and its `net/` tables are its namespace's.
#[derive(Debug)]
pub struct ProcDir {
    pub fd: OwnedFd,
}

impl ProcDir {
    /// The namespace the process is in now (`None`: gone, or not ours to see).
    pub fn netns(&self) -> Option<NonZeroU64> {
        let mut buf = [0u8; 64];
        let n = readlinkat(self.fd.as_raw_fd(), c"ns/net", &mut buf).ok()?;
        ns_link_inode(buf.get(..n)?, "net")
    }

    /// A path that resolves through the open directory (for readers that take paths).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }
}

/// Why a namespace could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Every way to it is gone (its processes exited, its mounts were removed).
    Gone,
    /// Some way exists but we may not use it (EACCES: another user's process, not root).
    Denied,
    /// Opening failed for another reason (out of file descriptors, memory ...): not news
    /// to swallow.
    Failed(Errno),
}

/// What a file is, once opened: a network namespace (its inode), another kind of namespace
/// (its `CLONE_NEW*` type), or not a namespace file at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Net(NonZeroU64),
    OtherNamespace(i32),
    NotNamespace,
}

/// Open a namespace file and say what it is.
pub fn open_ns_file(path: &Path) -> Result<(OwnedFd, FileKind), Errno> {
    let errno = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    let file = std::fs::File::open(path).map_err(errno)?;
    let meta = file.metadata().map_err(errno)?;
    let fd = OwnedFd::from(file);
    // SAFETY: ioctl on a descriptor we own; NS_GET_NSTYPE takes no argument.
    let ty = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    let kind = if ty < 0 {
        FileKind::NotNamespace
    } else if ty == libc::CLONE_NEWNET {
        match NonZeroU64::new(meta.ino()) {
            Some(ino) => FileKind::Net(ino),
            None => FileKind::NotNamespace,
        }
    } else {
        FileKind::OtherNamespace(ty)
    };
    Ok((fd, kind))
}

/// Open the namespace: through its mounts first (a pid can be reused, a mount point only
/// re-pointed), then through its member processes. Each candidate must still be a network
/// namespace with the entry's inode.
pub fn open_entry(e: &NsEntry, proc_root: &Path) -> Result<NsHandle, OpenError> {
    let mut denied = false;
    let mut failed = None;
    let via_pids = e
        .pids
        .iter()
        .map(|pid| proc_root.join(pid.to_string()).join("ns/net"));
    for path in e.mounts.iter().cloned().chain(via_pids) {
        match open_ns_file(&path) {
            Ok((fd, FileKind::Net(ino))) if ino == e.inode => {
                return Ok(NsHandle { fd, inode: ino })
            }
            // Re-pointed, or a reused pid in another namespace: not this one any more.
            Ok(_) => {}
            Err(Errno::EACCES | Errno::EPERM) => denied = true,
            // Gone: the process exited (or is a zombie), the mount was removed.
            Err(Errno::ENOENT | Errno::ESRCH | Errno::ENOTDIR | Errno::EINVAL) => {}
            Err(other) => failed = Some(other),
        }
    }
    Err(match (failed, denied) {
        (Some(e), _) => OpenError::Failed(e),
        (None, true) => OpenError::Denied,
        (None, false) => OpenError::Gone,
    })
}

/// Open the `/proc/PID` directory of a member still in the namespace, for reading its
/// `net/` tables without entering it.
pub fn open_member(e: &NsEntry, proc_root: &Path) -> Option<ProcDir> {
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    e.pids.iter().find_map(|&pid| {
        let fd = nix::fcntl::open(&proc_root.join(pid.to_string()), flags, Mode::empty()).ok()?;
        let dir = ProcDir { fd };
        (dir.netns() == Some(e.inode)).then_some(dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart() {
        let (_, own) = open_ns_file(Path::new("/proc/self/ns/net")).unwrap();
        let want = super::super::discover::link_inode(Path::new("/proc/self/ns/net"), "net");
        assert_eq!(Some(own), want.map(FileKind::Net));
        let (_, uts) = open_ns_file(Path::new("/proc/self/ns/uts")).unwrap();
        assert_eq!(uts, FileKind::OtherNamespace(libc::CLONE_NEWUTS));
        let (_, plain) = open_ns_file(Path::new("/proc/self/status")).unwrap();
        assert_eq!(plain, FileKind::NotNamespace);
        assert_eq!(
            open_ns_file(Path::new("/nonexistent/ns")).unwrap_err(),
            Errno::ENOENT
        );
    }

    #[test]
    fn an_entry_opens_only_as_itself() {
        let d = super::super::discover::discover();
        let own = d.namespaces.iter().find(|e| e.own).unwrap();
        let h = open_entry(own, Path::new("/proc")).unwrap();
        assert_eq!(h.inode, own.inode);
        // The same ways in, claimed for another inode: nothing matches, nothing is denied.
        let mut wrong = own.clone();
        wrong.inode = NonZeroU64::new(1).unwrap();
        assert_eq!(
            open_entry(&wrong, Path::new("/proc")).unwrap_err(),
            OpenError::Gone
        );
        assert!(open_member(&wrong, Path::new("/proc")).is_none());
        let m = open_member(own, Path::new("/proc")).unwrap();
        assert_eq!(m.netns(), Some(own.inode));
    }
}
