//! Escapes untrusted text (process names, unix paths) before it reaches a terminal or CSV.
//!
//! Other users choose these bytes, and portwatch often runs as root: an ESC sequence in a
//! process name must not repaint the screen, a bidi override must not reorder the line, and a
//! newline must not forge a row. The escaping is reversible: `\` itself becomes `\\`.

use std::borrow::Cow;

/// Whether a character must not reach a terminal as itself: C0/C1 controls, DEL, bidi
/// controls and invisible zero-width characters (Unicode TR #36/#39 lists).
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\\'
        // bidi embeddings, overrides and isolates, marks
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        // zero-width and invisible formatting characters
        | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}'
        // line and paragraph separators
        | '\u{2028}' | '\u{2029}')
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\u{1b}' => out.push_str("\\e"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
}

/// Escape bytes for display: valid UTF-8 passes through except the characters above;
/// invalid bytes become `\xNN`. Borrowed when nothing needs escaping (the common case).
pub fn escape(bytes: &[u8]) -> Cow<'_, str> {
    if plain_ascii(bytes) {
        // Checked just above: printable ASCII is UTF-8.
        return Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default());
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.chars().any(needs_escape) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if needs_escape(c) {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            use std::fmt::Write;
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// Printable ASCII other than `\\`: what passes through unchanged, checked a byte at a time
/// (most names and paths are such; the char-by-char check is for the rest).
fn plain_ascii(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
}

/// Escape a `str` (already valid UTF-8).
pub fn escape_str(s: &str) -> Cow<'_, str> {
    escape(s.as_bytes())
}

/// Hex of the exact bytes, used beside a lossy JSON string when the bytes are not UTF-8.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reversibility is checked against an independent decoder of the README's rules in
    // tests/parser_props/render.rs (escape_is_safe_and_reversible), not against our own.

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape(b"nginx: worker"), Cow::Borrowed(_)));
        assert!(matches!(
            escape("/run/my app/sock".as_bytes()),
            Cow::Borrowed(_)
        ));
        assert_eq!(escape("café".as_bytes()), "café");
    }

    #[test]
    fn hostile_text_is_escaped() {
        let cases: &[(&[u8], &str)] = &[
            (b"evil\x1b[2J", "evil\\e[2J"),
            (b"a\nb\tc\r", "a\\nb\\tc\\r"),
            (b"back\\slash", "back\\\\slash"),
            (b"\xff\xfeok", "\\xff\\xfeok"),
            (b"\x7f\x01", "\\x7f\\x01"),
            ("rtl\u{202e}txt".as_bytes(), "rtl\\u{202e}txt"),
            ("zw\u{200b}j".as_bytes(), "zw\\u{200b}j"),
            ("c1\u{9b}".as_bytes(), "c1\\u{009b}"),
        ];
        for (input, want) in cases {
            let got = escape(input);
            assert_eq!(got, *want, "{input:?}");
            assert!(!got.chars().any(|c| c.is_control()), "{got:?}");
        }
    }

    #[test]
    fn hex_is_exact() {
        assert_eq!(hex(b"\x00\xffA"), "00ff41");
    }
}
