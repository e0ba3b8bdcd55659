//! The readers and the spelling that every comparison in netns_diff.rs rests on, checked on
//! fixed text (no namespace, no root).

use super::netns::{self, parse_ss};

/// The readers of ss's text, on lines ss 6.1 printed for this population (no root needed):
/// a mistake here would make both sides of every comparison above wrong in the same way.
#[test]
fn ss_text_is_read_field_by_field() {
    let tcp = "LISTEN     0      3               127.0.0.1:49211            0.0.0.0:*     \
               users:((\"python3\",pid=2673,fd=34),(\"python3\",pid=2468,fd=34)) ino:2325923 \
               sk:c4163 cgroup:unreachable:1 <->\n\
               LISTEN     0      11                      *:57323                  *:*     \
               users:((\"python3\",pid=2468,fd=5)) ino:2325720 sk:c4180 uid:1000 v6only:0 <->\n\
               TIME-WAIT  0      0                   [::1]:60520              [::1]:37215 \
               timer:(timewait,57sec,0) ino:0 sk:c4183\n";
    let rows = parse_ss("tcp", tcp, None);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[0].state.as_str(), rows[0].send_q, rows[0].inode),
        ("LISTEN", Some(3), Some(2325923))
    );
    assert_eq!(rows[0].local, "127.0.0.1:49211");
    assert_eq!(rows[0].remote, "0.0.0.0:*");
    let pids: Vec<(u64, u64)> = rows[0].owners.iter().map(|o| (o.pid, o.fd)).collect();
    assert_eq!(pids, vec![(2468, 34), (2673, 34)]);
    assert_eq!(rows[0].owners[0].comm, "python3");
    assert_eq!(
        (rows[1].local.as_str(), rows[1].v6only, rows[1].uid),
        ("*:57323", Some(false), Some(1000))
    );
    assert_eq!((rows[2].inode, rows[2].v6only), (Some(0), None));
    assert!(rows[2].owners.is_empty());

    // UDP without -a/-l: ss prints no State column.
    let udp = "0      0               127.0.0.1:38162 127.0.0.1:56703 ino:3065104 sk:1 <->\n";
    let rows = parse_ss("udp", udp, Some("ESTAB"));
    assert_eq!(
        (
            rows[0].state.as_str(),
            rows[0].recv_q,
            rows[0].local.as_str()
        ),
        ("ESTAB", Some(0), "127.0.0.1:38162")
    );

    // Unix: names with spaces; ss's `ino:` there is the socket file's inode on disk.
    let unix = "u_str LISTEN 1      6      /tmp/t/dir with space/stream sock 2325931 * 0       \
                users:((\"python3\",pid=2468,fd=42)) <-> ino:10010834 dev:0/65024 peers: 2325934\n\
                u_str ESTAB  0      768                                                 * 2325932 \
                * 2325933 users:((\"python3\",pid=2468,fd=43)) <->\n\
                u_str ESTAB  0      0                               @pwtest-2468-abstract 2325937 \
                * 2325936 <->\n";
    let rows = parse_ss("unix", unix, None);
    assert_eq!(rows[0].netid, "u_str");
    assert_eq!(rows[0].local, "/tmp/t/dir with space/stream sock");
    assert_eq!(
        (
            rows[0].inode,
            rows[0].peer_inode,
            rows[0].recv_q,
            rows[0].send_q
        ),
        (Some(2325931), None, Some(1), Some(6))
    );
    assert_eq!(
        (rows[1].local.as_str(), rows[1].inode, rows[1].peer_inode),
        ("*", Some(2325932), Some(2325933))
    );
    assert_eq!(rows[1].send_q, Some(768));
    assert_eq!(rows[2].local, "@pwtest-2468-abstract");
    assert!(rows[2].owners.is_empty());

    // Unix under a one-state filter (`state established`): no State column either.
    let rows = parse_ss(
        "unix",
        "u_dgr 15     0       /tmp/t/dir with space/dgram sock 3280538 * 0 <->\n",
        Some("ESTAB"),
    );
    assert_eq!(
        (rows[0].state.as_str(), rows[0].recv_q, rows[0].send_q),
        ("ESTAB", Some(15), Some(0))
    );
    assert_eq!(rows[0].local, "/tmp/t/dir with space/dgram sock");
    assert_eq!(rows[0].inode, Some(3280538));
}

/// ss's address spelling (misc/ss.c, inet_addr_print), which portwatch's JSON is rendered in.
#[test]
fn addresses_are_spelled_as_ss_spells_them() {
    let cases = [
        (("ipv4", "127.0.0.1", 80, None, None), "127.0.0.1:80"),
        (("ipv4", "0.0.0.0", 0, None, None), "0.0.0.0:*"),
        (("ipv6", "::1", 80, Some(true), None), "[::1]:80"),
        (("ipv6", "::", 80, Some(false), None), "*:80"),
        (("ipv6", "::", 80, Some(true), None), "[::]:80"),
        (("ipv6", "::", 0, None, None), "*:*"),
        (
            ("ipv6", "::ffff:127.0.0.1", 9, None, None),
            "[::ffff:127.0.0.1]:9",
        ),
        (
            ("ipv4", "127.0.0.53", 53, None, Some("lo")),
            "127.0.0.53%lo:53",
        ),
    ];
    for ((fam, addr, port, v6only, iface), want) in cases {
        assert_eq!(
            netns::ss_inet_addr(fam, addr, port, v6only, iface),
            want,
            "{fam} {addr} {port} {v6only:?}"
        );
    }
}

/// When ss drops its State column, the state is the one its filter allows.
#[test]
fn the_implied_state_is_the_one_state_the_filter_allows() {
    use netns::implied_state;
    assert_eq!(implied_state(&["-a"]), None);
    assert_eq!(implied_state(&["-l"]), None);
    assert_eq!(implied_state(&[]), Some("ESTAB"));
    assert_eq!(implied_state(&["-a", "state", "listening"]), Some("LISTEN"));
    assert_eq!(implied_state(&["-a", "state", "closed"]), Some("UNCONN"));
    assert_eq!(
        implied_state(&["-a", "state", "time-wait", "state", "syn-recv"]),
        None
    );
    assert_eq!(implied_state(&["-a", "exclude", "established"]), None);
    assert_eq!(implied_state(&["-a", "state", "connected"]), None);
}
