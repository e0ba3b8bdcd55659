//! The test's own sockets, all on loopback, and the expressions compared over them.

use crate::{proc_inet, Pair};
use portwatch::model::{Endpoint, Proto, State};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::time::Duration;

pub struct Fixture {
    /// Listener ports: IPv4, then IPv6 and IPv4-mapped when available. Every TCP socket of
    /// the test has one of them at one end.
    pub tcp_ports: Vec<u16>,
    pub udp_ports: Vec<u16>,
    pub dir_str: String,
    v4: u16,
    v6: Option<u16>,
    mapped: Option<u16>,
    _tcp: Vec<TcpStream>,
    _listeners: Vec<TcpListener>,
    _udp: Vec<UdpSocket>,
    _unix: (Vec<UnixListener>, Vec<UnixStream>, Vec<UnixDatagram>),
    _dir: tempfile::TempDir,
}

fn connect(l: &TcpListener, to: &str) -> (TcpStream, TcpStream) {
    let c = TcpStream::connect(to).expect("connect on loopback");
    let (a, _) = l.accept().expect("accept");
    (c, a)
}

/// Wait (bounded) until our sockets reached the states the expressions rely on.
fn wait_for(states: &[(u16, State)]) {
    for _ in 0..500 {
        let rows = proc_inet(Proto::Tcp);
        let seen = |(port, st): &(u16, State)| {
            rows.iter().any(|r| {
                r.sock.state == *st
                    && matches!(r.sock.local, Some(Endpoint::Inet { port: p, .. }) if p == *port)
            })
        };
        if states.iter().all(seen) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("our loopback sockets never reached {states:?}");
}

impl Fixture {
    pub fn new() -> Fixture {
        let l4 = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let v4 = l4.local_addr().unwrap().port();
        let mut tcp = Vec::new();
        let mut listeners = Vec::new();
        let (c1, a1) = connect(&l4, &format!("127.0.0.1:{v4}"));
        // Half-closed: the client is in FIN-WAIT-2, the server side in CLOSE-WAIT.
        let (c3, a3) = connect(&l4, &format!("127.0.0.1:{v4}"));
        c3.shutdown(Shutdown::Write).unwrap();
        let c3_port = c3.local_addr().unwrap().port();
        // Closed by the client first, then the server: the client ends in TIME-WAIT.
        let (c4, a4) = connect(&l4, &format!("127.0.0.1:{v4}"));
        let c4_port = c4.local_addr().unwrap().port();
        drop(c4);
        std::thread::sleep(Duration::from_millis(20));
        drop(a4);
        tcp.extend([c1, a1, c3, a3]);

        let mut v6 = None;
        if let Ok(l6) = TcpListener::bind("[::1]:0") {
            let p = l6.local_addr().unwrap().port();
            let (c, a) = connect(&l6, &format!("[::1]:{p}"));
            tcp.extend([c, a]);
            listeners.push(l6);
            v6 = Some(p);
        }
        let mut mapped = None;
        if let Ok(lm) = TcpListener::bind("[::ffff:127.0.0.1]:0") {
            let p = lm.local_addr().unwrap().port();
            let (c, a) = connect(&lm, &format!("127.0.0.1:{p}"));
            tcp.extend([c, a]);
            listeners.push(lm);
            mapped = Some(p);
        }
        listeners.push(l4);
        wait_for(&[(c3_port, State::FIN_WAIT2), (c4_port, State::TIME_WAIT)]);

        let u1 = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let q1 = u1.local_addr().unwrap().port();
        let u2 = UdpSocket::bind("127.0.0.1:0").unwrap();
        u2.connect(("127.0.0.1", q1)).unwrap();
        let mut udp = vec![u1, u2];
        let mut udp_ports = vec![q1];
        if let Ok(u3) = UdpSocket::bind("[::1]:0") {
            udp_ports.push(u3.local_addr().unwrap().port());
            udp.push(u3);
        }

        let dir = tempfile::Builder::new()
            .prefix("pw-filter-")
            .tempdir()
            .expect("tempdir");
        let dir_str = dir.path().to_string_lossy().into_owned();
        let srv = UnixListener::bind(dir.path().join("srv.sock")).expect("unix bind");
        let upper = UnixListener::bind(dir.path().join("Upper.sock")).unwrap();
        let cl = UnixStream::connect(dir.path().join("srv.sock")).unwrap();
        let (acc, _) = srv.accept().unwrap();
        let dg = UnixDatagram::bind(dir.path().join("dg.sock")).unwrap();

        let mut tcp_ports = vec![v4];
        tcp_ports.extend(v6);
        tcp_ports.extend(mapped);
        Fixture {
            tcp_ports,
            udp_ports,
            dir_str,
            v4,
            v6,
            mapped,
            _tcp: tcp,
            _listeners: listeners,
            _udp: udp,
            _unix: (vec![srv, upper], vec![cl, acc], vec![dg]),
            _dir: dir,
        }
    }

    /// One end of `p` is on one of `ports`.
    pub fn owns_inet(&self, ports: &[u16], p: &Pair) -> bool {
        let port = |s: &str| s.rsplit_once('/').and_then(|(_, p)| p.parse::<u16>().ok());
        [&p.0, &p.1]
            .iter()
            .any(|s| port(s).is_some_and(|x| ports.contains(&x)))
    }

    pub fn tcp_exprs(&self) -> Vec<String> {
        let p1 = self.v4;
        let mut v = vec![
            format!("sport = :{p1}"),
            format!("dport = :{p1}"),
            format!("sport == :{p1}"),
            format!("sport eq {p1}"),
            format!("sport :{p1}"),
            format!("sport != :{p1}"),
            format!("sport neq :{p1}"),
            format!("sport > :{p1}"),
            format!("sport gt :{p1}"),
            format!("sport < :{p1}"),
            format!("sport >= :{p1}"),
            format!("sport <= :{p1}"),
            format!("dport ge :{p1}"),
            format!("dport le :{p1}"),
            format!("dport lt :{p1}"),
            format!("! sport = :{p1}"),
            format!("not ( sport = :{p1} or dport = :{p1} )"),
            // ss groups and/or left to right: these differ from and-before-or precedence.
            format!("dport = :{p1} or sport = :{p1} and dport = :0"),
            format!("dport = :{p1} || sport = :{p1} && dport = :0"),
            format!("dport = :{p1} | sport = :{p1} & dport = :0"),
            format!("dport = :{p1} or sport = :{p1} dport = :0"),
            format!("sport = :{p1} and dport = :0 or dport = :{p1}"),
            format!("! dport = :0 and sport = :{p1}"),
            format!("( sport = :{p1} ) ( dst 127.0.0.1 )"),
            format!("state established ( dport = :{p1} or sport = :{p1} )"),
            format!("state listening sport = :{p1}"),
            "state established".into(),
            "state listening".into(),
            "state connected".into(),
            "state synchronized".into(),
            "state bucket".into(),
            "state big".into(),
            "state all".into(),
            "state time-wait".into(),
            "state fin-wait-2".into(),
            "state close-wait".into(),
            "state closed".into(),
            "state established state listening".into(),
            "exclude established".into(),
            "exclude listening exclude time-wait".into(),
            "exclude connected".into(),
            "state connected exclude time-wait".into(),
            "src 127.0.0.1".into(),
            format!("src 127.0.0.1:{p1}"),
            "src 127.0.0.0/8".into(),
            "src 127/8".into(),
            format!("src 127.0.0.1/8:{p1}"),
            "dst 127.0.0.1".into(),
            format!("dst 127.0.0.1:{p1}"),
            format!("src *:{p1}"),
            format!("src :{p1}"),
            format!("dst :{p1}"),
            "src *".into(),
            "src 0.0.0.0/0".into(),
            "dst 0.0.0.0".into(),
            format!("dport = :ssh or sport = :{p1}"),
            // Our sockets bound port 0 or connected: autobound for the kernel (no
            // SOCK_BINDPORT_LOCK) and in the ephemeral range for ss's user-space check.
            "autobound".into(),
            "not autobound".into(),
        ];
        if let Some(p2) = self.v6 {
            v.extend([
                "src [::1]".into(),
                format!("src [::1]:{p2}"),
                format!("dst [::1]:{p2}"),
                format!("src *:{p2}"),
                "src ::/0".into(),
                "src [::/0]".into(),
                format!("state established ( dport = :{p1} or dport = :{p2} )"),
                format!("sport = :{p2} or sport = :{p1}"),
                "dst [::]".into(),
            ]);
        }
        if let Some(p3) = self.mapped {
            v.extend([
                format!("src 127.0.0.1:{p3}"),
                format!("src [::ffff:127.0.0.1]:{p3}"),
                "src [::ffff:127.0.0.1]".into(),
                "dst [::ffff:127.0.0.0/104]".into(),
                format!("sport = :{p3}"),
                format!("dport = :{p3}"),
            ]);
        }
        v
    }

    pub fn udp_exprs(&self) -> Vec<String> {
        let q1 = self.udp_ports[0];
        vec![
            format!("sport = :{q1}"),
            format!("dport = :{q1}"),
            "state established".into(),
            "state closed".into(),
            "state listening".into(),
            "state connected".into(),
            "exclude closed".into(),
            "src 127.0.0.1".into(),
            "src [::1]".into(),
            format!("dst 127.0.0.1:{q1}"),
            "dst 0.0.0.0".into(),
        ]
    }

    pub fn unix_exprs(&self) -> Vec<String> {
        let d = &self.dir_str;
        vec![
            format!("src {d}/*"),
            format!("src unix:{d}/srv*"),
            format!("state listening src {d}/*.sock"),
            format!("state established src {d}/*.sock"),
            format!("src {d}/upper*"),
            format!("src {d}/[A-Z]*"),
            format!("src {d}/[!s]*"),
            format!("src {d}/??.sock"),
            format!("not src unix:{d}/dg*"),
            "state listening".into(),
            "state closed".into(),
            "src *".into(),
            "src *srv.sock".into(),
            "src *SRV*".into(),
        ]
    }
}
