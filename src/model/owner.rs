//! A process holding a socket through one of its file descriptors: 16 bytes, the process's
//! name and uid behind one pointer that all its fds share.

use super::Text;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A process's command name and real uid: one allocation per process, shared by each of its
/// fds that holds a socket. A host's owner table has an entry per socket fd (100k and more);
/// with the name and uid inline an entry took 24 bytes, with them shared 16 (issue #17).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Who(Arc<(Text, Option<u32>)>);

impl Who {
    pub fn new(comm: impl Into<Text>, uid: Option<u32>) -> Who {
        Who(Arc::new((comm.into(), uid)))
    }

    /// The kernel's command name (`/proc/PID/comm`, at most 15 bytes), as raw bytes.
    pub fn comm(&self) -> &Text {
        &self.0 .0
    }

    /// Real uid of the process, when read.
    pub fn uid(&self) -> Option<u32> {
        self.0 .1
    }
}

/// A process holding a socket through one of its file descriptors. Ordered by pid, name,
/// fd, uid.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub pid: u32,
    pub fd: u32,
    who: Who,
}

impl Owner {
    /// An owner with a name and uid of its own; a scan shares one `Who` between the fds of a
    /// process (`Owner::of`).
    pub fn new(pid: u32, comm: impl Into<Text>, fd: u32, uid: Option<u32>) -> Owner {
        Owner::of(pid, fd, &Who::new(comm, uid))
    }

    /// Process `pid`, described by `who`, holding a socket as `fd`.
    pub fn of(pid: u32, fd: u32, who: &Who) -> Owner {
        Owner {
            pid,
            fd,
            who: who.clone(),
        }
    }

    /// The kernel's command name (`/proc/PID/comm`, at most 15 bytes), as raw bytes.
    pub fn comm(&self) -> &Text {
        self.who.comm()
    }

    /// Real uid of the process, when read.
    pub fn uid(&self) -> Option<u32> {
        self.who.uid()
    }
}

impl Ord for Owner {
    fn cmp(&self, other: &Owner) -> Ordering {
        (self.pid, self.comm(), self.fd, self.uid()).cmp(&(
            other.pid,
            other.comm(),
            other.fd,
            other.uid(),
        ))
    }
}

impl PartialOrd for Owner {
    fn partial_cmp(&self, other: &Owner) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("pid", &self.pid)
            .field("comm", self.comm())
            .field("fd", &self.fd)
            .field("uid", &self.uid())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_16_bytes_and_its_fds_share_the_name() {
        assert_eq!(std::mem::size_of::<Owner>(), 16);
        let who = Who::new("nginx", Some(33));
        let (a, b) = (Owner::of(10, 6, &who), Owner::of(10, 7, &who));
        assert!(std::ptr::eq(a.comm(), b.comm()));
        assert_eq!((a.comm().as_bytes(), a.uid()), (&b"nginx"[..], Some(33)));
        assert_eq!(a, Owner::new(10, "nginx", 6, Some(33)), "equal by value");
    }

    #[test]
    fn ordered_by_pid_name_fd_uid() {
        let mut v = [
            Owner::new(2, "a", 1, None),
            Owner::new(1, "b", 1, None),
            Owner::new(1, "a", 9, None),
            Owner::new(1, "a", 3, Some(5)),
            Owner::new(1, "a", 3, None),
        ];
        v.sort();
        let keys: Vec<_> = v
            .iter()
            .map(|o| (o.pid, o.comm().as_bytes()[0], o.fd, o.uid()))
            .collect();
        assert_eq!(
            keys,
            [
                (1, b'a', 3, None),
                (1, b'a', 3, Some(5)),
                (1, b'a', 9, None),
                (1, b'b', 1, None),
                (2, b'a', 1, None)
            ]
        );
    }
}
