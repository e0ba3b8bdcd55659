//! Values of `src`/`dst` and `sport`/`dport`/`port`, parsed the way ss's `parse_hostcond`
//! (iproute2 misc/ss.c) does, with byte spans for errors.
//!
//! ss rules kept: `[v6]:port`; `*`, `*:port`; otherwise the port follows the last ':' after
//! the '/' (or in the whole word without '/'); an empty or `*` part means "any"; ports and
//! IPv4 octets are C `strtol(.., 0)` numbers (0x.. hex, 0.. octal); a word that is not a
//! number is a service name; `unix:` / `inet:` / `inet6:` prefixes; short IPv4 (`10/8`).
//! Deliberate differences: a bare IPv6 address (`::1`, `fe80::1`) is accepted when ss's
//! split would give no valid address (ss rejects it); host names other than `localhost`
//! are rejected (ss resolves them through DNS; a filter never touches the network); a word
//! starting with '/' or '@' is a unix path glob even without -x.

use super::ast::{HostCond, PortSpec, Prefix};
use crate::model::Family;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// A parse failure inside a value: byte range in the expression and what was expected.
pub type ValueError = (Range<usize>, String);

/// A token's text with the expression offset of its first byte. `exact` is false when the
/// text came from an escaped token (sub-spans then fall back to the whole token).
#[derive(Clone, Copy)]
pub struct Val<'a> {
    pub text: &'a str,
    pub span: (usize, usize),
    pub exact: bool,
}

impl Val<'_> {
    fn sub(&self, r: Range<usize>) -> Range<usize> {
        if self.exact {
            self.span.0 + r.start..self.span.0 + r.end
        } else {
            self.span.0..self.span.1
        }
    }
    fn all(&self) -> Range<usize> {
        self.span.0..self.span.1
    }
}

/// C's `strtoul(s, &end, 0)` over the whole string: decimal, 0x hex, leading-0 octal.
pub fn c_number(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn is_service_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+/".contains(c))
}

/// A port word after `sport`/`dport`/`port` (`:22`, `22`, `:http`, `*`), or the part after
/// the ':' of a host. `offset` is where `text` starts inside `v`.
fn port_part(v: &Val, text: &str, offset: usize) -> Result<PortSpec, ValueError> {
    let span = v.sub(offset..offset + text.len());
    if text == "*" {
        return Ok(PortSpec::Any);
    }
    if let Some(n) = c_number(text) {
        return u16::try_from(n)
            .map(PortSpec::Num)
            .map_err(|_| (span, "port out of range: expected 0-65535".to_string()));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let msg = if text.starts_with('0') {
            "expected a port number: a leading 0 means octal (as in ss)"
        } else {
            "port out of range: expected 0-65535"
        };
        return Err((span, msg.into()));
    }
    if is_service_name(text) {
        return Ok(PortSpec::named(text, span));
    }
    Err((span, "expected a port number or service name".into()))
}

/// The value of `sport`/`dport`/`port`: `[:]PORT`, `[:]SERVICE` or `*`.
pub fn parse_port(v: Val) -> Result<PortSpec, ValueError> {
    let (text, off) = match v.text.strip_prefix(':') {
        Some(rest) => (rest, 1),
        None => (v.text, 0),
    };
    if text.is_empty() {
        let end = v.sub(v.text.len()..v.text.len());
        return Err((end.end..end.end, "expected a port after ':'".into()));
    }
    port_part(&v, text, off)
}

/// The value of `src`/`dst`.
pub fn parse_host(v: Val) -> Result<HostCond, ValueError> {
    let t = v.text;
    if let Some(p) = t.strip_prefix("unix:") {
        return Ok(HostCond::Unix(p.to_string()));
    }
    if t.starts_with('/') || t.starts_with('@') {
        return Ok(HostCond::Unix(t.to_string()));
    }
    for other in ["link:", "netlink:", "vsock:"] {
        if t.starts_with(other) {
            return Err((
                v.sub(0..other.len()),
                "portwatch lists tcp, udp, raw and unix sockets: expected an address, \
                 'inet:', 'inet6:' or 'unix:'"
                    .into(),
            ));
        }
    }
    let (family, start) = if t.starts_with("inet:") {
        (Some(Family::Ipv4), 5)
    } else if t.starts_with("inet6:") {
        (Some(Family::Ipv6), 6)
    } else {
        (None, 0)
    };
    let body = &t[start..];
    // (address part, its offset, port part and its offset)
    let (addr, aoff, port, poff): (&str, usize, Option<&str>, usize) =
        if let Some(inner) = body.strip_prefix('[') {
            let close = inner.find(']').ok_or_else(|| {
                (
                    v.sub(start..t.len()),
                    "expected ']' to close the IPv6 address".to_string(),
                )
            })?;
            let after = &inner[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => {
                    let o = start + close + 2;
                    return Err((v.sub(o..t.len()), "expected ':PORT' after ']'".into()));
                }
            };
            (&inner[..close], start + 1, port, start + close + 3)
        } else if let Some(rest) = body.strip_prefix('*') {
            // ss: "*:80", and also "*80".
            let (p, o) = match rest.strip_prefix(':') {
                Some(p) => (p, start + 2),
                None => (rest, start + 1),
            };
            ("", start, Some(p), o)
        } else {
            let from = body.find('/').unwrap_or(0);
            match body[from..].rfind(':').map(|i| i + from) {
                Some(c) => (&body[..c], start, Some(&body[c + 1..]), start + c + 1),
                None => (body, start, None, 0),
            }
        };
    let plain = !body.starts_with('[') && !body.starts_with('*');
    if plain && port.is_some_and(|p| c_number(p).is_none()) {
        // "::1", "fe80::1", "::ffff:127.0.0.1": ss's split leaves no numeric port; when the
        // whole word is an IPv6 address, take it as one.
        if let Some(whole) = bare_ipv6(body, family) {
            return Ok(whole);
        }
    }
    let port = match port {
        None | Some("") | Some("*") => None,
        Some(p) => Some(port_part(&v, p, poff)),
    };
    let addrs = if addr.is_empty() || addr == "*" {
        Ok(Vec::new())
    } else {
        parse_prefixes(addr, family).ok_or(())
    };
    match (addrs, port) {
        (Ok(addrs), None) => Ok(HostCond::Inet {
            family,
            addrs,
            port: None,
        }),
        (Ok(addrs), Some(Ok(p))) => Ok(HostCond::Inet {
            family,
            addrs,
            port: Some(p),
        }),
        // ss's split found no valid address/port: the whole may be a bare IPv6 address.
        (addrs, port) => {
            if let Some(whole) = bare_ipv6(body, family).filter(|_| plain) {
                return Ok(whole);
            }
            match (addrs, port) {
                // A whole-word IPv6 address after `inet:`: point at all of it.
                (Err(()), _) if plain && body.parse::<Ipv6Addr>().is_ok() => {
                    Err((v.sub(start..t.len()), address_expectation(family)))
                }
                (Err(()), _) => Err((v.sub(aoff..aoff + addr.len()), address_expectation(family))),
                (_, Some(Err(e))) => Err(e),
                _ => Err((v.all(), address_expectation(family))),
            }
        }
    }
}

fn bare_ipv6(body: &str, family: Option<Family>) -> Option<HostCond> {
    let addrs = parse_prefixes(body, family)?;
    addrs
        .iter()
        .all(|p| p.addr.is_ipv6())
        .then_some(HostCond::Inet {
            family,
            addrs,
            port: None,
        })
}

fn address_expectation(family: Option<Family>) -> String {
    match family {
        Some(Family::Ipv4) => "expected an IPv4 address or prefix after 'inet:'".into(),
        Some(_) => "expected an IPv6 address or prefix after 'inet6:'".into(),
        None => "expected an address (ADDR, ADDR/LEN, ADDR:PORT, [V6]:PORT, *:PORT) or a \
                 unix path ('/...', '@...', 'unix:...')"
            .into(),
    }
}

/// `ADDR[/LEN]`, or `localhost` (127.0.0.1 and ::1, as the resolver answers ss).
fn parse_prefixes(s: &str, family: Option<Family>) -> Option<Vec<Prefix>> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(c_number(l)?)),
        None => (s, None),
    };
    let addrs: Vec<IpAddr> = if a == "localhost" {
        vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
    } else if let Some(v4) = short_ipv4(a) {
        vec![v4.into()]
    } else {
        vec![a.parse::<Ipv6Addr>().ok()?.into()]
    };
    let addrs: Vec<IpAddr> = addrs
        .into_iter()
        .filter(|ip| match family {
            Some(Family::Ipv4) => ip.is_ipv4(),
            Some(Family::Ipv6) => ip.is_ipv6(),
            _ => true,
        })
        .collect();
    if addrs.is_empty() {
        return None;
    }
    addrs
        .into_iter()
        .map(|addr| {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len = len.unwrap_or(max);
            (len <= max).then_some(Prefix {
                addr,
                len: len as u8,
            })
        })
        .collect()
}

/// iproute2's `get_addr_ipv4`: 1 to 4 dot-separated C numbers, missing octets are zero.
fn short_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut o = [0u8; 4];
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    for (i, p) in parts.iter().enumerate() {
        o[i] = u8::try_from(c_number(p)?).ok()?;
    }
    Some(Ipv4Addr::from(o))
}
