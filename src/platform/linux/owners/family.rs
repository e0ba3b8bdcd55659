//! After an early stop: read the found owners' process families, where the other holders of a
//! socket shared across fork are.
//!
//! A socket reaches a second process by fork (pre-fork servers, socket activation: the holders
//! are a process and its descendants) or by being sent over a unix socket (SCM_RIGHTS,
//! pidfd_getfd: any process). The first kind is found here: from each owner, climb to the
//! parent while the parent holds one of the same sockets, then read every descendant of the
//! topmost holder. When that holder is pid 1 (systemd's socket activation) this is the whole
//! host. The second kind, and a fork-shared holder whose link to that tree is broken (its
//! master exited and it was re-parented; a parent closed its copy or refused the read), is
//! only certain with a full read, which `Wanted::Some` does. Reading the siblings of every
//! holder whose parent does not hold the socket would catch the re-parented case, but a
//! daemon's parent is pid 1: that would be a full read for nearly every query.

use super::pidfs::{pid_path, read_file, stat_flags, stat_ppid, PF_KTHREAD};
use super::{Found, Job};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::AtomicUsize;

/// Add to `found` the holders in the families of the owners found so far; `job.pids[..read]`
/// have been read already. Returns whether some process was still left unread (when pid 1
/// is a holder, its family is every process).
pub(super) fn complete(job: &Job<'_>, read: usize, found: &mut Found) -> bool {
    let pids = job.pids;
    // Kernel threads hold no fds: they are neither family nor left unread.
    let mut kernel = HashSet::new();
    let mut parent: HashMap<u32, u32> = HashMap::with_capacity(pids.len());
    for &p in pids {
        match parent_of(job, p) {
            Some((_, true)) => {
                kernel.insert(p);
            }
            Some((up, false)) => {
                parent.insert(p, up);
            }
            None => {}
        }
    }
    let mut scanned: HashSet<u32> = pids.iter().take(read).copied().collect();
    let mut held: HashMap<u32, HashSet<u64>> = HashMap::new();
    for (inode, o) in &found.pairs {
        held.entry(o.pid).or_default().insert(*inode);
    }
    let owners: BTreeSet<u32> = held.keys().copied().collect();
    let mut tops = BTreeSet::new();
    let mut hits = Vec::new();
    for owner in owners {
        let mut top = owner;
        while let Some(&up) = parent.get(&top) {
            if up == 0 || up == top {
                break;
            }
            if scanned.insert(up) {
                job.read_one(up, found, &mut hits);
                if !hits.is_empty() {
                    held.entry(up).or_default().extend(hits.iter().map(|h| h.0));
                }
            }
            let shares = match (held.get(&up), held.get(&top)) {
                (Some(a), Some(b)) => !a.is_disjoint(b),
                _ => false,
            };
            if !shares {
                break;
            }
            top = up;
        }
        tops.insert(top);
    }
    let rest = descendants(&parent, &tops, &scanned);
    let unread = pids
        .iter()
        .any(|p| !scanned.contains(p) && !kernel.contains(p) && rest.binary_search(p).is_err());
    if !rest.is_empty() {
        let more = Job {
            pids: &rest,
            next: AtomicUsize::new(0),
            early: None,
            ..*job
        };
        found.merge(more.run_parallel());
    }
    unread
}

/// Every descendant of `tops` that is not in `skip`, parents before children.
fn descendants(parent: &HashMap<u32, u32>, tops: &BTreeSet<u32>, skip: &HashSet<u32>) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&child, &up) in parent {
        children.entry(up).or_default().push(child);
    }
    let mut out = Vec::new();
    let mut seen: HashSet<u32> = tops.iter().copied().collect();
    let mut queue: Vec<u32> = tops.iter().copied().collect();
    while let Some(p) = queue.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or_default() {
            if seen.insert(c) {
                queue.push(c);
                if !skip.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// The parent pid, and whether `pid` is a kernel thread; `None` when it exited.
fn parent_of(job: &Job<'_>, pid: u32) -> Option<(u32, bool)> {
    let mut buf = [0u8; 512];
    let n = read_file(job.root, pid_path(pid, "/stat").as_c(), &mut buf).ok()?;
    let stat = buf.get(..n)?;
    let kernel = stat_flags(stat).is_some_and(|f| f & PF_KTHREAD != 0);
    Some((stat_ppid(stat)?, kernel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_of_tops_skip_what_was_read() {
        // 1 -> {10, 20}; 10 -> {11, 12}; 11 -> {13}
        let parent = HashMap::from([(10, 1), (20, 1), (11, 10), (12, 10), (13, 11), (1, 0)]);
        let tops = BTreeSet::from([10]);
        assert_eq!(descendants(&parent, &tops, &HashSet::new()), [11, 12, 13]);
        assert_eq!(descendants(&parent, &tops, &HashSet::from([12])), [11, 13]);
        let all = descendants(&parent, &BTreeSet::from([1]), &HashSet::new());
        assert_eq!(
            all,
            [10, 11, 12, 13, 20],
            "pid 1 as top holder: every process"
        );
        assert!(descendants(&parent, &BTreeSet::from([20]), &HashSet::new()).is_empty());
    }
}
