//! `--owners bpf|proc|auto` through the binary: both methods list the same owners for the
//! test's own sockets and JSON says which ran; auto falls back to /proc silently (the reason
//! only with PORTWATCH_DEBUG=1) when BPF would not pay or cannot load; `--owners bpf` where
//! it cannot run is an error with the reason. A host where BPF pays, and one without BTF, are
//! made in a private mount namespace (a bind-mounted /proc/sys/fs/file-nr, a tmpfs over
//! /sys/kernel/btf): the real code paths, no test hooks. Needs root (fails under CI=true).

mod common;
#[path = "common/procs.rs"]
mod procs;

use common::{by_local_port, owner_pids};
use serde_json::Value;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::process::{Command, Output};

/// PORTWATCH_DEBUG=1 when `debug`, else unset.
fn debug_env(cmd: &mut Command, debug: bool) -> &mut Command {
    if debug {
        cmd.env("PORTWATCH_DEBUG", "1")
    } else {
        cmd.env_remove("PORTWATCH_DEBUG")
    }
}

fn run(args: &[&str], debug: bool) -> Output {
    let mut cmd = common::bin();
    cmd.args(args);
    debug_env(&mut cmd, debug).output().expect("run portwatch")
}

fn doc(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The (pid, fd) owners of the listener on `port`, and the document's method.
fn owners_and_method(d: &Value, port: u16) -> (Vec<(u64, u64)>, Value) {
    let rows = by_local_port(d, "tcp", port);
    assert_eq!(rows.len(), 1, "{d}");
    (owner_pids(rows[0]), d["owner_method"].clone())
}

/// Run portwatch in a private mount namespace where /proc/sys/fs/file-nr says the host has
/// `files` open files and, unless `btf`, /sys/kernel/btf is empty.
fn run_staged(files: u64, btf: bool, args: &[&str], debug: bool) -> Output {
    run_staged_env(files, btf, args, debug, &[])
}

/// `run_staged` with `env` set for portwatch.
fn run_staged_env(
    files: u64,
    btf: bool,
    args: &[&str],
    debug: bool,
    env: &[(&str, &std::ffi::OsStr)],
) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("file-nr");
    std::fs::write(&fake, format!("{files}\t0\t9999999\n")).expect("fake file-nr");
    let hide_btf = if btf {
        ""
    } else {
        "mount -t tmpfs none /sys/kernel/btf && "
    };
    let script =
        format!("mount --bind \"$1\" /proc/sys/fs/file-nr && {hide_btf}shift && exec \"$@\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(script)
        .arg("sh")
        .arg(&fake)
        .arg(env!("CARGO_BIN_EXE_portwatch"))
        .args(args)
        .envs(env.iter().copied());
    debug_env(&mut cmd, debug)
        .output()
        .expect("unshare (util-linux) is required by the owner method tests")
}

fn root() -> bool {
    procs::require(procs::is_root(), "the owner method tests need root")
}

/// A loopback listener of this process, and its port.
fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

#[test]
fn bpf_and_proc_list_the_same_owners() {
    if !root() {
        return;
    }
    let (l, port) = listener();
    let child = common::spawn_holding(l.as_raw_fd());
    let me = u64::from(std::process::id());
    let fd = u64::try_from(l.as_raw_fd()).unwrap_or(u64::MAX);
    let mut want = vec![(me, fd), (u64::from(child.0.id()), fd)];
    want.sort_unstable();
    // The child holds the fd from fork on; wait until it runs `sleep` (its own comm).
    for _ in 0..300 {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", child.0.id()));
        if comm.is_ok_and(|c| c.trim() == "sleep") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let port_filter = format!(":{port}");
    for (method, name) in [("bpf", "bpf"), ("proc", "proc")] {
        let args = ["--owners", method, "-ltnp", "--all-owners", "--json"];
        let args = [&args[..], &["sport", "=", &port_filter]].concat();
        let out = run(&args, false);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{method}");
        let d = doc(&out);
        assert_eq!(
            owners_and_method(&d, port),
            (want.clone(), Value::from(name))
        );
        assert_eq!(d["owner_scan"], "all-processes");
    }
    // Without -p nothing is scanned, by either method.
    let d = doc(&run(&["--owners", "bpf", "-ltn", "--json"], false));
    assert_eq!(
        (&d["owner_scan"], &d["owner_method"]),
        (&Value::Null, &Value::Null)
    );
}

#[test]
fn auto_is_silent_and_debug_says_how() {
    if !root() {
        return;
    }
    let (_l, port) = listener();
    let filter = format!(":{port}");
    let args = ["-ltnp", "--json", "sport", "=", &filter];
    let me = u64::from(std::process::id());

    // Many open files: auto uses BPF.
    let out = run_staged(10_000_000, true, &args, false);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let (owners, method) = owners_and_method(&doc(&out), port);
    assert_eq!(method, "bpf");
    assert!(owners.iter().any(|o| o.0 == me), "{owners:?}");
    let bpf_owners = owners;

    // Few: /proc, with the same owners, and the reason only with the debug switch.
    let out = run_staged(100, true, &args, false);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(
        owners_and_method(&doc(&out), port),
        (bpf_owners.clone(), Value::from("proc"))
    );
    let out = run_staged(100, true, &args, true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("portwatch: debug: owners read by proc: fewer than"),
        "{stderr}"
    );

    // Many open files but no BTF: the load fails, auto reads /proc without a word...
    let out = run_staged(10_000_000, false, &args, false);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(
        owners_and_method(&doc(&out), port),
        (bpf_owners, Value::from("proc"))
    );
    // ...but for the debug switch, which says why.
    let out = run_staged(10_000_000, false, &["-ltnp", "sport", "=", &filter], true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "owners read by proc: BPF owner scan unavailable: the kernel has no usable BTF"
        ),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0));

    // Asked for by name, the same failure is an error naming the reason.
    let out = run_staged(100, false, &["--owners", "bpf", "-ltnp"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("portwatch: --owners bpf: the BPF owner scan is unavailable: the kernel has no usable BTF"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bpf_by_name_needs_privilege_and_the_live_kernel() {
    let out = run(
        &[
            "--owners",
            "bpf",
            "--proc-root",
            &common::fixture("proc-basic"),
            "-ltnp",
        ],
        false,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--owners bpf reads the live kernel"),
        "{stderr}"
    );

    if !root() {
        return;
    }
    let Some((uid, gid)) = procs::user_ids("portwatch-test") else {
        procs::require(false, "user portwatch-test is missing (.ci/run creates it)");
        return;
    };
    let mut keep = Vec::new();
    let bin = common::runnable(
        std::path::Path::new(env!("CARGO_BIN_EXE_portwatch")),
        &mut keep,
    );
    let as_user = |args: &[&str]| {
        let mut cmd = Command::new(&bin);
        std::os::unix::process::CommandExt::uid(&mut cmd, uid);
        std::os::unix::process::CommandExt::gid(&mut cmd, gid);
        cmd.args(args).env_remove("PORTWATCH_DEBUG");
        cmd.output().expect("run portwatch as portwatch-test")
    };
    let out = as_user(&["--owners", "bpf", "-ltnp"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(
            "portwatch: --owners bpf (loading a BPF program): permission denied; run as root"
        ),
        "{stderr}"
    );
    // Auto, even where BPF would pay, falls back without a word of its own.
    let out = as_user(&["-ltnp", "--json"]);
    let d = doc(&out);
    assert_eq!(d["owner_method"], "proc", "{d}");
}

/// The BPF layout kept between runs (PORTWATCH_CACHE_DIR, /run/portwatch by default): made by
/// the first run, used or replaced by the next; a garbled file or one for another kernel is
/// read again from the BTF and replaced whole, and the owners are the same every time.
#[test]
fn the_kept_layout_is_made_replaced_when_wrong_and_never_changes_owners() {
    if !root() {
        return;
    }
    let (l, port) = listener();
    let fd = u64::try_from(l.as_raw_fd()).unwrap_or(u64::MAX);
    let want = (
        vec![(u64::from(std::process::id()), fd)],
        Value::from("bpf"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("portwatch");
    let file = cache.join("btf-layout");
    let owners_with = |cache_dir: &std::path::Path| {
        let mut cmd = common::bin();
        cmd.args(["--owners", "bpf", "-ltnp", "--json"])
            .env("PORTWATCH_CACHE_DIR", cache_dir);
        let out = debug_env(&mut cmd, false).output().expect("run portwatch");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        owners_and_method(&doc(&out), port)
    };

    // Turned off (empty): the same owners, read from the BTF.
    assert_eq!(owners_with(std::path::Path::new("")), want);
    assert_eq!(owners_with(&cache), want, "made by the first run");
    let kept = std::fs::read_to_string(&file).expect("the layout is kept");
    assert!(kept.starts_with("portwatch btf-layout 1\nkey "), "{kept}");
    let mode = std::fs::metadata(&cache).expect("dir").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
    assert_eq!(owners_with(&cache), want, "read from the file");
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), kept);

    let key_line = kept.lines().nth(1).expect("a key line").to_string();
    let garbled = [
        kept[..kept.len() / 2].to_string(),
        kept.replace(&key_line, "key another-kernel 1 2 0.1.0"),
        "not a layout\n".to_string(),
    ];
    for text in garbled {
        std::fs::write(&file, &text).expect("garble the file");
        assert_eq!(owners_with(&cache), want, "with {text:?} in the file");
        assert_eq!(
            std::fs::read_to_string(&file).expect("kept"),
            kept,
            "replaced by the layout read from the BTF"
        );
    }
    drop(l);
}

/// With the layout kept by an earlier run, loading BPF is the verifier's part alone and auto
/// uses it from 500 open files (`PAYS_FROM_OPEN_FILES_KEPT`); without one, from 2,000.
#[test]
fn a_kept_layout_makes_bpf_pay_on_a_smaller_host() {
    if !root() {
        return;
    }
    let (_l, port) = listener();
    let filter = format!(":{port}");
    let args = ["-ltnp", "--json", "sport", "=", &filter];
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("portwatch");
    let method_with = |cache: &std::path::Path| {
        let env = [("PORTWATCH_CACHE_DIR", cache.as_os_str())];
        let out = run_staged_env(1_000, true, &args, false, &env);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        owners_and_method(&doc(&out), port).1
    };
    assert_eq!(method_with(std::path::Path::new("")), "proc", "none kept");
    assert_eq!(
        method_with(&cache),
        "proc",
        "none kept yet: this run reads /proc"
    );
    assert!(
        !cache.join("btf-layout").exists(),
        "a /proc run finds no layout"
    );
    // A BPF run keeps it; auto then takes BPF at the same size.
    let env = [("PORTWATCH_CACHE_DIR", cache.as_os_str())];
    let out = run_staged_env(1_000, true, &["--owners", "bpf", "-ltnp"], false, &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cache.join("btf-layout").exists());
    assert_eq!(method_with(&cache), "bpf", "the layout is kept");
    let env = [("PORTWATCH_CACHE_DIR", cache.as_os_str())];
    let out = run_staged_env(100, true, &args, true, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("owners read by proc: fewer than 500 open files"),
        "{stderr}"
    );
}

/// Which BPF program auto loads follows the host's size, and PORTWATCH_DEBUG names it: the
/// per-task program on a host just big enough for BPF, the chunked one (fd slots 8 at a
/// time) from 20,000 open files, and for a one-port query there the listeners' own program.
/// Each gives this process as the listener's owner.
#[test]
fn the_debug_line_names_the_program_the_host_size_chooses() {
    if !root() {
        return;
    }
    let (_l, port) = listener();
    let filter = format!(":{port}");
    let me = u64::from(std::process::id());
    // No kept layout: the thresholds are the cold ones (2,000 open files for BPF).
    let env = [("PORTWATCH_CACHE_DIR", std::ffi::OsStr::new(""))];
    let program = |files: u64, args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = run_staged_env(files, true, &all, true, &env);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let (owners, method) = owners_and_method(&doc(&out), port);
        assert_eq!(method, "bpf", "{stderr}");
        assert!(owners.iter().any(|o| o.0 == me), "{owners:?}");
        let line = stderr
            .lines()
            .find_map(|l| l.strip_prefix("portwatch: debug: owners read by bpf: "))
            .unwrap_or_else(|| panic!("no debug line for bpf: {stderr}"));
        line.to_string()
    };
    // -antp reads every process during the dump: never the one-port shortcut.
    assert_eq!(program(2_500, &["-antp"]), "the per-task program");
    assert_eq!(
        program(25_000, &["-antp"]),
        "the per-task program reading fd slots 8 at a time"
    );
    let one_port = ["-ltnp", "sport", "=", filter.as_str()];
    assert_eq!(program(2_500, &one_port), "the per-task program");
    assert_eq!(
        program(25_000, &one_port),
        "the one-port program (the listeners' own files)"
    );
}

/// A process with more sockets than one kernel write of the per-task program holds (~4,000)
/// is read again by the per-file program, and PORTWATCH_DEBUG says so.
#[test]
fn the_debug_line_says_when_a_big_process_is_read_again() {
    if !root() {
        return;
    }
    common::allow_open_files(16_384);
    let pairs: Vec<_> = (0..2_100)
        .map(|_| std::os::unix::net::UnixStream::pair().expect("socketpair"))
        .collect();
    let env = [("PORTWATCH_CACHE_DIR", std::ffi::OsStr::new(""))];
    let out = run_staged_env(25_000, true, &["-axp"], true, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("portwatch: debug: owners read by bpf: "))
        .unwrap_or_else(|| panic!("no debug line for bpf: {stderr}"));
    assert_eq!(
        line,
        "the per-task program reading fd slots 8 at a time, and the per-file program for 1 \
         process with more sockets than one read holds"
    );
    let me = format!("pid={},", std::process::id());
    let held = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&me))
        .count();
    assert_eq!(held, 4_200, "every socket of this process has it as owner");
    drop(pairs);
}
