//! Helpers for the watch tests: the NDJSON stream of a running `portwatch watch`, and a
//! private tmux server for the live view. Both are stopped by pid when dropped, also when
//! the test fails.
#![allow(dead_code)]

use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Held for the whole of a live watch test: the tests share one process, whose fd table and
/// sockets each watch sees. Run side by side (`cargo test` without `--test-threads=1`), one
/// test's fork holds the other's fds until it execs, a closed fd's number is reused by
/// another test's socket between two reads, and a socket between bind and listen shows up:
/// the events are right for the process, not for the test that reads them.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A failed test poisons the lock; the next one starts from fresh sockets of its own.
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// How each read was made, from the `--timings` lines among `lines`.
pub fn modes_of(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("read "))
        .filter_map(|l| Some(l.rsplit_once('(')?.1.strip_suffix(')')?.to_string()))
        .collect()
}

/// A running `portwatch watch --json ...`, its lines read on a thread.
pub struct Stream {
    child: std::process::Child,
    lines: Receiver<String>,
    /// With `start_timed`: the `--timings` lines on stderr.
    timings: Option<Receiver<String>>,
}

impl Stream {
    pub fn start(args: &[&str]) -> Stream {
        Stream::spawn(args, false, &[])
    }

    /// `start` with `--timings`, whose lines (`read N: ... (glimpsed)`) `modes` reads.
    pub fn start_timed(args: &[&str]) -> Stream {
        Stream::spawn(args, true, &[])
    }

    /// `start_timed` with variables set in its environment.
    pub fn start_timed_env(args: &[&str], env: &[(&str, &str)]) -> Stream {
        Stream::spawn(args, true, env)
    }

    fn spawn(args: &[&str], timed: bool, env: &[(&str, &str)]) -> Stream {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portwatch"));
        cmd.arg("watch").arg("--json").args(args);
        cmd.envs(env.iter().copied());
        if timed {
            cmd.arg("--timings").stderr(Stdio::piped());
        } else {
            cmd.stderr(Stdio::inherit());
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start portwatch watch");
        let out = child.stdout.take().expect("stdout");
        let lines = crate::common::lines_of(out);
        let timings = child.stderr.take().map(crate::common::lines_of);
        Stream {
            child,
            lines,
            timings,
        }
    }

    /// How each read so far was made ("glimpsed", "full"), from `--timings` (`start_timed`).
    pub fn modes(&self) -> Vec<String> {
        modes_of(&self.stderr())
    }

    /// The lines on stderr since the last call (`start_timed`: the timings, and whatever
    /// else was said there).
    pub fn stderr(&self) -> Vec<String> {
        self.timings
            .as_ref()
            .map_or_else(Vec::new, |t| t.try_iter().collect())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next `n` socket events (warnings are skipped), or fewer when `timeout` passes.
    pub fn events(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let end = Instant::now() + timeout;
        let mut v = Vec::new();
        while v.len() < n {
            let Some(left) = end.checked_duration_since(Instant::now()) else {
                break;
            };
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let e: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
            assert_eq!(e["schema"], 1, "{line}");
            if e["event"] != "warning" {
                v.push(e);
            }
        }
        v
    }

    /// Wait for the process to end on its own; its exit status.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Every line left once the process has ended.
    pub fn rest(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(event, state, local port, remote port)` of an event, for comparing streams.
pub fn brief(e: &Value) -> (String, String, u64, u64) {
    let s = &e["socket"];
    let port = |k: &str| s[k]["port"].as_u64().unwrap_or(0);
    (
        e["event"].as_str().unwrap_or("?").to_string(),
        s["state"].as_str().unwrap_or("?").to_string(),
        port("local"),
        port("remote"),
    )
}

/// A tmux server of the test's own (`-L`), killed by pid when dropped.
pub struct Tmux {
    socket: String,
    server: Option<u32>,
}

impl Tmux {
    /// A server running `command` in a detached session `main` of `width` x `height`.
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        let socket = format!("pwtest-{}-{}", std::process::id(), unique());
        let mut t = Tmux {
            socket,
            server: None,
        };
        let ok = t
            .cmd(&["new-session", "-d", "-s", "main", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(command)
            .status()
            .expect("tmux is required by the live view tests: apt-get install tmux")
            .success();
        assert!(ok, "tmux new-session failed");
        t.server = t.display("#{pid}").parse().ok();
        t
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]).args(args);
        c
    }

    /// `tmux display -p FORMAT` for the pane.
    pub fn display(&self, format: &str) -> String {
        let out = self
            .cmd(&["display", "-p", "-t", "main", format])
            .output()
            .expect("tmux display");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The pane's text now.
    pub fn screen(&self) -> String {
        let out = self
            .cmd(&["capture-pane", "-p", "-t", "main"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status().is_ok_and(|s| s.success()));
    }

    /// Wait until the screen satisfies `ok`; the last screen either way.
    pub fn wait_for(&self, timeout: Duration, ok: impl Fn(&str) -> bool) -> (bool, String) {
        let end = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if ok(&s) {
                return (true, s);
            }
            if Instant::now() > end {
                return (false, s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pid of the pane's first child (the program the pane's shell runs).
    pub fn program_pid(&self) -> Option<u32> {
        let shell: u32 = self.display("#{pane_pid}").parse().ok()?;
        let kids = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        kids.split_whitespace().next()?.parse().ok()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The pane's shell and what it runs, then the server: each by pid.
        let shell: Option<u32> = self.display("#{pane_pid}").parse().ok();
        let socket = self.display("#{socket_path}");
        let mut pids: Vec<u32> = self.program_pid().into_iter().collect();
        pids.extend(shell);
        pids.extend(self.server);
        for pid in pids {
            // SAFETY: kill(2) on a pid this test started, each before its parent (program,
            // shell, server), so none has been reaped and its pid cannot have been reused.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        if !socket.is_empty() {
            let _ = std::fs::remove_file(socket);
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
