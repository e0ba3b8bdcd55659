//! Table tests of the nftables evaluator on real `nft -j list ruleset` output: each fixture
//! in tests/fixtures/nft/ was printed by nft 1.0.6 (Debian 12) from the `.nft` file beside
//! it, loaded into a scratch network namespace (`iptables-nft.json` from iptables-nft
//! commands, listed in its test).

use super::nft::{Packet, Ruleset, L4};
use crate::audit::finding::FirewallVerdict::{self, Accepts, Drops, Unknown};

fn fixture(name: &str) -> Ruleset {
    let path = format!("{}/tests/fixtures/nft/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Ruleset::from_json(&serde_json::from_str(&text).expect("fixture is JSON")).expect("nft JSON")
}

/// (ipv6, l4, dport, daddr, iifname, expected)
type Case = (
    bool,
    L4,
    u16,
    Option<&'static str>,
    Option<&'static str>,
    FirewallVerdict,
);

fn check(rs: &Ruleset, table: &[Case]) {
    for &(ipv6, l4, dport, daddr, iif, want) in table {
        let pkt = Packet {
            ipv6,
            l4,
            dport,
            daddr: daddr.map(|a| a.parse().unwrap()),
            iifname: iif.map(String::from),
        };
        assert_eq!(rs.verdict(&pkt), want, "{pkt:?}");
    }
}

const V4: bool = false;
const V6: bool = true;
const TCP: L4 = L4::Tcp;
const UDP: L4 = L4::Udp;
const A: Option<&str> = Some("10.0.0.1");
const A6: Option<&str> = Some("fd00::1");
const ETH0: Option<&str> = Some("eth0");

#[test]
fn mixed_ruleset() {
    let rs = fixture("mixed.json");
    #[rustfmt::skip]
    let table: &[Case] = &[
        // ct state, iifname "lo", icmp: none applies to a new TCP connection from outside.
        (V4, TCP, 4444, A, ETH0, Drops),                // policy drop
        (V4, TCP, 23, A, ETH0, Drops),                  // tcp dport 23 drop
        (V6, TCP, 23, A6, ETH0, Drops),                 // inet: both families
        (V4, UDP, 23, A, ETH0, Drops),                  // tcp rule does not match udp: policy
        (V4, TCP, 80, A, ETH0, Accepts),                // anonymous set
        (V4, TCP, 8080, A, None, Accepts),              // any interface
        (V4, TCP, 22, A, ETH0, Accepts),                // named set @allowed
        (V4, TCP, 443, None, None, Accepts),
        (V4, TCP, 1500, A, ETH0, Accepts),              // range, with a counter
        (V4, TCP, 2001, A, ETH0, Drops),
        (V4, TCP, 25, A, ETH0, Accepts),                // ip daddr 10.0.0.1
        (V4, TCP, 25, Some("10.0.0.2"), ETH0, Drops),
        (V4, TCP, 25, None, ETH0, Unknown),             // which address: unknown
        (V6, TCP, 25, A6, ETH0, Drops),                 // `ip daddr` never matches IPv6
        (V4, TCP, 3306, A, ETH0, Unknown),              // ip saddr: accept or policy
        (V4, TCP, 5000, A, ETH0, Accepts),              // verdict map
        (V4, TCP, 5001, A, ETH0, Drops),
        (V4, TCP, 9, A, ETH0, Drops),                   // reject counts as not reachable
        (V4, UDP, 53, A, ETH0, Unknown),                // jump dns: saddr decides
        (V4, UDP, 54, A, ETH0, Accepts),                // jump dns2: accept in the callee
        (V4, TCP, 14, A, ETH0, Unknown),                // limit rate
        (V6, TCP, 12, A6, ETH0, Accepts),               // meta nfproto ipv6
        (V4, TCP, 12, A, ETH0, Drops),
        (V4, TCP, 13, A, ETH0, Accepts),                // th dport: tcp and udp
        (V4, UDP, 13, A, ETH0, Accepts),
        (V4, TCP, 15, A, ETH0, Unknown),                // meta mark set: not evaluated
        (V4, TCP, 16, A, ETH0, Accepts),                // concatenation
        (V4, TCP, 16, Some("10.0.0.2"), ETH0, Drops),
        (V4, TCP, 16, None, ETH0, Unknown),
        (V4, TCP, 17, A, ETH0, Accepts),                // goto g17 { accept }
        (V4, TCP, 18, A, Some("eth1"), Accepts),        // iifname "eth1"
        (V4, TCP, 18, A, ETH0, Drops),
        (V4, TCP, 18, A, None, Unknown),
        (V4, TCP, 19, A, ETH0, Accepts),
        // ip pre (prerouting) drops 99 although inet input accepts it; and 80 to 10.0.0.9.
        (V4, TCP, 99, A, ETH0, Drops),
        (V6, TCP, 99, A6, ETH0, Accepts),               // family ip: not for IPv6
        (V4, TCP, 80, Some("10.0.0.9"), ETH0, Drops),
    ];
    check(&rs, table);
}

#[test]
fn empty_ruleset_accepts_everything() {
    let rs = fixture("empty.json");
    check(
        &rs,
        &[
            (V4, TCP, 23, A, ETH0, Accepts),
            (V6, UDP, 53, None, None, Accepts),
        ],
    );
}

/// `iptables-nft -A INPUT -i lo -j ACCEPT; -p tcp --dport 2323 -j DROP; -p tcp -m multiport
/// --dports 8000,8001 -j ACCEPT; -m conntrack --ctstate ESTABLISHED -j ACCEPT; -P INPUT DROP;
/// -p tcp --dport 22 -j ACCEPT`: xt matches are opaque, native ones are evaluated.
#[test]
fn iptables_nft_rules() {
    let rs = fixture("iptables-nft.json");
    #[rustfmt::skip]
    check(&rs, &[
        (V4, TCP, 2323, A, ETH0, Drops),
        (V4, TCP, 22, A, ETH0, Accepts),   // both ways through the xt matches accept
        (V4, TCP, 8000, A, ETH0, Unknown), // multiport: accept, or on to the policy
        (V6, TCP, 2323, A6, ETH0, Accepts), // family ip: IPv6 is not filtered
    ]);
}

/// A dormant table (which nft 1.0.6 prints with its name as flags) and a netdev ingress
/// chain (printed without its device): neither can be placed, so what they would drop is
/// unknown, and what they accept stays accepted.
#[test]
fn tables_and_chains_nft_prints_wrongly_are_unknown() {
    let rs = fixture("quirks.json");
    check(
        &rs,
        &[
            (V4, TCP, 19, A, ETH0, Unknown),
            (V6, TCP, 19, A6, ETH0, Unknown),
        ],
    );
    let dormant = r#"{"nftables": [{"table": {"family": "ip", "name": "t", "flags": ["dormant"]}},
        {"chain": {"family": "ip", "table": "t", "name": "i", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}]}"#;
    let rs = Ruleset::from_json(&serde_json::from_str(dormant).unwrap()).unwrap();
    check(&rs, &[(V4, TCP, 1, A, ETH0, Accepts)]);
}

#[test]
fn not_nft_json_is_an_error() {
    for doc in [r#"{}"#, r#"{"nftables": 3}"#, r#"[1]"#] {
        assert!(
            Ruleset::from_json(&serde_json::from_str(doc).unwrap()).is_err(),
            "{doc}"
        );
    }
}

/// Unknown shapes (another schema's statements, a jump to a missing chain, malformed
/// elements) never produce accept or drop by accident.
#[test]
fn unknown_shapes_are_unknown() {
    let rule = |expr: &str| {
        format!(
            r#"{{"nftables": [{{"chain": {{"family": "inet", "table": "t", "name": "i", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}}},
            {{"rule": {{"family": "inet", "table": "t", "chain": "i", "expr": {expr}}}}}]}}"#
        )
    };
    let dport23 = r#"{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 23}}"#;
    for expr in [
        format!(r#"[{dport23}, {{"queue": {{"num": 1}}}}]"#),
        format!(r#"[{dport23}, {{"jump": {{"target": "missing"}}}}]"#),
        format!(r#"[{dport23}, {{"dnat": {{"addr": "10.0.0.2"}}}}]"#),
        r#"[{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}}, {"accept": null}]"#.to_string(),
        r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": "telnet"}}, {"accept": null}]"#.to_string(),
        r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": "@nosuchset"}}, {"accept": null}]"#.to_string(),
        r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"&": [1, 2]}}}, {"accept": null}]"#.to_string(),
        r#"[{"vmap": {"key": {"payload": {"protocol": "tcp", "field": "sport"}}, "data": {"set": [[23, {"accept": null}]]}}}]"#.to_string(),
        r#"[{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}}, {"accept": null}]"#.to_string(),
        r#"[17]"#.to_string(),
    ] {
        let rs = Ruleset::from_json(&serde_json::from_str(&rule(&expr)).unwrap()).unwrap();
        check(&rs, &[(V4, TCP, 23, A, ETH0, Unknown)]);
    }
}
