//! netstat2-based source: the default off Linux, selectable on Linux to cross-check netlink.
//! It knows TCP and UDP only, no queues, no v6only, and no UDP state: such sockets get the
//! state UNKNOWN rather than a guess.

use crate::error::{Error, Result};
use crate::model::{
    Endpoint, Family, OptU32, Proto, Query, Snapshot, SockType, Socket, State, Warning,
};
use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};

fn tcp_state(s: TcpState) -> State {
    match s {
        TcpState::Established => State::ESTABLISHED,
        TcpState::SynSent => State::SYN_SENT,
        TcpState::SynReceived => State::SYN_RECV,
        TcpState::FinWait1 => State::FIN_WAIT1,
        TcpState::FinWait2 => State::FIN_WAIT2,
        TcpState::TimeWait => State::TIME_WAIT,
        TcpState::Closed => State::CLOSE,
        TcpState::CloseWait => State::CLOSE_WAIT,
        TcpState::LastAck => State::LAST_ACK,
        TcpState::Listen => State::LISTEN,
        TcpState::Closing => State::CLOSING,
        TcpState::DeleteTcb | TcpState::Unknown => State(0),
    }
}

/// Read TCP and UDP sockets through netstat2.
pub fn read_sockets(q: &Query) -> Result<Snapshot> {
    let mut snap = Snapshot::default();
    let mut af = AddressFamilyFlags::empty();
    if q.ipv4 {
        af |= AddressFamilyFlags::IPV4;
    }
    if q.ipv6 {
        af |= AddressFamilyFlags::IPV6;
    }
    let mut pf = ProtocolFlags::empty();
    if q.tcp {
        pf |= ProtocolFlags::TCP;
    }
    if q.udp {
        pf |= ProtocolFlags::UDP;
    }
    if q.unix || q.raw {
        snap.warnings.push(Warning::new(
            "proto-unavailable",
            "the netstat2 backend reads TCP and UDP only; unix and raw sockets are not shown",
        ));
    }
    if af.is_empty() || pf.is_empty() {
        return Ok(snap);
    }
    let infos =
        netstat2::get_sockets_info(af, pf).map_err(|e| Error::System(format!("netstat2: {e}")))?;
    for info in infos {
        let family = if info.local_addr().is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        let (proto, state, remote) = match &info.protocol_socket_info {
            ProtocolSocketInfo::Tcp(t) => (
                Proto::Tcp,
                tcp_state(t.state),
                Some(Endpoint::Inet {
                    addr: t.remote_addr,
                    port: t.remote_port,
                }),
            ),
            // netstat2 drops the UDP state and peer: unknown, not "unconnected".
            ProtocolSocketInfo::Udp(_) => (Proto::Udp, State(0), None),
        };
        let wanted = if state == State(0) {
            q.states.contains(State::CLOSE) || q.states.contains(State::ESTABLISHED)
        } else {
            q.states.contains(state)
        };
        if !wanted {
            continue;
        }
        // TIME-WAIT has no owner; the kernel's uid 0 there is not root (as in the other
        // backends).
        #[cfg(target_os = "linux")]
        let (inode, uid) = (
            u64::from(info.inode),
            (state != State::TIME_WAIT).then_some(info.uid),
        );
        #[cfg(not(target_os = "linux"))]
        let (inode, uid) = (0u64, None);
        snap.sockets.push(Socket {
            proto,
            family,
            sock_type: if proto == Proto::Tcp {
                SockType::Stream
            } else {
                SockType::Dgram
            },
            state,
            local: Some(Endpoint::Inet {
                addr: info.local_addr(),
                port: info.local_port(),
            }),
            remote,
            recv_q: OptU32::NONE,
            send_q: OptU32::NONE,
            inode,
            uid: uid.into(),
            v6only: None,
            peer_inode: None,
            iface: OptU32::NONE,
            netns: None,
            cgroup: None,
            cookie: None,
            extras: None,
        });
    }
    Ok(snap)
}

/// Owners off Linux: netstat2 gives pids only (no fd, no command name), so nothing is claimed.
#[cfg(not(target_os = "linux"))]
pub fn scan_owners(_wanted: super::Wanted<'_>) -> super::OwnerMap {
    let mut map = super::OwnerMap::default();
    map.warnings.push(Warning::new(
        "owners-unsupported",
        "process owners are only read on Linux",
    ));
    map
}
