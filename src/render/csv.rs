//! CSV (RFC 4180): one header line, the same facts as JSON flattened. Untrusted text is
//! escaped as in the table (reversible: `\\`, `\n`, `\xNN` ...), then quoted when needed.

use super::addr::IpText;
use super::cells;
use super::sanitize::escape;
use crate::model::Endpoint;
use crate::model::Row;
use std::io::{self, Write};

const HEADER: &[&str] = &[
    "proto",
    "family",
    "type",
    "state",
    "local_addr",
    "local_port",
    "remote_addr",
    "remote_port",
    "recv_q",
    "send_q",
    "inode",
    "uid",
    "user",
    "v6only",
    "service",
    "service_source",
    "port_class",
    "ephemeral",
    "owners",
    "netns_inode",
    "netns_name",
    "netns_host",
    "container_runtime",
    "container_id",
    "container_name",
    "container_pod",
    "container_namespace",
    "unit",
    "holder_netns_differs",
];

fn field(out: &mut dyn Write, text: &str, first: bool) -> io::Result<()> {
    if !first {
        out.write_all(b",")?;
    }
    if text.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        out.write_all(text.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(text.as_bytes())
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn ep_fields(ep: Option<&Endpoint>) -> (String, String) {
    match ep {
        Some(Endpoint::Inet { addr, port }) => (IpText::of(addr).as_str().into(), port.to_string()),
        Some(Endpoint::Unix(n)) => (escape(&n.display_bytes()).into_owned(), String::new()),
        None => (String::new(), String::new()),
    }
}

pub fn write(rows: &[Row], header: bool, out: &mut dyn Write) -> io::Result<()> {
    if header {
        for (i, h) in HEADER.iter().enumerate() {
            field(out, h, i == 0)?;
        }
        out.write_all(b"\n")?;
    }
    let mut owners = String::new();
    for r in rows {
        let s = &r.sock;
        let (la, lp) = ep_fields(s.local.as_ref());
        let (ra, rp) = ep_fields(s.remote.as_ref());
        let svc = r.service.as_ref().and_then(|a| a.service.as_ref());
        owners.clear();
        if r.owners.as_ref().is_some_and(|v| !v.is_empty()) {
            cells::owners(&mut owners, r);
        }
        let ns = r.netns.as_deref();
        let c = r.rare.container.as_deref();
        let text = |t: Option<&String>| {
            t.map(|t| escape(t.as_bytes()).into_owned())
                .unwrap_or_default()
        };
        let vals: [String; 29] = [
            s.proto.name().into(),
            s.family.name().into(),
            s.sock_type.name().into(),
            s.state.name().into(),
            la,
            lp,
            ra,
            rp,
            opt(s.recv_q.get()),
            opt(s.send_q.get()),
            s.inode.to_string(),
            opt(s.uid.get()),
            r.rare
                .user
                .as_deref()
                .map(|u| escape(u.as_bytes()).into_owned())
                .unwrap_or_default(),
            opt(s.v6only),
            svc.map(|n| escape(n.name.as_bytes()).into_owned())
                .unwrap_or_default(),
            svc.map(|n| n.source.name().to_string()).unwrap_or_default(),
            opt(r.service.as_ref().map(|a| a.class.name())),
            opt(r.service.as_ref().map(|a| a.ephemeral)),
            owners.clone(),
            opt(ns.map(|n| n.inode)),
            text(ns.and_then(|n| n.name.as_ref())),
            opt(ns.map(|n| n.host)),
            opt(c.map(|c| c.runtime.name())),
            text(c.map(|c| &c.id)),
            text(c.and_then(|c| c.name.as_ref())),
            text(c.and_then(|c| c.pod.as_ref())),
            text(c.and_then(|c| c.namespace.as_ref())),
            text(r.rare.unit.as_ref().map(|u| &u.name)),
            opt(r.rare.holder_netns_differs),
        ];
        for (i, v) in vals.iter().enumerate() {
            field(out, v, i == 0)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}
