//! diff's text and JSON on hand-made differences: signs, words, escaping, the summary.

use super::*;
use crate::model::{Proto, State, UnixName};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn attrs(count: usize, users: &[&str], service: Option<&str>) -> Attrs {
    Attrs {
        count,
        users: users.iter().map(|u| u.to_string()).collect(),
        v6only: BTreeSet::new(),
        service: service.map(String::from),
    }
}

fn ident(what: What, program: &[&[u8]]) -> Ident {
    Ident {
        proto: Proto::Tcp,
        namespace: None,
        what,
        program: Some(program.iter().map(|p| Text::from(*p)).collect()),
    }
}

fn listen(addr: IpAddr, port: u16) -> What {
    What::Bound {
        state: State::LISTEN,
        local: Some(Endpoint::Inet { addr, port }),
    }
}

fn diffs() -> Vec<Difference> {
    vec![
        Difference {
            delta: Delta::Added,
            ident: ident(
                listen(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080),
                &[b"python3"],
            ),
            before: None,
            after: Some(attrs(1, &["root"], Some("http-alt"))),
        },
        Difference {
            delta: Delta::Removed,
            ident: ident(
                What::Served {
                    port: 443,
                    remote: "public",
                },
                &[b"evil\x1b[2J,x"],
            ),
            before: Some(attrs(3, &[], Some("https"))),
            after: None,
        },
        Difference {
            delta: Delta::Changed,
            ident: ident(listen(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 80), &[b"nginx"]),
            before: Some(attrs(1, &["root"], None)),
            after: Some(attrs(2, &["www-data"], None)),
        },
    ]
}

fn side(path: Option<&'static str>) -> Side<'static> {
    Side {
        path,
        host: Some("h1"),
        created: None,
    }
}

#[test]
fn lines_like_diff() {
    let mut out = Vec::new();
    write_text(&side(Some("base.json")), &side(None), &diffs(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "--- base.json (h1)\n\
         +++ now (h1)\n\
         + tcp LISTEN 0.0.0.0:8080 (http-alt)  python3\n\
         - tcp connections to :443 (https) from public addresses  evil\\e[2J\\x2cx  (3)\n\
         ~ tcp LISTEN [::]:80  nginx  user root -> www-data; sockets 1 -> 2\n"
    );
    let mut out = Vec::new();
    write_text(&side(Some("b")), &side(None), &[], &mut out).unwrap();
    assert!(out.is_empty(), "nothing when nothing differs");
}

#[test]
fn a_json_document_with_a_summary() {
    let mut out = Vec::new();
    write_json(&side(Some("base.json")), &side(None), &diffs(), &mut out).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["baseline"]["path"], "base.json");
    assert_eq!(doc["new"]["path"], serde_json::Value::Null);
    assert_eq!(
        doc["summary"],
        json!({"added": 1, "removed": 1, "changed": 1})
    );
    let d = &doc["differences"];
    assert_eq!(d[0]["kind"], "bound");
    assert_eq!(d[0]["local"], json!({"addr": "0.0.0.0", "port": 8080}));
    assert_eq!(d[0]["before"], serde_json::Value::Null);
    assert_eq!(d[0]["after"]["users"], json!(["root"]));
    assert_eq!(d[1]["kind"], "served");
    assert_eq!(d[1]["program"][0], "evil\u{1b}[2J,x");
    assert_eq!(d[2]["change"], "changed");
    assert_eq!(
        (&d[2]["before"]["count"], &d[2]["after"]["count"]),
        (&json!(1), &json!(2))
    );
}

#[test]
fn unix_names_and_invalid_utf8_programs() {
    let d = Difference {
        delta: Delta::Added,
        ident: Ident {
            proto: Proto::Unix,
            namespace: None,
            what: What::Bound {
                state: State::LISTEN,
                local: Some(Endpoint::Unix(UnixName {
                    abstract_ns: true,
                    name: b"bus\n\xff".as_slice().into(),
                })),
            },
            program: Some(vec![Text::from(b"\xffd".as_slice())]),
        },
        before: None,
        after: Some(attrs(1, &[], None)),
    };
    let mut out = Vec::new();
    write_text(&side(None), &side(None), std::slice::from_ref(&d), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("+ unix LISTEN @bus\\n\\xff  \\xffd\n"),
        "{text}"
    );
    let mut out = Vec::new();
    write_json(&side(None), &side(None), &[d], &mut out).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let d = &doc["differences"][0];
    assert_eq!(d["local"]["path_hex"], "40627573 0aff".replace(' ', ""));
    assert_eq!(d["program_hex"], json!(["ff64"]));
}
