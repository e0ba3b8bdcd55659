//! `kill`'s command line: ports told from filters, the request each makes, signals, timeouts
//! and when to ask.

use super::*;
use crate::filter::{Cmp, End, Expr, PortSpec, Pred};
use crate::model::{FamilyFilter, StateSet};

fn args(words: &[&str]) -> KillArgs {
    KillArgs {
        listing: ListingArgs {
            filter: words.iter().map(|w| w.to_string()).collect(),
            ..ListingArgs::default()
        },
        yes: false,
        dry_run: true,
        timeout: "5s".into(),
        signal: None,
        json: false,
    }
}

fn with(words: &[&str], f: impl FnOnce(&mut KillArgs)) -> KillArgs {
    let mut a = args(words);
    f(&mut a);
    a
}

fn err(a: &KillArgs) -> String {
    let e = resolve(a).expect_err("a usage error");
    assert_eq!(e.exit_code(), 2, "{e}");
    e.to_string()
}

/// The local-port predicate a port request filters on.
fn local_port(r: &Request) -> Option<u16> {
    match r.filter.expr()? {
        Expr::Pred(Pred::Port {
            end: End::Local,
            cmp: Cmp::Eq,
            port: PortSpec::Num(p),
        }) => Some(*p),
        _ => None,
    }
}

#[test]
fn a_port_is_the_listeners_on_it_tcp_and_udp() {
    for w in ["3000", ":3000"] {
        let s = resolve(&args(&[w])).unwrap();
        assert_eq!(
            s.selection,
            Selection::Port {
                port: 3000,
                protos: vec![Proto::Tcp, Proto::Udp]
            }
        );
        let q = &s.request.query;
        assert!(q.tcp && q.udp && !q.unix && !q.raw && q.ipv4 && q.ipv6);
        assert_eq!(q.states, StateSet::LISTENING, "never a client's connection");
        assert_eq!(local_port(&s.request), Some(3000));
        assert!(s.request.owners && s.request.all_owners, "every holder");
    }
}

#[test]
fn protocol_flags_and_suffixes_narrow_a_port() {
    let s = resolve(&with(&["8080"], |a| a.listing.tcp = true)).unwrap();
    assert!(s.request.query.tcp && !s.request.query.udp);
    let s = resolve(&args(&["53/udp"])).unwrap();
    assert!(!s.request.query.tcp && s.request.query.udp);
    assert_eq!(
        s.selection,
        Selection::Port {
            port: 53,
            protos: vec![Proto::Udp]
        }
    );
    let s = resolve(&with(&["53/UDP"], |a| a.listing.udp = true)).unwrap();
    assert!(s.request.query.udp);
    let s = resolve(&with(&["80"], |a| a.listing.ipv6 = true)).unwrap();
    assert_eq!(s.request.family, FamilyFilter::Ipv6);
    assert!(err(&with(&["80/tcp"], |a| a.listing.udp = true)).contains("contradict"));
}

#[test]
fn bad_ports_are_usage_errors() {
    assert!(err(&args(&["0"])).contains("port 0"));
    for w in ["65536", "80x", "80/sctp", ":", "1e3"] {
        let m = err(&args(&[w]));
        assert!(
            m.contains("is not a port") || m.contains("expected"),
            "{w}: {m}"
        );
    }
    let m = err(&args(&["3000", "4000"]));
    assert!(m.contains("one PORT"), "{m}");
    assert!(err(&with(&["22"], |a| a.listing.all = true)).contains("listeners only"));
    assert!(err(&with(&["22"], |a| a.listing.unix = true)).contains("-x"));
    assert!(err(&with(&["22"], |a| a.listing.commands = vec!["x".into()])).contains("narrow"));
    // The port word is escaped in the message: it came from the command line.
    assert!(err(&args(&["80/\x1b[2J"])).contains("\\e[2J"));
}

#[test]
fn anything_else_is_the_listing_filter() {
    let s = resolve(&with(
        &["state", "established", "dport", "=", ":5432"],
        |a| a.listing.tcp = true,
    ))
    .unwrap();
    assert_eq!(
        s.selection,
        Selection::Filter {
            text: "state established dport = :5432".into()
        }
    );
    assert!(s.request.query.tcp && !s.request.query.udp);
    assert_eq!(
        s.request.query.states,
        StateSet::of(&[crate::model::State::ESTABLISHED])
    );
    // Without a state word, the listing's default set: exactly what the listing shows.
    let s = resolve(&args(&["sport", "=", ":80"])).unwrap();
    assert_eq!(s.request.query.states, StateSet::CONNECTED);
    // Shorthand options select too, and are spelled in the selection.
    let s = resolve(&with(&[], |a| {
        a.listing.listening = true;
        a.listing.commands = vec!["node".into(), "deno".into()];
    }))
    .unwrap();
    assert_eq!(
        s.selection,
        Selection::Filter {
            text: "( proc node or proc deno )".into()
        }
    );
    let s = resolve(&with(&["sport", "=", ":80"], |a| a.listing.pids = vec![7])).unwrap();
    assert_eq!(
        s.selection,
        Selection::Filter {
            text: "( sport = :80 ) and pid 7".into()
        }
    );
    // A filter that does not parse is the filter's error, with its caret.
    let e = resolve(&args(&["sport", "="])).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(err(&args(&[])).contains("which sockets"));
}

#[test]
fn signals_and_escalation() {
    let s = resolve(&args(&["80"])).unwrap();
    assert_eq!(s.signals.first.name, "SIGTERM");
    assert_eq!(s.signals.then.map(|t| t.name).as_deref(), Some("SIGKILL"));
    assert_eq!(s.signals.timeout, Duration::from_secs(5));
    for (given, want) in [("HUP", "SIGHUP"), ("sigint", "SIGINT"), ("9", "SIGKILL")] {
        let s = resolve(&with(&["80"], |a| a.signal = Some(given.into()))).unwrap();
        assert_eq!(s.signals.first.name, want);
        assert_eq!(s.signals.then, None, "--signal: no escalation");
    }
    assert!(err(&with(&["80"], |a| a.signal = Some("0".into()))).contains("sends nothing"));
    assert!(err(&with(&["80"], |a| a.signal = Some("FOO".into()))).contains("unknown signal"));
    assert!(err(&with(&["80"], |a| a.signal = Some("999".into()))).contains("no signal"));
}

#[test]
fn timeout_is_checked() {
    let m = err(&with(&["80"], |a| a.timeout = "5x".into()));
    assert!(m.contains("--timeout") && m.contains("200ms"), "{m}");
    let m = err(&with(&["80"], |a| a.timeout = "25h".into()));
    assert!(m.contains("longer than a day"), "{m}");
}

#[test]
fn json_never_asks() {
    let a = with(&["80"], |a| {
        a.dry_run = false;
        a.json = true;
    });
    assert!(err(&a).contains("--json does not ask"));
    let yes = KillArgs { yes: true, ..a };
    assert_eq!(resolve(&yes).unwrap().mode, Mode::Yes);
}

#[test]
fn asks_only_when_all_three_are_terminals() {
    let all = Ttys {
        stdin: true,
        stdout: true,
        stderr: true,
    };
    assert_eq!(confirm(Mode::Ask, all), Confirm::Ask);
    for t in [
        Ttys {
            stdin: false,
            ..all
        },
        Ttys {
            stdout: false,
            ..all
        },
        Ttys {
            stderr: false,
            ..all
        },
    ] {
        assert_eq!(confirm(Mode::Ask, t), Confirm::Refuse, "{t:?}");
    }
    assert_eq!(confirm(Mode::Yes, Ttys::default()), Confirm::Proceed);
    assert_eq!(confirm(Mode::DryRun, Ttys::default()), Confirm::Proceed);
}

#[test]
fn only_yes_is_yes() {
    for y in ["y\n", "Y", "yes\n", " YES "] {
        assert!(is_yes(y), "{y:?}");
    }
    for n in ["", "\n", "n\n", "no", "yep", "y es", "ja"] {
        assert!(!is_yes(n), "{n:?}");
    }
}
