//! Independent readers of portwatch's text formats, written from the README (not from the
//! renderers): a strict RFC 4180 CSV parser and the "Untrusted text" unescaping rules.
#![allow(dead_code)]

/// Parse RFC 4180 CSV strictly: fields separated by `,`, records by `\n` (or `\r\n`); a
/// quoted field may hold `,`, `"` (doubled) and line breaks; a quote inside an unquoted field
/// or text after a closing quote is an error. The final record may lack its line break.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    let mut line = 1usize;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_field_start => {
                // Quoted field: until a lone closing quote.
                loop {
                    match chars.next() {
                        None => return Err(format!("line {line}: unterminated quoted field")),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                match chars.peek() {
                    None | Some(',') | Some('\n') | Some('\r') => {}
                    Some(c) => {
                        return Err(format!("line {line}: {c:?} after a closing quote"));
                    }
                }
                at_field_start = false;
            }
            '"' => return Err(format!("line {line}: quote inside an unquoted field")),
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => return Err(format!("line {line}: bare CR outside quotes")),
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
                line += 1;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if !at_field_start || !record.is_empty() || !field.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// Undo the README's escaping of untrusted text (`\e`, `\n`, `\t`, `\r`, `\xNN`, `\u{...}`,
/// `\\`), giving back the original bytes; an escape the README does not define is an error.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match it.next() {
            Some('\\') => out.push(b'\\'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('r') => out.push(b'\r'),
            Some('e') => out.push(0x1b),
            Some('x') => {
                let h: String = it.by_ref().take(2).collect();
                let b = u8::from_str_radix(&h, 16).map_err(|_| format!("bad \\x{h} in {s:?}"))?;
                out.push(b);
            }
            Some('u') => {
                if it.next() != Some('{') {
                    return Err(format!("\\u without {{ in {s:?}"));
                }
                let h: String = it.by_ref().take_while(|c| *c != '}').collect();
                let c = u32::from_str_radix(&h, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad \\u{{{h}}} in {s:?}"))?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            other => return Err(format!("undocumented escape \\{other:?} in {s:?}")),
        }
    }
    Ok(out)
}

/// Decode a `*_hex` JSON value.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| {
            s.get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// Characters that must never reach a terminal raw (README "Untrusted text"): controls, DEL,
/// C1, bidi controls, zero-width and invisible formatting characters, line separators.
pub fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'
        | '\u{061c}' | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
        | '\u{2028}' | '\u{2029}')
}

/// The `portwatch: warning:` lines of a stderr, or an error for any other line.
pub fn warning_lines(stderr: &str) -> Result<Vec<&str>, String> {
    stderr
        .lines()
        .map(|l| {
            l.strip_prefix("portwatch: warning: ")
                .ok_or_else(|| format!("stderr line is not a warning: {l:?}"))
        })
        .collect()
}

/// Whether `msg` is the documented owners-hidden hint: `N socket(s) has/have no visible
/// owner: M process(es) could not be read; ...`, or, as root, `...no visible owner; M
/// process(es) refused access even to root and may hold some of them`, with singular/plural
/// agreeing with N and M.
pub fn is_owners_hidden(msg: &str) -> bool {
    if let Some((head, tail)) = msg.split_once(" no visible owner; ") {
        let (Some((n, what)), Some((m, rest))) = (head.split_once(' '), tail.split_once(' '))
        else {
            return false;
        };
        fn agree(count: &str, one: &'static str, many: &'static str) -> &'static str {
            match count.parse::<u64>() {
                Ok(1) => one,
                Ok(c) if c > 1 => many,
                _ => "\0",
            }
        }
        return what == agree(n, "socket has", "sockets have")
            && rest
                == format!(
                    "{} refused access even to root and may hold some of them",
                    agree(m, "process", "processes")
                );
    }
    let Some((head, tail)) = msg.split_once(" no visible owner: ") else {
        return false;
    };
    let Some((n, what)) = head.split_once(' ') else {
        return false;
    };
    let n_ok = match n.parse::<u64>() {
        Ok(1) => what == "socket has",
        Ok(n) if n > 1 => what == "sockets have",
        _ => false,
    };
    let Some((m, rest)) = tail.split_once(' ') else {
        return false;
    };
    let m_ok = match m.parse::<u64>() {
        Ok(1) => rest.starts_with("process could not be read; "),
        Ok(m) if m > 1 => rest.starts_with("processes could not be read; "),
        _ => false,
    };
    n_ok && m_ok && !msg.contains('\n')
}

/// Warning kinds the README documents for a listing.
pub const DOCUMENTED_KINDS: &[&str] = &[
    "owners-hidden",
    "malformed-line",
    "proto-unavailable",
    "netlink-unavailable",
    "netns-skipped",
];
