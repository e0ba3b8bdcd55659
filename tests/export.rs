//! `portwatch export`: what promtool says of its output on this host, the exact series of the
//! fixture tree, hostile process names in labels, and the textfile replaced atomically.

mod common;
#[path = "common/http.rs"]
mod http;
#[allow(unused_imports)]
#[path = "common/netns.rs"]
mod netns;
#[path = "common/procs.rs"]
mod procs;

use http::{fixture_copy, prometheus_tool, promtool_check, sample};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
#[ignore = "child process of the hostile-name test"]
fn child_entry() {
    procs::child_main();
}

/// `portwatch export ARGS` with no labels file and no /etc/services (the names come from the
/// embedded registry only).
fn export(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    common::bin()
        .arg("export")
        .args(args)
        .args(["--etc-services", "/dev/null"])
        .env("PORTWATCH_LABELS", home.path().join("labels"))
        .output()
        .expect("run portwatch export")
}

fn stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 exposition")
}

/// The kernel's name of this process: what portwatch must show as its process label.
fn own_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim_end_matches('\n')
        .to_string()
}

#[test]
fn promtool_finds_nothing_wrong_with_the_export_of_this_host() {
    let Some(promtool) = prometheus_tool("promtool") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let _served = listener.accept().unwrap();

    let text = stdout(&export(&[]));
    let (ok, said) = promtool_check(promtool, &text);
    assert!(
        ok && said.trim().is_empty(),
        "promtool check metrics: {said}"
    );
    let comm = own_comm();
    let ours = [
        ("proto", "tcp"),
        ("address", "127.0.0.1"),
        ("port", port.as_str()),
        ("process", comm.as_str()),
    ];
    assert_eq!(sample(&text, "portwatch_listener_info", &ours), Some(1.0));

    // Our two ends, alone: the server end inbound, the client end outbound, both counted
    // under the listener's service (its name, or `other`), never under a port number.
    let only = stdout(&export(&["-t", "port", "=", &format!(":{port}")]));
    let conns: Vec<&str> = only
        .lines()
        .filter(|l| l.starts_with("portwatch_connections{"))
        .collect();
    assert_eq!(conns.len(), 2, "{only}");
    for direction in ["inbound", "outbound"] {
        let line = conns
            .iter()
            .find(|l| l.contains(&format!("direction=\"{direction}\"")))
            .unwrap_or_else(|| panic!("{direction}: {only}"));
        assert!(
            line.contains("state=\"ESTAB\"") && line.ends_with(" 1"),
            "{line}"
        );
        assert!(!line.contains(&port), "a port as a label value: {line}");
    }
    let (ok, said) = promtool_check(promtool, &only);
    assert!(ok, "{said}");
}

/// The `name{...}` part of every sample line of `name`.
fn series(text: &str, name: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_fixture_exports_exactly_its_table() {
    let text = stdout(&export(&["--proc-root", &common::fixture("proc-basic")]));
    // tests/fixtures/README.md, "proc-basic": six listeners; uid 4242 has no user name;
    // sshd runs in ssh.service, both postgres in postgresql@15-main.service, nginx in a
    // docker container with no name (its short id); a fixture has no namespace.
    let l = |proto, family, addr, port, service, process, user, (container, unit)| {
        format!(
            "portwatch_listener_info{{proto=\"{proto}\",family=\"{family}\",address=\"{addr}\",\
             port=\"{port}\",service=\"{service}\",process=\"{process}\",user=\"{user}\",\
             netns=\"\",container=\"{container}\",unit=\"{unit}\"}} 1"
        )
    };
    let none = ("", "");
    let pg = ("", "postgresql@15-main.service");
    let want: BTreeSet<String> = [
        l(
            "tcp",
            "ipv4",
            "0.0.0.0",
            22,
            "ssh",
            "sshd",
            "root",
            ("", "ssh.service"),
        ),
        l(
            "tcp",
            "ipv4",
            "127.0.0.1",
            5432,
            "postgresql",
            "postgres",
            "4242",
            pg,
        ),
        l(
            "tcp",
            "ipv6",
            "::",
            80,
            "http",
            "nginx",
            "root",
            ("4f797c539e6c", ""),
        ),
        l("tcp", "ipv6", "::1", 631, "ipp", "", "root", none),
        l("udp", "ipv4", "0.0.0.0", 53, "domain", "", "root", none),
        l("udp", "ipv6", "::", 123, "ntp", "", "root", none),
    ]
    .into();
    assert_eq!(series(&text, "portwatch_listener_info"), want);

    let c = |state, direction| {
        format!(
            "portwatch_connections{{proto=\"tcp\",state=\"{state}\",\
             local_service=\"postgresql\",direction=\"{direction}\"}} 1"
        )
    };
    let want: BTreeSet<String> = [
        c("ESTAB", "inbound"),
        c("ESTAB", "outbound"),
        c("TIME-WAIT", "inbound"),
    ]
    .into();
    assert_eq!(series(&text, "portwatch_connections"), want);

    for (proto, state, n) in [
        ("tcp", "LISTEN", 4.0),
        ("tcp", "ESTAB", 2.0),
        ("tcp", "TIME-WAIT", 1.0),
        ("udp", "UNCONN", 2.0),
    ] {
        let got = sample(
            &text,
            "portwatch_sockets",
            &[("proto", proto), ("state", state)],
        );
        assert_eq!(got, Some(n), "{proto} {state}");
    }
    assert_eq!(
        series(&text, "portwatch_sockets").len(),
        4,
        "no unix or raw by default"
    );
    assert_eq!(series(&text, "portwatch_listener_queue_length").len(), 4);
    assert!(
        series(&text, "portwatch_listener_backlog").is_empty(),
        "/proc/net/tcp has no backlog: unknown, so left out"
    );
    assert_eq!(sample(&text, "portwatch_scrape_error", &[]), Some(0.0));
    assert_eq!(
        sample(&text, "portwatch_owners_hidden_sockets", &[]),
        Some(0.0)
    );
    assert!(series(&text, "portwatch_collections_total").is_empty());
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        sample(&text, "portwatch_build_info", &[("version", version)]),
        Some(1.0)
    );
}

/// (name as set, the process label as the exposition writes it): the table's escaping
/// (README "Untrusted text"), then the exposition format's (`\` -> `\\`, `"` -> `\"`).
const HOSTILE: &[(&[u8], &str)] = &[
    (b"q\"uo\\te}{x", r#"q\"uo\\\\te}{x"#),
    (b"new\nline", r"new\\nline"),
    (b"\x1b[31mred", r"\\e[31mred"),
    (b"bad\xffutf8", r"bad\\xffutf8"),
    (b"rl\xe2\x80\xaeo", r"rl\\u{202e}o"),
];

#[test]
fn hostile_process_names_are_escaped_per_the_exposition_format() {
    let holders: Vec<procs::Holder> = HOSTILE
        .iter()
        .map(|(name, _)| {
            let spec = procs::Spec {
                comm: Some(name.to_vec()),
                tcp: vec!["127.0.0.1:0".into()],
                unix: Vec::new(),
            };
            procs::hold(&spec, None)
        })
        .collect();
    let text = stdout(&export(&["-lt"]));
    for (h, (name, wire)) in holders.iter().zip(HOSTILE) {
        let port = format!("port=\"{}\"", h.ports[0]);
        let line = text
            .lines()
            .find(|l| l.starts_with("portwatch_listener_info{") && l.contains(&port))
            .unwrap_or_else(|| panic!("no series for {name:?}"));
        assert!(
            line.contains(&format!("process=\"{wire}\"")),
            "{name:?}: {line}"
        );
    }
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a raw control character in the exposition"
    );
    if let Some(promtool) = prometheus_tool("promtool") {
        let (ok, said) = promtool_check(promtool, &text);
        assert!(ok, "promtool: {said}");
    }
}

/// A file is whole when it ends with the last family's sample and a newline.
fn whole(text: &str) -> bool {
    text.starts_with("# HELP portwatch_listener_info ")
        && text
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("portwatch_build_info{"))
        && text.ends_with('\n')
}

#[test]
fn the_textfile_is_replaced_atomically_and_kept_when_an_export_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portwatch.prom");
    let fixture = common::fixture("proc-basic");
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (file, stop) = (file.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut reads, mut partial) = (0usize, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut f) = std::fs::File::open(&file) else {
                    continue;
                };
                let mut text = String::new();
                f.read_to_string(&mut text).unwrap();
                reads += 1;
                if !whole(&text) {
                    partial.push(text);
                }
            }
            (reads, partial)
        })
    };
    let f = file.to_str().unwrap();
    for _ in 0..25 {
        let out = export(&["--proc-root", &fixture, "--textfile", f]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(out.stdout.is_empty(), "--textfile prints nothing");
    }
    stop.store(true, Ordering::Relaxed);
    let (reads, partial) = reader.join().unwrap();
    assert!(reads > 0, "the reader saw the file");
    assert!(
        partial.is_empty(),
        "{} partial reads: {:?}",
        partial.len(),
        partial[0]
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["portwatch.prom"], "no temporary file left behind");

    // Nothing readable: exit 1, the last good file stays.
    let before = std::fs::read(&file).unwrap();
    let broken = fixture_copy("proc-basic", &["net"]);
    let out = export(&[
        "--proc-root",
        broken.path().to_str().unwrap(),
        "--textfile",
        f,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing could be read"));
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // The rename fails (the target is a directory): exit 1, the target and its directory
    // are as they were.
    let target = dir.path().join("taken.prom");
    std::fs::create_dir(&target).unwrap();
    std::fs::File::create(target.join("inside"))
        .unwrap()
        .write_all(b"x")
        .unwrap();
    let out = export(&[
        "--proc-root",
        &fixture,
        "--textfile",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write") && err.contains("taken.prom"),
        "{err}"
    );
    assert_eq!(std::fs::read(target.join("inside")).unwrap(), b"x");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["portwatch.prom", "taken.prom"],
        "no temporary file left"
    );
}

#[test]
fn listeners_of_the_namespaces_n_selects_carry_the_namespace() {
    if !netns::prerequisites_met() {
        return;
    }
    let ns = netns::Netns::new();
    let pop = netns::Population::start(&ns, "scale", &["--tcp-conns", "2", "--unix-pairs", "0"]);
    let port = pop.port("tcp", "l4").to_string();
    let pid = pop.summary["pid"].as_u64().expect("builder pid");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    let ours = [
        ("netns", ns.name.as_str()),
        ("address", "127.0.0.1"),
        ("port", port.as_str()),
        ("process", comm.trim_end_matches('\n')),
        ("container", ""),
    ];
    let text = stdout(&export(&["-N", &ns.name, "-lt"]));
    assert_eq!(
        sample(&text, "portwatch_listener_info", &ours),
        Some(1.0),
        "{text}"
    );
    let theirs = format!("netns=\"{}\"", ns.name);
    let host_only = stdout(&export(&["-lt"]));
    assert!(
        !host_only.contains(&theirs),
        "without -N: portwatch's own namespace only"
    );
    if let Some(promtool) = prometheus_tool("promtool") {
        let (ok, said) = promtool_check(promtool, &text);
        assert!(ok, "promtool: {said}");
    }
    // A WHICH that names no namespace is the user's mistake.
    let out = export(&["-N", "pwtest-no-such-namespace"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
