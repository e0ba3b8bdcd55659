//! A glimpse of a TCP socket: what a repeated read needs to tell whether a socket is new or
//! changed since the last read, far cheaper to get for every socket than a full record
//! (watch's incremental reads, `cmd/watch/delta.rs`).

use super::{Family, Socket, State};
use std::net::IpAddr;
use std::num::NonZeroU64;

/// One TCP socket as the kernel's socket table holds it, before any sock_diag reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glimpse {
    pub cookie: NonZeroU64,
    /// As sock_diag reports it: a request socket (NEW_SYN_RECV) is SYN-RECV.
    pub state: State,
    /// The socket's own family (a v4-mapped connection of an IPv6 socket is IPv6).
    pub family: Family,
    pub local: (IpAddr, u16),
    pub remote: (IpAddr, u16),
    /// The interface it is bound to; 0 for none.
    pub iface: u32,
    /// Whether a file (an fd of some process, or none yet: an unaccepted connection)
    /// holds it: the socket has an inode exactly when this is true.
    pub held: bool,
    pub recv_q: u32,
    pub send_q: u32,
}

/// What must stay equal for a socket read earlier to stand for the socket now: its state,
/// whether it has an inode (an accepted connection gains one), and its queues when they are
/// watched. Computed alike from a glimpse and from a full read, so either can be compared
/// with the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    state: State,
    held: bool,
    queues: Option<(u32, u32)>,
}

/// A TCP socket's move from one state to another, as the kernel's `inet_sock_set_state`
/// tracepoint reports it (watch's state feed): the socket as it is just after the move. Its
/// queues are not read (0); a connect's first move (to SYN-SENT) may come before its local
/// port is chosen (port 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub old: State,
    /// `now.state` is the new state.
    pub now: Glimpse,
}

impl Glimpse {
    pub fn fingerprint(&self, queues: bool) -> Fingerprint {
        Fingerprint {
            state: self.state,
            held: self.held,
            queues: queues.then_some((self.recv_q, self.send_q)),
        }
    }
}

impl Fingerprint {
    pub fn state(&self) -> State {
        self.state
    }

    /// The fingerprint of a socket read in full (sock_diag). Unknown queues compare as 0, as
    /// the kernel reports minisockets'.
    pub fn of(s: &Socket, queues: bool) -> Fingerprint {
        Fingerprint {
            state: s.state,
            held: s.inode != 0,
            queues: queues.then(|| (s.recv_q.get().unwrap_or(0), s.send_q.get().unwrap_or(0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing;
    use crate::model::OptU32;

    fn glimpse(state: State, held: bool, q: (u32, u32)) -> Glimpse {
        Glimpse {
            cookie: NonZeroU64::new(9).unwrap(),
            state,
            family: Family::Ipv4,
            local: ("127.0.0.1".parse().unwrap(), 80),
            remote: ("127.0.0.1".parse().unwrap(), 4000),
            iface: 0,
            held,
            recv_q: q.0,
            send_q: q.1,
        }
    }

    #[test]
    fn a_glimpse_and_a_full_read_of_one_socket_agree() {
        let mut s = testing::tcp(State::ESTABLISHED, "127.0.0.1:80", "127.0.0.1:4000");
        s.inode = 7;
        s.recv_q = OptU32::some(3);
        s.send_q = OptU32::some(0);
        let g = glimpse(State::ESTABLISHED, true, (3, 0));
        assert_eq!(g.fingerprint(true), Fingerprint::of(&s, true));
        // Queues count only when watched.
        let g2 = glimpse(State::ESTABLISHED, true, (5, 1));
        assert_ne!(g2.fingerprint(true), Fingerprint::of(&s, true));
        assert_eq!(g2.fingerprint(false), Fingerprint::of(&s, false));
        // Accepted since: an inode appeared.
        s.inode = 0;
        assert_ne!(g.fingerprint(false), Fingerprint::of(&s, false));
        assert_ne!(
            glimpse(State::CLOSE_WAIT, true, (3, 0)).fingerprint(false),
            g.fingerprint(false)
        );
    }
}
