//! `snapshot` and `diff` end to end, on the test's own listeners (held by child processes, so
//! that a restart is a new pid): exit 0 when nothing changed, also across a restart of the
//! same program on the same port; 1 for a new listener; 2 for trouble (a missing,
//! malformed or future-schema baseline, bad flags). A failed write leaves the old baseline.

mod common;
#[path = "common/procs.rs"]
mod procs;

use procs::{hold, is_root, require, Holder, Spec};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

#[test]
#[ignore = "child process of the snapshot/diff tests"]
fn child_entry() {
    procs::child_main();
}

fn listener(comm: &str, addr: &str) -> Holder {
    hold(
        &Spec {
            comm: Some(comm.as_bytes().to_vec()),
            tcp: vec![addr.into()],
            ..Spec::default()
        },
        None,
    )
}

fn run(args: &[&str]) -> Output {
    common::bin().args(args).output().expect("run portwatch")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A filter for the test's own ports.
fn ports(ps: &[u16]) -> String {
    ps.iter()
        .map(|p| format!("sport = :{p}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn snapshot(path: &Path, filter: &str) {
    let o = run(&["snapshot", "-ltp", "-o", path.to_str().unwrap(), filter]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "-o FILE writes nothing to stdout");
}

#[test]
fn a_restarted_listener_is_no_difference_and_a_new_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let a = listener("pwdiff-a", "127.0.0.1:0");
    let p = a.ports[0];
    // A second port, free now, that a new listener takes later.
    let q = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let filter = ports(&[p, q]);
    snapshot(&base, &filter);
    let doc: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    assert_eq!(doc["kind"], "portwatch-snapshot");
    assert_eq!(doc["sockets"].as_array().unwrap().len(), 1);
    assert_eq!(doc["sockets"][0]["owners"][0]["pid"], Value::from(a.pid()));

    // The baseline's own selection is read again: no flags needed.
    let same = run(&["diff", base.to_str().unwrap()]);
    assert_eq!(code(&same), 0, "{}{}", stdout(&same), stderr(&same));
    assert!(stdout(&same).is_empty());

    // Restart: another process, same program name and port.
    let old_pid = a.pid();
    drop(a);
    let a = listener("pwdiff-a", &format!("127.0.0.1:{p}"));
    assert_ne!(a.pid(), old_pid);
    let restarted = run(&["diff", base.to_str().unwrap()]);
    assert_eq!(
        code(&restarted),
        0,
        "{}{}",
        stdout(&restarted),
        stderr(&restarted)
    );

    // A new listener is a difference.
    let b = listener("pwdiff-b", &format!("127.0.0.1:{q}"));
    let new = run(&["diff", base.to_str().unwrap()]);
    assert_eq!(code(&new), 1, "{}", stderr(&new));
    let out = stdout(&new);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with(&format!("--- {}", base.display())),
        "{out}"
    );
    assert!(lines[1].starts_with("+++ now"), "{out}");
    assert!(
        lines[2].starts_with(&format!("+ tcp LISTEN 127.0.0.1:{q}")),
        "{out}"
    );
    assert!(lines[2].contains("pwdiff-b"), "{out}");

    // --json: a document saying the same.
    let j = run(&["diff", base.to_str().unwrap(), "--json"]);
    assert_eq!(code(&j), 1);
    let doc: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(doc["summary"]["added"], 1);
    assert_eq!(doc["differences"][0]["local"]["port"], q);
    assert_eq!(doc["differences"][0]["program"][0], "pwdiff-b");

    // Expected churn left out: no difference.
    let ignored = run(&[
        "diff",
        base.to_str().unwrap(),
        "--ignore",
        &format!("sport = :{q}"),
    ]);
    assert_eq!(code(&ignored), 0, "{}", stdout(&ignored));

    // Two documents: the baseline and a snapshot now, as OLD NEW.
    let now = dir.path().join("now.json");
    snapshot(&now, &filter);
    let two = run(&["diff", base.to_str().unwrap(), now.to_str().unwrap()]);
    assert_eq!(code(&two), 1);
    assert!(stdout(&two).contains(&format!("+++ {}", now.display())));
    let back = run(&["diff", now.to_str().unwrap(), base.to_str().unwrap()]);
    assert!(
        stdout(&back).contains(&format!("- tcp LISTEN 127.0.0.1:{q}")),
        "{}",
        stdout(&back)
    );
    drop((a, b));
}

/// A filter alone narrows the baseline's selection, and flags that choose no sockets (-p,
/// -n) keep it: a listener gone since the baseline is reported either way. A NEW taken with
/// fewer tables than the host read is said in a warning (what it did not look for shows as
/// removed).
#[test]
fn a_filter_or_p_keeps_the_baselines_selection() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let a = listener("pwdiff-n", "127.0.0.1:0");
    let p = a.ports[0];
    snapshot(&base, &ports(&[p]));
    drop(a);
    let gone = format!("- tcp LISTEN 127.0.0.1:{p}");
    let sport = format!(":{p}");
    let b = base.to_str().unwrap();
    for extra in [&[][..], &["-p"], &["-n"], &["sport", "=", sport.as_str()]] {
        let o = run(&[&["diff", b][..], extra].concat());
        assert_eq!(code(&o), 1, "{extra:?}: {}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains(&gone), "{extra:?}: {}", stdout(&o));
        assert!(!stderr(&o).contains("show as"), "{extra:?}: {}", stderr(&o));
    }

    // A filter naming states replaces the baseline's -l, as in ss: the wider read is warned.
    let o = run(&["diff", b, "state", "established"]);
    assert!(stderr(&o).contains("show as added"), "{}", stderr(&o));

    // NEW taken like the baseline (after the listener went), both narrowed by the same
    // filter: the difference and nothing to warn about.
    let new = dir.path().join("new.json");
    snapshot(&new, &ports(&[p]));
    let o = run(&[
        &["diff", b, new.to_str().unwrap()][..],
        &["sport", "=", sport.as_str()],
    ]
    .concat());
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains(&gone), "{}", stdout(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // NEW snapshot of TCP listeners only, against a host read of TCP and UDP: warned.
    let o = run(&["diff", b, new.to_str().unwrap(), "-ltu", &ports(&[p])]);
    assert!(
        stderr(&o).contains("NEW was taken with") && stderr(&o).contains("show as removed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn trouble_is_exit_2_with_the_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    snapshot(&base, "sport = :1");
    let text = std::fs::read_to_string(&base).unwrap();
    let b = base.to_str().unwrap();

    let missing = run(&["diff", &format!("{b}.nope")]);
    assert_eq!(code(&missing), 2);
    assert!(
        stderr(&missing).contains("cannot read"),
        "{}",
        stderr(&missing)
    );

    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let o = run(&["diff", cut.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("cut.json:1: not a portwatch document"),
        "{err}"
    );

    let future = dir.path().join("future.json");
    std::fs::write(&future, text.replacen("\"schema\":1", "\"schema\":2", 1)).unwrap();
    let o = run(&["diff", future.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("schema 2 is newer than this portwatch reads (1)"),
        "{}",
        stderr(&o)
    );

    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    assert_eq!(
        code(&run(&["diff", empty.to_str().unwrap()])),
        2,
        "never an empty baseline"
    );

    // A listing saved with --json says nothing of its flags: they must be given.
    let listing = dir.path().join("listing.json");
    std::fs::write(&listing, run(&["-lt", "--json", "sport", "=", ":1"]).stdout).unwrap();
    let o = run(&["diff", listing.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("give the listing flags"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        code(&run(&[
            "diff",
            listing.to_str().unwrap(),
            "-lt",
            "sport",
            "=",
            ":1"
        ])),
        0
    );

    for bad in [
        &[b, "-4", "-6"][..],
        &[b, "sport", "="],
        &[b, "--ignore", "dport ="],
    ] {
        let mut args = vec!["diff"];
        args.extend_from_slice(bad);
        assert_eq!(code(&run(&args)), 2, "{bad:?}");
    }
}

#[test]
fn a_snapshot_goes_to_stdout_by_default_and_with_dash() {
    for args in [
        &["snapshot", "-lt", "sport", "=", ":1"][..],
        &["snapshot", "-lt", "-o", "-", "sport", "=", ":1"],
    ] {
        let o = run(args);
        assert_eq!(code(&o), 0);
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["selection"]["filter"], "sport = :1");
        assert_eq!(
            doc["selection"]["args"],
            serde_json::json!(["--listening", "--tcp"])
        );
    }
}

#[test]
fn a_failed_write_leaves_the_old_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let old = b"{\"schema\":1,\"kind\":\"portwatch-snapshot\",\"sockets\":[]}\n";
    if is_root() {
        // Root writes anywhere it has a filesystem to write to: give it a full one. A tiny
        // tmpfs in a mount namespace of its own holds the old baseline and a filler.
        if !require(
            std::process::Command::new("unshare")
                .arg("--version")
                .output()
                .is_ok(),
            "unshare (util-linux) is missing",
        ) {
            return;
        }
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let src = dir.path().join("old.json");
        std::fs::write(&src, old).unwrap();
        let bin = env!("CARGO_BIN_EXE_portwatch");
        let script = format!(
            "set -e; mount -t tmpfs -o size=64k tmpfs {m}; cp {s} {m}/base.json; \
             dd if=/dev/zero of={m}/filler bs=4k 2>/dev/null || true; \
             if {bin} snapshot -a -o {m}/base.json; then echo WROTE; else echo FAILED $?; fi; \
             cmp {s} {m}/base.json && echo KEPT; ls {m}",
            m = mnt.display(),
            s = src.display(),
        );
        let o = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .output()
            .unwrap();
        let out = stdout(&o);
        assert!(out.contains("FAILED 1"), "{out}{}", stderr(&o));
        assert!(out.contains("KEPT"), "the old baseline is intact: {out}");
        assert!(!out.contains(".tmp."), "no temp file left: {out}");
        assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    } else {
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        let base = ro.join("base.json");
        std::fs::write(&base, old).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let o = run(&["snapshot", "-lt", "-o", base.to_str().unwrap()]);
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert_eq!(std::fs::read(&base).unwrap(), old);
    }
}
