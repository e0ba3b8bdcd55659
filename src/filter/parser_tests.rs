//! Parser table tests: expression -> expected tree, and expression -> error column + message.

use super::ast::*;
use super::parse_str;
use crate::model::{Family, State, StateSet};
use std::net::IpAddr;

fn p(e: &str) -> Expr {
    match parse_str(e) {
        Ok(f) => f.expr().cloned().expect("non-empty"),
        Err(err) => panic!("{e:?} failed:\n{err}"),
    }
}

fn pred(p: Pred) -> Expr {
    Expr::Pred(p)
}
fn port(end: End, cmp: Cmp, n: u16) -> Expr {
    pred(Pred::Port {
        end,
        cmp,
        port: PortSpec::Num(n),
    })
}
fn sport(n: u16) -> Expr {
    port(End::Local, Cmp::Eq, n)
}
fn dport(n: u16) -> Expr {
    port(End::Remote, Cmp::Eq, n)
}
fn states(s: &[State]) -> Expr {
    pred(Pred::States(StateSet::of(s)))
}
fn pre(a: &str, len: u8) -> Prefix {
    Prefix {
        addr: a.parse::<IpAddr>().unwrap(),
        len,
    }
}
fn host(end: End, addrs: Vec<Prefix>, port: Option<PortSpec>) -> Expr {
    pred(Pred::Host {
        end,
        cond: HostCond::Inet {
            family: None,
            addrs,
            port,
        },
    })
}
fn and(a: Expr, b: Expr) -> Expr {
    Expr::and(a, b)
}
fn or(a: Expr, b: Expr) -> Expr {
    Expr::or(a, b)
}
fn not(a: Expr) -> Expr {
    Expr::not(a)
}

#[test]
fn issue_examples() {
    assert_eq!(
        p("state established ( dport = :443 or dport = :80 )"),
        and(states(&[State::ESTABLISHED]), or(dport(443), dport(80)))
    );
    assert_eq!(p("sport = :22"), sport(22));
}

#[test]
fn precedence_is_left_to_right_as_in_ss() {
    // ss 6.1: `sport = :2024 or sport = :1 and sport = :2` shows nothing, i.e. (a or b) and c.
    assert_eq!(
        p("sport :1 or sport :2 and sport :3"),
        and(or(sport(1), sport(2)), sport(3))
    );
    assert_eq!(
        p("sport :1 and sport :2 or sport :3"),
        or(and(sport(1), sport(2)), sport(3))
    );
    assert_eq!(
        p("sport :1 or sport :2 sport :3"),
        and(or(sport(1), sport(2)), sport(3))
    );
    assert_eq!(
        p("sport :1 or ( sport :2 and sport :3 )"),
        or(sport(1), and(sport(2), sport(3)))
    );
    // not binds to one term
    assert_eq!(p("not sport :1 or sport :2"), or(not(sport(1)), sport(2)));
    assert_eq!(p("! ( sport :1 or sport :2 )"), not(or(sport(1), sport(2))));
    assert_eq!(p("! ! sport :1"), not(not(sport(1))));
}

#[test]
fn every_operator_spelling() {
    for a in ["and", "&&", "&"] {
        assert_eq!(
            p(&format!("sport :1 {a} sport :2")),
            and(sport(1), sport(2)),
            "{a}"
        );
    }
    for o in ["or", "||", "|"] {
        assert_eq!(
            p(&format!("sport :1 {o} sport :2")),
            or(sport(1), sport(2)),
            "{o}"
        );
    }
    for n in ["not", "!"] {
        assert_eq!(p(&format!("{n} sport :1")), not(sport(1)), "{n}");
    }
    let cmps = [
        (Cmp::Eq, &["=", "==", "eq"][..]),
        (Cmp::Ne, &["!=", "ne", "neq"][..]),
        (Cmp::Lt, &["<", "lt"][..]),
        (Cmp::Le, &["<=", "le", "leq"][..]),
        (Cmp::Gt, &[">", "gt"][..]),
        (Cmp::Ge, &[">=", "ge", "geq"][..]),
    ];
    for (cmp, spellings) in cmps {
        for s in spellings {
            assert_eq!(
                p(&format!("dport {s} :80")),
                port(End::Remote, cmp, 80),
                "{s}"
            );
            assert_eq!(
                p(&format!("port {s} 80")),
                port(End::Either, cmp, 80),
                "{s}"
            );
        }
    }
    // The operator is optional for src/dst/sport/dport (ss's `eq: '=' | nothing`).
    assert_eq!(p("sport :22"), sport(22));
    assert_eq!(p("sport 22"), sport(22));
    assert_eq!(
        p("dst = 10.0.0.1"),
        host(End::Remote, vec![pre("10.0.0.1", 32)], None)
    );
    assert_eq!(
        p("dst != 10.0.0.1"),
        not(host(End::Remote, vec![pre("10.0.0.1", 32)], None))
    );
}

#[test]
fn glued_tokens() {
    assert_eq!(p("(dport=:443 or dport=:80)"), or(dport(443), dport(80)));
    assert_eq!(p("!(sport=:22)"), not(sport(22)));
    assert_eq!(p("sport!=:22"), port(End::Local, Cmp::Ne, 22));
    assert_eq!(p("sport >=1024"), port(End::Local, Cmp::Ge, 1024));
    assert_eq!(
        parse_str("( dport = :443 or dport = :80 )").unwrap().expr(),
        parse_str("(dport = :443 or dport = :80)").unwrap().expr()
    );
}

#[test]
fn host_values() {
    let any = |port| host(End::Local, vec![], port);
    assert_eq!(
        p("src 127.0.0.1"),
        host(End::Local, vec![pre("127.0.0.1", 32)], None)
    );
    assert_eq!(
        p("src 127.0.0.1/8"),
        host(End::Local, vec![pre("127.0.0.1", 8)], None)
    );
    assert_eq!(
        p("src 10/8"),
        host(End::Local, vec![pre("10.0.0.0", 8)], None)
    );
    assert_eq!(
        p("src 172.16/12"),
        host(End::Local, vec![pre("172.16.0.0", 12)], None)
    );
    assert_eq!(
        p("src 127.0.0.1:22"),
        host(
            End::Local,
            vec![pre("127.0.0.1", 32)],
            Some(PortSpec::Num(22))
        )
    );
    assert_eq!(
        p("src 10.0.0.0/8:22"),
        host(
            End::Local,
            vec![pre("10.0.0.0", 8)],
            Some(PortSpec::Num(22))
        )
    );
    assert_eq!(
        p("dst [::1]:80"),
        host(End::Remote, vec![pre("::1", 128)], Some(PortSpec::Num(80)))
    );
    assert_eq!(
        p("dst [::1]"),
        host(End::Remote, vec![pre("::1", 128)], None)
    );
    assert_eq!(
        p("src [::/0]:22"),
        host(End::Local, vec![pre("::", 0)], Some(PortSpec::Num(22)))
    );
    assert_eq!(
        p("src fe80::/10"),
        host(End::Local, vec![pre("fe80::", 10)], None)
    );
    // ss rejects these bare IPv6 forms; we take the whole word as an address.
    assert_eq!(p("src ::1"), host(End::Local, vec![pre("::1", 128)], None));
    assert_eq!(
        p("src ::ffff:127.0.0.1"),
        host(End::Local, vec![pre("::ffff:127.0.0.1", 128)], None)
    );
    // ...but when ss's split gives an address and a numeric port, ss's reading wins.
    assert_eq!(
        p("src 1::2:80"),
        host(End::Local, vec![pre("1::2", 128)], Some(PortSpec::Num(80)))
    );
    assert_eq!(p("src *:22"), any(Some(PortSpec::Num(22))));
    assert_eq!(p("src *22"), any(Some(PortSpec::Num(22))));
    assert_eq!(p("src :22"), any(Some(PortSpec::Num(22))));
    assert_eq!(p("src *"), any(None));
    assert_eq!(p("src *:*"), any(None));
    assert_eq!(
        p("src 0x7f.1"),
        host(End::Local, vec![pre("127.1.0.0", 32)], None)
    );
    assert_eq!(
        p("src localhost"),
        host(
            End::Local,
            vec![pre("127.0.0.1", 32), pre("::1", 128)],
            None
        )
    );
    assert_eq!(
        p("src inet6:localhost"),
        pred(Pred::Host {
            end: End::Local,
            cond: HostCond::Inet {
                family: Some(Family::Ipv6),
                addrs: vec![pre("::1", 128)],
                port: None
            }
        })
    );
    let unix = |g: &str| {
        pred(Pred::Host {
            end: End::Local,
            cond: HostCond::Unix(g.into()),
        })
    };
    assert_eq!(p("src unix:/run/*"), unix("/run/*"));
    assert_eq!(p("src /run/*.sock"), unix("/run/*.sock"));
    assert_eq!(p("src @/tmp/.X11*"), unix("@/tmp/.X11*"));
}

#[test]
fn port_values() {
    assert_eq!(p("sport = :0x16"), sport(22));
    assert_eq!(p("sport = :026"), sport(22));
    assert_eq!(
        p("dport = :*"),
        pred(Pred::Port {
            end: End::Remote,
            cmp: Cmp::Eq,
            port: PortSpec::Any
        })
    );
    let Expr::Pred(Pred::Port { port, .. }) = p("dport = :http") else {
        panic!("not a port")
    };
    assert_eq!(port, PortSpec::named("http", 9..13));
}

#[test]
fn state_words() {
    assert_eq!(p("state established"), states(&[State::ESTABLISHED]));
    assert_eq!(p("state ESTABLISHED"), states(&[State::ESTABLISHED]));
    assert_eq!(
        p("state established state listening"),
        states(&[State::ESTABLISHED, State::LISTEN])
    );
    let Expr::Pred(Pred::States(s)) = p("exclude listening exclude closed") else {
        panic!()
    };
    assert!(!s.contains(State::LISTEN) && !s.contains(State::CLOSE));
    assert!(s.contains(State::ESTABLISHED) && s.contains(State::TIME_WAIT));
    let Expr::Pred(Pred::States(s)) = p("exclude listening state listening") else {
        panic!()
    };
    assert!(s.contains(State::LISTEN), "a later state adds back");
    // Separated by an explicit operator they are two predicates.
    assert_eq!(
        p("state established and state listening"),
        and(states(&[State::ESTABLISHED]), states(&[State::LISTEN]))
    );
    assert_eq!(
        p("sport :22 state listening"),
        and(sport(22), states(&[State::LISTEN]))
    );
}

#[test]
fn portwatch_predicates() {
    assert_eq!(p("proc nginx*"), pred(Pred::Proc("nginx*".into())));
    assert_eq!(p("pid 42"), pred(Pred::Pid(42)));
    assert_eq!(p("pid != 42"), not(pred(Pred::Pid(42))));
    assert_eq!(p("user 0"), pred(Pred::User(UserSpec::Uid(0))));
    assert_eq!(
        p("user www-data"),
        pred(Pred::User(UserSpec::Name {
            name: "www-data".into(),
            uid: None
        }))
    );
    assert_eq!(p("service ssh"), pred(Pred::Service("ssh".into())));
    assert_eq!(p("scope loopback"), pred(Pred::Scope(Scope::Loopback)));
    assert_eq!(p("scope link-local"), pred(Pred::Scope(Scope::LinkLocal)));
    assert_eq!(p("scope = public"), pred(Pred::Scope(Scope::Public)));
    assert_eq!(p("autobound"), pred(Pred::Autobound));
    assert_eq!(p("dev 2"), pred(Pred::Dev(2)));
    assert_eq!(p("proc \\("), pred(Pred::Proc("(".into())));
    assert_eq!(p("netns blue"), pred(Pred::Netns("blue".into())));
    assert_eq!(
        p("netns net:[4026532177]"),
        pred(Pred::Netns("net:[4026532177]".into()))
    );
    assert_eq!(
        p("netns != netns-*"),
        not(pred(Pred::Netns("netns-*".into())))
    );
    assert_eq!(p("container web"), pred(Pred::Container("web".into())));
    assert_eq!(
        p("container = dba47a"),
        pred(Pred::Container("dba47a".into()))
    );
    assert_eq!(
        p("unit nginx.service"),
        pred(Pred::Unit("nginx.service".into()))
    );
    assert_eq!(p("host"), pred(Pred::HostNetns));
    assert_eq!(
        p("not host and sport = :80"),
        and(not(pred(Pred::HostNetns)), sport(80))
    );
}

#[test]
fn empty_filter_is_none() {
    assert!(parse_str("").unwrap().expr().is_none());
    assert!(parse_str("   ").unwrap().expr().is_none());
}

#[test]
fn unix_hosts_option_reads_every_host_as_a_glob() {
    use super::{parse_str_with, ParseOptions};
    let opts = ParseOptions { unix_hosts: true };
    let unix = |g: &str| {
        Some(pred(Pred::Host {
            end: End::Local,
            cond: HostCond::Unix(g.into()),
        }))
    };
    assert_eq!(
        parse_str_with("src *sock", opts).unwrap().expr().cloned(),
        unix("*sock")
    );
    assert_eq!(
        parse_str_with("src unix:/run/*", opts)
            .unwrap()
            .expr()
            .cloned(),
        unix("/run/*")
    );
    // Without the option, '*sock' is ss's "* with port sock" (a service name).
    assert_eq!(
        p("src *sock"),
        host(End::Local, vec![], Some(PortSpec::named("sock", 5..9)))
    );
}
