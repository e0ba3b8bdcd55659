//! The loader's bpf(2) system calls, and so all of its unsafe code: each command with the
//! prefix of `union bpf_attr` it reads (the kernel zero-fills the rest of its copy).
//! MAP_CREATE and MAP_LOOKUP_ELEM for the state feed's maps, PROG_LOAD, RAW_TRACEPOINT_OPEN
//! to attach the feed, LINK_CREATE and ITER_CREATE for the iterators; prog_btf.rs's BTF_LOAD
//! goes through `bpf` too.

use super::super::prog_btf;
use super::LoadError;
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
pub(in super::super) unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
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
}
