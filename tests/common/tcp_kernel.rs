//! What the glimpse and state-feed tests share: a glimpser as root, a socket's ends, and a
//! dump of every TCP socket to compare with.

use crate::procs;
use portwatch::model::{Endpoint, Family, Proto, Socket, StateSet};
use portwatch::platform::linux::netlink::dump_inet;
use portwatch::platform::{Glimpser, SourceOptions, System};
use std::net::IpAddr;

pub type End = (IpAddr, u16);

/// A glimpser, or `None` (after `require`'s say) when not root.
pub fn glimpser(why: &str) -> Option<Glimpser> {
    if !procs::require(procs::is_root(), why) {
        return None;
    }
    let sys = System::new(SourceOptions::default()).expect("system");
    Some(sys.glimpser().expect("a glimpser as root"))
}

pub fn ends(s: &Socket) -> (End, End) {
    let e = |e: &Option<Endpoint>| match e {
        Some(Endpoint::Inet { addr, port }) => (*addr, *port),
        other => panic!("not an inet end: {other:?}"),
    };
    (e(&s.local), e(&s.remote))
}

/// Every TCP socket of both families in this thread's network namespace, dumped.
pub fn dumped() -> Vec<Socket> {
    let mut v = dump_inet(Proto::Tcp, Family::Ipv4, StateSet::ALL).expect("dump");
    v.extend(dump_inet(Proto::Tcp, Family::Ipv6, StateSet::ALL).expect("dump"));
    v
}
