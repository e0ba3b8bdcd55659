//! The TCP state feed: a BPF program on the kernel's `inet_sock_set_state` tracepoint
//! (`tcp_state_change` in owners.bpf.c) writes every state change of a TCP socket of the
//! reader's network namespace into a BPF ring buffer, which this reads from user space
//! without a system call per record (watch's `Glimpser::follow` and `changes`).
//!
//! A change reports the socket as the glimpse would just after it: a connect's move to
//! SYN-SENT comes before its port is chosen, and a move to CLOSE after the socket let go of a
//! port the kernel had chosen (bound explicitly, it keeps it): local port 0 in both. The
//! cookie, which a socket keeps for life, says which socket it is.
//!
//! What it needs beyond the glimpse: tp_btf programs (Linux 5.5), ring buffers (5.8), the
//! cookie helper in tracing programs (5.12), a `u16 sk_protocol` (5.6). Anything missing is an
//! `Unavailable` reason; the caller glimpses instead.
//!
//! The ring's layout is the kernel's (kernel/bpf/ringbuf.c): a consumer page (the one
//! position user space writes), a producer page, then the data pages mapped twice in a row,
//! so that a record running past the end of the data is contiguous in the mapping. Each
//! record has an 8-byte header: its length with the BUSY bit (still being written) and the
//! DISCARD bit (to skip), then the page offset the kernel uses; records are 8-byte aligned.

use super::glimpse::{as_diag_reports, ends, family_of};
use super::{from_load_error, kernel_layout, loader, Unavailable, OBJECT};
use crate::model::{Glimpse, StateChange};
use std::ffi::CStr;
use std::num::NonZeroU64;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The program's section in the object.
pub(super) const SECTION: &str = "tp_btf/inet_sock_set_state";

/// One change's record (`struct change_rec`); 64 bytes in the ring with its header.
pub const RECORD_SIZE: usize = 56;

/// The ring's first data size: 1 MiB, 16,384 records. A connection makes five changes at
/// each end the host sees (ten on loopback, where both are), so a one-second read holds
/// ~3k connections/s with remote peers, 1.6k on loopback: a host replacing 1% of 75k
/// connections a second uses under half of it. A full ring costs one glimpsed read (exact)
/// and the feed starts over with a ring four times the size (`RING_MAX_BYTES` at most): the
/// ring grows to what the host needs instead of every watch paying for the busiest host.
/// What a ring costs: the kernel's memory (not swappable, charged to the reader's memory
/// cgroup) and twice its size in the reader's RSS (the data pages are mapped twice).
pub const RING_START_BYTES: u32 = 1 << 20;

/// The largest ring a feed grows to: 8 MiB, 131,072 records, a second of ~26k connections/s
/// with remote peers or 13k on loopback. A synthetic loop of loopback connect/accept/reset
/// on this project's 2-core machine kind makes ~35k connections (210k changes) a second and
/// does overflow it; a host that busy is served by the glimpse, which is never wrong.
pub const RING_MAX_BYTES: u32 = 8 << 20;

/// The ring size for a feed that lost changes in a ring of `bytes`: four times it, up to
/// `RING_MAX_BYTES`; `None` when it is that already.
pub fn grown(bytes: u32) -> Option<u32> {
    (bytes < RING_MAX_BYTES).then(|| bytes.saturating_mul(4).min(RING_MAX_BYTES))
}

fn page_size() -> std::io::Result<usize> {
    // SAFETY: sysconf has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .map_err(|_| std::io::Error::other("no page size"))
}

/// The maps, in the order of the program's `MAP(i)` references (`MAP_RING`, `MAP_LOST`).
const MAP_RING: usize = 0;
const MAP_LOST: usize = 1;

/// The record header's flags (include/uapi/linux/bpf.h, BPF_RINGBUF_*).
const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HEADER: u64 = 8;

/// The feed, attached: the tracepoint fires into the ring from now on, until it is dropped
/// (closing the link detaches the program; closing the last fds frees program and maps).
pub struct TcpFeed {
    /// Held only to stay attached.
    _link: OwnedFd,
    _prog: OwnedFd,
    ring: Ring,
    lost: OwnedFd,
    /// The lost counter at the last read.
    lost_seen: u64,
}

impl std::fmt::Debug for TcpFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TcpFeed")
    }
}

impl TcpFeed {
    /// Make the maps (a ring of `ring_bytes`: a power of two, whole pages), load the program for this
    /// thread's network namespace and attach it, or say why it cannot be (as the glimpse's load: privilege, BTF, a kernel without the
    /// tracepoint's type or a field, the verifier's refusal).
    pub fn start(ring_bytes: u32) -> Result<TcpFeed, Unavailable> {
        let layout = kernel_layout()?;
        let Some(tracepoint) = layout.state_tracepoint else {
            return Err(Unavailable::Load(
                "the kernel's BTF lacks the inet_sock_set_state tracepoint or a socket field \
                 the state feed reads (Linux 5.12 or later)"
                    .into(),
            ));
        };
        let netns = netns_inode().map_err(Unavailable::Read)?;
        let ring = loader::create_map(
            loader::BPF_MAP_TYPE_RINGBUF,
            0,
            0,
            ring_bytes,
            "portwatch_feed",
        )
        .map_err(|e| from_load_error(e).with_context("a ring buffer (Linux 5.8 or later)"))?;
        let lost = loader::create_map(loader::BPF_MAP_TYPE_ARRAY, 4, 8, 1, "portwatch_lost")
            .map_err(from_load_error)?;
        let mut maps = [0; 2];
        maps[MAP_RING] = ring.as_raw_fd();
        maps[MAP_LOST] = lost.as_raw_fd();
        let mut obj = loader::object(OBJECT, SECTION).map_err(from_load_error)?;
        let patched = loader::patch_offsets(&mut obj.insns, &layout.offsets)
            .and_then(|_| loader::patch_maps(&mut obj.insns, &maps))
            .and_then(|_| loader::patch_constants(&mut obj.insns, &[netns]));
        patched.map_err(from_load_error)?;
        let license = CStr::from_bytes_until_nul(&obj.license)
            .map_err(|_| Unavailable::Load("the object's license is not a C string".into()))?;
        let prog = loader::load(&obj.insns, license, loader::TRACEPOINT, tracepoint, None)
            .map_err(from_load_error)?;
        // Mapped before attaching: a failure leaves nothing attached.
        let ring = Ring::map(ring, ring_bytes as usize).map_err(Unavailable::Read)?;
        let link = loader::open_raw_tracepoint(&prog).map_err(from_load_error)?;
        Ok(TcpFeed {
            _link: link,
            _prog: prog,
            ring,
            lost,
            lost_seen: 0,
        })
    }

    /// The changes written since the last read (since `start` for the first), appended to
    /// `out` in the order the kernel reserved their records (the order of the changes of
    /// any one socket); and how many records the program could not write since the last
    /// read (the ring was full).
    pub fn read(&mut self, out: &mut Vec<StateChange>) -> Result<u64, Unavailable> {
        self.ring.view().drain(|r| out.extend(parse(r)));
        // After the records: a record lost while they were read counts now, not a read late.
        let lost = loader::lookup_u64(&self.lost, 0).map_err(Unavailable::Read)?;
        let new = lost.wrapping_sub(self.lost_seen);
        self.lost_seen = lost;
        Ok(new)
    }
}

impl Unavailable {
    /// The reason, with what was being made when a system call failed.
    fn with_context(self, what: &str) -> Unavailable {
        match self {
            Unavailable::Read(e) => {
                Unavailable::Read(std::io::Error::new(e.kind(), format!("{what}: {e}")))
            }
            other => other,
        }
    }
}

/// The inode number of this thread's network namespace, as the kernel's `net->ns.inum`
/// holds it. The thread's, not the process's: a netlink socket opened by this thread sees
/// the same namespace.
fn netns_inode() -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata("/proc/thread-self/ns/net")?.ino();
    // `ns.inum` is 32 bits: a larger number would match no socket.
    u32::try_from(ino)
        .map_err(|_| std::io::Error::other("network namespace inode past 32 bits"))?;
    Ok(ino)
}

/// The mappings of a ring buffer map: its consumer page (read-write) and its producer page
/// with the data twice after it (read-only).
struct Ring {
    _map: OwnedFd,
    consumer: *mut libc::c_void,
    producer: *mut libc::c_void,
    page: usize,
    size: usize,
}

impl Ring {
    fn map(map: OwnedFd, size: usize) -> std::io::Result<Ring> {
        let page = page_size()?;
        let mmap = |len: usize, prot: libc::c_int, offset: usize| {
            // SAFETY: a new shared mapping of the ring map's fd, at the offsets and lengths
            // the kernel lays the ring out in (ringbuf_map_mmap_kern/user); checked below.
            let addr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    prot,
                    libc::MAP_SHARED,
                    map.as_raw_fd(),
                    offset as libc::off_t,
                )
            };
            match addr {
                libc::MAP_FAILED => Err(std::io::Error::last_os_error()),
                a => Ok(a),
            }
        };
        let consumer = mmap(page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = match mmap(page + 2 * size, libc::PROT_READ, page) {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: the mapping just made, which nothing uses.
                unsafe { libc::munmap(consumer, page) };
                return Err(e);
            }
        };
        Ok(Ring {
            _map: map,
            consumer,
            producer,
            page,
            size,
        })
    }

    fn view(&self) -> RingView<'_> {
        // SAFETY: both mappings live as long as `self`; their first 8 bytes are the kernel's
        // u64 positions (page-aligned), which it and we access atomically only. The data is
        // `2 * size` bytes after the producer page, 4-aligned, which the kernel writes
        // concurrently: seen through atomics only, never as plain bytes.
        unsafe {
            RingView {
                consumer: AtomicU64::from_ptr(self.consumer.cast()),
                producer: AtomicU64::from_ptr(self.producer.cast()),
                data: std::slice::from_raw_parts(
                    self.producer
                        .cast::<u8>()
                        .add(self.page)
                        .cast::<AtomicU32>(),
                    2 * self.size / 4,
                ),
            }
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: exactly the mappings made in `map`, which no view outlives (a view borrows
        // the ring).
        unsafe {
            libc::munmap(self.consumer, self.page);
            libc::munmap(self.producer, self.page + 2 * self.size);
        }
    }
}

/// A ring buffer as the kernel shares it: the two positions (bytes ever written and ever
/// consumed) and the data, its `size` bytes twice in a row, as 32-bit words.
struct RingView<'a> {
    consumer: &'a AtomicU64,
    producer: &'a AtomicU64,
    data: &'a [AtomicU32],
}

impl RingView<'_> {
    /// Each record committed before this call, handed to `each` in ring order, up to the
    /// first one still being written (a producer that reserved before others and has not
    /// committed yet holds back those after it: the next call has them). Discarded records
    /// are skipped. Returns how many records were handed over.
    fn drain(&self, mut each: impl FnMut(&[u8])) -> usize {
        let size = (self.data.len() * 4 / 2) as u64;
        let mask = size.wrapping_sub(1);
        let mut buf = [0u8; RECORD_SIZE];
        let mut handed = 0;
        // Acquire, as libbpf: the consumer position is ours, but another reader of the same
        // ring may have moved it (none does here).
        let mut cons = self.consumer.load(Ordering::Acquire);
        // Once, not until empty: under a flood of changes a call still ends.
        let prod = self.producer.load(Ordering::Acquire);
        while cons < prod {
            let at = ((cons & mask) / 4) as usize;
            let Some(head) = self.data.get(at) else { break };
            // Acquire: the record's bytes, written before the kernel cleared BUSY, are seen.
            let len = head.load(Ordering::Acquire);
            if len & BUSY != 0 {
                break;
            }
            let body = u64::from(len & !(BUSY | DISCARD));
            if body + HEADER > size {
                // No record is larger than the ring: not a ring this reader understands.
                break;
            }
            if len & DISCARD == 0 {
                let n = (body as usize).min(RECORD_SIZE);
                let words = self.data.get(at + 2..at + 2 + n.div_ceil(4));
                for (chunk, w) in buf[..n].chunks_mut(4).zip(words.unwrap_or_default()) {
                    let bytes = w.load(Ordering::Relaxed).to_ne_bytes();
                    chunk.copy_from_slice(&bytes[..chunk.len()]);
                }
                each(&buf[..n]);
                handed += 1;
            }
            cons += (body + HEADER + 7) & !7;
            // Release: the kernel may reuse the space only after it was read.
            self.consumer.store(cons, Ordering::Release);
        }
        handed
    }
}

/// One record; `None` for one of another size, without a cookie (none is ever 0) or of
/// another family.
pub fn parse(r: &[u8]) -> Option<StateChange> {
    if r.len() != RECORD_SIZE {
        return None;
    }
    let (local, remote) = ends(r, r[18], 12, 14, 24, 40)?;
    Some(StateChange {
        old: as_diag_reports(r[16]),
        now: Glimpse {
            cookie: NonZeroU64::new(u64::from_ne_bytes(r[..8].try_into().ok()?))?,
            state: as_diag_reports(r[17]),
            family: family_of(r[18])?,
            local,
            remote,
            iface: u32::from_ne_bytes(r[8..12].try_into().ok()?),
            held: r[19] != 0,
            recv_q: 0,
            send_q: 0,
        },
    })
}

#[cfg(test)]
mod tests;
