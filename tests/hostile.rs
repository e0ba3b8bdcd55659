//! Hostile names: processes that rename themselves (ESC sequences, newline, tab, bidi
//! override, zero-width space, invalid UTF-8, backslash) and unix sockets bound at such
//! paths. The table shows them escaped (README "Untrusted text") with no raw control or bidi
//! character; JSON parses and gives back the exact bytes (`*_hex` for invalid UTF-8); CSV is
//! RFC 4180 and its fields unescape to the exact bytes.

mod common;
#[path = "common/procs.rs"]
mod procs;
#[path = "common/textfmt.rs"]
mod textfmt;

use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;

#[test]
#[ignore = "child process of the hostile-name tests"]
fn child_entry() {
    procs::child_main();
}

/// Names as the processes set them, and the README escapes each must show in the table.
const NAMES: &[(&[u8], &[&str])] = &[
    (b"\x1b[31mred\x1b[0m", &["\\e[31mred\\e[0m"]),
    (b"new\nline\ttab", &["new\\nline\\ttab"]),
    // U+202E RIGHT-TO-LEFT OVERRIDE and U+200B ZERO WIDTH SPACE
    (b"rl\xe2\x80\xaeo\xe2\x80\x8bz", &["rl\\u{202e}o\\u{200b}z"]),
    (b"bad\xffutf8", &["bad\\xffutf8"]),
    (b"back\\slash", &["back\\\\slash"]),
    // 14 ASCII bytes then U+202E: the kernel keeps 15 bytes, cutting the character.
    (b"abcdefghijklmn\xe2\x80\xae", &["abcdefghijklmn\\xe2"]),
    // A name imitating a second owner (pid 1): its commas are escaped in owner cells.
    (b"a(pid=1,fd=0),b", &["a(pid=1\\x2cfd=0)\\x2cb"]),
];

/// Unix socket names (under a fresh temp dir), one per holder; plus an abstract one.
const PATHS: &[&[u8]] = &[
    b"esc\x1b[2Jx",
    b"nl\nx\ttab",
    b"bidi\xe2\x80\xaezw\xe2\x80\x8b",
    b"bad\xff",
    b"back\\slash",
    b"comma,quote\"",
];

/// What the kernel keeps of a comm: TASK_COMM_LEN (16) minus the NUL.
fn kernel_comm(name: &[u8]) -> Vec<u8> {
    name[..name.len().min(15)].to_vec()
}

struct Scene {
    holders: Vec<procs::Holder>,
    /// Per holder: its TCP port, its comm as the kernel keeps it.
    ports: Vec<(u16, Vec<u8>)>,
    /// Display bytes of every unix name bound (abstract with a leading '@').
    unix: BTreeSet<Vec<u8>>,
    dir_prefix: Vec<u8>,
    abstract_prefix: Vec<u8>,
    _dir: tempfile::TempDir,
}

fn scene() -> Scene {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().as_os_str().as_bytes().to_vec();
    // Unique per test: the tests of this file run in parallel in one process.
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let abstract_prefix = format!("pw-hostile-{}-{seq}-", std::process::id()).into_bytes();
    let mut unix = BTreeSet::new();
    let mut holders = Vec::new();
    let mut ports = Vec::new();
    for (i, (name, _)) in NAMES.iter().enumerate() {
        let mut paths = Vec::new();
        if let Some(p) = PATHS.get(i) {
            let mut full = base.clone();
            full.push(b'/');
            full.extend_from_slice(p);
            unix.insert(full.clone());
            paths.push(full);
        }
        if i == 0 {
            let mut abs = abstract_prefix.clone();
            abs.extend_from_slice(b"\x1b]0;t\x07\n\xfe");
            let mut shown = vec![b'@'];
            shown.extend_from_slice(&abs);
            unix.insert(shown);
            let mut bound = vec![0u8];
            bound.extend_from_slice(&abs);
            paths.push(bound);
        }
        let spec = procs::Spec {
            comm: Some(name.to_vec()),
            tcp: vec!["127.0.0.1:0".into()],
            unix: paths,
        };
        let h = procs::hold(&spec, None);
        ports.push((h.ports[0], kernel_comm(name)));
        holders.push(h);
    }
    let mut abstract_at = vec![b'@'];
    abstract_at.extend_from_slice(&abstract_prefix);
    let mut dir_prefix = base;
    dir_prefix.push(b'/');
    Scene {
        holders,
        ports,
        unix,
        dir_prefix,
        abstract_prefix: abstract_at,
        _dir: dir,
    }
}

impl Scene {
    fn ours(&self, name: &[u8]) -> bool {
        name.starts_with(&self.dir_prefix) || name.starts_with(&self.abstract_prefix)
    }
}

fn run(args: &[&str]) -> (String, String) {
    let out = common::bin().args(args).output().expect("run portwatch");
    let stdout = String::from_utf8(out.stdout).expect("output is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    (stdout, stderr)
}

fn assert_clean(text: &str, what: &str) {
    if let Some(c) = text.chars().find(|&c| textfmt::is_dangerous(c)) {
        panic!("{what}: raw {c:?} in output:\n{text}");
    }
}

/// `comm(pid=N,fd=M)` -> (escaped comm, pid).
fn split_owner(cell: &str) -> (&str, u32) {
    let i = cell
        .rfind("(pid=")
        .unwrap_or_else(|| panic!("owner cell {cell:?}"));
    let pid = cell[i + 5..]
        .split(',')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("owner cell {cell:?}"));
    (&cell[..i], pid)
}

#[test]
fn table_escapes_hostile_comms() {
    let s = scene();
    let (out, _) = run(&["-ltp"]);
    assert_clean(&out, "-ltp");
    for ((port, comm), (h, (_, escapes))) in s.ports.iter().zip(s.holders.iter().zip(NAMES)) {
        let local = format!("127.0.0.1:{port}");
        let rows: Vec<&str> = out
            .lines()
            .filter(|l| l.split_whitespace().nth(3) == Some(local.as_str()))
            .collect();
        assert_eq!(rows.len(), 1, "{local}\n{out}");
        let cell = rows[0].split_whitespace().last().unwrap_or_default();
        // One owner: the only raw comma is the one inside `(pid=N,fd=N)`.
        assert_eq!(cell.matches(',').count(), 1, "{cell}");
        let (shown, pid) = split_owner(cell);
        assert_eq!(pid, h.pid(), "{cell}");
        for e in *escapes {
            assert_eq!(shown, *e, "comm {comm:?}");
        }
        assert_eq!(textfmt::unescape(shown).as_deref(), Ok(&comm[..]));
    }
}

#[test]
fn table_escapes_hostile_unix_paths() {
    let s = scene();
    let (out, _) = run(&["-lxp"]);
    assert_clean(&out, "-lxp");
    let mut got = BTreeSet::new();
    // Escaped names hold no blanks: [Netid] State Recv-Q Send-Q NAME INODE PEER PEER-INODE ..
    let col = if out.starts_with("Netid") { 4 } else { 3 };
    for line in out.lines().skip(1) {
        let Some(name) = line.split_whitespace().nth(col) else {
            continue;
        };
        let bytes = textfmt::unescape(name).unwrap_or_else(|e| panic!("{e}: {line}"));
        if s.ours(&bytes) {
            got.insert(bytes);
        }
    }
    assert_eq!(got, s.unix, "\n{out}");
    assert!(out.contains("esc\\e[2Jx"), "{out}");
    assert!(out.contains("nl\\nx\\ttab"), "{out}");
    assert!(out.contains("bidi\\u{202e}zw\\u{200b}"), "{out}");
    assert!(out.contains("bad\\xff"), "{out}");
}

/// The exact bytes of a JSON text key: `<key>_hex` when present (invalid UTF-8), else the
/// string itself, which must then be valid UTF-8 with no replacement character added.
fn exact(obj: &Value, key: &str) -> Vec<u8> {
    let text = obj[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {obj}"));
    match obj[format!("{key}_hex")].as_str() {
        Some(h) => {
            let bytes = textfmt::unhex(h).unwrap_or_else(|| panic!("bad hex {h}"));
            assert!(
                std::str::from_utf8(&bytes).is_err(),
                "needless {key}_hex: {obj}"
            );
            assert_eq!(text, String::from_utf8_lossy(&bytes), "lossy copy of {key}");
            bytes
        }
        None => text.as_bytes().to_vec(),
    }
}

#[test]
fn json_round_trips_exact_bytes() {
    let s = scene();
    let (out, _) = run(&["-lp", "--json"]);
    let doc: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(doc["schema"], 1);
    for ((port, comm), h) in s.ports.iter().zip(&s.holders) {
        let rows = common::by_local_port(&doc, "tcp", *port);
        assert_eq!(rows.len(), 1, "port {port}");
        let owners = rows[0]["owners"].as_array().expect("owners");
        assert_eq!(owners.len(), 1, "{}", rows[0]);
        assert_eq!(owners[0]["pid"], h.pid());
        assert_eq!(exact(&owners[0], "comm"), *comm, "{}", owners[0]);
    }
    let mut got = BTreeSet::new();
    for sock in common::sockets(&doc)
        .iter()
        .filter(|x| x["proto"] == "unix")
    {
        if sock["local"].is_null() {
            continue;
        }
        let name = exact(&sock["local"], "path");
        if s.ours(&name) {
            let pids: Vec<u64> = common::owner_pids(sock).iter().map(|o| o.0).collect();
            assert_eq!(pids.len(), 1, "{sock}");
            got.insert(name);
        }
    }
    assert_eq!(got, s.unix);
}

#[test]
fn csv_is_valid_and_unescapes_to_exact_bytes() {
    let s = scene();
    let (out, _) = run(&["--csv", "-lp"]);
    assert_clean(&out, "--csv");
    let records = textfmt::parse_csv(&out).expect("RFC 4180");
    let header = records.first().expect("header").clone();
    assert!(records.iter().all(|r| r.len() == header.len()));
    let col = |n: &str| header.iter().position(|h| h == n).expect(n);
    let (proto, laddr, lport, owners) = (
        col("proto"),
        col("local_addr"),
        col("local_port"),
        col("owners"),
    );
    for ((port, comm), h) in s.ports.iter().zip(&s.holders) {
        let port = port.to_string();
        let rows: Vec<&Vec<String>> = records
            .iter()
            .filter(|r| r[proto] == "tcp" && r[lport] == port)
            .collect();
        assert_eq!(rows.len(), 1, "port {port}");
        let (shown, pid) = split_owner(&rows[0][owners]);
        assert_eq!(pid, h.pid());
        assert_eq!(
            textfmt::unescape(shown).as_deref(),
            Ok(&comm[..]),
            "{shown}"
        );
    }
    let got: BTreeSet<Vec<u8>> = records
        .iter()
        .filter(|r| r[proto] == "unix")
        .filter_map(|r| textfmt::unescape(&r[laddr]).ok())
        .filter(|n| s.ours(n))
        .collect();
    assert_eq!(got, s.unix);
}

/// The /proc/net/unix fallback: the kernel prints names raw there, so a name holding a
/// newline cannot be read back exactly (see README "Backends"), but every other hostile name
/// round-trips, the output stays clean and the run exits 0.
#[test]
fn proc_backend_keeps_hostile_names() {
    let s = scene();
    let (out, _) = run(&["-lxp", "--backend", "proc", "--json"]);
    let doc: Value = serde_json::from_str(&out).expect("valid JSON");
    let got: BTreeSet<Vec<u8>> = common::sockets(&doc)
        .iter()
        .filter(|x| !x["local"].is_null())
        .map(|x| exact(&x["local"], "path"))
        .filter(|n| s.ours(n))
        .collect();
    let readable: BTreeSet<Vec<u8>> = s
        .unix
        .iter()
        .filter(|n| !n.contains(&b'\n'))
        .cloned()
        .collect();
    assert!(readable.len() >= 5, "{readable:?}");
    for name in &readable {
        assert!(
            got.contains(name),
            "{:?} missing from\n{out}",
            String::from_utf8_lossy(name)
        );
    }
    let (table, _) = run(&["-lxp", "--backend", "proc"]);
    assert_clean(&table, "--backend proc");
}

/// `explain PORT` names the port's current holders with the same escapes as the table.
#[test]
fn explain_escapes_hostile_comms() {
    let s = scene();
    for ((port, _), (name, escapes)) in s.ports.iter().zip(NAMES) {
        let (out, _) = run(&["explain", &format!("{port}/tcp")]);
        assert_clean(&out, "explain");
        if !name.contains(&b',') {
            for e in *escapes {
                assert!(out.contains(e), "{e} not in\n{out}");
            }
        }
    }
}
