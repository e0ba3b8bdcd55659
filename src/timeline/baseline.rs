//! Reading a baseline back: a document `snapshot` wrote, or a listing saved with `--json`,
//! into the sockets and owners it recorded. Strict: a malformed document, one of another
//! kind, or one of a schema newer than this program is an error naming the problem and its
//! line, never an empty baseline (which would make everything look new, or nothing gone).

use crate::error::{Error, Result};
use crate::model::{Endpoint, Family, Owner, Proto, SockType, Socket, State, UnixName};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::Path;

/// The document schema this program reads and writes.
pub const SCHEMA: u64 = 1;
/// The `kind` of a snapshot document (a listing has none).
pub const KIND: &str = "portwatch-snapshot";

/// What a baseline recorded.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// When it was taken (RFC 3339), and where.
    pub created: Option<String>,
    pub host: Option<String>,
    /// The listing flags (as `config::selection_words` writes them) and the filter text; `None`
    /// for a listing saved with --json, which does not say how it was made.
    pub selection: Option<(Vec<String>, String)>,
    /// The host's ephemeral port range then.
    pub ephemeral: Option<(u16, u16)>,
    pub sockets: Vec<Socket>,
    /// (socket inode, holder) pairs.
    pub owners: Vec<(u64, Owner)>,
    /// User names by uid, as recorded.
    pub users: HashMap<u32, String>,
    /// The owner scan ran (owners are `null` everywhere otherwise).
    pub has_owners: bool,
}

#[derive(Deserialize)]
struct Head {
    schema: Option<serde_json::Value>,
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Doc {
    created: Option<String>,
    host: Option<String>,
    selection: Option<Selection>,
    ephemeral_range: Option<(u16, u16)>,
    sockets: Option<Vec<SockJ>>,
}

#[derive(Deserialize)]
struct Selection {
    args: Vec<String>,
    filter: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ProtoJ {
    Tcp,
    Udp,
    Unix,
    Raw,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FamilyJ {
    Ipv4,
    Ipv6,
    Unix,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum TypeJ {
    Stream,
    Dgram,
    Seqpacket,
    Raw,
}

#[derive(Deserialize)]
struct SockJ {
    proto: ProtoJ,
    family: FamilyJ,
    #[serde(rename = "type")]
    sock_type: TypeJ,
    #[serde(deserialize_with = "state")]
    state: State,
    local: Option<EpJ>,
    remote: Option<EpJ>,
    recv_q: Option<u32>,
    send_q: Option<u32>,
    #[serde(default)]
    inode: u64,
    uid: Option<u32>,
    user: Option<String>,
    v6only: Option<bool>,
    peer_inode: Option<NonZeroU64>,
    owners: Option<Vec<OwnerJ>>,
}

#[derive(Deserialize)]
struct EpJ {
    addr: Option<IpAddr>,
    port: Option<u16>,
    path: Option<String>,
    path_hex: Option<String>,
}

#[derive(Deserialize)]
struct OwnerJ {
    pid: u32,
    comm: String,
    comm_hex: Option<String>,
    fd: u32,
    uid: Option<u32>,
}

fn state<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<State, D::Error> {
    let name = String::deserialize(d)?;
    State::from_name(&name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown socket state '{name}'")))
}

/// Parse a baseline document; `path` names it in errors.
pub fn parse(text: &[u8], path: &Path) -> Result<Baseline> {
    let bad = |line: usize, msg: String| Error::BadFile {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let syntax = |e: serde_json::Error| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        bad(e.line().max(1), format!("not a portwatch document: {msg}"))
    };
    // The schema and kind first: a newer document may not fit the shape read below, and
    // must be refused for what it is.
    let head: Head = serde_json::from_slice(text).map_err(syntax)?;
    let line_of = |key: &str| line_of(text, key);
    match head.schema.as_ref().map(|v| v.as_u64()) {
        None => return Err(bad(1, "not a portwatch document: no \"schema\"".into())),
        Some(Some(SCHEMA)) => {}
        Some(Some(n)) if n > SCHEMA => {
            return Err(bad(
                line_of("schema"),
                format!(
                    "schema {n} is newer than this portwatch reads ({SCHEMA}): upgrade \
                     portwatch, or take the baseline again with this one"
                ),
            ))
        }
        Some(_) => {
            return Err(bad(
                line_of("schema"),
                format!("\"schema\" must be {SCHEMA}"),
            ))
        }
    }
    if let Some(kind) = head.kind.as_deref().filter(|k| *k != KIND) {
        return Err(bad(
            line_of("kind"),
            format!("a \"{kind}\" document, not a snapshot"),
        ));
    }
    let doc: Doc = serde_json::from_slice(text).map_err(syntax)?;
    let Some(sockets) = doc.sockets else {
        return Err(bad(1, "no \"sockets\" list".into()));
    };
    let mut b = Baseline {
        created: doc.created,
        host: doc.host,
        selection: doc.selection.map(|s| (s.args, s.filter)),
        ephemeral: doc.ephemeral_range,
        ..Baseline::default()
    };
    for (i, s) in sockets.into_iter().enumerate() {
        let here = |msg: String| bad(line_of_socket(text, i), msg);
        let sock = socket(&s).map_err(here)?;
        if let (Some(uid), Some(user)) = (s.uid, &s.user) {
            b.users.insert(uid, user.clone());
        }
        if let Some(owners) = s.owners {
            b.has_owners = true;
            for o in owners {
                let comm = match &o.comm_hex {
                    Some(h) => unhex(h).ok_or_else(|| here(format!("bad comm_hex '{h}'")))?,
                    None => o.comm.into_bytes(),
                };
                let owner = Owner::new(o.pid, comm, o.fd, o.uid);
                b.owners.push((sock.inode, owner));
            }
        }
        b.sockets.push(sock);
    }
    Ok(b)
}

fn socket(s: &SockJ) -> std::result::Result<Socket, String> {
    let proto = match s.proto {
        ProtoJ::Tcp => Proto::Tcp,
        ProtoJ::Udp => Proto::Udp,
        ProtoJ::Unix => Proto::Unix,
        ProtoJ::Raw => Proto::Raw,
    };
    let family = match s.family {
        FamilyJ::Ipv4 => Family::Ipv4,
        FamilyJ::Ipv6 => Family::Ipv6,
        FamilyJ::Unix => Family::Unix,
    };
    let sock_type = match s.sock_type {
        TypeJ::Stream => SockType::Stream,
        TypeJ::Dgram => SockType::Dgram,
        TypeJ::Seqpacket => SockType::Seqpacket,
        TypeJ::Raw => SockType::Raw,
    };
    // Socket inodes are 32-bit (the kernel's get_next_ino): a wider peer is not one.
    let peer_inode = match s.peer_inode {
        Some(p) => {
            Some(NonZeroU32::try_from(p).map_err(|_| format!("peer_inode {p} is out of range"))?)
        }
        None => None,
    };
    Ok(Socket {
        local: s.local.as_ref().map(endpoint).transpose()?,
        remote: s.remote.as_ref().map(endpoint).transpose()?,
        recv_q: s.recv_q.into(),
        send_q: s.send_q.into(),
        inode: s.inode,
        uid: s.uid.into(),
        v6only: s.v6only,
        peer_inode,
        ..Socket::new(proto, family, sock_type, s.state)
    })
}

/// `{"addr", "port"}` or a unix name (`{"path", "path_hex"}`, `@` for abstract names, as
/// the listing writes them).
fn endpoint(e: &EpJ) -> std::result::Result<Endpoint, String> {
    if let (Some(addr), Some(port)) = (e.addr, e.port) {
        return Ok(Endpoint::Inet { addr, port });
    }
    let bytes = match (&e.path_hex, &e.path) {
        (Some(h), _) => unhex(h).ok_or_else(|| format!("bad path_hex '{h}'"))?,
        (None, Some(p)) => p.clone().into_bytes(),
        (None, None) => return Err("an address needs addr and port, or a path".into()),
    };
    Ok(match bytes.strip_prefix(b"@") {
        Some(name) => Endpoint::Unix(UnixName {
            abstract_ns: true,
            name: name.into(),
        }),
        None => Endpoint::Unix(UnixName {
            abstract_ns: false,
            name: bytes.into(),
        }),
    })
}

fn unhex(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len() / 2)
        .map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The 1-based line where `"key"` first appears (1 when it does not).
fn line_of(text: &[u8], key: &str) -> usize {
    let needle = format!("\"{key}\"");
    let at = text
        .windows(needle.len())
        .position(|w| w == needle.as_bytes());
    at.map_or(1, |i| 1 + text[..i].iter().filter(|&&b| b == b'\n').count())
}

/// The line of the `i`th socket: documents write one socket per line after the `"sockets"`
/// line; elsewhere, that line.
fn line_of_socket(text: &[u8], i: usize) -> usize {
    let start = line_of(text, "sockets");
    let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
    if lines > start + i {
        start + 1 + i
    } else {
        start
    }
}

#[cfg(test)]
#[path = "baseline_tests.rs"]
mod tests;
