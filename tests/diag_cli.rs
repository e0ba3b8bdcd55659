//! Issue #13 end to end through the binary: `-s` on the fixture tree (expected text written
//! from tests/fixtures/README.md), the refusals of `-K`, `-E` and `-s`, and live on the test's
//! own loopback sockets: `-ti`/`-m`/`-o` JSON against ss, `-K` closing one connection,
//! `-E` reporting closes, `--sort`, alerts and `cgroup`. The live cases are in
//! diag_cli/live.rs.

mod common;
#[path = "diag_cli/live.rs"]
mod live;
#[path = "common/sslive.rs"]
mod sslive;

use common::*;

fn run(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .args(args)
        .env("PORTWATCH_LABELS", dir.path().join("labels"))
        .output()
        .expect("run portwatch")
}

fn on_fixture(args: &[&str]) -> std::process::Output {
    let root = fixture("proc-basic");
    let mut v = vec!["--proc-root", &root, "--etc-services", "/dev/null"];
    v.extend_from_slice(args);
    let out = run(&v);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What ss -s would print for the fixture's counters (tests/fixtures/README.md).
const SS_S: &str = "\
Total: 14
TCP:   7 (estab 2, closed 1, orphaned 0, timewait 1)

Transport Total     IP        IPv6
RAW\t  1         1         0        
UDP\t  2         1         1        
TCP\t  6         4         2        
INET\t  9         6         3        
FRAG\t  0         0         0        

";

#[test]
fn summary_is_ss_s_and_nothing_else() {
    let out = on_fixture(&["-s"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), SS_S);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn summary_with_l_adds_the_listeners() {
    let out = on_fixture(&["-sl"]);
    let want = SS_S.to_string()
        + "\
Listeners by accept queue (Recv-Q/backlog):
  none waiting

Listeners by connections: -sa counts them

Listeners per service:
  tcp   http                          1
  tcp   ipp                           1
  tcp   postgresql                    1
  tcp   ssh                           1
  udp   domain                        1
  udp   ntp                           1
";
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn summary_with_a_counts_connections_per_listener() {
    let out = on_fixture(&["-sa"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // 127.0.0.1:5432 holds one open connection (from :50412); its TIME-WAIT socket is over,
    // and the client end :50412 has no listener.
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Listeners by connections:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(section.len(), 1, "{text}");
    let words: Vec<&str> = section[0].split_whitespace().collect();
    assert_eq!(words, ["tcp", "127.0.0.1:5432", "1", "postgresql"]);
}

#[test]
fn summary_json() {
    let plain: serde_json::Value =
        serde_json::from_slice(&on_fixture(&["-s", "--json"]).stdout).expect("JSON");
    assert_eq!(
        plain["summary"]["listeners_per_service"],
        serde_json::Value::Null
    );
    let out = on_fixture(&["-sl", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["summary"]["tcp"], plain["summary"]["tcp"]);
    assert_eq!(doc["schema"], 1);
    let s = &doc["summary"];
    assert_eq!(s["total"], 14);
    assert_eq!(
        s["tcp"],
        serde_json::json!({"total": 7, "estab": 2, "closed": 1, "orphaned": 0, "timewait": 1})
    );
    assert_eq!(
        s["transport"]["inet"],
        serde_json::json!({"total": 9, "ipv4": 6, "ipv6": 3})
    );
    assert_eq!(s["counters"]["tcp_alloc"], 6);
    assert_eq!(s["listeners_by_connections"], serde_json::Value::Null);
    assert_eq!(s["listeners_per_service"].as_array().map(Vec::len), Some(6));
    assert_eq!(doc["warnings"], serde_json::json!([]));
}

/// Exit status 2 and a message naming the problem.
fn refused(args: &[&str], says: &str) {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

#[test]
fn modes_refuse_what_cannot_work() {
    refused(&["-K"], "filter expression");
    refused(&["-Kt"], "-a/--all");
    refused(&["-K", "--csv", "dport", "=", ":1"], "not CSV");
    refused(&["-Kx", "src", "/tmp/x"], "TCP and UDP");
    refused(&["-Ew"], "TCP and UDP");
    refused(&["-s", "--csv"], "not CSV");
    refused(&["-Etp"], "no owner");
    refused(&["-Et", "proc", "nginx"], "no owner");
    refused(&["-s", "-K", "-a"], "cannot be used with");
    refused(&["--sort", "pid"], "invalid value 'pid'");
    let root = fixture("proc-basic");
    refused(&["--proc-root", &root, "-Kt", "-a"], "live kernel");
    refused(&["--proc-root", &root, "-Et"], "live kernel");
}

#[test]
fn sort_keys_are_the_pipelines() {
    assert_eq!(
        portwatch::cli::SORT_KEYS.as_slice(),
        portwatch::pipeline::SortKey::NAMES
    );
}

#[test]
fn listing_json_has_the_extras_keys() {
    let out = on_fixture(&["-lnt", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for s in doc["sockets"].as_array().unwrap() {
        for key in ["cookie", "cgroup", "tcp_info", "skmem", "timer", "shutdown"] {
            // /proc/net carries none of them: present and null, never made up.
            assert_eq!(s[key], serde_json::Value::Null, "{key} in {s}");
        }
        assert!(s["alerts"].is_array());
    }
}
