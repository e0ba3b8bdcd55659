//! `audit` beyond reach and firewall (issue #15): `--probe`, suspicious holders, hostile
//! process names, bad input, rendering for a pipe and a terminal, and `-N` across
//! namespaces; live ones in network namespaces the test creates (tests/common/audit_lab.rs),
//! the rendering on the proc-basic fixture tree. The probe and holder scenarios are judged by the
//! library and by the real binary; the rest is the binary's contract (exit status, stderr,
//! escaping, JSON).
//!
//! Needs root, iproute2, python3, nftables, nmap and openssl; under CI=true a missing one
//! fails the test (the bad-input and fixture tests need none of them).
#![cfg(target_os = "linux")]

#[path = "common/mod.rs"]
mod common;
#[path = "common/audit_lab.rs"]
mod lab;
#[path = "common/netns.rs"]
#[allow(unused_imports)] // only the namespace guard and prerequisites are used here
mod netns;
#[path = "common/procs.rs"]
mod procs;
#[path = "common/textfmt.rs"]
mod textfmt;

use lab::{audit_here, findings_on, ids, ids_of, pair, prerequisites_met, self_signed, Lab};
use portwatch::audit::{AllowList, FindingId, Severity};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

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
    // s_server logs every probe to stderr: not the test's output.
    let _tls = lab::start(tls.stderr(Stdio::null()), "");
    let _http = lab::http_server(&lab.ns, 443, dir.path());
    let _silent = lab.listen(&["tcp,0.0.0.0,6390"]);
    lab::wait_listening(&lab.ns, 23);
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

    let (code, doc) = lab.cli_json(&["--probe"]);
    assert_eq!(code, Some(1), "plaintext HTTP on 443 is medium: {doc}");
    let answer = |port| findings_on(&doc, port)[0]["protocol"].clone();
    assert_eq!(answer(23), "tls");
    assert_eq!(ids_of(&doc, 23), [pair("tls-on-plaintext-port", "info")]);
    assert_eq!(answer(443), "http");
    assert_eq!(
        ids_of(&doc, 443),
        [pair("plaintext-unexpected-port", "medium")]
    );
    assert_eq!(answer(6390), "unknown");
    // Without --probe nothing is connected to: no answers, and 23 is judged by its number.
    let (_, doc) = lab.cli_json(&[]);
    assert_eq!(
        findings_on(&doc, 443)[0]["protocol"],
        serde_json::Value::Null
    );
    assert_eq!(ids_of(&doc, 23), [pair("plaintext-login", "high")]);
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
    let server = lab::start(&mut cmd, "");
    lab::wait_listening(&lab.ns, 7443);
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

    let (code, doc) = lab.cli_json(&[]);
    assert_eq!(code, Some(1), "{doc}");
    let on = findings_on(&doc, 7443);
    let deleted = on
        .iter()
        .find(|f| f["id"] == "deleted-executable")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(deleted["severity"], "high");
    assert_eq!(deleted["reach"], "loopback", "even on loopback");
    assert_eq!(deleted["processes"][0]["pid"], server.0.id());
    assert_eq!(deleted["processes"][0]["exe"], bin.to_str().unwrap());
    // The temp dir's ancestors decide the other holder check (/tmp is usually o+w).
    let world_writable = bin
        .ancestors()
        .skip(1)
        .filter(|d| d.parent().is_some())
        .any(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o002 != 0));
    let ww = on.iter().any(|f| f["id"] == "world-writable-exe");
    assert_eq!(ww, world_writable, "{doc}");
}

/// Hostile process names: the table shows them escaped (no raw control or bidi character),
/// JSON gives the exact bytes (`comm_hex`).
#[test]
fn hostile_process_names_are_escaped_in_text_and_exact_in_json() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    // ESC sequence, RIGHT-TO-LEFT OVERRIDE, invalid UTF-8, newline: 13 bytes (comm keeps 15).
    let name: &[u8] = b"ev\x1b[2J\xe2\x80\xae\xffx\nz";
    let l = lab.listen_as(Some(name), &["tcp,0.0.0.0,23"]);
    let (_, doc) = lab.cli_json(&[]);
    let p = &findings_on(&doc, 23)[0]["processes"][0];
    assert_eq!(p["pid"], l.0.id());
    let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(p["comm_hex"], hex.as_str(), "{doc}");
    assert_eq!(p["comm"], "ev\u{1b}[2J\u{202e}\u{fffd}x\nz");
    let t = lab.cli(&[]);
    assert_eq!(t.code, Some(1));
    if let Some(c) = t.stdout.chars().find(|&c| textfmt::is_dangerous(c)) {
        panic!("raw {c:?} in:\n{}", t.stdout);
    }
    let shown = format!("process  ev\\e[2J\\u{{202e}}\\xffx\\nz (pid {}", l.0.id());
    assert!(t.stdout.contains(&shown), "{shown:?} not in:\n{}", t.stdout);
}

/// Not root: what could not be seen (the holders, the firewall) is said once each, and
/// unknown stays unknown; the exposure findings stand.
#[test]
fn an_unprivileged_audit_says_what_it_could_not_see() {
    if !prerequisites_met() {
        return;
    }
    const USER: &str = "portwatch-test";
    if !procs::require(
        procs::user_ids(USER).is_some(),
        "user portwatch-test is missing (.ci/run creates it)",
    ) {
        return;
    }
    let lab = Lab::new();
    let _l = lab.listen(&["tcp,0.0.0.0,23"]);
    let mut keep = Vec::new();
    let bin = common::runnable(Path::new(env!("CARGO_BIN_EXE_portwatch")), &mut keep);
    let as_user = |json: bool| {
        let mut cmd = lab.ns.command("runuser");
        cmd.args(["-u", USER, "--"]).arg(&bin).arg("audit");
        if json {
            cmd.arg("--json");
        }
        lab::run(&mut cmd)
    };
    let r = as_user(true);
    assert_eq!(r.code, Some(1), "{r:?}");
    let doc = r.json();
    let f = findings_on(&doc, 23)[0];
    assert_eq!(f["id"], "plaintext-login");
    assert_eq!(
        f["processes"],
        serde_json::json!([]),
        "root's process is hidden"
    );
    assert_eq!(f["firewall"], "unknown", "the ruleset is root's to read");
    let kinds: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["kind"].as_str())
        .collect();
    for kind in ["owners-hidden", "firewall-unreadable"] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            1,
            "{kind}: {doc}"
        );
    }
    let t = as_user(false);
    assert_eq!(t.code, Some(1), "{t:?}");
    let lines = textfmt::warning_lines(&t.stderr).unwrap_or_else(|e| panic!("{e}"));
    let unique: std::collections::BTreeSet<&&str> = lines.iter().collect();
    assert_eq!(unique.len(), lines.len(), "each once: {}", t.stderr);
    assert!(
        t.stderr.contains("firewall verdicts are unknown"),
        "{}",
        t.stderr
    );
    assert!(t.stdout.contains("firewall unknown\n"), "{}", t.stdout);
}

fn fixture() -> String {
    common::fixture("proc-basic")
}

/// On a fixture tree (no root needed): the text a pipe gets and a terminal gets, JSON, the
/// container and unit of a finding, `--fail-on`, and a closed pipe.
#[test]
fn a_fixture_tree_renders_for_a_pipe_a_terminal_and_json() {
    let root = fixture();
    let r = audit_here(&["--proc-root", &root]);
    assert_eq!(r.code, Some(0), "4 info findings stay under medium: {r:?}");
    for want in [
        "INFO (4)\n  [info] exposed-listener  tcp/22 ssh\n    sockets  0.0.0.0:22\n    reach    wildcard\n",
        "    process  sshd (pid 412, root)\n    user     root\n    where    unit ssh.service\n",
        "    where    container 4f797c539e6c (docker)\n",
        "    fix      Nothing to do if it is meant to be; add it to the allow file to say so.\n",
        "\nsummary: 6 listeners, 4 reachable beyond loopback; findings: 0 high, 0 medium, 0 low, 4 info\n",
    ] {
        assert!(r.stdout.contains(want), "{want:?} not in:\n{}", r.stdout);
    }
    let r = audit_here(&["--proc-root", &root, "--fail-on", "info", "--json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let doc = r.json();
    let http = findings_on(&doc, 80)[0];
    assert_eq!(http["container"]["runtime"], "docker");
    assert_eq!(
        http["firewall"],
        serde_json::Value::Null,
        "not read on a fixture"
    );
    assert_eq!(findings_on(&doc, 22)[0]["unit"], "ssh.service");
    // A terminal 60 columns wide: long fields wrap under themselves, nothing is cut.
    let cmd = format!(
        "COLUMNS=60 '{}' audit --proc-root '{root}'",
        env!("CARGO_BIN_EXE_portwatch")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux) runs the binary on a pty");
    let tty = String::from_utf8(out.stdout).unwrap().replace('\r', "");
    assert!(
        tty.contains("    fix      Nothing to do if it is meant to be; add it to\n             the allow file to say so.\n"),
        "{tty}"
    );
    assert!(tty.lines().all(|l| l.chars().count() <= 60), "{tty}");
    // `| head -1`: exit 0, nothing on stderr.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' audit --proc-root '{root}' | head -1 >/dev/null; exit \"${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_portwatch")
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let r = audit_here(&["--proc-root", &root, "--probe"]);
    assert_eq!(
        r.code,
        Some(2),
        "--probe never connects for a fixture: {r:?}"
    );
}

/// An allow file the user named must be right: a malformed line is exit 2 naming its line,
/// before anything is read; so is a file that cannot be read.
#[test]
fn a_malformed_or_unreadable_allow_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("allow");
    std::fs::write(&path, "# ok\ntcp/22 sshd public\ntcp/ssh\n").unwrap();
    let err = AllowList::load(&path).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let want = format!("{}:3: ", path.display());
    assert!(err.to_string().starts_with(&want), "{err}");
    let r = audit_here(&["--allow", path.to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(
        r.stderr.starts_with(&format!("portwatch: {want}")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("bad port \"ssh\""),
        "says what was expected: {}",
        r.stderr
    );
    let missing = dir.path().join("none");
    let r = audit_here(&["--json", "--allow", missing.to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains(missing.to_str().unwrap()), "{}", r.stderr);
    let r = audit_here(&["-x"]);
    assert_eq!(r.code, Some(2), "{r:?}");
}

/// `-N`: every namespace chosen is audited with its own interfaces and firewall, read inside
/// it, `--probe` connects from inside it, and each finding names its namespace.
#[test]
fn namespaces_are_audited_each_with_its_own_firewall_and_probe() {
    if !prerequisites_met() {
        return;
    }
    let (a, b) = (Lab::new(), Lab::new());
    let _la = a.listen(&["tcp,0.0.0.0,23"]);
    let _lb = b.listen(&["tcp,0.0.0.0,23"]);
    let web = tempfile::tempdir().unwrap();
    let _http = lab::http_server(&b.ns, 8080, web.path());
    a.nft(
        "table inet pw {\n chain input {\n type filter hook input priority 0; policy accept;\n\
         tcp dport 23 drop\n }\n}\n",
    );
    let check = |doc: &serde_json::Value| {
        let telnet = findings_on(doc, 23);
        assert_eq!(telnet.len(), 2, "{doc}");
        let of = |name: &str| {
            telnet
                .iter()
                .find(|f| f["netns"]["name"] == name)
                .unwrap_or_else(|| panic!("no finding in {name}: {doc}"))
        };
        let (fa, fb) = (of(&a.ns.name), of(&b.ns.name));
        assert_eq!(
            (&fa["firewall"], &fa["severity"]),
            (&"dropped".into(), &"low".into())
        );
        assert_eq!(
            (&fb["firewall"], &fb["severity"]),
            (&"accepted".into(), &"high".into())
        );
        assert_eq!(fa["interfaces"], serde_json::json!(["veth0"]));
        assert_eq!(fa["netns"]["host"], false);
    };
    let (na, nb) = (a.ns.name.as_str(), b.ns.name.as_str());
    let r = audit_here(&["-N", na, "-N", nb, "--probe", "--json"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let doc = r.json();
    check(&doc);
    let http = findings_on(&doc, 8080);
    assert_eq!(http.len(), 1, "{doc}");
    assert_eq!(http[0]["protocol"], "http", "probed inside {nb}: {doc}");
    assert_eq!(http[0]["netns"]["name"], nb);
    // -N all, narrowed to this test's namespaces by the filter (other tests of this binary
    // have theirs).
    let r = audit_here(&["-N", "all", "--json", "netns", na, "or", "netns", nb]);
    assert_eq!(r.code, Some(1), "{r:?}");
    check(&r.json());
    // The text names each finding's namespace.
    let t = audit_here(&["-N", na, "-N", nb, "-t", "sport", "=", ":23"]);
    for ns in [na, nb] {
        assert!(
            t.stdout.contains(&format!("    where    netns {ns}\n")),
            "{}",
            t.stdout
        );
    }
}
