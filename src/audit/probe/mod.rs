//! `--probe`: what a port answers, rather than what its number suggests. Pure here: the
//! bytes a listener sent back are classified; `connect` does the talking.
//!
//! Three short exchanges, each on its own connection, stopping at the first that tells:
//! 1. wait for a greeting (SSH, SMTP, FTP, POP3, IMAP, VNC and telnet servers speak first);
//!    on a `220` greeting, send `EHLO` to tell SMTP (and its STARTTLS) from FTP; after a
//!    POP3 greeting ask `CAPA`, after an IMAP one `CAPABILITY` (unless the greeting lists
//!    them), to see whether the server offers STARTTLS;
//! 2. send a TLS ClientHello (made by rustls) and look for a ServerHello or an alert;
//! 3. send an HTTP request and look for an HTTP status line.
//!
//! Silence or anything else is `Unknown`: never a guess from the port number.

pub mod connect;

use serde::{Serialize, Serializer};

/// What answered on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tls,
    Ssh,
    Http,
    /// An SMTP server (the `Smtp` variant as catalog expectation matches any STARTTLS).
    Smtp,
    /// An SMTP server whose EHLO reply does not offer STARTTLS: passwords go in clear.
    SmtpNoStarttls,
    Ftp,
    /// A POP3 server that does not offer STLS (RFC 2595): passwords go in clear.
    Pop3,
    /// A POP3 server that offers STLS. Whether it refuses a login before the upgrade is not
    /// checked.
    Pop3Starttls,
    /// An IMAP server whose capabilities lack STARTTLS: passwords go in clear.
    Imap,
    /// An IMAP server that offers STARTTLS (LOGINDISABLED before it is not checked).
    ImapStarttls,
    Telnet,
    Vnc,
    /// Silent, or an answer portwatch does not recognise.
    Unknown,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tls => "tls",
            Protocol::Ssh => "ssh",
            Protocol::Http => "http",
            Protocol::Smtp => "smtp",
            Protocol::SmtpNoStarttls => "smtp-no-starttls",
            Protocol::Ftp => "ftp",
            Protocol::Pop3 => "pop3",
            Protocol::Pop3Starttls => "pop3-starttls",
            Protocol::Imap => "imap",
            Protocol::ImapStarttls => "imap-starttls",
            Protocol::Telnet => "telnet",
            Protocol::Vnc => "vnc",
            Protocol::Unknown => "unknown",
        }
    }

    /// Carries its traffic unencrypted (identified and not TLS or SSH).
    pub fn plaintext(self) -> bool {
        !matches!(self, Protocol::Tls | Protocol::Ssh | Protocol::Unknown)
    }

    /// A plaintext protocol that carries logins or mail passwords.
    pub fn plaintext_login(self) -> bool {
        matches!(
            self,
            Protocol::SmtpNoStarttls
                | Protocol::Ftp
                | Protocol::Pop3
                | Protocol::Imap
                | Protocol::Telnet
                | Protocol::Vnc
        )
    }

    /// Whether an answer is the protocol `expected` names (with or without STARTTLS).
    pub fn is(self, expected: Protocol) -> bool {
        self == expected
            || matches!(
                (expected, self),
                (Protocol::Smtp, Protocol::SmtpNoStarttls)
                    | (Protocol::Pop3, Protocol::Pop3Starttls)
                    | (Protocol::Imap, Protocol::ImapStarttls)
            )
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What a greeting (bytes the server sent before we said anything) shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    Is(Protocol),
    /// `220 ...`: SMTP or FTP; `EHLO` tells them apart.
    Ready220,
    Unrecognised,
}

fn starts_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn contains_ci(b: &[u8], needle: &[u8]) -> bool {
    b.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Classify a server's greeting.
pub fn classify_greeting(b: &[u8]) -> Greeting {
    // Telnet servers open with option negotiation: IAC (255) then WILL/WONT/DO/DONT.
    if b.len() >= 2 && b[0] == 0xff && (0xfb..=0xfe).contains(&b[1]) {
        return Greeting::Is(Protocol::Telnet);
    }
    let table: &[(&[u8], Protocol)] = &[
        (b"SSH-", Protocol::Ssh),
        (b"RFB ", Protocol::Vnc),
        (b"+OK", Protocol::Pop3),
        (b"* OK", Protocol::Imap),
        (b"* PREAUTH", Protocol::Imap),
        (b"HTTP/", Protocol::Http),
    ];
    if let Some((_, p)) = table.iter().find(|(prefix, _)| starts_ci(b, prefix)) {
        return Greeting::Is(*p);
    }
    if b.starts_with(b"220 ") || b.starts_with(b"220-") {
        return Greeting::Ready220;
    }
    Greeting::Unrecognised
}

/// After a `220` greeting and our `EHLO`: SMTP (with or without STARTTLS) or FTP. An FTP
/// server refuses EHLO (5xx); a `220` that names neither and refuses is FTP only when its
/// greeting says FTP, else unknown.
pub fn classify_ehlo(greeting: &[u8], reply: &[u8]) -> Protocol {
    if reply.starts_with(b"250") {
        // Multi-line: `250-STARTTLS` or a last line `250 STARTTLS`.
        let starttls = reply
            .split(|&c| c == b'\n')
            .any(|l| l.len() > 4 && starts_ci(l[4..].trim_ascii(), b"STARTTLS"));
        return if starttls {
            Protocol::Smtp
        } else {
            Protocol::SmtpNoStarttls
        };
    }
    if contains_ci(greeting, b"FTP") {
        Protocol::Ftp
    } else if contains_ci(greeting, b"SMTP") {
        Protocol::Smtp
    } else {
        Protocol::Unknown
    }
}

/// After a POP3 greeting and our `CAPA` (RFC 2449): `STLS` among the capabilities (RFC
/// 2595) means STARTTLS is offered. A server without CAPA (`-ERR`) offers none we can see.
pub fn classify_pop3_capa(reply: &[u8]) -> Protocol {
    let stls = starts_ci(reply, b"+OK")
        && reply.split(|&c| c == b'\n').skip(1).any(|l| {
            let w = l.trim_ascii();
            starts_ci(w, b"STLS") && w.get(4).is_none_or(|c| *c == b' ')
        });
    if stls {
        Protocol::Pop3Starttls
    } else {
        Protocol::Pop3
    }
}

/// Whether IMAP text lists STARTTLS among its capabilities: a `CAPABILITY` response code in
/// the greeting (`* OK [CAPABILITY IMAP4rev1 STARTTLS ...]`) or an untagged `* CAPABILITY`
/// line (RFC 3501 7.2.1).
pub fn imap_offers_starttls(b: &[u8]) -> bool {
    b.split(|&c| c == b'\n').any(|line| {
        let words: Vec<&[u8]> = line
            .split(|c| c.is_ascii_whitespace() || *c == b'[' || *c == b']')
            .filter(|w| !w.is_empty())
            .collect();
        let cap = words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(b"CAPABILITY"));
        cap.is_some_and(|i| {
            words[i + 1..]
                .iter()
                .any(|w| w.eq_ignore_ascii_case(b"STARTTLS"))
        })
    })
}

/// An IMAP server from its greeting and, when the greeting listed no STARTTLS, the reply to
/// our `CAPABILITY`.
pub fn classify_imap(greeting: &[u8], reply: &[u8]) -> Protocol {
    if imap_offers_starttls(greeting) || imap_offers_starttls(reply) {
        Protocol::ImapStarttls
    } else {
        Protocol::Imap
    }
}

/// The answer to our ClientHello: a TLS record, or an HTTP server complaining.
pub fn classify_tls_reply(b: &[u8]) -> Option<Protocol> {
    // Record header: type, version major 3, minor 0-4, length (RFC 8446 5.1).
    let tls_record = |t: u8| b.len() >= 5 && b[0] == t && b[1] == 3 && b[2] <= 4;
    // A handshake record whose first message is a ServerHello (type 2), or an alert (21):
    // a TLS stack that refused our offer is TLS all the same.
    if (tls_record(22) && b.get(5) == Some(&2)) || tls_record(21) {
        return Some(Protocol::Tls);
    }
    if starts_ci(b, b"HTTP/") {
        return Some(Protocol::Http);
    }
    None
}

/// The answer to our HTTP request.
pub fn classify_http_reply(b: &[u8]) -> Option<Protocol> {
    if starts_ci(b, b"HTTP/1.") || starts_ci(b, b"HTTP/2") {
        return Some(Protocol::Http);
    }
    classify_tls_reply(b).filter(|p| *p == Protocol::Tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings() {
        let table: &[(&[u8], Greeting)] = &[
            (
                b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
                Greeting::Is(Protocol::Ssh),
            ),
            (b"RFB 003.008\n", Greeting::Is(Protocol::Vnc)),
            (b"+OK Dovecot ready.\r\n", Greeting::Is(Protocol::Pop3)),
            (
                b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n",
                Greeting::Is(Protocol::Imap),
            ),
            (b"* PREAUTH ready\r\n", Greeting::Is(Protocol::Imap)),
            (b"\xff\xfd\x18\xff\xfd\x20", Greeting::Is(Protocol::Telnet)),
            (b"220 (vsFTPd 3.0.3)\r\n", Greeting::Ready220),
            (b"220-mail.example ESMTP Postfix\r\n", Greeting::Ready220),
            (
                b"HTTP/1.1 400 Bad Request\r\n",
                Greeting::Is(Protocol::Http),
            ),
            (b"\xff", Greeting::Unrecognised),
            (b"hello", Greeting::Unrecognised),
            (b"", Greeting::Unrecognised),
            (b"22", Greeting::Unrecognised),
        ];
        for (bytes, want) in table {
            assert_eq!(
                classify_greeting(bytes),
                *want,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn ehlo_tells_smtp_from_ftp() {
        let postfix = b"220 mx.example ESMTP Postfix (Debian/GNU)\r\n";
        let with_tls = b"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n";
        let last_tls = b"250-mx.example\r\n250 STARTTLS\r\n";
        let without = b"250-mx.example\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n";
        assert_eq!(classify_ehlo(postfix, with_tls), Protocol::Smtp);
        assert_eq!(classify_ehlo(postfix, last_tls), Protocol::Smtp);
        assert_eq!(classify_ehlo(postfix, without), Protocol::SmtpNoStarttls);
        let vsftpd = b"220 (vsFTPd 3.0.3)\r\n";
        assert_eq!(
            classify_ehlo(vsftpd, b"530 Please login with USER and PASS.\r\n"),
            Protocol::Ftp
        );
        assert_eq!(classify_ehlo(vsftpd, b""), Protocol::Ftp);
        assert_eq!(
            classify_ehlo(b"220 ready\r\n", b"500 what\r\n"),
            Protocol::Unknown
        );
        assert_eq!(
            classify_ehlo(b"220 mx ESMTP\r\n", b""),
            Protocol::Smtp,
            "no reply: STARTTLS unknown"
        );
    }

    #[test]
    fn pop3_and_imap_starttls() {
        // Dovecot 2.3's answers (Debian 12), with and without ssl configured.
        let capa_tls = b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n";
        let capa_plain = b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n.\r\n";
        assert_eq!(classify_pop3_capa(capa_tls), Protocol::Pop3Starttls);
        assert_eq!(classify_pop3_capa(capa_plain), Protocol::Pop3);
        assert_eq!(
            classify_pop3_capa(b"-ERR unknown command\r\n"),
            Protocol::Pop3
        );
        assert_eq!(
            classify_pop3_capa(b"+OK\r\nSTLSX\r\n.\r\n"),
            Protocol::Pop3,
            "a whole word"
        );
        let greet_tls = b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n";
        let greet_bare = b"* OK IMAP4rev1 server ready\r\n";
        assert_eq!(classify_imap(greet_tls, b""), Protocol::ImapStarttls);
        assert_eq!(
            classify_imap(
                greet_bare,
                b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK done\r\n"
            ),
            Protocol::ImapStarttls
        );
        assert_eq!(
            classify_imap(
                greet_bare,
                b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done\r\n"
            ),
            Protocol::Imap
        );
        assert_eq!(
            classify_imap(b"* OK STARTTLS is great\r\n", b""),
            Protocol::Imap,
            "only a capability list counts"
        );
        assert!(
            Protocol::Pop3Starttls.is(Protocol::Pop3) && Protocol::ImapStarttls.is(Protocol::Imap)
        );
        assert!(!Protocol::Pop3Starttls.plaintext_login() && Protocol::Pop3.plaintext_login());
    }

    #[test]
    fn tls_replies() {
        // ServerHello (TLS 1.2 record version, handshake type 2), as openssl s_server sends.
        let server_hello = [
            0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03,
        ];
        // handshake_failure alert.
        let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
        let table: &[(&[u8], Option<Protocol>)] = &[
            (&server_hello, Some(Protocol::Tls)),
            (&alert, Some(Protocol::Tls)),
            (&[0x16, 0x03, 0x03, 0x00, 0x7a, 0x01], None), // a ClientHello echoed back
            (&[0x16, 0x03], None),
            (
                b"HTTP/1.0 400 Bad request version\r\n",
                Some(Protocol::Http),
            ),
            (b"SSH-2.0-x\r\n", None),
            (b"", None),
        ];
        for (bytes, want) in table {
            assert_eq!(classify_tls_reply(bytes), *want, "{bytes:?}");
        }
    }

    #[test]
    fn http_replies() {
        assert_eq!(
            classify_http_reply(b"HTTP/1.1 200 OK\r\n"),
            Some(Protocol::Http)
        );
        assert_eq!(
            classify_http_reply(b"http/1.0 404 Not Found\r\n"),
            Some(Protocol::Http)
        );
        assert_eq!(classify_http_reply(b"HTTP/2 200\r\n"), Some(Protocol::Http));
        assert_eq!(
            classify_http_reply(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]),
            Some(Protocol::Tls)
        );
        assert_eq!(classify_http_reply(b"<html>"), None);
        assert_eq!(classify_http_reply(b""), None);
    }

    #[test]
    fn plaintext_kinds() {
        assert!(Protocol::Http.plaintext() && !Protocol::Http.plaintext_login());
        assert!(Protocol::Ftp.plaintext_login() && Protocol::SmtpNoStarttls.plaintext_login());
        assert!(!Protocol::Smtp.plaintext_login() && Protocol::Smtp.plaintext());
        assert!(!Protocol::Tls.plaintext() && !Protocol::Unknown.plaintext());
        assert!(Protocol::SmtpNoStarttls.is(Protocol::Smtp));
        assert!(!Protocol::Smtp.is(Protocol::SmtpNoStarttls));
    }
}
