//! What the audit knows about ports by number: plaintext login protocols, services meant to
//! stay private, and which protocol a port is expected to speak (to tell a probe's answer
//! is unexpected). Sorted `const` tables, each with a test that keeps them sorted.

use super::probe::Protocol;

/// (first port, last port, proto, name, why, fix): login and mail protocols that carry
/// passwords in clear text. SMTP is not here: it usually upgrades with STARTTLS, which only
/// the probe can see.
#[rustfmt::skip]
pub const PLAINTEXT_LOGIN: &[(u16, u16, &str, &str, &str, &str)] = &[
    (21, 21, "tcp", "ftp", "FTP sends user names and passwords unencrypted.", "Use SFTP (ssh) or FTPS, or bind it to 127.0.0.1."),
    (23, 23, "tcp", "telnet", "Telnet sends every keystroke, passwords included, unencrypted.", "Disable telnet and use ssh."),
    (110, 110, "tcp", "pop3", "POP3 sends passwords unencrypted unless each client upgrades with STARTTLS.", "Serve pop3s (995) only, or bind 110 to 127.0.0.1."),
    (143, 143, "tcp", "imap", "IMAP sends passwords unencrypted unless each client upgrades with STARTTLS.", "Serve imaps (993) only, or bind 143 to 127.0.0.1."),
    (161, 161, "udp", "snmp", "SNMP v1/v2c send their community string (a password) unencrypted.", "Use SNMPv3 with privacy, or allow only the monitoring hosts."),
    (512, 514, "tcp", "rexec/rlogin/rsh", "The r-services send passwords unencrypted and trust host names.", "Disable them and use ssh."),
    (5900, 5903, "tcp", "vnc", "VNC (RFB) is usually unencrypted and weakly authenticated.", "Bind it to 127.0.0.1 and tunnel it over ssh."),
];

/// (first port, last port, proto, name, why): services that expect a trusted network (no
/// authentication by default, or an API that controls the host). Beyond loopback they are
/// high on a public or wildcard address, medium on a private one.
#[rustfmt::skip]
pub const PRIVATE_SERVICES: &[(u16, u16, &str, &str, &str)] = &[
    (1433, 1433, "tcp", "mssql", "A database server answers anyone who can reach it, password guessing included."),
    (2375, 2375, "tcp", "docker-api", "The Docker API without TLS gives anyone who connects root on the host."),
    (2376, 2376, "tcp", "docker-api-tls", "The Docker API controls the host as root; only its TLS client check stands in the way."),
    (2379, 2380, "tcp", "etcd", "etcd holds a cluster's secrets and state and often runs without client authentication."),
    (3306, 3306, "tcp", "mysql", "A database server answers anyone who can reach it, password guessing included."),
    (5432, 5432, "tcp", "postgresql", "A database server answers anyone who can reach it, password guessing included."),
    (5984, 5984, "tcp", "couchdb", "CouchDB's HTTP API exposes the databases to anyone who can reach it."),
    (6379, 6379, "tcp", "redis", "Redis has no password by default and can be made to write files as its user."),
    (8086, 8086, "tcp", "influxdb", "InfluxDB's HTTP API often runs without authentication."),
    (9042, 9042, "tcp", "cassandra", "Cassandra's native protocol often runs without authentication."),
    (9090, 9091, "tcp", "prometheus", "Prometheus and its pushgateway expose metrics and an admin API without authentication."),
    (9093, 9093, "tcp", "alertmanager", "Alertmanager's API lets anyone silence alerts."),
    (9100, 9100, "tcp", "node-exporter", "A Prometheus exporter tells anyone the host's inventory and load."),
    (9104, 9104, "tcp", "mysqld-exporter", "A Prometheus exporter tells anyone the database's internals."),
    (9115, 9115, "tcp", "blackbox-exporter", "The blackbox exporter probes any target it is asked to, for anyone."),
    (9121, 9121, "tcp", "redis-exporter", "A Prometheus exporter tells anyone the cache's internals."),
    (9187, 9187, "tcp", "postgres-exporter", "A Prometheus exporter tells anyone the database's internals."),
    (9200, 9200, "tcp", "elasticsearch", "Elasticsearch's HTTP API has often no authentication and holds the data."),
    (9229, 9229, "tcp", "node-inspector", "A Node.js inspector port runs any code it is sent, as the process."),
    (9300, 9300, "tcp", "elasticsearch-transport", "Elasticsearch's transport port is meant for cluster nodes only."),
    (10250, 10250, "tcp", "kubelet", "The kubelet API can run commands in every pod of the node."),
    (10255, 10255, "tcp", "kubelet-readonly", "The kubelet read-only port lists every pod, without authentication."),
    (11211, 11211, "tcp", "memcached", "memcached has no authentication: anyone can read and change the cache."),
    (11211, 11211, "udp", "memcached", "memcached over UDP is abused for large DDoS amplification."),
    (11434, 11434, "tcp", "ollama", "The Ollama API runs models and pulls files for anyone, without authentication."),
    (27017, 27019, "tcp", "mongodb", "MongoDB answers anyone who can reach it and has run without authentication by default."),
];

/// (port, protocol expected there): ports whose service speaks a protocol the probe can
/// recognise. A plaintext answer on a port that expects something else is unexpected.
#[rustfmt::skip]
const EXPECTED: &[(u16, Protocol)] = &[
    (21, Protocol::Ftp),
    (22, Protocol::Ssh),
    (23, Protocol::Telnet),
    (25, Protocol::Smtp),
    (80, Protocol::Http),
    (110, Protocol::Pop3),
    (143, Protocol::Imap),
    (443, Protocol::Tls),
    (465, Protocol::Tls),
    (587, Protocol::Smtp),
    (636, Protocol::Tls),
    (853, Protocol::Tls),
    (990, Protocol::Tls),
    (992, Protocol::Tls),
    (993, Protocol::Tls),
    (995, Protocol::Tls),
    (5900, Protocol::Vnc),
    (5986, Protocol::Tls),
    (6443, Protocol::Tls),
    (8443, Protocol::Tls),
    (10250, Protocol::Tls),
];

fn in_range<'a, T>(
    table: &'a [T],
    port: u16,
    proto: &str,
    key: impl Fn(&T) -> (u16, u16, &str),
) -> Option<&'a T> {
    table.iter().find(|e| {
        let (lo, hi, p) = key(e);
        lo <= port && port <= hi && p == proto
    })
}

/// The plaintext login protocol registered on `proto/port`: (name, why, fix).
pub fn plaintext_login(
    port: u16,
    proto: &str,
) -> Option<(&'static str, &'static str, &'static str)> {
    in_range(PLAINTEXT_LOGIN, port, proto, |e| (e.0, e.1, e.2)).map(|e| (e.3, e.4, e.5))
}

/// The service meant to stay private on `proto/port`: (name, why).
pub fn private_service(port: u16, proto: &str) -> Option<(&'static str, &'static str)> {
    in_range(PRIVATE_SERVICES, port, proto, |e| (e.0, e.1, e.2)).map(|e| (e.3, e.4))
}

/// The protocol a TCP port is expected to speak, when the catalog knows one.
pub fn expected(port: u16) -> Option<Protocol> {
    EXPECTED
        .binary_search_by_key(&port, |e| e.0)
        .ok()
        .map(|i| EXPECTED[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sorted_and_well_formed() {
        for w in PLAINTEXT_LOGIN.windows(2) {
            assert!(w[0].1 < w[1].0, "{} {}", w[0].3, w[1].3);
        }
        for w in PRIVATE_SERVICES.windows(2) {
            assert!((w[0].0, w[0].2) < (w[1].0, w[1].2), "{} {}", w[0].3, w[1].3);
        }
        for w in EXPECTED.windows(2) {
            assert!(w[0].0 < w[1].0);
        }
        for e in PLAINTEXT_LOGIN {
            assert!(e.0 <= e.1 && e.4.ends_with('.') && e.5.ends_with('.'));
        }
        for e in PRIVATE_SERVICES {
            assert!(e.0 <= e.1 && e.4.ends_with('.'));
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(plaintext_login(23, "tcp").map(|e| e.0), Some("telnet"));
        assert_eq!(
            plaintext_login(513, "tcp").map(|e| e.0),
            Some("rexec/rlogin/rsh")
        );
        assert_eq!(plaintext_login(23, "udp"), None);
        assert_eq!(plaintext_login(161, "udp").map(|e| e.0), Some("snmp"));
        assert_eq!(plaintext_login(22, "tcp"), None);
        assert_eq!(private_service(6379, "tcp").map(|e| e.0), Some("redis"));
        assert_eq!(
            private_service(11211, "udp").map(|e| e.0),
            Some("memcached")
        );
        assert_eq!(private_service(27018, "tcp").map(|e| e.0), Some("mongodb"));
        assert_eq!(private_service(6379, "udp"), None);
        assert_eq!(expected(443), Some(Protocol::Tls));
        assert_eq!(expected(23), Some(Protocol::Telnet));
        assert_eq!(expected(8080), None);
    }
}
