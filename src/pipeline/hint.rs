//! "Nothing matched, but it would have in another state": the one-line help when a listing
//! comes out empty only because of ss's default state set (`portwatch sport = :8000` on a host
//! where 8000 only has a listener prints nothing, as in ss).

use super::{run, Request};
use crate::error::Result;
use crate::model::{State, StateSet};
use crate::platform::{ProcessSource, SocketSource};
use crate::registry::Registry;

/// Which of ss's default sets the empty listing asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// Neither -l nor -a: connected sockets.
    Connected,
    /// -l: listening TCP/unix, unconnected UDP/raw.
    Listening,
}

/// Sockets outside the asked states that the same filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearMiss {
    pub asked: Asked,
    /// Matching listeners (LISTEN, UNCONN): shown by -l or -a.
    pub listening: usize,
    /// Matching sockets in other states (connected, TIME-WAIT, SYN-RECV): shown by -a.
    pub other: usize,
}

/// For a request that listed nothing: what the same filter matches in the states the
/// request did not ask for. `None` when the states were named (`state ...` in the filter,
/// or -a) or nothing else matches either. Costs one more read, only on an empty result.
pub fn near_misses(
    req: &Request,
    sockets: &dyn SocketSource,
    procs: &dyn ProcessSource,
    reg: &Registry,
) -> Result<Option<NearMiss>> {
    if req.filter.state_override().is_some() {
        return Ok(None);
    }
    let asked = if req.query.states == StateSet::CONNECTED {
        Asked::Connected
    } else if req.query.states == StateSet::LISTENING {
        Asked::Listening
    } else {
        return Ok(None);
    };
    let mut other = req.clone();
    other.query.states =
        StateSet(StateSet::ALL.0 & !req.query.states.0 & !State::BOUND_INACTIVE.bit());
    other.owners = false;
    other.query.detail = Default::default();
    other.user_names = false;
    let rows = run(&other, sockets, procs, reg)?.rows;
    let listening = rows
        .iter()
        .filter(|r| StateSet::LISTENING.contains(r.sock.state))
        .count();
    let miss = NearMiss {
        asked,
        listening,
        other: rows.len() - listening,
    };
    Ok((!rows.is_empty()).then_some(miss))
}
