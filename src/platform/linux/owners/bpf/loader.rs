//! Loading the owner program: its instructions out of the embedded ELF object (with its
//! bpf_loop callback after it), the kernel's field offsets and the callback's address patched
//! in, and four bpf(2) commands (BTF_LOAD for a callback's types, PROG_LOAD, LINK_CREATE,
//! ITER_CREATE); for the TCP state feed (feed.rs), also MAP_CREATE, the maps' fds and a
//! load-time constant patched in, RAW_TRACEPOINT_OPEN and MAP_LOOKUP_ELEM.
//!
//! Why not a BPF library: the programs need little one offers (two maps made here, no
//! relocations, helpers called by number), and aya 0.14, the newest that builds on the project's
//! rust-version, parses the kernel's whole BTF in `EbpfLoader::new` whether it is used or not:
//! 10-15 ms and 18 MiB of peak memory per run, more than the rest of a one-port query.

use super::prog_btf;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

// include/uapi/linux/bpf.h
const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_ITER_CREATE: libc::c_long = 33;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_TRACE_RAW_TP: u32 = 23;
const BPF_TRACE_ITER: u32 = 28;
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;

/// The high half of a marked offset immediate (`OFF_MARK` in owners.bpf.c, "OWNR"); the low
/// half is the field's index.
const OFFSET_MARK: u32 = 0x4f57_4e52;

/// The high half of a marked function address (`FUNC_MARK` in owners.bpf.c, "OWNF").
const FUNC_MARK: u32 = 0x4f57_4e46;

/// The high half of a marked wanted-file immediate (`WANTED_MARK` in owners.bpf.c, "OWNW");
/// the low half is its index, below `WANTED_MAX`.
const WANTED_MARK: u32 = 0x4f57_4e57;

/// The high half of a marked map reference (`MAP_MARK` in owners.bpf.c, "OWNM"); the low
/// half is the map's index in what the loader made.
const MAP_MARK: u32 = 0x4f57_4e4d;

/// The high half of a marked load-time constant (`CONST_MARK` in owners.bpf.c, "OWNC"); the
/// low half is its index.
const CONST_MARK: u32 = 0x4f57_4e43;

/// How many file addresses the wanted-files program compares each fd slot with.
pub const WANTED_MAX: usize = 16;

/// `ld_imm64` (BPF_LD | BPF_IMM | BPF_DW): a 64-bit immediate over two instructions.
const LD_IMM64: u8 = 0x18;

/// The source register of an `ld_imm64` that holds a function's address (bpf_loop callbacks).
const BPF_PSEUDO_FUNC: u8 = 4;

/// The source register of an `ld_imm64` whose immediate is a map's fd (the verifier turns it
/// into the map's address).
const BPF_PSEUDO_MAP_FD: u8 = 1;

/// What a program is and where it attaches: what PROG_LOAD needs besides its instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    expected_attach_type: u32,
    /// As `bpftool prog` shows it (15 bytes at most, NUL-padded).
    name: [u8; 16],
}

/// A BPF iterator (the owner programs and the glimpse).
pub const ITERATOR: Kind = Kind {
    expected_attach_type: BPF_TRACE_ITER,
    name: *b"portwatch_owner\0",
};

/// A BTF-typed raw tracepoint program (tp_btf: Linux 5.5+), the state feed.
pub const TRACEPOINT: Kind = Kind {
    expected_attach_type: BPF_TRACE_RAW_TP,
    name: *b"portwatch_feed\0\0",
};

/// The program as it leaves the object: instructions and license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// 8-byte instructions, in the object's (native) byte order.
    pub insns: Vec<u8>,
    pub license: Vec<u8>,
    /// Where the program's bpf_loop callback starts (an instruction index), if it has one.
    pub callback: Option<usize>,
}

/// Why loading failed; the caller maps it to a reason for the user.
#[derive(Debug)]
pub enum LoadError {
    /// The embedded object is not what this loader expects (a build problem, not the host's).
    Object(String),
    /// A bpf(2) command failed; for PROG_LOAD, with the end of the verifier's log.
    Syscall {
        what: &'static str,
        error: io::Error,
        log: String,
    },
}

/// The ELF sections named `program` and `license` of a 64-bit little-endian object. A
/// relocation against the program section is refused: this loader applies none.
pub fn object(elf: &[u8], program: &str) -> Result<Object, LoadError> {
    let bad = |what: &str| LoadError::Object(format!("BPF object: {what}"));
    if elf.get(..6) != Some(b"\x7fELF\x02\x01") {
        return Err(bad("not a 64-bit little-endian ELF file"));
    }
    let u16_at = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_le_bytes(
            elf.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?))
    };
    let u64_at = |at: usize| -> Option<usize> {
        usize::try_from(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?)).ok()
    };
    let (shoff, shentsize, shnum, shstrndx) =
        (|| Some((u64_at(0x28)?, u16_at(0x3a)?, u16_at(0x3c)?, u16_at(0x3e)?)))()
            .ok_or_else(|| bad("short header"))?;
    if shentsize < 64 {
        return Err(bad("section headers too small"));
    }
    // (name offset, type, info, data) of each section.
    let section = |i: usize| -> Option<(u32, u32, u32, &[u8])> {
        let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let (off, size) = (u64_at(h + 0x18)?, u64_at(h + 0x20)?);
        let data = elf.get(off..off.checked_add(size)?)?;
        Some((u32_at(h)?, u32_at(h + 4)?, u32_at(h + 0x2c)?, data))
    };
    let names = section(shstrndx).ok_or_else(|| bad("no section names"))?.3;
    let name_of = |off: u32| -> &[u8] {
        let rest = names.get(off as usize..).unwrap_or_default();
        rest.split(|&b| b == 0).next().unwrap_or_default()
    };
    let (mut insns, mut license, mut prog_index) = (None, None, None);
    for i in 0..shnum {
        let (name, _, _, data) = section(i).ok_or_else(|| bad("section out of bounds"))?;
        if name_of(name) == program.as_bytes() {
            insns = Some(data);
            prog_index = Some(i);
        } else if name_of(name) == b"license" {
            license = Some(data);
        }
    }
    const SHT_REL: u32 = 9;
    for i in 0..shnum {
        if let Some((_, SHT_REL, info, _)) = section(i) {
            if Some(info as usize) == prog_index {
                return Err(bad("relocations against the program"));
            }
        }
    }
    let insns = insns.ok_or_else(|| bad(&format!("no section {program}")))?;
    if insns.is_empty() || insns.len() % 8 != 0 {
        return Err(bad("program size is not whole instructions"));
    }
    let license = license.ok_or_else(|| bad("no license section"))?;
    Ok(Object {
        insns: insns.to_vec(),
        license: license.to_vec(),
        callback: None,
    })
}

/// Replace every marked offset immediate with `offsets[index]`. Errors on an index past the
/// table; returns how many were patched.
pub fn patch_offsets(insns: &mut [u8], offsets: &[u32]) -> Result<usize, LoadError> {
    each_ld_imm64(insns, |_, insn| {
        let (lo, hi) = (u32_of(&insn[4..8]), u32_of(&insn[12..16]));
        if hi != OFFSET_MARK {
            return Ok(false);
        }
        let value = offsets.get(lo as usize).ok_or_else(|| {
            LoadError::Object(format!("BPF object: offset index {lo} past the table"))
        })?;
        insn[4..8].copy_from_slice(&value.to_le_bytes());
        insn[12..16].copy_from_slice(&0u32.to_le_bytes());
        Ok(true)
    })
}

/// Replace every marked wanted-file immediate with the address `files[index]`, or 0 (which
/// no fd slot that is compared holds) past the end of `files`. Returns how many were patched.
pub fn patch_wanted(insns: &mut [u8], files: &[u64]) -> Result<usize, LoadError> {
    if files.len() > WANTED_MAX {
        return Err(LoadError::Object(format!(
            "BPF object: {} wanted files, at most {WANTED_MAX}",
            files.len()
        )));
    }
    patch_marked(insns, WANTED_MARK, |i| {
        Ok((i < WANTED_MAX).then(|| files.get(i).copied().unwrap_or(0)))
    })
}

/// Set the 64-bit immediate of every `mark | index` to `value(index)`; `None` leaves it.
/// Returns how many were patched.
fn patch_marked(
    insns: &mut [u8],
    mark: u32,
    value: impl Fn(usize) -> Result<Option<u64>, LoadError>,
) -> Result<usize, LoadError> {
    each_ld_imm64(insns, |_, insn| {
        let (lo, hi) = (u32_of(&insn[4..8]), u32_of(&insn[12..16]));
        if hi != mark {
            return Ok(false);
        }
        let Some(v) = value(lo as usize)? else {
            return Ok(false);
        };
        insn[4..8].copy_from_slice(&(v as u32).to_le_bytes());
        insn[12..16].copy_from_slice(&((v >> 32) as u32).to_le_bytes());
        Ok(true)
    })
}

/// Turn every marked map reference (`MAP_MARK | index`) into a reference to the map whose fd
/// is `maps[index]` (BPF_PSEUDO_MAP_FD). Errors on an index past `maps`; returns how many
/// were patched.
pub fn patch_maps(insns: &mut [u8], maps: &[i32]) -> Result<usize, LoadError> {
    each_ld_imm64(insns, |_, insn| {
        let (lo, hi) = (u32_of(&insn[4..8]), u32_of(&insn[12..16]));
        if hi != MAP_MARK {
            return Ok(false);
        }
        let fd = maps.get(lo as usize).ok_or_else(|| {
            LoadError::Object(format!("BPF object: map index {lo} past the maps"))
        })?;
        insn[1] = (insn[1] & 0x0f) | (BPF_PSEUDO_MAP_FD << 4);
        insn[4..8].copy_from_slice(&fd.to_le_bytes());
        insn[12..16].copy_from_slice(&0u32.to_le_bytes());
        Ok(true)
    })
}

/// Replace every marked constant (`CONST_MARK | index`) with `values[index]`. Errors on an
/// index past `values`; returns how many were patched.
pub fn patch_constants(insns: &mut [u8], values: &[u64]) -> Result<usize, LoadError> {
    patch_marked(insns, CONST_MARK, |i| {
        values.get(i).copied().map(Some).ok_or_else(|| {
            LoadError::Object(format!("BPF object: constant index {i} past the values"))
        })
    })
}

/// Point every marked function address (`FUNC_MARK`) at the function that starts at
/// instruction `target`: a BPF_PSEUDO_FUNC immediate, relative to the instruction after it.
/// Returns how many were patched.
pub fn patch_functions(insns: &mut [u8], target: usize) -> Result<usize, LoadError> {
    each_ld_imm64(insns, |index, insn| {
        if u32_of(&insn[12..16]) != FUNC_MARK || u32_of(&insn[4..8]) != 0 {
            return Ok(false);
        }
        let delta = i32::try_from(target as i64 - index as i64 - 1)
            .map_err(|_| LoadError::Object("BPF object: function out of reach".into()))?;
        insn[1] = (insn[1] & 0x0f) | (BPF_PSEUDO_FUNC << 4);
        insn[4..8].copy_from_slice(&delta.to_le_bytes());
        insn[12..16].copy_from_slice(&0u32.to_le_bytes());
        Ok(true)
    })
}

/// `f` of each `ld_imm64` (its instruction index and 16 bytes), which says whether it changed
/// it; returns how many did.
fn each_ld_imm64(
    insns: &mut [u8],
    mut f: impl FnMut(usize, &mut [u8]) -> Result<bool, LoadError>,
) -> Result<usize, LoadError> {
    let mut changed = 0;
    let mut i = 0;
    while let Some(insn) = insns.get_mut(i..i + 16) {
        if insn[0] == LD_IMM64 {
            changed += usize::from(f(i / 8, insn)?);
            i += 16;
        } else {
            i += 8;
        }
    }
    Ok(changed)
}

fn u32_of(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
}

/// The program in section `program` followed by the function in section `callback`, with the
/// marked function addresses pointing at it (none marked is an error: a build problem).
pub fn object_with_callback(
    elf: &[u8],
    program: &str,
    callback: &str,
) -> Result<Object, LoadError> {
    let mut main = object(elf, program)?;
    let function = object(elf, callback)?;
    let start = main.insns.len() / 8;
    main.insns.extend_from_slice(&function.insns);
    if patch_functions(&mut main.insns, start)? == 0 {
        return Err(LoadError::Object(format!(
            "BPF object: {program} does not take the address of {callback}"
        )));
    }
    main.callback = Some(start);
    Ok(main)
}

/// `union bpf_attr` for BPF_PROG_LOAD, up to `attach_btf_id` (the kernel takes a prefix).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
}

/// `union bpf_attr` for BPF_MAP_CREATE, up to `map_name`.
#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// `union bpf_attr` for BPF_MAP_LOOKUP_ELEM.
#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `union bpf_attr` for BPF_RAW_TRACEPOINT_OPEN.
#[repr(C)]
#[derive(Default)]
struct RawTracepointAttr {
    /// NULL for a tp_btf program: the kernel takes the tracepoint from its attach_btf_id.
    name: u64,
    prog_fd: u32,
    _pad: u32,
}

/// `union bpf_attr` for BPF_LINK_CREATE of an iterator.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    iter_info: u64,
    iter_info_len: u32,
    _pad: u32,
}

/// `union bpf_attr` for BPF_ITER_CREATE.
#[repr(C)]
#[derive(Default)]
struct IterCreateAttr {
    link_fd: u32,
    flags: u32,
}

/// bpf(2) with `attr`, for commands that return a new fd.
///
/// # Safety
/// `attr` must be the prefix of `union bpf_attr` that `cmd` reads, and every pointer in it
/// must be valid for what the kernel does with it during the call.
pub(super) unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
    // SAFETY: as this function's.
    let r = unsafe { bpf_call(cmd, attr) }?;
    let fd = i32::try_from(r).map_err(|_| io::Error::other("bpf(2) fd out of range"))?;
    // SAFETY: these commands return a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// bpf(2) with `attr`: its non-negative result.
///
/// # Safety
/// As `bpf`'s.
unsafe fn bpf_call<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    let size = std::mem::size_of::<T>() as libc::c_uint;
    loop {
        // SAFETY: the caller vouches for `attr`; `size` is its exact size, so the kernel reads
        // no further (and zero-fills the rest of its own copy).
        let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, size) };
        if r >= 0 {
            return Ok(r);
        }
        let e = io::Error::last_os_error();
        // EAGAIN: the verifier was interrupted (libbpf retries it too).
        if !matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
            return Err(e);
        }
    }
}

/// A new map (`BPF_MAP_TYPE_*`) named `name` (15 bytes at most, as `bpftool map` shows it).
pub fn create_map(
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    name: &str,
) -> Result<OwnedFd, LoadError> {
    let mut attr = MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        ..MapCreateAttr::default()
    };
    let n = name.len().min(attr.map_name.len() - 1);
    attr.map_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: a MAP_CREATE attr without pointers.
    unsafe { bpf(BPF_MAP_CREATE, &mut attr) }.map_err(|error| LoadError::Syscall {
        what: "BPF_MAP_CREATE",
        error,
        log: String::new(),
    })
}

/// The u64 value of element `key` of an array map of u64s.
pub fn lookup_u64(map: &OwnedFd, key: u32) -> io::Result<u64> {
    let mut value = 0u64;
    let mut attr = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        key: &key as *const u32 as u64,
        value: &mut value as *mut u64 as u64,
        ..MapElemAttr::default()
    };
    // SAFETY: a MAP_LOOKUP_ELEM attr whose key and value point at a u32 and a u64 that
    // outlive the call: the sizes of the map's key and value (the caller's map).
    unsafe { bpf_call(BPF_MAP_LOOKUP_ELEM, &mut attr) }?;
    Ok(value)
}

/// Attach the tp_btf program `prog` to its tracepoint: the link, which detaches it when
/// closed.
pub fn open_raw_tracepoint(prog: &OwnedFd) -> Result<OwnedFd, LoadError> {
    let mut attr = RawTracepointAttr {
        prog_fd: prog.as_raw_fd() as u32,
        ..RawTracepointAttr::default()
    };
    // SAFETY: a RAW_TRACEPOINT_OPEN attr with no pointer (name NULL).
    unsafe { bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr) }.map_err(|error| LoadError::Syscall {
        what: "BPF_RAW_TRACEPOINT_OPEN",
        error,
        log: String::new(),
    })
}

/// Load `insns` as a tracing program of `kind` attached to BTF type `attach_btf_id`, with a
/// callback function from instruction `callback` on. On a refusal other than EPERM, loads
/// again with the verifier's log and keeps its last lines.
pub fn load(
    insns: &[u8],
    license: &CStr,
    kind: Kind,
    attach_btf_id: u32,
    callback: Option<usize>,
) -> Result<OwnedFd, LoadError> {
    let fail = |what, error| LoadError::Syscall {
        what,
        error,
        log: String::new(),
    };
    // A callback needs the functions' BTF (prog_btf.rs).
    let funcs = match callback {
        Some(at) => {
            let blob = prog_btf::blob("portwatch_owner", "each_fd");
            let btf = prog_btf::load(&blob).map_err(|e| fail("BPF_BTF_LOAD", e))?;
            Some((btf, prog_btf::func_info(at)))
        }
        None => None,
    };
    let attempt = |log: &mut [u8]| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_TRACING,
            insn_cnt: (insns.len() / 8) as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            expected_attach_type: kind.expected_attach_type,
            attach_btf_id,
            prog_name: kind.name,
            ..ProgLoadAttr::default()
        };
        if let Some((btf, info)) = &funcs {
            attr.prog_btf_fd = btf.as_raw_fd() as u32;
            attr.func_info_rec_size = std::mem::size_of::<prog_btf::FuncInfo>() as u32;
            attr.func_info = info.as_ptr() as u64;
            attr.func_info_cnt = info.len() as u32;
        }
        if !log.is_empty() {
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
        }
        // SAFETY: a PROG_LOAD attr whose pointers (instructions, license, func_info, log)
        // outlive the call, with the lengths given; the kernel writes at most `log_size` log
        // bytes.
        unsafe { bpf(BPF_PROG_LOAD, &mut attr) }
    };
    let error = match attempt(&mut []) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut log = Vec::new();
    if error.raw_os_error() != Some(libc::EPERM) {
        let mut buf = vec![0u8; 256 * 1024];
        // The log of a refused program; its verdict is in the last lines.
        if attempt(&mut buf).is_err() {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            log = buf.get(..end).unwrap_or_default().to_vec();
        }
    }
    let text = String::from_utf8_lossy(&log);
    let mut last: Vec<&str> = text
        .lines()
        .rev()
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    last.reverse();
    Err(LoadError::Syscall {
        what: "BPF_PROG_LOAD",
        error,
        log: last.join(" | "),
    })
}

/// `union bpf_iter_link_info`'s task member (Linux 6.1+): which task(s) an iterator visits.
#[repr(C)]
#[derive(Default)]
struct TaskIterInfo {
    tid: u32,
    /// The process whose threads' files to visit, in the reader's pid namespace.
    pid: u32,
    pid_fd: u32,
    /// The union is 16 bytes (its cgroup member).
    _pad: u32,
}

/// A new iterator over `prog`: a link, then a file whose reads run the program over the tasks
/// of process `pid` (its threads with fd tables of their own included), or of every process
/// for `None`.
pub fn iterate_process(prog: &OwnedFd, pid: Option<u32>) -> Result<std::fs::File, LoadError> {
    let fail = |what, error| LoadError::Syscall {
        what,
        error,
        log: String::new(),
    };
    let info = TaskIterInfo {
        pid: pid.unwrap_or(0),
        ..TaskIterInfo::default()
    };
    let mut link_attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_TRACE_ITER,
        ..LinkCreateAttr::default()
    };
    if pid.is_some() {
        link_attr.iter_info = &info as *const TaskIterInfo as u64;
        link_attr.iter_info_len = std::mem::size_of::<TaskIterInfo>() as u32;
    }
    // SAFETY: a LINK_CREATE attr whose one pointer, to `info`, outlives the call, with its
    // exact length.
    let link =
        unsafe { bpf(BPF_LINK_CREATE, &mut link_attr) }.map_err(|e| fail("BPF_LINK_CREATE", e))?;
    let mut iter_attr = IterCreateAttr {
        link_fd: link.as_raw_fd() as u32,
        flags: 0,
    };
    // SAFETY: an ITER_CREATE attr with no pointers.
    let iter =
        unsafe { bpf(BPF_ITER_CREATE, &mut iter_attr) }.map_err(|e| fail("BPF_ITER_CREATE", e))?;
    // The iterator keeps the link (and the program) alive; ours can go.
    drop(link);
    Ok(std::fs::File::from(iter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn attr_layouts_match_the_kernel_headers() {
        assert_eq!(offset_of!(ProgLoadAttr, insns), 8);
        assert_eq!(offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(offset_of!(ProgLoadAttr, func_info), 80);
        assert_eq!(offset_of!(ProgLoadAttr, line_info), 96);
        assert_eq!(offset_of!(ProgLoadAttr, attach_btf_id), 108);
        assert_eq!(size_of::<ProgLoadAttr>(), 112);
        assert_eq!(offset_of!(LinkCreateAttr, attach_type), 8);
        assert_eq!(offset_of!(LinkCreateAttr, iter_info), 16);
        assert_eq!(size_of::<LinkCreateAttr>(), 32);
        assert_eq!(size_of::<IterCreateAttr>(), 8);
        assert_eq!(offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(offset_of!(MapElemAttr, value), 16);
        assert_eq!(size_of::<MapElemAttr>(), 32);
        assert_eq!(size_of::<RawTracepointAttr>(), 16);
    }

    /// An ld_imm64 of `value`, then `exit`.
    fn ld_imm64(value: u64) -> Vec<u8> {
        let mut v = vec![LD_IMM64, 0x01, 0, 0];
        v.extend_from_slice(&(value as u32).to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&((value >> 32) as u32).to_le_bytes());
        v
    }

    #[test]
    fn marked_immediates_get_offsets_and_others_stay() {
        let mark = u64::from(OFFSET_MARK) << 32;
        let mut insns = [ld_imm64(mark | 2), ld_imm64(7), ld_imm64(mark)].concat();
        let plain = ld_imm64(7);
        assert_eq!(patch_offsets(&mut insns, &[100, 200, 300]).ok(), Some(2));
        assert_eq!(insns[..16], ld_imm64(300)[..]);
        assert_eq!(insns[16..32], plain[..]);
        assert_eq!(insns[32..], ld_imm64(100)[..]);
        let mut past = ld_imm64(mark | 9);
        assert!(patch_offsets(&mut past, &[1]).is_err());
    }

    #[test]
    fn the_embedded_object_has_every_program_and_only_marked_immediates() {
        let by_file =
            object(super::super::OBJECT, super::super::PROGRAM).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(by_file.license, b"Dual MIT/GPL\0");
        assert_eq!(by_file.callback, None);
        let by_task = object_with_callback(
            super::super::OBJECT,
            super::super::BY_TASK,
            super::super::BY_TASK_CALLBACK,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let start = by_task.callback.expect("the callback's start");
        assert!(start > 0 && start < by_task.insns.len() / 8);
        // Every field is read by some program: patching with a table that marks
        // each field by its index shows which.
        let n = super::super::btf::OFFSETS;
        let table: Vec<u32> = (0..n as u32).map(|i| 1000 + i).collect();
        let mut seen = vec![false; n];
        let of_files = object_with_callback(
            super::super::OBJECT,
            super::super::OF_FILES,
            super::super::OF_FILES_CALLBACK,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let listeners = object(super::super::OBJECT, super::super::TCP_LISTENERS)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let glimpse = object(super::super::OBJECT, super::super::glimpse::SECTION)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let feed = object(super::super::OBJECT, super::super::feed::SECTION)
            .unwrap_or_else(|e| panic!("{e:?}"));
        for obj in [&by_file, &by_task, &of_files, &listeners, &glimpse, &feed] {
            let mut insns = obj.insns.clone();
            patch_offsets(&mut insns, &table).expect("patch");
            each_ld_imm64(&mut insns, |_, insn| {
                if let Some(i) = u32_of(&insn[4..8]).checked_sub(1000) {
                    if let Some(s) = seen.get_mut(i as usize) {
                        *s = true;
                    }
                }
                Ok(false)
            })
            .expect("walk");
            // Patched once, nothing is left to patch.
            assert_eq!(patch_offsets(&mut insns, &[]).ok(), Some(0));
        }
        assert!(seen.iter().all(|&s| s), "fields no program reads: {seen:?}");
        assert!(matches!(object(b"\x7fELF", "x"), Err(LoadError::Object(_))));
        assert!(matches!(
            object(super::super::OBJECT, "no/such"),
            Err(LoadError::Object(_))
        ));
        // The per-file program takes no function's address.
        assert!(matches!(
            object_with_callback(
                super::super::OBJECT,
                super::super::PROGRAM,
                super::super::BY_TASK_CALLBACK
            ),
            Err(LoadError::Object(_))
        ));
    }

    #[test]
    fn wanted_files_are_patched_in_and_the_rest_are_none() {
        let mark = u64::from(WANTED_MARK) << 32;
        let mut insns = [
            ld_imm64(mark | 1),
            ld_imm64(mark),
            ld_imm64(mark | 7),
            ld_imm64(9),
        ]
        .concat();
        let files = [0xffff_8880_0000_1000, 0xffff_8880_0000_2000];
        assert_eq!(patch_wanted(&mut insns, &files).ok(), Some(3));
        assert_eq!(insns[..16], ld_imm64(files[1])[..]);
        assert_eq!(insns[16..32], ld_imm64(files[0])[..]);
        assert_eq!(insns[32..48], ld_imm64(0)[..], "past the files: none");
        assert_eq!(insns[48..], ld_imm64(9)[..]);
        assert!(patch_wanted(&mut insns, &[1; WANTED_MAX + 1]).is_err());
        // The wanted-files program compares with all WANTED_MAX, each some times.
        let mut obj = object_with_callback(
            super::super::OBJECT,
            super::super::OF_FILES,
            super::super::OF_FILES_CALLBACK,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let mut seen = [false; WANTED_MAX];
        each_ld_imm64(&mut obj.insns, |_, insn| {
            if u32_of(&insn[12..16]) == WANTED_MARK {
                if let Some(s) = seen.get_mut(u32_of(&insn[4..8]) as usize) {
                    *s = true;
                }
            }
            Ok(false)
        })
        .expect("walk");
        assert_eq!(seen, [true; WANTED_MAX]);
        assert!(patch_wanted(&mut obj.insns, &files).expect("patch") >= WANTED_MAX);
    }

    #[test]
    fn maps_and_constants_are_patched_in() {
        let (map, konst) = (u64::from(MAP_MARK) << 32, u64::from(CONST_MARK) << 32);
        let mut insns = [
            ld_imm64(map | 1),
            ld_imm64(konst),
            ld_imm64(map),
            ld_imm64(7),
        ]
        .concat();
        assert_eq!(patch_maps(&mut insns, &[30, 31]).ok(), Some(2));
        assert_eq!(insns[1] >> 4, BPF_PSEUDO_MAP_FD);
        assert_eq!((u32_of(&insns[4..8]), u32_of(&insns[12..16])), (31, 0));
        assert_eq!(insns[33] >> 4, BPF_PSEUDO_MAP_FD);
        assert_eq!(u32_of(&insns[36..40]), 30);
        assert_eq!(patch_constants(&mut insns, &[0x1_f000_0001]).ok(), Some(1));
        assert_eq!(insns[16..32], ld_imm64(0x1_f000_0001)[..]);
        assert_eq!(insns[48..], ld_imm64(7)[..], "an unmarked immediate stays");
        assert!(patch_maps(&mut ld_imm64(map | 2), &[1, 2]).is_err());
        assert!(patch_constants(&mut ld_imm64(konst | 1), &[1]).is_err());
        // The feed refers to both its maps and to the reader's namespace; nothing is left
        // marked once patched.
        let mut feed = object(super::super::OBJECT, super::super::feed::SECTION)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut seen = [false; 2];
        each_ld_imm64(&mut feed.insns, |_, insn| {
            if u32_of(&insn[12..16]) == MAP_MARK {
                if let Some(s) = seen.get_mut(u32_of(&insn[4..8]) as usize) {
                    *s = true;
                }
            }
            Ok(false)
        })
        .expect("walk");
        assert_eq!(seen, [true; 2]);
        assert_eq!(patch_maps(&mut feed.insns, &[5, 6]).ok(), Some(2));
        assert_eq!(patch_constants(&mut feed.insns, &[1]).ok(), Some(1));
        let offsets = [0; super::super::btf::OFFSETS];
        assert!(patch_offsets(&mut feed.insns, &offsets).expect("patch") > 0);
        each_ld_imm64(&mut feed.insns, |_, insn| {
            let hi = u32_of(&insn[12..16]);
            assert!(
                ![MAP_MARK, CONST_MARK, OFFSET_MARK].contains(&hi),
                "left marked"
            );
            Ok(false)
        })
        .expect("walk");
    }

    #[test]
    fn a_marked_function_address_points_at_the_callback() {
        let mark = u64::from(FUNC_MARK) << 32;
        let mut insns = [vec![0xb7, 0, 0, 0, 0, 0, 0, 0], ld_imm64(mark), ld_imm64(7)].concat();
        assert_eq!(patch_functions(&mut insns, 10).ok(), Some(1));
        // At instruction 1, relative to the next (2 of the ld_imm64 pair): 10 - 1 - 1.
        assert_eq!(insns[9] >> 4, BPF_PSEUDO_FUNC);
        assert_eq!(u32_of(&insns[12..16]), 8);
        assert_eq!(u32_of(&insns[20..24]), 0);
        assert_eq!(insns[24..], ld_imm64(7)[..], "an unmarked immediate stays");
    }
}
