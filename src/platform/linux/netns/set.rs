//! Several namespaces read as one (`NetnsSet`): one pool of reader threads for all, the
//! foreign namespaces queued on it while our own is read in place, and one warning for every
//! namespace that could not be read.

use super::discover::{Discovery, NsEntry};
use super::open::open_entry;
use super::source::{How, NetnsSource, NsRead, Skip, Via};
use super::worker::{enter, Pool};
use crate::error::{Error, Result};
use crate::model::{Netns, Query, Snapshot, Warning};
use std::num::NonZeroU64;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

pub(super) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The one warning for every namespace not read, and for processes whose namespace could not
/// be seen at all (`hidden_pids`, from discovery). `root`: we run as root already, so the
/// way to see them is not "run as root" (root inside a container lacks the capabilities over
/// the host's namespaces; a process can hold capabilities root lacks).
pub fn skipped_warning(skipped: &[Skip], hidden_pids: usize, root: bool) -> Option<Warning> {
    let n = skipped.iter().filter(|s| **s == Skip::NotPermitted).count();
    let mut parts = Vec::new();
    if n > 0 {
        parts.push(format!(
            "{n} network namespace{} not read (entering one needs CAP_SYS_ADMIN over it)",
            if n == 1 { " was" } else { "s were" }
        ));
    }
    if hidden_pids > 0 {
        parts.push(format!(
            "the network namespace of {hidden_pids} process{} could not be seen",
            if hidden_pids == 1 { "" } else { "es" }
        ));
    }
    let failed: Vec<i32> = skipped
        .iter()
        .filter_map(|s| match s {
            Skip::Failed(e) => Some(*e),
            _ => None,
        })
        .collect();
    if let Some(first) = failed.first() {
        // Not a permission matter: said on its own, with the cause.
        let n = failed.len();
        let err = std::io::Error::from_raw_os_error(*first);
        let many = if n == 1 { "" } else { "s" };
        let msg = format!("{n} network namespace{many} could not be opened ({err})");
        if parts.is_empty() {
            return Some(Warning::new("netns-skipped", msg));
        }
        parts.push(msg);
    }
    if parts.is_empty() {
        return None;
    }
    let how = if root {
        " (refused even to root: portwatch lacks capabilities over them, e.g. it runs in a \
         container or another user namespace)"
    } else {
        ": run as root to list them (`sudo portwatch -N all`)"
    };
    Some(Warning::new(
        "netns-skipped",
        format!("{}{how}", parts.join("; ")),
    ))
}

/// Several namespaces, read in parallel on one pool.
pub struct NetnsSet {
    sources: Vec<NetnsSource>,
    hidden_pids: usize,
    skips: Arc<Mutex<Vec<Skip>>>,
}

/// What reading a set produced: each namespace read, in the set's order, and the warnings
/// (one `netns-skipped` for all namespaces not read).
#[derive(Debug, Default)]
pub struct MultiRead {
    pub namespaces: Vec<(Netns, Snapshot, Via)>,
    pub skipped: Vec<(Netns, Skip)>,
    pub warnings: Vec<Warning>,
}

impl NetnsSet {
    /// Open the namespaces `inodes` (in that order) of a discovery, reading under
    /// `proc_root` ("/proc" on a live system), with /proc/net text tables instead of netlink
    /// when `proc_only`. `hidden_pids` is counted in the warning (pass the discovery's for
    /// `-N all`, where the namespaces of processes we could not see are missing).
    pub fn open(
        d: &Discovery,
        inodes: &[NonZeroU64],
        proc_root: &Path,
        proc_only: bool,
        hidden_pids: usize,
    ) -> Result<NetnsSet> {
        let entries: Vec<&NsEntry> = inodes.iter().filter_map(|&i| d.get(i)).collect();
        let foreign = entries.iter().filter(|e| !e.own).count();
        let pool = Pool::sized_for(foreign, 4)
            .map(Arc::new)
            .map_err(|e| Error::System(format!("cannot start a namespace reader thread: {e}")))?;
        let skips = Arc::new(Mutex::new(Vec::new()));
        let sources = entries
            .into_iter()
            .map(|e| NetnsSource {
                netns: e.netns(),
                how: if e.own { How::Local } else { How::Foreign },
                entry: Arc::new(e.clone()),
                pool: Arc::clone(&pool),
                proc_root: proc_root.to_path_buf(),
                proc_only,
                facts: Arc::new(OnceLock::new()),
                skips: Arc::clone(&skips),
            })
            .collect();
        Ok(NetnsSet {
            sources,
            hidden_pids,
            skips,
        })
    }

    pub fn sources(&self) -> &[NetnsSource] {
        &self.sources
    }

    /// The one warning about namespaces the sources' `read_sockets` skipped so far, and
    /// processes whose namespace could not be seen.
    pub fn warnings(&self) -> Vec<Warning> {
        let skips = self.skips.lock().map(|s| s.clone()).unwrap_or_default();
        skipped_warning(&skips, self.hidden_pids, is_root())
            .into_iter()
            .collect()
    }

    /// Run `f` inside each namespace of the set that `inodes` lists (ours in this thread,
    /// the others on the pool at once), for work that sees the namespace of the thread doing
    /// it: a child process (`nft`), a connection, a netlink socket. `None` for a namespace
    /// that cannot be entered (no CAP_SYS_ADMIN over it, or gone).
    pub fn each_inside<T: Send + 'static>(
        &self,
        inodes: &[NonZeroU64],
        f: impl Fn(NonZeroU64) -> T + Send + Sync + 'static,
    ) -> Vec<(NonZeroU64, Option<T>)> {
        let f = Arc::new(f);
        let pending: Vec<_> = self
            .sources
            .iter()
            .filter(|s| inodes.contains(&s.netns.inode))
            .map(|s| {
                let inode = s.netns.inode;
                let rx = (!matches!(s.how, How::Local)).then(|| {
                    let (entry, root, f) =
                        (Arc::clone(&s.entry), s.proc_root.clone(), Arc::clone(&f));
                    s.pool.submit(move || {
                        // Held open while `f` runs: the namespace cannot go away under it.
                        let h = open_entry(&entry, &root).ok()?;
                        enter(h.fd.as_fd()).ok().map(|()| f(inode))
                    })
                });
                (inode, rx)
            })
            .collect();
        pending
            .into_iter()
            .map(|(inode, rx)| {
                let out = match rx {
                    None => Some(f(inode)),
                    Some(rx) => rx.recv().ok().flatten(),
                };
                (inode, out)
            })
            .collect()
    }

    /// Read every namespace: the foreign ones queued on the pool first, our own meanwhile
    /// in this thread.
    pub fn read_all(&self, q: &Query) -> Result<MultiRead> {
        let pending: Vec<_> = self
            .sources
            .iter()
            .map(|s| (!matches!(s.how, How::Local)).then(|| s.submit(q)))
            .collect();
        let mut out = MultiRead::default();
        for (s, rx) in self.sources.iter().zip(pending) {
            let r = match rx {
                None => s.read(q)?,
                Some(rx) => rx.recv().unwrap_or(NsRead::Skipped(Skip::Gone)),
            };
            match r {
                NsRead::Read { snapshot, via } => {
                    out.namespaces.push((s.netns.clone(), snapshot, via))
                }
                NsRead::Skipped(why) => out.skipped.push((s.netns.clone(), why)),
            }
        }
        let skips: Vec<Skip> = out.skipped.iter().map(|(_, s)| *s).collect();
        out.warnings
            .extend(skipped_warning(&skips, self.hidden_pids, is_root()));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_counts_skips_and_hidden_processes() {
        assert_eq!(skipped_warning(&[], 0, false), None);
        assert_eq!(
            skipped_warning(&[Skip::Gone, Skip::Gone], 0, false),
            None,
            "gone is not news"
        );
        let skips = [Skip::NotPermitted, Skip::Gone, Skip::NotPermitted];
        let w = skipped_warning(&skips, 3, false).unwrap();
        assert_eq!(w.kind, "netns-skipped");
        assert_eq!(
            w.message,
            "2 network namespaces were not read (entering one needs CAP_SYS_ADMIN over it); \
             the network namespace of 3 processes could not be seen: run as root to list them \
             (`sudo portwatch -N all`)"
        );
        let w = skipped_warning(&[Skip::NotPermitted], 1, false).unwrap();
        assert!(
            w.message.starts_with("1 network namespace was not read"),
            "{}",
            w.message
        );
        assert!(w.message.contains("of 1 process could"), "{}", w.message);
        let w = skipped_warning(&[Skip::Failed(libc::EMFILE), Skip::Gone], 0, true).unwrap();
        assert_eq!(
            w.message,
            format!(
                "1 network namespace could not be opened ({})",
                std::io::Error::from_raw_os_error(libc::EMFILE)
            )
        );
        let w = skipped_warning(&[], 1, true).unwrap();
        assert!(!w.message.contains("run as root"), "{}", w.message);
        assert!(w.message.contains("refused even to root"), "{}", w.message);
    }
}
