//! The JSON document (schema 1): `{"schema": 1, "sockets": [...], "warnings": [...],
//! "owner_scan": ..., "owner_method": ...}`; the extras of each socket (cookie, cgroup,
//! tcp_info ...) are in `json_extras.rs`.
//! Streamed socket by socket through serde, so any byte in a name stays valid JSON.
//! Text that is not UTF-8 is given lossily plus an exact `*_hex` twin.

use super::addr::IpText;
use super::sanitize::hex;
use crate::model::Row;
use crate::model::{
    Container, Endpoint, Netns, Owner, OwnerMethod, OwnerScan, Proto, Text, Warning,
};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::io::{self, Write};

/// Bump when a key changes meaning or disappears; adding keys keeps the number.
pub const SCHEMA: u32 = 1;

struct Ep<'a>(&'a Endpoint);

impl Serialize for Ep<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Endpoint::Inet { addr, port } => {
                let mut m = ser.serialize_map(Some(2))?;
                m.serialize_entry("addr", &IpText::of(addr).as_str())?;
                m.serialize_entry("port", port)?;
                m.end()
            }
            Endpoint::Unix(n) => {
                let bytes = n.display_bytes();
                let mut m = ser.serialize_map(None)?;
                m.serialize_entry("path", &String::from_utf8_lossy(&bytes))?;
                if std::str::from_utf8(&bytes).is_err() {
                    m.serialize_entry("path_hex", &hex(&bytes))?;
                }
                m.end()
            }
        }
    }
}

struct OwnerJ<'a>(&'a Owner);

impl Serialize for OwnerJ<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let o = self.0;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("pid", &o.pid)?;
        text_entry(&mut m, "comm", "comm_hex", o.comm())?;
        m.serialize_entry("fd", &o.fd)?;
        m.serialize_entry("uid", &o.uid())?;
        m.end()
    }
}

/// A socket's owners as a JSON array, serialized in place (no vector per row).
struct OwnersJ<'a>(&'a [Owner]);

impl Serialize for OwnersJ<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.0.iter().map(OwnerJ))
    }
}

fn text_entry<M: SerializeMap>(
    m: &mut M,
    key: &str,
    hex_key: &str,
    t: &Text,
) -> Result<(), M::Error> {
    m.serialize_entry(key, &t.to_str_lossy())?;
    if t.to_str().is_none() {
        m.serialize_entry(hex_key, &hex(t.as_bytes()))?;
    }
    Ok(())
}

/// `{"inode": N, "name": "..." | null, "host": bool}`.
struct NetnsJ<'a>(&'a Netns);

impl Serialize for NetnsJ<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(3))?;
        m.serialize_entry("inode", &self.0.inode)?;
        m.serialize_entry("name", &self.0.name)?;
        m.serialize_entry("host", &self.0.host)?;
        m.end()
    }
}

/// `{"runtime", "id", "name", "pod", "namespace"}` (Kubernetes pod and namespace).
struct ContainerJ<'a>(&'a Container);

impl Serialize for ContainerJ<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = ser.serialize_map(Some(5))?;
        m.serialize_entry("runtime", c.runtime.name())?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry("name", &c.name)?;
        m.serialize_entry("pod", &c.pod)?;
        m.serialize_entry("namespace", &c.namespace)?;
        m.end()
    }
}

/// One socket object of the listing (`{"proto", "family", ..., "port_info"}`), for every
/// document that carries sockets: the listing, watch events, snapshots.
pub struct SocketJson<'a>(pub &'a Row);

impl Serialize for SocketJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let s = &r.sock;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("proto", s.proto.name())?;
        m.serialize_entry("family", s.family.name())?;
        m.serialize_entry("type", s.sock_type.name())?;
        m.serialize_entry("state", s.state.name())?;
        m.serialize_entry("local", &s.local.as_ref().map(Ep))?;
        m.serialize_entry("remote", &s.remote.as_ref().map(Ep))?;
        m.serialize_entry("recv_q", &s.recv_q.get())?;
        m.serialize_entry("send_q", &s.send_q.get())?;
        m.serialize_entry("inode", &s.inode)?;
        m.serialize_entry("uid", &s.uid.get())?;
        m.serialize_entry("user", &r.rare.user.as_deref())?;
        m.serialize_entry("v6only", &s.v6only)?;
        m.serialize_entry("iface", &r.rare.iface.as_deref())?;
        if s.proto == Proto::Unix {
            m.serialize_entry("peer_inode", &s.peer_inode)?;
        }
        m.serialize_entry("owners", &r.owners.as_deref().map(OwnersJ))?;
        m.serialize_entry("netns", &r.netns.as_deref().map(NetnsJ))?;
        m.serialize_entry("container", &r.rare.container.as_deref().map(ContainerJ))?;
        m.serialize_entry("unit", &r.rare.unit.as_ref().map(|u| u.name.as_str()))?;
        m.serialize_entry("holder_netns_differs", &r.rare.holder_netns_differs)?;
        let svc = r.service.as_ref().and_then(|a| a.service.as_ref());
        m.serialize_entry("service", &svc)?;
        m.serialize_entry(
            "port_info",
            &r.service.as_ref().map(|a| {
                serde_json::json!({
                    "port": a.port,
                    "class": a.class.name(),
                    "ephemeral": a.ephemeral,
                    "hint": a.hint,
                })
            }),
        )?;
        super::json_extras::entries(&mut m, r)?;
        m.end()
    }
}

/// A warning as JSON: `{"kind", "message"}`.
#[derive(Serialize)]
pub(crate) struct WarnJ<'a> {
    kind: &'a str,
    message: &'a str,
}

/// Warnings as their JSON objects (also in `kill`'s document).
pub(crate) fn warnings(warnings: &[Warning]) -> Vec<WarnJ<'_>> {
    warnings
        .iter()
        .map(|w| WarnJ {
            kind: w.kind,
            message: &w.message,
        })
        .collect()
}

/// Write the whole document, one socket per line inside the array (greppable, still one
/// JSON value). `owner_scan` is how far the owner scan read and `owner_method` how ("bpf"
/// or "proc"); both `null` when it did not run.
pub fn write(
    rows: &[Row],
    warnings: &[Warning],
    owner_scan: Option<OwnerScan>,
    owner_method: Option<OwnerMethod>,
    out: &mut dyn Write,
) -> io::Result<()> {
    write!(out, "{{\"schema\":{SCHEMA},")?;
    write_listing(rows, warnings, owner_scan, owner_method, out)
}

/// The listing part of a document, after the caller's own leading keys, to the closing brace:
/// `"sockets":[...],"warnings":[...],"owner_scan":...,"owner_method":...}`. Snapshots use it
/// after their header.
pub fn write_listing(
    rows: &[Row],
    warnings: &[Warning],
    owner_scan: Option<OwnerScan>,
    owner_method: Option<OwnerMethod>,
    out: &mut dyn Write,
) -> io::Result<()> {
    out.write_all(b"\"sockets\":[")?;
    for (i, r) in rows.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        // io::Error::from hands back serde_json's underlying io::Error, kind included: a
        // closed pipe must stay BrokenPipe (a quiet exit 0 in main), not become "Other".
        serde_json::to_writer(&mut *out, &SocketJson(r)).map_err(io::Error::from)?;
    }
    out.write_all(b"\n],\"warnings\":")?;
    serde_json::to_writer(&mut *out, &self::warnings(warnings)).map_err(io::Error::from)?;
    out.write_all(b",\"owner_scan\":")?;
    serde_json::to_writer(&mut *out, &owner_scan.map(OwnerScan::name)).map_err(io::Error::from)?;
    out.write_all(b",\"owner_method\":")?;
    serde_json::to_writer(&mut *out, &owner_method.map(OwnerMethod::name))
        .map_err(io::Error::from)?;
    out.write_all(b"}\n")
}

/// One close event (-E --json) as a line of its own: `{"schema": 1, "event": "closed",
/// "time": "...", "socket": {...}}`, the socket with the listing's keys.
pub fn write_event(row: &Row, time: &str, out: &mut dyn Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Event<'a> {
        schema: u32,
        event: &'a str,
        time: &'a str,
        socket: SocketJson<'a>,
    }
    let e = Event {
        schema: SCHEMA,
        event: "closed",
        time,
        socket: SocketJson(row),
    };
    serde_json::to_writer(&mut *out, &e).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// A warning in an event stream: `{"schema": 1, "event": "warning", "kind": ..., "message": ...}`.
pub fn write_event_warning(w: &Warning, out: &mut dyn Write) -> io::Result<()> {
    let e = serde_json::json!({
        "schema": SCHEMA, "event": "warning", "kind": w.kind, "message": w.message,
    });
    serde_json::to_writer(&mut *out, &e).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// A socket -K did not close, and why.
pub struct NotClosed<'a> {
    pub row: &'a Row,
    pub reason: &'a str,
    pub errno: Option<i32>,
}

/// -K's document: `{"schema": 1, "closed": [...], "not_closed": [{"socket": ..., "reason":
/// ..., "errno": ...}], "warnings": [...]}`.
pub fn write_kill(
    closed: &[Row],
    not_closed: &[NotClosed<'_>],
    warnings: &[Warning],
    out: &mut dyn Write,
) -> io::Result<()> {
    struct NotJ<'a>(&'a NotClosed<'a>);
    impl Serialize for NotJ<'_> {
        fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
            let mut m = ser.serialize_map(Some(3))?;
            m.serialize_entry("socket", &SocketJson(self.0.row))?;
            m.serialize_entry("reason", self.0.reason)?;
            m.serialize_entry("errno", &self.0.errno)?;
            m.end()
        }
    }
    let doc = serde_json::json!({
        "schema": SCHEMA,
        "closed": closed.iter().map(|r| serde_json::to_value(SocketJson(r))).collect::<Result<Vec<_>, _>>()?,
        "not_closed": not_closed.iter().map(|n| serde_json::to_value(NotJ(n))).collect::<Result<Vec<_>, _>>()?,
        "warnings": warnings.iter().map(|w| serde_json::json!({"kind": w.kind, "message": w.message})).collect::<Vec<_>>(),
    });
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
