//! Recursive-descent parser for the filter grammar (see the module docs in mod.rs).
//!
//! ss's grammar (misc/ssfilter.y) is `exprlist: expr | exprlist '|' expr | exprlist '&' expr
//! | exprlist expr`: the right operand is always a single `expr`, so `and`, `or` and the
//! implicit and have EQUAL precedence and group left to right: `a or b and c` is
//! `(a or b) and c` (checked against ss 6.1). `!`/`not` applies to one term or parenthesis.

use super::addr::{self, Val};
use super::ast::{Cmp, End, Expr, HostCond, PortSpec, Pred, Scope, UserSpec};
use super::error::FilterError;
use super::lexer::{tokenize, Token};
use super::states;
use crate::model::StateSet;

/// Parentheses and `not`s nested deeper than this are refused (keeps recursion bounded).
const MAX_DEPTH: usize = 64;
/// More terms than this are refused (the tree is evaluated recursively).
const MAX_TERMS: usize = 1000;

pub struct Parser<'a> {
    expr: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    terms: usize,
    unix_hosts: bool,
}

type PResult<T> = Result<T, FilterError>;

fn binop(w: &str) -> Option<bool> {
    match w {
        "&" | "&&" | "and" => Some(true),
        "|" | "||" | "or" => Some(false),
        _ => None,
    }
}

fn cmp_of(w: &str) -> Option<Cmp> {
    Some(match w {
        "=" | "==" | "eq" => Cmp::Eq,
        "!=" | "ne" | "neq" => Cmp::Ne,
        "<" | "lt" => Cmp::Lt,
        "<=" | "le" | "leq" => Cmp::Le,
        ">" | "gt" => Cmp::Gt,
        ">=" | "ge" | "geq" => Cmp::Ge,
        _ => return None,
    })
}

/// Words that end a value position (ss's lexer turns them into operators everywhere).
fn is_structural(w: &str) -> bool {
    binop(w).is_some() || matches!(w, "!" | "not" | "(" | ")") || cmp_of(w).is_some()
}

const TERMS: &str = "expected a filter term: state, exclude, src, dst, sport, dport, port, \
proc, pid, user, service, scope, autobound, dev, cgroup, netns, container, unit, host, not or \
'('";

impl<'a> Parser<'a> {
    /// `unix_hosts`: every `src`/`dst` value is a unix name glob (ss with -x).
    pub fn new(expr: &'a str, unix_hosts: bool) -> Self {
        Parser {
            expr,
            toks: tokenize(expr),
            pos: 0,
            depth: 0,
            terms: 0,
            unix_hosts,
        }
    }

    fn err(&self, span: std::ops::Range<usize>, msg: impl Into<String>) -> FilterError {
        FilterError::new(self.expr, span, msg)
    }

    fn end_span(&self) -> std::ops::Range<usize> {
        self.expr.len()..self.expr.len()
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek_word(&self) -> Option<&str> {
        self.peek().and_then(|t| t.word())
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// The whole expression; `None` when empty (matches everything).
    pub fn parse(mut self) -> PResult<Option<Expr>> {
        if self.toks.is_empty() {
            return Ok(None);
        }
        let e = self.exprlist()?;
        match self.peek() {
            None => Ok(Some(e)),
            Some(t) if t.word() == Some(")") => {
                Err(self.err(t.span.clone(), "unexpected ')' with no matching '('"))
            }
            Some(t) => Err(self.err(t.span.clone(), TERMS)),
        }
    }

    fn exprlist(&mut self) -> PResult<Expr> {
        let mut left = self.expr_one()?;
        loop {
            let (is_and, op_tok) = match self.peek_word() {
                None | Some(")") => return Ok(left),
                Some(w) => match binop(w) {
                    Some(a) => (a, self.next()),
                    None => (true, None),
                },
            };
            if self.peek().is_none() {
                let what = op_tok.map(|t| t.text).unwrap_or_default();
                return Err(self.err(
                    self.end_span(),
                    format!("expected a filter term after '{what}'"),
                ));
            }
            let right = self.expr_one()?;
            left = if is_and {
                Expr::and(left, right)
            } else {
                Expr::or(left, right)
            };
        }
    }

    fn expr_one(&mut self) -> PResult<Expr> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.err(self.end_span(), TERMS));
        };
        if self.depth >= MAX_DEPTH {
            return Err(self.err(tok.span, "expression nested too deeply"));
        }
        match tok.word() {
            Some("(") => {
                self.pos += 1;
                self.depth += 1;
                if self.peek_word() == Some(")") {
                    let sp = self.peek().map(|t| t.span.clone()).unwrap_or(tok.span);
                    return Err(self.err(sp, "expected a filter term inside the parentheses"));
                }
                let e = self.exprlist()?;
                self.depth -= 1;
                match self.next() {
                    Some(t) if t.word() == Some(")") => Ok(e),
                    _ => Err(self.err(tok.span, "expected a ')' to close this '('")),
                }
            }
            Some("!") | Some("not") => {
                self.pos += 1;
                if self.peek().is_none() {
                    return Err(self.err(
                        self.end_span(),
                        format!("expected a filter term after '{}'", tok.text),
                    ));
                }
                self.depth += 1;
                let e = self.expr_one()?;
                self.depth -= 1;
                Ok(Expr::not(e))
            }
            _ => {
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return Err(self.err(tok.span, "expression too long"));
                }
                self.term()
            }
        }
    }

    /// The value token after a keyword; `what` says what was expected.
    fn value(&mut self, kw: &Token, what: &str) -> PResult<Token> {
        match self.peek() {
            Some(t) if t.word().is_none_or(|w| !is_structural(w)) => {
                let t = t.clone();
                self.pos += 1;
                Ok(t)
            }
            Some(t) => Err(self.err(
                t.span.clone(),
                format!("expected {what} after '{}'", kw.text),
            )),
            None => Err(self.err(
                self.end_span(),
                format!("expected {what} after '{}'", kw.text),
            )),
        }
    }

    /// An optional comparison word; only `=` (and `!=` where `ne_ok`) for non-port keywords.
    fn opt_cmp(&mut self, kw: &Token, ordering_ok: bool) -> PResult<Cmp> {
        let Some(t) = self.peek().cloned() else {
            return Ok(Cmp::Eq);
        };
        let Some(c) = t.word().and_then(cmp_of) else {
            return Ok(Cmp::Eq);
        };
        if !ordering_ok && !matches!(c, Cmp::Eq | Cmp::Ne) {
            return Err(self.err(
                t.span,
                format!(
                    "'{}' compares ports; '{}' takes '=' or '!='",
                    t.text, kw.text
                ),
            ));
        }
        self.pos += 1;
        Ok(c)
    }

    fn negate_if(c: Cmp, e: Expr) -> Expr {
        if c == Cmp::Ne {
            Expr::not(e)
        } else {
            e
        }
    }

    fn term(&mut self) -> PResult<Expr> {
        let kw = self
            .next()
            .ok_or_else(|| self.err(self.end_span(), TERMS))?;
        let Some(word) = kw.word().map(str::to_string) else {
            return Err(self.err(kw.span, TERMS));
        };
        let pred = match word.as_str() {
            "state" | "exclude" | "excl" => return self.state_run(kw),
            "src" | "dst" => {
                let end = if word == "src" {
                    End::Local
                } else {
                    End::Remote
                };
                let c = self.opt_cmp(&kw, false)?;
                let v = self.value(&kw, "an address, prefix, ADDR:PORT, *:PORT or unix path")?;
                let cond = if self.unix_hosts {
                    let t = v.text.strip_prefix("unix:").unwrap_or(&v.text);
                    HostCond::Unix(t.to_string())
                } else {
                    addr::parse_host(val(&v)).map_err(|(s, m)| self.err(s, m))?
                };
                return Ok(Self::negate_if(c, Expr::Pred(Pred::Host { end, cond })));
            }
            "sport" | "dport" | "port" => {
                let end = match word.as_str() {
                    "sport" => End::Local,
                    "dport" => End::Remote,
                    _ => End::Either,
                };
                let cmp = self.opt_cmp(&kw, true)?;
                let v = self.value(&kw, "a port (:PORT, :SERVICE or *)")?;
                let port = addr::parse_port(val(&v)).map_err(|(s, m)| self.err(s, m))?;
                if port == PortSpec::Any && !matches!(cmp, Cmp::Eq | Cmp::Ne) {
                    return Err(self.err(v.span, "expected a port number: '*' cannot be ordered"));
                }
                Pred::Port { end, cmp, port }
            }
            "proc" | "pid" | "user" | "service" | "scope" | "dev" | "cgroup" | "netns"
            | "container" | "unit" => {
                let c = self.opt_cmp(&kw, false)?;
                let p = self.simple(&kw, &word)?;
                return Ok(Self::negate_if(c, Expr::Pred(p)));
            }
            "autobound" => Pred::Autobound,
            "host" => Pred::HostNetns,
            _ => {
                let hint = if states::lookup(&word).is_some() {
                    format!("expected a filter term: did you mean 'state {word}'?")
                } else if word.starts_with(':') || word.bytes().all(|b| b.is_ascii_digit()) {
                    format!(
                        "expected a filter term: did you mean 'port {word}' or 'sport = {word}'?"
                    )
                } else if addr::parse_host(val(&kw)).is_ok() {
                    format!("expected a filter term: did you mean 'src {word}' or 'dst {word}'?")
                } else {
                    TERMS.to_string()
                };
                return Err(self.err(kw.span, hint));
            }
        };
        Ok(Expr::Pred(pred))
    }

    fn simple(&mut self, kw: &Token, word: &str) -> PResult<Pred> {
        let what = match word {
            "proc" => "a process name (glob)",
            "pid" => "a process id",
            "user" => "a user name or uid",
            "service" => "a service name",
            "scope" => "loopback, wildcard, private, public, link-local or multicast",
            "netns" => "a network namespace name, inode or glob",
            "container" => "a container name (glob) or id prefix",
            "unit" => "a systemd unit name (glob)",
            "cgroup" => "a cgroup path (as under the cgroup2 mount: /, /system.slice, ...)",
            _ => "an interface index",
        };
        let v = self.value(kw, what)?;
        let t = v.text.clone();
        let bad = |p: &Self| p.err(v.span.clone(), format!("expected {what} after '{word}'"));
        Ok(match word {
            "proc" => Pred::Proc(t),
            "pid" => Pred::Pid(t.parse().map_err(|_| bad(self))?),
            "dev" => Pred::Dev(t.parse().map_err(|_| bad(self))?),
            "user" => Pred::User(UserSpec::parse(&t)),
            "service" => Pred::Service(t),
            "netns" => Pred::Netns(t),
            "container" => Pred::Container(t),
            "unit" => Pred::Unit(t),
            "cgroup" => Pred::Cgroup { path: t, id: None },
            _ => Pred::Scope(match t.to_ascii_lowercase().as_str() {
                "loopback" | "lo" => Scope::Loopback,
                "wildcard" | "any" => Scope::Wildcard,
                "private" => Scope::Private,
                "public" => Scope::Public,
                "link-local" | "linklocal" => Scope::LinkLocal,
                "multicast" => Scope::Multicast,
                _ => return Err(bad(self)),
            }),
        })
    }

    /// `state A state B exclude C ...`: folded left to right as ss's main() does: the first
    /// `state` starts from no states, the first `exclude` from all; later words add/remove.
    fn state_run(&mut self, first: Token) -> PResult<Expr> {
        let mut acc: Option<u32> = None;
        let mut kw = first;
        loop {
            let v = self.value(&kw, &format!("a state name ({})", states::NAMES))?;
            let set = states::lookup(&v.text).ok_or_else(|| {
                self.err(
                    v.span.clone(),
                    format!(
                        "unknown state '{}': expected one of {}",
                        v.text,
                        states::NAMES
                    ),
                )
            })?;
            acc = Some(if kw.text == "state" {
                acc.unwrap_or(0) | set.0
            } else {
                acc.unwrap_or(states::SS_ALL.0) & !set.0
            });
            match self.peek_word() {
                Some("state") | Some("exclude") | Some("excl") => {
                    kw = self.next().unwrap_or(kw);
                }
                _ => break,
            }
        }
        Ok(Expr::Pred(Pred::States(StateSet(acc.unwrap_or(0)))))
    }
}

fn val(t: &Token) -> Val<'_> {
    Val {
        text: &t.text,
        span: (t.span.start, t.span.end),
        exact: !t.literal,
    }
}
