//! Seed facts about ports that users expect a port tool to know: which classic protocols
//! carry credentials in clear text on their plain ports, and what is dangerous to expose.

/// One fact about a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Fact {
    /// "plaintext" (traffic, often credentials, unencrypted) or "note".
    pub kind: &'static str,
    pub text: &'static str,
}

const PLAIN: &str = "plaintext";
const NOTE: &str = "note";

/// (first port, last port, protocol or None for any, kind, text), sorted by first port.
#[rustfmt::skip]
const FACTS: &[(u16, u16, Option<&str>, &str, &str)] = &[
    (20, 21, Some("tcp"), PLAIN, "FTP sends logins and data unencrypted; prefer SFTP (ssh, 22) or FTPS (990)"),
    (23, 23, Some("tcp"), PLAIN, "Telnet sends everything, passwords included, unencrypted; use ssh (22)"),
    (25, 25, Some("tcp"), PLAIN, "SMTP is unencrypted unless the session upgrades with STARTTLS; submissions (465) is TLS from the start"),
    (69, 69, Some("udp"), PLAIN, "TFTP has no authentication and no encryption"),
    (80, 80, Some("tcp"), PLAIN, "HTTP is unencrypted; https is on 443"),
    (110, 110, Some("tcp"), PLAIN, "POP3 sends passwords unencrypted unless upgraded with STARTTLS; pop3s is on 995"),
    (143, 143, Some("tcp"), PLAIN, "IMAP sends passwords unencrypted unless upgraded with STARTTLS; imaps is on 993"),
    (161, 162, Some("udp"), PLAIN, "SNMP v1/v2c send community strings (passwords) unencrypted; SNMPv3 with privacy encrypts"),
    (389, 389, None, PLAIN, "LDAP binds are unencrypted unless upgraded with StartTLS; ldaps is on 636"),
    (512, 514, Some("tcp"), PLAIN, "rexec/rlogin/rsh: unencrypted, trust by host name; replaced by ssh"),
    (2375, 2375, Some("tcp"), PLAIN, "Docker API without TLS: anyone who can connect controls the host as root"),
    (5900, 5900, Some("tcp"), PLAIN, "VNC (RFB) is often unencrypted and weakly authenticated; tunnel it over ssh"),
    (6379, 6379, Some("tcp"), NOTE, "Redis has no TLS and no password by default; keep it on localhost"),
    (11211, 11211, None, NOTE, "memcached has no authentication by default; UDP exposure is abused for DDoS amplification"),
];

/// The facts about `port` (over `proto`, or any protocol when `None`).
pub fn facts(port: u16, proto: Option<&str>) -> Vec<Fact> {
    FACTS
        .iter()
        .filter(|f| f.0 <= port && port <= f.1)
        .filter(|f| match (proto, f.2) {
            (Some(p), Some(q)) => p == q,
            _ => true,
        })
        .map(|f| Fact {
            kind: f.3,
            text: f.4,
        })
        .collect()
}

/// Whether `port/proto` is a classic plaintext protocol on its plain port.
pub fn is_plaintext(port: u16, proto: &str) -> bool {
    facts(port, Some(proto)).iter().any(|f| f.kind == PLAIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_protocols_are_flagged() {
        for port in [21, 23, 110, 143, 80, 513] {
            assert!(is_plaintext(port, "tcp"), "{port}");
        }
        assert!(is_plaintext(161, "udp"));
        assert!(!is_plaintext(161, "tcp"));
        assert!(!is_plaintext(22, "tcp"));
        assert!(!is_plaintext(443, "tcp"));
        assert!(!facts(389, None).is_empty());
    }

    #[test]
    fn table_sorted() {
        for w in FACTS.windows(2) {
            assert!(w[0].0 <= w[1].0);
        }
        for f in FACTS {
            assert!(f.0 <= f.1);
        }
    }
}
