//! How far a listener reaches: from its bind address (classified by `filter::scope_of`), the
//! device it is bound to, and the interfaces that exist in its network namespace.

use crate::filter::ast::Scope;
use crate::filter::scope_of;
pub use crate::model::Interface;
use crate::model::{Endpoint, Socket};
use serde::{Serialize, Serializer};
use std::net::IpAddr;

/// The reach of a bind address, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// 127.0.0.0/8, ::1, or a socket bound to a loopback device: this host only.
    Loopback,
    /// fe80::/10, 169.254.0.0/16: the attached link only.
    LinkLocal,
    /// RFC 1918, fc00::/7, and multicast groups (received from the local network).
    Private,
    /// Any other unicast address.
    Public,
    /// 0.0.0.0 or `::`: every interface, and every address the host gains later (a DHCP
    /// lease, a VPN, a container bridge), so it is judged like a public address.
    Wildcard,
}

impl Reach {
    pub fn name(self) -> &'static str {
        match self {
            Reach::Loopback => "loopback",
            Reach::LinkLocal => "link-local",
            Reach::Private => "private",
            Reach::Public => "public",
            Reach::Wildcard => "wildcard",
        }
    }

    /// Reachable from another host.
    pub fn exposed(self) -> bool {
        self != Reach::Loopback
    }

    /// Public addresses and wildcards: reachable from anywhere the host is.
    pub fn public_like(self) -> bool {
        matches!(self, Reach::Public | Reach::Wildcard)
    }

    pub fn of_addr(ip: IpAddr) -> Reach {
        match scope_of(ip) {
            Scope::Loopback => Reach::Loopback,
            Scope::Wildcard => Reach::Wildcard,
            Scope::Private | Scope::Multicast => Reach::Private,
            Scope::LinkLocal => Reach::LinkLocal,
            Scope::Public => Reach::Public,
        }
    }
}

impl Serialize for Reach {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Where one listening socket can be reached from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub reach: Reach,
    /// External interfaces holding the address (every external interface with an address
    /// of a family the socket serves, for a wildcard). Packets for an address may arrive on
    /// any interface (Linux's weak host model): the firewall is evaluated for all of them.
    pub interfaces: Vec<String>,
    /// The socket carries IPv4 (an IPv4 socket, a dual-stack or v4-mapped IPv6 one).
    pub ipv4: bool,
    pub ipv6: bool,
    /// The bound address; `None` for a wildcard.
    pub addr: Option<IpAddr>,
}

fn same_addr(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

/// The exposure of an inet socket; `None` for unix sockets and unbound ones. `device` is the
/// interface the socket is bound to (SO_BINDTODEVICE), when it is.
pub fn exposure(sock: &Socket, device: Option<&str>, ifaces: &[Interface]) -> Option<Exposure> {
    let Some(Endpoint::Inet { addr, .. }) = sock.local.as_ref() else {
        return None;
    };
    let (ipv4, ipv6) = (sock.serves_ipv4(), sock.serves_ipv6());
    let mut reach = Reach::of_addr(*addr);
    let bound_dev = device.and_then(|d| ifaces.iter().find(|i| i.name == d));
    if bound_dev.is_some_and(|i| i.loopback) {
        reach = Reach::Loopback;
    }
    let interfaces: Vec<String> = if reach == Reach::Loopback {
        Vec::new()
    } else {
        ifaces
            .iter()
            .filter(|i| i.external())
            .filter(|i| device.is_none_or(|d| d == i.name))
            .filter(|i| {
                i.addrs.iter().any(|a| match reach {
                    Reach::Wildcard => (a.is_ipv4() && ipv4) || (a.is_ipv6() && ipv6),
                    _ => same_addr(*a, *addr),
                })
            })
            .map(|i| i.name.clone())
            .collect()
    };
    Some(Exposure {
        reach,
        interfaces,
        ipv4,
        ipv6,
        addr: (reach != Reach::Wildcard).then_some(*addr),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, Proto, SockType, State};

    fn iface(name: &str, loopback: bool, addrs: &[&str]) -> Interface {
        Interface {
            name: name.into(),
            up: true,
            loopback,
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    fn listener(addr: &str, v6only: Option<bool>) -> Socket {
        let addr: IpAddr = addr.parse().unwrap();
        let family = if addr.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        Socket {
            local: Some(Endpoint::Inet { addr, port: 23 }),
            v6only,
            ..Socket::new(Proto::Tcp, family, SockType::Stream, State::LISTEN)
        }
    }

    #[test]
    fn reach_of_bind_addresses() {
        let ifaces = [
            iface("lo", true, &["127.0.0.1", "::1"]),
            iface("eth0", false, &["10.1.2.3", "fe80::1"]),
            iface("wan", false, &["203.0.113.5"]),
        ];
        // (address, v6only, device, reach, interfaces, ipv4, ipv6)
        type Case = (
            &'static str,
            Option<bool>,
            Option<&'static str>,
            Reach,
            &'static [&'static str],
            bool,
            bool,
        );
        let table: &[Case] = &[
            ("127.0.0.1", None, None, Reach::Loopback, &[], true, false),
            ("::1", Some(true), None, Reach::Loopback, &[], false, true),
            (
                "::ffff:127.0.0.1",
                Some(false),
                None,
                Reach::Loopback,
                &[],
                true,
                false,
            ),
            (
                "10.1.2.3",
                None,
                None,
                Reach::Private,
                &["eth0"],
                true,
                false,
            ),
            (
                "::ffff:10.1.2.3",
                Some(false),
                None,
                Reach::Private,
                &["eth0"],
                true,
                false,
            ),
            (
                "203.0.113.5",
                None,
                None,
                Reach::Public,
                &["wan"],
                true,
                false,
            ),
            (
                "fe80::1",
                Some(true),
                None,
                Reach::LinkLocal,
                &["eth0"],
                false,
                true,
            ),
            (
                "0.0.0.0",
                None,
                None,
                Reach::Wildcard,
                &["eth0", "wan"],
                true,
                false,
            ),
            // Dual-stack: both families; the v6-only one only interfaces with IPv6.
            (
                "::",
                Some(false),
                None,
                Reach::Wildcard,
                &["eth0", "wan"],
                true,
                true,
            ),
            (
                "::",
                Some(true),
                None,
                Reach::Wildcard,
                &["eth0"],
                false,
                true,
            ),
            // Bound to a device: a wildcard on lo is loopback only; on eth0 that one only.
            (
                "0.0.0.0",
                None,
                Some("lo"),
                Reach::Loopback,
                &[],
                true,
                false,
            ),
            (
                "0.0.0.0",
                None,
                Some("eth0"),
                Reach::Wildcard,
                &["eth0"],
                true,
                false,
            ),
        ];
        for &(addr, v6only, dev, reach, names, v4, v6) in table {
            let e = exposure(&listener(addr, v6only), dev, &ifaces).unwrap();
            assert_eq!(e.reach, reach, "{addr} {dev:?}");
            assert_eq!(e.interfaces, names, "{addr} {dev:?}");
            assert_eq!((e.ipv4, e.ipv6), (v4, v6), "{addr}");
        }
    }

    #[test]
    fn wildcard_in_a_namespace_with_only_loopback_reaches_no_interface_yet() {
        let e = exposure(
            &listener("0.0.0.0", None),
            None,
            &[iface("lo", true, &["127.0.0.1"])],
        )
        .unwrap();
        assert_eq!(e.reach, Reach::Wildcard);
        assert!(e.interfaces.is_empty());
        let mut down = iface("eth0", false, &["10.0.0.1"]);
        down.up = false;
        let e = exposure(&listener("0.0.0.0", None), None, &[down]).unwrap();
        assert!(e.interfaces.is_empty(), "a down interface receives nothing");
    }
}
