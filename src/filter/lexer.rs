//! Splits a filter expression into tokens with byte spans.
//!
//! ss (misc/ssfilter.y `get_token_from_line`) splits each argument on spaces and tabs only, a
//! backslash escaping the next character; `(sport` is then one (bad) word to ss. We accept the
//! same words and, as a deliberate extension, also split punctuation glued to words: leading
//! `(` and `!`, trailing unbalanced `)`, and comparison operators after a leading operator or
//! after a keyword that takes one (`sport=:22`, `dport!=:80`, `proc=nginx`). Words
//! that ss accepts keep their meaning: a unix path such as `/tmp/a(1)` has balanced parens and
//! is left whole; escaped characters are never split points.

use std::ops::Range;

/// One token. `literal` means it contained a backslash escape: it is then always a value,
/// never an operator or keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub span: Range<usize>,
    pub literal: bool,
}

impl Token {
    /// The token as an operator or keyword: its text, unless it was escaped.
    pub fn word(&self) -> Option<&str> {
        if self.literal {
            None
        } else {
            Some(&self.text)
        }
    }
}

/// A character of a raw word: value, byte offset in the expression, escaped?
#[derive(Clone, Copy)]
struct Ch {
    c: char,
    at: usize,
    esc: bool,
}

const OPS: [&str; 7] = ["==", "!=", "<=", ">=", "=", "<", ">"];
const OP_KEYWORDS: [&str; 11] = [
    "sport", "dport", "src", "dst", "port", "pid", "user", "proc", "service", "scope", "dev",
];

/// Tokenize `expr` (the command-line words joined with single spaces).
pub fn tokenize(expr: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for word in raw_words(expr) {
        split_word(&word, &mut out);
    }
    out
}

/// ss's word splitting: whitespace separates, backslash escapes the next character.
fn raw_words(expr: &str) -> Vec<Vec<Ch>> {
    let mut words = Vec::new();
    let mut cur: Vec<Ch> = Vec::new();
    let mut it = expr.char_indices();
    while let Some((at, c)) = it.next() {
        if c == '\\' {
            // A trailing backslash escapes nothing; ss drops it too.
            if let Some((_, n)) = it.next() {
                cur.push(Ch {
                    c: n,
                    at,
                    esc: true,
                });
            }
        } else if c.is_whitespace() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(Ch { c, at, esc: false });
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn is(ch: Option<&Ch>, c: char) -> bool {
    matches!(ch, Some(x) if x.c == c && !x.esc)
}

fn make(expr_chars: &[Ch]) -> Option<Token> {
    let first = expr_chars.first()?;
    let last = expr_chars.last()?;
    // An escaped char's span starts at its backslash; its end is the char itself.
    let end = last.at + if last.esc { 1 } else { 0 } + last.c.len_utf8();
    Some(Token {
        text: expr_chars.iter().map(|x| x.c).collect(),
        span: first.at..end,
        literal: expr_chars.iter().any(|x| x.esc),
    })
}

/// Length in chars of the operator at the start of `w`, if any.
fn op_at(w: &[Ch]) -> Option<usize> {
    OPS.iter().find_map(|op| {
        let n = op.chars().count();
        let ok = w.len() >= n && w.iter().zip(op.chars()).all(|(x, c)| x.c == c && !x.esc);
        ok.then_some(n)
    })
}

fn split_word(word: &[Ch], out: &mut Vec<Token>) {
    let mut w = word;
    // Leading '(' and '!' (but "!=" is an operator).
    loop {
        let peel = is(w.first(), '(') || (is(w.first(), '!') && !is(w.get(1), '='));
        if peel {
            out.extend(make(&w[..1]));
            w = &w[1..];
        } else {
            break;
        }
    }
    // Trailing ')' that have no '(' in the word.
    let mut trailing = 0;
    loop {
        let core = &w[..w.len() - trailing];
        let opens = core.iter().filter(|x| x.c == '(' && !x.esc).count();
        let closes = core.iter().filter(|x| x.c == ')' && !x.esc).count();
        if closes > opens && is(core.last(), ')') {
            trailing += 1;
        } else {
            break;
        }
    }
    let (core, tail) = w.split_at(w.len() - trailing);
    split_core(core, out);
    for ch in tail.chunks(1) {
        out.extend(make(ch));
    }
}

fn split_core(w: &[Ch], out: &mut Vec<Token>) {
    if let Some(n) = op_at(w) {
        out.extend(make(&w[..n]));
        out.extend(make(&w[n..]));
        return;
    }
    let kw_len = w
        .iter()
        .take_while(|x| x.c.is_ascii_lowercase() && !x.esc)
        .count();
    let kw: String = w[..kw_len].iter().map(|x| x.c).collect();
    if kw_len > 0 && kw_len < w.len() && OP_KEYWORDS.contains(&kw.as_str()) {
        if let Some(n) = op_at(&w[kw_len..]) {
            out.extend(make(&w[..kw_len]));
            out.extend(make(&w[kw_len..kw_len + n]));
            out.extend(make(&w[kw_len + n..]));
            return;
        }
    }
    out.extend(make(w));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn splits_like_ss_on_whitespace() {
        assert_eq!(
            texts("( dport = :443 or\tdport = :80 )"),
            ["(", "dport", "=", ":443", "or", "dport", "=", ":80", ")"]
        );
    }

    #[test]
    fn splits_glued_punctuation() {
        assert_eq!(
            texts("(dport=:443 or dport!=:80)"),
            ["(", "dport", "=", ":443", "or", "dport", "!=", ":80", ")"]
        );
        assert_eq!(
            texts("!(sport>=1024)"),
            ["!", "(", "sport", ">=", "1024", ")"]
        );
        assert_eq!(texts("!= =:22 <=5"), ["!=", "=", ":22", "<=", "5"]);
        assert_eq!(texts("((a))"), ["(", "(", "a", ")", ")"]);
        assert_eq!(texts("!!x"), ["!", "!", "x"]);
    }

    #[test]
    fn keeps_words_ss_accepts_whole() {
        assert_eq!(texts("src /tmp/a(1)"), ["src", "/tmp/a(1)"]);
        assert_eq!(texts("src /tmp/a=b"), ["src", "/tmp/a=b"]);
        assert_eq!(texts("src [::1]:80"), ["src", "[::1]:80"]);
        assert_eq!(texts("(src /tmp/a(1))"), ["(", "src", "/tmp/a(1)", ")"]);
    }

    #[test]
    fn spans_are_byte_ranges_and_escapes_are_literal() {
        let t = tokenize("sport=:22");
        assert_eq!(t[2].span, 6..9);
        let t = tokenize("src \\(x é");
        assert_eq!(t[1].text, "(x");
        assert!(t[1].literal && t[1].word().is_none());
        assert_eq!(t[1].span, 4..7);
        assert_eq!(t[2].span, 8..10);
        assert_eq!(texts("a\\"), ["a"]);
    }
}
