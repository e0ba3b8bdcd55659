//! Helper processes for the fault tests: the test binary re-runs itself (one `#[ignore]`d test
//! as entry point) to become a process that renames itself, opens sockets and waits, or that
//! opens and closes sockets and exits at once (churn). No python or other tool needed, and it
//! can run as another uid.
//!
//! A test file using this declares
//! `#[test] #[ignore = "child process"] fn child_entry() { procs::child_main() }`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};

/// The environment variable that carries a child's job.
pub const ENV: &str = "PORTWATCH_TEST_CHILD";

/// What a holder child does before it reports `READY`.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Written to /proc/self/comm (the kernel keeps at most 15 bytes).
    pub comm: Option<Vec<u8>>,
    /// TCP listeners to bind, e.g. `127.0.0.1:0`.
    pub tcp: Vec<String>,
    /// Unix stream listeners to bind; a leading NUL byte makes an abstract name.
    pub unix: Vec<Vec<u8>>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

impl Spec {
    fn encode(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.comm {
            parts.push(format!("comm={}", hex(c)));
        }
        parts.extend(self.tcp.iter().map(|a| format!("tcp={a}")));
        parts.extend(self.unix.iter().map(|p| format!("unix={}", hex(p))));
        format!("hold {}", parts.join(" "))
    }
}

/// A running holder child; killed and reaped on drop.
pub struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Local ports of `Spec::tcp`, in order.
    pub ports: Vec<u16>,
}

impl Holder {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // EOF on stdin tells the child to exit; kill in case it is stuck.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test binary, told to run only `child_entry` with `job` in the environment.
pub fn child_command(job: &str) -> Command {
    let exe = std::env::current_exe().expect("current test binary");
    child_command_of(&exe, job)
}

/// Like `child_command`, with `exe` a copy of the test binary (one another user can run).
pub fn child_command_of(exe: &std::path::Path, job: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "child_entry", "--ignored", "--nocapture"])
        .args(["--test-threads=1", "-q"])
        .env(ENV, job)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Start a holder child (as `uid`/`gid` when given) and wait until its sockets are open.
pub fn hold(spec: &Spec, as_user: Option<(u32, u32)>) -> Holder {
    let exe = std::env::current_exe().expect("current test binary");
    hold_with_exe(&exe, spec, as_user)
}

/// `hold`, running `exe` (a copy of this test binary) as the child.
pub fn hold_with_exe(exe: &std::path::Path, spec: &Spec, as_user: Option<(u32, u32)>) -> Holder {
    let mut cmd = child_command_of(exe, &spec.encode());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some((uid, gid)) = as_user {
        // std drops supplementary groups when it changes uid as root.
        cmd.uid(uid).gid(gid);
    }
    let mut child = cmd.spawn().expect("spawn the holder child");
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("child stdout");
    let mut ready = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.strip_prefix("READY") {
            ready = Some(rest.to_string());
            break;
        }
    }
    let Some(ready) = ready else {
        let _ = child.kill();
        let status = child.wait();
        panic!("holder child never got ready ({status:?}); spec {spec:?}");
    };
    let ports = ready
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    Holder {
        child,
        stdin,
        ports,
    }
}

/// The child side: does nothing unless `ENV` is set, else runs the job and exits.
pub fn child_main() {
    let Ok(job) = std::env::var(ENV) else {
        return;
    };
    let code = match job.split_once(' ').unwrap_or((job.as_str(), "")) {
        ("hold", args) => child_hold(args),
        ("churn", args) => child_churn(args),
        _ => 3,
    };
    std::process::exit(code);
}

fn child_hold(args: &str) -> i32 {
    let mut tcp = Vec::new();
    let mut unix = Vec::new();
    let mut ports = Vec::new();
    for arg in args.split_whitespace() {
        match arg.split_once('=') {
            Some(("comm", h)) => {
                // /proc/self/comm names the thread group leader from any thread
                // (fs/proc/base.c comm_write: same_thread_group).
                if let Err(e) = std::fs::write("/proc/self/comm", unhex(h)) {
                    eprintln!("child: set comm: {e}");
                    return 4;
                }
            }
            Some(("tcp", a)) => match std::net::TcpListener::bind(a) {
                Ok(l) => {
                    ports.push(l.local_addr().map(|a| a.port()).unwrap_or(0));
                    tcp.push(l);
                }
                Err(e) => {
                    eprintln!("child: bind {a}: {e}");
                    return 5;
                }
            },
            Some(("unix", h)) => match bind_unix(&unhex(h)) {
                Ok(l) => unix.push(l),
                Err(e) => {
                    eprintln!("child: bind unix {h}: {e}");
                    return 6;
                }
            },
            _ => return 3,
        }
    }
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "READY {}", ports.join(" "));
    let _ = out.flush();
    // Hold everything until the parent closes our stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    for p in unix_paths(args) {
        let _ = std::fs::remove_file(std::ffi::OsStr::from_bytes(&p));
    }
    0
}

fn unix_paths(args: &str) -> Vec<Vec<u8>> {
    args.split_whitespace()
        .filter_map(|a| a.strip_prefix("unix="))
        .map(unhex)
        .filter(|p| p.first() != Some(&0))
        .collect()
}

fn bind_unix(path: &[u8]) -> std::io::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::net::{SocketAddr, UnixListener};
    match path.strip_prefix(b"\0") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            UnixListener::bind_addr(&SocketAddr::from_abstract_name(name)?)
        }
        None => UnixListener::bind(std::ffi::OsStr::from_bytes(path)),
    }
}

/// One churn process: a TCP listener on `ip`, a connection to it, a unix listener in `dir`
/// with a client, then exit (sockets close as the process dies).
fn child_churn(args: &str) -> i32 {
    let mut it = args.split_whitespace();
    let (Some(ip), Some(dir)) = (it.next(), it.next()) else {
        return 3;
    };
    let Ok(l) = std::net::TcpListener::bind((ip, 0)) else {
        return 5;
    };
    let c = l.local_addr().and_then(std::net::TcpStream::connect);
    let a = l.accept();
    if std::process::id().is_multiple_of(2) {
        // Half the connections end with RST (SO_LINGER 0) instead of FIN: no TIME-WAIT
        // left behind, so a long run on the host does not pile up thousands of them.
        if let Ok(c) = &c {
            let _ = socket2::SockRef::from(c).set_linger(Some(std::time::Duration::ZERO));
        }
    }
    let path = format!("{dir}/c{}", std::process::id());
    let u = std::os::unix::net::UnixListener::bind(&path);
    let uc = std::os::unix::net::UnixStream::connect(&path);
    // Live a little, so some listings catch the sockets and some catch the exit.
    std::thread::sleep(std::time::Duration::from_millis(u64::from(
        std::process::id() % 20,
    )));
    let _ = std::fs::remove_file(&path);
    drop((c, a, u, uc, l));
    0
}

/// The uid and gid of a user, from the passwd database.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let u = nix::unistd::User::from_name(name).ok()??;
    Some((u.uid.as_raw(), u.gid.as_raw()))
}

/// The unprivileged test user's (uid, gid); `None` (skip) outside CI when it is missing.
pub fn test_user() -> Option<(u32, u32)> {
    let ids = user_ids("portwatch-test");
    let why =
        "user portwatch-test is missing (.ci/run creates it: useradd --system portwatch-test)";
    if !require(ids.is_some(), why) {
        return None;
    }
    ids
}

/// Whether this test process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Under `CI=true` a missing prerequisite fails the test; elsewhere it skips with a note.
pub fn require(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {what}");
    }
    eprintln!("skipped: {what}");
    false
}
