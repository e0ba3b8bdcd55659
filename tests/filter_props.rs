//! Property tests: no input makes the filter parser (or the evaluator on what it accepts)
//! panic, and error spans always lie inside the expression on character boundaries.

use portwatch::filter::{parse, parse_str, FilterError};
use portwatch::model::OptU32;
use portwatch::model::Row;
use portwatch::model::{Endpoint, Family, Proto, SockType, Socket, State};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "state",
    "exclude",
    "excl",
    "established",
    "listening",
    "all",
    "bogus",
    "src",
    "dst",
    "sport",
    "dport",
    "port",
    "proc",
    "pid",
    "user",
    "service",
    "scope",
    "autobound",
    "dev",
    "and",
    "or",
    "not",
    "&&",
    "||",
    "&",
    "|",
    "!",
    "(",
    ")",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "eq",
    "ne",
    "lt",
    "gt",
    "le",
    "ge",
    ":22",
    ":http",
    ":",
    "*",
    "*:80",
    "22",
    "127.0.0.1",
    "127.0.0.1/8",
    "[::1]:80",
    "[::1",
    "::1",
    "10/8",
    "unix:/run/*",
    "/tmp/*",
    "@x",
    "inet:1.2.3.4",
    "inet6:",
    "link:eth0",
    "loopback",
    "0x16",
    "99999",
    "é",
    "日本",
    "\\",
    "\\(",
    "(dport=:443",
    ":80)",
    "sport!=:22",
    "[!a]",
    "localhost",
    "",
];

fn check(expr: &str, result: Result<portwatch::filter::Filter, FilterError>) {
    match result {
        Ok(f) => {
            let row = row();
            let _ = f.matches(&row);
            let _ = f.state_override();
            let _ = f.needs_owners();
            let mut f = f;
            let _ = f.resolve(&|n, _| (n.len() % 2 == 0).then_some(80));
            let _ = f.matches(&row);
        }
        Err(e) => {
            assert!(e.span.start <= e.span.end, "{expr:?}: {e:?}");
            assert!(e.span.end <= e.expr.len(), "{expr:?}: {e:?}");
            assert!(e.expr.is_char_boundary(e.span.start), "{expr:?}: {e:?}");
            assert!(e.expr.is_char_boundary(e.span.end), "{expr:?}: {e:?}");
            assert!(!e.message.is_empty());
            let _ = e.to_string();
        }
    }
}

fn row() -> Row {
    Row {
        owners: Some(Vec::new().into()),
        ..Row::new(Socket {
            local: Some(Endpoint::Inet {
                addr: "::ffff:127.0.0.1".parse().unwrap(),
                port: 22,
            }),
            inode: 1,
            uid: OptU32::some(0),
            v6only: Some(false),
            ..Socket::new(
                Proto::Tcp,
                Family::Ipv6,
                SockType::Stream,
                State::ESTABLISHED,
            )
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,80}") {
        check(&s, parse_str(&s));
    }

    #[test]
    fn arbitrary_bytes_as_text_never_panic(v in proptest::collection::vec(any::<u8>(), 0..60)) {
        let s = String::from_utf8_lossy(&v).into_owned();
        check(&s, parse_str(&s));
    }

    #[test]
    fn arbitrary_token_sequences_never_panic(
        idx in proptest::collection::vec(0..WORDS.len(), 0..14),
        glue in proptest::collection::vec(any::<bool>(), 14),
    ) {
        // Tokens as separate words, and glued to their neighbour.
        let words: Vec<String> = idx.iter().map(|&i| WORDS[i].to_string()).collect();
        let joined = words.join(" ");
        check(&joined, parse(&words));
        let mut glued = String::new();
        for (k, w) in words.iter().enumerate() {
            if k > 0 && !glue[k] {
                glued.push(' ');
            }
            glued.push_str(w);
        }
        check(&glued, parse_str(&glued));
    }
}
