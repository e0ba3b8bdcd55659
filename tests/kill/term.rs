//! What the kill tests drive besides plain processes: a real terminal (util-linux `script`
//! runs portwatch on a pty, the test reads the plan and types the answer), a process forced
//! onto a given pid (`/proc/sys/kernel/ns_last_pid`), and a cgroup named like a systemd
//! service.

use super::Py;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Whether `script` is there (under CI=true its absence fails the test).
pub fn available() -> bool {
    super::procs::require(
        Command::new("script").arg("--version").output().is_ok(),
        "script (util-linux) drives the terminal tests",
    )
}

/// portwatch on a pseudo-terminal of its own: stdin, stdout and stderr are all the pty.
pub struct Term {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Term {
    pub fn start(args: &[&str]) -> Term {
        let mut cmd = vec![shell_quote(env!("CARGO_BIN_EXE_portwatch"))];
        cmd.extend(args.iter().map(|a| shell_quote(a)));
        let mut child = Command::new("script")
            .args([
                "--quiet",
                "--return",
                "--command",
                &cmd.join(" "),
                "/dev/null",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("script (util-linux)");
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Term {
            child,
            stdin,
            rx,
            seen: Vec::new(),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).replace("\r\n", "\n")
    }

    /// Everything shown so far, once `what` has been shown.
    pub fn wait_for(&mut self, what: &str) -> String {
        let deadline = Instant::now() + super::WAIT;
        while !self.text().contains(what) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!("the terminal never showed {what:?}:\n{}", self.text()),
            }
        }
        self.text()
    }

    /// Type a line.
    pub fn answer(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .expect("type the answer");
    }

    /// Wait for portwatch to end: its exit status and everything it showed.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + super::WAIT;
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "portwatch did not end:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(chunk) = self.rx.recv_timeout(Duration::from_millis(500)) {
            self.seen.extend(chunk);
        }
        (status.code(), self.text())
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        // portwatch loses its terminal with script and ends on the hangup.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a helper whose pid is `pid` (freed just before): the kernel hands out the pid after
/// `ns_last_pid`, unless another process forks in between, so a few tries may be needed.
/// The last try is returned either way; the caller checks its pid.
pub fn with_pid(pid: u32, mut start: impl FnMut() -> Py) -> Py {
    let mut last = None;
    for _ in 0..200 {
        if std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).is_err() {
            break;
        }
        let p = start();
        if p.pid() == pid {
            return p;
        }
        last = Some(p);
    }
    last.unwrap_or_else(start)
}

/// A cgroup in the unified (v2) hierarchy; its members go back to the root and it is
/// removed when the test ends.
pub struct Cgroup {
    root: PathBuf,
    dir: PathBuf,
}

impl Cgroup {
    /// `None` when there is no cgroup2 hierarchy to write to.
    pub fn new(name: &str) -> Option<Cgroup> {
        let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .iter()
            .map(Path::new)
            .find(|r| r.join("cgroup.controllers").exists())?
            .to_path_buf();
        let dir = root.join(name);
        std::fs::create_dir(&dir).ok()?;
        Some(Cgroup { root, dir })
    }

    pub fn add(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).expect("join the cgroup");
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let members = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        for pid in members.lines() {
            let _ = std::fs::write(self.root.join("cgroup.procs"), pid);
        }
        // A member that just exited may linger a moment.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
