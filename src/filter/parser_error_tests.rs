//! Parser error table: expression -> caret column, caret width and what was expected.

use super::parse_str;

/// (expression, caret column in bytes, caret width, message fragment)
#[test]
fn error_table() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("sport = :", 9, 0, "expected a port after ':'"),
        ("sport = :99999", 9, 5, "port out of range"),
        (
            "sport = :99999999999999999999999",
            9,
            23,
            "port out of range",
        ),
        (
            "sport = :a(b",
            9,
            3,
            "expected a port number or service name",
        ),
        ("sport =", 7, 0, "expected a port"),
        ("sport = or", 8, 2, "expected a port"),
        ("state", 5, 0, "expected a state name"),
        ("state bogus", 6, 5, "unknown state 'bogus'"),
        ("( sport = :22", 0, 1, "expected a ')' to close this '('"),
        ("sport = :22 )", 12, 1, "unexpected ')'"),
        ("()", 1, 1, "inside the parentheses"),
        ("sport :1 and", 12, 0, "expected a filter term after 'and'"),
        ("not", 3, 0, "expected a filter term after 'not'"),
        ("bogus", 0, 5, "expected a filter term"),
        ("established", 0, 11, "did you mean 'state established'"),
        ("src 300.1.2.3", 4, 9, "expected an address"),
        ("src [::1", 4, 4, "expected ']'"),
        ("src [::1]x", 9, 1, "expected ':PORT' after ']'"),
        ("src 1.2.3.4/33", 4, 10, "expected an address"),
        ("src link:eth0", 4, 5, "tcp, udp, raw and unix"),
        ("src >= 1.2.3.4", 4, 2, "takes '=' or '!='"),
        ("sport < *", 8, 1, "cannot be ordered"),
        ("pid abc", 4, 3, "expected a process id"),
        ("scope galaxy", 6, 6, "expected loopback"),
        ("proc", 4, 0, "expected a process name"),
        ("src inet:::1", 9, 3, "IPv4"),
        (":22", 0, 3, "did you mean 'port :22'"),
        ("127.0.0.1", 0, 9, "did you mean 'src 127.0.0.1'"),
        ("sport = :22 foo", 12, 3, "expected a filter term"),
        ("netns", 5, 0, "expected a network namespace name"),
        ("container < web", 10, 1, "takes '=' or '!='"),
        ("unit", 4, 0, "expected a systemd unit name"),
        ("host web", 5, 3, "expected a filter term"),
    ];
    for (expr, col, width, msg) in cases {
        let err = match parse_str(expr) {
            Ok(f) => panic!("{expr:?} parsed as {:?}", f.expr()),
            Err(e) => e,
        };
        assert_eq!(err.span.start, *col, "{expr:?}: {err}");
        assert_eq!(err.span.len(), *width, "{expr:?}: {err}");
        assert!(err.message.contains(msg), "{expr:?}: {err}");
    }
}

#[test]
fn rendered_error_has_the_expression_and_a_caret() {
    let words: Vec<String> = ["-x", "sport", "=", ":"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let err = super::parse(&words[1..]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "portwatch: bad filter\n  sport = :\n           ^ expected a port after ':'"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = "( ".repeat(10_000) + "sport :1" + &" )".repeat(10_000);
    assert!(parse_str(&deep).is_err());
    let nots = "! ".repeat(10_000) + "sport :1";
    assert!(parse_str(&nots).is_err());
    let long = vec!["sport :1"; 5000].join(" or ");
    assert!(parse_str(&long).is_err());
}
