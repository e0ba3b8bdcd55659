//! The ss filter language plus process, user, service, port and scope predicates: lexer,
//! parser (errors carry a byte span) and evaluator over joined rows. Pure.
//!
//! # Grammar
//!
//! ```text
//! FILTER  := [ EXPR ]                          empty: every socket
//! EXPR    := TERM { [ and | or ] TERM }        no operator: and
//! TERM    := ( EXPR ) | not TERM | PRED
//! PRED    := state STATE { state STATE | exclude STATE }
//!          | exclude STATE { state STATE | exclude STATE }
//!          | src [=|!=] HOST        | dst [=|!=] HOST
//!          | sport [OP] PORT        | dport [OP] PORT      | port [OP] PORT
//!          | proc [=|!=] GLOB       | pid [=|!=] PID       | user [=|!=] NAME|UID
//!          | service [=|!=] GLOB    | scope [=|!=] SCOPE   | autobound | dev [=|!=] INDEX
//!          | netns [=|!=] NAME|INODE|GLOB | container [=|!=] GLOB | unit [=|!=] GLOB | host
//! and     := and | && | &          or := or | || | |         not := not | !
//! OP      := = | == | eq | != | ne | neq | < | lt | <= | le | leq | > | gt | >= | ge | geq
//! PORT    := [:]NUMBER | [:]SERVICE | *
//! HOST    := ADDR | ADDR/LEN | ADDR:PORT | ADDR/LEN:PORT | [IPV6]:PORT | *:PORT | :PORT
//!          | * | inet:HOST | inet6:HOST | unix:GLOB | /GLOB | @GLOB
//! STATE   := all | connected | synchronized | bucket | big | established | syn-sent
//!          | syn-recv | fin-wait-1 | fin-wait-2 | time-wait | closed | close-wait
//!          | last-ack | listening | closing          (also ESTAB, LISTEN, UNCONN ...)
//! SCOPE   := loopback | wildcard | private | public | link-local | multicast
//! ```
//!
//! As in ss, `and`, `or` and the implicit and have equal precedence and group left to right
//! (`a or b and c` is `(a or b) and c`; use parentheses), and `not` binds to one term.
//! Tokens may be glued (`'(dport=:443'`), a backslash escapes a character.
//!
//! - `state`/`exclude`: a run of them folds as ss does (`state a state b` is a or b; the first
//!   `exclude` starts from all states). Any state word in the expression REPLACES the default
//!   set (-l, -a), as in ss: see [`Filter::state_override`]. `listening` is LISTEN only
//!   (unconnected UDP is `closed`); `connected` is all but LISTEN and CLOSE.
//! - `src`/`dst` look at the local/remote end; `src 127.0.0.1` is that host on any port,
//!   `src :22` / `src *:22` any address on port 22, `src 10/8` a prefix. An IPv4 prefix also
//!   matches IPv4-mapped addresses of IPv6 sockets; an IPv6 one never matches IPv4 sockets.
//!   Unix sockets match by case-insensitive glob on their name, as ss (abstract names start
//!   with '@').
//!   `dst` on a unix socket matches its peer's name. `localhost` is 127.0.0.1 or ::1; other
//!   host names are not resolved.
//! - `sport`/`dport`/`port`: local/remote/either port (`port != 22`: neither end is 22);
//!   service names resolve per protocol. `autobound`: the local port is in the ephemeral
//!   range. `dev N`: bound to interface index N.
//! - `proc GLOB` (command name of any owning process, exact case) and `pid N` need the owner
//!   scan; `user NAME|UID`; `service GLOB` (registry name, any case); `scope` classifies the
//!   local address: loopback 127/8 ::1, wildcard 0.0.0.0 ::, private 10/8 172.16/12
//!   192.168/16 fc00::/7, link-local 169.254/16 fe80::/10, multicast 224/4 ff00::/8 and
//!   255.255.255.255, public: every other address. IPv4-mapped addresses count as IPv4.
//! - `netns` matches the socket's network namespace by name (glob, as `ip netns` names it),
//!   by inode, or as `net:[INODE]`; `host` is the host's namespace. `container GLOB` matches
//!   the container's name (glob, exact case) or a prefix of its id; `unit GLOB` the systemd
//!   unit of the socket's holders. Both need the owner scan, as `proc` does; a socket no
//!   process holds has its namespace's container (see `pipeline`), and no unit.

mod addr;
pub mod ast;
mod error;
mod eval;
pub mod glob;
mod lexer;
mod parser;
mod states;

#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod parser_error_tests;
#[cfg(test)]
mod parser_tests;

pub use ast::{Cmp, End, Expr, HostCond, PortSpec, Pred, Prefix, Scope, UserSpec};
pub use error::FilterError;
pub use eval::scope_of;

use crate::model::Row;
use crate::model::{Proto, StateSet};

/// Every word a filter term can start with. No subcommand may be named like one of these,
/// so that the first free word of a command line is unambiguous (tested in argv.rs).
pub const KEYWORDS: &[&str] = &[
    "state",
    "exclude",
    "excl",
    "src",
    "dst",
    "sport",
    "dport",
    "port",
    "proc",
    "pid",
    "user",
    "service",
    "scope",
    "dev",
    "autobound",
    "netns",
    "container",
    "unit",
    "host",
    "cgroup",
    "not",
];

/// A parsed filter. The empty filter matches every row.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: Option<Expr>,
    text: String,
    ctx: eval::Ctx,
}

/// How to read the words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Every `src`/`dst` value is a unix name glob, as ss does when only unix sockets are
    /// listed (-x): then `src '*sock'` is a glob, not `*` with port "sock".
    pub unix_hosts: bool,
}

/// Parse the filter words as given on the command line (joined with single spaces).
pub fn parse(words: &[String]) -> Result<Filter, FilterError> {
    parse_with(words, ParseOptions::default())
}

pub fn parse_with(words: &[String], opts: ParseOptions) -> Result<Filter, FilterError> {
    parse_str_with(&words.join(" "), opts)
}

/// Parse one string (the words already joined).
pub fn parse_str(text: &str) -> Result<Filter, FilterError> {
    parse_str_with(text, ParseOptions::default())
}

pub fn parse_str_with(text: &str, opts: ParseOptions) -> Result<Filter, FilterError> {
    let expr = parser::Parser::new(text, opts.unix_hosts).parse()?;
    Ok(Filter {
        expr,
        text: text.to_string(),
        ctx: eval::Ctx::default(),
    })
}

impl Filter {
    /// The filter that matches everything.
    pub fn all() -> Filter {
        Filter {
            expr: None,
            text: String::new(),
            ctx: eval::Ctx::default(),
        }
    }

    /// A filter matching rows that satisfy any of `preds` (for options such as `--pid 1
    /// --pid 2`, `-c NAME`, `-U USER`, whose values need no quoting this way). No predicates:
    /// matches everything.
    pub fn any_of(preds: impl IntoIterator<Item = Pred>) -> Filter {
        let expr = preds.into_iter().map(Expr::Pred).reduce(Expr::or);
        Filter {
            expr,
            text: String::new(),
            ctx: eval::Ctx::default(),
        }
    }

    /// The parsed tree (`None`: matches everything).
    pub fn expr(&self) -> Option<&Expr> {
        self.expr.as_ref()
    }

    /// The expression text as parsed.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.expr.is_none()
    }

    /// Both filters must match (e.g. the expression and `--pid`/`-c`/`-U` options). The
    /// result keeps the left filter's text (or the right's when the left has none), so error
    /// spans of `resolve` stay valid: put the parsed expression on the left, or resolve first.
    pub fn and(self, other: Filter) -> Filter {
        let text = if self.text.is_empty() {
            other.text
        } else {
            self.text
        };
        let expr = match (self.expr, other.expr) {
            (Some(a), Some(b)) => Some(Expr::and(a, b)),
            (a, b) => a.or(b),
        };
        Filter {
            expr,
            text,
            ctx: self.ctx,
        }
    }

    /// Resolve `:service` port names. `port_by_name(name, Some(proto))` is asked for TCP and
    /// UDP, and `(name, None)` as a protocol-less fallback; each socket then compares with its
    /// own protocol's port (ss instead errors when TCP and UDP disagree). A name no call
    /// resolves is an error pointing at it.
    pub fn resolve(
        &mut self,
        port_by_name: &dyn Fn(&str, Option<Proto>) -> Option<u16>,
    ) -> Result<(), FilterError> {
        let mut bad: Option<(std::ops::Range<usize>, String)> = None;
        let mut fix = |spec: &mut PortSpec| {
            if let PortSpec::Named {
                name,
                span,
                tcp,
                udp,
                other,
            } = spec
            {
                *tcp = port_by_name(name, Some(Proto::Tcp));
                *udp = port_by_name(name, Some(Proto::Udp));
                *other = port_by_name(name, None);
                if tcp.is_none() && udp.is_none() && other.is_none() && bad.is_none() {
                    bad = Some((span.clone(), name.clone()));
                }
            }
        };
        if let Some(e) = self.expr.as_mut() {
            e.walk_mut(&mut |p| match p {
                Pred::Port { port, .. } => fix(port),
                Pred::Host {
                    cond:
                        HostCond::Inet {
                            port: Some(port), ..
                        },
                    ..
                } => fix(port),
                _ => {}
            });
        }
        match bad {
            Some((span, name)) => Err(FilterError::new(
                &self.text,
                span,
                format!("unknown service name '{name}': expected a port number or a known service"),
            )),
            None => Ok(()),
        }
    }

    /// Resolve `user NAME` to uids (so rows need no user names). An unknown name is an error.
    pub fn resolve_users(
        &mut self,
        uid_by_name: &dyn Fn(&str) -> Option<u32>,
    ) -> Result<(), FilterError> {
        let mut bad: Option<String> = None;
        if let Some(e) = self.expr.as_mut() {
            e.walk_mut(&mut |p| {
                if let Pred::User(UserSpec::Name { name, uid }) = p {
                    *uid = uid_by_name(name);
                    if uid.is_none() && bad.is_none() {
                        bad = Some(name.clone());
                    }
                }
            });
        }
        match bad {
            Some(name) => {
                let span = find_word(&self.text, &name);
                Err(FilterError::new(
                    &self.text,
                    span,
                    format!("unknown user '{name}': expected a user name or uid"),
                ))
            }
            None => Ok(()),
        }
    }

    /// Resolve `cgroup PATH` to the cgroup's id. A path that names no cgroup is an error, as
    /// in ss.
    pub fn resolve_cgroups(
        &mut self,
        id_of: &dyn Fn(&str) -> Option<u64>,
    ) -> Result<(), FilterError> {
        let mut bad: Option<String> = None;
        if let Some(e) = self.expr.as_mut() {
            e.walk_mut(&mut |p| {
                if let Pred::Cgroup { path, id } = p {
                    *id = id_of(path);
                    if id.is_none() && bad.is_none() {
                        bad = Some(path.clone());
                    }
                }
            });
        }
        match bad {
            Some(path) => Err(FilterError::new(
                &self.text,
                find_word(&self.text, &path),
                format!("no cgroup '{path}' under the cgroup2 mount"),
            )),
            None => Ok(()),
        }
    }

    /// The host's ephemeral port range (ip_local_port_range), for `autobound`.
    pub fn set_ephemeral_range(&mut self, range: Option<(u16, u16)>) {
        self.ctx.ephemeral = range;
    }

    pub fn needs_ephemeral_range(&self) -> bool {
        self.preds().any(|p| matches!(p, Pred::Autobound))
    }

    fn preds(&self) -> impl Iterator<Item = &Pred> {
        self.expr.iter().flat_map(|e| e.preds())
    }

    pub fn matches(&self, row: &Row) -> bool {
        self.expr
            .as_ref()
            .is_none_or(|e| eval::eval(e, row, &self.ctx))
    }

    /// `proc` / `pid` predicates, and `container` / `unit` (a socket's are its holders'):
    /// the owner scan must run even without -p.
    pub fn needs_owners(&self) -> bool {
        self.preds().any(|p| {
            matches!(
                p,
                Pred::Proc(_) | Pred::Pid(_) | Pred::Container(_) | Pred::Unit(_)
            )
        })
    }

    /// `container` / `unit` predicates: rows need their container and unit worked out.
    pub fn needs_attribution(&self) -> bool {
        self.preds()
            .any(|p| matches!(p, Pred::Container(_) | Pred::Unit(_)))
    }

    /// `user NAME` predicates not resolved to a uid: rows need `Row::user`.
    pub fn needs_users(&self) -> bool {
        self.preds()
            .any(|p| matches!(p, Pred::User(UserSpec::Name { uid: None, .. })))
    }

    /// ss semantics: when the expression names states, that REPLACES the default state set
    /// (-l, -a, or connected). Returns the states the expression can match (a superset within
    /// ss's states; ask the kernel for these), or `None` when it names no state.
    pub fn state_override(&self) -> Option<StateSet> {
        let e = self.expr.as_ref()?;
        self.preds()
            .any(|p| matches!(p, Pred::States(_)))
            .then(|| StateSet(possible_states(e)))
    }
}

impl Filter {
    /// The local ports every socket of `proto` this filter matches is on (sorted), when it
    /// restricts them (`sport = :P`, `src :P`, or an `or` of those, under any `and`); `None`
    /// when a match may be on any port. Call after `resolve`: an unresolved name is any port.
    pub fn local_ports(&self, proto: Proto) -> Option<Vec<u16>> {
        let mut ports = local_ports(self.expr.as_ref()?, proto)?;
        ports.sort_unstable();
        ports.dedup();
        // A kernel filter of many ports costs more to run than it saves.
        (ports.len() <= MAX_LOCAL_PORTS).then_some(ports)
    }

    /// The states to ask the backend for: the expression's states, else `default` (the set
    /// -l / -a / neither select).
    pub fn states_or(&self, default: StateSet) -> StateSet {
        self.state_override().unwrap_or(default)
    }
}

/// The most local ports `Filter::local_ports` gives.
const MAX_LOCAL_PORTS: usize = 16;

/// A superset of the local ports of the `proto` sockets `e` matches (unsorted), `None` for
/// any port.
fn local_ports(e: &Expr, proto: Proto) -> Option<Vec<u16>> {
    match e {
        Expr::Pred(Pred::Port {
            end: End::Local,
            cmp: Cmp::Eq,
            port,
        })
        | Expr::Pred(Pred::Host {
            end: End::Local,
            cond: HostCond::Inet {
                port: Some(port), ..
            },
        }) => Some(vec![port.for_proto(proto)?]),
        Expr::Pred(_) | Expr::Not(_) => None,
        Expr::And(a, b) => match (local_ports(a, proto), local_ports(b, proto)) {
            (Some(a), Some(b)) => Some(a.into_iter().filter(|p| b.contains(p)).collect()),
            (one, other) => one.or(other),
        },
        Expr::Or(a, b) => {
            let mut a = local_ports(a, proto)?;
            a.extend(local_ports(b, proto)?);
            Some(a)
        }
    }
}

/// A superset of the states `e` can match, within ss's universe (SS_ALL: BOUND_INACTIVE
/// only when named).
fn possible_states(e: &Expr) -> u32 {
    let all = states::SS_ALL.0;
    match e {
        Expr::Pred(Pred::States(s)) => s.0,
        Expr::Pred(_) => all,
        Expr::And(a, b) => possible_states(a) & possible_states(b),
        Expr::Or(a, b) => possible_states(a) | possible_states(b),
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Pred(Pred::States(s)) => all & !s.0,
            _ => all,
        },
    }
}

/// Byte span of the first whole-word occurrence of `w` in `text` (for late errors).
fn find_word(text: &str, w: &str) -> std::ops::Range<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(w).map(|i| i + from) {
        let end = i + w.len();
        let before = text[..i].chars().next_back();
        let after = text[end..].chars().next();
        let sep = |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || "()=!".contains(c));
        if sep(before) && sep(after) {
            return i..end;
        }
        from = end;
    }
    text.len()..text.len()
}
