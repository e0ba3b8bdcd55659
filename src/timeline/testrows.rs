//! Hand-built rows for the tests of this module: loopback TCP sockets and their owners.

use crate::model::OptU32;
use crate::model::{Endpoint, Family, Owner, Owners, Proto, Row, SockType, Socket, State};
use std::net::{IpAddr, Ipv4Addr};

pub fn ep(port: u16) -> Option<Endpoint> {
    Some(Endpoint::Inet {
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
    })
}

/// A TCP socket on 127.0.0.1 (remote port 0: a listener's `*`), queues empty.
pub fn tcp(state: State, inode: u64, local: u16, remote: u16) -> Socket {
    Socket {
        inode,
        local: ep(local),
        remote: ep(remote),
        recv_q: OptU32::some(0),
        send_q: OptU32::some(0),
        ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, state)
    }
}

pub fn owner(pid: u32, comm: &str) -> Owner {
    Owner::new(pid, comm, 3, Some(0))
}

/// A row whose owner scan ran and found `owners`.
pub fn row(s: Socket, owners: &[Owner]) -> Row {
    Row {
        owners: Some(Owners::from(owners.to_vec())),
        ..Row::new(s)
    }
}
