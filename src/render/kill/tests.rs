//! `kill`'s text and JSON: hostile names escaped in text and exact in JSON, the supervisor
//! hints, and each outcome said as what it is (gone is never "killed").

use super::*;
use crate::model::kill::{ProcessFacts, Signals};
use crate::model::OptU32;
use crate::model::{Endpoint, Family, Owner, Owners, Proto, SockType, Socket};
use std::net::{IpAddr, Ipv4Addr};

const HOSTILE_COMM: &[u8] = b"\x1b[31mev\xffil\n";

fn sig(number: i32, name: &str) -> Signal {
    Signal {
        number,
        name: name.into(),
    }
}

fn listener(port: u16, inode: u64, owners: Vec<Owner>) -> Row {
    let mut r = Row::new(Socket {
        local: Some(Endpoint::Inet {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        }),
        inode,
        uid: OptU32::some(0),
        ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, State::LISTEN)
    });
    r.owners = Some(Owners::from(owners));
    r
}

fn plan() -> Plan {
    let comm = Text::from(HOSTILE_COMM);
    let owner = Owner::new(4242, comm.clone(), 7, Some(0));
    let unit = Unit {
        name: "web app.service".into(),
        user: None,
    };
    Plan {
        selection: Selection::Port {
            port: 3000,
            protos: vec![Proto::Tcp],
        },
        signals: Signals {
            first: sig(15, "SIGTERM"),
            then: Some(sig(9, "SIGKILL")),
            timeout: Duration::from_millis(1500),
        },
        rows: vec![listener(3000, 11, vec![owner]), listener(3000, 12, vec![])],
        targets: vec![
            Target {
                pid: 4242,
                comm,
                uid: Some(0),
                user: Some("root".into()),
                facts: ProcessFacts {
                    start_time: Some(99),
                    cmdline: Some(vec![
                        Text::from(&b"/bin/srv"[..]),
                        Text::from(&b"--name=\x1b]0;pwned\x07\xfe"[..]),
                        Text::from("rtl\u{202e}txt"),
                    ]),
                    unit: Some(unit),
                    ..ProcessFacts::default()
                },
                sockets: vec![(0, 7)],
                skip: None,
            },
            Target {
                pid: 1,
                comm: "systemd".into(),
                uid: Some(0),
                user: None,
                facts: ProcessFacts::default(),
                sockets: vec![(0, 40)],
                skip: Some(Skip::Init),
            },
        ],
        unowned: vec![1],
        owners_hidden: true,
    }
}

fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut buf = Vec::new();
    f(&mut buf).unwrap();
    String::from_utf8(buf).expect("text output is UTF-8")
}

#[test]
fn the_plan_escapes_what_processes_chose() {
    let p = plan();
    let t = text(|b| write_plan(&p, false, b));
    assert!(
        !t.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{t:?}"
    );
    assert_eq!(t.lines().count(), 9, "no forged line: {t}");
    assert!(t.contains("pid 4242 \\e[31mev\\xffil\\n, user root"), "{t}");
    assert!(
        t.contains("command: /bin/srv --name=\\e]0;pwned\\x07\\xfe rtl\\u{202e}txt"),
        "{t}"
    );
    assert!(
        t.contains("holds:   tcp LISTEN 127.0.0.1:3000 (fd 7)"),
        "{t}"
    );
    assert!(
        t.contains("systemd unit web app.service, which may start it again; to stop it for good: systemctl stop 'web app.service'"),
        "{t}"
    );
    assert!(t.contains("pid 1 systemd, user uid 0: NOT SIGNALLED (pid 1 is the init system"));
    assert!(t.contains("tcp LISTEN 127.0.0.1:3000 (uid 0, uid 0): its holder is not visible"));
    assert!(t.ends_with(
        "Plan: send SIGTERM to 1 process, then SIGKILL to those still running after 1.5s.\n"
    ));
    let dry = text(|b| write_plan(&p, true, b));
    assert!(dry.contains("Would send SIGTERM to 1 process"));
    assert!(dry.ends_with("Dry run: nothing was signalled.\n"));
    assert_eq!(question(&p), "Send SIGTERM to this process? [y/N] ");
}

#[test]
fn json_is_valid_and_exact_for_any_name() {
    let p = plan();
    let o = Outcome {
        processes: vec![
            ProcessOutcome {
                pid: 4242,
                sent: vec![sig(15, "SIGTERM"), sig(9, "SIGKILL")],
                fate: Fate::Exited,
            },
            ProcessOutcome {
                pid: 1,
                sent: vec![],
                fate: Fate::NotSignalled(Skip::Init),
            },
        ],
        after: After {
            free: false,
            holders: vec![],
            unowned: 1,
        },
    };
    let mut buf = Vec::new();
    write_json(&p, false, Some(&o), 3, &[], &mut buf).unwrap();
    let text = String::from_utf8(buf.clone()).unwrap();
    assert!(text.starts_with("{\n  \"schema\": 1,"), "{text}");
    let doc: Value = serde_json::from_slice(&buf).expect("valid JSON");
    let t = &doc["processes"][0];
    assert_eq!(t["comm"], String::from_utf8_lossy(HOSTILE_COMM).as_ref());
    assert_eq!(t["comm_hex"], hex(HOSTILE_COMM));
    assert_eq!(t["cmdline"][2], "rtl\u{202e}txt");
    assert_eq!(t["cmdline_hex"][1], hex(b"--name=\x1b]0;pwned\x07\xfe"));
    assert_eq!(t["start_time"], 99);
    assert_eq!(t["sockets"][0]["fd"], 7);
    assert_eq!(t["sockets"][0]["socket"]["local"]["port"], 3000);
    assert_eq!(t["supervisor"]["unit"]["name"], "web app.service");
    assert_eq!(t["supervisor"]["stop"], "systemctl stop 'web app.service'");
    assert_eq!(t["outcome"]["result"], "exited");
    assert_eq!(t["outcome"]["signals"], json!(["SIGTERM", "SIGKILL"]));
    assert_eq!(doc["processes"][1]["skip"]["reason"], "init");
    assert_eq!(doc["processes"][1]["outcome"]["result"], "not-signalled");
    assert_eq!(doc["unowned"][0]["socket"]["inode"], 12);
    assert_eq!(doc["selection"]["port"], 3000);
    assert_eq!(doc["signals"]["first"]["name"], "SIGTERM");
    assert_eq!(doc["signals"]["timeout_ms"], 1500);
    assert_eq!(doc["after"]["free"], false);
    assert_eq!(doc["after"]["unowned"], 1);
    assert_eq!(doc["exit_status"], 3);
    assert_eq!(doc["dry_run"], false);
}

#[test]
fn every_fate_says_what_happened() {
    let out = |fate: Fate, sent: &[Signal]| {
        fate_text(&ProcessOutcome {
            pid: 5,
            sent: sent.to_vec(),
            fate,
        })
    };
    let term = sig(15, "SIGTERM");
    let kill = sig(9, "SIGKILL");
    assert_eq!(
        out(Fate::Exited, &[term.clone(), kill.clone()]),
        "exited after SIGTERM, SIGKILL"
    );
    let gone = out(Fate::Gone, &[]);
    assert!(
        gone.starts_with("gone:") && gone.contains("nothing was sent"),
        "{gone}"
    );
    assert!(!gone.contains("kill") && !gone.contains("exited after"));
    assert!(out(Fate::Released, &[]).starts_with("not signalled:"));
    assert_eq!(out(Fate::Survived, &[term]), "still running after SIGTERM");
    assert!(out(Fate::NotSignalled(Skip::NotPermitted), &[]).contains("permission denied"));
    assert!(out(Fate::Failed("x\x1b".into()), &[]).ends_with("x\\e"));
}

#[test]
fn after_says_free_or_who_took_the_port() {
    let p = plan();
    let free = After {
        free: true,
        ..After::default()
    };
    assert_eq!(text(|b| write_after(&p, &free, b)), "Port 3000 is free.\n");
    let taken = After {
        free: false,
        holders: vec![Holder {
            pid: 777,
            comm: "srv".into(),
            uid: Some(0),
            user: Some("root".into()),
            target: false,
            container: Some(Container {
                name: Some("web".into()),
                ..Container::new(Runtime::Podman, "ab".repeat(32))
            }),
            unit: None,
        }],
        unowned: 0,
    };
    let t = text(|b| write_after(&p, &taken, b));
    assert!(t.starts_with("Port 3000 is taken again:\n"), "{t}");
    assert!(t.contains("pid 777 srv, user root: a new holder"), "{t}");
    assert!(t.contains("podman container web"), "{t}");
    assert!(t.contains("podman stop web"), "{t}");
    // The target's supervisor is named as the likely restarter.
    assert!(
        t.contains("pid 4242 runs in systemd unit web app.service"),
        "{t}"
    );
}

#[test]
fn stop_commands_for_the_supervisors_kill_knows() {
    let unit = |name: &str, user: Option<u32>| Unit {
        name: name.into(),
        user,
    };
    let c = |rt, name: Option<&str>| Container {
        name: name.map(Into::into),
        ..Container::new(rt, "0123456789ab".repeat(5) + "cdef")
    };
    assert_eq!(
        stop_command(None, Some(&unit("nginx.service", None))).as_deref(),
        Some("systemctl stop nginx.service")
    );
    assert_eq!(
        stop_command(None, Some(&unit("app.service", Some(1000)))).as_deref(),
        Some("systemctl --user stop app.service")
    );
    assert_eq!(
        stop_command(None, Some(&unit("session-3.scope", None))),
        None
    );
    assert_eq!(
        stop_command(None, Some(&unit("user@1000.service", None))),
        None
    );
    assert_eq!(
        stop_command(
            Some(&c(Runtime::Docker, Some("db"))),
            Some(&unit("x.service", None))
        )
        .as_deref(),
        Some("docker stop db"),
        "the container, not a unit inside it"
    );
    assert_eq!(
        stop_command(Some(&c(Runtime::Podman, None)), None).as_deref(),
        Some("podman stop 0123456789ab")
    );
    assert_eq!(stop_command(Some(&c(Runtime::CriO, Some("x"))), None), None);
    assert_eq!(stop_command(None, None), None);
    assert_eq!(shell_word("a'b"), "'a'\\''b'");
}

#[test]
fn durations_read_as_typed() {
    assert_eq!(duration(Duration::from_secs(5)), "5s");
    assert_eq!(duration(Duration::from_millis(200)), "200ms");
    assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
    assert_eq!(duration(Duration::ZERO), "0s");
}
