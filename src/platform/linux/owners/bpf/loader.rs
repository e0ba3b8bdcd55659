//! Loading the owner program: its instructions out of the embedded ELF object, the kernel's
//! field offsets patched in, and three bpf(2) commands (PROG_LOAD, LINK_CREATE, ITER_CREATE).
//!
//! Why not a BPF library: the program needs nothing one offers (no maps, no relocations,
//! helpers called by number), and aya 0.14, the newest that builds on the project's
//! rust-version, parses the kernel's whole BTF in `EbpfLoader::new` whether it is used or not:
//! 10-15 ms and 18 MiB of peak memory per run, more than the rest of a one-port query.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

// include/uapi/linux/bpf.h
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_ITER_CREATE: libc::c_long = 33;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_TRACE_ITER: u32 = 28;

/// The high half of a marked offset immediate (`OFF_MARK` in owners.bpf.c, "OWNR"); the low
/// half is the field's index.
const OFFSET_MARK: u32 = 0x4f57_4e52;

/// `ld_imm64` (BPF_LD | BPF_IMM | BPF_DW): a 64-bit immediate over two instructions.
const LD_IMM64: u8 = 0x18;

/// The program as it leaves the object: instructions and license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// 8-byte instructions, in the object's (native) byte order.
    pub insns: Vec<u8>,
    pub license: Vec<u8>,
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
    })
}

/// Replace every marked offset immediate with `offsets[index]`. Errors on an index past the
/// table; returns how many were patched.
pub fn patch_offsets(insns: &mut [u8], offsets: &[u32]) -> Result<usize, LoadError> {
    let mut patched = 0;
    let mut i = 0;
    while i + 16 <= insns.len() {
        let imm = |at: usize| -> u32 {
            let b = insns.get(at..at + 4).unwrap_or(&[0; 4]);
            u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
        };
        let (lo, hi) = (imm(i + 4), imm(i + 12));
        if insns.get(i) == Some(&LD_IMM64) && hi == OFFSET_MARK {
            let value = offsets.get(lo as usize).ok_or_else(|| {
                LoadError::Object(format!("BPF object: offset index {lo} past the table"))
            })?;
            insns[i + 4..i + 8].copy_from_slice(&value.to_le_bytes());
            insns[i + 12..i + 16].copy_from_slice(&0u32.to_le_bytes());
            patched += 1;
            i += 16;
        } else if insns.get(i) == Some(&LD_IMM64) {
            i += 16;
        } else {
            i += 8;
        }
    }
    Ok(patched)
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
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
    let size = std::mem::size_of::<T>() as libc::c_uint;
    loop {
        // SAFETY: the caller vouches for `attr`; `size` is its exact size, so the kernel reads
        // no further (and zero-fills the rest of its own copy).
        let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, size) };
        if r >= 0 {
            let fd = i32::try_from(r).map_err(|_| io::Error::other("bpf(2) fd out of range"))?;
            // SAFETY: these commands return a new fd that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        // EAGAIN: the verifier was interrupted (libbpf retries it too).
        if !matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
            return Err(e);
        }
    }
}

/// Load `insns` as a task_file iterator program attached to BTF type `attach_btf_id`. On a
/// refusal other than EPERM, loads again with the verifier's log and keeps its last lines.
pub fn load(insns: &[u8], license: &CStr, attach_btf_id: u32) -> Result<OwnedFd, LoadError> {
    let attempt = |log: &mut [u8]| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_TRACING,
            insn_cnt: (insns.len() / 8) as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            expected_attach_type: BPF_TRACE_ITER,
            attach_btf_id,
            prog_name: *b"portwatch_owner\0",
            ..ProgLoadAttr::default()
        };
        if !log.is_empty() {
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
        }
        // SAFETY: a PROG_LOAD attr whose pointers (instructions, license, log) outlive the
        // call, with the lengths given; the kernel writes at most `log_size` log bytes.
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

/// A new iterator over `prog`: a link, then a file whose reads run the program over every
/// task's files.
pub fn iterate(prog: &OwnedFd) -> Result<std::fs::File, LoadError> {
    iterate_process(prog, None)
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

/// `iterate`, over the files of process `pid` only (its threads that have fd tables of their
/// own included), or of every process for `None`.
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
    fn the_embedded_object_has_a_program_and_only_marked_offsets() {
        let obj =
            object(super::super::OBJECT, super::super::PROGRAM).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(obj.license, b"Dual MIT/GPL\0");
        let mut insns = obj.insns.clone();
        let n = super::super::btf::OFFSETS;
        let patched = patch_offsets(&mut insns, &vec![0; n]).expect("patch");
        assert!(patched >= n, "{patched} marked immediates for {n} fields");
        // Patched once, nothing is left to patch.
        assert_eq!(patch_offsets(&mut insns, &[]).ok(), Some(0));
        assert!(matches!(object(b"\x7fELF", "x"), Err(LoadError::Object(_))));
        assert!(matches!(
            object(super::super::OBJECT, "no/such"),
            Err(LoadError::Object(_))
        ));
    }
}
