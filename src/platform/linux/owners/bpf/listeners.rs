//! The one-port query's shortcut: a TCP iterator (`iter/tcp` in owners.bpf.c) finds which
//! file each wanted listening socket is, and a per-task program looks for those files only.

use super::found::{Found, Scan};
use super::record::read_more;
use super::{from_load_error, load_program, loader, OwnerIter, Program, Unavailable};
use super::{OBJECT, OF_FILES, OF_FILES_CALLBACK, TCP_LISTENERS};
use crate::model::InodeSet;
use std::io::Read;

impl OwnerIter {
    /// The owners of `inodes` when each is a TCP listener of this network namespace and they
    /// are few (`loader::WANTED_MAX`): the one-port query. Its cost is that of reading every
    /// fd table's slots, not the file and inode behind each: a TCP iterator finds the
    /// listeners' files (socket inode -> file address), and a per-task program patched with
    /// those addresses compares each slot with them (owners.bpf.c). Every holder is found,
    /// as by a whole scan. `None` where this does not apply: more sockets, one that is not a
    /// listener here (a connection, UDP, another namespace), or a kernel without the
    /// iterators (Linux 5.17+ for the per-task program).
    pub fn scan_listeners(&self, inodes: &InodeSet) -> Result<Option<Scan>, Unavailable> {
        let Some(task) = self.task_func else {
            return Ok(None);
        };
        if inodes.is_empty() || inodes.len() > loader::WANTED_MAX || !self.program.per_task() {
            return Ok(None);
        }
        let Some(files) = self.listener_files(inodes)? else {
            return Ok(None);
        };
        let mut obj = loader::object_with_callback(OBJECT, OF_FILES, OF_FILES_CALLBACK)
            .map_err(from_load_error)?;
        loader::patch_wanted(&mut obj.insns, &files).map_err(from_load_error)?;
        let prog = load_program(obj, &self.offsets, task).map_err(from_load_error)?;
        let mut found = Found::new(Some(inodes));
        let records = self.read_with(&prog, Program::ByTask, None, &mut |r| found.add(r))?;
        let mut scan = found.finish(records);
        scan.shortcut = true;
        Ok(Some(scan))
    }

    /// The file addresses of `inodes`, in the set's order, when each is a TCP listener of this
    /// network namespace (the first half of `scan_listeners`).
    pub fn listener_files(&self, inodes: &InodeSet) -> Result<Option<Vec<u64>>, Unavailable> {
        let Some(tcp) = self.tcp_func else {
            return Ok(None);
        };
        let listeners = self.listeners.get_or_init(|| {
            loader::object(OBJECT, TCP_LISTENERS)
                .and_then(|o| load_program(o, &self.offsets, tcp))
                .map_err(|e| from_load_error(e).to_string())
        });
        let listeners = listeners
            .as_ref()
            .map_err(|why| Unavailable::Load(format!("the TCP listener program: {why}")))?;
        let file = loader::iterate_process(listeners, None).map_err(from_load_error)?;
        read_listener_files(file, inodes).map_err(Unavailable::Read)
    }
}

/// One pair: the socket's inode, then its file's address (native endian).
const PAIR_SIZE: usize = 16;

/// A pair with this inode ends the listeners: the iterator has gone on to other sockets.
const LISTENERS_END: u64 = u64::MAX;

/// Bytes per `read`: the kernel visits sockets only until a read is full, so a small read
/// stops it soon after the listeners (it runs on into the established sockets otherwise).
const READ_SIZE: usize = 4096;

/// The file of each of `inodes`, in the set's order, read from `src` up to the end of the
/// listeners; `None` when one of them is not among the listeners.
pub fn read_listener_files(
    mut src: impl Read,
    inodes: &InodeSet,
) -> std::io::Result<Option<Vec<u64>>> {
    let mut files = vec![0u64; inodes.len()];
    let mut missing = inodes.len();
    let mut buf = [0u8; READ_SIZE];
    let mut filled = 0;
    'read: while let Some(n) = read_more(&mut src, buf.get_mut(filled..).unwrap_or_default())? {
        filled = (filled + n).min(buf.len());
        let whole = filled / PAIR_SIZE * PAIR_SIZE;
        for pair in buf.get(..whole).unwrap_or_default().chunks_exact(PAIR_SIZE) {
            let word = |at: usize| {
                u64::from_ne_bytes(
                    pair.get(at..at + 8)
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or([0; 8]),
                )
            };
            let (inode, file) = (word(0), word(8));
            if inode == LISTENERS_END {
                break 'read;
            }
            if let Some(i) = inodes.index_of(inode) {
                if let Some(slot) = files.get_mut(i).filter(|f| **f == 0 && file != 0) {
                    *slot = file;
                    missing -= 1;
                    if missing == 0 {
                        break 'read;
                    }
                }
            }
        }
        buf.copy_within(whole..filled, 0);
        filled -= whole;
    }
    Ok((missing == 0).then_some(files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stream(pairs: &[(u64, u64)]) -> Vec<u8> {
        pairs
            .iter()
            .flat_map(|(i, f)| [i.to_ne_bytes(), f.to_ne_bytes()].concat())
            .collect()
    }

    /// A reader that hands out at most `step` bytes per read.
    struct Trickle(Vec<u8>, usize, usize);

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len() - self.2);
            out[..n].copy_from_slice(&self.0[self.2..self.2 + n]);
            self.2 += n;
            Ok(n)
        }
    }

    #[test]
    fn files_in_the_sets_order_and_none_when_one_is_missing() {
        let s = stream(&[
            (7, 0x70),
            (3, 0x30),
            (5, 0x50),
            (LISTENERS_END, 0),
            (9, 0x90),
        ]);
        let set: InodeSet = [5, 3].into_iter().collect();
        assert_eq!(
            read_listener_files(&s[..], &set).ok(),
            Some(Some(vec![0x30, 0x50]))
        );
        // 9 comes after the end of the listeners: a connection's, say.
        let set: InodeSet = [3, 9].into_iter().collect();
        assert_eq!(read_listener_files(&s[..], &set).ok(), Some(None));
        assert_eq!(read_listener_files(&[][..], &set).ok(), Some(None));
    }

    proptest! {
        #[test]
        fn any_split_of_the_stream_gives_the_same(step in 1usize..64, junk in 0usize..16) {
            let pairs: Vec<(u64, u64)> = (1..600).map(|i| (i, i << 12)).collect();
            let mut s = stream(&pairs);
            s.extend(std::iter::repeat_n(0xa5, junk));
            let set: InodeSet = [599, 2, 300].into_iter().collect();
            let got = read_listener_files(Trickle(s, step, 0), &set).expect("read");
            prop_assert_eq!(got, Some(vec![2 << 12, 300 << 12, 599 << 12]));
        }
    }
}
