//! `kill`'s command line, resolved: what is selected (a port's listeners, or what a filter
//! lists), the pipeline request that finds it, the signals, and whether to ask. Pure but for
//! the platform's signal table.
//!
//! A lone `PORT`, `:PORT` or `PORT/PROTO` word is a port: no filter starts with a digit or a
//! colon (a filter's first word is a keyword, `filter::KEYWORDS`), so the two never overlap.

use crate::cli::{KillArgs, ListingArgs};
use crate::config;
use crate::error::{Error, Result};
use crate::model::kill::{Selection, Signal, Signals};
use crate::model::Proto;
use crate::pipeline::Request;
use crate::platform::process::{signal_by_name, signal_by_number};
use crate::render::sanitize::escape_str;
use std::time::Duration;

/// The longest `--timeout`.
const DAY: Duration = Duration::from_secs(86_400);

/// Whether to ask before signalling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Show the plan, signal nothing.
    DryRun,
    /// Signal without asking (`--yes`).
    Yes,
    /// Ask on the terminal; refuse without one.
    Ask,
}

/// Everything `kill` needs, resolved.
#[derive(Debug, Clone)]
pub struct KillSpec {
    pub selection: Selection,
    /// Finds the matched sockets with every holder (every process is read: a holder missed
    /// would keep the port busy).
    pub request: Request,
    pub signals: Signals,
    pub mode: Mode,
    pub json: bool,
}

/// Which terminals the process has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ttys {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// What to do about the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Proceed,
    Ask,
    /// No terminal to ask on: signal nothing.
    Refuse,
}

/// Ask only when the person can see the plan (stdout), the question (stderr) and answer it
/// (stdin): a plan piped to a file, or a question sent to /dev/null, is not consent.
pub fn confirm(mode: Mode, t: Ttys) -> Confirm {
    match mode {
        Mode::DryRun | Mode::Yes => Confirm::Proceed,
        Mode::Ask if t.stdin && t.stdout && t.stderr => Confirm::Ask,
        Mode::Ask => Confirm::Refuse,
    }
}

/// The answer is yes: `y` or `yes`, any case. Anything else, an empty line or EOF is no.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(format!("kill: {}", msg.into()))
}

/// Resolve the command line.
pub fn resolve(a: &KillArgs) -> Result<KillSpec> {
    let l = &a.listing;
    let port = l.filter.first().and_then(|w| port_word(w));
    let (selection, mut request) = match port {
        Some(p) => {
            let (port, proto) = p.map_err(usage)?;
            if l.filter.len() > 1 {
                return Err(usage(format!(
                    "one PORT, or a filter expression (got '{}' after the port); several ports \
are a filter: portwatch kill -l '( sport = :{port} or sport = :N )'",
                    escape_str(&l.filter[1..].join(" "))
                )));
            }
            port_request(l, port, proto)?
        }
        None => {
            let shorthand = !(l.pids.is_empty() && l.commands.is_empty() && l.users.is_empty());
            if l.filter.is_empty() && !shorthand {
                return Err(usage(
                    "which sockets? Give a PORT (portwatch kill 3000) or a filter expression \
(portwatch kill -t state established dport = :5432)",
                ));
            }
            let request = config::request(l)?;
            (
                Selection::Filter {
                    text: filter_text(l),
                },
                request,
            )
        }
    };
    request.owners = true;
    request.all_owners = true;
    request.user_names = true;

    let timeout = config::duration::flag("--timeout", &a.timeout, true, DAY)?;
    let signals = match &a.signal {
        Some(s) => Signals {
            first: parse_signal(s).map_err(usage)?,
            then: None,
            timeout,
        },
        None => Signals {
            first: standard("TERM")?,
            then: Some(standard("KILL")?),
            timeout,
        },
    };
    let mode = if a.dry_run {
        Mode::DryRun
    } else if a.yes {
        Mode::Yes
    } else {
        Mode::Ask
    };
    if a.json && mode == Mode::Ask {
        return Err(usage(
            "--json does not ask: add --yes to signal, or --dry-run to see the plan",
        ));
    }
    Ok(KillSpec {
        selection,
        request,
        signals,
        mode,
        json: a.json,
    })
}

fn standard(name: &str) -> Result<Signal> {
    signal_by_name(name).ok_or_else(|| usage(format!("this platform has no SIG{name}")))
}

/// `PORT`, `:PORT` or `PORT/tcp|udp`: `None` when the word is not shaped like a port (so it
/// is a filter word), an error when it is one but not a valid port.
pub fn port_word(w: &str) -> Option<std::result::Result<(u16, Option<Proto>), String>> {
    let body = w.strip_prefix(':').unwrap_or(w);
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (num, proto) = match body.split_once('/') {
        Some((n, p)) => (n, Some(p)),
        None => (body, None),
    };
    let bad = || {
        format!(
            "'{}' is not a port (1-65535, optionally /tcp or /udp)",
            escape_str(w)
        )
    };
    let port = match num.parse::<u16>() {
        Ok(0) => {
            return Some(Err(format!(
                "port 0 is not a port anything listens on ({})",
                bad()
            )))
        }
        Ok(p) if num.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => return Some(Err(bad())),
    };
    let proto = match proto.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("tcp") => Some(Proto::Tcp),
        Some("udp") => Some(Proto::Udp),
        Some(_) => return Some(Err(bad())),
    };
    Some(Ok((port, proto)))
}

/// `kill PORT`: what `portwatch -l -t -u sport = :PORT` lists (narrowed by -t, -u, -4, -6).
fn port_request(l: &ListingArgs, port: u16, proto: Option<Proto>) -> Result<(Selection, Request)> {
    if l.unix || l.raw {
        return Err(usage(
            "a PORT selects TCP and UDP listeners; -x and -w select other sockets: write a filter",
        ));
    }
    if l.all {
        return Err(usage(format!(
            "a PORT selects listeners only, never the connections to it; to select \
connections, write a filter: portwatch kill -a sport = :{port}"
        )));
    }
    if !(l.pids.is_empty() && l.commands.is_empty() && l.users.is_empty()) {
        return Err(usage(format!(
            "--pid, -c and -U narrow a filter, not a PORT: portwatch kill -l sport = :{port} \
proc NAME"
        )));
    }
    let (tcp, udp) = match (proto, l.tcp, l.udp) {
        (None, false, false) => (true, true),
        (None, t, u) => (t, u),
        (Some(Proto::Tcp), _, false) => (true, false),
        (Some(Proto::Udp), false, _) => (false, true),
        (Some(p), _, _) => {
            return Err(usage(format!(
                "{port}/{} and -{} contradict each other",
                p.name(),
                if p == Proto::Tcp { 'u' } else { 't' }
            )))
        }
    };
    let args = ListingArgs {
        listening: true,
        tcp,
        udp,
        filter: vec!["sport".into(), "=".into(), format!(":{port}")],
        ..l.clone()
    };
    let protos = [(tcp, Proto::Tcp), (udp, Proto::Udp)]
        .into_iter()
        .filter_map(|(on, p)| on.then_some(p))
        .collect();
    Ok((Selection::Port { port, protos }, config::request(&args)?))
}

/// The filter as the user gave it, with the shorthand options spelled as filter terms.
fn filter_text(l: &ListingArgs) -> String {
    let terms = |kw: &str, vals: Vec<String>| -> Option<String> {
        let t: Vec<String> = vals.iter().map(|v| format!("{kw} {v}")).collect();
        match t.len() {
            0 => None,
            1 => t.into_iter().next(),
            _ => Some(format!("( {} )", t.join(" or "))),
        }
    };
    let parts: Vec<String> = [
        (!l.filter.is_empty()).then(|| l.filter.join(" ")),
        terms("pid", l.pids.iter().map(u32::to_string).collect()),
        terms("proc", l.commands.clone()),
        terms("user", l.users.clone()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.len() > 1 && !l.filter.is_empty() {
        let mut parts = parts;
        parts[0] = format!("( {} )", parts[0]);
        return parts.join(" and ");
    }
    parts.join(" and ")
}

/// A signal by name (`TERM`, `SIGTERM`, `term`, `RTMIN+1`) or number (`15`).
pub fn parse_signal(s: &str) -> std::result::Result<Signal, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        if n == 0 {
            return Err("--signal 0 sends nothing; --dry-run shows what would be signalled".into());
        }
        return signal_by_number(n).ok_or_else(|| format!("--signal: no signal numbered {n}"));
    }
    let up = t.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    signal_by_name(name).ok_or_else(|| {
        format!(
            "--signal: unknown signal '{}' (a name such as TERM, HUP, INT, KILL, or a number)",
            escape_str(s)
        )
    })
}

#[cfg(test)]
mod tests;
