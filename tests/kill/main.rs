//! `portwatch kill` against real processes on loopback (issue #14): TERM then KILL, clients
//! spared, fork-shared listeners, no signal without consent (a real terminal drives the
//! question), a target that exits before the answer (its pid reused by another listener),
//! another user's port, a supervisor that restarts the listener, hostile names, bad flags.
//! Every process started here is stopped by pid (its process group) when the test ends, also
//! when it fails. Needs root for the privilege and pid-reuse tests; under CI=true a missing
//! prerequisite fails.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/procs.rs"]
mod procs;
mod term;

use portwatch::platform::process as handle;
use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

const HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kill/helper.py");
const WAIT: Duration = Duration::from_secs(20);

/// A helper process (tests/kill/helper.py) and the processes it starts, all in its process
/// group: killed by that id and reaped however the test ends.
struct Py {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    reaped: bool,
}

impl Py {
    fn start(args: &[&OsStr]) -> Py {
        let mut child = Command::new("python3")
            .arg(HELPER)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("python3 runs the kill tests' helpers: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let lines = common::lines_of(stdout);
        Py {
            child,
            stdin,
            lines,
            reaped: false,
        }
    }

    /// The numbers of the next READY line.
    fn ready(&self) -> Vec<u32> {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .expect("the helper never said READY");
        line.strip_prefix("READY ")
            .unwrap_or_else(|| panic!("not a READY line: {line}"))
            .split_whitespace()
            .map(|n| n.parse().expect("a number"))
            .collect()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the helper (our child) is still running.
    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Let it exit (stdin closed) and reap it: its pid is free for others from then on.
    fn end(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        self.reaped = true;
    }

    /// How it ended: `Some(signal)` when a signal ended it (waits for it).
    fn signal_that_ended_it(&mut self) -> Option<i32> {
        let st = self.child.wait().expect("wait");
        self.reaped = true;
        st.signal()
    }
}

impl Drop for Py {
    fn drop(&mut self) {
        if !self.reaped {
            let pgid = libc::pid_t::try_from(self.child.id()).unwrap_or(0);
            // SAFETY: killpg takes two integers. The group's leader is our unreaped child,
            // so the id cannot name anyone else's group.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// A listener on a free loopback port: (helper, port).
fn listener(extra: &[&str]) -> (Py, u16) {
    let mut args = vec![os("listen")];
    args.extend(extra.iter().map(|a| os(a)));
    let py = Py::start(&args);
    let r = py.ready();
    let port = u16::try_from(r[0]).expect("port");
    assert_eq!(r[1], py.pid());
    (py, port)
}

fn run(args: &[&str]) -> Output {
    common::bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run portwatch")
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn doc(o: &Output) -> Value {
    let d: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("JSON ({e}): {}\n{}", stdout(o), stderr(o)));
    assert_eq!(d["schema"], 1);
    d
}

fn pids_of(d: &Value) -> Vec<u64> {
    let mut v: Vec<u64> = d["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| p["pid"].as_u64().expect("pid"))
        .collect();
    v.sort();
    v
}

/// Nothing listens on the port: binding it works.
fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A loopback port nothing uses now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn term_then_kill_after_the_timeout_and_the_port_is_free() {
    let (mut l, port) = listener(&["--ignore-term"]);
    let p = port.to_string();
    // Options after the port, as after any filter.
    let out = run(&["kill", &p, "-y", "--timeout", "300ms", "--json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let d = doc(&out);
    assert_eq!(pids_of(&d), [u64::from(l.pid())]);
    let o = &d["processes"][0]["outcome"];
    assert_eq!(o["result"], "exited", "{d:#}");
    assert_eq!(o["signals"], serde_json::json!(["SIGTERM", "SIGKILL"]));
    assert_eq!(d["after"]["free"], true);
    assert_eq!(d["exit_status"], 0);
    assert_eq!(l.signal_that_ended_it(), Some(libc::SIGKILL));
    assert!(port_is_free(port));
}

#[test]
fn term_is_enough_for_a_listener_that_honours_it() {
    let (mut l, port) = listener(&[]);
    let out = run(&["kill", "-y", &format!(":{port}"), "--timeout", "500ms"]);
    let text = stdout(&out);
    assert_eq!(code(&out), Some(0), "{text}{}", stderr(&out));
    let pid = l.pid();
    assert!(
        text.contains(&format!("pid {pid} python3, user root")),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {pid} python3: exited after SIGTERM\n")),
        "{text}"
    );
    assert!(text.ends_with(&format!("Port {port} is free.\n")), "{text}");
    assert_eq!(l.signal_that_ended_it(), Some(libc::SIGTERM));
}

#[test]
fn one_signal_only_with_signal() {
    let (mut l, port) = listener(&["--ignore-term"]);
    let p = port.to_string();
    let out = run(&[
        "kill",
        &p,
        "-y",
        "--signal",
        "term",
        "--timeout",
        "200ms",
        "--json",
    ]);
    assert_eq!(code(&out), Some(3), "it survived: {}", stderr(&out));
    let d = doc(&out);
    let o = &d["processes"][0]["outcome"];
    assert_eq!(o["result"], "survived");
    assert_eq!(o["signals"], serde_json::json!(["SIGTERM"]), "no SIGKILL");
    assert_eq!(d["after"]["free"], false);
    assert_eq!(d["after"]["holders"][0]["pid"], l.pid());
    assert_eq!(d["after"]["holders"][0]["target"], true);
    assert!(l.running());
}

#[test]
fn a_client_of_the_port_is_never_signalled() {
    let (mut l, port) = listener(&[]);
    let p = port.to_string();
    let mut c = Py::start(&[os("connect"), os("--port"), os(&p)]);
    c.ready();
    let out = run(&["kill", &p, "-y", "--timeout", "500ms", "--json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        pids_of(&doc(&out)),
        [u64::from(l.pid())],
        "the listener only"
    );
    assert_eq!(l.signal_that_ended_it(), Some(libc::SIGTERM));
    assert!(c.running(), "the client was signalled");
}

#[test]
fn both_holders_of_a_fork_shared_listener_are_targets() {
    let py = Py::start(&[os("listen"), os("--fork")]);
    let r = py.ready();
    let (port, parent, child) = (r[0], r[1], r[2]);
    let watch = handle::open(child).expect("pidfd of the forked child");
    let out = run(&[
        "kill",
        &port.to_string(),
        "-y",
        "--timeout",
        "500ms",
        "--json",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let d = doc(&out);
    let mut want = vec![u64::from(parent), u64::from(child)];
    want.sort();
    assert_eq!(pids_of(&d), want);
    for p in d["processes"].as_array().unwrap() {
        assert_eq!(p["outcome"]["result"], "exited", "{p:#}");
        assert_eq!(
            p["sockets"][0]["fd"],
            p["sockets"][0]["socket"]["owners"][0]["fd"]
        );
    }
    assert!(watch.exited());
    drop(py);
}

#[test]
fn a_dry_run_signals_nothing() {
    let (mut l, port) = listener(&[]);
    let out = run(&["kill", "--dry-run", &port.to_string()]);
    let text = stdout(&out);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(text.contains(&format!("pid {} python3", l.pid())), "{text}");
    assert!(
        text.contains("helper.py listen"),
        "the command line: {text}"
    );
    assert!(
        text.ends_with("Dry run: nothing was signalled.\n"),
        "{text}"
    );
    let out = run(&["kill", "--dry-run", "--json", &port.to_string()]);
    assert_eq!(code(&out), Some(0));
    let d = doc(&out);
    assert_eq!(d["dry_run"], true);
    assert_eq!(d["after"], Value::Null);
    assert_eq!(d["processes"][0]["outcome"], Value::Null);
    assert!(l.running());
}

#[test]
fn without_a_terminal_or_yes_nothing_is_signalled() {
    let (mut l, port) = listener(&[]);
    let p = port.to_string();
    let out = run(&["kill", &p]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stdout(&out).contains(&format!("pid {}", l.pid())),
        "the plan is shown"
    );
    let e = stderr(&out);
    assert!(
        e.contains("nothing was signalled") && e.contains("--yes"),
        "{e}"
    );
    let out = run(&["kill", &p, "--json"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("--json does not ask"),
        "{}",
        stderr(&out)
    );
    assert!(l.running());
}

#[test]
fn nothing_matched_is_status_1() {
    let port = free_port();
    let out = run(&["kill", "-y", &port.to_string()]);
    assert_eq!(code(&out), Some(1));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains(&format!("no listening socket on port {port} (tcp, udp)")),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = run(&["kill", "-y", "--json", &port.to_string()]);
    assert_eq!(code(&out), Some(1));
    let d = doc(&out);
    assert_eq!(d["processes"], serde_json::json!([]));
    assert_eq!(d["exit_status"], 1);

    // A filter selects connected sockets unless told otherwise, as the listing: the
    // listener it missed is named on stderr, and left alone.
    let (mut l, port) = listener(&[]);
    let out = run(&["kill", "-y", "-t", "sport", "=", &format!(":{port}")]);
    assert_eq!(code(&out), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains(&format!("no socket matches filter 'sport = :{port}'")),
        "{e}"
    );
    assert!(e.contains("1 listening socket does: add -l or -a"), "{e}");
    assert!(l.running());
}

#[test]
fn bad_flags_and_timeouts_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["kill", "--timeout", "5x", "3000"],
            "--timeout: '5x' is not a duration",
        ),
        (&["kill", "--timeout", "-1s", "3000"], ""),
        (
            &["kill", "--signal", "NOPE", "3000"],
            "unknown signal 'NOPE'",
        ),
        (&["kill", "--signal", "0", "3000"], "sends nothing"),
        (&["kill", "0"], "port 0"),
        (&["kill", "65536"], "'65536' is not a port"),
        (&["kill", "3000", "3001"], "one PORT"),
        (&["kill", "-a", "3000"], "listeners only"),
        (&["kill"], "which sockets?"),
        (&["kill", "sport", "="], "^"),
        (&["kill", "--bogus", "3000"], "--bogus"),
        (&["kill", "--json", "3000"], "--json does not ask"),
    ];
    for (args, want) in cases {
        let out = run(args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

#[test]
fn hostile_names_are_escaped_in_the_plan_and_exact_in_json() {
    let comm: &[u8] = b"\x1b[2Jx\n\xff\xe2\x80\xae";
    let hex: String = comm.iter().map(|b| format!("{b:02x}")).collect();
    let arg: &[u8] = b"--tag=\x1b]0;owned\x07\n\xfe";
    let py = Py::start(&[
        os("listen"),
        os("--comm"),
        os(&hex),
        os("--tag"),
        OsStr::from_bytes(arg),
    ]);
    let port = py.ready()[0].to_string();
    let out = run(&["kill", "--dry-run", &port]);
    let text = stdout(&out);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        !text
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{text:?}"
    );
    assert!(
        text.contains(&format!(
            "pid {} \\e[2Jx\\n\\xff\\u{{202e}}, user root",
            py.pid()
        )),
        "{text}"
    );
    assert!(text.contains("--tag=\\e]0;owned\\x07\\n\\xfe"), "{text}");
    let out = run(&["kill", "--dry-run", "--json", &port]);
    let d = doc(&out);
    let p = &d["processes"][0];
    assert_eq!(p["comm"], String::from_utf8_lossy(comm).as_ref());
    assert_eq!(p["comm_hex"], hex);
    let args = p["cmdline"].as_array().expect("cmdline");
    assert_eq!(
        args.last().unwrap(),
        &Value::from(String::from_utf8_lossy(arg))
    );
    let arg_hex: String = arg.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        p["cmdline_hex"].as_array().unwrap().last().unwrap(),
        &Value::from(arg_hex)
    );
}

/// A systemd service, as its cgroup names it: the plan says so and how to stop it for good.
/// (Made with a cgroup of that name in the unified hierarchy: no systemd runs here.)
#[test]
fn a_holder_in_a_service_cgroup_gets_the_systemctl_hint() {
    if !procs::require(procs::is_root(), "the cgroup test needs root") {
        return;
    }
    let (l, port) = listener(&[]);
    let Some(cg) = term::Cgroup::new(&format!("pw-kill-test-{}.service", l.pid())) else {
        assert!(procs::require(false, "no writable cgroup2 hierarchy"));
        return;
    };
    cg.add(l.pid());
    let out = run(&["kill", "--dry-run", "--json", &port.to_string()]);
    let d = doc(&out);
    let s = &d["processes"][0]["supervisor"];
    let unit = format!("pw-kill-test-{}.service", l.pid());
    assert_eq!(s["unit"]["name"], unit.as_str(), "{d:#}");
    assert_eq!(s["stop"], format!("systemctl stop {unit}"));
    let out = run(&["kill", "--dry-run", &port.to_string()]);
    assert!(
        stdout(&out).contains(&format!(
            "runs in systemd unit {unit}, which may start it again; to stop it for good: \
systemctl stop {unit}"
        )),
        "{}",
        stdout(&out)
    );
    drop(l);
}

#[test]
fn a_supervisor_that_restarts_the_listener_is_named() {
    let port = free_port().to_string();
    let sup = Py::start(&[os("supervise"), os("--port"), os(&port)]);
    let first = sup.ready()[1];
    let out = run(&["kill", &port, "-y", "--timeout", "3s", "--json"]);
    let d = doc(&out);
    assert_eq!(code(&out), Some(3), "the port is taken again: {d:#}");
    assert_eq!(
        pids_of(&d),
        [u64::from(first)],
        "the supervisor holds no socket"
    );
    assert_eq!(d["processes"][0]["outcome"]["result"], "exited");
    let second = sup.ready()[1];
    assert_ne!(second, first);
    let after = &d["after"];
    assert_eq!(
        (&after["free"], &after["taken"]),
        (&Value::from(false), &Value::from(true))
    );
    assert_eq!(after["holders"][0]["pid"], second);
    assert_eq!(after["holders"][0]["target"], false);
    let out = run(&["kill", &port, "--dry-run"]);
    assert!(stdout(&out).contains(&format!("pid {second} python3")));
    drop(sup);
}

#[test]
fn the_question_on_a_real_terminal() {
    if !term::available() {
        return;
    }
    let (mut l, port) = listener(&[]);
    let p = port.to_string();
    let mut t = term::Term::start(&["kill", &p, "--timeout", "500ms"]);
    let shown = t.wait_for("[y/N] ");
    assert!(
        shown.contains(&format!("pid {} python3", l.pid())),
        "{shown}"
    );
    assert!(
        shown.contains("Send SIGTERM to this process? [y/N] "),
        "{shown}"
    );
    t.answer("n");
    let (status, text) = t.finish();
    assert_eq!(status, Some(2), "{text}");
    assert!(text.contains("Nothing was signalled."), "{text}");
    assert!(l.running(), "signalled after a no");

    let mut t = term::Term::start(&["kill", &p, "--timeout", "500ms"]);
    t.wait_for("[y/N] ");
    t.answer("y");
    let (status, text) = t.finish();
    assert_eq!(status, Some(0), "{text}");
    assert!(text.contains(&format!("Port {port} is free.")), "{text}");
    assert_eq!(l.signal_that_ended_it(), Some(libc::SIGTERM));
}

/// The target exits after the plan is shown, and before the answer another listener takes
/// both its pid and its port. Its pidfd and start time tell them apart: the target is
/// reported gone, and the newcomer with the same pid is not signalled.
#[test]
fn a_target_gone_before_the_answer_spares_the_process_that_reused_its_pid() {
    if !term::available() || !procs::require(procs::is_root(), "pid reuse needs root") {
        return;
    }
    let (mut l, port) = listener(&[]);
    let p = port.to_string();
    let old = l.pid();
    let mut t = term::Term::start(&["kill", &p, "--timeout", "500ms"]);
    t.wait_for("[y/N] ");
    l.end();
    let mut reuse = term::with_pid(old, || Py::start(&[os("listen"), os("--port"), os(&p)]));
    let same_pid = reuse.pid() == old;
    assert!(
        procs::require(
            same_pid,
            "could not make a new process reuse the target's pid"
        ),
        "pid {old} was not reused"
    );
    assert_eq!(reuse.ready()[0], u32::from(port));
    t.answer("y");
    let (status, text) = t.finish();
    assert!(
        text.contains(&format!(
            "pid {old} python3: gone: it exited before it was signalled"
        )),
        "{text}"
    );
    assert!(!text.contains("exited after"), "{text}");
    assert!(
        text.contains(&format!("Port {port} is taken again:")),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {old} python3, user root: a new holder")),
        "the same pid, another process: {text}"
    );
    assert_eq!(status, Some(3), "the port is held: {text}");
    assert!(
        reuse.running(),
        "the process that reused the pid was signalled"
    );
}

/// Another user runs kill against root's listener: it cannot see the holder (exit 3 with the
/// reason), or, allowed to read it but not to signal it, is refused by the kernel (exit 3,
/// permission denied). Nothing is signalled either way.
#[test]
fn another_user_against_a_root_port() {
    if !procs::require(procs::is_root(), "the privilege test needs root") {
        return;
    }
    let Some((uid, gid)) = procs::user_ids("portwatch-test") else {
        assert!(procs::require(
            false,
            "user portwatch-test is missing (.ci/run creates it)"
        ));
        return;
    };
    let mut keep = Vec::new();
    let bin = common::runnable(
        std::path::Path::new(env!("CARGO_BIN_EXE_portwatch")),
        &mut keep,
    );
    let (mut l, port) = listener(&[]);
    let p = port.to_string();

    let out = Command::new("runuser")
        .args(["-u", "portwatch-test", "--"])
        .arg(&bin)
        .args(["kill", &p, "-y", "--json"])
        .output()
        .expect("runuser (util-linux)");
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    let d = doc(&out);
    assert_eq!(
        d["processes"],
        serde_json::json!([]),
        "no holder is visible"
    );
    let why = d["unowned"][0]["reason"].as_str().unwrap_or_default();
    assert!(why.contains("run as root"), "{d:#}");
    assert_eq!(d["after"]["free"], false);

    let caps = "+sys_ptrace,+dac_read_search";
    let out = Command::new("setpriv")
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .args(["--clear-groups", &format!("--inh-caps={caps}")])
        .arg(format!("--ambient-caps={caps}"))
        .arg("--")
        .arg(&bin)
        .args(["kill", &p, "-y", "--json"])
        .output()
        .expect("setpriv (util-linux)");
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    let d = doc(&out);
    assert_eq!(
        pids_of(&d),
        [u64::from(l.pid())],
        "the holder is visible: {d:#}"
    );
    let t = &d["processes"][0];
    assert_eq!(t["skip"]["reason"], "not-permitted");
    assert_eq!(t["outcome"]["result"], "not-signalled");
    assert!(t["outcome"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("permission denied"));
    assert!(l.running(), "root's listener was signalled");
}

/// On a fixture proc tree the plan is exact (postgres: a master and a worker share the
/// listener, uid 4242 has no name, both run in the unit their cgroup files name), and nothing
/// but a dry run is allowed: its pids are no processes of this system.
#[test]
fn a_fixture_tree_gets_an_exact_plan_and_nothing_else() {
    let root = common::fixture("proc-basic");
    let out = run(&["--proc-root", &root, "kill", "5432", "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Sockets listening on port 5432 (tcp, udp): 1 socket, held by 2 processes.
  pid 1200 postgres, user uid 4242
      holds:   tcp LISTEN 127.0.0.1:5432 (fd 5)
      runs in systemd unit postgresql@15-main.service, which may start it again; to stop it for good: systemctl stop postgresql@15-main.service
  pid 1201 postgres, user uid 4242
      holds:   tcp LISTEN 127.0.0.1:5432 (fd 5)
      runs in systemd unit postgresql@15-main.service, which may start it again; to stop it for good: systemctl stop postgresql@15-main.service
Would send SIGTERM to 2 processes, then SIGKILL to those still running after 5s.
Dry run: nothing was signalled.
"
    );
    let out = run(&["--proc-root", &root, "kill", "5432", "-y"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("only --dry-run works there"),
        "{}",
        stderr(&out)
    );
}
