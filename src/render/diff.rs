//! `diff`'s output: lines like diff(1) (`+` added, `-` removed, `~` changed) under a header
//! naming both sides, or a JSON document. Nothing at all when nothing differs.
//!
//! ```text
//! --- base.json (web1, 2026-11-30T09:00:00.000Z)
//! +++ now (web1, 2026-11-30T10:00:00.000Z)
//! + tcp LISTEN 0.0.0.0:8080  python3
//! - tcp LISTEN 127.0.0.1:5432 (postgresql)  postgres
//! ~ tcp LISTEN [::]:80 (http)  nginx  user root -> www-data
//! + tcp connections to :443 (https) from private addresses  nginx  (3)
//! ```

use super::addr::IpText;
use super::json::SCHEMA;
use super::sanitize::{escape, hex};
use crate::model::{Endpoint, Text};
use crate::timeline::{Attrs, Delta, Difference, Ident, What};
use serde_json::{json, Value};
use std::io::{self, Write};

/// One side of the comparison, for the header.
pub struct Side<'a> {
    /// The document's path, or `None` for the host now.
    pub path: Option<&'a str>,
    pub host: Option<&'a str>,
    pub created: Option<&'a str>,
}

pub fn write_text(
    old: &Side<'_>,
    new: &Side<'_>,
    diffs: &[Difference],
    out: &mut dyn Write,
) -> io::Result<()> {
    if diffs.is_empty() {
        return Ok(());
    }
    writeln!(out, "--- {}", side_text(old))?;
    writeln!(out, "+++ {}", side_text(new))?;
    for d in diffs {
        let sign = match d.delta {
            Delta::Added => '+',
            Delta::Removed => '-',
            Delta::Changed => '~',
        };
        let attrs = d.after.as_ref().or(d.before.as_ref());
        let mut line = format!("{sign} {} {}", d.ident.proto.name(), what(&d.ident, attrs));
        if let Some(p) = &d.ident.program {
            line.push_str("  ");
            line.push_str(&programs(p));
        }
        let detail = match (d.delta, &d.before, &d.after) {
            (Delta::Changed, Some(b), Some(a)) => changes(&d.ident.what, b, a),
            (_, _, Some(a)) | (_, Some(a), None) => count(&d.ident.what, a),
            _ => String::new(),
        };
        if !detail.is_empty() {
            line.push_str("  ");
            line.push_str(&detail);
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn side_text(s: &Side<'_>) -> String {
    let name = s
        .path
        .map_or("now".to_string(), |p| escape(p.as_bytes()).into_owned());
    let about: Vec<String> = [s.host, s.created]
        .iter()
        .flatten()
        .map(|t| escape(t.as_bytes()).into_owned())
        .collect();
    if about.is_empty() {
        name
    } else {
        format!("{name} ({})", about.join(", "))
    }
}

/// The identity in words.
fn what(id: &Ident, attrs: Option<&Attrs>) -> String {
    let service = attrs
        .and_then(|a| a.service.as_deref())
        .map(|s| format!(" ({})", escape(s.as_bytes())))
        .unwrap_or_default();
    match &id.what {
        What::Bound { state, local } => format!("{} {}{service}", state.name(), end(local)),
        What::Served { port, remote } => {
            format!("connections to :{port}{service} from {remote} addresses")
        }
        What::Used { port, remote } => {
            format!("connections to {remote} addresses :{port}{service}")
        }
        What::Connection {
            local,
            remote,
            port,
            inbound: true,
        } => format!("{}:{port} <- {}", ip(local), ip(remote)),
        What::Connection {
            local,
            remote,
            port,
            inbound: false,
        } => format!("{} -> {}:{port}{service}", ip(local), ip(remote)),
        What::UnixConnected { name: Some(n) } => {
            format!("connected to {}", escape(&n.display_bytes()))
        }
        What::UnixConnected { name: None } => "connected pairs (unnamed)".into(),
    }
}

fn ip(a: &std::net::IpAddr) -> String {
    match a {
        std::net::IpAddr::V6(_) => format!("[{}]", IpText::of(a).as_str()),
        std::net::IpAddr::V4(_) => IpText::of(a).as_str().to_string(),
    }
}

fn end(e: &Option<Endpoint>) -> String {
    match e {
        Some(Endpoint::Inet { addr, port: 0 }) => format!("{}:*", ip(addr)),
        Some(Endpoint::Inet { addr, port }) => format!("{}:{port}", ip(addr)),
        Some(Endpoint::Unix(n)) => escape(&n.display_bytes()).into_owned(),
        None => "*".into(),
    }
}

/// Program names, escaped; a comma in a name is escaped too so it cannot forge a second one.
fn programs(p: &[Text]) -> String {
    if p.is_empty() {
        return "-".into();
    }
    let names: Vec<String> = p
        .iter()
        .map(|t| escape(t.as_bytes()).replace(',', "\\x2c"))
        .collect();
    names.join(",")
}

fn count(what: &What, a: &Attrs) -> String {
    let n = a.count;
    match what {
        What::Bound { .. } if n > 1 => format!("({n} sockets)"),
        What::Bound { .. } => String::new(),
        _ => format!("({n})"),
    }
}

fn changes(what: &What, b: &Attrs, a: &Attrs) -> String {
    let mut v = Vec::new();
    let list = |s: &std::collections::BTreeSet<String>| {
        let names: Vec<String> = s
            .iter()
            .map(|u| escape(u.as_bytes()).into_owned())
            .collect();
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join(",")
        }
    };
    if b.users != a.users {
        v.push(format!("user {} -> {}", list(&b.users), list(&a.users)));
    }
    if b.v6only != a.v6only {
        let ds = |s: &std::collections::BTreeSet<bool>| match s.iter().collect::<Vec<_>>()[..] {
            [false] => "dual-stack",
            [true] => "v6only",
            [] => "-",
            _ => "mixed",
        };
        v.push(format!("{} -> {}", ds(&b.v6only), ds(&a.v6only)));
    }
    if b.count != a.count {
        let what = match what {
            What::Bound { .. } => "sockets",
            _ => "connections",
        };
        v.push(format!("{what} {} -> {}", b.count, a.count));
    }
    v.join("; ")
}

pub fn write_json(
    old: &Side<'_>,
    new: &Side<'_>,
    diffs: &[Difference],
    out: &mut dyn Write,
) -> io::Result<()> {
    let n = |d: Delta| diffs.iter().filter(|x| x.delta == d).count();
    let doc = json!({
        "schema": SCHEMA,
        "baseline": side_json(old),
        "new": side_json(new),
        "differences": diffs.iter().map(diff_json).collect::<Vec<_>>(),
        "summary": {
            "added": n(Delta::Added),
            "removed": n(Delta::Removed),
            "changed": n(Delta::Changed),
        },
    });
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

fn side_json(s: &Side<'_>) -> Value {
    json!({"path": s.path, "host": s.host, "created": s.created})
}

fn end_json(e: &Option<Endpoint>) -> Value {
    match e {
        Some(Endpoint::Inet { addr, port }) => {
            json!({"addr": IpText::of(addr).as_str(), "port": port})
        }
        Some(Endpoint::Unix(n)) => {
            let b = n.display_bytes();
            let mut v = json!({"path": String::from_utf8_lossy(&b)});
            if std::str::from_utf8(&b).is_err() {
                v["path_hex"] = hex(&b).into();
            }
            v
        }
        None => Value::Null,
    }
}

fn diff_json(d: &Difference) -> Value {
    let id = &d.ident;
    let mut v = json!({
        "change": d.delta.name(),
        "proto": id.proto.name(),
        "namespace": id.namespace,
    });
    let fields = match &id.what {
        What::Bound { state, local } => {
            json!({"kind": "bound", "state": state.name(), "local": end_json(local)})
        }
        What::Served { port, remote } => {
            json!({"kind": "served", "port": port, "remote_class": remote})
        }
        What::Used { port, remote } => {
            json!({"kind": "used", "port": port, "remote_class": remote})
        }
        What::Connection {
            local,
            remote,
            port,
            inbound,
        } => json!({
            "kind": "connection",
            "local_addr": IpText::of(local).as_str(),
            "remote_addr": IpText::of(remote).as_str(),
            "port": port,
            "inbound": inbound,
        }),
        What::UnixConnected { name } => json!({
            "kind": "unix-connected",
            "name": end_json(&name.clone().map(Endpoint::Unix)),
        }),
    };
    if let (Value::Object(m), Value::Object(f)) = (&mut v, fields) {
        m.extend(f);
    }
    let service = d
        .after
        .as_ref()
        .or(d.before.as_ref())
        .and_then(|a| a.service.clone());
    v["service"] = service.into();
    v["program"] = match &id.program {
        Some(p) => p
            .iter()
            .map(|t| t.to_str_lossy().into_owned())
            .collect::<Vec<_>>()
            .into(),
        None => Value::Null,
    };
    if id
        .program
        .as_ref()
        .is_some_and(|p| p.iter().any(|t| t.to_str().is_none()))
    {
        v["program_hex"] = id
            .program
            .iter()
            .flatten()
            .map(|t| hex(t.as_bytes()))
            .collect::<Vec<_>>()
            .into();
    }
    v["before"] = d.before.as_ref().map_or(Value::Null, attrs_json);
    v["after"] = d.after.as_ref().map_or(Value::Null, attrs_json);
    v
}

fn attrs_json(a: &Attrs) -> Value {
    json!({"count": a.count, "users": a.users, "v6only": a.v6only})
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
