//! `portwatch serve` as a test sees it: started on a loopback port of the kernel's choosing and
//! stopped by pid on drop, spoken to over raw HTTP/1.1 (so a test can also misbehave on
//! purpose), and the tools the exposition tests need (promtool).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `portwatch serve`; SIGKILLed and reaped on drop unless stopped before.
pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    /// What it printed on stderr after the start line (read when it exits).
    stderr: Option<BufReader<std::process::ChildStderr>>,
}

impl Server {
    /// `portwatch serve --listen 127.0.0.1:0 ARGS`, once it says where it listens.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portwatch"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn portwatch serve");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut seen = String::new();
        let port = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let status = child.wait();
                panic!("serve {args:?} exited before listening ({status:?}): {seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                break rest
                    .split('/')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("port in the start line");
            }
        };
        Server {
            child: Some(child),
            port,
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Send `signal` and wait (at most `within`) for the exit status; the rest of stderr.
    pub fn stop(&mut self, signal: i32, within: Duration) -> (Option<i32>, String) {
        // SAFETY: kill(2) on our own child's pid; it has not been reaped (we hold the Child).
        unsafe { libc::kill(self.pid() as i32, signal) };
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not exit within {within:?} of signal {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut rest);
        }
        (status.code(), rest)
    }

    /// Peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.port, &format!("GET {path} HTTP/1.1\r\n"), &[])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Send `request_line` plus `headers` (and `Connection: close`) to 127.0.0.1:`port`; read the
/// whole response.
pub fn request(port: u16, request_line: &str, headers: &[(&str, &str)]) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = String::from(request_line);
    req.push_str("Host: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    read_response(&mut s)
}

/// Read one response until the server closes the connection.
pub fn read_response(s: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the response");
    parse(&raw)
}

pub fn parse(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A loopback port free right now (the kernel's choice; closed again before returning).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A program from the `prometheus` package. Under `CI=true` a missing one fails the test;
/// elsewhere `None` (the caller skips, saying why).
pub fn prometheus_tool(name: &str) -> Option<&'static str> {
    let path: &'static str = match name {
        "promtool" => "promtool",
        _ => "prometheus",
    };
    let ok = Command::new(path)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(path);
    }
    let why = format!("{name} is missing: apt-get install prometheus");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why} (CI=true: failing, not skipping)"
    );
    eprintln!("skipped: {why}");
    None
}

/// `promtool check metrics` on `text`: (success, what it said).
pub fn promtool_check(promtool: &str, text: &str) -> (bool, String) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// The value of the first sample of `name` whose labels contain every `want` pair, reading
/// the text format the simple way a test can trust: `name{k="v",...} value` lines.
pub fn sample(text: &str, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b'{' | b' '))
        })
        .find(|l| {
            want.iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A copy of fixture tree `name` (tests/fixtures) in a temp dir, without the files or
/// directories `without` (relative paths), for tests that break it.
pub fn fixture_copy(name: &str, without: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let ok = Command::new("cp")
        .args([
            "-a",
            &format!("{src}/."),
            dir.path().to_str().expect("utf-8"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "copy the fixture {name}");
    for t in without {
        let p = dir.path().join(t);
        if p.is_dir() {
            std::fs::remove_dir_all(p).expect("remove from the copy");
        } else {
            std::fs::remove_file(p).expect("remove from the copy");
        }
    }
    dir
}
