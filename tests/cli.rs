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
    // Each command's help, by --help after it and by `help` before it (--help lists `help`).
    for args in [&["watch", "--help"][..], &["help", "watch"]] {
        let out = bin().args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("--interval") && text.contains("--processes"),
            "{args:?}: {text}"
        );
    }
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

#[test]
fn table_is_fitted_on_a_tty_and_never_cut_in_a_pipe() {
    // `script` (util-linux) gives the binary a pseudo-terminal.
    let cmd = format!(
        "COLUMNS=90 '{}' -ap --proc-root '{}'",
        env!("CARGO_BIN_EXE_portwatch"),
        fixture()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux) runs the binary on a pty");
    assert!(out.status.success());
    let tty = String::from_utf8(out.stdout).unwrap();
    assert!(tty.contains('…'), "{tty}");
    for line in tty.lines() {
        let w = line.trim_end_matches('\r').chars().count();
        assert!(w <= 90, "{w} columns: {line}");
    }
    let piped = bin()
        .args(["-ap", "--proc-root", &fixture()])
        .env("COLUMNS", "70")
        .output()
        .unwrap();
    let piped = String::from_utf8(piped.stdout).unwrap();
    assert!(!piped.contains('…'));
    assert!(piped.contains("postgres(pid=1200,fd=5),postgres(pid=1201,fd=5)"));
}

/// A proc tree whose tcp table has `n` listeners: output far larger than the 64 KiB stdout
/// buffer, so the pipe closes in the middle of writing, not at the final flush.
fn big_fixture(n: usize) -> tempfile::TempDir {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("net")).unwrap();
    let mut t = String::from(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    );
    for i in 0..n {
        let _ = writeln!(
            t,
            "{i:4}: 0100007F:{:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {} 1 0000000052e6b438 100 0 0 10 0",
            1024 + i,
            100_000 + i
        );
    }
    std::fs::write(dir.path().join("net/tcp"), t).unwrap();
    dir
}

#[test]
fn pipe_closed_mid_output_exits_0_quietly_in_every_format() {
    let tree = big_fixture(3000);
    let root = tree.path().to_str().unwrap();
    for fmt in ["", "--json", "--csv"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{}' -lt {fmt} --proc-root '{root}' | head -c 10 >/dev/null; exit \"${{PIPESTATUS[0]}}\"",
                env!("CARGO_BIN_EXE_portwatch"),
            ))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{fmt:?}: {err}");
        assert_eq!(err, "", "{fmt:?}");
    }
}

#[test]
fn dev_full_is_an_error_in_every_format() {
    let tree = big_fixture(3000);
    for fmt in [&[][..], &["--json"], &["--csv"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = bin()
            .args(["-lt", "--proc-root", tree.path().to_str().unwrap()])
            .args(fmt)
            .stdout(full)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{fmt:?}: {err}");
        assert!(err.contains("No space left"), "{fmt:?}: {err}");
        assert!(!err.contains("panicked"), "{fmt:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{fmt:?}: one message: {err}");
    }
}

#[test]
fn unreadable_default_labels_only_cost_their_names() {
    // A directory cannot be read as a file, even by root: an unreadable labels file.
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["-lt", "--proc-root", &fixture()])
        .env("PORTWATCH_LABELS", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("labels not used"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0.0.0.0:22"));

    let named = bin()
        .args(["-lt", "--proc-root", &fixture(), "--labels"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_ne!(
        named.status.code(),
        Some(0),
        "a named labels file must be readable"
    );
    assert!(named.stdout.is_empty());
}
