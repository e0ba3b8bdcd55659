//! Bounds-checked walking of netlink reply datagrams: message headers, DONE/ERROR codes and
//! route-style attributes. Pure functions over byte slices, so they can be tested and fuzzed
//! on crafted buffers.

use super::DumpError;

/// `struct nlmsghdr` (include/uapi/linux/netlink.h): len u32, type u16, flags u16, seq u32,
/// pid u32.
pub(crate) const NLMSG_HDRLEN: usize = 16;
pub(crate) const NLMSG_NOOP: u16 = 1;
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLMSG_OVERRUN: u16 = 4;
/// include/uapi/linux/sock_diag.h
pub(crate) const SOCK_DIAG_BY_FAMILY: u16 = 20;
pub(crate) const SOCK_DESTROY: u16 = 21;
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
/// NLM_F_ROOT | NLM_F_MATCH
pub(crate) const NLM_F_DUMP: u16 = 0x300;
/// Set by the kernel when the table changed while it was being dumped (netlink(7)).
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;

/// How far a reply datagram took the dump.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// NLMSG_DONE arrived with a zero code: the table is complete.
    pub done: bool,
    /// Some message carried NLM_F_DUMP_INTR: the table changed mid-dump.
    pub interrupted: bool,
    /// An NLMSG_ERROR with code 0 arrived: the acknowledgement of a request sent with
    /// NLM_F_ACK (a failed one is `DumpError::Kernel`).
    pub acked: bool,
}

/// Netlink messages and attributes are padded to 4 bytes (NLMSG_ALIGN / RTA_ALIGN).
pub(crate) fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

pub(crate) fn u16_be_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_ne_bytes(a))
}

fn malformed(what: &str, off: usize) -> DumpError {
    DumpError::Malformed(format!("{what} at byte {off}"))
}

/// Walk every message of one reply datagram, handing each SOCK_DIAG_BY_FAMILY payload to
/// `on_msg`. Messages with another sequence number (a stale reply) are skipped. DONE and
/// ERROR with a non-zero code become `DumpError::Kernel`: a missing diag module ends the dump
/// with DONE carrying -ENOENT (net/netlink/af_netlink.c, netlink_dump_done), which must not
/// read as "no sockets".
pub(crate) fn walk(
    buf: &[u8],
    seq: u32,
    mut on_msg: impl FnMut(&[u8]) -> Result<(), DumpError>,
) -> Result<Progress, DumpError> {
    let mut p = Progress::default();
    let mut off = 0usize;
    while off < buf.len() {
        let start = off;
        let rest = buf.get(off..).unwrap_or_default();
        let len = u32_at(rest, 0).ok_or_else(|| malformed("truncated header", off))? as usize;
        let (ty, flags, mseq) = match (u16_at(rest, 4), u16_at(rest, 6), u32_at(rest, 8)) {
            (Some(t), Some(f), Some(s)) if rest.len() >= NLMSG_HDRLEN => (t, f, s),
            _ => return Err(malformed("truncated header", off)),
        };
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(malformed(&format!("bad message length {len}"), off));
        }
        let payload = rest.get(NLMSG_HDRLEN..len).unwrap_or_default();
        off = off.saturating_add(align4(len));
        if mseq != seq {
            continue;
        }
        if flags & NLM_F_DUMP_INTR != 0 {
            p.interrupted = true;
        }
        match ty {
            NLMSG_NOOP => {}
            NLMSG_DONE => {
                // The code is an int; older kernels may send DONE without one.
                let code = payload
                    .get(..4)
                    .map(|s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
                    .unwrap_or(0);
                if code != 0 {
                    return Err(DumpError::Kernel(code.saturating_abs()));
                }
                p.done = true;
                return Ok(p);
            }
            NLMSG_ERROR => {
                let code = payload
                    .get(..4)
                    .map(|s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
                    .ok_or_else(|| malformed("truncated NLMSG_ERROR", start))?;
                // A zero code is an ACK: a dump does not ask for one, SOCK_DESTROY does.
                if code != 0 {
                    return Err(DumpError::Kernel(code.saturating_abs()));
                }
                p.acked = true;
            }
            NLMSG_OVERRUN => return Err(DumpError::Kernel(libc::ENOBUFS)),
            SOCK_DIAG_BY_FAMILY => on_msg(payload)?,
            _ => {}
        }
    }
    Ok(p)
}

/// Iterator over `struct rtattr`/`nlattr` TLVs: (type without flag bits, value). Stops at the
/// first attribute whose length does not fit; `bad()` tells whether that happened.
pub(crate) struct Attrs<'a> {
    buf: &'a [u8],
    off: usize,
    bad: bool,
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Attrs {
            buf,
            off: 0,
            bad: false,
        }
    }

    pub(crate) fn bad(&self) -> bool {
        self.bad
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.off..)?;
        if rest.is_empty() {
            return None;
        }
        let (Some(len), Some(ty)) = (u16_at(rest, 0), u16_at(rest, 2)) else {
            self.bad = true;
            return None;
        };
        let len = len as usize;
        let Some(val) = rest.get(4..len).filter(|_| len >= 4) else {
            self.bad = true;
            return None;
        };
        self.off = self.off.saturating_add(align4(len));
        // NLA_F_NESTED and NLA_F_NET_BYTEORDER live in the top two bits.
        Some((ty & 0x3fff, val))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Build one netlink message (header + payload), padded to 4 bytes.
    pub(crate) fn msg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = (NLMSG_HDRLEN + payload.len()) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(align4(v.len()), 0);
        v
    }

    /// Build one attribute, padded to 4 bytes.
    pub(crate) fn attr(ty: u16, val: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + val.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(val);
        v.resize(align4(v.len()), 0);
        v
    }

    pub(crate) fn done(seq: u32, code: i32) -> Vec<u8> {
        msg(NLMSG_DONE, 2, seq, &code.to_ne_bytes())
    }

    fn count(buf: &[u8], seq: u32) -> (Result<Progress, DumpError>, usize) {
        let mut n = 0;
        let r = walk(buf, seq, |_| {
            n += 1;
            Ok(())
        });
        (r, n)
    }

    #[test]
    fn done_with_enoent_is_a_kernel_error() {
        let (r, _) = count(&done(7, -libc::ENOENT), 7);
        assert!(
            matches!(r, Err(DumpError::Kernel(e)) if e == libc::ENOENT),
            "{r:?}"
        );
    }

    #[test]
    fn done_with_zero_completes_and_counts_messages() {
        let mut buf = msg(SOCK_DIAG_BY_FAMILY, 2, 7, &[1, 2, 3]);
        buf.extend(msg(SOCK_DIAG_BY_FAMILY, 2 | NLM_F_DUMP_INTR, 7, &[]));
        buf.extend(done(7, 0));
        let (r, n) = count(&buf, 7);
        assert_eq!(n, 2);
        let p = r.unwrap();
        assert!(p.done && p.interrupted);
    }

    #[test]
    fn done_without_code_completes() {
        let (r, _) = count(&msg(NLMSG_DONE, 2, 1, &[]), 1);
        assert!(r.unwrap().done);
    }

    #[test]
    fn error_message_with_code() {
        let mut payload = (-libc::EPERM).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[0; 16]);
        let (r, _) = count(&msg(NLMSG_ERROR, 0, 3, &payload), 3);
        assert!(
            matches!(r, Err(DumpError::Kernel(e)) if e == libc::EPERM),
            "{r:?}"
        );
    }

    #[test]
    fn zero_error_is_an_ack() {
        let mut payload = 0i32.to_ne_bytes().to_vec();
        payload.extend_from_slice(&[0; 16]);
        let (r, _) = count(&msg(NLMSG_ERROR, 0, 4, &payload), 4);
        let p = r.unwrap();
        assert!(p.acked && !p.done);
        let (r, _) = count(&msg(NLMSG_ERROR, 0, 5, &payload), 4);
        assert!(!r.unwrap().acked, "another request's ack");
    }

    #[test]
    fn other_sequence_numbers_are_skipped() {
        let mut buf = done(99, -libc::ENOENT);
        buf.extend(msg(SOCK_DIAG_BY_FAMILY, 2, 5, &[0; 4]));
        let (r, n) = count(&buf, 5);
        assert_eq!(n, 1);
        assert!(!r.unwrap().done);
    }

    #[test]
    fn truncations_are_malformed_never_panics() {
        let mut buf = msg(SOCK_DIAG_BY_FAMILY, 2, 1, &[9; 40]);
        buf.extend(done(1, 0));
        for cut in 1..buf.len() {
            let r = walk(&buf[..cut], 1, |_| Ok(()));
            // Cutting exactly at the message boundary is a valid, unfinished datagram.
            if cut == 56 {
                assert_eq!(r.unwrap(), Progress::default());
            } else {
                assert!(
                    matches!(r, Err(DumpError::Malformed(_))),
                    "cut {cut}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn length_below_header_or_past_end_is_malformed() {
        let mut buf = msg(SOCK_DIAG_BY_FAMILY, 2, 1, &[]);
        buf[0..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(matches!(
            walk(&buf, 1, |_| Ok(())),
            Err(DumpError::Malformed(_))
        ));
        buf[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(matches!(
            walk(&buf, 1, |_| Ok(())),
            Err(DumpError::Malformed(_))
        ));
    }

    #[test]
    fn attrs_walk_and_flag_bad_lengths() {
        let mut b = attr(11, &[1]);
        b.extend(attr(21 | 0x8000, &7u64.to_ne_bytes()));
        let got: Vec<_> = Attrs::new(&b).map(|(t, v)| (t, v.len())).collect();
        assert_eq!(got, vec![(11, 1), (21, 8)]);
        let mut bad = attr(1, &[0; 8]);
        bad[0] = 200;
        let mut it = Attrs::new(&bad);
        assert!(it.next().is_none());
        assert!(it.bad());
        let mut short = Attrs::new(&[4, 0]);
        assert!(short.next().is_none() && short.bad());
    }
}
