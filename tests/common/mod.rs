//! Helpers shared by the integration tests: run the real binary, read its JSON, ask `ss`.
#![allow(dead_code)]

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The lines a child writes to `out`, read on a thread of their own, so a test can wait for
/// one with a timeout (`recv_timeout`) instead of blocking on a child that went quiet.
pub fn lines_of(out: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portwatch"))
}

pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Run portwatch with `--json`, assert exit 0 and a well-formed schema-1 document.
pub fn json(args: &[&str]) -> Value {
    let out = bin()
        .args(args)
        .arg("--json")
        .output()
        .expect("run portwatch");
    assert_eq!(
        out.status.code(),
        Some(0),
        "portwatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("portwatch --json is valid JSON");
    assert_eq!(doc["schema"], 1);
    assert!(doc["sockets"].is_array() && doc["warnings"].is_array());
    doc
}

/// Run portwatch and return stdout as text (exit 0 asserted).
pub fn text(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("run portwatch");
    assert_eq!(
        out.status.code(),
        Some(0),
        "portwatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn sockets(doc: &Value) -> &Vec<Value> {
    doc["sockets"].as_array().expect("sockets array")
}

/// Sockets whose local port is `port` (and proto, when given).
pub fn by_local_port<'a>(doc: &'a Value, proto: &str, port: u16) -> Vec<&'a Value> {
    sockets(doc)
        .iter()
        .filter(|s| s["proto"] == proto && s["local"]["port"] == port)
        .collect()
}

/// The (pid, fd) pairs of a socket's owners.
pub fn owner_pids(s: &Value) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = s["owners"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| (o["pid"].as_u64().unwrap(), o["fd"].as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `ss` must be there; under CI a missing ss is a failure, never a skip.
pub fn ss(args: &[&str]) -> String {
    let out = Command::new("ss")
        .args(args)
        .output()
        .expect("ss (iproute2) is required by the live tests: apt-get install iproute2");
    assert!(out.status.success(), "ss {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One row of `ss -H -e -p` output, split into the fields the tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsRow {
    pub state: String,
    pub recv_q: String,
    pub send_q: String,
    pub local: String,
    pub peer: String,
    pub inode: Option<u64>,
    pub pids: Vec<u64>,
}

/// Parse `ss -H -n -e -p` lines for one protocol (no Netid column).
pub fn parse_ss(text: &str) -> Vec<SsRow> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let inode = f
                .iter()
                .find_map(|w| w.strip_prefix("ino:"))
                .and_then(|i| i.parse().ok());
            let mut pids: Vec<u64> = l
                .match_indices("pid=")
                .filter_map(|(i, _)| {
                    l[i + 4..]
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .and_then(|p| p.parse().ok())
                })
                .collect();
            pids.sort();
            pids.dedup();
            SsRow {
                state: f[0].to_string(),
                recv_q: f[1].to_string(),
                send_q: f[2].to_string(),
                local: f[3].to_string(),
                peer: f[4].to_string(),
                inode,
                pids,
            }
        })
        .collect()
}

/// A child process that holds inherited fds; killed and reaped on drop.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Make `cmd`'s process inherit `fd` across exec (the fork-shared socket of a pre-fork
/// server).
pub fn inherit_fd(cmd: &mut Command, fd: std::os::fd::RawFd) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: pre_exec runs in the child between fork and exec; fcntl is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Start `sleep` with `fd` inherited.
pub fn spawn_holding(fd: std::os::fd::RawFd) -> Child {
    let mut cmd = Command::new("sleep");
    cmd.arg("60");
    Child(inherit_fd(&mut cmd, fd).spawn().expect("spawn sleep"))
}

/// Whether every directory above `path` lets others in and the file lets them run it.
pub fn others_can_run(path: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode());
    if !mode(path).is_ok_and(|m| m & 0o005 == 0o005) {
        return false;
    }
    path.ancestors()
        .skip(1)
        .all(|d| mode(d).is_ok_and(|m| m & 0o001 != 0))
}

/// `path` itself when the test user can run it, else a copy in a world-readable temp dir.
pub fn runnable(path: &Path, keep: &mut Vec<tempfile::TempDir>) -> PathBuf {
    if others_can_run(path) {
        return path.to_path_buf();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let copy = dir.path().join(path.file_name().expect("file name"));
    std::fs::copy(path, &copy).expect("copy binary");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    keep.push(dir);
    copy
}

/// Let this test process hold `n` open files (root may raise the hard limit): for tests that
/// hold thousands of sockets in one process.
pub fn allow_open_files(n: u64) {
    let limit = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: setrlimit reads the struct it is given.
    assert_eq!(
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) },
        0,
        "RLIMIT_NOFILE"
    );
}
