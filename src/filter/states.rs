//! ss's state words (`state NAME`, `exclude NAME`) and groups, mapped to kernel state bits.
//!
//! Mirrors `scan_state()` in iproute2 misc/ss.c: names compare case-insensitively; the groups
//! are computed from SS_ALL (bits 0..=11 there). We keep bit 12 (NEW_SYN_RECV, displayed as
//! SYN-RECV) together with bit 3 so "syn-recv" also selects request sockets.

use crate::model::{State, StateSet};

/// ss's SS_ALL in our numbering: every state ss knows (1..=11) plus NEW_SYN_RECV (12), which
/// ss shows as SYN-RECV. BOUND_INACTIVE (13) is not in ss's set; `state bound-inactive` asks
/// for it explicitly.
pub const SS_ALL: StateSet = StateSet(0x1ffe);

fn bits(states: &[State]) -> u32 {
    states.iter().fold(0, |m, s| m | s.bit())
}

fn syn_recv() -> u32 {
    bits(&[State::SYN_RECV, State::NEW_SYN_RECV])
}

/// The state set a state word names, or `None` when ss would reject it
/// ("ss: wrong state name"). Accepts ss's spellings plus the display names ss prints
/// (ESTAB, LISTEN, UNCONN ...), all case-insensitive.
pub fn lookup(word: &str) -> Option<StateSet> {
    let w = word.to_ascii_lowercase();
    let all = SS_ALL.0;
    let close = State::CLOSE.bit();
    let listen = State::LISTEN.bit();
    let set = match w.as_str() {
        "all" => all,
        // ss.c scan_state: SS_ALL & ~(CLOSE|LISTEN): TIME-WAIT and SYN-RECV are included.
        "connected" => all & !(close | listen),
        "synchronized" => all & !(close | listen | State::SYN_SENT.bit()),
        "bucket" => syn_recv() | State::TIME_WAIT.bit(),
        "big" => all & !(syn_recv() | State::TIME_WAIT.bit()),
        "established" | "estab" => State::ESTABLISHED.bit(),
        "syn-sent" => State::SYN_SENT.bit(),
        "syn-recv" | "syn-rcv" => syn_recv(),
        "fin-wait-1" => State::FIN_WAIT1.bit(),
        "fin-wait-2" => State::FIN_WAIT2.bit(),
        "time-wait" => State::TIME_WAIT.bit(),
        // ss: "close"/"closed" and the table name "unconnected"; UNCONN is what it prints.
        "closed" | "close" | "unconnected" | "unconn" => close,
        "close-wait" => State::CLOSE_WAIT.bit(),
        "last-ack" => State::LAST_ACK.bit(),
        // Only LISTEN: unlike -l, `state listening` does not include unconnected UDP.
        "listening" | "listen" => listen,
        "closing" => State::CLOSING.bit(),
        "bound-inactive" => State::BOUND_INACTIVE.bit(),
        // ss accepts "unknown" (its table entry 0); the kernel never reports state 0.
        "unknown" => 1,
        _ => return None,
    };
    Some(StateSet(set))
}

/// The words `lookup` accepts, for error messages and the grammar documentation.
pub const NAMES: &str = "all, connected, synchronized, bucket, big, established, syn-sent, \
syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing";

#[cfg(test)]
mod tests {
    use super::*;

    fn has(set: StateSet, s: State) -> bool {
        set.contains(s)
    }

    #[test]
    fn groups_follow_ss_scan_state() {
        let conn = lookup("connected").unwrap();
        assert!(!has(conn, State::LISTEN) && !has(conn, State::CLOSE));
        assert!(has(conn, State::TIME_WAIT) && has(conn, State::SYN_RECV));
        assert!(has(conn, State::ESTABLISHED) && has(conn, State::SYN_SENT));
        let sync = lookup("synchronized").unwrap();
        assert!(!has(sync, State::SYN_SENT) && has(sync, State::ESTABLISHED));
        assert!(!has(sync, State::LISTEN));
        let bucket = lookup("bucket").unwrap();
        assert!(has(bucket, State::SYN_RECV) && has(bucket, State::TIME_WAIT));
        assert!(!has(bucket, State::ESTABLISHED));
        let big = lookup("big").unwrap();
        assert!(!has(big, State::SYN_RECV) && !has(big, State::TIME_WAIT));
        assert!(has(big, State::LISTEN) && has(big, State::CLOSE));
        assert_eq!(lookup("listening"), Some(StateSet::of(&[State::LISTEN])));
        assert_eq!(lookup("CLOSED"), Some(StateSet::of(&[State::CLOSE])));
        assert_eq!(lookup("syn-rcv"), lookup("syn-recv"));
        assert!(has(lookup("syn-recv").unwrap(), State::NEW_SYN_RECV));
        assert!(!has(lookup("all").unwrap(), State::BOUND_INACTIVE));
        assert_eq!(lookup("nonsense"), None);
    }

    #[test]
    fn every_documented_name_resolves() {
        for name in NAMES.split(", ") {
            assert!(lookup(name).is_some(), "{name}");
        }
    }
}
