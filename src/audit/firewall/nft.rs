//! Evaluates an nftables ruleset, as `nft -j list ruleset` prints it (libnftables-json(5),
//! schema version 1), for one new connection from outside: does the input path accept it?
//!
//! Three-valued: a match portwatch cannot decide (source address, rate limits, marks, `fib`,
//! concatenations, xt compat expressions...) makes its rule "maybe"; the evaluation then
//! follows both ways and answers only when they agree. A statement it does not know (NAT,
//! queue, mangling, xt targets) on a path makes that path unknown. Never a guess.
//!
//! Base chains of the ingress, prerouting and input hooks of families inet, ip, ip6 and
//! netdev all see the packet; `accept` ends one base chain only, `drop` ends all. So the
//! packet is dropped when any base chain drops it and accepted when all accept: their
//! priorities do not change the answer and are not needed.

use super::super::finding::FirewallVerdict;
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;

/// Transport protocol of the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    Tcp,
    Udp,
}

/// The first packet of a connection from another host (TCP SYN, or a UDP datagram).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub ipv6: bool,
    pub l4: L4,
    pub dport: u16,
    /// Destination address; `None` when any of several (a wildcard listener, no interface).
    pub daddr: Option<IpAddr>,
    /// The interface it arrives on; `None`: some external interface, not known which.
    pub iifname: Option<String>,
}

/// nft allows 16 nested jumps; deeper means a loop nft would have refused.
const MAX_DEPTH: usize = 16;
/// Rule evaluations per packet before giving up (undecidable rules double the paths).
const BUDGET: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe,
}

/// What a chain did with the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Res {
    Accept,
    Drop,
    /// Reached the end or `return`: the base chain's policy, or back to the jumping rule.
    Fall,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Act {
    Accept,
    Drop,
    Jump(String),
    Goto(String),
    Return,
    Continue,
    Unknown,
}

/// A value the packet has for a match's left side.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Num(u64),
    Addr(IpAddr),
    /// Protocol-like names compared as text (l4proto, nfproto, meta protocol, ct state).
    Name(&'static str, u64),
    /// The input interface; `None`: an external one, not known which.
    Iface(Option<String>),
    /// `ip daddr . tcp dport`: each part in order.
    Concat(Vec<Val>),
}

/// A left side: the packet's value, no such header (the match fails), or unknown.
enum Left {
    Known(Val),
    Absent,
    Unknown,
}

#[derive(Debug, Clone, Default)]
struct Chain {
    rules: Vec<Vec<Value>>,
    /// (hook, policy drops, devices) for base chains.
    base: Option<(String, bool, Vec<String>)>,
}

/// A parsed ruleset: chains, sets and maps by (family, table, name).
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    chains: HashMap<(String, String, String), Chain>,
    /// Elements of named sets and maps.
    sets: HashMap<(String, String, String), Vec<Value>>,
    /// Tables whose chains may not run: `No` dormant, `Maybe` flags not understood.
    tables: HashMap<(String, String), Tri>,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn key(o: &Value, name_field: &str) -> (String, String, String) {
    (s(o, "family"), s(o, "table"), s(o, name_field))
}

impl Ruleset {
    /// Read `nft -j list ruleset` output. An error says what is not nft JSON.
    pub fn from_json(doc: &Value) -> Result<Ruleset, String> {
        let items = doc
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or("no \"nftables\" array: not `nft -j list ruleset` output")?;
        let mut rs = Ruleset::default();
        for item in items {
            if let Some(t) = item.get("table") {
                rs.tables
                    .insert((s(t, "family"), s(t, "name")), table_runs(t.get("flags")));
            } else if let Some(c) = item.get("chain") {
                let chain = rs.chains.entry(key(c, "name")).or_default();
                if let Some(hook) = c.get("hook").and_then(Value::as_str) {
                    let devs = match c.get("dev") {
                        Some(Value::String(d)) => vec![d.clone()],
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(|d| d.as_str().map(String::from))
                            .collect(),
                        _ => Vec::new(),
                    };
                    chain.base = Some((hook.to_string(), s(c, "policy") == "drop", devs));
                }
            } else if let Some(r) = item.get("rule") {
                let exprs = r
                    .get("expr")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                rs.chains
                    .entry(key(r, "chain"))
                    .or_default()
                    .rules
                    .push(exprs);
            } else if let Some(set) = item.get("set").or_else(|| item.get("map")) {
                let elems = set
                    .get("elem")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                rs.sets.insert(key(set, "name"), elems);
            }
        }
        Ok(rs)
    }

    /// The verdict of the input path for `pkt`.
    pub fn verdict(&self, pkt: &Packet) -> FirewallVerdict {
        let mut any_unknown = false;
        let mut budget = BUDGET;
        for ((family, table, name), chain) in &self.chains {
            let Some((hook, policy_drop, devs)) = &chain.base else {
                continue;
            };
            let sees = match family.as_str() {
                "inet" | "netdev" => true,
                "ip" => !pkt.ipv6,
                "ip6" => pkt.ipv6,
                _ => false,
            };
            if !sees || !matches!(hook.as_str(), "ingress" | "prerouting" | "input") {
                continue;
            }
            let table_runs = self
                .tables
                .get(&(family.clone(), table.clone()))
                .copied()
                .unwrap_or(Tri::Yes);
            let applies = match (table_runs, hook.as_str()) {
                (Tri::No, _) => continue,
                (t, "ingress") => match ingress_applies(devs, pkt.iifname.as_deref()) {
                    Tri::No => continue,
                    Tri::Yes => t,
                    Tri::Maybe => Tri::Maybe,
                },
                (t, _) => t,
            };
            let ctx = Ctx {
                rs: self,
                pkt,
                family,
                table,
            };
            let res = match ctx.run(name, 0, 0, &mut budget) {
                Res::Fall if *policy_drop => Res::Drop,
                Res::Fall => Res::Accept,
                r => r,
            };
            match (res, applies) {
                (Res::Accept, _) => {}
                (Res::Drop, Tri::Yes) => return FirewallVerdict::Drops,
                _ => any_unknown = true,
            }
        }
        if any_unknown {
            FirewallVerdict::Unknown
        } else {
            FirewallVerdict::Accepts
        }
    }
}

/// One evaluation: the ruleset, the packet and the table the current chain is in.
struct Ctx<'a> {
    rs: &'a Ruleset,
    pkt: &'a Packet,
    family: &'a str,
    table: &'a str,
}

impl Ctx<'_> {
    fn chain(&self, name: &str) -> Option<&Chain> {
        self.rs
            .chains
            .get(&(self.family.into(), self.table.into(), name.into()))
    }

    fn run(&self, name: &str, from: usize, depth: usize, budget: &mut usize) -> Res {
        let Some(chain) = self.chain(name) else {
            return Res::Unknown;
        };
        if depth > MAX_DEPTH {
            return Res::Unknown;
        }
        for (i, rule) in chain.rules.iter().enumerate().skip(from) {
            if *budget == 0 {
                return Res::Unknown;
            }
            *budget -= 1;
            let (cond, act) = self.rule(rule);
            if cond == Tri::No || act == Act::Continue {
                continue;
            }
            let applied = match act {
                Act::Accept => Res::Accept,
                Act::Drop => Res::Drop,
                Act::Return => Res::Fall,
                Act::Unknown | Act::Continue => Res::Unknown,
                Act::Jump(t) => match self.run(&t, 0, depth + 1, budget) {
                    Res::Fall => self.run(name, i + 1, depth, budget),
                    r => r,
                },
                Act::Goto(t) => self.run(&t, 0, depth + 1, budget),
            };
            if cond == Tri::Yes {
                return applied;
            }
            let skipped = self.run(name, i + 1, depth, budget);
            return if applied == skipped {
                applied
            } else {
                Res::Unknown
            };
        }
        Res::Fall
    }

    /// Whether a rule applies, and what it then does.
    fn rule(&self, exprs: &[Value]) -> (Tri, Act) {
        let mut cond = Tri::Yes;
        for e in exprs {
            let Some((kind, body)) = e.as_object().and_then(|o| o.iter().next()) else {
                return (cond, Act::Unknown);
            };
            let act = match kind.as_str() {
                "match" => {
                    match self.matches(body) {
                        Tri::No => return (Tri::No, Act::Continue),
                        Tri::Maybe => cond = Tri::Maybe,
                        Tri::Yes => {}
                    }
                    continue;
                }
                // No effect on whether the packet passes.
                "counter" | "log" => continue,
                // Applies to some packets only: the rate or quota at the time decides; an
                // iptables-nft compat match (`-m multiport`, `-m conntrack`) is opaque here.
                "limit" | "quota" => {
                    cond = Tri::Maybe;
                    continue;
                }
                "xt" if body.get("type").and_then(Value::as_str) == Some("match") => {
                    cond = Tri::Maybe;
                    continue;
                }
                "vmap" => match self.vmap(body) {
                    Some(Some(act)) => act,
                    Some(None) => return (Tri::No, Act::Continue),
                    None => Act::Unknown,
                },
                _ => match verdict(e) {
                    Some(act) => act,
                    // NAT, queue, mangling, xt targets: what follows is not known.
                    None => Act::Unknown,
                },
            };
            return (cond, act);
        }
        (cond, Act::Continue)
    }

    /// A verdict map: `Some(Some(act))` an entry matched, `Some(None)` none did, `None`
    /// undecidable.
    fn vmap(&self, body: &Value) -> Option<Option<Act>> {
        let val = match self.left(body.get("key")?) {
            Left::Known(v) => v,
            Left::Absent => return Some(None),
            Left::Unknown => return None,
        };
        let entries = self.elements(body.get("data")?)?;
        for entry in entries {
            let pair = entry.as_array().filter(|p| p.len() == 2)?;
            match self.element(&val, &pair[0])? {
                true => return verdict(&pair[1]).map(Some),
                false => continue,
            }
        }
        Some(None)
    }

    /// The elements of an inline `{"set": [...]}` or a named `"@set"`.
    fn elements<'v>(&'v self, right: &'v Value) -> Option<&'v [Value]> {
        if let Some(name) = right.as_str().and_then(|r| r.strip_prefix('@')) {
            let k = (
                self.family.to_string(),
                self.table.to_string(),
                name.to_string(),
            );
            return self.rs.sets.get(&k).map(Vec::as_slice);
        }
        right
            .get("set")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
    }

    fn matches(&self, m: &Value) -> Tri {
        let op = m.get("op").and_then(Value::as_str).unwrap_or("==");
        let (Some(left), Some(right)) = (m.get("left"), m.get("right")) else {
            return Tri::Maybe;
        };
        let val = match self.left(left) {
            Left::Known(v) => v,
            Left::Absent => return Tri::No,
            Left::Unknown => return Tri::Maybe,
        };
        let hit = match op {
            "==" | "in" => self.member(&val, right),
            "!=" => self.member(&val, right).map(|b| !b),
            "<" | ">" | "<=" | ">=" => match (&val, right.as_u64()) {
                (Val::Num(n), Some(r)) => Some(match op {
                    "<" => *n < r,
                    ">" => *n > r,
                    "<=" => *n <= r,
                    _ => *n >= r,
                }),
                _ => None,
            },
            _ => None,
        };
        match hit {
            Some(true) => Tri::Yes,
            Some(false) => Tri::No,
            None => Tri::Maybe,
        }
    }

    /// Whether `val` equals `right` or is in it (a set, a named set, a flag list).
    fn member(&self, val: &Val, right: &Value) -> Option<bool> {
        let list: &[Value] = match right {
            Value::Array(a) => a,
            _ => match self.elements(right) {
                Some(e) => e,
                None if right.as_str().is_some_and(|r| r.starts_with('@')) => return None,
                None => return self.element(val, right),
            },
        };
        let mut undecided = false;
        for e in list {
            match self.element(val, e) {
                Some(true) => return Some(true),
                Some(false) => {}
                None => undecided = true,
            }
        }
        if undecided {
            None
        } else {
            Some(false)
        }
    }

    /// Whether `val` matches one element: a value, a range, a prefix.
    fn element(&self, val: &Val, e: &Value) -> Option<bool> {
        if let Some(inner) = e.get("elem").and_then(|x| x.get("val")) {
            return self.element(val, inner);
        }
        if let Some([lo, hi]) = e.get("range").and_then(Value::as_array).map(Vec::as_slice) {
            return match val {
                Val::Num(n) => Some(lo.as_u64()? <= *n && *n <= hi.as_u64()?),
                Val::Addr(a) => {
                    let (lo, hi) = (addr(lo)?, addr(hi)?);
                    Some(same_family(a, &lo) && ord(&lo) <= ord(a) && ord(a) <= ord(&hi))
                }
                _ => None,
            };
        }
        if let Some(p) = e.get("prefix") {
            let (base, len) = (addr(p.get("addr")?)?, p.get("len")?.as_u64()?);
            return match val {
                Val::Addr(a) => Some(same_family(a, &base) && prefix_eq(a, &base, len)),
                _ => None,
            };
        }
        if let Val::Concat(parts) = val {
            let items = e.get("concat").and_then(Value::as_array)?;
            if items.len() != parts.len() {
                return None;
            }
            let mut all = Some(true);
            for (v, item) in parts.iter().zip(items) {
                match self.element(v, item) {
                    Some(false) => return Some(false),
                    None => all = None,
                    Some(true) => {}
                }
            }
            return all;
        }
        match (val, e) {
            (Val::Num(n), Value::Number(r)) => Some(Some(*n) == r.as_u64()),
            // A service name instead of a number (`nft -S` style): not resolved here.
            (Val::Num(_), _) => None,
            (Val::Addr(a), Value::String(r)) => Some(*a == r.parse::<IpAddr>().ok()?),
            (Val::Name(name, _), Value::String(r)) => Some(name == r),
            (Val::Name(_, num), Value::Number(r)) => Some(Some(*num) == r.as_u64()),
            (Val::Iface(Some(i)), Value::String(r)) => Some(match r.strip_suffix('*') {
                Some(prefix) => i.starts_with(prefix),
                None => i == r,
            }),
            // Some external interface: it is not the loopback one.
            (Val::Iface(None), Value::String(r)) if r == "lo" => Some(false),
            _ => None,
        }
    }

    /// The packet's value for a match's left side.
    fn left(&self, l: &Value) -> Left {
        let p = self.pkt;
        let l4 = || match p.l4 {
            L4::Tcp => Val::Name("tcp", 6),
            L4::Udp => Val::Name("udp", 17),
        };
        let daddr = || p.daddr.map_or(Left::Unknown, |a| Left::Known(Val::Addr(a)));
        if let Some(parts) = l.get("concat").and_then(Value::as_array) {
            let mut vals = Vec::new();
            let mut unknown = false;
            for part in parts {
                match self.left(part) {
                    Left::Known(v) => vals.push(v),
                    Left::Absent => return Left::Absent,
                    Left::Unknown => unknown = true,
                }
            }
            return if unknown {
                Left::Unknown
            } else {
                Left::Known(Val::Concat(vals))
            };
        }
        if let Some(pl) = l.get("payload") {
            let field = s(pl, "field");
            return match s(pl, "protocol").as_str() {
                proto @ ("tcp" | "udp" | "th") => {
                    let present = matches!(
                        (proto, p.l4),
                        ("th", _) | ("tcp", L4::Tcp) | ("udp", L4::Udp)
                    );
                    match (present, field.as_str()) {
                        (false, _) => Left::Absent,
                        (true, "dport") => Left::Known(Val::Num(p.dport.into())),
                        _ => Left::Unknown,
                    }
                }
                "ip" if p.ipv6 => Left::Absent,
                "ip6" if !p.ipv6 => Left::Absent,
                "ip" | "ip6" => match field.as_str() {
                    "daddr" => daddr(),
                    "protocol" | "nexthdr" => Left::Known(l4()),
                    _ => Left::Unknown,
                },
                // Other headers (icmp, sctp, ...) are not in a TCP or UDP packet.
                "icmp" | "icmpv6" | "sctp" | "dccp" | "esp" | "ah" | "udplite" => Left::Absent,
                _ => Left::Unknown,
            };
        }
        if let Some(m) = l.get("meta") {
            return match s(m, "key").as_str() {
                "l4proto" => Left::Known(l4()),
                "nfproto" => Left::Known(if p.ipv6 {
                    Val::Name("ipv6", 10)
                } else {
                    Val::Name("ipv4", 2)
                }),
                "protocol" => Left::Known(if p.ipv6 {
                    Val::Name("ip6", 0x86dd)
                } else {
                    Val::Name("ip", 0x0800)
                }),
                "iifname" | "iif" => Left::Known(Val::Iface(p.iifname.clone())),
                _ => Left::Unknown,
            };
        }
        if let Some(ct) = l.get("ct") {
            // A connection's first packet: conntrack state "new".
            if s(ct, "key") == "state" && ct.get("dir").is_none() {
                return Left::Known(Val::Name("new", 8));
            }
        }
        Left::Unknown
    }
}

/// Whether a table's chains run, from its `flags`. nft 1.0.6 prints a table's *name* as its
/// flags in JSON (`"flags": "sleepy"` for `table ip sleepy { flags dormant; }`, verified with
/// the Debian 12 package), so only flags that make sense are trusted; others are `Maybe`.
fn table_runs(flags: Option<&Value>) -> Tri {
    let words: Vec<&str> = match flags {
        None => return Tri::Yes,
        Some(Value::String(f)) => vec![f.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Tri::Maybe,
    };
    if words.contains(&"dormant") {
        Tri::No
    } else if words.iter().all(|w| matches!(*w, "owner" | "persist")) {
        Tri::Yes
    } else {
        Tri::Maybe
    }
}

/// Whether an ingress chain sees a packet arriving on `iif`. nft 1.0.6 leaves the device out
/// of the JSON of a netdev chain (same package, same check): no device listed is `Maybe`.
fn ingress_applies(devs: &[String], iif: Option<&str>) -> Tri {
    match iif {
        _ if devs.is_empty() => Tri::Maybe,
        Some(i) if devs.iter().any(|d| d == i) => Tri::Yes,
        Some(_) => Tri::No,
        None => Tri::Maybe,
    }
}

/// A verdict statement.
fn verdict(e: &Value) -> Option<Act> {
    let (kind, body) = e.as_object()?.iter().next()?;
    let target = || body.get("target").and_then(Value::as_str).map(String::from);
    Some(match kind.as_str() {
        "accept" => Act::Accept,
        // A rejected connection is refused: not reachable either.
        "drop" | "reject" => Act::Drop,
        "return" => Act::Return,
        "continue" => Act::Continue,
        "jump" => Act::Jump(target()?),
        "goto" => Act::Goto(target()?),
        _ => return None,
    })
}

fn addr(v: &Value) -> Option<IpAddr> {
    v.as_str()?.parse().ok()
}

fn same_family(a: &IpAddr, b: &IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

fn ord(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(*v).into(),
        IpAddr::V6(v) => u128::from(*v),
    }
}

fn prefix_eq(a: &IpAddr, base: &IpAddr, len: u64) -> bool {
    let bits: u64 = if a.is_ipv4() { 32 } else { 128 };
    if len > bits {
        return false;
    }
    let shift = (bits - len) as u32;
    let mask = |x: u128| x.checked_shr(shift).unwrap_or(0);
    mask(ord(a)) == mask(ord(base))
}
