//! The programs' layout in the running kernel, kept in `/run/portwatch/btf-layout` between
//! runs: finding it reads the kernel's whole BTF (5.5 MB, ~130k types), about a fifth of a
//! small host's `-antp`, for an answer that only a new kernel changes.
//!
//! The file is keyed by the kernel's build id (`/sys/kernel/notes`, which covers the BTF
//! linked into the image) and the BTF's size, and by the fields this portwatch asks for; a
//! key that differs, a file that does not parse, or one that anybody but this user could
//! have written (the file or its directory) is not used, and the layout is read from the BTF
//! and the file replaced (atomically). Both are opened relative to the directory checked,
//! without following links. /run is emptied at boot, which is also when the kernel changes.
//! A kernel without a build id gets no file. `PORTWATCH_CACHE_DIR` moves it; empty turns it
//! off.

use super::btf::{self, Layout, OFFSETS};
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{unlinkat, UnlinkatFlags};
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

const DEFAULT_DIR: &str = "/run/portwatch";
const FILE: &str = "btf-layout";
const NOTES: &str = "/sys/kernel/notes";
/// The first line: what the rest of the file is, and its format's version.
const MAGIC: &str = "portwatch btf-layout 1";

/// Where the file is: `PORTWATCH_CACHE_DIR`, else /run/portwatch; `None` when turned off.
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os("PORTWATCH_CACHE_DIR") {
        Some(d) if d.is_empty() => None,
        Some(d) => Some(PathBuf::from(d)),
        None => Some(PathBuf::from(DEFAULT_DIR)),
    }
}

/// What a cached layout must have been found for: this kernel's build id and BTF size, and
/// the fields this portwatch reads (and its version, for a change in how they are found).
pub fn key(btf_path: &str) -> Option<String> {
    let notes = std::fs::read(NOTES).ok()?;
    let id = build_id(&notes)?;
    let size = std::fs::metadata(btf_path).ok()?.len();
    let mut k = String::with_capacity(2 * id.len() + 40);
    for b in id {
        let _ = write!(k, "{b:02x}");
    }
    let _ = write!(
        k,
        " {size} {:016x} {}",
        btf::fields_fingerprint(),
        env!("CARGO_PKG_VERSION")
    );
    Some(k)
}

/// The GNU build id among ELF notes (a run of namesz, descsz, type, name, desc; name and
/// desc padded to 4 bytes).
fn build_id(notes: &[u8]) -> Option<&[u8]> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(notes.get(at..at + 4)?.try_into().ok()?))
    };
    let pad = |n: usize| n.checked_add(3).map(|n| n & !3);
    let mut at = 0;
    while at + 12 <= notes.len() {
        let (namesz, descsz, kind) = (word(at)? as usize, word(at + 4)? as usize, word(at + 8)?);
        let name_at = at + 12;
        let desc_at = name_at.checked_add(pad(namesz)?)?;
        let next = desc_at.checked_add(pad(descsz)?)?;
        if kind == NT_GNU_BUILD_ID && notes.get(name_at..name_at + namesz)? == b"GNU\0" {
            return notes
                .get(desc_at..desc_at + descsz)
                .filter(|d| !d.is_empty());
        }
        at = next;
    }
    None
}

/// The layout kept in `dir` for `key`, if the file is there, this user's alone, and for
/// this key.
pub fn load(dir: &Path, key: &str) -> Option<Layout> {
    let dir = open_ours(dir)?;
    let fd = openat(
        &dir,
        FILE,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .ok()?;
    let file = std::fs::File::from(only_ours(fd)?);
    let mut text = String::new();
    (&file).take(64 * 1024).read_to_string(&mut text).ok()?;
    parse(&text, key)
}

/// Keep `layout` for `key` in `dir` (made, mode 0700, if missing); best effort: a listing
/// never fails for want of the file. Written to a temp file beside it and renamed over it,
/// both relative to the directory checked, so a reader sees the old file or the new one.
pub fn store(dir: &Path, key: &str, layout: &Layout) {
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    let Some(dir) = open_ours(dir) else {
        return;
    };
    let tmp = format!("{FILE}.tmp.{}", std::process::id());
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
    let Ok(fd) = openat(&dir, tmp.as_str(), flags, Mode::from_bits_truncate(0o644)) else {
        return;
    };
    let mut file = std::fs::File::from(fd);
    let written = file.write_all(render(key, layout).as_bytes()).is_ok()
        && renameat(&dir, tmp.as_str(), &dir, FILE).is_ok();
    if !written {
        let _ = unlinkat(&dir, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    }
}

/// `dir`, opened (not followed if a link) when only this user could have written in it:
/// every later step is relative to this descriptor, so the directory checked is the one used.
fn open_ours(dir: &Path) -> Option<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
    only_ours(nix::fcntl::open(dir, flags, Mode::empty()).ok()?)
}

/// `fd` when only this user could have written what it is open on: ours, and not writable
/// by group or others.
fn only_ours(fd: OwnedFd) -> Option<OwnedFd> {
    let st = nix::sys::stat::fstat(&fd).ok()?;
    (st.st_uid == nix::unistd::geteuid().as_raw() && st.st_mode & 0o022 == 0).then_some(fd)
}

fn render(key: &str, l: &Layout) -> String {
    let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    let mut s = format!(
        "{MAGIC}\nkey {key}\niter_func {}\ntask_func {}\ntcp_func {}\nstate_tracepoint {}\n\
         glimpse {}\nper_process {}\noffsets",
        l.iter_func,
        opt(l.task_func),
        opt(l.tcp_func),
        opt(l.state_tracepoint),
        u8::from(l.glimpse),
        u8::from(l.per_process),
    );
    for o in l.offsets {
        let _ = write!(s, " {o}");
    }
    s.push('\n');
    s
}

/// The layout in `text` if it is a whole file of this format for `key`; else `None`.
fn parse(text: &str, key: &str) -> Option<Layout> {
    // A file cut inside its last number would read as a smaller one: whole files end in a
    // newline.
    if !text.ends_with('\n') {
        return None;
    }
    let mut lines = text.lines();
    if lines.next()? != MAGIC || lines.next()?.strip_prefix("key ")? != key {
        return None;
    }
    let mut value =
        |name: &str| -> Option<&str> { lines.next()?.strip_prefix(name)?.strip_prefix(' ') };
    let num = |v: &str| v.parse::<u32>().ok();
    let opt = |v: &str| {
        if v == "-" {
            Some(None)
        } else {
            num(v).map(Some)
        }
    };
    let flag = |v: &str| match v {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    };
    let iter_func = num(value("iter_func")?)?;
    let task_func = opt(value("task_func")?)?;
    let tcp_func = opt(value("tcp_func")?)?;
    let state_tracepoint = opt(value("state_tracepoint")?)?;
    let glimpse = flag(value("glimpse")?)?;
    let per_process = flag(value("per_process")?)?;
    let mut offsets = [0u32; OFFSETS];
    let mut words = value("offsets")?.split(' ');
    for slot in &mut offsets {
        *slot = num(words.next()?)?;
    }
    if words.next().is_some() || lines.next().is_some() {
        return None;
    }
    Some(Layout {
        iter_func,
        task_func,
        tcp_func,
        offsets,
        glimpse,
        state_tracepoint,
        per_process,
    })
}

#[cfg(test)]
mod tests;
