//! `audit` against live listeners inside network namespaces each test creates (issue #15):
//! the rows come from the listing pipeline (`pipeline::run`) on a thread that entered
//! the namespace, the facts from `platform::linux::audit::gather` there, and the checks
//! from the audit core. Every address is inside the test's namespaces; every process a test
//! starts is killed by its guard, also when the test fails.
//!
//! The external check: nmap, run from a second namespace joined by a veth pair, must see
//! open exactly the ports the audit calls reachable and not dropped.
//!
//! Needs root, iproute2, python3, nftables, nmap and openssl; under CI=true a missing one
//! fails the test.
#![cfg(target_os = "linux")]

#[path = "common/mod.rs"]
mod common;
#[path = "common/netns.rs"]
mod netns;

use common::Child;
use netns::Netns;
use portwatch::audit::{self, AllowList, FindingId, FirewallVerdict, Report, Severity};
use portwatch::model::{Query, StateSet};
use portwatch::pipeline::{self, Request};
use portwatch::platform::linux::audit as live;
use portwatch::platform::{ProcessSource, SourceOptions, System};
use portwatch::registry::Registry;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

fn prerequisites_met() -> bool {
    netns::prerequisites_and(&[
        ("nft", "--version", "nftables"),
        ("nmap", "--version", "nmap"),
        ("openssl", "version", "openssl"),
    ])
}

/// A throwaway self-signed certificate and key in `dir`: (key, cert).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
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
struct Lab {
    ns: Netns,
    outside: Netns,
    addr: String,
}

impl Lab {
    fn new() -> Lab {
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
        ip(&[
            "-n",
            &ns.name,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "veth0",
        ]);
        ip(&[
            "-n",
            &outside.name,
            "addr",
            "add",
            &format!("{peer}/24"),
            "dev",
            "veth1",
        ]);
        ip(&["-n", &ns.name, "link", "set", "veth0", "up"]);
        ip(&["-n", &outside.name, "link", "set", "veth1", "up"]);
        Lab { ns, outside, addr }
    }

    fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.ns.name))
    }

    /// Listeners that accept and stay silent, from a Python child in the namespace:
    /// `tcp,ADDR,PORT` or `udp,ADDR,PORT` (an IPv6 wildcard is dual-stack).
    fn listen(&self, specs: &[&str]) -> Child {
        const SCRIPT: &str = r#"
import socket, sys
socks = []
for spec in sys.argv[1:]:
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
        let mut cmd = self.ns.command("python3");
        cmd.args(["-c", SCRIPT]).args(specs);
        start(&mut cmd, "ready")
    }

    /// `nft -f -` inside the namespace.
    fn nft(&self, ruleset: &str) {
        use std::io::Write;
        let mut c = self
            .ns
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

    /// Read the namespace's listeners through the listing pipeline (as `portwatch -ltup`), gather the facts there and
    /// audit them.
    fn audit(&self, allow: &AllowList, probe: bool) -> Report {
        let query = Query {
            tcp: true,
            udp: true,
            unix: false,
            raw: false,
            ipv4: true,
            ipv6: true,
            states: StateSet::LISTENING,
        };
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
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?}");
}

/// Start `cmd` and wait for `ready` on its stdout (or for a listener, when `ready` is empty).
fn start(cmd: &mut Command, ready: &str) -> Child {
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
fn wait_listening(ns: &Netns, port: u16) {
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

fn ids(r: &Report, port: u16) -> Vec<(FindingId, Severity)> {
    r.findings
        .iter()
        .filter(|f| f.port == port)
        .map(|f| (f.id, f.severity))
        .collect()
}

fn allow(text: &str) -> AllowList {
    AllowList::parse(text, Path::new("allow")).unwrap()
}

#[test]
fn telnet_on_a_wildcard_is_high_on_loopback_nothing_and_an_allow_entry_clears_it() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    {
        let _l = lab.listen(&["tcp,0.0.0.0,23"]);
        let r = lab.audit(&AllowList::default(), false);
        assert_eq!(
            ids(&r, 23),
            [(FindingId::PlaintextLogin, Severity::High)],
            "{r:#?}"
        );
        let f = &r.findings[0];
        assert_eq!(f.interfaces, ["veth0"]);
        assert_eq!(
            f.firewall,
            Some(FirewallVerdict::Accepts),
            "no ruleset: accepted"
        );
        assert_eq!(f.processes[0].comm.as_bytes(), b"python3");
        assert!(r.fails(Severity::Medium), "exit status 1");
        let allowed = lab.audit(&allow("tcp/23 python*\n"), false);
        assert!(allowed.findings.is_empty(), "{allowed:#?}");
        assert_eq!(allowed.summary.allowed, 1);
        assert!(!allowed.fails(Severity::Medium), "exit status 0");
        let other_program = lab.audit(&allow("tcp/23 telnetd\n"), false);
        assert_eq!(ids(&other_program, 23).len(), 1);
    }
    let _l = lab.listen(&["tcp,127.0.0.1,23"]);
    let r = lab.audit(&AllowList::default(), false);
    assert!(ids(&r, 23).is_empty(), "{r:#?}");
    assert!(!r.fails(Severity::Info), "exit status 0");
}

#[test]
fn redis_on_a_wildcard_is_high_and_on_loopback_nothing() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    let _l = lab.listen(&["tcp,::,6379", "tcp,127.0.0.1,6380"]);
    let r = lab.audit(&AllowList::default(), false);
    assert_eq!(
        ids(&r, 6379),
        [(FindingId::PrivateServiceExposed, Severity::High)],
        "{r:#?}"
    );
    assert!(r.findings[0].sockets[0].v6only == Some(false), "dual-stack");
    assert!(ids(&r, 6380).is_empty(), "{r:#?}");
}

#[test]
fn nftables_drop_downgrades_and_an_opaque_rule_is_unknown() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    let _l = lab.listen(&["tcp,0.0.0.0,23", "tcp,0.0.0.0,6379"]);
    lab.nft(
        "table inet pw {\n chain input {\n type filter hook input priority 0; policy accept;\n\
         tcp dport 23 drop\n tcp dport 6379 limit rate 5/second accept\n tcp dport 6379 drop\n }\n}\n",
    );
    let r = lab.audit(&AllowList::default(), false);
    let telnet = r
        .findings
        .iter()
        .find(|f| f.port == 23)
        .expect("23 still listed");
    assert_eq!(telnet.firewall, Some(FirewallVerdict::Drops));
    assert_eq!(telnet.severity, Severity::Low, "downgraded, not hidden");
    let redis = r.findings.iter().find(|f| f.port == 6379).unwrap();
    assert_eq!(
        redis.firewall,
        Some(FirewallVerdict::Unknown),
        "a rate limit decides"
    );
    assert_eq!(redis.severity, Severity::High);
}

#[test]
fn probe_tells_tls_plaintext_and_silence() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = self_signed(dir.path());
    let mut tls = lab.ns.command("openssl");
    tls.args(["s_server", "-quiet", "-accept", "23", "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key);
    // s_server and http.server log every probe to stderr: not the test's output.
    let _tls = start(tls.stderr(Stdio::null()), "");
    let mut http = lab.ns.command("python3");
    http.args(["-m", "http.server", "443", "--bind", "0.0.0.0"])
        .current_dir(dir.path());
    let _http = start(http.stderr(Stdio::null()), "");
    let _silent = lab.listen(&["tcp,0.0.0.0,6390"]);
    wait_listening(&lab.ns, 23);
    wait_listening(&lab.ns, 443);
    let r = lab.audit(&AllowList::default(), true);
    let proto = |port| {
        r.findings
            .iter()
            .find(|f| f.port == port)
            .and_then(|f| f.protocol)
    };
    assert_eq!(proto(23), Some("tls"), "{r:#?}");
    assert_eq!(
        ids(&r, 23),
        [(FindingId::TlsOnPlaintextPort, Severity::Info)]
    );
    assert_eq!(proto(443), Some("http"));
    assert_eq!(
        ids(&r, 443),
        [(FindingId::PlaintextUnexpectedPort, Severity::Medium)]
    );
    assert_eq!(proto(6390), Some("unknown"));
}

/// nmap from the outside namespace: open exactly where the audit says reachable and accepted.
#[test]
fn nmap_from_outside_agrees_with_the_verdicts() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    let a = lab.addr.clone();
    let _l = lab.listen(&[
        "tcp,0.0.0.0,23",
        "tcp,0.0.0.0,6379",
        "tcp,127.0.0.1,8081",
        &format!("tcp,{a},8082"),
        "tcp,::,2222",
        "tcp,0.0.0.0,9000",
        "tcp,0.0.0.0,9001",
    ]);
    lab.nft(&format!(
        "table inet pw {{\n chain input {{\n type filter hook input priority 0; policy accept;\n\
         ct state established,related accept\n iifname \"lo\" accept\n tcp dport 23 drop\n\
         tcp dport 2222 reject with tcp reset\n tcp dport {{ 9000 }} accept\n ip daddr {a} tcp dport 9001 drop\n }}\n}}\n"
    ));
    let r = lab.audit(&AllowList::default(), false);
    let mut reachable = BTreeSet::new();
    for f in &r.findings {
        assert_ne!(f.firewall, Some(FirewallVerdict::Unknown), "{f:#?}");
        if f.reach.exposed() && f.firewall == Some(FirewallVerdict::Accepts) {
            reachable.insert(f.port);
        }
    }
    let ports = "23,6379,8081,8082,2222,9000,9001";
    let out = lab
        .outside
        .command("nmap")
        .args([
            "-n",
            "-Pn",
            "-sT",
            "--max-retries",
            "1",
            "--host-timeout",
            "60s",
            "-p",
            ports,
            "-oG",
            "-",
            &lab.addr,
        ])
        .output()
        .expect("run nmap");
    assert!(
        out.status.success(),
        "nmap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // Grepable output: `Ports: 23/filtered/tcp//telnet///, 6379/open/tcp//redis///, ...`
    let open: BTreeSet<u16> = text
        .lines()
        .filter_map(|l| l.split("Ports: ").nth(1))
        .flat_map(|p| p.split(", "))
        .filter_map(|p| {
            let mut f = p.trim().split('/');
            let port = f.next()?.parse().ok()?;
            (f.next()? == "open").then_some(port)
        })
        .collect();
    assert_eq!(open, BTreeSet::from([6379, 8082, 9000]), "nmap:\n{text}");
    assert_eq!(reachable, open, "{r:#?}");
}

#[test]
fn a_deleted_executable_holding_a_listener_is_found() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("pw-deleted-openssl");
    std::fs::copy("/usr/bin/openssl", &bin).expect("copy openssl");
    let (key, cert) = self_signed(dir.path());
    let mut cmd = lab.ns.command(bin.to_str().unwrap());
    cmd.args(["s_server", "-quiet", "-accept", "127.0.0.1:7443", "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key);
    let server = start(&mut cmd, "");
    wait_listening(&lab.ns, 7443);
    std::fs::remove_file(&bin).unwrap();
    let r = lab.audit(&AllowList::default(), false);
    let found = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::DeletedExecutable && f.port == 7443)
        .unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(found.severity, Severity::High);
    assert_eq!(found.processes[0].pid, server.0.id());
    let exe = found.processes[0].exe.as_ref().unwrap();
    assert_eq!(
        exe.as_bytes(),
        bin.as_os_str().as_encoded_bytes(),
        "the path, without \" (deleted)\""
    );
}

#[test]
fn a_malformed_allow_file_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("allow");
    std::fs::write(&path, "# ok\ntcp/22 sshd public\ntcp/ssh\n").unwrap();
    let err = AllowList::load(&path).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .starts_with(&format!("{}:3: ", path.display())),
        "{err}"
    );
}
