//! The audit tests' lab: a network namespace with a veth link to a second one (the outside
//! world of the test), listeners and servers started inside it, nftables rules loaded there,
//! and two ways to audit it: the library (the pipeline and `audit::audit` on a thread that
//! entered the namespace) and the real binary (`ip netns exec NS portwatch audit ...`).
//! A test file using it declares `mod common;`, `mod netns;` (common/netns.rs) and this.
//! Every process a lab starts is a `Child` guard (killed by pid on drop, also when the test
//! fails); the namespaces go with the `Netns` guards.
#![allow(dead_code)]

use crate::common::Child;
use crate::netns::{self, Netns};
use portwatch::audit::{self, AllowList, FindingId, Report, Severity};
use portwatch::model::{Query, StateSet};
use portwatch::pipeline::{self, Request};
use portwatch::platform::linux::audit as live;
use portwatch::platform::{ProcessSource, SourceOptions, System};
use portwatch::registry::Registry;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Root, iproute2, python3, nftables, nmap and openssl; under CI=true a missing one fails.
pub fn prerequisites_met() -> bool {
    netns::prerequisites_and(&[
        ("nft", "--version", "nftables"),
        ("nmap", "--version", "nmap"),
        ("openssl", "version", "openssl"),
    ])
}

/// A throwaway self-signed certificate and key in `dir`: (key, cert).
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("k.pem"), dir.join("c.pem"));
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=pwtest", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(st.success(), "openssl req");
    (key, cert)
}

/// A namespace with `veth0` at 10.77.N.1/24, its peer `veth1` (10.77.N.2/24) in a second
/// namespace: the outside world of the test.
pub struct Lab {
    pub ns: Netns,
    pub outside: Netns,
    pub addr: String,
}

/// What a run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `--json` document, checked for its top-level shape.
    pub fn json(&self) -> Value {
        let doc: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("audit --json is not JSON ({e}):\n{}", self.stdout));
        assert_eq!(doc["schema"], 1, "{doc}");
        assert!(
            doc["findings"].is_array() && doc["warnings"].is_array(),
            "{doc}"
        );
        assert!(doc["summary"]["listeners"].is_u64(), "{doc}");
        doc
    }
}

/// Run `cmd` (a portwatch invocation) to the end.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("portwatch prints UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `portwatch audit ARGS` in the test's own namespace (for `-N`).
pub fn audit_here(args: &[&str]) -> Run {
    run(crate::common::bin().arg("audit").args(args))
}

/// The library's findings on `port`, as (id, severity).
pub fn ids(r: &Report, port: u16) -> Vec<(FindingId, Severity)> {
    r.findings
        .iter()
        .filter(|f| f.port == port)
        .map(|f| (f.id, f.severity))
        .collect()
}

/// The findings of a JSON document on `port`, as (id, severity).
pub fn ids_of(doc: &Value, port: u16) -> Vec<(String, String)> {
    findings_on(doc, port)
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The findings of a JSON document on `port`.
pub fn findings_on(doc: &Value, port: u16) -> Vec<&Value> {
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["port"] == port)
        .collect()
}

/// One (id, severity) pair, as `ids_of` gives them.
pub fn pair(id: &str, severity: &str) -> (String, String) {
    (id.to_string(), severity.to_string())
}

impl Lab {
    pub fn new() -> Lab {
        static N: AtomicU8 = AtomicU8::new(1);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let (ns, outside) = (Netns::new(), Netns::new());
        let (addr, peer) = (format!("10.77.{n}.1"), format!("10.77.{n}.2"));
        ip(&[
            "-n",
            &ns.name,
            "link",
            "add",
            "veth0",
            "type",
            "veth",
            "peer",
            "name",
            "veth1",
            "netns",
            &outside.name,
        ]);
        let cidr = |a: &str| format!("{a}/24");
        ip(&["-n", &ns.name, "addr", "add", &cidr(&addr), "dev", "veth0"]);
        ip(&[
            "-n",
            &outside.name,
            "addr",
            "add",
            &cidr(&peer),
            "dev",
            "veth1",
        ]);
        ip(&["-n", &ns.name, "link", "set", "veth0", "up"]);
        ip(&["-n", &outside.name, "link", "set", "veth1", "up"]);
        Lab { ns, outside, addr }
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.ns.name))
    }

    /// Listeners that accept and stay silent, from a Python child in the namespace:
    /// `tcp,ADDR,PORT` or `udp,ADDR,PORT` (an IPv6 wildcard is dual-stack).
    pub fn listen(&self, specs: &[&str]) -> Child {
        self.listen_as(None, specs)
    }

    /// `listen`, from a process that first names itself `comm` (/proc/self/comm).
    pub fn listen_as(&self, comm: Option<&[u8]>, specs: &[&str]) -> Child {
        const SCRIPT: &str = r#"
import socket, sys
if sys.argv[1]:
    with open("/proc/self/comm", "wb") as f:
        f.write(bytes.fromhex(sys.argv[1]))
socks = []
for spec in sys.argv[2:]:
    proto, addr, port = spec.split(",")
    port = int(port)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port))
    if proto == "tcp":
        s.listen(16)
    socks.append(s)
print("ready", flush=True)
sys.stdin.read()
"#;
        let hex: String = comm
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut cmd = self.ns.command("python3");
        cmd.args(["-c", SCRIPT, &hex]).args(specs);
        start(&mut cmd, "ready")
    }

    /// `nft -f -` inside the namespace.
    pub fn nft(&self, ruleset: &str) {
        nft_in(&self.ns, ruleset);
    }

    /// Read the namespace's listeners through the listing pipeline (as `portwatch -ltup`),
    /// gather the facts there and audit them: the library's answer.
    pub fn audit(&self, allow: &AllowList, probe: bool) -> Report {
        let query = Query::inet(true, true, StateSet::LISTENING);
        let req = Request {
            owners: true,
            user_names: true,
            ..Request::new(query)
        };
        let reg = Registry::builtin();
        let opts = portwatch::audit::probe::connect::ProbeOptions::default();
        live::in_netns(&self.path(), || {
            // Made on this thread, so its netlink sockets are the namespace's.
            let sys = System::new(SourceOptions::default()).expect("the live system");
            let listing =
                pipeline::run(&req, &sys, &sys, &reg).expect("read the namespace's sockets");
            let host = live::gather(&listing.rows, Path::new("/proc"), &|uid| sys.user_name(uid));
            let (mut facts, warnings) = audit::Facts::from_host(host);
            if probe {
                facts.probe(&listing.rows, &opts);
            }
            assert!(warnings.is_empty(), "{warnings:?}");
            audit::audit(&listing.rows, &facts, allow)
        })
        .expect("enter the namespace")
    }

    /// `portwatch audit ARGS` run inside the namespace: the binary's answer.
    pub fn cli(&self, args: &[&str]) -> Run {
        run(self
            .ns
            .command(env!("CARGO_BIN_EXE_portwatch"))
            .arg("audit")
            .args(args))
    }

    /// `portwatch audit ARGS --json` inside the namespace, with its exit status.
    pub fn cli_json(&self, args: &[&str]) -> (Option<i32>, Value) {
        let mut all = args.to_vec();
        all.push("--json");
        let r = self.cli(&all);
        assert!(
            r.stderr.is_empty(),
            "--json says everything in its document: {}",
            r.stderr
        );
        (r.code, r.json())
    }
}

/// `nft -f -` inside `ns`.
pub fn nft_in(ns: &Netns, ruleset: &str) {
    let mut c = ns
        .command("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run nft");
    c.stdin
        .take()
        .unwrap()
        .write_all(ruleset.as_bytes())
        .unwrap();
    assert!(c.wait().unwrap().success(), "nft -f: {ruleset}");
}

pub fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?}");
}

/// Start `cmd` and wait for `ready` on its stdout (or for nothing, when `ready` is empty:
/// then wait for its listener with `wait_listening`).
pub fn start(cmd: &mut Command, ready: &str) -> Child {
    let mut child = Child(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    if !ready.is_empty() {
        let out = child.0.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), ready, "child did not get ready");
    }
    child
}

/// Wait until something listens on TCP `port` in the namespace (for servers that print no
/// ready line).
pub fn wait_listening(ns: &Netns, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !ns
            .text("ss", &["-Hltn", &format!("sport = :{port}")])
            .trim()
            .is_empty()
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {port}");
}

/// `python3 -m http.server PORT` in `ns`, listening on every address (its log to stderr
/// silenced: every probe is a line there).
pub fn http_server(ns: &Netns, port: u16, dir: &Path) -> Child {
    let mut http = ns.command("python3");
    http.args(["-m", "http.server", &port.to_string(), "--bind", "0.0.0.0"])
        .current_dir(dir);
    let c = start(http.stderr(Stdio::null()), "");
    wait_listening(ns, port);
    c
}
