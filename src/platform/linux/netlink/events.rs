//! The close-event stream `ss -E` reads: a netlink socket subscribed to sock_diag's destroy
//! multicast groups (SKNLGRP_INET{,6}_{TCP,UDP}_DESTROY, include/uapi/linux/sock_diag.h).
//! The kernel sends one message as each full TCP or UDP socket is freed (net/core/sock.c,
//! __sk_free -> sock_diag_broadcast_destroy), from a workqueue, so it arrives a moment after
//! the close. TIME-WAIT and request minisockets are not full sockets and send nothing; the
//! full socket that a TIME-WAIT one replaces does.
//!
//! Only sockets of the subscriber's network namespace are reported. Binding needs no
//! privilege on current kernels (NL_CFG_F_NONROOT_RECV), but a kernel or a sandbox may
//! refuse it: `EventsError::NotPermitted`.

use super::{inet, kernel_addr, new_socket, recv_from_kernel, wire, DumpError, RECV_BUF};
use crate::model::{Query, Socket};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// enum sknetlink_groups.
const SKNLGRP_INET_TCP_DESTROY: u32 = 1;
const SKNLGRP_INET_UDP_DESTROY: u32 = 2;
const SKNLGRP_INET6_TCP_DESTROY: u32 = 3;
const SKNLGRP_INET6_UDP_DESTROY: u32 = 4;
/// A burst of closes (a server shutting down) queues one message per socket; the default
/// receive buffer (rmem_default, ~200 KiB) holds a few hundred before the kernel drops.
const EVENTS_RCVBUF: libc::c_int = 8 << 20;

/// Why the stream could not start or continue.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The kernel refused the subscription (EPERM/EACCES).
    #[error("not permitted to watch socket closes ({0}); run as root")]
    NotPermitted(io::Error),
    /// Neither TCP nor UDP, or no IP family, was asked for: nothing can be watched.
    #[error("close events exist only for TCP and UDP sockets")]
    NothingToWatch,
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("malformed close event: {0}")]
    Malformed(String),
}

/// What one `CloseEvents::wait` brought.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Sockets appended to the caller's vector.
    pub sockets: usize,
    /// The receive queue overflowed (ENOBUFS): some closes since the last call were lost.
    pub overrun: bool,
}

/// A subscription to socket closes; dropped = unsubscribed.
pub struct CloseEvents {
    sock: OwnedFd,
    buf: Vec<u8>,
}

/// The multicast group bitmask for the protocols and families `q` selects (bit g-1 for
/// group g, as bind(2) takes it).
fn groups(q: &Query) -> u32 {
    let mut g = 0;
    let mut add = |on: bool, group: u32| {
        if on {
            g |= 1 << (group - 1);
        }
    };
    add(q.tcp && q.ipv4, SKNLGRP_INET_TCP_DESTROY);
    add(q.udp && q.ipv4, SKNLGRP_INET_UDP_DESTROY);
    add(q.tcp && q.ipv6, SKNLGRP_INET6_TCP_DESTROY);
    add(q.udp && q.ipv6, SKNLGRP_INET6_UDP_DESTROY);
    g
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

impl CloseEvents {
    /// Subscribe to the closes of the TCP and UDP sockets of the families `q` selects (its
    /// states and other protocols play no part: a closing socket has no useful state).
    pub fn subscribe(q: &Query) -> Result<CloseEvents, EventsError> {
        let mask = groups(q);
        if mask == 0 {
            return Err(EventsError::NothingToWatch);
        }
        let sock = new_socket()?;
        let size_of_int = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SO_RCVBUFFORCE passes rmem_max for root; others get what SO_RCVBUF allows.
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: the value outlives the call and the length is its size.
            let rc = unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&EVENTS_RCVBUF as *const libc::c_int).cast(),
                    size_of_int,
                )
            };
            if rc == 0 {
                break;
            }
        }
        let mut addr = kernel_addr();
        addr.nl_groups = mask;
        // SAFETY: addr outlives the call and the length is its size.
        let rc = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            let e = last_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM | libc::EACCES) => EventsError::NotPermitted(e),
                _ => e.into(),
            });
        }
        Ok(CloseEvents {
            sock,
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// Wait up to `timeout` for closes and append the closed sockets to `out` (with
    /// tcp_info for TCP; no uid, no inode: the kernel does not send them). Returns early,
    /// with nothing, when a signal interrupts the wait, so a loop around it can check a
    /// stop flag set by a signal handler.
    pub fn wait(
        &mut self,
        timeout: Duration,
        out: &mut Vec<Socket>,
    ) -> Result<Received, EventsError> {
        let mut got = Received::default();
        let mut pfd = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = last_error();
            return match e.kind() {
                io::ErrorKind::Interrupted => Ok(got),
                _ => Err(e.into()),
            };
        }
        if rc == 0 {
            return Ok(got);
        }
        // Drain what is queued now, without blocking.
        loop {
            match self.recv_now() {
                Ok(Some(n)) => {
                    let before = out.len();
                    let data = self.buf.get(..n).unwrap_or_default();
                    parse_events(data, out).map_err(|e| EventsError::Malformed(e.to_string()))?;
                    got.sockets += out.len() - before;
                }
                Ok(None) => return Ok(got),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => got.overrun = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(got),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One queued datagram from the kernel, `None` when the queue is empty. One larger
    /// than the buffer cannot be a close event (a few hundred bytes): skipped.
    fn recv_now(&mut self) -> io::Result<Option<usize>> {
        loop {
            match recv_from_kernel(&self.sock, &mut self.buf, libc::MSG_DONTWAIT) {
                Ok(n) if n <= self.buf.len() => return Ok(Some(n)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Parse the close events in one datagram: sequence 0, one inet_diag_msg each. Pure, for
/// tests and fuzzing.
pub(crate) fn parse_events(buf: &[u8], out: &mut Vec<Socket>) -> Result<(), DumpError> {
    wire::walk(buf, 0, |m| {
        if let Some(s) = inet::parse_event(m)? {
            out.push(s);
        }
        Ok(())
    })
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::info::tests::full_info;
    use super::super::wire::tests::{attr, msg};
    use super::*;
    use crate::model::{Endpoint, Family, Proto, State, StateSet};

    fn query(tcp: bool, udp: bool, ipv4: bool, ipv6: bool) -> Query {
        Query {
            tcp,
            udp,
            unix: true,
            raw: true,
            ipv4,
            ipv6,
            states: StateSet::ALL,
            detail: Default::default(),
            local_ports: Default::default(),
        }
    }

    #[test]
    fn groups_follow_protocols_and_families() {
        assert_eq!(groups(&query(true, true, true, true)), 0b1111);
        assert_eq!(groups(&query(true, false, true, false)), 0b0001);
        assert_eq!(groups(&query(false, true, false, true)), 0b1000);
        assert_eq!(groups(&query(true, false, false, true)), 0b0100);
        assert_eq!(groups(&query(false, false, true, true)), 0);
        assert!(matches!(
            CloseEvents::subscribe(&query(false, false, true, true)),
            Err(EventsError::NothingToWatch)
        ));
    }

    /// A close event as inet_diag_handler_get_info builds it: uid and inode zero,
    /// INET_DIAG_PROTOCOL, tcp_info for TCP.
    fn event(proto: u8, family: u8) -> Vec<u8> {
        let mut m = vec![0u8; 72];
        m[0] = family;
        m[1] = 7;
        m[4..6].copy_from_slice(&5000u16.to_be_bytes());
        m[6..8].copy_from_slice(&6000u16.to_be_bytes());
        m[8..12].copy_from_slice(&[127, 0, 0, 1]);
        m[24..28].copy_from_slice(&[127, 0, 0, 1]);
        m[44..48].copy_from_slice(&9u32.to_ne_bytes());
        m.extend(attr(10, &[proto]));
        if proto == libc::IPPROTO_TCP as u8 {
            m.extend(attr(2, &full_info()));
        }
        msg(wire::SOCK_DIAG_BY_FAMILY, 0, 0, &m)
    }

    #[test]
    fn events_carry_protocol_and_tcp_info_but_no_owner() {
        let mut buf = event(libc::IPPROTO_TCP as u8, libc::AF_INET as u8);
        buf.extend(event(libc::IPPROTO_UDP as u8, libc::AF_INET as u8));
        // UDP-Lite shares the UDP groups; the model has no name for it.
        buf.extend(event(libc::IPPROTO_UDPLITE as u8, libc::AF_INET as u8));
        let mut out = Vec::new();
        parse_events(&buf, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        let t = &out[0];
        assert_eq!(
            (t.proto, t.family, t.state),
            (Proto::Tcp, Family::Ipv4, State::CLOSE)
        );
        assert_eq!((t.uid.get(), t.inode), (None, 0));
        assert_eq!(t.local.as_ref().and_then(Endpoint::port), Some(5000));
        assert_eq!(t.cookie.map(|c| c.get()), Some(9));
        let info = t.extras.as_ref().and_then(|x| x.tcp_info.as_ref());
        assert_eq!(info.and_then(|i| i.mss.get()), Some(16_001));
        assert_eq!((out[1].proto, out[1].extras.is_none()), (Proto::Udp, true));
    }

    #[test]
    fn truncated_events_are_malformed_never_panic() {
        let good = event(libc::IPPROTO_TCP as u8, libc::AF_INET6 as u8);
        for cut in 0..good.len() {
            let mut b = good[..cut].to_vec();
            if b.len() >= 4 {
                b[..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            }
            let _ = parse_events(&b, &mut Vec::new());
        }
    }
}
