//! The owner scan in one kernel pass: a BPF task iterator (owners.bpf.c, its compiled object
//! embedded below) writes the socket fds of every process, and the records fill the same
//! `OwnerMap` the /proc scan fills. No system call per fd: the whole host is a few hundred
//! `read`s of 32 KiB.
//!
//! Two programs, one loaded: on Linux 5.17+ an `iter/task` program that the kernel calls
//! once per task and that walks the task's fd table itself with `bpf_loop` (a third to a
//! half of the per-file program's time), writing a head per process and 8 bytes per socket
//! fd; where the kernel refuses it, the `iter/task_file` program that the kernel calls for
//! each open file, writing a 48-byte record per socket fd. A process with more socket fds
//! than one kernel write holds (~4,000) is cut short by the first and read again by the
//! second. On Linux 6.1+ an iterator can be limited to one process, and a big host is read
//! process by process on several threads (walk.rs).
//!
//! A one-port query (the holders of a few TCP listeners) reads less: a TCP iterator finds the
//! listeners' files, and a third program compares every fd slot with their addresses
//! without reading the file behind each slot (`scan_listeners`).
//!
//! What it sees that /proc does not: a thread that unshared its fd table (CLONE_FILES off)
//! has its own fds, which `/proc/PID/fd` (the leader's table) does not list; they are
//! reported under the process id. Threads sharing the leader's table are skipped, so a
//! process's fds come once.
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
//! Loading: one pass over the kernel's BTF for the offsets of the fields the programs read
//! (btf.rs), patched into their instructions (loader/patch.rs), then the verifier, which checks
//! each read against the same BTF. It costs a few ms, still more than a /proc scan of a
//! small host (`expected_faster`); the BTF pass is done once per kernel, its result kept in
//! /run/portwatch (layout_cache.rs), after which loading is the verifier's ~1 ms.

pub mod btf;
pub mod feed;
mod found;
pub mod glimpse;
mod layout_cache;
mod listeners;
mod loader;
mod prog_btf;
pub mod record;
mod walk;

use crate::model::{InodeSet, OwnerMap, Wanted};
use found::Found;
pub use found::{Scan, StartTimes};
use record::Record;
use std::ffi::CStr;
use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::OnceLock;
pub use walk::Walk;

/// The compiled owners.bpf.c (scripts/build-bpf.sh; tests/bpf_object.rs checks it matches).
static OBJECT: &[u8] = include_bytes!("bpf/owners.bpf.o");

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The programs' sections in the object (what libbpf would call their types): the task
/// iterator that walks each fd table with bpf_loop (Linux 5.17+), with its callback, and the
/// task_file iterator for older kernels.
const BY_TASK: &str = "iter/task";
const BY_TASK_CALLBACK: &str = "iter/task/each_fd";
const BY_TASK_CHUNKED_CALLBACK: &str = "iter/task/each_fd_chunked";
const PROGRAM: &str = "iter/task_file";
/// The one-port shortcut (`OwnerIter::scan_listeners`): the TCP iterator that finds the
/// listeners' files, and a per-task program that looks for those files only.
const TCP_LISTENERS: &str = "iter/tcp";
const OF_FILES: &str = "iter/task/wanted";
const OF_FILES_CALLBACK: &str = "iter/task/each_wanted_fd";

/// Which program is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `iter/task`: called once per task, walks the fd table itself.
    ByTask,
    /// `iter/task` reading fd slots 8 at a time and an inode's fields in one read: half the
    /// probe reads per open file, 0.4 ms more in the verifier (`CHUNKED_FROM_OPEN_FILES`).
    ByTaskChunked,
    /// `iter/task_file`: the kernel calls it for each open file.
    ByFile,
}

impl Program {
    /// Whether it walks fd tables itself (and writes the per-task records, record.rs).
    pub fn per_task(self) -> bool {
        self != Program::ByFile
    }

    /// What PORTWATCH_DEBUG says of it.
    pub fn describe(self) -> &'static str {
        match self {
            Program::ByTask => "the per-task program",
            Program::ByTaskChunked => "the per-task program reading fd slots 8 at a time",
            Program::ByFile => "the per-file program",
        }
    }
}

/// Open files on the host from which the per-task program reads fd slots in chunks
/// (`Program::ByTaskChunked`): the verifier takes 0.4 ms more (0.80 against 0.36 ms, minima
/// of 15 loads), and the kernel iteration a quarter less, ~0.05 us per open file (at 200k
/// open files 32-34 against 43-45 ms, bench/owners.rs). That evens out at ~8k open files;
/// the margin keeps small hosts, where the load is most of a scan, on the cheaper load.
pub const CHUNKED_FROM_OPEN_FILES: u64 = 20_000;

/// Bytes asked for per `read`. The kernel fills at most its seq_file buffer (8 pages) per
/// call; a little more keeps a record split at the end from costing an extra call.
const READ_SIZE: usize = 64 * 1024;

/// Why the BPF owner scan cannot run here; the /proc scan can.
#[derive(Debug)]
pub enum Unavailable {
    /// Neither root nor CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN).
    NotPermitted,
    /// The kernel has no BTF to find the program's fields and attach point in.
    NoBtf(String),
    /// No `task_file` iterator: Linux before 5.8.
    KernelTooOld,
    /// Kernel lockdown in confidentiality mode forbids reading kernel memory from BPF.
    Lockdown,
    /// The object did not parse, its fields were not in the kernel's BTF, or the verifier
    /// refused it.
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

/// The iterator program, loaded and verified: scan with it as often as needed.
pub struct OwnerIter {
    prog: OwnedFd,
    program: Program,
    /// For processes the per-task program cut short: the per-file program, loaded when
    /// first needed, with what loading it takes.
    by_file: OnceLock<Result<OwnedFd, String>>,
    /// The TCP listener program (`scan_listeners`), loaded when first needed.
    listeners: OnceLock<Result<OwnedFd, String>>,
    offsets: [u32; btf::OFFSETS],
    iter_func: u32,
    task_func: Option<u32>,
    tcp_func: Option<u32>,
    /// The kernel can limit an iterator to one process (`btf::Layout::per_process`).
    per_process: bool,
    /// Processes of the current scan that the per-task program cut short and the per-file
    /// program read again (the scan's threads add to it).
    reread: AtomicUsize,
}

impl fmt::Debug for OwnerIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerIter")
    }
}

impl OwnerIter {
    /// Load the program into the kernel, or say why it cannot be.
    pub fn load() -> Result<OwnerIter, Unavailable> {
        OwnerIter::load_program(None)
    }

    /// `load`, of program `which`, or (`None`) of the per-task program where the kernel takes
    /// it and else of the per-file one.
    pub fn load_program(which: Option<Program>) -> Result<OwnerIter, Unavailable> {
        let layout = kernel_layout()?;
        let made = |prog, program| OwnerIter {
            prog,
            program,
            by_file: OnceLock::new(),
            listeners: OnceLock::new(),
            offsets: layout.offsets,
            iter_func: layout.iter_func,
            task_func: layout.task_func,
            tcp_func: layout.tcp_func,
            per_process: layout.per_process,
            reread: AtomicUsize::new(0),
        };
        let mut by_task_refused = None;
        // Under auto: the chunked per-task program on a big host, the plain one (which a
        // kernel refusing the chunked one may still take) on any, then the per-file one.
        let window_fits = btf::inode_window_fits(&layout.offsets);
        let per_task = match which {
            Some(Program::ByFile) => vec![],
            Some(Program::ByTaskChunked) if !window_fits => {
                return Err(Unavailable::Load(format!(
                    "the inode's fields are not in the first {} bytes of struct inode",
                    btf::INODE_WINDOW
                )))
            }
            Some(p) => vec![p],
            None if window_fits
                && host_open_files().is_some_and(|n| n >= CHUNKED_FROM_OPEN_FILES) =>
            {
                vec![Program::ByTaskChunked, Program::ByTask]
            }
            None => vec![Program::ByTask],
        };
        for program in per_task {
            let callback = match program {
                Program::ByTaskChunked => BY_TASK_CHUNKED_CALLBACK,
                _ => BY_TASK_CALLBACK,
            };
            let by_task = match layout.task_func {
                Some(func) => loader::object_with_callback(OBJECT, BY_TASK, callback)
                    .and_then(|o| load_program(o, &layout.offsets, func)),
                None => Err(loader::LoadError::Object(
                    "the kernel has no task iterator (bpf_iter_task)".into(),
                )),
            };
            match by_task {
                Ok(prog) => return Ok(made(prog, program)),
                // Asked for by name, or no privilege (which no program would have).
                Err(e) if which.is_some() || is_eperm(&e) => return Err(from_load_error(e)),
                // A kernel without bpf_loop (before 5.17) refuses it: the next program.
                Err(e) => {
                    by_task_refused.get_or_insert(e);
                }
            }
        }
        let prog = loader::object(OBJECT, PROGRAM)
            .and_then(|o| load_program(o, &layout.offsets, layout.iter_func))
            .map_err(|e| match by_task_refused {
                // Both refused: the first refusal says more about the kernel.
                Some(first) if !is_eperm(&e) => from_load_error(first),
                _ => from_load_error(e),
            })?;
        Ok(made(prog, Program::ByFile))
    }

    /// Which program was loaded.
    pub fn program(&self) -> Program {
        self.program
    }

    /// One pass over every task's files: the records, in the kernel's order (by thread id,
    /// then fd), each handed to `each`. Returns how many there were.
    pub fn for_each_record(&mut self, mut each: impl FnMut(&Record)) -> Result<usize, Unavailable> {
        self.read(None, &mut each)
    }

    /// The records of every process (`None`) or of process `pid`. A process whose fd table
    /// the per-task program cut short is read again by the per-file program: its records
    /// come twice (the scan keeps each once).
    fn read(&self, pid: Option<u32>, each: &mut dyn FnMut(&Record)) -> Result<usize, Unavailable> {
        self.read_with(&self.prog, self.program, pid, each)
    }

    /// `read`, running `prog`, a program of kind `program`.
    fn read_with(
        &self,
        prog: &OwnedFd,
        program: Program,
        pid: Option<u32>,
        each: &mut dyn FnMut(&Record),
    ) -> Result<usize, Unavailable> {
        let file = loader::iterate_process(prog, pid).map_err(from_load_error)?;
        if program == Program::ByFile {
            let tail = record::read_records(file, READ_SIZE, each).map_err(Unavailable::Read)?;
            return Ok(tail.records);
        }
        let read = record::read_by_task(file, READ_SIZE, &mut *each).map_err(Unavailable::Read)?;
        let mut records = read.tail.records;
        if read.cut.is_empty() {
            return Ok(records);
        }
        self.reread
            .fetch_add(read.cut.len(), AtomicOrdering::Relaxed);
        let by_file = self.by_file.get_or_init(|| {
            let obj = loader::object(OBJECT, PROGRAM);
            obj.and_then(|o| load_program(o, &self.offsets, self.iter_func))
                .map_err(|e| from_load_error(e).to_string())
        });
        let by_file = by_file
            .as_ref()
            .map_err(|why| Unavailable::Load(format!("the per-file program: {why}")))?;
        // Each cut process by an iterator of its own; without per-process iterators, one
        // walk of every process for all of them.
        let walks: Vec<Option<u32>> = match self.per_process {
            true => read.cut.iter().map(|&tgid| Some(tgid)).collect(),
            false => vec![None],
        };
        for one in walks {
            let file = loader::iterate_process(by_file, one).map_err(from_load_error)?;
            let tail = record::read_records(file, READ_SIZE, |r| {
                // `cut` is sorted (read_by_task).
                if read.cut.binary_search(&r.tgid).is_ok() {
                    each(r);
                }
            });
            records += tail.map_err(Unavailable::Read)?.records;
        }
        Ok(records)
    }

    /// Whether this kernel can limit an iterator to one process (Linux 6.1+), which a scan
    /// by process (`Walk::ByProcess`) needs.
    pub fn per_process(&self) -> bool {
        self.per_process
    }

    /// `for_each_record` over the files of process `pid` only (none when it has exited).
    /// Only where the kernel can limit an iterator to a process (`per_process`): an older
    /// one would walk every process for each call.
    pub fn for_each_record_of(
        &self,
        pid: u32,
        mut each: impl FnMut(&Record),
    ) -> Result<usize, Unavailable> {
        if !self.per_process {
            return Err(no_per_process());
        }
        self.read(Some(pid), &mut each)
    }

    /// Every process's records on up to `cores` threads (`walk::share`), each process by its own
    /// iterator.
    fn scan_by_process<'k>(
        &self,
        pids: &[u32],
        keep: Option<&'k InodeSet>,
        cores: usize,
    ) -> Result<(Found<'k>, usize), Unavailable> {
        let threads = cores.clamp(1, walk::MAX_THREADS);
        let shares = walk::share(
            pids,
            threads,
            || (Found::new(keep), 0),
            |(found, records), pid| {
                *records += self.for_each_record_of(pid, |r| found.add(r))?;
                Ok(())
            },
        )?;
        let mut all = Found::new(keep);
        // One allocation for every thread's pairs (the large scale has 100k).
        all.pairs
            .reserve_exact(shares.iter().map(|(f, _)| f.pairs.len()).sum());
        let mut records = 0;
        for (found, n) in shares {
            all.merge(found);
            records += n;
        }
        Ok((all, records))
    }

    /// The owners of the wanted sockets (of every socket for `Wanted::All`).
    pub fn scan(&mut self, wanted: Wanted<'_>) -> Result<Scan, Unavailable> {
        self.scan_walking(wanted, Walk::Auto)
    }

    /// `scan`, walking the processes as `walk` says. Both walks find the same owners.
    pub fn scan_walking(&mut self, wanted: Wanted<'_>, walk: Walk) -> Result<Scan, Unavailable> {
        let keep = match wanted {
            Wanted::All => None,
            Wanted::Some { inodes } | Wanted::Family { inodes, .. } => Some(inodes),
        };
        if keep.is_some_and(InodeSet::is_empty) {
            return Ok(Scan::default());
        }
        *self.reread.get_mut() = 0;
        let shortcut_pays = || host_open_files().is_none_or(|n| n >= SHORTCUT_PAYS_FROM_OPEN_FILES);
        if let (Walk::Auto, Some(inodes)) = (walk, keep.filter(|_| shortcut_pays())) {
            // Where the shortcut does not apply or fails, the whole scan gives the same.
            if let Ok(Some(scan)) = self.scan_listeners(inodes) {
                return Ok(scan);
            }
        }
        let cores = match (walk, keep) {
            // Every socket's owners are asked for beside the tables' dump (the pipeline's
            // `scan_during_dump`, the only such caller), which keeps two threads busy on a
            // big host: the kernel filling replies and the parser. Threads of this scan
            // beyond the cores left only take time from it: on 2 cores, -antp at the large
            // scale took 234 ms with one walk and 259 by process (alternating runs, medians
            // of 40), where after the dump the split wins by far (-lntp: 50 against 85).
            (Walk::Auto, None) => crate::platform::linux::cores().saturating_sub(2),
            _ => crate::platform::linux::cores(),
        };
        let pids = match walk {
            Walk::Auto if self.per_process => {
                let per_process = match self.program {
                    Program::ByTask | Program::ByTaskChunked => {
                        walk::SPLIT_FROM_FILES_PER_PROCESS_BY_TASK
                    }
                    Program::ByFile => walk::SPLIT_FROM_FILES_PER_PROCESS,
                };
                walk::split(cores, per_process)
            }
            Walk::Auto | Walk::Whole => None,
            Walk::ByProcess if !self.per_process => return Err(no_per_process()),
            Walk::ByProcess => Some(walk::processes().ok_or_else(|| {
                Unavailable::Read(io::Error::other(
                    "/proc does not number processes as this process's pid namespace does",
                ))
            })?),
        };
        let (found, records) = match pids {
            Some(pids) => self.scan_by_process(&pids, keep, cores)?,
            None => {
                let mut found = Found::new(keep);
                let records = self.for_each_record(|r| found.add(r))?;
                (found, records)
            }
        };
        let mut scan = found.finish(records);
        scan.reread = *self.reread.get_mut();
        Ok(scan)
    }
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

/// Open files on the host (all namespaces) from which a BPF scan, load included, is
/// expected to beat the /proc scan. Measured with bench/owners.rs on 2 idle cores at the
/// small scale (2.3k open files): loading costs 1.8 ms (the BTF pass 1.2 of it), then the
/// per-task program ~0.12 us per open file; the /proc scan ~1 us per open file on 2
/// threads (2.3 ms). Break-even is about 2.1k files; `-antp` there took 6.7 ms by BPF and
/// 7.2 by /proc (hyperfine medians of 60 runs).
pub const PAYS_FROM_OPEN_FILES: u64 = 2_000;

/// The same when the layout was kept by an earlier run (layout_cache.rs), so that loading is
/// the verifier's part alone: `-antp` by BPF and by /proc took 3.5 and 3.3 ms with 304 open
/// files, 5.1 and 7.5 with 2,334 (hyperfine means of 300 runs): even at ~460.
pub const PAYS_FROM_OPEN_FILES_KEPT: u64 = 500;

fn no_per_process() -> Unavailable {
    Unavailable::Read(io::Error::other(
        "this kernel cannot limit a task iterator to one process (Linux 6.1+)",
    ))
}

/// The open files from which BPF is expected to be the faster method here.
pub fn pays_from() -> u64 {
    if kept_layout().is_some() {
        PAYS_FROM_OPEN_FILES_KEPT
    } else {
        PAYS_FROM_OPEN_FILES
    }
}

/// Whether the BPF scan is expected to be the faster method here: the kernel's count of
/// allocated files (`/proc/sys/fs/file-nr`, one small read) is past `pays_from()`.
/// Unknown counts as yes. Both methods give the same owners; this is only about speed.
pub fn expected_faster() -> bool {
    host_open_files().is_none_or(|n| n >= pays_from())
}

/// Open files on the host from which the one-port shortcut (`scan_listeners`) is expected to
/// beat a whole scan: it loads two programs more (~1 ms each in the verifier), and a whole
/// scan costs ~0.12 us per open file. At 2.3k open files `-lntp sport = :P` took 5.4 ms by
/// the shortcut and 4.0 ms for all of `-lntp`; at 100k, 5.9 against 10.7 (bench/run.py).
pub const SHORTCUT_PAYS_FROM_OPEN_FILES: u64 = 20_000;

/// The kernel's count of allocated files (`/proc/sys/fs/file-nr`, one small read).
fn host_open_files() -> Option<u64> {
    open_files(&std::fs::read_to_string("/proc/sys/fs/file-nr").ok()?)
}

/// The first field of `file-nr` ("allocated  free  max").
fn open_files(file_nr: &str) -> Option<u64> {
    file_nr.split_whitespace().next()?.parse().ok()
}

/// The programs' layout in the running kernel's BTF, or why there is none. Privilege is
/// asked first, so that an unprivileged run costs one small read, not a read of the BTF.
/// A layout is found once per process (a watch loads several programs) and kept on disk
/// between runs (layout_cache.rs), where finding it is a fifth of a small host's `-antp`.
fn kernel_layout() -> Result<btf::Layout, Unavailable> {
    if !privileged() {
        return Err(Unavailable::NotPermitted);
    }
    if let Some(kept) = kept_layout() {
        return Ok(kept.clone());
    }
    static FOUND: OnceLock<btf::Layout> = OnceLock::new();
    if let Some(found) = FOUND.get() {
        return Ok(found.clone());
    }
    let blob =
        btf::KernelBtf::open(VMLINUX).map_err(|e| Unavailable::NoBtf(format!("{VMLINUX}: {e}")))?;
    let layout = btf::layout(blob.bytes()).map_err(|e| match e {
        btf::BtfError::NoIterator => Unavailable::KernelTooOld,
        e => Unavailable::Load(e.to_string()),
    })?;
    // No key without the BTF file: a kernel without BTF has no layout, kept or not.
    if let Some((dir, key)) = cache_place() {
        layout_cache::store(dir, key, &layout);
    }
    Ok(FOUND.get_or_init(|| layout).clone())
}

/// The layout an earlier run kept for this kernel, read once per process; `None` when
/// there is none (or it may not be used: not privileged, `PORTWATCH_CACHE_DIR` empty).
fn kept_layout() -> Option<&'static btf::Layout> {
    static KEPT: OnceLock<Option<btf::Layout>> = OnceLock::new();
    KEPT.get_or_init(|| {
        if !privileged() {
            return None;
        }
        let (dir, key) = cache_place()?;
        layout_cache::load(dir, key)
    })
    .as_ref()
}

/// Where the layout is kept and this kernel's key for it, found once per process (a cold run
/// looks for a kept layout, then stores the one it found); `None`: not kept
/// (`PORTWATCH_CACHE_DIR` empty, or no key: no build id or no BTF file).
fn cache_place() -> Option<&'static (std::path::PathBuf, String)> {
    static PLACE: OnceLock<Option<(std::path::PathBuf, String)>> = OnceLock::new();
    PLACE
        .get_or_init(|| layout_cache::dir().zip(layout_cache::key(VMLINUX)))
        .as_ref()
}

/// Whether this process has the capabilities a tracing BPF program needs: CAP_BPF (39) and
/// CAP_PERFMON (38), or CAP_SYS_ADMIN (21), in its effective set. Read once: capabilities
/// are not dropped while portwatch runs.
fn privileged() -> bool {
    static PRIVILEGED: OnceLock<bool> = OnceLock::new();
    *PRIVILEGED.get_or_init(read_privileged)
}

fn read_privileged() -> bool {
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

/// `obj` with the kernel's field offsets, loaded as an iterator attached to BTF function `func`.
fn load_program(
    mut obj: loader::Object,
    offsets: &[u32],
    func: u32,
) -> Result<OwnedFd, loader::LoadError> {
    loader::patch_offsets(&mut obj.insns, offsets)?;
    let license = CStr::from_bytes_until_nul(&obj.license)
        .map_err(|_| loader::LoadError::Object("the object's license is not a C string".into()))?;
    loader::load(&obj.insns, license, loader::ITERATOR, func, obj.callback)
}

fn is_eperm(e: &loader::LoadError) -> bool {
    matches!(e, loader::LoadError::Syscall { error, .. } if error.raw_os_error() == Some(libc::EPERM))
}

fn from_load_error(e: loader::LoadError) -> Unavailable {
    match e {
        loader::LoadError::Object(why) => Unavailable::Load(why),
        loader::LoadError::Syscall { what, error, log } => {
            if locked_down() {
                return Unavailable::Lockdown;
            }
            // EPERM: no privilege. The verifier's refusals are EACCES or EINVAL.
            if error.raw_os_error() == Some(libc::EPERM) {
                return Unavailable::NotPermitted;
            }
            if what != "BPF_PROG_LOAD" {
                return Unavailable::Read(io::Error::new(error.kind(), format!("{what}: {error}")));
            }
            Unavailable::Load(format!("{what}: {error}; verifier: {log}"))
        }
    }
}

#[cfg(test)]
mod tests;
