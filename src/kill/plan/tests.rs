//! The plan on a fake host, from the command line to the exit status: who is a target (a
//! listener's holders, never its clients), who is left alone, what a re-check means, what
//! is left of the port, and the status.

use super::*;
use crate::cli::{KillArgs, ListingArgs};
use crate::kill::spec;
use crate::model::kill::{ProcessOutcome, Signal};
use crate::model::OptU32;
use crate::model::{Family, Proto, SockType, Socket, State, StateSet};
use crate::pipeline;
use crate::pipeline::tests::{inet, owner, tcp};
use crate::platform::fake::Fake;
use crate::registry::Registry;

/// The pipeline's host (a web server on :8080 held by a fork-shared master and worker, the
/// worker also holding an accepted connection; a curl connected to it; a TIME-WAIT leftover)
/// plus a UDP socket on 8080 held by pid 1 (socket activation).
fn host() -> Fake {
    let mut h = pipeline::tests::host();
    h.sockets.push(Socket {
        local: inet(8080),
        inode: 103,
        uid: OptU32::some(0),
        ..Socket::new(Proto::Udp, Family::Ipv4, SockType::Dgram, State::CLOSE)
    });
    h.owners.push((103, owner(1, "systemd", 40)));
    h
}

fn kill_args(words: &[&str], tcp: bool) -> KillArgs {
    KillArgs {
        listing: ListingArgs {
            filter: words.iter().map(|w| w.to_string()).collect(),
            tcp,
            ..ListingArgs::default()
        },
        yes: true,
        dry_run: false,
        timeout: "1s".into(),
        signal: None,
        json: false,
    }
}

fn facts(pid: u32) -> ProcessFacts {
    ProcessFacts {
        start_time: Some(1000 + u64::from(pid)),
        ..ProcessFacts::default()
    }
}

/// The plan `portwatch kill WORDS` makes on `host`.
fn plan_on(host: &Fake, words: &[&str], tcp: bool) -> Plan {
    let s = spec::resolve(&kill_args(words, tcp)).unwrap();
    let l = pipeline::run(&s.request, host, host, &Registry::builtin()).unwrap();
    build(
        s.selection,
        s.signals,
        l.rows,
        &l.warnings,
        |pid| {
            let f = facts(pid);
            let skip = skip_for(pid, 4242, f.kernel_thread);
            (f, skip)
        },
        |uid| host.users.get(&uid).cloned(),
    )
}

fn pids(plan: &Plan) -> Vec<u32> {
    plan.targets.iter().map(|t| t.pid).collect()
}

#[test]
fn a_port_targets_every_holder_of_its_listeners_never_a_client() {
    let plan = plan_on(&host(), &["8080"], false);
    // The TCP listener's fork-shared holders and the UDP socket's; not curl (pid 20).
    assert_eq!(pids(&plan), [1, 10, 11]);
    let worker = &plan.targets[2];
    assert_eq!(worker.sockets.len(), 1, "the listener, not its connection");
    let (row, fd) = worker.sockets[0];
    assert_eq!((plan.rows[row].sock.inode, fd), (100, 3));
    assert_eq!(worker.user.as_deref(), Some("alice"));
    assert_eq!(worker.facts.start_time, Some(1011));
    assert_eq!(worker.skip, None);
    assert_eq!(
        plan.targets[0].skip,
        Some(Skip::Init),
        "pid 1 is never signalled"
    );
    assert_eq!(plan.ready().count(), 2);
    assert!(plan.unowned.is_empty());

    let tcp_only = plan_on(&host(), &["8080"], true);
    assert_eq!(pids(&tcp_only), [10, 11]);
}

#[test]
fn a_filter_targets_what_the_listing_shows() {
    let plan = plan_on(
        &host(),
        &["state", "established", "dport", "=", ":8080"],
        true,
    );
    assert_eq!(pids(&plan), [20], "the client, asked for explicitly");
    let plan = plan_on(&host(), &["sport", "=", ":8080"], true);
    assert_eq!(
        pids(&plan),
        [11],
        "connected sockets by default, as the listing"
    );
}

#[test]
fn sockets_without_a_visible_holder_are_shown_with_why() {
    let mut h = host();
    h.owners.retain(|(inode, _)| *inode != 100);
    h.denied_pids = 3;
    let plan = plan_on(&h, &["8080"], true);
    assert!(plan.targets.is_empty());
    assert_eq!(plan.unowned.len(), 1);
    assert_eq!(plan.rows[plan.unowned[0]].sock.inode, 100);
    assert!(
        plan.owners_hidden,
        "other users' processes were not readable"
    );
}

#[test]
fn never_init_kernel_threads_or_itself() {
    assert_eq!(skip_for(1, 500, false), Some(Skip::Init));
    assert_eq!(skip_for(500, 500, false), Some(Skip::Itself));
    assert_eq!(skip_for(2, 500, true), Some(Skip::KernelThread));
    assert_eq!(skip_for(77, 500, false), None);
}

#[test]
fn the_recheck_before_the_signal() {
    let plan = plan_on(&host(), &["8080"], true);
    let t = &plan.targets[0];
    let start = t.facts.start_time;
    assert_eq!(verify(t, true, start, true), Ok(()));
    assert_eq!(verify(t, false, start, true), Err(Fate::Gone), "exited");
    // The pid now names another process: never a signal to it.
    assert_eq!(verify(t, true, Some(9), true), Err(Fate::Gone));
    assert_eq!(verify(t, true, None, true), Err(Fate::Gone));
    assert_eq!(verify(t, true, start, false), Err(Fate::Released));
}

fn rows_of(host: &Fake) -> Vec<Row> {
    let s = spec::resolve(&kill_args(&["8080"], true)).unwrap();
    pipeline::run(&s.request, host, host, &Registry::builtin())
        .unwrap()
        .rows
}

#[test]
fn what_is_left_after_the_signals() {
    let targets: HashSet<u32> = [10, 11].into();
    let name = |_| None;
    let mut h = host();
    h.sockets.retain(|s| s.inode != 100);
    let a = after(&rows_of(&h), &targets, name);
    assert!(a.free && a.holders.is_empty() && !a.taken());

    // A supervisor started the service again: a new pid holds a new listener.
    let mut h = host();
    h.sockets.retain(|s| s.inode != 100);
    h.sockets.push(tcp(State::LISTEN, 8080, 0, 200));
    h.owners.push((200, owner(30, "web", 3)));
    let a = after(&rows_of(&h), &targets, name);
    assert!(!a.free && a.taken());
    assert_eq!((a.holders[0].pid, a.holders[0].target), (30, false));
    assert!(settled(&a, &HashSet::new()), "nothing more to wait for");

    // A survivor still holds it.
    let h = host();
    let a = after(&rows_of(&h), &targets, name);
    assert!(!a.free && !a.taken());
    assert!(!settled(&a, &targets), "it may still exit");
    assert!(settled(&a, &HashSet::new()));

    // A listener nobody visible holds keeps the port busy.
    let mut h = host();
    h.owners.retain(|(inode, _)| *inode != 100);
    let a = after(&rows_of(&h), &targets, name);
    assert_eq!((a.free, a.unowned), (false, 1));
    assert!(!settled(&a, &HashSet::new()));
}

#[test]
fn a_socket_no_process_holds_does_not_keep_the_port_busy() {
    let mut h = host();
    h.sockets.retain(|s| s.inode != 100);
    let s = spec::resolve(&kill_args(&["sport", "=", ":8080"], true)).unwrap();
    let mut req = s.request;
    req.query.states = StateSet::of(&[State::TIME_WAIT]);
    let rows = pipeline::run(&req, &h, &h, &Registry::builtin())
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 1, "the TIME-WAIT leftover matches");
    assert!(after(&rows, &HashSet::new(), |_| None).free);
}

fn outcome(fates: &[Fate], free: bool) -> Outcome {
    let term = Signal {
        number: 15,
        name: "SIGTERM".into(),
    };
    Outcome {
        processes: fates
            .iter()
            .map(|f| ProcessOutcome {
                pid: 10,
                sent: vec![term.clone()],
                fate: f.clone(),
            })
            .collect(),
        after: After {
            free,
            ..After::default()
        },
    }
}

#[test]
fn exit_statuses() {
    let plan = plan_on(&host(), &["8080"], true);
    assert_eq!(
        exit_status(&plan, &outcome(&[Fate::Exited, Fate::Exited], true)),
        0
    );
    // Exited by itself before the signal: the port is what was asked for.
    assert_eq!(
        exit_status(&plan, &outcome(&[Fate::Gone, Fate::Exited], true)),
        0
    );
    assert_eq!(
        exit_status(&plan, &outcome(&[Fate::Released, Fate::Exited], true)),
        0
    );
    assert_eq!(
        exit_status(&plan, &outcome(&[Fate::Exited, Fate::Exited], false)),
        3
    );
    for bad in [
        Fate::Survived,
        Fate::NotSignalled(Skip::NotPermitted),
        Fate::NotSignalled(Skip::Init),
        Fate::Failed("EINVAL".into()),
    ] {
        assert_eq!(
            exit_status(&plan, &outcome(&[Fate::Exited, bad.clone()], true)),
            3,
            "{bad:?}"
        );
    }
    let none = plan_on(&host(), &["9999"], true);
    assert!(none.rows.is_empty());
    assert_eq!(
        exit_status(&none, &outcome(&[], true)),
        1,
        "nothing matched"
    );
}
