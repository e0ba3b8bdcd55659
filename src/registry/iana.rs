//! The embedded IANA registry: a static sorted table searched in place (binary search), so
//! loading it costs nothing at start-up. The table is generated (see gen.rs).

#[rustfmt::skip]
mod table {
    include!("iana_table.rs");
}

use table::{ENTRIES, SERVICES, TEXT};

/// Transport protocols the registry knows, in the table's code order.
pub const PROTOS: [&str; 4] = ["tcp", "udp", "sctp", "dccp"];

/// The table's code of a protocol name ("tcp" -> 0).
pub fn proto_code(proto: &str) -> Option<u8> {
    PROTOS
        .iter()
        .position(|p| *p == proto)
        .and_then(|i| u8::try_from(i).ok())
}

/// One IANA name of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IanaName {
    pub port: u16,
    pub proto: &'static str,
    pub name: &'static str,
    pub description: Option<&'static str>,
}

fn decode(entry: &(u16, u8, u16)) -> Option<IanaName> {
    let &(off, name_len, desc_len) = SERVICES.get(usize::from(entry.2))?;
    let off = usize::try_from(off).ok()?;
    let name_end = off + usize::from(name_len);
    let name = TEXT.get(off..name_end)?;
    let desc = TEXT.get(name_end..name_end + usize::from(desc_len))?;
    Some(IanaName {
        port: entry.0,
        proto: PROTOS.get(usize::from(entry.1))?,
        name,
        description: (!desc.is_empty()).then_some(desc),
    })
}

/// Every IANA name of `port` over `proto`, the primary (IANA's first) name first.
pub fn names(port: u16, proto: &str) -> impl Iterator<Item = IanaName> {
    let code = proto_code(proto);
    let range = code.map_or(0..0, |c| {
        let start = ENTRIES.partition_point(|e| (e.0, e.1) < (port, c));
        let end = ENTRIES.partition_point(|e| (e.0, e.1) <= (port, c));
        start..end
    });
    ENTRIES
        .get(range)
        .unwrap_or_default()
        .iter()
        .filter_map(decode)
}

/// The primary IANA name of `port` over `proto`: where IANA lists several, its first (80/tcp
/// is http, not www).
pub fn lookup(port: u16, proto: &str) -> Option<IanaName> {
    names(port, proto).next()
}

/// Every IANA name of `port` over every protocol, in protocol then IANA order.
pub fn names_any_proto(port: u16) -> impl Iterator<Item = IanaName> {
    let start = ENTRIES.partition_point(|e| e.0 < port);
    let end = ENTRIES.partition_point(|e| e.0 <= port);
    ENTRIES
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .filter_map(decode)
}

/// The lowest port IANA gives `name` over `proto` (exact spelling first, then ignoring ASCII
/// case, as IANA names are case-insensitive). A linear scan: used only to parse filters.
pub fn port_by_name(name: &str, proto: &str) -> Option<u16> {
    let code = proto_code(proto)?;
    let scan = |exact: bool| {
        ENTRIES
            .iter()
            .filter(|e| e.1 == code)
            .filter_map(decode)
            .find(|n| {
                if exact {
                    n.name == name
                } else {
                    n.name.eq_ignore_ascii_case(name)
                }
            })
            .map(|n| n.port)
    };
    scan(true).or_else(|| scan(false))
}

/// Number of (port, protocol, name) entries embedded.
pub fn len() -> usize {
    ENTRIES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in ENTRIES.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            assert!((a.0, a.1) <= (b.0, b.1), "not sorted at {a:?} {b:?}");
        }
        let mut seen = std::collections::HashSet::new();
        for e in ENTRIES.iter() {
            let n = decode(e).expect("every entry decodes");
            assert!(!n.name.is_empty());
            assert!(
                seen.insert((n.port, n.proto, n.name)),
                "duplicate {}/{} {}",
                n.port,
                n.proto,
                n.name
            );
        }
        assert!(len() > 10_000, "only {} entries", len());
    }

    #[test]
    fn spot_checks_across_protocols() {
        for (port, proto, name) in [
            (22, "tcp", "ssh"),
            (53, "udp", "domain"),
            (80, "tcp", "http"),
            (123, "udp", "ntp"),
            (443, "tcp", "https"),
            (3306, "tcp", "mysql"),
            (5432, "tcp", "postgresql"),
            (6379, "tcp", "redis"),
            (3389, "tcp", "ms-wbt-server"),
            (5060, "udp", "sip"),
            (80, "sctp", "http"),
        ] {
            assert_eq!(
                lookup(port, proto).map(|n| n.name),
                Some(name),
                "{port}/{proto}"
            );
        }
        // A port in a range IANA lists as "6000-6063": expanded.
        assert_eq!(lookup(6010, "tcp").map(|n| n.name), Some("x11"));
        assert_eq!(lookup(5173, "tcp"), None);
        assert_eq!(lookup(22, "icmp"), None);
    }

    #[test]
    fn several_names_keep_iana_order() {
        let names: Vec<&str> = names(80, "tcp").map(|n| n.name).collect();
        assert_eq!(names.first(), Some(&"http"));
        assert!(names.contains(&"www"), "{names:?}");
        let any: Vec<&str> = names_any_proto(80).map(|n| n.proto).collect();
        assert!(any.contains(&"udp") && any.contains(&"sctp"), "{any:?}");
    }

    #[test]
    fn names_resolve_to_ports() {
        assert_eq!(port_by_name("https", "tcp"), Some(443));
        assert_eq!(port_by_name("HTTPS", "tcp"), Some(443));
        assert_eq!(port_by_name("domain", "udp"), Some(53));
        assert_eq!(port_by_name("no-such-service-xyz", "tcp"), None);
    }
}
