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
//! Every socket is tagged with the inode of the namespace it was read in.

use super::discover::{Discovery, NsEntry};
use super::open::{open_entry, open_member, NsHandle, OpenError, ProcDir};
use super::worker::{enter, Pool};
use crate::error::{Error, Result};
use crate::model::{Netns, Query, Snapshot, Warning};
use crate::platform::linux::{ephemeral_range, iface_name, procnet, read_sockets_netlink};
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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
}

/// The result of reading one namespace.
#[derive(Debug)]
pub enum NsRead {
    Read { snapshot: Snapshot, via: Via },
    Skipped(Skip),
}

/// Per-namespace facts read alongside the sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Facts {
    ephemeral: Option<(u16, u16)>,
    ifaces: HashMap<u32, String>,
}

enum How {
    Local,
    Enter(Arc<NsHandle>),
    /// Could not be opened; a member's tables may still be readable.
    Unopened(OpenError),
}

/// One network namespace to read.
pub struct NetnsSource {
    netns: Netns,
    entry: Arc<NsEntry>,
    how: How,
    pool: Arc<Pool>,
    proc_root: PathBuf,
    facts: Arc<OnceLock<Facts>>,
}

impl NetnsSource {
    /// The namespace as a listing names it.
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// Read the sockets `q` asks for, saying how, or why not.
    pub fn read(&self, q: &Query) -> NsRead {
        if matches!(self.how, How::Local) {
            return match read_sockets_netlink(&self.proc_root, q) {
                Ok(mut snapshot) => {
                    tag(&mut snapshot, self.netns.inode);
                    NsRead::Read {
                        snapshot,
                        via: Via::Local,
                    }
                }
                // The own namespace fails only as a listing without -N would: say so there.
                Err(e) => NsRead::Read {
                    snapshot: Snapshot {
                        sockets: Vec::new(),
                        warnings: vec![Warning::new("netns-unreadable", e.to_string())],
                    },
                    via: Via::Local,
                },
            };
        }
        match self.submit(q).recv() {
            Ok(r) => r,
            Err(_) => NsRead::Skipped(Skip::Gone),
        }
    }

    /// `SocketSource::read_sockets`: a skipped namespace is an empty snapshot with a warning.
    pub fn read_sockets(&self, q: &Query) -> Result<Snapshot> {
        match self.read(q) {
            NsRead::Read { snapshot, .. } => Ok(snapshot),
            NsRead::Skipped(why) => Ok(Snapshot {
                sockets: Vec::new(),
                warnings: skipped_warning(&[why], 0, is_root()).into_iter().collect(),
            }),
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
    fn submit(&self, q: &Query) -> std::sync::mpsc::Receiver<NsRead> {
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
        let handle = match &self.how {
            How::Enter(h) => Some(Arc::clone(h)),
            _ => None,
        };
        let opened = match self.how {
            How::Unopened(e) => Err(e),
            _ => Ok(()),
        };
        let entry = Arc::clone(&self.entry);
        let proc_root = self.proc_root.clone();
        let want_facts = self.facts.get().is_none();
        let inode = self.netns.inode;
        move || {
            if let Some(h) = handle {
                if enter(h.fd.as_fd()).is_ok() {
                    // Tagged with what was entered, which open_entry checked is the entry.
                    return inside(q.as_ref(), want_facts, h.inode);
                }
            }
            // Not entered (not permitted, or not opened): a member's /proc tables.
            match open_member(&entry, &proc_root) {
                Some(dir) => from_proc(&dir, q.as_ref(), inode),
                None => {
                    let why = match opened {
                        Err(OpenError::Gone) => Skip::Gone,
                        _ => Skip::NotPermitted,
                    };
                    (NsRead::Skipped(why), None)
                }
            }
        }
    }
}

/// On a pool thread that has entered the namespace.
fn inside(q: Option<&Query>, want_facts: bool, inode: NonZeroU64) -> (NsRead, Option<Facts>) {
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
        Some(q) => match read_sockets_netlink(Path::new("/proc/thread-self"), q) {
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

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn tag(s: &mut Snapshot, inode: NonZeroU64) {
    for sock in &mut s.sockets {
        sock.netns = Some(inode);
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
    if parts.is_empty() {
        return None;
    }
    let how = if root {
        "denied to root too: run portwatch in the host's user namespace, with all capabilities"
    } else {
        "run as root to list them (`sudo portwatch -N all`)"
    };
    Some(Warning::new(
        "netns-skipped",
        format!("{}: {how}", parts.join("; ")),
    ))
}

/// Several namespaces, read in parallel on one pool.
pub struct NetnsSet {
    sources: Vec<NetnsSource>,
    hidden_pids: usize,
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
    /// `proc_root` ("/proc" on a live system).
    pub fn open(d: &Discovery, inodes: &[NonZeroU64], proc_root: &Path) -> Result<NetnsSet> {
        let entries: Vec<&NsEntry> = inodes.iter().filter_map(|&i| d.get(i)).collect();
        let foreign = entries.iter().filter(|e| !e.own).count();
        let pool = Pool::sized_for(foreign, 4)
            .map(Arc::new)
            .map_err(|e| Error::System(format!("cannot start a namespace reader thread: {e}")))?;
        let sources = entries
            .into_iter()
            .map(|e| NetnsSource {
                netns: e.netns(),
                how: if e.own {
                    How::Local
                } else {
                    match open_entry(e, proc_root) {
                        Ok(h) => How::Enter(Arc::new(h)),
                        Err(err) => How::Unopened(err),
                    }
                },
                entry: Arc::new(e.clone()),
                pool: Arc::clone(&pool),
                proc_root: proc_root.to_path_buf(),
                facts: Arc::new(OnceLock::new()),
            })
            .collect();
        Ok(NetnsSet {
            sources,
            hidden_pids: d.hidden_pids,
        })
    }

    pub fn sources(&self) -> &[NetnsSource] {
        &self.sources
    }

    /// Read every namespace: the foreign ones queued on the pool first, our own meanwhile
    /// in this thread.
    pub fn read_all(&self, q: &Query) -> MultiRead {
        let pending: Vec<_> = self
            .sources
            .iter()
            .map(|s| (!matches!(s.how, How::Local)).then(|| s.submit(q)))
            .collect();
        let mut out = MultiRead::default();
        for (s, rx) in self.sources.iter().zip(pending) {
            let r = match rx {
                None => s.read(q),
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
        out
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
        let w = skipped_warning(&[], 1, true).unwrap();
        assert!(!w.message.contains("run as root"), "{}", w.message);
        assert!(w.message.contains("denied to root too"), "{}", w.message);
    }

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
