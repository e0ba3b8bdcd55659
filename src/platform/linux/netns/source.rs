//! Reading one network namespace (`NetnsSource`, shaped as the planned `SocketSource`:
//! `read_sockets`, `ephemeral_range`, `iface_name`) and many at once (`NetnsSet`).
//!
//! How a namespace is read, best first:
//! 1. our own: in the calling thread, exactly as a listing without `-N`;
//! 2. from inside: a pool thread `setns`-es into it and runs the same netlink dumps with the
//!    same kernel-side state filter (raw sockets and failed dumps from
//!    `/proc/thread-self/net`, which is the thread's namespace; `/proc/self/net` would be the
//!    main thread's). Its ephemeral port range (`/proc/sys/net` files are looked up in the
//!    opening thread's namespace) and interface names are read there too, in the same job;
//! 3. when entering is not permitted (no CAP_SYS_ADMIN): the `/proc/PID/net` tables of a
//!    member process, read through its open `/proc/PID` directory and checked to be still
//!    in the namespace before and after (no ephemeral range then: unknown, not guessed);
//! 4. otherwise it is skipped, and counted in one warning for all skipped namespaces.
//!
//! Every socket is tagged with the inode of the namespace it was read in. Reading many at once,
//! and the one warning about those not read, is `set.rs`.

use super::discover::NsEntry;
use super::open::{open_entry, open_member, OpenError, ProcDir};
use super::worker::{enter, Pool};
use crate::error::Result;
use crate::model::{Netns, Query, Snapshot};
use crate::platform::linux::{ephemeral_range, iface_name, procnet, read_sockets_netlink};
use std::collections::HashMap;
use std::num::{NonZeroU32, NonZeroU64};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// How a namespace's sockets were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Our own namespace, read in place.
    Local,
    /// From inside, over netlink.
    Inside,
    /// `/proc/PID/net` of a member process.
    Proc,
}

/// Why a namespace was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Entering it is not permitted and no member process's tables are readable.
    NotPermitted,
    /// It went away between discovery and reading (not an error: it no longer exists).
    Gone,
    /// It could not be opened for another reason (the errno).
    Failed(i32),
}

/// The result of reading one namespace.
#[derive(Debug)]
pub enum NsRead {
    Read { snapshot: Snapshot, via: Via },
    Skipped(Skip),
}

/// Per-namespace facts read alongside the sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Facts {
    ephemeral: Option<(u16, u16)>,
    ifaces: HashMap<u32, String>,
}

pub(super) enum How {
    /// Our own namespace: read in place.
    Local,
    /// Another: opened by the job that reads it, so that a listing of a thousand namespaces
    /// holds a pool's worth of namespace files at a time, not a thousand descriptors.
    Foreign,
}

/// One network namespace to read.
pub struct NetnsSource {
    pub(super) netns: Netns,
    pub(super) entry: Arc<NsEntry>,
    pub(super) how: How,
    pub(super) pool: Arc<Pool>,
    pub(super) proc_root: PathBuf,
    /// Read /proc/net text tables instead of netlink (`--backend proc`).
    pub(super) proc_only: bool,
    pub(super) facts: Arc<OnceLock<Facts>>,
    /// Where `read_sockets` records a namespace it skipped (shared by the set).
    pub(super) skips: Arc<Mutex<Vec<Skip>>>,
}

impl NetnsSource {
    /// The namespace as a listing names it.
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// Read the sockets `q` asks for, saying how, or why not. Only our own namespace can
    /// fail, exactly as a listing without `-N` does.
    pub fn read(&self, q: &Query) -> Result<NsRead> {
        if matches!(self.how, How::Local) {
            let mut snapshot = read_tables(&self.proc_root, q, self.proc_only)?;
            tag(&mut snapshot, self.netns.inode);
            return Ok(NsRead::Read {
                snapshot,
                via: Via::Local,
            });
        }
        Ok(self.submit(q).recv().unwrap_or(NsRead::Skipped(Skip::Gone)))
    }

    /// `SocketSource::read_sockets`: a skipped namespace reads as empty, and is counted in the
    /// set's one warning (`NetnsSet::warnings`).
    pub fn read_sockets(&self, q: &Query) -> Result<Snapshot> {
        match self.read(q)? {
            NsRead::Read { snapshot, .. } => Ok(snapshot),
            NsRead::Skipped(why) => {
                if let Ok(mut s) = self.skips.lock() {
                    s.push(why);
                }
                Ok(Snapshot::default())
            }
        }
    }

    /// The namespace's ephemeral port range; `None` when it could not be read from inside.
    pub fn ephemeral_range(&self) -> Option<(u16, u16)> {
        match self.how {
            How::Local => ephemeral_range(&self.proc_root),
            _ => self.facts().ephemeral,
        }
    }

    /// The name of interface `index` in this namespace.
    pub fn iface_name(&self, index: u32) -> Option<String> {
        match self.how {
            How::Local => iface_name(index),
            _ => self.facts().ifaces.get(&index).cloned(),
        }
    }

    /// The facts, read by the socket read already or now by a job of their own.
    fn facts(&self) -> &Facts {
        self.facts.get_or_init(|| {
            let job = self.job(None);
            self.pool
                .submit(job)
                .recv()
                .ok()
                .and_then(|(_, f)| f)
                .unwrap_or_default()
        })
    }

    /// Queue a read of this namespace on the pool.
    pub(super) fn submit(&self, q: &Query) -> std::sync::mpsc::Receiver<NsRead> {
        let job = self.job(Some(q.clone()));
        let facts = Arc::clone(&self.facts);
        self.pool.submit(move || {
            let (read, f) = job();
            if let Some(f) = f {
                let _ = facts.set(f);
            }
            read
        })
    }

    /// A job reading the sockets (when `q` is given) and the facts (when not yet known).
    fn job(&self, q: Option<Query>) -> impl FnOnce() -> (NsRead, Option<Facts>) + Send + 'static {
        let entry = Arc::clone(&self.entry);
        let proc_root = self.proc_root.clone();
        let want_facts = self.facts.get().is_none();
        let proc_only = self.proc_only;
        move || {
            // Held open for the whole read: the namespace cannot go away under it.
            let opened = open_entry(&entry, &proc_root);
            if let Ok(h) = &opened {
                if enter(h.fd.as_fd()).is_ok() {
                    // Tagged with what was entered, which open_entry checked is the entry.
                    return inside(q.as_ref(), want_facts, h.inode, proc_only);
                }
            }
            // Not entered (not permitted, or not opened): a member's /proc tables.
            match open_member(&entry, &proc_root) {
                Some(dir) => from_proc(&dir, q.as_ref(), entry.inode),
                None => {
                    let why = match opened {
                        Err(OpenError::Gone) => Skip::Gone,
                        Err(OpenError::Failed(e)) => Skip::Failed(e as i32),
                        _ => Skip::NotPermitted,
                    };
                    (NsRead::Skipped(why), None)
                }
            }
        }
    }
}

/// The tables `q` asks for, from where this thread is: netlink, or /proc/net text.
fn read_tables(proc_root: &Path, q: &Query, proc_only: bool) -> Result<Snapshot> {
    if proc_only {
        procnet::read_sockets(proc_root, q)
    } else {
        read_sockets_netlink(proc_root, q)
    }
}

/// On a pool thread that has entered the namespace.
fn inside(
    q: Option<&Query>,
    want_facts: bool,
    inode: NonZeroU64,
    proc_only: bool,
) -> (NsRead, Option<Facts>) {
    let facts = want_facts.then(|| Facts {
        ephemeral: ephemeral_range(Path::new("/proc")),
        ifaces: nix::net::if_::if_nameindex()
            .map(|ifs| {
                ifs.iter()
                    .filter_map(|i| Some((i.index(), i.name().to_str().ok()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
    });
    let read = match q {
        None => NsRead::Skipped(Skip::Gone),
        // The thread's own /proc/net: /proc/self/net would be the main thread's namespace.
        Some(q) => match read_tables(Path::new("/proc/thread-self"), q, proc_only) {
            Ok(mut snapshot) => {
                tag(&mut snapshot, inode);
                NsRead::Read {
                    snapshot,
                    via: Via::Inside,
                }
            }
            Err(_) => NsRead::Skipped(Skip::Gone),
        },
    };
    (read, facts)
}

/// Through a member's open `/proc/PID` directory, valid only if the member was in the
/// namespace before and is still after (a process can change namespace at any time).
fn from_proc(dir: &ProcDir, q: Option<&Query>, inode: NonZeroU64) -> (NsRead, Option<Facts>) {
    let root = dir.path();
    let ifaces = if_names_of(&root);
    let read = q.map(|q| procnet::read_sockets(&root, q));
    if dir.netns() != Some(inode) {
        return (NsRead::Skipped(Skip::Gone), None);
    }
    let facts = Facts {
        ephemeral: None,
        ifaces,
    };
    let read = match read {
        Some(Ok(mut snapshot)) => {
            tag(&mut snapshot, inode);
            NsRead::Read {
                snapshot,
                via: Via::Proc,
            }
        }
        _ => NsRead::Skipped(Skip::Gone),
    };
    (read, Some(facts))
}

fn tag(s: &mut Snapshot, inode: NonZeroU64) {
    // The kernel numbers namespaces with an unsigned int (`ns_common.inum`): it always fits.
    let inode = NonZeroU32::try_from(inode).ok();
    for sock in &mut s.sockets {
        sock.netns = inode;
    }
}

/// Interface names from a process's `net/if_inet6` and `net/igmp` (the only /proc/net
/// tables that pair index and name): interfaces with neither IPv6 nor IPv4 multicast are
/// missing, and their index stays unnamed.
fn if_names_of(root: &Path) -> HashMap<u32, String> {
    let mut m = HashMap::new();
    if let Ok(t) = std::fs::read_to_string(root.join("net/if_inet6")) {
        m.extend(parse_if_inet6(&t));
    }
    if let Ok(t) = std::fs::read_to_string(root.join("net/igmp")) {
        m.extend(parse_igmp(&t));
    }
    m
}

/// `/proc/net/if_inet6`: `ADDR IFINDEX(hex) PREFIX SCOPE FLAGS NAME`.
fn parse_if_inet6(t: &str) -> Vec<(u32, String)> {
    t.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let idx = u32::from_str_radix(f.get(1)?, 16).ok()?;
            Some((idx, f.get(5)?.to_string()))
        })
        .collect()
}

/// `/proc/net/igmp`: `IDX\tNAME      :  COUNT QUERIER` per device, group lines indented.
fn parse_igmp(t: &str) -> Vec<(u32, String)> {
    t.lines()
        .filter_map(|l| {
            let (head, _) = l.split_once(':')?;
            let mut f = head.split_whitespace();
            let idx = f.next()?.parse().ok()?;
            Some((idx, f.next()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_tables() {
        let inet6 = "00000000000000000000000000000001 01 80 10 80       lo\n\
                     fe80000000000000a8c1abfffe000001 0a 40 20 80     veth0\n\
                     garbage\n";
        assert_eq!(
            parse_if_inet6(inet6),
            vec![(1, "lo".to_string()), (10, "veth0".to_string())]
        );
        let igmp = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
                    1\tlo        :     1      V3\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n\
                    3\teth0      :     1      V3\n";
        assert_eq!(
            parse_igmp(igmp),
            vec![(1, "lo".to_string()), (3, "eth0".to_string())]
        );
    }
}
