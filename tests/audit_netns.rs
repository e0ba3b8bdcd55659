//! `audit` against live listeners inside network namespaces each test creates (issue #15):
//! reach, the allow file, the firewall and `--fail-on`. Each scenario is judged twice, by
//! the library (the listing pipeline, `platform::linux::audit::gather` and the checks on a
//! thread that entered the namespace) and by the real binary run inside it
//! (`ip netns exec NS portwatch audit`), whose exit status, text and JSON are checked.
//!
//! The external check: nmap, run from a second namespace joined by a veth pair, must see
//! open exactly the ports the audit calls reachable and not dropped.
//!
//! Needs root, iproute2, python3, nftables, nmap and openssl; under CI=true a missing one
//! fails the test. Probes, holders, hostile names, bad input and -N: tests/audit_cli.rs.
#![cfg(target_os = "linux")]

#[path = "common/mod.rs"]
mod common;
#[path = "common/audit_lab.rs"]
mod lab;
#[path = "common/netns.rs"]
#[allow(unused_imports)] // only the namespace guard and prerequisites are used here
mod netns;

use lab::{findings_on, ids, ids_of, pair, prerequisites_met, Lab};
use portwatch::audit::{AllowList, FindingId, FirewallVerdict, Severity};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn allow(text: &str) -> AllowList {
    AllowList::parse(text, Path::new("allow")).unwrap()
}

#[test]
fn telnet_on_a_wildcard_is_high_on_loopback_nothing_and_an_allow_entry_clears_it() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let allow_file = dir.path().join("allow");
    std::fs::write(&allow_file, "# accepted\ntcp/23 python*\n").unwrap();
    let allow_arg = allow_file.to_str().unwrap();
    {
        let l = lab.listen(&["tcp,0.0.0.0,23"]);
        let pid = l.0.id();
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

        // The binary: a table in a pipe, exit 1.
        let t = lab.cli(&[]);
        assert_eq!(t.code, Some(1), "{t:?}");
        assert!(
            t.stderr.is_empty(),
            "nothing hidden from root: {}",
            t.stderr
        );
        let text = &t.stdout;
        for want in [
            "HIGH (1)\n  [high] plaintext-login  tcp/23 telnet\n",
            "\n    sockets  0.0.0.0:23\n",
            "\n    reach    wildcard via veth0; firewall accepted\n",
            &format!("\n    process  python3 (pid {pid}, root) /"),
            "\n    user     root\n",
            "\n    why      Telnet sends every keystroke",
            "\n    fix      Disable telnet and use ssh.\n",
            "summary: 1 listener, 1 reachable beyond loopback; findings: 1 high, 0 medium, 0 low, 0 info\n",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
        assert!(
            !text.contains("where"),
            "one namespace, no container: {text}"
        );
        let (code, doc) = lab.cli_json(&[]);
        assert_eq!(code, Some(1));
        assert_eq!(ids_of(&doc, 23), [pair("plaintext-login", "high")]);
        let f = findings_on(&doc, 23)[0];
        assert_eq!(f["firewall"], "accepted");
        assert_eq!(f["reach"], "wildcard");
        assert_eq!(f["interfaces"], serde_json::json!(["veth0"]));
        assert_eq!(f["processes"][0]["pid"], pid);
        let inode = std::fs::metadata(lab.path()).map(|m| m.ino()).unwrap();
        assert_eq!(f["netns"]["inode"], inode, "the namespace it ran in");
        // The table names the namespace when it is not the host's (no container here).
        let where_line = format!("\n    where    netns {}\n", lab.ns.name);
        let shown = f["netns"]["host"] == false;
        assert_eq!(text.contains(&where_line), shown, "{text}");
        assert_eq!(doc["summary"]["max_severity"], "high");
        let (code, doc) = lab.cli_json(&["--allow", allow_arg]);
        assert_eq!(code, Some(0), "{doc}");
        assert!(findings_on(&doc, 23).is_empty(), "{doc}");
        assert_eq!(doc["summary"]["allowed"], 1);
    }
    let _l = lab.listen(&["tcp,127.0.0.1,23"]);
    let r = lab.audit(&AllowList::default(), false);
    assert!(ids(&r, 23).is_empty(), "{r:#?}");
    assert!(!r.fails(Severity::Info), "exit status 0");
    let (code, doc) = lab.cli_json(&["--fail-on", "info"]);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["findings"], serde_json::json!([]));
    assert_eq!(doc["summary"]["listeners"], 1);
    assert_eq!(doc["summary"]["exposed"], 0);
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
    let (code, doc) = lab.cli_json(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        ids_of(&doc, 6379),
        [pair("private-service-exposed", "high")]
    );
    assert_eq!(findings_on(&doc, 6379)[0]["sockets"][0]["v6only"], false);
    assert!(ids_of(&doc, 6380).is_empty(), "{doc}");
    let t = lab.cli(&[]);
    assert!(
        t.stdout.contains("    sockets  *:6379\n"),
        "ss's spelling: {}",
        t.stdout
    );
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
    let (code, doc) = lab.cli_json(&[]);
    assert_eq!(code, Some(1));
    let telnet = findings_on(&doc, 23)[0];
    assert_eq!(telnet["firewall"], "dropped");
    assert_eq!(telnet["severity"], "low");
    assert!(telnet["why"].as_str().unwrap().contains("firewall drops"));
    let redis = findings_on(&doc, 6379)[0];
    assert_eq!(redis["firewall"], "unknown");
    assert_eq!(redis["severity"], "high");
    let t = lab.cli(&[]);
    assert!(
        t.stdout
            .contains("LOW (1)\n  [low] plaintext-login  tcp/23 telnet\n"),
        "{}",
        t.stdout
    );
    assert!(
        t.stdout.contains("wildcard via veth0; firewall dropped\n"),
        "{}",
        t.stdout
    );
}

/// `--fail-on`: exit 1 exactly when a finding is at or above it; lower ones are still shown.
#[test]
fn fail_on_sets_the_least_severity_that_fails() {
    if !prerequisites_met() {
        return;
    }
    let lab = Lab::new();
    // ssh on a wildcard: info; telnet dropped by the firewall: low.
    let _l = lab.listen(&["tcp,0.0.0.0,22", "tcp,0.0.0.0,23"]);
    lab.nft(
        "table inet pw {\n chain input {\n type filter hook input priority 0; policy accept;\n\
         tcp dport 23 drop\n }\n}\n",
    );
    for (fail_on, want) in [
        (Some("info"), 1),
        (Some("low"), 1),
        (None, 0),
        (Some("medium"), 0),
        (Some("high"), 0),
    ] {
        let args: Vec<&str> = fail_on.map(|f| vec!["--fail-on", f]).unwrap_or_default();
        let (code, doc) = lab.cli_json(&args);
        assert_eq!(code, Some(want), "--fail-on {fail_on:?}: {doc}");
        assert_eq!(ids_of(&doc, 22), [pair("exposed-listener", "info")]);
        assert_eq!(ids_of(&doc, 23), [pair("plaintext-login", "low")]);
        assert_eq!(doc["summary"]["max_severity"], "low");
    }
    let bad = lab.cli(&["--fail-on", "critical"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("critical"), "{}", bad.stderr);
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
    let (_, doc) = lab.cli_json(&["--fail-on", "high"]);
    let cli_reachable: BTreeSet<u16> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reach"] != "loopback" && f["firewall"] == "accepted")
        .filter_map(|f| f["port"].as_u64().and_then(|p| u16::try_from(p).ok()))
        .collect();
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
    assert_eq!(cli_reachable, open, "{doc}");
}
