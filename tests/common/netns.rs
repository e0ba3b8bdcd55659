//! A private network namespace with a known socket population in it, and both tools' views of
//! it reduced to the same normalised rows: what tests/netns_diff.rs compares.
//!
//! Rows are spelled the way ss prints them (`127.0.0.1:80`, `[::1]:80`, `*:80`, `*` for port
//! 0), so a difference reads like an ss line. portwatch's JSON is rendered into that spelling
//! by ss's own rule (misc/ss.c, inet_addr_print: `*` for `::` unless v6only).
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Root, `ip`, `ss` and `python3` are needed. Under `CI=true` a missing one is a failure;
/// elsewhere the test is skipped with the reason printed.
pub fn prerequisites_met() -> bool {
    prerequisites_and(&[])
}

/// `prerequisites_met`, plus the programs `extra` lists as (program, version flag, package).
pub fn prerequisites_and(extra: &[(&str, &str, &str)]) -> bool {
    let missing = missing_prerequisite(extra);
    match missing {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("netns tests need {why} (CI=true: failing, not skipping)")
        }
        Some(why) => {
            eprintln!("skipped: netns tests need {why}");
            false
        }
    }
}

fn missing_prerequisite(extra: &[(&str, &str, &str)]) -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("root (ip netns add)".into());
    }
    let base = [
        ("ip", "-V", "iproute2"),
        ("ss", "-V", "iproute2"),
        ("python3", "--version", "python3"),
    ];
    for &(prog, arg, pkg) in base.iter().chain(extra) {
        let ok = Command::new(prog)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!("`{prog}` (apt-get install {pkg})"));
        }
    }
    None
}

/// A uniquely named network namespace with `lo` up; deleted on drop, also after a panic.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        static N: AtomicUsize = AtomicUsize::new(0);
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(remove_stale);
        let name = format!(
            "pwtest-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        run_ok(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
        ns
    }

    /// `prog args` run inside the namespace.
    pub fn command(&self, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, prog]);
        c
    }

    /// portwatch `args --json` inside the namespace: exit 0 and a schema-1 document.
    pub fn portwatch(&self, args: &[&str]) -> Value {
        let out = run_ok(
            self.command(env!("CARGO_BIN_EXE_portwatch"))
                .args(args)
                .arg("--json"),
        );
        let doc: Value = serde_json::from_slice(&out.stdout).expect("portwatch --json is JSON");
        assert_eq!(doc["schema"], 1, "{doc}");
        doc
    }

    /// The text a program prints inside the namespace (exit 0 asserted), for table tests.
    pub fn text(&self, prog: &str, args: &[&str]) -> String {
        let out = run_ok(self.command(prog).args(args));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ss -n -e -p -H -O args` inside the namespace (stderr ignored: ss complains there about
    /// the cgroup2 mount `ip netns exec` hides, which changes no field we compare).
    pub fn ss(&self, args: &[&str]) -> String {
        let out = run_ok(
            self.command("ss")
                .args(["-n", "-e", "-p", "-H", "-O"])
                .args(args),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Delete namespaces left by test processes that were killed before their guards ran
/// (`pwtest-PID-N` whose PID is gone).
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name
            .strip_prefix("pwtest-")
            .and_then(|r| r.split('-').next())
        else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// tests/netns/population.py running inside a namespace; its process group is killed on drop.
pub struct Population {
    child: std::process::Child,
    /// The builder's JSON summary: its pid, forked children, ports it chose.
    pub summary: Value,
    _dir: tempfile::TempDir,
}

impl Population {
    pub fn start(ns: &Netns, scenario: &str, extra: &[&str]) -> Population {
        Population::start_with(ns.command("python3"), scenario, extra)
    }

    /// Start the builder with `cmd`, a command that runs python3 in the namespace wanted
    /// (`nsenter -t PID -n python3`, `unshare -n ... python3`): the script and its arguments
    /// are appended. `cmd` must exec python3, not fork it: its pid's group is what is killed.
    pub fn start_with(mut cmd: Command, scenario: &str, extra: &[&str]) -> Population {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netns/population.py");
        cmd.arg(script)
            .arg(scenario)
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let child = cmd.spawn().expect("start population.py");
        let mut pop = Population {
            child,
            summary: Value::Null,
            _dir: dir,
        };
        let stdout = pop.child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let summary = lines.next().and_then(|l| l.ok());
        let ready = lines.next().and_then(|l| l.ok());
        if ready.as_deref() != Some("ready") {
            pop.kill();
            let mut err = String::new();
            if let Some(mut e) = pop.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("population.py {scenario} did not get ready: {summary:?}\n{err}");
        }
        pop.summary = serde_json::from_str(&summary.unwrap_or_default()).expect("summary JSON");
        pop
    }

    /// Every pid of the population: the builder and the children it forked.
    pub fn pids(&self) -> Vec<u64> {
        let mut v = vec![self.summary["pid"].as_u64().expect("pid")];
        v.extend(
            self.summary["children"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64),
        );
        v.sort();
        v
    }

    pub fn port(&self, proto: &str, key: &str) -> u64 {
        self.summary[proto][key]
            .as_u64()
            .unwrap_or_else(|| panic!("summary has no {proto}.{key}: {}", self.summary))
    }

    fn kill(&mut self) {
        // The builder forks; the negative pid reaches its whole process group.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a process group we created; no memory is involved.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for Population {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One process holding a socket, as ss's `users:(("comm",pid=N,fd=N))` shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    pub pid: u64,
    pub fd: u64,
    pub comm: String,
}

/// One socket, normalised so that ss's text and portwatch's JSON compare field by field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    /// ss's Netid: tcp, udp, raw, u_str, u_dgr, u_seq.
    pub netid: String,
    pub state: String,
    /// ss's spelling: `127.0.0.1:80`, `[::1]:80`, `*:80`, `a%lo:80`; unix: the name or `*`.
    pub local: String,
    /// As `local`; for unix always `*` (see `from_portwatch`).
    pub remote: String,
    pub recv_q: Option<u64>,
    pub send_q: Option<u64>,
    /// `None` when ss does not print it (raw sockets read from /proc).
    pub inode: Option<u64>,
    /// unix only; 0 (no peer) is `None`.
    pub peer_inode: Option<u64>,
    /// Only where the kernel reports it (listening and unconnected IPv6 sockets).
    pub v6only: Option<bool>,
    /// ss omits uid 0, so 0 is `None` on both sides.
    pub uid: Option<u64>,
    /// Sorted.
    pub owners: Vec<Owner>,
}

impl Row {
    pub fn without_owners(mut self) -> Row {
        self.owners.clear();
        self
    }

    pub fn line(&self) -> String {
        let owners: Vec<String> = self
            .owners
            .iter()
            .map(|o| format!("{}(pid={},fd={})", o.comm, o.pid, o.fd))
            .collect();
        format!(
            "{} {} {}/{} {} {} ino={:?} peer={:?} v6only={:?} uid={:?} [{}]",
            self.netid,
            self.state,
            opt(self.recv_q),
            opt(self.send_q),
            self.local,
            self.remote,
            self.inode,
            self.peer_inode,
            self.v6only,
            self.uid,
            owners.join(",")
        )
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".into(), |n| n.to_string())
}

#[path = "netns_parse.rs"]
mod parse;
pub use parse::{from_portwatch, parse_ss, ss_inet_addr};

#[path = "netns_compare.rs"]
mod compare;
pub use compare::{assert_same, both, implied_state, ss_rows, states};

/// Multiset difference both ways: (only in `a`, only in `b`), each sorted.
pub fn diff(a: &[Row], b: &[Row]) -> (Vec<Row>, Vec<Row>) {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                only_a.push(x.clone());
                i += 1;
            }
            (Some(_), Some(y)) => {
                only_b.push(y.clone());
                j += 1;
            }
            (Some(x), None) => {
                only_a.push(x.clone());
                i += 1;
            }
            (None, Some(y)) => {
                only_b.push(y.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    (only_a, only_b)
}

/// A readable account of a difference, for assertion messages.
pub fn explain(only_pw: &[Row], only_ss: &[Row]) -> String {
    const SHOWN: usize = 25;
    let mut s = String::new();
    for (label, rows) in [("only portwatch:", only_pw), ("only ss:       ", only_ss)] {
        for r in rows.iter().take(SHOWN) {
            s.push_str(&format!("\n  {label} {}", r.line()));
        }
        if rows.len() > SHOWN {
            s.push_str(&format!("\n  {label} ... and {} more", rows.len() - SHOWN));
        }
    }
    s
}
