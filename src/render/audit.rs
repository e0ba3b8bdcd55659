//! `audit` output: the findings grouped by severity, most severe first, each with the
//! sockets, reach, firewall verdict, holders and placement it is about, why it matters and
//! what to do; then one summary line. Or one JSON document (`write_json`). Text from
//! processes, files and runtimes is escaped with the table's rules; addresses come from the
//! one address formatter. In a pipe nothing is cut or wrapped (one field per line, for grep);
//! on a terminal long lines wrap at its width, never truncated.

use super::addr::inet_endpoint;
use super::sanitize::{escape, escape_str};
use crate::audit::{Finding, Report, Severity};
use crate::model::Warning;
use std::io::{self, Write};
use unicode_width::UnicodeWidthStr;

/// How the text prints, resolved.
#[derive(Debug, Clone, Default)]
pub struct TextOpts {
    /// Wrap at this width (a terminal's); `None`: never wrap.
    pub width: Option<usize>,
    /// Several namespaces were read (`-N`): every finding names its own.
    pub namespaces: bool,
}

/// Indentation of a finding's fields, and the width of their labels.
const INDENT: usize = 4;
const LABEL: usize = 9;

/// The whole text: severity groups, then the summary line.
pub fn write_text(r: &Report, o: &TextOpts, out: &mut dyn Write) -> io::Result<()> {
    for sev in Severity::ALL {
        let group: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        writeln!(out, "{} ({})", sev.name().to_uppercase(), group.len())?;
        for f in group {
            finding(f, o, out)?;
        }
    }
    for line in wrap(&summary_line(r), o.width) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `7 listeners, 3 reachable beyond loopback; findings: 1 high, ...; 1 accepted by the allow
/// file`.
pub fn summary_line(r: &Report) -> String {
    let s = &r.summary;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "summary: {}, {} reachable beyond loopback; ",
        plural(s.listeners, "listener", "listeners"),
        s.exposed
    );
    if s.findings == 0 {
        line.push_str("no findings");
    } else {
        line.push_str(&format!(
            "findings: {} high, {} medium, {} low, {} info",
            s.high, s.medium, s.low, s.info
        ));
    }
    if s.allowed > 0 {
        line.push_str(&format!(
            "; {} accepted by the allow file",
            plural(s.allowed, "finding", "findings")
        ));
    }
    line
}

fn finding(f: &Finding, o: &TextOpts, out: &mut dyn Write) -> io::Result<()> {
    let mut head = format!(
        "  [{}] {}  {}/{}",
        f.severity.name(),
        f.id.name(),
        f.proto,
        f.port
    );
    if let Some(s) = &f.service {
        head.push(' ');
        head.push_str(&escape_str(s));
    }
    writeln!(out, "{head}")?;
    field(out, o, "sockets", &sockets(f))?;
    field(out, o, "reach", &reach(f))?;
    field(out, o, "process", &processes(f))?;
    field(
        out,
        o,
        "user",
        f.user.as_deref().map_or("-".into(), escape_str).as_ref(),
    )?;
    if let Some(p) = placement(f, o.namespaces) {
        field(out, o, "where", &p)?;
    }
    field(out, o, "why", &f.why)?;
    field(out, o, "fix", &f.fix)?;
    writeln!(out)
}

fn sockets(f: &Finding) -> String {
    let mut s = String::new();
    for (i, sock) in f.sockets.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        inet_endpoint(
            &mut s,
            &sock.address,
            sock.port,
            sock.v6only,
            sock.device.as_deref(),
        );
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// `wildcard via veth0, eth1; firewall dropped; answers tls`.
fn reach(f: &Finding) -> String {
    let mut s = f.reach.name().to_string();
    if !f.interfaces.is_empty() {
        let names: Vec<String> = f
            .interfaces
            .iter()
            .map(|i| escape_str(i).into_owned())
            .collect();
        s.push_str(" via ");
        s.push_str(&names.join(", "));
    }
    if let Some(v) = f.firewall {
        s.push_str("; firewall ");
        s.push_str(v.name());
    }
    if let Some(p) = f.protocol {
        s.push_str("; answers ");
        s.push_str(p);
    }
    s
}

/// `nginx (pid 10, www-data) /usr/sbin/nginx; ...`, or `-` when no holder is known.
fn processes(f: &Finding) -> String {
    let each: Vec<String> = f
        .processes
        .iter()
        .map(|p| {
            let mut s = format!("{} (pid {}", escape(p.comm.as_bytes()), p.pid);
            match (&p.user, p.uid) {
                (Some(u), _) => s.push_str(&format!(", {}", escape_str(u))),
                (None, Some(uid)) => s.push_str(&format!(", uid {uid}")),
                (None, None) => {}
            }
            s.push(')');
            if let Some(exe) = &p.exe {
                s.push(' ');
                s.push_str(&escape(exe.as_bytes()));
            }
            s
        })
        .collect();
    if each.is_empty() {
        "-".into()
    } else {
        each.join("; ")
    }
}

/// `netns blue, container web (podman 0123456789ab), unit web.service`; `None` when there is
/// nothing to say (one namespace, the host's, and no container or unit).
fn placement(f: &Finding, namespaces: bool) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(n) = f.netns.as_ref().filter(|n| namespaces || !n.host) {
        parts.push(format!("netns {}", escape_str(&n.label())));
    }
    if let Some(c) = &f.container {
        let short = if c.id.len() == 64 {
            &c.id[..12]
        } else {
            c.id.as_str()
        };
        parts.push(match &c.name {
            Some(name) => format!(
                "container {} ({} {})",
                escape_str(name),
                c.runtime,
                escape_str(short)
            ),
            None => format!("container {} ({})", escape_str(short), c.runtime),
        });
    }
    if let Some(u) = &f.unit {
        parts.push(format!("unit {}", escape_str(u)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// One `label  value` line, the value wrapped under itself at the terminal's width.
fn field(out: &mut dyn Write, o: &TextOpts, label: &str, value: &str) -> io::Result<()> {
    let pad = " ".repeat(INDENT);
    let lines = wrap(value, o.width.map(|w| w.saturating_sub(INDENT + LABEL)));
    for (i, line) in lines.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        writeln!(out, "{pad}{label:<LABEL$}{line}")?;
    }
    Ok(())
}

/// Split `text` at spaces into lines at most `width` columns wide (a longer word stays whole:
/// wrapping never cuts text). `None` or a tiny width: one line.
fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    let Some(width) = width.filter(|w| *w >= 20) else {
        return vec![text.to_string()];
    };
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        if !cur.is_empty() && cur.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    lines.push(cur);
    lines
}

/// The JSON document: `{"schema": 1, "findings": [...], "summary": {...}, "warnings":
/// [...]}`, one finding per line (greppable, still one JSON value), each warning once.
pub fn write_json(r: &Report, warnings: &[Warning], out: &mut dyn Write) -> io::Result<()> {
    write!(out, "{{\"schema\":{},\"findings\":[", r.schema)?;
    for (i, f) in r.findings.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        // io::Error::from keeps a closed pipe a BrokenPipe (a quiet exit 0 in main).
        serde_json::to_writer(&mut *out, f).map_err(io::Error::from)?;
    }
    out.write_all(b"\n],\"summary\":")?;
    serde_json::to_writer(&mut *out, &r.summary).map_err(io::Error::from)?;
    out.write_all(b",\"warnings\":")?;
    let mut seen = std::collections::HashSet::new();
    let once: Vec<serde_json::Value> = warnings
        .iter()
        .filter(|w| seen.insert(&w.message))
        .map(|w| serde_json::json!({"kind": w.kind, "message": w.message}))
        .collect();
    serde_json::to_writer(&mut *out, &once).map_err(io::Error::from)?;
    out.write_all(b"}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_cuts_none() {
        let text = "The program holding this port runs from a directory anyone can write to.";
        assert_eq!(wrap(text, None), [text]);
        let lines = wrap(text, Some(24));
        assert!(lines.iter().all(|l| l.width() <= 24), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        let long = "x".repeat(40);
        assert_eq!(
            wrap(&long, Some(24)),
            std::slice::from_ref(&long),
            "a long word stays whole"
        );
        assert_eq!(wrap("a b", Some(5)), ["a b"], "too narrow to wrap");
    }
}
