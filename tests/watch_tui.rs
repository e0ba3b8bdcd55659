//! The live view of `portwatch watch` in a real terminal (tmux, send-keys, capture-pane): a
//! new listener appears marked, `q` quits and SIGTERM stops it with the terminal restored
//! (the alternate screen left), and hostile process names stay escaped in the view and exact
//! in the NDJSON stream.

mod common;
#[path = "common/procs.rs"]
mod procs;
#[path = "common/watch.rs"]
mod watching;

use procs::require;
use serde_json::Value;
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;
use std::time::Duration;
use watching::{Stream, Tmux};

#[test]
#[ignore = "child process of the hostile-name test"]
fn child_entry() {
    procs::child_main();
}

const WAIT: Duration = Duration::from_secs(10);

fn tmux_present() -> bool {
    require(
        std::process::Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "tmux is missing: apt-get install tmux",
    )
}

/// `portwatch watch ARGS` in a tmux pane; the shell says how it exited.
fn view(args: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_portwatch");
    Tmux::start(
        &format!("{bin} watch {args}; echo EXITED $?; sleep 60"),
        200,
        30,
    )
}

fn header_shown(s: &str) -> bool {
    s.lines()
        .next()
        .is_some_and(|l| l.starts_with("portwatch watch"))
}

#[test]
fn a_new_listener_appears_and_q_restores_the_terminal() {
    if !tmux_present() {
        return;
    }
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let p = l.local_addr().unwrap().as_socket().unwrap().port();
    let t = view(&format!(
        "-tp --interval 200ms state listening sport = :{p}"
    ));
    let (ok, s) = t.wait_for(WAIT, header_shown);
    assert!(ok, "no view: {s}");
    assert_eq!(
        t.display("#{alternate_on}"),
        "1",
        "the view is on the alternate screen"
    );
    assert!(
        !s.contains(&format!("127.0.0.1:{p}")),
        "not listening yet: {s}"
    );

    l.listen(4).unwrap();
    let row = format!("127.0.0.1:{p}");
    let me = format!("pid={},fd=", std::process::id());
    let (ok, s) = t.wait_for(WAIT, |s| {
        s.lines()
            .any(|l| l.starts_with('+') && l.contains(&row) && l.contains(&me))
    });
    assert!(ok, "the new listener, marked +, with its owner: {s}");
    assert!(s.lines().next().unwrap().contains("+1 opened"), "{s}");

    // A bad filter typed in the view: the caret error shows, the old filter stays.
    t.keys(&["/"]);
    t.keys(&["-l", " and sport = :"]);
    t.keys(&["Enter"]);
    let (ok, s) = t.wait_for(WAIT, |s| s.contains("^ expected a port after ':'"));
    assert!(ok, "the caret error: {s}");
    assert!(
        s.contains(&format!("filter: state listening sport = :{p}   sort")),
        "{s}"
    );
    assert!(s.contains(&row), "still shown under the old filter: {s}");
    t.keys(&["Escape"]);
    let (ok, s) = t.wait_for(WAIT, |s| !s.contains("expected a port"));
    assert!(ok, "Esc leaves the editor: {s}");

    t.keys(&["q"]);
    let (ok, s) = t.wait_for(WAIT, |s| s.contains("EXITED 0"));
    assert!(ok, "q quits with status 0: {s}");
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "the alternate screen is left"
    );
    assert!(!header_shown(&s), "the normal screen is back: {s}");
}

#[test]
fn sigterm_restores_the_terminal() {
    if !tmux_present() {
        return;
    }
    let t = view("-lt --interval 200ms sport = :1");
    let (ok, s) = t.wait_for(WAIT, header_shown);
    assert!(ok, "no view: {s}");
    let pid = t.program_pid().expect("the portwatch process in the pane");
    // SAFETY: kill(2) on the portwatch process this test started.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let (ok, s) = t.wait_for(WAIT, |s| s.contains("EXITED 0"));
    assert!(ok, "SIGTERM ends it with status 0: {s}");
    assert_eq!(t.display("#{alternate_on}"), "0");
}

#[test]
fn hostile_names_are_escaped_in_the_view_and_exact_in_json() {
    if !tmux_present() {
        return;
    }
    let comm = b"ev\x1b[2J\xe2\x80\xaeil\n".to_vec();
    let holder = procs::hold(
        &procs::Spec {
            comm: Some(comm.clone()),
            tcp: vec!["127.0.0.1:0".into()],
            ..procs::Spec::default()
        },
        None,
    );
    let p = holder.ports[0];
    let t = view(&format!("-ltp --interval 200ms sport = :{p}"));
    let (ok, s) = t.wait_for(WAIT, |s| s.contains(&format!("127.0.0.1:{p}")));
    assert!(ok, "the listener: {s}");
    let shown = format!("ev\\e[2J\\u{{202e}}il\\n(pid={}", holder.pid());
    assert!(s.contains(&shown), "escaped {shown}: {s}");
    assert!(header_shown(&s), "nothing repainted the screen: {s}");

    let mut w = Stream::start(&[
        "-ltp",
        "--initial",
        "--count",
        "1",
        "sport",
        "=",
        &format!(":{p}"),
    ]);
    let e = w.events(1, WAIT);
    assert_eq!(w.wait(WAIT), Some(0));
    let owner = &e[0]["socket"]["owners"][0];
    assert_eq!(owner["pid"], Value::from(holder.pid()));
    let hex: String = comm.iter().map(|b| format!("{b:02x}")).collect();
    // Valid UTF-8 (with an ESC and a bidi override): the string is exact and no hex is needed.
    assert_eq!(
        owner["comm"],
        String::from_utf8(comm.clone()).unwrap().as_str()
    );
    assert!(owner.get("comm_hex").is_none(), "{owner} ({hex})");
}
