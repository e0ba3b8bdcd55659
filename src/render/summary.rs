//! `-s`: ss -s's text, byte for byte (misc/ss.c, print_summary), then the listener sections
//! portwatch adds; or one JSON document `{"schema": 1, "summary": {...}, "warnings": [...]}`.

use super::addr::endpoint;
use super::sanitize::escape;
use crate::model::{Split, SsTotals, Warning};
use crate::pipeline::summary::{ListenerLoad, Summary, TOP};
use serde_json::{json, Value};
use std::io::{self, Write};

/// ss prints a missing counter as 0 (it starts from a zeroed struct).
fn n(v: Option<i64>) -> i64 {
    v.unwrap_or(0)
}

/// The lines `ss -s` prints.
pub fn ss_text(t: &SsTotals, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Total: {}", n(t.sockets))?;
    writeln!(
        out,
        "TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})",
        n(t.tcp),
        n(t.estab),
        n(t.closed),
        n(t.orphaned),
        n(t.timewait)
    )?;
    writeln!(out)?;
    writeln!(out, "Transport Total     IP        IPv6")?;
    for (name, s) in [
        ("RAW", t.raw),
        ("UDP", t.udp),
        ("TCP", t.tcp_hashed),
        ("INET", t.inet),
        ("FRAG", t.frag),
    ] {
        writeln!(
            out,
            "{name}\t  {:<9} {:<9} {:<9}",
            n(s.total),
            n(s.ipv4),
            n(s.ipv6)
        )?;
    }
    writeln!(out)
}

fn listener(l: &ListenerLoad) -> String {
    let mut a = String::new();
    endpoint(&mut a, &l.row, true);
    a
}

fn service(l: &ListenerLoad) -> String {
    l.row
        .service
        .as_ref()
        .map(|a| escape(a.cell().as_bytes()).into_owned())
        .unwrap_or_default()
}

/// The whole `-s` text.
pub fn write_text(s: &Summary, out: &mut dyn Write) -> io::Result<()> {
    ss_text(&s.totals, out)?;
    if !s.listeners_read {
        return Ok(());
    }
    writeln!(out, "Listeners by accept queue (Recv-Q/backlog):")?;
    if s.by_queue.is_empty() {
        writeln!(out, "  none waiting")?;
    }
    for l in &s.by_queue {
        let sk = &l.row.sock;
        writeln!(
            out,
            "  {:<5} {:<28} {:>6}/{:<6} {:>4}%  {}",
            sk.netid(),
            listener(l),
            sk.recv_q.get().unwrap_or(0),
            sk.send_q.get().unwrap_or(0),
            l.queue_percent().unwrap_or(0),
            service(l)
        )?;
    }
    writeln!(out)?;
    match &s.by_connections {
        None => writeln!(out, "Listeners by connections: -sa counts them")?,
        Some(v) => {
            writeln!(out, "Listeners by connections:")?;
            if v.is_empty() {
                writeln!(out, "  none")?;
            }
            for l in v {
                writeln!(
                    out,
                    "  {:<5} {:<28} {:>8}  {}",
                    l.row.sock.netid(),
                    listener(l),
                    l.connections.unwrap_or(0),
                    service(l)
                )?;
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "Listeners per service:")?;
    if s.per_service.is_empty() {
        writeln!(out, "  none")?;
    }
    for c in s.per_service.iter().take(TOP) {
        let name = c.service.as_deref().map(|n| escape(n.as_bytes()));
        writeln!(
            out,
            "  {:<5} {:<24} {:>6}",
            c.proto.name(),
            name.as_deref().unwrap_or("(unregistered)"),
            c.listeners
        )?;
    }
    if let Some(more) = s.per_service.len().checked_sub(TOP).filter(|&n| n > 0) {
        writeln!(out, "  ... and {more} more (--json lists all)")?;
    }
    Ok(())
}

fn split(s: Split) -> Value {
    json!({"total": s.total, "ipv4": s.ipv4, "ipv6": s.ipv6})
}

fn load(l: &ListenerLoad) -> Value {
    let sk = &l.row.sock;
    json!({
        "proto": sk.proto.name(),
        "local": listener(l),
        "recv_q": sk.recv_q,
        "backlog": sk.send_q,
        "queue_percent": l.queue_percent(),
        "connections": l.connections,
        "service": l.row.service.as_ref().and_then(|a| a.service.as_ref()).map(|s| &s.name),
    })
}

/// `{"schema": 1, "summary": {...}, "warnings": [...]}`.
pub fn write_json(s: &Summary, warnings: &[Warning], out: &mut dyn Write) -> io::Result<()> {
    let t = &s.totals;
    let c = &s.counters;
    let doc = json!({
        "schema": super::json::SCHEMA,
        "summary": {
            "total": t.sockets,
            "tcp": {
                "total": t.tcp, "estab": t.estab, "closed": t.closed,
                "orphaned": t.orphaned, "timewait": t.timewait,
            },
            "transport": {
                "raw": split(t.raw), "udp": split(t.udp), "tcp": split(t.tcp_hashed),
                "inet": split(t.inet), "frag": split(t.frag),
            },
            "counters": {
                "sockets_used": c.sockets_used, "tcp_inuse": c.tcp_inuse,
                "tcp_orphan": c.tcp_orphan, "tcp_tw": c.tcp_tw, "tcp_alloc": c.tcp_alloc,
                "tcp_mem_pages": c.tcp_mem, "udp_inuse": c.udp_inuse,
                "udp_mem_pages": c.udp_mem, "udplite_inuse": c.udplite_inuse,
                "raw_inuse": c.raw_inuse, "frag_inuse": c.frag_inuse,
                "frag_memory": c.frag_memory, "tcp6_inuse": c.tcp6_inuse,
                "udp6_inuse": c.udp6_inuse, "udplite6_inuse": c.udplite6_inuse,
                "raw6_inuse": c.raw6_inuse, "frag6_inuse": c.frag6_inuse,
                "frag6_memory": c.frag6_memory, "tcp_curr_estab": c.tcp_estab,
            },
            "listeners_by_queue": s.listeners_read
                .then(|| s.by_queue.iter().map(load).collect::<Vec<_>>()),
            "listeners_by_connections":
                s.by_connections.as_ref().map(|v| v.iter().map(load).collect::<Vec<_>>()),
            "listeners_per_service": s.listeners_read.then(|| s.per_service.iter().map(|p| json!({
                "proto": p.proto.name(), "service": p.service, "listeners": p.listeners,
            })).collect::<Vec<_>>()),
        },
        "warnings": warnings.iter().map(|w| json!({"kind": w.kind, "message": w.message}))
            .collect::<Vec<_>>(),
    });
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::from)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SockStat;

    #[test]
    fn ss_layout_exactly() {
        let c = SockStat {
            sockets_used: Some(22),
            tcp_inuse: Some(3),
            tcp_orphan: Some(0),
            tcp_tw: Some(0),
            tcp_alloc: Some(4),
            udp_inuse: Some(0),
            raw_inuse: Some(0),
            frag_inuse: Some(0),
            tcp6_inuse: Some(0),
            udp6_inuse: Some(0),
            raw6_inuse: Some(0),
            frag6_inuse: Some(0),
            tcp_estab: Some(2),
            ..SockStat::default()
        };
        let mut out = Vec::new();
        ss_text(&c.ss_totals(), &mut out).unwrap();
        // What ss -s printed for these counters (iproute2 6.1), trailing spaces included.
        let want = "Total: 22\n\
            TCP:   4 (estab 2, closed 1, orphaned 0, timewait 0)\n\
            \n\
            Transport Total     IP        IPv6\n\
            RAW\t  0         0         0        \n\
            UDP\t  0         0         0        \n\
            TCP\t  3         3         0        \n\
            INET\t  3         3         0        \n\
            FRAG\t  0         0         0        \n\
            \n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}
