//! Socket states by their kernel number (include/net/tcp_states.h), named as ss names them.

/// A socket state as the kernel numbers it. Unix and UDP sockets reuse the TCP numbers
/// (CLOSE = unconnected, ESTABLISHED = connected), exactly as sock_diag and /proc report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct State(pub u8);

impl State {
    pub const ESTABLISHED: State = State(1);
    pub const SYN_SENT: State = State(2);
    pub const SYN_RECV: State = State(3);
    pub const FIN_WAIT1: State = State(4);
    pub const FIN_WAIT2: State = State(5);
    pub const TIME_WAIT: State = State(6);
    pub const CLOSE: State = State(7);
    pub const CLOSE_WAIT: State = State(8);
    pub const LAST_ACK: State = State(9);
    pub const LISTEN: State = State(10);
    pub const CLOSING: State = State(11);
    /// Request sockets; inet_diag reports them as SYN_RECV, kept for completeness.
    pub const NEW_SYN_RECV: State = State(12);
    /// Bound but not listening or connected TCP sockets (Linux 6.6+, only on request).
    pub const BOUND_INACTIVE: State = State(13);

    /// ss's spelling (misc/ss.c `sstate_name`); states ss does not know are "UNKNOWN".
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "ESTAB",
            2 => "SYN-SENT",
            3 | 12 => "SYN-RECV",
            4 => "FIN-WAIT-1",
            5 => "FIN-WAIT-2",
            6 => "TIME-WAIT",
            7 => "UNCONN",
            8 => "CLOSE-WAIT",
            9 => "LAST-ACK",
            10 => "LISTEN",
            11 => "CLOSING",
            13 => "BOUND-INACTIVE",
            _ => "UNKNOWN",
        }
    }

    /// Parse ss's display spelling back (used by tests and fixtures).
    pub fn from_name(name: &str) -> Option<State> {
        (1..=13).map(State).find(|s| s.name() == name && s.0 != 12)
    }

    pub fn bit(self) -> u32 {
        if self.0 < 32 {
            1 << self.0
        } else {
            0
        }
    }
}

/// A set of states as a bitmask by kernel number: the form sock_diag takes as its filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateSet(pub u32);

impl StateSet {
    /// Every state the kernel can report (bits 1..=13), as ss's SS_ALL.
    pub const ALL: StateSet = StateSet(0x3ffe);
    pub const NONE: StateSet = StateSet(0);
    /// ss's `-l`: listening TCP/unix and unconnected (bound) UDP/raw.
    pub const LISTENING: StateSet = StateSet((1 << 10) | (1 << 7));
    /// ss's default without `-a`/`-l` (SS_CONN): everything but LISTEN, CLOSE, TIME-WAIT and
    /// SYN-RECV.
    pub const CONNECTED: StateSet =
        StateSet(0x3ffe & !((1 << 10) | (1 << 7) | (1 << 6) | (1 << 3) | (1 << 12)));

    pub fn of(states: &[State]) -> StateSet {
        StateSet(states.iter().fold(0, |m, s| m | s.bit()))
    }

    pub fn contains(self, s: State) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn union(self, o: StateSet) -> StateSet {
        StateSet(self.0 | o.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13] {
            let s = State(n);
            assert_eq!(State::from_name(s.name()), Some(s), "{n}");
        }
        assert_eq!(State(0x0e).name(), "UNKNOWN");
        assert_eq!(State(12).name(), "SYN-RECV");
    }

    #[test]
    fn default_set_is_ss_conn() {
        let c = StateSet::CONNECTED;
        assert!(c.contains(State::ESTABLISHED));
        assert!(c.contains(State::CLOSE_WAIT));
        assert!(c.contains(State::SYN_SENT));
        assert!(!c.contains(State::LISTEN));
        assert!(!c.contains(State::CLOSE));
        assert!(!c.contains(State::TIME_WAIT));
        assert!(!c.contains(State::SYN_RECV));
        assert!(StateSet::LISTENING.contains(State::CLOSE));
    }
}
