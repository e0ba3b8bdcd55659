//! End to end on the fixture tree tests/fixtures/proc-basic (described in
//! tests/fixtures/README.md): the real binary, table, JSON and CSV. Expected values are written
//! from that description, not copied from portwatch's output. /etc/services and labels are
//! pinned (empty), so service names come from the embedded IANA registry only.

mod common;

use common::*;
use serde_json::{json, Value};

fn run(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "--proc-root",
            &fixture("proc-basic"),
            "--etc-services",
            "/dev/null",
        ])
        .args(args)
        .env("PORTWATCH_LABELS", dir.path().join("labels"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no warnings on a good tree"
    );
    out
}

fn rows(args: &[&str]) -> Vec<Vec<String>> {
    String::from_utf8(run(args).stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn lntp_table() {
    let got = rows(&["-lntp"]);
    let want: Vec<Vec<&str>> = vec![
        vec![
            "State",
            "Recv-Q",
            "Send-Q",
            "Local",
            "Address:Port",
            "Peer",
            "Address:Port",
            "Service",
            "Process",
        ],
        vec![
            "LISTEN",
            "0",
            "-",
            "0.0.0.0:22",
            "0.0.0.0:*",
            "ssh",
            "sshd(pid=412,fd=3)",
        ],
        vec![
            "LISTEN",
            "0",
            "-",
            "127.0.0.1:5432",
            "0.0.0.0:*",
            "postgresql",
            "postgres(pid=1200,fd=5),postgres(pid=1201,fd=5)",
        ],
        // /proc has no v6only: the [::] listener is not claimed to be dual-stack.
        vec![
            "LISTEN",
            "0",
            "-",
            "[::]:80",
            "[::]:*",
            "http",
            "nginx(pid=733,fd=6)",
        ],
        vec!["LISTEN", "0", "-", "[::1]:631", "[::]:*", "ipp", "-"],
    ];
    assert_eq!(got, want);
}

#[test]
fn header_off_and_extended_columns() {
    let got = rows(&["-ltneH", "sport", "=", ":5432"]);
    assert_eq!(
        got,
        vec![vec![
            "LISTEN",
            "0",
            "-",
            "127.0.0.1:5432",
            "0.0.0.0:*",
            "postgresql",
            "4242",
            "20002"
        ]]
    );
}

#[test]
fn connections_are_named_by_their_server_side() {
    // Default state set: connected sockets only (no LISTEN, no TIME-WAIT), as ss.
    let got = rows(&["-tnH"]);
    assert_eq!(
        got,
        vec![
            vec![
                "ESTAB",
                "0",
                "0",
                "127.0.0.1:5432",
                "127.0.0.1:50412",
                "postgresql"
            ],
            vec![
                "ESTAB",
                "0",
                "0",
                "127.0.0.1:50412",
                "127.0.0.1:5432",
                "postgresql"
            ],
        ]
    );
    let all = rows(&["-tanH", "state", "time-wait"]);
    assert_eq!(
        all,
        vec![vec![
            "TIME-WAIT",
            "0",
            "0",
            "127.0.0.1:5432",
            "127.0.0.1:50398",
            "postgresql"
        ]]
    );
}

#[test]
fn unix_table_keeps_spaces_and_abstract_names() {
    let text = String::from_utf8(run(&["-lxpH"]).stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // -l is ss's "listening": LISTEN streams and unconnected datagram sockets.
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().any(|l| l.starts_with("u_str LISTEN")
        && l.contains("/run/my app/sock 20030")
        && l.contains("nginx(pid=733,fd=7)")));
    assert!(lines.iter().any(|l| l.starts_with("u_str LISTEN")
        && l.contains("@portwatch-fixture 20031")
        && l.contains("postgres(pid=1200,fd=6)")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("u_dgr UNCONN") && l.contains("/run/systemd/notify 20035")));
}

#[test]
fn ipv4_only_does_not_guess_dual_stack() {
    let got = rows(&["-ltn4H"]);
    let locals: Vec<&str> = got.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(locals, ["0.0.0.0:22", "127.0.0.1:5432"]);
}

fn doc(args: &[&str]) -> Value {
    serde_json::from_slice(&run(args).stdout).expect("valid JSON")
}

#[test]
fn json_sockets() {
    let d = doc(&["-lntp", "--json"]);
    assert_eq!(d["schema"], 1);
    assert_eq!(d["warnings"], json!([]));
    let s = d["sockets"].as_array().unwrap();
    assert_eq!(s.len(), 4);
    assert_eq!(
        s[1],
        json!({
            "proto": "tcp", "family": "ipv4", "type": "stream", "state": "LISTEN",
            "local": {"addr": "127.0.0.1", "port": 5432},
            "remote": {"addr": "0.0.0.0", "port": 0},
            "recv_q": 0, "send_q": null, "inode": 20002, "uid": 4242, "user": null,
            "v6only": null, "iface": null,
            "owners": [
                {"pid": 1200, "comm": "postgres", "fd": 5, "uid": 4242},
                {"pid": 1201, "comm": "postgres", "fd": 5, "uid": 4242}
            ],
            "service": {"name": "postgresql", "source": "iana",
                        "description": "PostgreSQL Database", "origin": null},
            "port_info": {"port": 5432, "class": "registered", "ephemeral": false, "hint": null},
            // /proc/net carries none of the sock_diag extras.
            "cookie": null, "cgroup": null, "tcp_info": null, "skmem": null, "timer": null,
            "shutdown": null, "alerts": [],
            "netns": null, "container": null, "unit": "postgresql@15-main.service",
            "holder_netns_differs": null
        })
    );
    assert_eq!(s[0]["user"], "root");
    assert_eq!(s[2]["local"], json!({"addr": "::", "port": 80}));
    assert_eq!(s[2]["family"], "ipv6");
    assert_eq!(s[3]["owners"], json!([]), "scanned, none visible");
    assert_eq!(d["owner_scan"], "all-processes", "[::1]:631 has no holder");
    // nginx runs in a docker container; the tree has no docker state, so it has no name.
    assert_eq!(
        s[2]["container"],
        json!({"runtime": "docker",
               "id": "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970",
               "name": null, "pod": null, "namespace": null})
    );
    assert_eq!(
        s[2]["unit"],
        Value::Null,
        "its unified line is the daemon's unit"
    );
    assert_eq!(s[0]["unit"], "ssh.service");
    assert_eq!(
        (&s[3]["container"], &s[3]["unit"]),
        (&Value::Null, &Value::Null)
    );
}

#[test]
fn container_and_unit_filters_read_the_holders() {
    let inodes = |args: &[&str]| -> Vec<u64> {
        let d = doc(args);
        d["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["inode"].as_u64().unwrap())
            .collect()
    };
    // Without -p: the holders are found for the filter all the same.
    assert_eq!(
        inodes(&["-a", "--json", "container", "4f797c"]),
        [20010, 20030, 20034]
    );
    assert_eq!(inodes(&["-ltn", "--json", "unit", "postgresql@*"]), [20002]);
    assert_eq!(inodes(&["-ltn", "--json", "unit", "ssh.service"]), [20001]);
    assert_eq!(
        inodes(&["-atn", "--json", "unit", "session-*.scope"]),
        [20004]
    );
    // A fixture tree has no namespaces: no socket is the host's, none is another's.
    assert!(inodes(&["-a", "--json", "host"]).is_empty());
    assert!(inodes(&["-a", "--json", "netns", "*"]).is_empty());
}

#[test]
fn one_port_stops_early_and_keeps_fork_shared_owners() {
    // 5432 is held by postgres 1200 and its child 1201; the scan stops at them and never
    // reads psql (3000), then finds the other postgres through the family pass.
    let d = doc(&["-lntp", "--json", "sport", "=", ":5432"]);
    assert_eq!(d["owner_scan"], "stopped-early");
    let pids: Vec<&Value> = d["sockets"][0]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["pid"])
        .collect();
    assert_eq!(pids, [&json!(1200), &json!(1201)]);
    let all = doc(&["-lntp", "--json", "--all-owners", "sport", "=", ":5432"]);
    assert_eq!(all["owner_scan"], "all-processes");
    assert_eq!(all["sockets"][0]["owners"], d["sockets"][0]["owners"]);
    assert_eq!(doc(&["-lnt", "--json"])["owner_scan"], Value::Null);
}

#[test]
fn json_unix_and_time_wait() {
    let d = doc(&["-ax", "--json"]);
    let s = d["sockets"].as_array().unwrap();
    assert_eq!(s.len(), 7);
    let by_inode = |i: u64| s.iter().find(|x| x["inode"] == i).unwrap();
    assert_eq!(
        by_inode(20030)["local"],
        json!({"path": "/run/my app/sock"})
    );
    assert_eq!(by_inode(20030)["state"], "LISTEN");
    assert_eq!(
        by_inode(20031)["local"],
        json!({"path": "@portwatch-fixture"})
    );
    assert_eq!(by_inode(20032)["local"], Value::Null, "unnamed");
    assert_eq!(by_inode(20035)["type"], "dgram");
    assert_eq!(by_inode(20035)["state"], "UNCONN");
    assert_eq!(
        by_inode(20030)["owners"],
        Value::Null,
        "no -p: owners not scanned"
    );
    assert_eq!(by_inode(20030)["service"], Value::Null);
    let t = doc(&["-ta", "--json"]);
    let tw = t["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["state"] == "TIME-WAIT")
        .unwrap();
    assert_eq!(tw["inode"], 0);
    assert_eq!(tw["remote"], json!({"addr": "127.0.0.1", "port": 50398}));
}

#[test]
fn csv_output() {
    let text = String::from_utf8(
        run(&["-lp", "--csv", "sport", "=", ":5432", "or", "src", "/run/*"]).stdout,
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "proto,family,type,state,local_addr,local_port,remote_addr,remote_port,recv_q,send_q,inode,uid,user,v6only,service,service_source,port_class,ephemeral,owners,netns_inode,netns_name,netns_host,container_runtime,container_id,container_name,container_pod,container_namespace,unit,holder_netns_differs"
    );
    assert!(lines.contains(
        &"tcp,ipv4,stream,LISTEN,127.0.0.1,5432,0.0.0.0,0,0,,20002,4242,,,postgresql,iana,registered,false,\"postgres(pid=1200,fd=5),postgres(pid=1201,fd=5)\",,,,,,,,,postgresql@15-main.service,"
    ), "{text}");
    assert!(
        lines.contains(
            &"unix,unix,stream,LISTEN,/run/my app/sock,,,,,,20030,,,,,,,,\"nginx(pid=733,fd=7)\",,,,docker,4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970,,,,,"
        ),
        "{text}"
    );
    assert!(
        lines.contains(&"unix,unix,dgram,UNCONN,/run/systemd/notify,,,,,,20035,,,,,,,,,,,,,,,,,,"),
        "{text}"
    );
    assert_eq!(lines.len(), 4, "{text}");
}

#[test]
fn process_filters_use_owners_without_p() {
    let got = rows(&["-lntH", "proc", "postgres"]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0][3], "127.0.0.1:5432");
    let got = rows(&["-antH", "--pid", "3000"]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0][3], "127.0.0.1:50412");
    let got = rows(&["-ltnH", "--user", "4242"]);
    assert_eq!(got.len(), 1);
}
