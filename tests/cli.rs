//! The binary's contract with its caller: exit codes, usage errors, pipes and closed outputs.

use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portwatch"))
}

fn fixture() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/proc-basic").to_string()
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for args in [
        &["--bogus"][..],
        &["-4", "-6"],
        &["-x", "-4"],
        &["--json", "--csv"],
        &["--backend", "nope"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.trim().is_empty(), "{args:?}: no message");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_and_version_exit_0() {
    let out = bin().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--processes") && text.contains("FILTER"),
        "{text}"
    );
    let out = bin().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn closed_pipe_exits_0_quietly() {
    // The read end is closed before the child writes, so its first write gets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = bin()
        .args(["-a", "--proc-root", &fixture()])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn head_dash_1_exits_0_quietly() {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' -a --proc-root '{}' | head -1 >/dev/null; exit \"${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_portwatch"),
            fixture()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn dev_full_is_an_error_not_a_panic() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = bin()
        .args(["-a", "--proc-root", &fixture()])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No space left"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn closed_stdout_does_not_panic() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' -a --proc-root '{}' >&-",
            env!("CARGO_BIN_EXE_portwatch"),
            fixture()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{:?}",
        out.status
    );
}
