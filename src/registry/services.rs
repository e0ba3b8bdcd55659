//! Parser for services(5) files (/etc/services and `--services FILE`): `name port/proto
//! [aliases...] [# comment]`. Pure: callers decide whether a bad line is an error or a warning.

use super::iana::PROTOS;

/// One line of a services file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    pub name: String,
    pub port: u16,
    /// One of `iana::PROTOS`.
    pub proto: &'static str,
    pub aliases: Vec<String>,
    /// The line's trailing comment (netbase writes descriptions there, e.g. "# SSH Remote
    /// Login Protocol").
    pub description: Option<String>,
    /// 1-based line number.
    pub line: usize,
}

/// A line that does not parse: 1-based line number and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub msg: String,
}

/// Parse a services file. Lines for protocols portwatch does not show (ddp in old netbase
/// releases) are skipped without complaint: services(5) allows any protocols(5) name.
pub fn parse(text: &str) -> (Vec<ServiceEntry>, Vec<BadLine>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let (body, comment) = match raw.split_once('#') {
            Some((b, c)) => (b, Some(c.trim())),
            None => (raw, None),
        };
        let mut fields = body.split_whitespace();
        let Some(name) = fields.next() else { continue };
        let Some(spec) = fields.next() else {
            bad.push(BadLine {
                line,
                msg: format!("expected `NAME PORT/PROTO [ALIASES...]`, found only {name:?}"),
            });
            continue;
        };
        let Some((port, proto)) = spec.split_once('/') else {
            bad.push(BadLine {
                line,
                msg: format!("expected PORT/PROTO, found {spec:?}"),
            });
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            bad.push(BadLine {
                line,
                msg: format!("bad port {port:?} (expected 0-65535)"),
            });
            continue;
        };
        if proto.is_empty()
            || !proto
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            bad.push(BadLine {
                line,
                msg: format!("bad protocol {proto:?}"),
            });
            continue;
        }
        let lower = proto.to_ascii_lowercase();
        let Some(proto) = PROTOS.iter().copied().find(|p| *p == lower) else {
            continue;
        };
        entries.push(ServiceEntry {
            name: name.to_string(),
            port,
            proto,
            aliases: fields.map(str::to_string).collect(),
            description: comment.filter(|c| !c.is_empty()).map(str::to_string),
            line,
        });
    }
    (entries, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_aliases_and_comments() {
        let text = "# header\n\
                    \n\
                    ssh\t\t22/tcp\t\t\t# SSH Remote Login Protocol\n\
                    http 80/tcp www # WorldWideWeb HTTP\n\
                    domain 53/udp\n\
                    rtmp 1/ddp # old netbase\n";
        let (entries, bad) = parse(text);
        assert!(bad.is_empty(), "{bad:?}");
        let got: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.name.as_str(),
                    e.port,
                    e.proto,
                    e.aliases.clone(),
                    e.description.as_deref(),
                    e.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "ssh",
                    22,
                    "tcp",
                    vec![],
                    Some("SSH Remote Login Protocol"),
                    3
                ),
                (
                    "http",
                    80,
                    "tcp",
                    vec!["www".to_string()],
                    Some("WorldWideWeb HTTP"),
                    4
                ),
                ("domain", 53, "udp", vec![], None, 5),
            ]
        );
    }

    #[test]
    fn malformed_lines_carry_line_numbers() {
        let text = "ok 1/tcp\nlonely\nweb 80\nbig 70000/tcp\nx 5/t@p\nfine 2/udp\n";
        let (entries, bad) = parse(text);
        assert_eq!(entries.len(), 2);
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
    }
}
