//! fnmatch(3) over bytes, with or without FNM_CASEFOLD. ss matches unix socket names with
//! `fnmatch(pattern, addr, FNM_CASEFOLD)` (misc/ss.c `unix_match`; verified against ss 6.1 by
//! tests/filter_ss: `src DIR/upper*` lists `DIR/Upper.sock`). Reused for `proc` (exact case)
//! and `service` (case-insensitive).
//! `*` also matches '/', `?` one byte, `[a-z]`, `[!x]`/`[^x]`, backslash escapes. Linear
//! time: one backtrack point per `*` (the classic greedy algorithm), so hostile patterns
//! cannot make a filter slow.

/// One pattern element.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Byte(u8),
    Any,
    Star,
    Class { neg: bool, items: Vec<(u8, u8)> },
}

fn compile(p: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = p.get(i) {
        match c {
            b'*' => out.push(Tok::Star),
            b'?' => out.push(Tok::Any),
            b'\\' => {
                i += 1;
                // A trailing backslash matches itself.
                out.push(Tok::Byte(p.get(i).copied().unwrap_or(b'\\')));
            }
            b'[' => match class(p, i) {
                Some((tok, next)) => {
                    out.push(tok);
                    i = next;
                    continue;
                }
                None => out.push(Tok::Byte(b'[')),
            },
            _ => out.push(Tok::Byte(c)),
        }
        i += 1;
    }
    out
}

/// Parse `[...]` starting at `p[start] == '['`; `None` when unterminated (then '[' is literal).
fn class(p: &[u8], start: usize) -> Option<(Tok, usize)> {
    let mut i = start + 1;
    let neg = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if neg {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let mut c = *p.get(i)?;
        if c == b']' && !first {
            return Some((Tok::Class { neg, items }, i + 1));
        }
        first = false;
        if c == b'\\' {
            i += 1;
            c = *p.get(i)?;
        }
        let lo = c;
        i += 1;
        if p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&n| n != b']') {
            let mut hi = *p.get(i + 1)?;
            i += 2;
            if hi == b'\\' {
                hi = *p.get(i)?;
                i += 1;
            }
            items.push((lo, hi));
        } else {
            items.push((lo, lo));
        }
    }
}

fn one(t: &Tok, b: u8) -> bool {
    match t {
        Tok::Byte(x) => *x == b,
        Tok::Any => true,
        Tok::Star => false,
        Tok::Class { neg, items } => items.iter().any(|&(lo, hi)| lo <= b && b <= hi) != *neg,
    }
}

/// Whether `text` matches `pattern` (fnmatch with no flags).
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let toks = compile(pattern);
    let (mut ti, mut si) = (0usize, 0usize);
    let mut back: Option<(usize, usize)> = None;
    while si < text.len() {
        match toks.get(ti) {
            Some(Tok::Star) => {
                back = Some((ti, si));
                ti += 1;
            }
            Some(t) if one(t, text[si]) => {
                ti += 1;
                si += 1;
            }
            _ => match back {
                Some((bt, bs)) => {
                    ti = bt + 1;
                    si = bs + 1;
                    back = Some((bt, bs + 1));
                }
                None => return false,
            },
        }
    }
    toks[ti.min(toks.len())..].iter().all(|t| *t == Tok::Star)
}

/// FNM_CASEFOLD in the C locale: pattern (range ends included, as glibc folds them) and text
/// are compared in ASCII lower case.
pub fn matches_nocase(pattern: &[u8], text: &[u8]) -> bool {
    matches(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::matches as m;

    #[test]
    fn fnmatch_table() {
        let yes: &[(&str, &str)] = &[
            ("*", ""),
            ("*", "/run/x"),
            ("/run/*", "/run/systemd/notify"),
            ("nginx", "nginx"),
            ("ngin?", "nginx"),
            ("*sock", "/tmp/a.sock"),
            ("[a-c]x", "bx"),
            ("[!a-c]x", "dx"),
            ("[^a]x", "bx"),
            ("[]]", "]"),
            ("a\\*", "a*"),
            ("[", "["),
            ("@*", "@/tmp/.X11-unix/X0"),
            ("*a*b*c", "xxaybzzc"),
        ];
        for (p, t) in yes {
            assert!(m(p.as_bytes(), t.as_bytes()), "{p} should match {t}");
        }
        let no: &[(&str, &str)] = &[
            ("nginx", "nginx2"),
            ("ngin?", "ngin"),
            ("[a-c]x", "dx"),
            ("[!a-c]x", "ax"),
            ("a\\*", "ab"),
            ("/run/*", "/tmp/x"),
            ("", "x"),
            ("*a*b*c", "xxaybzz"),
        ];
        for (p, t) in no {
            assert!(!m(p.as_bytes(), t.as_bytes()), "{p} should not match {t}");
        }
    }

    #[test]
    fn casefold_folds_ranges_too() {
        use super::matches_nocase as n;
        assert!(n(b"/tmp/upper*", b"/tmp/Upper.sock"));
        assert!(n(b"[A-Z]*", b"dg.sock"));
        assert!(!m(b"[A-Z]*", b"dg.sock"));
        assert!(!n(b"[!A-Z]*", b"dg.sock"));
    }

    #[test]
    fn hostile_patterns_stay_fast() {
        let text = vec![b'a'; 5000];
        let pat = "*a".repeat(200) + "b";
        assert!(!m(pat.as_bytes(), &text));
    }
}
