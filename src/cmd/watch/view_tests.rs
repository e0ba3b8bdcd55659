//! The view's state under reads and keys: marks that fade, closed rows that go, the filter
//! typed and refused, pause, sort, quit.

use super::*;
use crate::model::{Endpoint, Family, Proto, SockType, Socket, State};
use crate::timeline::{diff, Compare};
use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

fn listener(port: u16) -> Row {
    Row::new(Socket {
        local: Some(Endpoint::Inet {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        }),
        inode: u64::from(port),
        ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, State::LISTEN)
    })
}

fn reading(ports: &[u16]) -> Reading {
    Reading::new(ports.iter().map(|&p| listener(p)).collect())
}

/// The view after a read of `ports` (events against the previous read).
fn read(v: &mut View, prev: &Reading, ports: &[u16]) -> Reading {
    let next = reading(ports);
    let events: Vec<Stamped> = diff(prev, &next, Compare::default())
        .into_iter()
        .map(|event| Stamped {
            at: SystemTime::now(),
            event,
        })
        .collect();
    v.apply(&events, &next, false, "09:00:00");
    next
}

/// (mark, local port) of each row on screen, in order.
fn screen(v: &View) -> Vec<(&'static str, u16)> {
    v.rows()
        .iter()
        .map(|(m, r)| {
            let port = r.sock.local.as_ref().and_then(|e| e.port()).unwrap_or(0);
            (m.symbol(), port)
        })
        .collect()
}

fn view() -> View {
    View::new(
        "portwatch watch -lt".into(),
        String::new(),
        Duration::from_secs(1),
        vec![Column::Local],
    )
}

fn key(code: KeyCode) -> Input {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn typed(v: &mut View, text: &str) -> Flow {
    for c in text.chars() {
        assert_eq!(v.on_input(key(KeyCode::Char(c))), Flow::Continue);
    }
    v.on_input(key(KeyCode::Enter))
}

#[test]
fn new_rows_are_marked_for_a_few_reads_and_closed_ones_stay_struck() {
    let mut v = view();
    let r0 = reading(&[80]);
    v.apply(&[], &r0, true, "09:00:00");
    assert_eq!(screen(&v), [(" ", 80)], "the first read marks nothing");
    let r1 = read(&mut v, &r0, &[80, 81]);
    assert_eq!(screen(&v), [(" ", 80), ("+", 81)]);
    let r2 = read(&mut v, &r1, &[81]);
    assert_eq!(screen(&v), [("-", 80), ("+", 81)]);
    let r3 = read(&mut v, &r2, &[81]);
    assert_eq!(screen(&v), [("-", 80), ("+", 81)]);
    let r4 = read(&mut v, &r3, &[81]);
    assert_eq!(
        screen(&v),
        [("-", 80), (" ", 81)],
        "the + fades after three reads"
    );
    read(&mut v, &r4, &[81]);
    assert_eq!(screen(&v), [(" ", 81)], "the closed row goes");
    let m = v.model(&[]);
    assert_eq!((m.counts.opened, m.counts.closed, m.open), (1, 1, 1));
}

#[test]
fn a_typed_filter_is_sent_and_a_refused_one_stays_editable() {
    let mut v = view();
    assert_eq!(v.on_input(key(KeyCode::Char('/'))), Flow::Continue);
    assert_eq!(typed(&mut v, "sport = :"), Flow::Filter("sport = :".into()));
    v.filter_result(Err(
        "portwatch: bad filter\n  sport = :\n           ^ expected a port after ':'".into(),
    ));
    let rows = v.rows();
    let m = v.model(&rows);
    assert_eq!(m.edit, Some("sport = :"));
    assert_eq!(
        m.error,
        Some("  sport = :\n           ^ expected a port after ':'")
    );
    assert_eq!(m.filter, "", "the old filter stays");
    assert_eq!(typed(&mut v, "80"), Flow::Filter("sport = :80".into()));
    v.filter_result(Ok("sport = :80".into()));
    let rows = v.rows();
    let m = v.model(&rows);
    assert_eq!((m.filter, m.edit, m.error), ("sport = :80", None, None));
    // Esc leaves the editor without a change.
    v.on_input(key(KeyCode::Char('/')));
    v.on_input(key(KeyCode::Backspace));
    v.on_input(key(KeyCode::Esc));
    let rows = v.rows();
    assert_eq!(v.model(&rows).edit, None);
}

#[test]
fn keys_quit_pause_sort_and_help() {
    let mut v = view();
    v.apply(&[], &reading(&[90, 80, 85]), true, "09:00:00");
    assert_eq!(v.on_input(key(KeyCode::Char(' '))), Flow::Continue);
    assert!(v.paused());
    v.on_input(key(KeyCode::Char(' ')));
    assert!(!v.paused());
    let rows = v.rows();
    assert_eq!(v.model(&rows).sort, "as listed");
    v.on_input(key(KeyCode::Char('s')));
    let rows = v.rows();
    assert_eq!(v.model(&rows).sort, "local port");
    assert_eq!(screen(&v), [(" ", 80), (" ", 85), (" ", 90)]);
    v.on_input(key(KeyCode::Char('?')));
    let rows = v.rows();
    assert!(v.model(&rows).help);
    v.on_input(key(KeyCode::Char('x')));
    let rows = v.rows();
    assert!(!v.model(&rows).help, "any key closes the help");
    assert_eq!(v.on_input(key(KeyCode::Char('q'))), Flow::Quit);
    let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    v.on_input(key(KeyCode::Char('/')));
    assert_eq!(v.on_input(ctrl_c), Flow::Quit, "even while typing");
}
