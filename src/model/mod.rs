//! The data model every stage shares: sockets as the kernel reports them, their owners, and the
//! snapshot a backend returns. No dependencies on OS crates: backends convert at their edge.

mod container;
mod extras;
mod glimpse;
mod host;
pub mod kill;
mod opt;
mod owner;
mod ownermap;
mod owners;
mod row;
mod service;
mod sockstat;
mod state;
#[cfg(test)]
pub(crate) mod testing;
mod text;

pub use container::{Attribution, BadNetnsSpec, Container, Netns, NetnsSpec, Runtime, Unit};
pub use extras::{CcInfo, CongName, Detail, Extras, Shutdown, SkMem, TcpInfo, Timer, TimerKind};
pub use glimpse::{Fingerprint, Glimpse, StateChange};
pub use host::{ExeInfo, HostFacts, Interface};
pub use opt::{OptU32, OptU64};
pub use owner::{Owner, Who};
pub use ownermap::{InodeSet, OwnerMap, U64Hasher, U64Map, U64Set, Wanted};
pub use owners::Owners;
pub use row::{Name, Rare, RareBox, Row};
pub use service::{Annotation, PortClass, ServiceName, Source};
pub use sockstat::{SockStat, Split, SsTotals};
pub use state::{State, StateSet};
pub use text::Text;

use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroU64};

/// Transport protocol, as portwatch groups sockets (ss's Netid, minus the unix sub-type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
    Unix,
    Raw,
}

impl Proto {
    /// Lower-case name used in JSON, CSV and registry keys.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Unix => "unix",
            Proto::Raw => "raw",
        }
    }
}

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Ipv4,
    Ipv6,
    Unix,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
            Family::Unix => "unix",
        }
    }
}

/// Socket type; only unix sockets are shown by type (ss's u_str / u_dgr / u_seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SockType {
    Stream,
    Dgram,
    Seqpacket,
    Raw,
}

impl SockType {
    pub fn name(self) -> &'static str {
        match self {
            SockType::Stream => "stream",
            SockType::Dgram => "dgram",
            SockType::Seqpacket => "seqpacket",
            SockType::Raw => "raw",
        }
    }
}

/// A unix socket name: a filesystem path, or an abstract name (shown with a leading '@').
/// Kept as raw bytes: paths are chosen by other users and need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixName {
    pub abstract_ns: bool,
    /// The name without the leading NUL of abstract names.
    pub name: Text,
}

impl UnixName {
    /// Display form: the path, or '@' followed by the abstract name.
    pub fn display_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.name.as_bytes().len() + 1);
        if self.abstract_ns {
            v.push(b'@');
        }
        v.extend_from_slice(self.name.as_bytes());
        v
    }
}

/// One end of a socket. `None` at the use site means "not known / not applicable".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// An IP address and port. For raw sockets the port is the IP protocol number, as in ss.
    Inet { addr: IpAddr, port: u16 },
    /// A named unix socket.
    Unix(UnixName),
}

impl Endpoint {
    pub fn port(&self) -> Option<u16> {
        match self {
            Endpoint::Inet { port, .. } => Some(*port),
            Endpoint::Unix(_) => None,
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Inet { addr, .. } => Some(*addr),
            Endpoint::Unix(_) => None,
        }
    }
}

/// A socket as read from the kernel. Fields the source cannot know are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub proto: Proto,
    pub family: Family,
    pub sock_type: SockType,
    pub state: State,
    /// Local end; `None` for an unnamed unix socket.
    pub local: Option<Endpoint>,
    /// Remote end; for unix sockets the peer's name when it has one.
    pub remote: Option<Endpoint>,
    pub recv_q: OptU32,
    /// For listeners: the backlog (as ss prints it).
    pub send_q: OptU32,
    /// Socket inode; 0 is a real value for TIME-WAIT and similar kernel-owned sockets.
    pub inode: u64,
    pub uid: OptU32,
    /// IPv6 only: whether the socket refuses IPv4 (v6only). `false` means dual-stack.
    pub v6only: Option<bool>,
    /// Unix only: inode of the connected peer, when known. 32 bits, as the kernel reports
    /// it (UNIX_DIAG_PEER): socket inodes come from `get_next_ino`, an unsigned int.
    pub peer_inode: Option<NonZeroU32>,
    /// Interface index the socket is bound to (SO_BINDTODEVICE / scope id), when non-zero.
    pub iface: OptU32,
    /// Network namespace inode the socket was read in, when it was read through `-N`; `None`
    /// for our own namespace. 32 bits, as the kernel numbers namespaces (`ns_common.inum`,
    /// an unsigned int): with `peer_inode`, 8 bytes less a socket and a row (issue #17).
    pub netns: Option<NonZeroU32>,
    /// cgroup v2 id of the socket, when the kernel reports it (seam for later issues).
    pub cgroup: Option<NonZeroU64>,
    /// The kernel's socket cookie (ss's `sk:`): unique while the socket lives, never reused
    /// within a boot, and what SOCK_DESTROY checks; sock_diag sources only.
    pub cookie: Option<NonZeroU64>,
    /// TCP internals, memory, timer, shutdown: only when asked for (`Detail`), boxed so
    /// that sockets without them cost one pointer.
    pub extras: Option<Box<Extras>>,
}

impl Socket {
    /// A socket of which only the kind and state are known: inode 0, everything else `None`.
    /// For tests and fixtures; the backends list every field on purpose, so that a field added
    /// later is a compile error there until each backend decides what it knows.
    pub fn new(proto: Proto, family: Family, sock_type: SockType, state: State) -> Socket {
        Socket {
            proto,
            family,
            sock_type,
            state,
            local: None,
            remote: None,
            recv_q: OptU32::NONE,
            send_q: OptU32::NONE,
            inode: 0,
            uid: OptU32::NONE,
            v6only: None,
            peer_inode: None,
            iface: OptU32::NONE,
            netns: None,
            cgroup: None,
            cookie: None,
            extras: None,
        }
    }

    /// `netns` as the 64-bit inode the rest of the program compares (`Netns::inode`).
    pub fn netns_inode(&self) -> Option<NonZeroU64> {
        self.netns.map(NonZeroU64::from)
    }

    /// A dual-stack IPv6 socket (bound to `::` or a v4-mapped address with v6only off)
    /// serves IPv4 too.
    pub fn serves_ipv4(&self) -> bool {
        match self.family {
            Family::Ipv4 => true,
            Family::Ipv6 => match &self.local {
                Some(Endpoint::Inet {
                    addr: IpAddr::V6(a),
                    ..
                }) => {
                    a.to_ipv4_mapped().is_some()
                        || (a.is_unspecified() && self.v6only == Some(false))
                }
                _ => false,
            },
            Family::Unix => false,
        }
    }

    /// Whether this socket carries IPv6 traffic (an IPv6 socket not bound to a v4-mapped
    /// address).
    pub fn serves_ipv6(&self) -> bool {
        match (&self.family, &self.local) {
            (
                Family::Ipv6,
                Some(Endpoint::Inet {
                    addr: IpAddr::V6(a),
                    ..
                }),
            ) => a.to_ipv4_mapped().is_none(),
            (Family::Ipv6, _) => true,
            _ => false,
        }
    }

    /// ss's Netid column: tcp, udp, raw, u_str, u_dgr, u_seq.
    pub fn netid(&self) -> &'static str {
        match (self.proto, self.sock_type) {
            (Proto::Tcp, _) => "tcp",
            (Proto::Udp, _) => "udp",
            (Proto::Raw, _) => "raw",
            (Proto::Unix, SockType::Dgram) => "u_dgr",
            (Proto::Unix, SockType::Seqpacket) => "u_seq",
            (Proto::Unix, _) => "u_str",
        }
    }
}

/// How far the owner scan read, which bounds what an empty or short owner list means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerScan {
    /// Every process's fds were read: each socket lists all its visible holders.
    AllProcesses,
    /// The scan stopped once each socket had a holder, then read the holders' process
    /// families: a holder outside the topmost holder's descendants (a socket passed to an
    /// unrelated process, workers whose master exited) may be missing.
    StoppedEarly,
}

impl OwnerScan {
    pub fn name(self) -> &'static str {
        match self {
            OwnerScan::AllProcesses => "all-processes",
            OwnerScan::StoppedEarly => "stopped-early",
        }
    }
}

/// How the owner scan read the processes' fds (`--owners`): both give the same owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OwnerMethod {
    /// A readlink of every `/proc/PID/fd/N`.
    #[default]
    Proc,
    /// One pass of a BPF task_file iterator over every process's files (root only).
    Bpf,
}

impl OwnerMethod {
    pub fn name(self) -> &'static str {
        match self {
            OwnerMethod::Proc => "proc",
            OwnerMethod::Bpf => "bpf",
        }
    }
}

/// Something the scan could not see or had to skip: reported once, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Warning {
    /// Stable machine-readable kind, e.g. "owners-hidden", "proto-unavailable", "malformed-line".
    pub kind: &'static str,
    /// One line for a human: what could not be seen and how to see it.
    pub message: String,
}

impl Warning {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Warning {
            kind,
            message: message.into(),
        }
    }
}

/// Which sockets to read: the part of a filter that a backend can push to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub tcp: bool,
    pub udp: bool,
    pub unix: bool,
    pub raw: bool,
    pub ipv4: bool,
    pub ipv6: bool,
    /// States wanted. Backends may return more; the caller filters again.
    pub states: StateSet,
    /// Extras to read with each socket (-i, -m, -o, -e): sock_diag only; sockets from other
    /// sources have none.
    pub detail: Detail,
    /// The local ports the sockets wanted are on, when the filter says (`sport = :P`).
    pub local_ports: LocalPorts,
}

/// The listing's order: protocol, family, type, local end, remote end, inode.
pub fn listing_order(x: &Socket, y: &Socket) -> std::cmp::Ordering {
    (x.proto, x.family, x.sock_type, &x.local, &x.remote, x.inode).cmp(&(
        y.proto,
        y.family,
        y.sock_type,
        &y.local,
        &y.remote,
        y.inode,
    ))
}

/// The local ports every socket a listing can show is on, per protocol, as its filter says
/// (`sport = :P`, `src :P`): a backend may read only sockets on those ports (netlink has the
/// kernel filter its dump, as ss does), and may return more: the filter still decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalPorts {
    /// Sorted; `None`: any port. `Some(empty)`: no socket can match.
    pub tcp: Option<Vec<u16>>,
    pub udp: Option<Vec<u16>>,
}

impl LocalPorts {
    /// The ports of `proto`'s sockets (`None`: any; raw and unix sockets are not narrowed).
    pub fn of(&self, proto: Proto) -> Option<&[u16]> {
        match proto {
            Proto::Tcp => self.tcp.as_deref(),
            Proto::Udp => self.udp.as_deref(),
            Proto::Unix | Proto::Raw => None,
        }
    }
}

impl Query {
    /// TCP and/or UDP over IPv4 and IPv6 in `states`, no extras: what the commands that
    /// build their own read (explain, audit, kill, the listener set) ask for.
    pub fn inet(tcp: bool, udp: bool, states: StateSet) -> Query {
        Query {
            tcp,
            udp,
            unix: false,
            raw: false,
            ipv4: true,
            ipv6: true,
            states,
            detail: Detail::default(),
            local_ports: LocalPorts::default(),
        }
    }

    pub fn wants(&self, proto: Proto) -> bool {
        match proto {
            Proto::Tcp => self.tcp,
            Proto::Udp => self.udp,
            Proto::Unix => self.unix,
            Proto::Raw => self.raw,
        }
    }
}

/// Which address families to keep after reading (the kernel request reads whole tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FamilyFilter {
    #[default]
    Any,
    /// Sockets carrying IPv4: AF_INET, dual-stack `[::]` and v4-mapped IPv6 sockets.
    Ipv4,
    /// IPv6 sockets that are not bound or connected to a v4-mapped address.
    Ipv6,
}

impl FamilyFilter {
    /// Whether a socket passes `-4` / `-6`. `-4` keeps every socket that carries IPv4 (ss
    /// omits dual-stack listeners there: a known ss flaw); `-6` drops IPv6 sockets bound to
    /// v4-mapped addresses, which carry IPv4 only.
    pub fn keeps(self, s: &Socket) -> bool {
        match self {
            FamilyFilter::Any => true,
            FamilyFilter::Ipv4 => s.family != Family::Unix && s.serves_ipv4(),
            FamilyFilter::Ipv6 => s.family == Family::Ipv6 && s.serves_ipv6(),
        }
    }
}

/// What a backend read: the sockets plus what it could not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub sockets: Vec<Socket>,
    pub warnings: Vec<Warning>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn sock(family: Family, local: Option<Endpoint>, v6only: Option<bool>) -> Socket {
        Socket {
            local,
            inode: 1,
            v6only,
            ..Socket::new(Proto::Tcp, family, SockType::Stream, State::LISTEN)
        }
    }

    fn v6(addr: &str, port: u16) -> Option<Endpoint> {
        Some(Endpoint::Inet {
            addr: IpAddr::V6(addr.parse::<Ipv6Addr>().unwrap()),
            port,
        })
    }

    #[test]
    fn family_filters_honour_dual_stack_and_mapped() {
        let dual = sock(Family::Ipv6, v6("::", 80), Some(false));
        let only6 = sock(Family::Ipv6, v6("::", 80), Some(true));
        let mapped = sock(Family::Ipv6, v6("::ffff:127.0.0.1", 80), Some(false));
        let unknown = sock(Family::Ipv6, v6("::", 80), None);
        assert!(FamilyFilter::Ipv4.keeps(&dual));
        assert!(FamilyFilter::Ipv6.keeps(&dual));
        assert!(!FamilyFilter::Ipv4.keeps(&only6));
        assert!(FamilyFilter::Ipv4.keeps(&mapped));
        assert!(!FamilyFilter::Ipv6.keeps(&mapped));
        assert!(
            !FamilyFilter::Ipv4.keeps(&unknown),
            "unknown v6only: no guess"
        );
    }
}
