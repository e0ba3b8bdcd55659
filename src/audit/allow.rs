//! The allow file: exposures a person has accepted, so that an audit gate passes on them.
//!
//! ```text
//! # PROTO/PORT [PROGRAM-GLOB] [SCOPE]
//! tcp/22    sshd   public
//! tcp/5432  postgres private
//! udp/53
//! ```
//!
//! - `PROTO/PORT`: `tcp` or `udp` and a port 0-65535.
//! - `PROGRAM-GLOB` (optional): an fnmatch pattern (`*`, `?`, `[a-z]`) that one of the
//!   holders' command names must match; without it any program may hold the port. A
//!   socket whose holders are unknown matches only `*`.
//! - `SCOPE` (optional): how far the port may reach: `private` (private, link-local and
//!   multicast addresses) or `public` (anything; `any` and `wildcard` are the same). Default
//!   `public`. With one optional field, a scope word is taken as the scope: write
//!   `tcp/22 * public` for a program literally named `public`.
//! - `#` starts a comment line; blank lines are ignored.
//!
//! An entry accepts the exposure findings of matching listeners (plaintext, private service,
//! unknown listener, exposure); findings about the holding process (deleted or
//! world-writable executable) are never accepted by it.

use super::reach::Reach;
use crate::error::{Error, Result};
use crate::filter::glob;
use std::path::Path;

/// How far an entry lets a port reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowScope {
    Private,
    Public,
}

impl AllowScope {
    fn parse(word: &str) -> Option<AllowScope> {
        match word {
            "private" => Some(AllowScope::Private),
            "public" | "any" | "wildcard" => Some(AllowScope::Public),
            _ => None,
        }
    }

    fn covers(self, reach: Reach) -> bool {
        match self {
            AllowScope::Public => true,
            AllowScope::Private => !reach.public_like(),
        }
    }
}

/// One accepted exposure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// `tcp` or `udp`.
    pub proto: &'static str,
    pub port: u16,
    pub program: Option<String>,
    pub scope: AllowScope,
    /// 1-based line in the file.
    pub line: usize,
}

/// The entries of one allow file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    pub entries: Vec<AllowEntry>,
}

fn parse_line(line: &str, no: usize) -> Result<Option<AllowEntry>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let (proto, port) = words[0]
        .split_once('/')
        .ok_or_else(|| format!("expected PROTO/PORT (like tcp/22), found {:?}", words[0]))?;
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => "tcp",
        "udp" => "udp",
        _ => return Err(format!("unknown protocol {proto:?} (use tcp or udp)")),
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("bad port {port:?} (expected 0-65535)"))?;
    let scope_word = |w: &str| {
        AllowScope::parse(w).ok_or_else(|| format!("unknown scope {w:?} (use private or public)"))
    };
    let (program, scope) = match words[1..] {
        [] => (None, AllowScope::Public),
        [w] => match AllowScope::parse(w) {
            Some(s) => (None, s),
            None => (Some(w.to_string()), AllowScope::Public),
        },
        [g, s] => (Some(g.to_string()), scope_word(s)?),
        [_, _, extra, ..] => {
            return Err(format!(
                "unexpected {extra:?}: a line is PROTO/PORT [PROGRAM-GLOB] [SCOPE]"
            ))
        }
    };
    Ok(Some(AllowEntry {
        proto,
        port,
        program,
        scope,
        line: no,
    }))
}

impl AllowList {
    /// Parse the text of an allow file; a malformed line is an error naming `path` and the
    /// line (exit status 2).
    pub fn parse(text: &str, path: &Path) -> Result<AllowList> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let entry = parse_line(line, i + 1).map_err(|msg| Error::BadFile {
                path: path.to_path_buf(),
                line: i + 1,
                msg,
            })?;
            entries.extend(entry);
        }
        Ok(AllowList { entries })
    }

    /// Read and parse an allow file. An unreadable file is a usage error (exit 2): the user
    /// named it.
    pub fn load(path: &Path) -> Result<AllowList> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Usage(format!("cannot read allow file {}: {e}", path.display())))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Error::BadFile {
                path: path.to_path_buf(),
                line,
                msg: "not valid UTF-8".into(),
            }
        })?;
        AllowList::parse(&text, path)
    }

    /// The entry that accepts `proto/port` held by programs named `comms` reaching `reach`.
    pub fn accepts(
        &self,
        proto: &str,
        port: u16,
        comms: &[&[u8]],
        reach: Reach,
    ) -> Option<&AllowEntry> {
        self.entries.iter().find(|e| {
            e.proto == proto
                && e.port == port
                && e.scope.covers(reach)
                && e.program.as_deref().is_none_or(|g| {
                    g == "*" || comms.iter().any(|c| glob::matches(g.as_bytes(), c))
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AllowList> {
        AllowList::parse(text, Path::new("/etc/pw-allow"))
    }

    #[test]
    fn lines_parse() {
        let l = parse(
            "# accepted\n\ntcp/22 sshd public\n  udp/53\ntcp/5432 postgres private\n\
             tcp/80 nginx\ntcp/8080 private\nTCP/9 * public\n",
        )
        .unwrap();
        let got: Vec<_> = l
            .entries
            .iter()
            .map(|e| (e.proto, e.port, e.program.as_deref(), e.scope, e.line))
            .collect();
        use AllowScope::*;
        assert_eq!(
            got,
            [
                ("tcp", 22, Some("sshd"), Public, 3),
                ("udp", 53, None, Public, 4),
                ("tcp", 5432, Some("postgres"), Private, 5),
                ("tcp", 80, Some("nginx"), Public, 6),
                ("tcp", 8080, None, Private, 7),
                ("tcp", 9, Some("*"), Public, 8),
            ]
        );
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let table: &[(&str, usize, &str)] = &[
            ("tcp22\n", 1, "expected PROTO/PORT"),
            ("# ok\nsctp/22\n", 2, "unknown protocol"),
            ("tcp/22\n\ntcp/70000\n", 3, "bad port"),
            ("tcp/x\n", 1, "bad port"),
            ("tcp/22 sshd everywhere\n", 1, "unknown scope"),
            ("tcp/22 sshd public extra\n", 1, "unexpected \"extra\""),
        ];
        for (text, line, msg) in table {
            match parse(text) {
                Err(e @ Error::BadFile { .. }) => {
                    let shown = e.to_string();
                    assert!(
                        shown.starts_with(&format!("/etc/pw-allow:{line}: ")),
                        "{text:?}: {shown}"
                    );
                    assert!(shown.contains(msg), "{text:?}: {shown}");
                    assert_eq!(e.exit_code(), 2);
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn entries_match_proto_port_program_and_scope() {
        let l = parse("tcp/22 sshd public\ntcp/5432 post* private\nudp/53\ntcp/9 *\n").unwrap();
        let line = |proto, port, comms: &[&[u8]], reach| {
            l.accepts(proto, port, comms, reach).map(|e| e.line)
        };
        assert_eq!(line("tcp", 22, &[b"sshd"], Reach::Wildcard), Some(1));
        assert_eq!(line("tcp", 22, &[b"dropbear"], Reach::Wildcard), None);
        assert_eq!(line("udp", 22, &[b"sshd"], Reach::Public), None);
        assert_eq!(line("tcp", 5432, &[b"postgres"], Reach::Private), Some(2));
        assert_eq!(line("tcp", 5432, &[b"postgres"], Reach::LinkLocal), Some(2));
        assert_eq!(line("tcp", 5432, &[b"postgres"], Reach::Public), None);
        assert_eq!(line("tcp", 5432, &[b"postgres"], Reach::Wildcard), None);
        assert_eq!(line("udp", 53, &[], Reach::Wildcard), Some(3));
        assert_eq!(
            line("tcp", 9, &[], Reach::Public),
            Some(4),
            "`*` matches unknown holders"
        );
        assert_eq!(
            line("tcp", 22, &[], Reach::Public),
            None,
            "a name needs a holder"
        );
    }

    #[test]
    fn unreadable_and_non_utf8_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none");
        assert!(matches!(AllowList::load(&missing), Err(Error::Usage(m)) if m.contains("none")));
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"tcp/22\ntcp/23 \xff\n").unwrap();
        assert!(matches!(
            AllowList::load(&bad),
            Err(Error::BadFile { line: 2, .. })
        ));
    }
}
