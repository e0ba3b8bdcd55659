//! Both tools' output reduced to `Row`s: ss's `-n -e -p -H -O` text and portwatch's JSON.

use super::{Owner, Row};
use serde_json::Value;

/// ss's spelling of an inet endpoint (misc/ss.c, inet_addr_print and sock_addr_print):
/// `::` without v6only is `*`, other IPv6 addresses are bracketed, a bound device follows
/// `%`, and port 0 is `*`.
pub fn ss_inet_addr(
    family: &str,
    addr: &str,
    port: u64,
    v6only: Option<bool>,
    iface: Option<&str>,
) -> String {
    let host = if family == "ipv6" {
        if addr == "::" && v6only != Some(true) {
            "*".to_string()
        } else {
            format!("[{addr}]")
        }
    } else {
        addr.to_string()
    };
    let host = match iface {
        Some(i) => format!("{host}%{i}"),
        None => host,
    };
    let port = if port == 0 {
        "*".to_string()
    } else {
        port.to_string()
    };
    format!("{host}:{port}")
}

/// portwatch's `--json` sockets as rows.
///
/// Deliberate difference, stated: for a unix socket ss's netlink path prints the peer's name
/// as `*` always, while portwatch's `remote` is the peer socket's own name (what ss's /proc
/// path prints). The rows compare unix peers by `peer_inode`; the test checks portwatch's
/// `remote` against the peer's `local` separately.
pub fn from_portwatch(doc: &Value) -> Vec<Row> {
    let socks = doc["sockets"].as_array().expect("sockets array");
    socks.iter().map(pw_row).collect()
}

fn pw_row(s: &Value) -> Row {
    let proto = s["proto"].as_str().unwrap_or("?");
    let family = s["family"].as_str().unwrap_or("?");
    let v6only = s["v6only"].as_bool();
    let iface = s["iface"].as_str();
    let netid = match (proto, s["type"].as_str()) {
        ("unix", Some("stream")) => "u_str".to_string(),
        ("unix", Some("dgram")) => "u_dgr".to_string(),
        ("unix", Some("seqpacket")) => "u_seq".to_string(),
        (p, _) => p.to_string(),
    };
    let endpoint = |e: &Value, is_local: bool| -> String {
        if proto == "unix" {
            // Stated difference: ss prints each NUL byte of an abstract name as '@'
            // (misc/ss.c, unix_show_sock); portwatch's JSON keeps the byte.
            return match (is_local, e["path"].as_str()) {
                (true, Some(p)) => p.replace('\0', "@"),
                _ => "*".to_string(),
            };
        }
        match (e["addr"].as_str(), e["port"].as_u64()) {
            // The device binding is a property of the local end; ss prints it there only.
            (Some(a), Some(p)) => ss_inet_addr(family, a, p, v6only, iface.filter(|_| is_local)),
            _ => format!("<no endpoint: {e}>"),
        }
    };
    let mut owners: Vec<Owner> = s["owners"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| Owner {
            pid: o["pid"].as_u64().unwrap_or(0),
            fd: o["fd"].as_u64().unwrap_or(u64::MAX),
            // Stated difference, ss's bug: ss reads the name from /proc/PID/stat with
            // fscanf("%*d (%[^)])"), which cuts it at its first ')' (misc/ss.c,
            // user_ent_hash_build); portwatch reads /proc/PID/comm whole. The owners test
            // checks the whole name against the population.
            comm: o["comm"]
                .as_str()
                .unwrap_or("?")
                .split(')')
                .next()
                .unwrap_or("")
                .to_string(),
        })
        .collect();
    owners.sort();
    Row {
        netid,
        state: s["state"].as_str().unwrap_or("?").to_string(),
        local: endpoint(&s["local"], true),
        remote: endpoint(&s["remote"], false),
        recv_q: s["recv_q"].as_u64(),
        send_q: s["send_q"].as_u64(),
        inode: s["inode"].as_u64(),
        peer_inode: s["peer_inode"].as_u64().filter(|&p| p != 0),
        v6only,
        // ss (6.1) prints no uid for unix sockets: compared for inet only (the unix test
        // checks it against the population instead).
        uid: s["uid"].as_u64().filter(|&u| u != 0 && proto != "unix"),
        owners,
    }
}

/// Parse `ss -n -e -p -H -O` output for one protocol. `netid` is the Netid to give rows
/// (`tcp`, `udp`, `raw`); for `-x` pass `"unix"`: ss then prints a Netid column itself.
/// `implied` is the state when ss printed no State column (its filter allowed one state).
pub fn parse_ss(netid: &str, text: &str, implied: Option<&str>) -> Vec<Row> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if netid == "unix" {
                parse_unix_line(l, implied)
            } else {
                parse_inet_line(netid, l, implied)
            }
        })
        .collect()
}

/// `users:(("comm",pid=N,fd=N),...)` cut out of the line, parsed; the rest of the line.
fn take_users(line: &str) -> (Vec<Owner>, String) {
    let Some(start) = line.find("users:((") else {
        return (Vec::new(), line.to_string());
    };
    let end = line[start..]
        .find("))")
        .map_or(line.len(), |e| start + e + 2);
    let inner = &line[start + "users:((".len()..end.saturating_sub(2)];
    let mut owners: Vec<Owner> = inner
        .split("),(")
        .filter_map(|entry| {
            // "comm",pid=N,fd=N  (our populations' comms have no quotes or commas)
            let mut parts = entry.rsplitn(3, ',');
            let fd = parts.next()?.strip_prefix("fd=")?.parse().ok()?;
            let pid = parts.next()?.strip_prefix("pid=")?.parse().ok()?;
            let comm = parts.next()?.trim_matches('"').to_string();
            Some(Owner { pid, fd, comm })
        })
        .collect();
    owners.sort();
    let rest = format!("{} {}", &line[..start], &line[end..]);
    (owners, rest)
}

fn field<'a>(toks: &[&'a str], key: &str) -> Option<&'a str> {
    toks.iter().find_map(|t| t.strip_prefix(key))
}

fn num(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn parse_inet_line(netid: &str, line: &str, implied: Option<&str>) -> Row {
    let (owners, rest) = take_users(line);
    let mut t: Vec<&str> = rest.split_whitespace().collect();
    // No State column: the first word is Recv-Q. Put the implied state in its place.
    let no_state = t
        .first()
        .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()));
    if no_state {
        t.insert(0, implied.unwrap_or("<no state column>"));
    }
    let get = |i: usize| t.get(i).copied().unwrap_or("?");
    Row {
        netid: netid.to_string(),
        state: get(0).to_string(),
        recv_q: num(get(1)),
        send_q: num(get(2)),
        local: get(3).to_string(),
        remote: get(4).to_string(),
        inode: field(&t, "ino:").and_then(num),
        peer_inode: None,
        v6only: field(&t, "v6only:").map(|v| v == "1"),
        uid: field(&t, "uid:").and_then(num).filter(|&u| u != 0),
        owners,
    }
}

/// `u_str STATE RQ SQ <name> <ino> <peer name> <peer ino> users:(..) <-> ino:N dev:..`.
/// A name may contain spaces: it is everything up to the first all-digit word (our
/// populations' names have no all-digit words). ss's `ino:` here is the socket file's inode
/// on disk, not the socket's: the socket inode is the column after the name.
fn parse_unix_line(line: &str, implied: Option<&str>) -> Row {
    let (owners, rest) = take_users(line);
    let mut words = Words(rest.as_str());
    let netid = words.next().unwrap_or("?").to_string();
    let first = words.next().unwrap_or("?");
    // No State column (see `parse_ss`): the first word is already Recv-Q.
    let (state, recv_q) = if first.bytes().all(|b| b.is_ascii_digit()) {
        (
            implied.unwrap_or("<no state column>").to_string(),
            num(first),
        )
    } else {
        (first.to_string(), words.next().and_then(num))
    };
    let send_q = words.next().and_then(num);
    let (local, inode) = words.name_then_number();
    let (_peer_name, peer) = words.name_then_number();
    Row {
        netid,
        state,
        recv_q,
        send_q,
        local,
        remote: "*".to_string(),
        inode,
        peer_inode: peer.filter(|&p| p != 0),
        v6only: None,
        uid: None,
        owners,
    }
}

/// A cursor over whitespace-separated words that can also take a run of words verbatim.
struct Words<'a>(&'a str);

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let s = self.0.trim_start();
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        self.0 = &s[end..];
        (end > 0).then(|| &s[..end])
    }

    /// The text up to the next all-digit word (spaces kept), and that number.
    fn name_then_number(&mut self) -> (String, Option<u64>) {
        let s = self.0.trim_start();
        let mut cursor = Words(s);
        while let Some(w) = cursor.next() {
            if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) {
                let start = s.len() - cursor.0.len() - w.len();
                let name = s[..start].trim_end().to_string();
                self.0 = cursor.0;
                return (name, num(w));
            }
        }
        self.0 = "";
        (s.trim().to_string(), None)
    }
}
