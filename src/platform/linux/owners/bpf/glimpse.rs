//! The TCP glimpse: one pass of a TCP iterator (`tcp_glimpse` in owners.bpf.c) giving every
//! TCP socket's identity, state, queues and whether a file holds it, 64 bytes each. Half the
//! kernel time of a sock_diag dump of the same sockets (no reply to fill, no inode or uid
//! behind locks), so a repeated read (`watch`) can take the glimpse of every socket and ask
//! sock_diag only about the new and changed ones.

use super::record::read_more;
use super::OBJECT;
use super::{from_load_error, kernel_layout, load_program, loader, Unavailable};
use crate::model::{Family, Glimpse, State};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU64;
use std::os::fd::OwnedFd;

/// The program's section in the object.
pub(super) const SECTION: &str = "iter/tcp/glimpse";

/// One socket's record (`struct glimpse_rec`).
pub const RECORD_SIZE: usize = 64;

/// Bytes asked for per `read` (the kernel fills up to its seq_file buffer per call).
const READ_SIZE: usize = 64 * 1024;

/// The glimpse program, loaded and verified: take as many glimpses as needed.
pub struct TcpGlimpse {
    prog: OwnedFd,
    buf: Vec<u8>,
}

impl std::fmt::Debug for TcpGlimpse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TcpGlimpse")
    }
}

impl TcpGlimpse {
    /// Load the program, or say why it cannot be (as the owner scan's: privilege, BTF, a
    /// kernel without the TCP iterator (5.9) or the fields, a refusal of the verifier: the cookie
    /// helper is allowed in such programs from 5.12).
    pub fn load() -> Result<TcpGlimpse, Unavailable> {
        let layout = kernel_layout()?;
        let Some(tcp) = layout.tcp_func.filter(|_| layout.glimpse) else {
            return Err(Unavailable::Load(
                "the kernel's BTF lacks the TCP iterator or a socket field it reads".into(),
            ));
        };
        let prog = loader::object(OBJECT, SECTION)
            .and_then(|o| load_program(o, &layout.offsets, tcp))
            .map_err(from_load_error)?;
        Ok(TcpGlimpse {
            prog,
            buf: vec![0u8; READ_SIZE + RECORD_SIZE],
        })
    }

    /// A glimpse of every TCP socket of this network namespace, appended to `out`.
    pub fn read(&mut self, out: &mut Vec<Glimpse>) -> Result<(), Unavailable> {
        let file = loader::iterate_process(&self.prog, None).map_err(from_load_error)?;
        read_glimpses(file, &mut self.buf, out).map_err(Unavailable::Read)
    }
}

/// Parse the stream of `src` into `out`, using `buf` (at least one record long) to read.
pub fn read_glimpses(
    mut src: impl Read,
    buf: &mut [u8],
    out: &mut Vec<Glimpse>,
) -> std::io::Result<()> {
    let mut filled = 0;
    while let Some(n) = read_more(&mut src, buf.get_mut(filled..).unwrap_or_default())? {
        filled = (filled + n).min(buf.len());
        let whole = filled / RECORD_SIZE * RECORD_SIZE;
        let records = buf.get(..whole).unwrap_or_default();
        out.extend(records.chunks_exact(RECORD_SIZE).filter_map(parse));
        buf.copy_within(whole..filled, 0);
        filled -= whole;
    }
    Ok(())
}

/// One record; `None` for one without a cookie (none is ever 0) or of another family.
pub fn parse(r: &[u8]) -> Option<Glimpse> {
    let u32_at = |at: usize| Some(u32::from_ne_bytes(r.get(at..at + 4)?.try_into().ok()?));
    let (local, remote) = ends(r, *r.get(25)?, 20, 22, 32, 48)?;
    Some(Glimpse {
        cookie: NonZeroU64::new(u64::from_ne_bytes(r.get(..8)?.try_into().ok()?))?,
        state: as_diag_reports(*r.get(24)?),
        family: family_of(*r.get(25)?)?,
        local,
        remote,
        iface: u32_at(16)?,
        held: *r.get(26)? != 0,
        recv_q: u32_at(8)?,
        send_q: u32_at(12)?,
    })
}

/// The family of a record's `family` byte (`skc_family`); `None` for one neither IPv4 nor
/// IPv6.
pub(super) fn family_of(byte: u8) -> Option<Family> {
    match i32::from(byte) {
        libc::AF_INET => Some(Family::Ipv4),
        libc::AF_INET6 => Some(Family::Ipv6),
        _ => None,
    }
}

/// A state as sock_diag reports it: a request socket (NEW_SYN_RECV) is SYN-RECV
/// (inet_req_diag_fill).
pub(super) fn as_diag_reports(state: u8) -> State {
    match State(state) {
        State::NEW_SYN_RECV => State::SYN_RECV,
        s => s,
    }
}

/// A record's local and remote ends, as the programs write them (the glimpse's and the
/// feed's alike): the local port in native order at `sport`, the remote one in network order
/// at `dport`, 16-byte addresses at `saddr` and `daddr` of which IPv4 uses the first 4 (an
/// IPv6 socket's v4-mapped address stays IPv6, as sock_diag reports it).
pub(super) fn ends(
    r: &[u8],
    family: u8,
    sport: usize,
    dport: usize,
    saddr: usize,
    daddr: usize,
) -> Option<((IpAddr, u16), (IpAddr, u16))> {
    let family = family_of(family)?;
    let u16_at = |at: usize| r.get(at..at + 2).map(|b| [b[0], b[1]]);
    let addr = |at: usize| -> Option<IpAddr> {
        let b: [u8; 16] = r.get(at..at + 16)?.try_into().ok()?;
        Some(match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            _ => IpAddr::V6(Ipv6Addr::from(b)),
        })
    };
    Some((
        (addr(saddr)?, u16::from_ne_bytes(u16_at(sport)?)),
        (addr(daddr)?, u16::from_be_bytes(u16_at(dport)?)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cookie: u64, state: u8, family: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut r = vec![0u8; RECORD_SIZE];
        r[..8].copy_from_slice(&cookie.to_ne_bytes());
        r[8..12].copy_from_slice(&5u32.to_ne_bytes());
        r[12..16].copy_from_slice(&128u32.to_ne_bytes());
        r[16..20].copy_from_slice(&2u32.to_ne_bytes());
        r[20..22].copy_from_slice(&sport.to_ne_bytes());
        r[22..24].copy_from_slice(&dport.to_be_bytes());
        r[24] = state;
        r[25] = family;
        r[26] = 1;
        r[32..36].copy_from_slice(&[127, 0, 0, 1]);
        r[48..52].copy_from_slice(&[127, 0, 0, 2]);
        r
    }

    #[test]
    fn a_record_reads_as_sock_diag_would_report_it() {
        let g = parse(&record(77, 12, 2, 8080, 40000)).expect("parsed");
        assert_eq!(g.cookie.get(), 77);
        assert_eq!(g.state, State::SYN_RECV);
        assert_eq!(g.family, Family::Ipv4);
        assert_eq!(g.local, ("127.0.0.1".parse().unwrap(), 8080));
        assert_eq!(g.remote, ("127.0.0.2".parse().unwrap(), 40000));
        assert_eq!((g.iface, g.held, g.recv_q, g.send_q), (2, true, 5, 128));
        let v6 = parse(&record(78, 1, 10, 1, 2)).expect("parsed");
        assert_eq!(v6.family, Family::Ipv6);
        assert!(v6.local.0.is_ipv6());
        assert_eq!(parse(&record(0, 1, 2, 1, 2)), None);
        assert_eq!(parse(&record(1, 1, 1, 1, 2)), None);
    }

    #[test]
    fn records_split_across_reads_are_joined() {
        struct Trickle(Vec<u8>, usize);
        impl Read for Trickle {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = 7.min(out.len()).min(self.0.len() - self.1);
                out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let stream: Vec<u8> = (1..=20u64)
            .flat_map(|c| record(c, 1, 2, 80, 4000 + c as u16))
            .chain([0xa5; 9])
            .collect();
        let mut out = Vec::new();
        let mut buf = vec![0u8; RECORD_SIZE + 3];
        read_glimpses(Trickle(stream, 0), &mut buf, &mut out).expect("read");
        let cookies: Vec<u64> = out.iter().map(|g| g.cookie.get()).collect();
        assert_eq!(cookies, (1..=20).collect::<Vec<_>>());
    }
}
