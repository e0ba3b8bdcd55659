//! Run as an unprivileged user (`portwatch-test`, created by .ci/run): every socket is
//! listed, that user's own processes are attributed, everyone else's sockets have no owner
//! (`-`, `[]`), and one hint line says how many and how to see them; exit 0.
//! Needs root (to start processes as that user); under CI=true a missing user fails.

mod common;
#[path = "common/procs.rs"]
mod procs;
#[path = "common/textfmt.rs"]
mod textfmt;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const USER: &str = "portwatch-test";

#[test]
#[ignore = "child process of the privilege tests"]
fn child_entry() {
    procs::child_main();
}

/// The prerequisites: root, the test user, runuser. `None` (skip) outside CI.
fn setup() -> Option<(u32, u32)> {
    if !procs::require(procs::is_root(), "the privilege tests need root") {
        return None;
    }
    let ids = procs::user_ids(USER);
    if !procs::require(
        ids.is_some(),
        "user portwatch-test is missing (.ci/run creates it: useradd --system portwatch-test)",
    ) {
        return None;
    }
    ids
}

fn run_as_user(bin: &Path, args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", USER, "--"])
        .arg(bin)
        .args(args)
        .output()
        .expect("runuser (util-linux) is required by the privilege tests")
}

/// A listener held by the test user's process and one held by this (root) process.
struct Scene {
    user_holder: procs::Holder,
    user_port: u16,
    root_port: u16,
    _root_listener: std::net::TcpListener,
    bin: PathBuf,
    uid: u32,
    _keep: Vec<tempfile::TempDir>,
}

fn scene() -> Option<Scene> {
    let (uid, gid) = setup()?;
    let mut keep = Vec::new();
    // The holder child is this test binary run as the user: it must be able to exec it.
    let test_exe = common::runnable(&std::env::current_exe().expect("test exe"), &mut keep);
    let bin = common::runnable(Path::new(env!("CARGO_BIN_EXE_portwatch")), &mut keep);
    let spec = procs::Spec {
        comm: Some(b"pw-unpriv".to_vec()),
        tcp: vec!["127.0.0.1:0".into()],
        unix: vec![],
    };
    let user_holder = procs::hold_with_exe(&test_exe, &spec, Some((uid, gid)));
    let user_port = user_holder.ports[0];
    let root_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let root_port = root_listener.local_addr().expect("addr").port();
    Some(Scene {
        user_holder,
        user_port,
        root_port,
        _root_listener: root_listener,
        bin,
        uid,
        _keep: keep,
    })
}

fn port_row(doc: &Value, port: u16) -> &Value {
    let rows = common::by_local_port(doc, "tcp", port);
    assert_eq!(rows.len(), 1, "port {port}: {doc}");
    rows[0]
}

#[test]
fn unprivileged_json_attributes_own_processes_and_hints_once() {
    let Some(s) = scene() else { return };
    let out = run_as_user(&s.bin, &["-ltnp", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "JSON carries its warnings");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["schema"], 1);

    let mine = port_row(&doc, s.user_port);
    let owners = mine["owners"].as_array().expect("owners array");
    assert_eq!(owners.len(), 1, "{mine}");
    assert_eq!(owners[0]["pid"], s.user_holder.pid());
    assert_eq!(owners[0]["comm"], "pw-unpriv");
    assert_eq!(owners[0]["uid"], s.uid);
    assert_eq!(mine["uid"], s.uid);

    let roots = port_row(&doc, s.root_port);
    assert_eq!(roots["owners"], Value::Array(vec![]), "{roots}");
    assert_eq!(roots["uid"], 0);

    let warnings = doc["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["kind"], "owners-hidden");
    let msg = warnings[0]["message"].as_str().unwrap_or_default();
    assert!(textfmt::is_owners_hidden(msg), "{msg}");
    assert!(msg.contains("run as root"), "{msg}");
}

#[test]
fn unprivileged_table_has_one_hint_line() {
    let Some(s) = scene() else { return };
    let out = run_as_user(&s.bin, &["-ltnp"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines = textfmt::warning_lines(&stderr).expect("only warnings on stderr");
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(textfmt::is_owners_hidden(lines[0]), "{stderr}");
    assert!(lines[0].contains("run as root"), "{stderr}");

    let row = |port: u16| {
        let local = format!("127.0.0.1:{port}");
        let rows: Vec<&str> = stdout
            .lines()
            .filter(|l| l.split_whitespace().nth(3) == Some(local.as_str()))
            .collect();
        assert_eq!(rows.len(), 1, "{local}:\n{stdout}");
        rows[0]
    };
    let mine = row(s.user_port);
    let owner = format!("pw-unpriv(pid={},fd=", s.user_holder.pid());
    assert!(mine.contains(&owner), "{mine}");
    let roots = row(s.root_port);
    assert_eq!(roots.split_whitespace().last(), Some("-"), "{roots}");
}

/// Root sees both owners and gets no hint about them (the comparison point).
#[test]
fn root_sees_both_owners() {
    let Some(s) = scene() else { return };
    let me = u64::from(std::process::id());
    let want_user = [u64::from(s.user_holder.pid())];
    // Other tests in this binary fork children; between fork and exec such a child really
    // holds a copy of every fd of ours, and a scan at that instant rightly lists it. Look
    // again a few times before calling a difference a failure.
    let mut last = String::new();
    for _ in 0..5 {
        let doc = common::json(&["-ltnp"]);
        let pids = |port| -> Vec<u64> {
            common::owner_pids(port_row(&doc, port))
                .iter()
                .map(|(p, _)| *p)
                .collect()
        };
        let (user, root) = (pids(s.user_port), pids(s.root_port));
        if user == want_user && !root.is_empty() && root.iter().all(|p| *p == me) {
            return;
        }
        last = format!("user listener owners {user:?}, root listener owners {root:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("root should see both owners: {last}");
}

/// Under a proc mounted with `hidepid=invisible` (in a private mount namespace), root's
/// processes are absent for the user rather than refused: root's listener still has no
/// visible owner, and the one hint line names the mount option instead of saying nothing.
#[test]
fn hidepid_mount_is_named_in_the_hint() {
    let Some(s) = scene() else { return };
    let script = r#"mount -t proc -o hidepid=invisible proc /proc && exec runuser -u "$1" -- "$2" -ltnp --json"#;
    let out = Command::new("unshare")
        .args(["--mount", "--", "sh", "-c", script, "sh", USER])
        .arg(&s.bin)
        .output()
        .expect("unshare (util-linux) is required by the privilege tests");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mine = port_row(&doc, s.user_port);
    assert_eq!(mine["owners"][0]["pid"], s.user_holder.pid(), "{mine}");
    let roots = port_row(&doc, s.root_port);
    assert_eq!(roots["owners"], Value::Array(vec![]), "{roots}");
    let warnings = doc["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["kind"], "owners-hidden");
    let msg = warnings[0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("no visible owner: /proc is mounted with hidepid=invisible"),
        "{msg}"
    );
    assert!(msg.contains("run as root"), "{msg}");
}
