//! What a BPF owner scan found: its records turned into the owner pairs the /proc scan
//! gives, and the processes' start times.

use super::record::Record;
use crate::model::{InodeSet, Owner, OwnerMap, OwnerMethod, Who};

/// Start times of the processes in a scan (issue #14 checks pid reuse with them): the
/// `/proc/PID/stat` field 22 of each process, in ns since boot rather than clock ticks.
#[derive(Debug, Default, Clone)]
pub struct StartTimes(Vec<(u32, u64)>);

impl StartTimes {
    /// When process `pid` started, in ns since boot (suspend included); `None` when the scan
    /// found no socket of it.
    pub fn get(&self, pid: u32) -> Option<u64> {
        let i = self.0.partition_point(|&(p, _)| p < pid);
        self.0.get(i).filter(|&&(p, _)| p == pid).map(|&(_, t)| t)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What one scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The owners, as the /proc scan gives them (never partial; nothing denied).
    pub owners: OwnerMap,
    pub starts: StartTimes,
    /// Socket fds the kernel reported, wanted or not.
    pub records: usize,
    /// Found by the one-port program (`scan_listeners`), not by walking every open file.
    pub shortcut: bool,
    /// Processes the per-task program cut short (more socket fds than one kernel write
    /// holds, ~4,000) and the per-file program read again.
    pub reread: usize,
}

/// Records turned into owner pairs as they arrive. Records come grouped by task, so the
/// name and uid of the previous record are reused: one allocation per process, not per fd.
pub(super) struct Found<'a> {
    keep: Option<&'a InodeSet>,
    pub(super) pairs: Vec<(u64, Owner)>,
    starts: Vec<(u32, u64)>,
    last: Option<(u32, u64, [u8; 16], Who)>,
}

impl<'a> Found<'a> {
    pub(super) fn new(keep: Option<&'a InodeSet>) -> Found<'a> {
        Found {
            keep,
            pairs: Vec::new(),
            starts: Vec::new(),
            last: None,
        }
    }

    pub(super) fn add(&mut self, r: &Record) {
        if self.keep.is_some_and(|k| !k.contains(r.inode)) {
            return;
        }
        let who = match &self.last {
            Some((pid, start, raw, who))
                if *pid == r.tgid
                    && *start == r.start_boottime
                    && *raw == r.comm
                    && who.uid() == r.uid() =>
            {
                who.clone()
            }
            _ => {
                let who = Who::new(r.comm(), r.uid());
                self.last = Some((r.tgid, r.start_boottime, r.comm, who.clone()));
                self.starts.push((r.tgid, r.start_boottime));
                who
            }
        };
        self.pairs.push((r.inode, Owner::of(r.tgid, r.fd, &who)));
    }

    /// Take in what another thread found (`finish` sorts it all).
    pub(super) fn merge(&mut self, other: Found<'_>) {
        self.pairs.extend(other.pairs);
        self.starts.extend(other.starts);
    }

    pub(super) fn finish(mut self, records: usize) -> Scan {
        // The same (socket, process, fd) twice: a thread whose fd table is a copy of the
        // leader's (unshare(CLONE_FILES) copies it), or the threads of an exited leader,
        // which the kernel cannot tell from threads with tables of their own.
        self.pairs
            .sort_unstable_by_key(|(inode, o)| (*inode, o.pid, o.fd));
        self.pairs
            .dedup_by(|a, b| a.0 == b.0 && a.1.pid == b.1.pid && a.1.fd == b.1.fd);
        self.starts.sort_unstable();
        self.starts.dedup_by_key(|s| s.0);
        self.starts.shrink_to_fit();
        let mut owners = OwnerMap::from_pairs(self.pairs);
        owners.method = OwnerMethod::Bpf;
        // Loading the program took the privilege to see every process.
        owners.privileged = true;
        Scan {
            owners,
            starts: StartTimes(self.starts),
            records,
            shortcut: false,
            reread: 0,
        }
    }
}
