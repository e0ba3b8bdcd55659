//! The little the owner program needs from the kernel's BTF (`/sys/kernel/btf/vmlinux`): the
//! byte offsets of forty struct fields (fourteen only for the TCP glimpse, three more only for
//! the TCP state feed), the type ids of the `bpf_iter_task_file`, `bpf_iter_task` and
//! `bpf_iter_tcp` iterators and of the `inet_sock_set_state` tracepoint, found in one pass
//! over the raw type section without building the type graph.
//!
//! Why not CO-RE: aya relocates by parsing all ~150k types into owned values and then, for
//! each struct the program touches, comparing every type's name; that is 40-70 ms per run,
//! more than the whole scan of a small host. This pass takes a few ms, and the verifier
//! checks every offset it gives against the same BTF when the program loads (a wrong one is
//! a load failure, never a wrong read).

use std::fmt;

/// A field the program reads, with the size the program reads it with (0: not read
/// directly, its address is used).
struct Field {
    strukt: &'static str,
    /// Member names from the struct down (a member of an anonymous struct or union is
    /// found through it, as C writes it).
    path: &'static [&'static str],
    size: u32,
    /// Which programs need it: a kernel without a field of the glimpse (no IPv6, say) loses
    /// the glimpse and the feed, not the owner scan.
    group: Group,
}

/// Who reads a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// The owner programs: without it, nothing loads.
    Owners,
    /// The TCP glimpse (and the state feed, which reports sockets as the glimpse does).
    Glimpse,
    /// Only the TCP state feed.
    Feed,
}

/// The fields, in the order of `offsets[]` in owners.bpf.c (`enum off`).
const FIELDS: [Field; 40] = [
    field("bpf_iter_meta", &["seq"], 8),
    field("task_struct", &["group_leader"], 8),
    field("task_struct", &["thread_pid"], 8),
    field("task_struct", &["start_boottime"], 8),
    field("task_struct", &["real_cred"], 8),
    field("task_struct", &["comm"], 0),
    field("cred", &["uid", "val"], 4),
    field("pid", &["level"], 4),
    field("pid", &["numbers"], 0),
    field("upid", &["nr"], 4),
    field("file", &["f_inode"], 8),
    field("inode", &["i_mode"], 2),
    field("inode", &["i_ino"], 8),
    field("inode", &["i_sb"], 8),
    field("super_block", &["s_magic"], 8),
    field("task_struct", &["files"], 8),
    field("files_struct", &["fdt"], 8),
    field("fdtable", &["max_fds"], 4),
    field("fdtable", &["fd"], 8),
    field("seq_file", &["count"], 8),
    field("sock_common", &["skc_state"], 1),
    // Read from a `sock_common` pointer: a `struct sock` starts with its `__sk_common`
    // (checked in `layout`).
    field("sock", &["sk_socket"], 8),
    field("socket", &["file"], 8),
    glimpse("sock_common", &["skc_family"], 2),
    glimpse("sock_common", &["skc_num"], 2),
    glimpse("sock_common", &["skc_dport"], 2),
    glimpse("sock_common", &["skc_bound_dev_if"], 4),
    glimpse("sock_common", &["skc_daddr"], 4),
    glimpse("sock_common", &["skc_rcv_saddr"], 4),
    glimpse("sock_common", &["skc_v6_daddr"], 16),
    glimpse("sock_common", &["skc_v6_rcv_saddr"], 16),
    glimpse("sock", &["sk_ack_backlog"], 4),
    glimpse("sock", &["sk_max_ack_backlog"], 4),
    glimpse("tcp_sock", &["rcv_nxt"], 4),
    glimpse("tcp_sock", &["copied_seq"], 4),
    glimpse("tcp_sock", &["write_seq"], 4),
    glimpse("tcp_sock", &["snd_una"], 4),
    // u16 since Linux 5.6 (a bitfield before: refused as one, so such a kernel has no feed).
    feed("sock", &["sk_protocol"], 2),
    // `possible_net_t` (a struct of one pointer; without CONFIG_NET_NS there is no member
    // and no feed, which could only see the one namespace anyway).
    feed("sock_common", &["skc_net", "net"], 8),
    feed("net", &["ns", "inum"], 4),
];

const fn field(strukt: &'static str, path: &'static [&'static str], size: u32) -> Field {
    Field {
        strukt,
        path,
        size,
        group: Group::Owners,
    }
}

const fn glimpse(strukt: &'static str, path: &'static [&'static str], size: u32) -> Field {
    Field {
        strukt,
        path,
        size,
        group: Group::Glimpse,
    }
}

const fn feed(strukt: &'static str, path: &'static [&'static str], size: u32) -> Field {
    Field {
        strukt,
        path,
        size,
        group: Group::Feed,
    }
}

/// Number of entries in `offsets[]`: the fields, then the size of `struct upid`.
pub const OFFSETS: usize = FIELDS.len() + 1;

/// A hash of the fields asked for (names, sizes, order): a layout kept on disk
/// (layout_cache.rs) is for the portwatch that asked for the same fields.
pub fn fields_fingerprint() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes.iter().chain(b"\0") {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &FIELDS {
        eat(f.strukt.as_bytes());
        f.path.iter().for_each(|p| eat(p.as_bytes()));
        eat(&f.size.to_le_bytes());
        eat(&[f.group as u8]);
    }
    h
}

/// Bytes of an inode the chunked walk reads at once (`INODE_WINDOW` in owners.bpf.c).
pub const INODE_WINDOW: u32 = 128;

/// Whether the inode fields the chunked walk takes from its window (i_mode, i_sb, i_ino)
/// lie inside it in this layout. The verifier cannot tell: a read past the window is a read
/// of whatever the stack holds beyond it, so a kernel where they do not fit gets the
/// per-field walk.
pub fn inode_window_fits(offsets: &[u32; OFFSETS]) -> bool {
    FIELDS
        .iter()
        .zip(offsets)
        .filter(|(f, _)| f.strukt == "inode")
        .all(|(f, &off)| {
            let size = if f.size == 0 { 8 } else { f.size };
            off.checked_add(size).is_some_and(|end| end <= INODE_WINDOW)
        })
}

/// What the program is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The BTF type id of the `bpf_iter_task_file` function (the iterator's attach point).
    pub iter_func: u32,
    /// The BTF type id of `bpf_iter_task` (the per-task iterator's), when the kernel has it.
    pub task_func: Option<u32>,
    /// The BTF type id of `bpf_iter_tcp` (the TCP socket iterator's, Linux 5.9+), when the
    /// kernel has it.
    pub tcp_func: Option<u32>,
    pub offsets: [u32; OFFSETS],
    /// Whether every field of the TCP glimpse is there (`Group::Glimpse`).
    pub glimpse: bool,
    /// The BTF type id of the typedef `btf_trace_inet_sock_set_state` (a tp_btf program's
    /// attach point, Linux 4.16+ for the tracepoint, 5.5+ for tp_btf), when the kernel has
    /// it and every field the state feed reads (the glimpse's and `Group::Feed`'s).
    pub state_tracepoint: Option<u32>,
    /// Whether an iterator can be limited to one process (`bpf_iter_link_info` has a `task`
    /// member: Linux 6.1+). Older kernels accept the parameter and ignore it, so it is asked
    /// for only where the BTF says it is understood.
    pub per_process: bool,
}

/// Why the BTF did not give a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BtfError {
    /// Not BTF, or cut short.
    Malformed(&'static str),
    /// A kind this reader does not know (a newer BTF format): it cannot step over it.
    UnknownKind(u32),
    /// No `bpf_iter_task_file`: the kernel predates task_file iterators.
    NoIterator,
    /// A struct or field missing, or of an unexpected size.
    Field(String),
}

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BtfError::Malformed(what) => write!(f, "malformed BTF: {what}"),
            BtfError::UnknownKind(k) => write!(f, "BTF type kind {k} is unknown to portwatch"),
            BtfError::NoIterator => write!(f, "no bpf_iter_task_file in BTF"),
            BtfError::Field(what) => write!(f, "{what}"),
        }
    }
}

/// The kernel's BTF (`/sys/kernel/btf/vmlinux`): mapped where the kernel allows it (Linux
/// 6.16 and later), else read. Read, it costs a system call per 4 KiB (sysfs hands out one
/// page per read: ~1,350 for 5.5 MB) and 5.5 MB of memory; mapped, neither.
pub struct KernelBtf(Blob);

/// Private, so that only `open` makes a mapping that `bytes` trusts.
enum Blob {
    Mapped { addr: *mut libc::c_void, len: usize },
    Read(Vec<u8>),
}

impl KernelBtf {
    pub fn open(path: &str) -> std::io::Result<KernelBtf> {
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
        if len > 0 {
            use std::os::fd::AsRawFd;
            // SAFETY: a new private read-only mapping of `len` bytes of an open file; the
            // result is checked before use and unmapped on drop.
            let addr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE,
                    file.as_raw_fd(),
                    0,
                )
            };
            if addr != libc::MAP_FAILED {
                return Ok(KernelBtf(Blob::Mapped { addr, len }));
            }
        }
        let mut buf = Vec::with_capacity(len);
        std::io::Read::read_to_end(&mut &file, &mut buf)?;
        Ok(KernelBtf(Blob::Read(buf)))
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.0 {
            // SAFETY: made only by `open`: `len` readable bytes, mapped as long as `self` lives.
            Blob::Mapped { addr, len } => unsafe {
                std::slice::from_raw_parts(addr.cast::<u8>(), *len)
            },
            Blob::Read(v) => v,
        }
    }
}

impl Drop for KernelBtf {
    fn drop(&mut self) {
        if let Blob::Mapped { addr, len } = self.0 {
            // SAFETY: unmaps exactly the mapping made in `open`, which nothing uses any more.
            unsafe {
                libc::munmap(addr, len);
            }
        }
    }
}

// Type kinds (include/uapi/linux/btf.h).
const INT: u32 = 1;
const PTR: u32 = 2;
const ARRAY: u32 = 3;
const STRUCT: u32 = 4;
const UNION: u32 = 5;
const ENUM: u32 = 6;
const FWD: u32 = 7;
const TYPEDEF: u32 = 8;
const VOLATILE: u32 = 9;
const CONST: u32 = 10;
const RESTRICT: u32 = 11;
const FUNC: u32 = 12;
const FUNC_PROTO: u32 = 13;
const VAR: u32 = 14;
const DATASEC: u32 = 15;
const FLOAT: u32 = 16;
const DECL_TAG: u32 = 17;
const TYPE_TAG: u32 = 18;
const ENUM64: u32 = 19;

/// The size of a type of each kind: (12 bytes and what the kind adds, bytes per member);
/// (0, 0) for a kind this reader does not know.
const SIZES: [(u8, u8); 32] = {
    let mut t = [(0u8, 0u8); 32];
    let mut k = 0;
    while k < 32 {
        t[k] = match k as u32 {
            INT | VAR | DECL_TAG => (16, 0),
            ARRAY => (24, 0),
            STRUCT | UNION | DATASEC | ENUM64 => (12, 12),
            ENUM | FUNC_PROTO => (12, 8),
            PTR | FWD | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | FLOAT | TYPE_TAG => (12, 0),
            _ => (0, 0),
        };
        k += 1;
    }
    t
};

/// A parsed view of a BTF blob: the type section with the start of every type, and the
/// strings.
struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    /// Byte offset in `types` of type id i+1 (id 0 is void).
    starts: Vec<u32>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// The layout the program needs, from a vmlinux BTF blob (little-endian, as on the
/// architectures portwatch runs BPF on; a big-endian blob is `Malformed`).
pub fn layout(blob: &[u8]) -> Result<Layout, BtfError> {
    let btf = Btf::parse(blob)?;
    let mut wanted: Vec<&str> = FIELDS.iter().map(|f| f.strukt).collect();
    wanted.push("upid");
    wanted.sort_unstable();
    wanted.dedup();
    let mut structs: Vec<(&str, u32)> = Vec::new();
    let mut iter_func = None;
    let mut task_func = None;
    let mut tcp_func = None;
    let mut per_process = false;
    let mut link_info = false;
    let mut tracepoint = None;
    for id in 1..=btf.starts.len() as u32 {
        // Names only of the kinds wanted: most of the ~130k types are none of them. A name is
        // compared in place: finding each name's end first read every string it passed, half
        // of this pass's time.
        let kind = btf.kind(id)?;
        if kind == FUNC && iter_func.is_none() && btf.name_is(id, b"bpf_iter_task_file")? {
            iter_func = Some(id);
        } else if kind == FUNC && task_func.is_none() && btf.name_is(id, b"bpf_iter_task")? {
            task_func = Some(id);
        } else if kind == FUNC && tcp_func.is_none() && btf.name_is(id, b"bpf_iter_tcp")? {
            tcp_func = Some(id);
        } else if kind == TYPEDEF
            && tracepoint.is_none()
            && btf.name_is(id, b"btf_trace_inet_sock_set_state")?
        {
            tracepoint = Some(id);
        } else if kind == UNION && !link_info && btf.name_is(id, b"bpf_iter_link_info")? {
            link_info = true;
            per_process = btf.member(id, b"task", 0)?.is_some();
        } else if kind == STRUCT && structs.len() < wanted.len() && btf.vlen(id)? > 0 {
            let name = btf.name(id)?;
            if let Some(w) = wanted.iter().find(|w| w.as_bytes() == name) {
                if !structs.iter().any(|(s, _)| s == w) {
                    structs.push((w, id));
                }
            }
        }
        // The rest of the types (half of them in the kernels seen) can hold nothing more.
        if iter_func.is_some()
            && task_func.is_some()
            && tcp_func.is_some()
            && link_info
            && tracepoint.is_some()
            && structs.len() == wanted.len()
        {
            break;
        }
    }
    let iter_func = iter_func.ok_or(BtfError::NoIterator)?;
    let struct_id = |name: &str| {
        structs
            .iter()
            .find(|(s, _)| *s == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| BtfError::Field(format!("no struct {name} in BTF")))
    };
    let mut offsets = [0u32; OFFSETS];
    let (mut glimpse, mut feed) = (true, true);
    for (slot, f) in offsets.iter_mut().zip(FIELDS.iter()) {
        let found = struct_id(f.strukt).and_then(|id| {
            let (off, ty) = btf.member_path(id, f.path)?;
            if f.size != 0 && btf.size_of(ty)? != f.size {
                return Err(BtfError::Field(format!(
                    "{}.{} is not {} bytes",
                    f.strukt,
                    f.path.join("."),
                    f.size
                )));
            }
            Ok(off)
        });
        match found {
            Ok(off) => *slot = off,
            Err(_) if f.group == Group::Glimpse => glimpse = false,
            Err(_) if f.group == Group::Feed => feed = false,
            Err(e) => return Err(e),
        }
    }
    offsets[FIELDS.len()] = btf.size_of(struct_id("upid")?)?;
    if btf.member_path(struct_id("sock")?, &["__sk_common"])?.0 != 0 {
        return Err(BtfError::Field(
            "sock.__sk_common is not at offset 0".into(),
        ));
    }
    Ok(Layout {
        iter_func,
        task_func,
        tcp_func,
        offsets,
        glimpse,
        state_tracepoint: tracepoint.filter(|_| glimpse && feed),
        per_process,
    })
}

impl<'a> Btf<'a> {
    fn parse(blob: &'a [u8]) -> Result<Btf<'a>, BtfError> {
        let bad = BtfError::Malformed;
        if blob.get(..2) != Some(&[0x9f, 0xeb][..]) {
            return Err(bad("no little-endian BTF magic"));
        }
        let hdr_len = u32_at(blob, 4).ok_or(bad("short header"))? as usize;
        let section = |off_at: usize, len_at: usize| -> Option<&'a [u8]> {
            let off = hdr_len.checked_add(u32_at(blob, off_at)? as usize)?;
            blob.get(off..off.checked_add(u32_at(blob, len_at)? as usize)?)
        };
        let types = section(8, 12).ok_or(bad("type section out of bounds"))?;
        let strings = section(16, 20).ok_or(bad("string section out of bounds"))?;
        let mut starts = Vec::with_capacity(types.len() / 24);
        let mut at = 0usize;
        while at < types.len() {
            let info = u32_at(types, at + 4).ok_or(bad("type cut short"))?;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            // A table, not a match: this loop runs for each of the ~130k types, and a jump
            // per type was most of the pass.
            let (fixed, per_member) = SIZES[kind as usize];
            if fixed == 0 {
                return Err(BtfError::UnknownKind(kind));
            }
            starts.push(u32::try_from(at).map_err(|_| bad("type section too large"))?);
            let size = usize::from(fixed) + usize::from(per_member) * vlen;
            at = at.checked_add(size).ok_or(bad("type cut short"))?;
        }
        if at != types.len() {
            return Err(bad("type cut short"));
        }
        Ok(Btf {
            types,
            strings,
            starts,
        })
    }

    fn start(&self, id: u32) -> Result<usize, BtfError> {
        let i = id.checked_sub(1).ok_or(BtfError::Malformed("type id 0"))?;
        self.starts
            .get(i as usize)
            .map(|&s| s as usize)
            .ok_or(BtfError::Malformed("type id out of range"))
    }

    fn word(&self, id: u32, index: usize) -> Result<u32, BtfError> {
        u32_at(self.types, self.start(id)? + 4 * index).ok_or(BtfError::Malformed("type cut short"))
    }

    fn kind(&self, id: u32) -> Result<u32, BtfError> {
        Ok((self.word(id, 1)? >> 24) & 0x1f)
    }

    fn vlen(&self, id: u32) -> Result<usize, BtfError> {
        Ok((self.word(id, 1)? & 0xffff) as usize)
    }

    fn name(&self, id: u32) -> Result<&'a [u8], BtfError> {
        self.string(self.word(id, 0)?)
    }

    /// Whether type `id` is named `name`, reading no more of the string section than that.
    fn name_is(&self, id: u32, name: &[u8]) -> Result<bool, BtfError> {
        let off = self.word(id, 0)? as usize;
        let here = self.strings.get(off..).unwrap_or_default();
        Ok(here.len() > name.len() && here.starts_with(name) && here[name.len()] == 0)
    }

    fn string(&self, off: u32) -> Result<&'a [u8], BtfError> {
        let rest = self
            .strings
            .get(off as usize..)
            .ok_or(BtfError::Malformed("name out of bounds"))?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Ok(rest.get(..end).unwrap_or_default())
    }

    /// The type behind typedefs and qualifiers.
    fn resolve(&self, mut id: u32) -> Result<u32, BtfError> {
        for _ in 0..32 {
            match self.kind(id)? {
                TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG => id = self.word(id, 2)?,
                _ => return Ok(id),
            }
        }
        Err(BtfError::Malformed("qualifier loop"))
    }

    /// Size in bytes of a type.
    fn size_of(&self, id: u32) -> Result<u32, BtfError> {
        let id = self.resolve(id)?;
        match self.kind(id)? {
            INT | STRUCT | UNION | ENUM | ENUM64 | FLOAT | DATASEC => self.word(id, 2),
            PTR => Ok(8),
            ARRAY => {
                let elem = self.word(id, 3)?;
                let n = self.word(id, 5)?;
                self.size_of(elem)?
                    .checked_mul(n)
                    .ok_or(BtfError::Malformed("array too large"))
            }
            k => Err(BtfError::Field(format!("type of kind {k} has no size"))),
        }
    }

    /// Byte offset and type of a member path below struct `id`.
    fn member_path(&self, id: u32, path: &[&str]) -> Result<(u32, u32), BtfError> {
        let (mut off, mut ty) = (0u32, id);
        for name in path {
            let (o, t) = self
                .member(self.resolve(ty)?, name.as_bytes(), 0)?
                .ok_or_else(|| BtfError::Field(format!("no field {} in BTF", path.join("."))))?;
            off = off.checked_add(o).ok_or(BtfError::Malformed("offset"))?;
            ty = t;
        }
        Ok((off, ty))
    }

    /// The member `name` of struct/union `id`, looking into anonymous members.
    fn member(&self, id: u32, name: &[u8], depth: u32) -> Result<Option<(u32, u32)>, BtfError> {
        if depth > 8 || !matches!(self.kind(id)?, STRUCT | UNION) {
            return Ok(None);
        }
        let bitfields = self.word(id, 1)? & (1 << 31) != 0;
        let base = self.start(id)? + 12;
        for i in 0..self.vlen(id)? {
            let at = base + 12 * i;
            let m = |k: usize| u32_at(self.types, at + 4 * k).ok_or(BtfError::Malformed("member"));
            let (m_name, m_type, m_off) = (m(0)?, m(1)?, m(2)?);
            let bits = if bitfields { m_off & 0xff_ffff } else { m_off };
            let here = if m_name == 0 {
                self.member(self.resolve(m_type)?, name, depth + 1)?
                    .map(|(o, t)| (o + bits / 8, t))
            } else if self.string(m_name)? == name {
                if bits % 8 != 0 {
                    return Err(BtfError::Field(format!(
                        "field {} is a bitfield",
                        String::from_utf8_lossy(name)
                    )));
                }
                Some((bits / 8, m_type))
            } else {
                None
            };
            if here.is_some() {
                return Ok(here);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
