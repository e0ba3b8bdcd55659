//! The parsed filter: a boolean tree over predicates. Spans are kept where a later step
//! (service-name resolution) can still fail and must point at the token.

use crate::model::{Family, Proto, StateSet};
use std::net::IpAddr;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Pred(Pred),
}

/// Which end of a socket a predicate looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// ss's "src"/"sport": the local end.
    Local,
    /// ss's "dst"/"dport": the remote end.
    Remote,
    /// `port`: either end.
    Either,
}

/// Port comparison. ss spells them = == eq, != ne neq, < lt, <= le leq, > gt, >= ge geq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A port as written: a number, `*` (any), or a service name resolved later per protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    Any,
    Num(u16),
    Named {
        name: String,
        span: Range<usize>,
        /// Filled by `Filter::resolve`: the port for TCP, for UDP, and protocol-less.
        tcp: Option<u16>,
        udp: Option<u16>,
        other: Option<u16>,
    },
}

impl PortSpec {
    pub fn named(name: &str, span: Range<usize>) -> PortSpec {
        PortSpec::Named {
            name: name.to_string(),
            span,
            tcp: None,
            udp: None,
            other: None,
        }
    }

    /// The port this spec means for a socket of `proto`; `None` for `*` and for an
    /// unresolved name (neither matches a concrete port).
    pub fn for_proto(&self, proto: Proto) -> Option<u16> {
        match self {
            PortSpec::Any => None,
            PortSpec::Num(p) => Some(*p),
            PortSpec::Named {
                tcp, udp, other, ..
            } => match proto {
                Proto::Tcp => tcp.or(*other),
                Proto::Udp => udp.or(*other),
                _ => other.or(*tcp).or(*udp),
            },
        }
    }
}

/// An address prefix: `127.0.0.1` is a /32, `10/8` a /8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

/// The value of `src`/`dst` (ss's HOSTCOND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCond {
    /// Inet: any of `addrs` (empty = any address) and `port` (`None` = any port). `family`
    /// is set by an `inet:`/`inet6:` prefix.
    Inet {
        family: Option<Family>,
        addrs: Vec<Prefix>,
        port: Option<PortSpec>,
    },
    /// A unix socket name glob (fnmatch with FNM_CASEFOLD, as ss): `/run/*`, `@abstract*`.
    Unix(String),
}

/// Bind scope of the local address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Loopback,
    Wildcard,
    Private,
    LinkLocal,
    Multicast,
    Public,
}

/// `user NAME|UID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSpec {
    Uid(u32),
    /// A name; `uid` is filled when the caller resolved it (`Filter::resolve_users`).
    Name {
        name: String,
        uid: Option<u32>,
    },
}

impl UserSpec {
    /// A uid when the text is a number, else a name (as `user` and `-U` take them).
    pub fn parse(s: &str) -> UserSpec {
        match s.parse::<u32>() {
            Ok(uid) => UserSpec::Uid(uid),
            Err(_) => UserSpec::Name {
                name: s.to_string(),
                uid: None,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    /// `state` / `exclude` (a run of them folds into one set, as ss does).
    States(StateSet),
    /// `src` / `dst` (`end` is Local or Remote).
    Host {
        end: End,
        cond: HostCond,
    },
    /// `sport` / `dport` / `port`.
    Port {
        end: End,
        cmp: Cmp,
        port: PortSpec,
    },
    /// `proc GLOB`: any owning process's command name matches.
    Proc(String),
    /// `pid N`: any owning process has this pid.
    Pid(u32),
    User(UserSpec),
    /// `service NAME` (glob, case-insensitive) against the registry's name for the socket.
    Service(String),
    Scope(Scope),
    /// ss's `autobound`: the local port lies in the ephemeral range.
    Autobound,
    /// ss's `dev N` (numeric interface index only).
    Dev(u32),
    /// `netns NAME|INODE|GLOB`: the socket's network namespace, by name (glob), inode, or
    /// `net:[INODE]`.
    Netns(String),
    /// `container GLOB`: the container's name (glob) or a prefix of its id.
    Container(String),
    /// `unit GLOB`: the systemd unit of the socket's holders.
    Unit(String),
    /// `host`: the socket is in the host's network namespace.
    HostNetns,
    /// ss's `cgroup PATH`: the socket's cgroup v2 is exactly the one at PATH (relative to the
    /// cgroup2 mount); `id` is filled by `Filter::resolve_cgroups`.
    Cgroup {
        path: String,
        id: Option<u64>,
    },
}

impl Expr {
    pub fn and(a: Expr, b: Expr) -> Expr {
        Expr::And(Box::new(a), Box::new(b))
    }
    pub fn or(a: Expr, b: Expr) -> Expr {
        Expr::Or(Box::new(a), Box::new(b))
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(a: Expr) -> Expr {
        Expr::Not(Box::new(a))
    }

    /// Every predicate in the tree, depth first.
    pub fn preds(&self) -> Vec<&Pred> {
        let mut v = Vec::new();
        self.walk(&mut |p| v.push(p));
        v
    }

    fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Pred)) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Not(a) => a.walk(f),
            Expr::Pred(p) => f(p),
        }
    }

    pub fn walk_mut(&mut self, f: &mut dyn FnMut(&mut Pred)) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.walk_mut(f);
                b.walk_mut(f);
            }
            Expr::Not(a) => a.walk_mut(f),
            Expr::Pred(p) => f(p),
        }
    }
}
