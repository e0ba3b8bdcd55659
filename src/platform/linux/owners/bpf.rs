//! The owner scan in one kernel pass: a BPF `iter/task_file` program (owners.bpf.c, its
//! compiled object embedded below) writes a record for every socket fd of every process, and
//! the records fill the same `OwnerMap` the /proc scan fills. No system call per fd: the
//! whole host is a few hundred `read`s of 32 KiB.
//!
//! What it sees that /proc does not: a thread that unshared its fd table (CLONE_FILES off)
//! has its own fds, which `/proc/PID/fd` (the leader's table) does not list; they are
//! reported under the process id. Threads sharing the leader's table are skipped by the
//! kernel itself (task_iter.c, `skip_if_dup_files`), so a process's fds come once.
//!
//! What it needs: Linux 5.8+ with BTF (`/sys/kernel/btf/vmlinux`), CAP_BPF and CAP_PERFMON
//! (or CAP_SYS_ADMIN), and no lockdown in confidentiality mode (it reads kernel memory).
//! Anything missing is an `Unavailable` reason; the caller falls back to the /proc scan.
//!
//! Like /proc, the iterator walks the tasks of the reader's pid namespace, and the program
//! numbers processes as that namespace does, so pids match what /proc shows. Uids are kernel
//! uids: loading BPF needs capabilities in the initial user namespace, where they are the
//! same. A socket is a file whose inode is on sockfs: an O_PATH fd of a unix socket's path
//! (an S_IFSOCK inode of a file system) is not one, as /proc's `socket:[N]` agrees.
//!
//! Loading costs a fixed 15-30 ms (a /proc scan of a small host costs less: the caller
//! decides): one pass over the kernel's BTF for the offsets of the fields the program reads
//! (btf.rs; they are its read-only data, which the verifier checks against the same BTF),
//! the verifier, and aya 0.14's own parse of that BTF, which it makes whether used or not.

pub mod btf;
pub mod record;

use crate::model::{InodeSet, OwnerMap, Wanted};
use crate::model::{Owner, Text};
use aya::programs::{Iter, ProgramError};
use aya::{Btf, Ebpf, EbpfError, EbpfLoader};
use record::Record;
use std::fmt;
use std::io;

/// The compiled owners.bpf.c (scripts/build-bpf.sh; tests/bpf_object.rs checks it matches).
/// Aligned: the ELF parser reads its headers in place.
static OBJECT: &Aligned<[u8]> = &Aligned(*include_bytes!("bpf/owners.bpf.o"));

#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The program's name in the object (its function name).
const PROGRAM: &str = "socket_owners";

/// Bytes asked for per `read`. The kernel fills at most its seq_file buffer (8 pages) per
/// call; a little more keeps a record split at the end from costing an extra call.
const READ_SIZE: usize = 64 * 1024;

/// Why the BPF owner scan cannot run here; the /proc scan can.
#[derive(Debug)]
pub enum Unavailable {
    /// Neither root nor CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN).
    NotPermitted,
    /// The kernel has no BTF to relocate the program against.
    NoBtf(String),
    /// No `task_file` iterator: Linux before 5.8.
    KernelTooOld,
    /// Kernel lockdown in confidentiality mode forbids reading kernel memory from BPF.
    Lockdown,
    /// The object did not parse, relocate or pass the verifier on this kernel.
    Load(String),
    /// Attaching the iterator or reading it failed.
    Read(io::Error),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::NotPermitted => {
                write!(f, "not permitted: needs root, or CAP_BPF and CAP_PERFMON")
            }
            Unavailable::NoBtf(why) => write!(f, "the kernel has no usable BTF ({why})"),
            Unavailable::KernelTooOld => {
                write!(
                    f,
                    "the kernel has no task_file BPF iterator (Linux 5.8 or later)"
                )
            }
            Unavailable::Lockdown => {
                write!(
                    f,
                    "kernel lockdown (confidentiality) forbids BPF reads of kernel memory"
                )
            }
            Unavailable::Load(why) => write!(f, "the BPF program did not load: {why}"),
            Unavailable::Read(e) => write!(f, "reading the BPF iterator failed: {e}"),
        }
    }
}

impl std::error::Error for Unavailable {}

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
}

/// The iterator program, loaded and verified: scan with it as often as needed.
pub struct OwnerIter {
    ebpf: Ebpf,
}

impl fmt::Debug for OwnerIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerIter")
    }
}

impl OwnerIter {
    /// Load the program into the kernel, or say why it cannot be.
    pub fn load() -> Result<OwnerIter, Unavailable> {
        // Asked first, so that an unprivileged run costs one small read, not aya's feature
        // probes and a read of the kernel's BTF.
        if !privileged() {
            return Err(Unavailable::NotPermitted);
        }
        let blob =
            std::fs::read(VMLINUX).map_err(|e| Unavailable::NoBtf(format!("{VMLINUX}: {e}")))?;
        let layout = btf::layout(&blob).map_err(|e| match e {
            btf::BtfError::NoIterator => Unavailable::KernelTooOld,
            e => Unavailable::Load(e.to_string()),
        })?;
        drop(blob);
        // No CO-RE relocation (the offsets are the program's data), so no target BTF. aya
        // 0.14 parses the kernel's BTF in EbpfLoader::new all the same (about 10 ms); 0.16
        // does not, but needs a newer rustc than the project's.
        let mut ebpf = EbpfLoader::new()
            .btf(None)
            .override_global("offsets", &layout.offsets, true)
            .load(&OBJECT.0)
            .map_err(|e| match e {
                EbpfError::ProgramError(e) => from_program_error(e),
                e => Unavailable::Load(chain(&e)),
            })?;
        let program = iter_program(&mut ebpf)?;
        program
            .load("task_file", &attach_point(layout.iter_func)?)
            .map_err(from_program_error)?;
        Ok(OwnerIter { ebpf })
    }

    /// One pass over every task's files: the records, in the kernel's order (by thread id,
    /// then fd), each handed to `each`. Returns how many there were.
    pub fn for_each_record(&mut self, each: impl FnMut(&Record)) -> Result<usize, Unavailable> {
        let program = iter_program(&mut self.ebpf)?;
        let link_id = program.attach().map_err(from_program_error)?;
        let link = program.take_link(link_id).map_err(from_program_error)?;
        let file = link
            .into_file()
            .map_err(|e| Unavailable::Read(io::Error::other(chain(&e))))?;
        let tail = record::read_records(file, READ_SIZE, each).map_err(Unavailable::Read)?;
        Ok(tail.records)
    }

    /// The owners of the wanted sockets (of every socket for `Wanted::All`).
    pub fn scan(&mut self, wanted: Wanted<'_>) -> Result<Scan, Unavailable> {
        let keep = match wanted {
            Wanted::All => None,
            Wanted::Some { inodes } | Wanted::Family { inodes, .. } => Some(inodes),
        };
        if keep.is_some_and(InodeSet::is_empty) {
            return Ok(Scan::default());
        }
        let mut found = Found::new(keep);
        let records = self.for_each_record(|r| found.add(r))?;
        Ok(found.finish(records))
    }
}

fn iter_program(ebpf: &mut Ebpf) -> Result<&mut Iter, Unavailable> {
    ebpf.program_mut(PROGRAM)
        .ok_or_else(|| Unavailable::Load(format!("no program {PROGRAM} in the object")))?
        .try_into()
        .map_err(from_program_error)
}

/// A BTF whose only use is to name the iterator's attach point: aya's `Iter::load` looks up
/// `bpf_iter_<type>` in the BTF it is given and hands the kernel that type's id, which is its
/// position. Parsing the kernel's whole BTF for that one number costs tens of ms; this puts
/// a function of that name at the id `btf::layout` found, after placeholder types.
fn attach_point(id: u32) -> Result<Btf, Unavailable> {
    use aya_obj::btf::{BtfType, Func, FuncLinkage, Ptr};
    let mut btf = Btf::new();
    let name = btf.add_string("bpf_iter_task_file");
    let mut last = 0;
    while last + 1 < id {
        last = btf.add_type(BtfType::Ptr(Ptr::new(0, 0)));
    }
    let func = btf.add_type(BtfType::Func(Func::new(name, 0, FuncLinkage::Static)));
    if func != id {
        return Err(Unavailable::Load(format!(
            "attach point at BTF id {func}, not {id}"
        )));
    }
    Ok(btf)
}

/// The owners of the wanted sockets, by one BPF pass (loads the program for this one scan).
pub fn scan(wanted: Wanted<'_>) -> Result<OwnerMap, Unavailable> {
    scan_with_starts(wanted).map(|s| s.owners)
}

/// `scan`, keeping the processes' start times and the record count.
pub fn scan_with_starts(wanted: Wanted<'_>) -> Result<Scan, Unavailable> {
    if let Wanted::Some { inodes } | Wanted::Family { inodes, .. } = wanted {
        if inodes.is_empty() {
            return Ok(Scan::default());
        }
    }
    OwnerIter::load()?.scan(wanted)
}

/// Records turned into owner pairs as they arrive. Records come grouped by task, so the
/// comm of the previous record is reused: one name allocation per process, not per fd.
struct Found<'a> {
    keep: Option<&'a InodeSet>,
    pairs: Vec<(u64, Owner)>,
    starts: Vec<(u32, u64)>,
    last: Option<(u32, u64, [u8; 16], Text)>,
}

impl<'a> Found<'a> {
    fn new(keep: Option<&'a InodeSet>) -> Found<'a> {
        Found {
            keep,
            pairs: Vec::new(),
            starts: Vec::new(),
            last: None,
        }
    }

    fn add(&mut self, r: &Record) {
        if self.keep.is_some_and(|k| !k.contains(r.inode)) {
            return;
        }
        let comm = match &self.last {
            Some((pid, start, raw, text))
                if *pid == r.tgid && *start == r.start_boottime && *raw == r.comm =>
            {
                text.clone()
            }
            _ => {
                let text = Text::from(r.comm());
                self.last = Some((r.tgid, r.start_boottime, r.comm, text.clone()));
                self.starts.push((r.tgid, r.start_boottime));
                text
            }
        };
        self.pairs.push((
            r.inode,
            Owner {
                pid: r.tgid,
                comm,
                fd: r.fd,
                uid: r.uid(),
            },
        ));
    }

    fn finish(mut self, records: usize) -> Scan {
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
        Scan {
            owners: OwnerMap::from_pairs(self.pairs),
            starts: StartTimes(self.starts),
            records,
        }
    }
}

/// Open files on the host (all namespaces) from which a BPF scan, load included, is
/// expected to beat the /proc scan. Measured with bench/owners.rs on 2 cores: the BPF scan
/// costs ~20 ms to load plus ~0.3 us per open file, the /proc scan ~2 us per open file;
/// 2.8k files: 5-7 ms against 20-24 ms; 102k files: 166-246 ms against 58-84 ms.
pub const PAYS_FROM_OPEN_FILES: u64 = 16_000;

/// Whether the BPF scan is expected to be the faster method here: the kernel's count of
/// allocated files (`/proc/sys/fs/file-nr`, one small read) is past `PAYS_FROM_OPEN_FILES`.
/// Unknown counts as yes. Both methods give the same owners; this is only about speed.
pub fn expected_faster() -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/sys/fs/file-nr") else {
        return true;
    };
    open_files(&text).is_none_or(|n| n >= PAYS_FROM_OPEN_FILES)
}

/// The first field of `file-nr` ("allocated  free  max").
fn open_files(file_nr: &str) -> Option<u64> {
    file_nr.split_whitespace().next()?.parse().ok()
}

/// Whether this process has the capabilities a tracing BPF program needs: CAP_BPF (39) and
/// CAP_PERFMON (38), or CAP_SYS_ADMIN (21), in its effective set.
fn privileged() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        // No way to tell: let the load itself say.
        return true;
    };
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
    else {
        return true;
    };
    let has = |cap: u32| eff & (1u64 << cap) != 0;
    has(21) || (has(38) && has(39))
}

/// Whether the kernel is locked down in confidentiality mode (`[confidentiality]` selected in
/// securityfs); unknown counts as no.
fn locked_down() -> bool {
    std::fs::read_to_string("/sys/kernel/security/lockdown")
        .is_ok_and(|s| s.contains("[confidentiality]"))
}

fn from_program_error(e: ProgramError) -> Unavailable {
    match e {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            if locked_down() {
                return Unavailable::Lockdown;
            }
            // EPERM: no privilege. The verifier's rejections are EACCES (or EINVAL).
            if io_error.raw_os_error() == Some(libc::EPERM) {
                return Unavailable::NotPermitted;
            }
            // The verifier's verdict is in its last lines; the whole log can be megabytes.
            let log = verifier_log.to_string();
            let last: Vec<&str> = log.lines().rev().take(3).collect();
            let last: Vec<&str> = last.into_iter().rev().collect();
            Unavailable::Load(format!("{io_error}; verifier: {}", last.join(" | ")))
        }
        e => Unavailable::Load(chain(&e)),
    }
}

/// An error with its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(inode: u64, tgid: u32, fd: u32, comm: &[u8]) -> Record {
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm);
        Record {
            inode,
            start_boottime: u64::from(tgid) * 1000,
            tgid,
            fd,
            uid: 1000,
            flags: 0,
            comm: c,
        }
    }

    #[test]
    fn records_become_the_proc_scans_owner_table() {
        let mut f = Found::new(None);
        for r in [
            rec(900, 20, 4, b"nginx"),
            rec(901, 20, 5, b"nginx"),
            rec(900, 10, 4, b"nginx"),
            // A thread's copied fd table: the same socket at the same fd again.
            rec(900, 20, 4, b"nginx"),
            rec(902, 30, 3, b"sshd"),
        ] {
            f.add(&r);
        }
        let scan = f.finish(5);
        let map = &scan.owners;
        let pids: Vec<(u32, u32)> = map.get(900).iter().map(|o| (o.pid, o.fd)).collect();
        assert_eq!(
            pids,
            [(10, 4), (20, 4)],
            "sorted by pid, the duplicate gone"
        );
        assert_eq!(map.get(902)[0].comm.as_bytes(), b"sshd");
        assert_eq!(map.get(902)[0].uid, Some(1000));
        assert!(!map.partial && map.denied_pids == 0);
        assert_eq!(scan.starts.get(20), Some(20_000));
        assert_eq!(scan.starts.get(21), None);
        assert_eq!(scan.starts.len(), 3);
        assert_eq!(scan.records, 5);
    }

    #[test]
    fn only_wanted_inodes_are_kept() {
        let wanted: InodeSet = [901].into_iter().collect();
        let mut f = Found::new(Some(&wanted));
        f.add(&rec(900, 20, 4, b"a"));
        f.add(&rec(901, 20, 5, b"a"));
        let scan = f.finish(2);
        assert_eq!(scan.owners.inodes().collect::<Vec<_>>(), [901]);
    }

    #[test]
    fn one_name_per_process() {
        let mut f = Found::new(None);
        f.add(&rec(900, 20, 4, b"a"));
        f.add(&rec(901, 20, 5, b"a"));
        let scan = f.finish(2);
        let (a, b) = (scan.owners.get(900), scan.owners.get(901));
        assert!(std::ptr::eq(a[0].comm.as_bytes(), b[0].comm.as_bytes()));
    }

    #[test]
    fn a_verifier_rejection_is_not_a_missing_privilege() {
        let load_error = |errno: i32, log: &str| ProgramError::LoadError {
            io_error: io::Error::from_raw_os_error(errno),
            verifier_log: aya_obj::VerifierLog::new(log.into()),
        };
        if locked_down() {
            return; // every load error reads as lockdown there
        }
        let log = "0: R1=ctx()\n1: (79) r2 = *(u64 *)(r1 +8)\nR2 invalid mem access 'scalar'\n";
        match from_program_error(load_error(libc::EACCES, log)) {
            Unavailable::Load(why) => assert!(why.contains("invalid mem access"), "{why}"),
            other => panic!("EACCES from the verifier: {other:?}"),
        }
        let e = from_program_error(load_error(libc::EPERM, ""));
        assert!(matches!(e, Unavailable::NotPermitted), "{e:?}");
    }

    #[test]
    fn open_files_from_file_nr() {
        assert_eq!(open_files("202879\t0\t2466170\n"), Some(202_879));
        assert_eq!(open_files(""), None);
        assert_eq!(open_files("x 0 1"), None);
        let live = std::fs::read_to_string("/proc/sys/fs/file-nr").unwrap_or_default();
        assert!(open_files(&live).is_some_and(|n| n > 0), "{live:?}");
    }

    #[test]
    fn attach_point_is_at_the_kernels_id() {
        for id in [1, 2, 64261] {
            let btf = attach_point(id).expect("attach point");
            let found = btf.id_by_type_name_kind("bpf_iter_task_file", aya_obj::btf::BtfKind::Func);
            assert_eq!(found.ok(), Some(id));
        }
    }

    #[test]
    fn embedded_object_is_an_aligned_bpf_elf() {
        let obj = &OBJECT.0;
        assert_eq!(obj.as_ptr() as usize % 8, 0);
        assert_eq!(obj.get(..4), Some(&b"\x7fELF"[..]));
        // e_machine EM_BPF (247), little-endian.
        assert_eq!(obj.get(18..20), Some(&[247u8, 0][..]));
    }
}
