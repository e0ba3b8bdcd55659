//! The records the BPF iterator writes (`struct owner_rec` in owners.bpf.c) and the reader
//! that cuts them out of the iterator's byte stream. The kernel hands out whatever fits the
//! caller's buffer, so a record can be split across two reads: the reader carries the tail
//! over. Nothing here trusts the stream: a short or garbage buffer yields fewer records,
//! never a panic.

use std::io::{ErrorKind, Read};

/// Size of one record: the C struct, 48 bytes without padding.
pub const RECORD_SIZE: usize = 48;

/// `flags` bit: the fd is in a thread's own fd table (the thread unshared CLONE_FILES), not
/// in the thread group leader's.
pub const THREAD_FILES: u32 = 1;

/// One socket fd of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The socket's inode (`socket:[N]`).
    pub inode: u64,
    /// When the process (thread group leader) started, in ns since boot, suspend included
    /// (`task->start_boottime`; `/proc/PID/stat` field 22 is this in clock ticks, outside a
    /// time namespace).
    pub start_boottime: u64,
    /// The process id in the reader's pid namespace.
    pub tgid: u32,
    pub fd: u32,
    /// The leader's real uid (`u32::MAX` when the kernel had no credentials to read).
    pub uid: u32,
    pub flags: u32,
    /// The leader's comm, NUL-padded.
    pub comm: [u8; 16],
}

impl Record {
    /// Parse one record from the first `RECORD_SIZE` bytes; `None` when there are fewer.
    pub fn parse(b: &[u8]) -> Option<Record> {
        let b: &[u8; RECORD_SIZE] = b.get(..RECORD_SIZE)?.try_into().ok()?;
        let u64_at = |i: usize| {
            let mut v = [0u8; 8];
            v.copy_from_slice(&b[i..i + 8]);
            u64::from_ne_bytes(v)
        };
        let u32_at = |i: usize| {
            let mut v = [0u8; 4];
            v.copy_from_slice(&b[i..i + 4]);
            u32::from_ne_bytes(v)
        };
        let mut comm = [0u8; 16];
        comm.copy_from_slice(&b[32..48]);
        Some(Record {
            inode: u64_at(0),
            start_boottime: u64_at(8),
            tgid: u32_at(16),
            fd: u32_at(20),
            uid: u32_at(24),
            flags: u32_at(28),
            comm,
        })
    }

    /// The record as the kernel writes it (for tests and the benchmark's fake streams).
    pub fn to_bytes(&self) -> [u8; RECORD_SIZE] {
        let mut b = [0u8; RECORD_SIZE];
        b[0..8].copy_from_slice(&self.inode.to_ne_bytes());
        b[8..16].copy_from_slice(&self.start_boottime.to_ne_bytes());
        b[16..20].copy_from_slice(&self.tgid.to_ne_bytes());
        b[20..24].copy_from_slice(&self.fd.to_ne_bytes());
        b[24..28].copy_from_slice(&self.uid.to_ne_bytes());
        b[28..32].copy_from_slice(&self.flags.to_ne_bytes());
        b[32..48].copy_from_slice(&self.comm);
        b
    }

    /// The comm up to its first NUL: what `/proc/PID/comm` shows, without the newline.
    pub fn comm(&self) -> &[u8] {
        let end = self.comm.iter().position(|&c| c == 0).unwrap_or(16);
        self.comm.get(..end).unwrap_or_default()
    }

    /// The uid, unless the kernel had none to give.
    pub fn uid(&self) -> Option<u32> {
        (self.uid != u32::MAX).then_some(self.uid)
    }
}

/// What a read of the whole stream left over.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// Records handed to the callback.
    pub records: usize,
    /// Bytes at the end that did not make a whole record (0 from a sane kernel).
    pub stray_bytes: usize,
}

/// Read `src` to its end, handing every whole record to `each`. The buffer is fixed (one
/// allocation per scan, whatever the number of records); `EINTR` is retried.
pub fn read_records(
    mut src: impl Read,
    buf_size: usize,
    mut each: impl FnMut(&Record),
) -> std::io::Result<Tail> {
    let mut buf = vec![0u8; buf_size.max(2 * RECORD_SIZE)];
    let mut filled = 0;
    let mut tail = Tail::default();
    while let Some(n) = read_more(&mut src, buf.get_mut(filled..).unwrap_or_default())? {
        filled = (filled + n).min(buf.len());
        let whole = filled / RECORD_SIZE * RECORD_SIZE;
        for chunk in buf
            .get(..whole)
            .unwrap_or_default()
            .chunks_exact(RECORD_SIZE)
        {
            if let Some(r) = Record::parse(chunk) {
                tail.records += 1;
                each(&r);
            }
        }
        buf.copy_within(whole..filled, 0);
        filled -= whole;
    }
    tail.stray_bytes = filled;
    Ok(tail)
}

/// One `read` into `free`, retried on EINTR; `None` at the end of the stream.
pub(super) fn read_more(src: &mut impl Read, free: &mut [u8]) -> std::io::Result<Option<usize>> {
    loop {
        match src.read(free) {
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The per-task program's stream (`iter/task` in owners.bpf.c): for each task with socket
/// fds, a head (a `Record` of the process whose inode's second word is `HEAD_MARK`), then 8
/// bytes per socket fd (inode, fd). `CUT_MARK` in an fd's place says the task had more socket
/// fds than one kernel write holds, so its process must be read again (by the per-file
/// program).
pub const HEAD_MARK: u32 = u32::MAX;
pub const CUT_MARK: u32 = u32::MAX - 1;
const FD_SIZE: usize = 8;

/// What a read of the per-task stream found besides records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ByTask {
    pub tail: Tail,
    /// Processes whose fd tables were cut short: read them again.
    pub cut: Vec<u32>,
}

/// Read a per-task stream to its end, handing a record per socket fd to `each`. Entries
/// before any head (a broken stream) are dropped.
pub fn read_by_task(
    mut src: impl Read,
    buf_size: usize,
    mut each: impl FnMut(&Record),
) -> std::io::Result<ByTask> {
    let mut buf = vec![0u8; buf_size.max(2 * RECORD_SIZE)];
    let mut filled = 0;
    let mut out = ByTask::default();
    let mut head: Option<Record> = None;
    while let Some(n) = read_more(&mut src, buf.get_mut(filled..).unwrap_or_default())? {
        filled = (filled + n).min(buf.len());
        let mut at = 0;
        while let Some(unit) = buf.get(at..filled).filter(|u| u.len() >= FD_SIZE) {
            let word =
                |i: usize| u32::from_ne_bytes([unit[i], unit[i + 1], unit[i + 2], unit[i + 3]]);
            let (first, mark) = (word(0), word(4));
            if mark == HEAD_MARK {
                let Some(h) = Record::parse(unit) else {
                    break;
                };
                head = Some(h);
                at += RECORD_SIZE;
                continue;
            }
            if mark == CUT_MARK {
                if let Some(h) = &head {
                    out.cut.push(h.tgid);
                }
            } else if let Some(h) = &mut head {
                h.inode = u64::from(first);
                h.fd = mark;
                out.tail.records += 1;
                each(h);
            }
            at += FD_SIZE;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
    }
    out.tail.stray_bytes = filled;
    out.cut.sort_unstable();
    out.cut.dedup();
    Ok(out)
}

/// One task of a per-task stream, for tests: its process, its (inode, fd) pairs, and
/// whether it was cut short.
pub type TaskOutput = (Record, Vec<(u32, u32)>, bool);

/// A per-task stream for tests: each process's head and socket fds, cut ones marked.
pub fn by_task_bytes(tasks: &[TaskOutput]) -> Vec<u8> {
    let mut b = Vec::new();
    for (r, fds, cut) in tasks {
        let mut head = r.to_bytes();
        head[4..8].copy_from_slice(&HEAD_MARK.to_ne_bytes());
        b.extend_from_slice(&head);
        for (inode, fd) in fds {
            b.extend_from_slice(&inode.to_ne_bytes());
            b.extend_from_slice(&fd.to_ne_bytes());
        }
        if *cut {
            b.extend_from_slice(&0u32.to_ne_bytes());
            b.extend_from_slice(&CUT_MARK.to_ne_bytes());
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = Record> {
        (
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<[u8; 16]>(),
        )
            .prop_map(
                |(inode, start_boottime, tgid, fd, uid, flags, comm)| Record {
                    inode,
                    start_boottime,
                    tgid,
                    fd,
                    uid,
                    flags,
                    comm,
                },
            )
    }

    /// A reader that returns the stream in the given chunk sizes (cycled), with an EINTR
    /// before every chunk when asked: the shapes a seq_file read can take.
    struct Chunked {
        data: Vec<u8>,
        pos: usize,
        sizes: Vec<usize>,
        turn: usize,
        eintr: bool,
        interrupted: bool,
    }

    impl Read for Chunked {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.eintr && !self.interrupted {
                self.interrupted = true;
                return Err(ErrorKind::Interrupted.into());
            }
            self.interrupted = false;
            let want = self.sizes[self.turn % self.sizes.len()].max(1);
            self.turn += 1;
            let n = want.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn layout_matches_the_c_struct() {
        // Field offsets of struct owner_rec: inode 0, start_boottime 8, tgid 16, fd 20,
        // uid 24, flags 28, comm 32.
        let mut b = [0u8; RECORD_SIZE];
        b[0..8].copy_from_slice(&12345u64.to_ne_bytes());
        b[8..16].copy_from_slice(&7u64.to_ne_bytes());
        b[16..20].copy_from_slice(&42u32.to_ne_bytes());
        b[20..24].copy_from_slice(&3u32.to_ne_bytes());
        b[24..28].copy_from_slice(&1000u32.to_ne_bytes());
        b[28..32].copy_from_slice(&THREAD_FILES.to_ne_bytes());
        b[32..37].copy_from_slice(b"nginx");
        let r = Record::parse(&b).expect("a whole record");
        assert_eq!((r.inode, r.start_boottime, r.tgid, r.fd), (12345, 7, 42, 3));
        assert_eq!((r.uid(), r.flags), (Some(1000), THREAD_FILES));
        assert_eq!(r.comm(), b"nginx");
        assert_eq!(Record::parse(&b[..47]), None);
    }

    #[test]
    fn comm_of_full_length_and_missing_uid() {
        let mut r = Record::parse(&[0u8; RECORD_SIZE]).expect("zeros");
        assert_eq!(r.comm(), b"");
        r.comm = *b"0123456789abcdef";
        assert_eq!(r.comm(), b"0123456789abcdef", "no NUL: all 16 bytes");
        r.uid = u32::MAX;
        assert_eq!(r.uid(), None);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400),
                                sizes in proptest::collection::vec(0usize..200, 1..8),
                                buf in 0usize..300) {
            let len = bytes.len();
            let src = Chunked { data: bytes, pos: 0, sizes, turn: 0, eintr: false, interrupted: false };
            let mut n = 0;
            let tail = read_records(src, buf, |_| n += 1).expect("no io error");
            prop_assert_eq!(tail.records, n);
            prop_assert_eq!(n, len / RECORD_SIZE);
            prop_assert_eq!(tail.stray_bytes, len % RECORD_SIZE);
        }

        #[test]
        fn records_survive_any_split(recs in proptest::collection::vec(record(), 0..40),
                                     sizes in proptest::collection::vec(1usize..150, 1..8),
                                     buf in 0usize..500,
                                     eintr in any::<bool>()) {
            let data: Vec<u8> = recs.iter().flat_map(|r| r.to_bytes()).collect();
            let src = Chunked { data, pos: 0, sizes, turn: 0, eintr, interrupted: false };
            let mut got = Vec::new();
            let tail = read_records(src, buf, |r| got.push(*r)).expect("no io error");
            prop_assert_eq!(&got, &recs);
            prop_assert_eq!(tail.stray_bytes, 0);
        }

        #[test]
        fn by_task_streams_survive_any_split(
            tasks in proptest::collection::vec(
                (
                    record().prop_map(|r| Record { inode: 0, fd: 0, ..r }),
                    proptest::collection::vec((any::<u32>(), 0u32..1 << 30), 0..20),
                    any::<bool>(),
                ),
                0..12,
            ),
            cut in 1usize..97,
        ) {
            let bytes = by_task_bytes(&tasks);
            let mut got = Vec::new();
            let src = Chunked { data: bytes, pos: 0, sizes: vec![cut], turn: 0, eintr: cut % 2 == 0, interrupted: false };
            let read = read_by_task(src, 2 * RECORD_SIZE, |r| got.push(*r)).expect("read");
            let want: Vec<Record> = tasks
                .iter()
                .flat_map(|(r, fds, _)| fds.iter().map(move |&(inode, fd)| Record { inode: u64::from(inode), fd, ..*r }))
                .collect();
            prop_assert_eq!(got, want);
            let mut cut_pids: Vec<u32> = tasks.iter().filter(|t| t.2).map(|t| t.0.tgid).collect();
            cut_pids.sort_unstable();
            cut_pids.dedup();
            prop_assert_eq!(read.cut, cut_pids);
            prop_assert_eq!(read.tail.stray_bytes, 0);
        }

        #[test]
        fn by_task_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), size in 0usize..200) {
            let _ = read_by_task(&bytes[..], size, |_| {});
        }

        #[test]
        fn parse_round_trips(r in record()) {
            prop_assert_eq!(Record::parse(&r.to_bytes()), Some(r));
        }
    }
}
