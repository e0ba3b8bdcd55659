//! `kill` output: the plan (shown before the question), a line per signal sent, the outcome,
//! and the JSON document with all of it. Process names, command lines and unit and container
//! names are chosen by others: escaped in text, exact (with `*_hex` twins) in JSON.

use super::addr::endpoint;
use super::json::{warnings as warnings_json, SocketJson, WarnJ};
use super::sanitize::{escape, escape_str, hex};
use crate::model::kill::{
    After, Fate, Holder, Outcome, Plan, ProcessOutcome, Selection, Signal, Skip, Target,
};
use crate::model::{Container, Row, Runtime, State, Text, Unit, Warning};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::io::{self, Write};
use std::time::Duration;

/// Bump when a key changes meaning or disappears; adding keys keeps the number.
pub const SCHEMA: u32 = 1;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `2s`, `200ms`, `1.5s`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// What was selected, for a sentence: `port 3000 (tcp, udp)`, `filter 'dport = :5432'`.
fn selection(s: &Selection) -> String {
    match s {
        Selection::Port { port, protos } => {
            let p: Vec<&str> = protos.iter().map(|p| p.name()).collect();
            format!("port {port} ({})", p.join(", "))
        }
        Selection::Filter { text } => format!("filter '{}'", escape_str(text)),
    }
}

/// The stderr line when nothing matched.
pub fn nothing_matched(s: &Selection) -> String {
    match s {
        Selection::Port { .. } => format!(
            "kill: nothing to signal: no listening socket on {}",
            selection(s)
        ),
        Selection::Filter { .. } => {
            format!(
                "kill: nothing to signal: no socket matches {}",
                selection(s)
            )
        }
    }
}

fn user(uid: Option<u32>, name: Option<&str>) -> String {
    match (name, uid) {
        (Some(n), _) => escape_str(n).into_owned(),
        (None, Some(u)) => format!("uid {u}"),
        (None, None) => "-".into(),
    }
}

/// `tcp LISTEN 127.0.0.1:3000`, with the peer for a connection.
fn socket(row: &Row) -> String {
    let s = &row.sock;
    let mut out = format!("{} {} ", s.netid(), s.state.name());
    endpoint(&mut out, row, true);
    if s.state != State::LISTEN && s.state != State::CLOSE {
        out.push_str(" -> ");
        endpoint(&mut out, row, false);
    }
    out
}

/// The words of a command line, each escaped (a space inside one is shown as it is).
fn cmdline(args: &[Text]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| escape(a.as_bytes()).into_owned())
        .collect();
    words.join(" ")
}

/// A word as a shell reads it: as is when it is plain, else single-quoted.
fn shell_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// The command that stops a supervised process for good, when its supervisor is one `kill`
/// knows how to name: a podman or docker container, a systemd service. Never run.
pub fn stop_command(container: Option<&Container>, unit: Option<&Unit>) -> Option<String> {
    if let Some(c) = container {
        let tool = match c.runtime {
            Runtime::Podman => "podman",
            Runtime::Docker => "docker",
            _ => return None,
        };
        return Some(format!("{tool} stop {}", shell_word(c.label())));
    }
    let u = unit?;
    if !u.name.ends_with(".service") || u.name.starts_with("user@") {
        // Scopes (login sessions, containers' shells) are not restarted by anyone; the user
        // manager itself is no service to stop for a port.
        return None;
    }
    Some(match u.user {
        Some(_) => format!("systemctl --user stop {}", shell_word(&u.name)),
        None => format!("systemctl stop {}", shell_word(&u.name)),
    })
}

/// The supervisor line: who may start the process again and how to stop it for good.
fn supervisor(container: Option<&Container>, unit: Option<&Unit>) -> Option<String> {
    let cmd = escape_str(&stop_command(container, unit)?).into_owned();
    Some(match (container, unit) {
        (Some(c), _) => format!(
            "runs in {} container {}, which may start it again; to stop it for good: {cmd}",
            c.runtime.name(),
            escape_str(c.label())
        ),
        (None, Some(u)) => {
            let by = match u.user {
                Some(uid) => format!(" (as uid {uid})"),
                None => String::new(),
            };
            format!(
                "runs in systemd unit {}, which may start it again; to stop it for good{by}: \
{cmd}",
                escape_str(&u.name)
            )
        }
        (None, None) => return None,
    })
}

fn skip_reason(s: Skip) -> &'static str {
    match s {
        Skip::Init => "pid 1 is the init system; signalling it would take everything down",
        Skip::KernelThread => "it is a kernel thread",
        Skip::Itself => "it is portwatch itself",
        Skip::NotPermitted => "permission denied: another user's process; run as root",
        Skip::Gone => "it exited while the plan was made",
    }
}

fn skip_key(s: Skip) -> &'static str {
    match s {
        Skip::Init => "init",
        Skip::KernelThread => "kernel-thread",
        Skip::Itself => "itself",
        Skip::NotPermitted => "not-permitted",
        Skip::Gone => "gone",
    }
}

/// `pid 42 nginx, user www-data`.
fn who(pid: u32, comm: &Text, uid: Option<u32>, name: Option<&str>) -> String {
    format!(
        "pid {pid} {}, user {}",
        escape(comm.as_bytes()),
        user(uid, name)
    )
}

fn target_line(out: &mut dyn Write, plan: &Plan, t: &Target) -> io::Result<()> {
    let who = who(t.pid, &t.comm, t.uid, t.user.as_deref());
    write!(out, "  {who}")?;
    match t.skip {
        Some(s) => writeln!(out, ": NOT SIGNALLED ({})", skip_reason(s))?,
        None => writeln!(out)?,
    }
    match &t.facts.cmdline {
        Some(args) if !args.is_empty() => writeln!(out, "      command: {}", cmdline(args))?,
        _ => {}
    }
    for (n, &(i, fd)) in t.sockets.iter().enumerate() {
        let head = if n == 0 { "holds:  " } else { "        " };
        if let Some(row) = plan.rows.get(i) {
            writeln!(out, "      {head} {} (fd {fd})", socket(row))?;
        }
    }
    if let Some(s) = supervisor(t.facts.container.as_ref(), t.facts.unit.as_ref()) {
        writeln!(out, "      {s}")?;
    }
    Ok(())
}

/// Why a matched socket has no holder in the plan.
fn unowned_reason(plan: &Plan, row: &Row) -> &'static str {
    if row.sock.inode == 0 {
        "no process holds it (the kernel keeps it until it times out)"
    } else if plan.owners_hidden {
        "its holder is not visible: other users' processes are hidden (run as root)"
    } else {
        "no process holds it (a kernel socket)"
    }
}

/// The plan, as shown before the question.
pub fn write_plan(plan: &Plan, dry_run: bool, out: &mut dyn Write) -> io::Result<()> {
    let what = match plan.selection {
        Selection::Port { .. } => "listening on",
        Selection::Filter { .. } => "matching",
    };
    let held = match plan.targets.len() {
        0 => "with no visible holder".to_string(),
        n => format!("held by {}", plural(n, "process", "processes")),
    };
    writeln!(
        out,
        "Sockets {what} {}: {}, {held}.",
        selection(&plan.selection),
        plural(plan.rows.len(), "socket", "sockets"),
    )?;
    for t in &plan.targets {
        target_line(out, plan, t)?;
    }
    for &i in &plan.unowned {
        if let Some(row) = plan.rows.get(i) {
            let uid = match (row.sock.uid.get(), row.rare.user.as_deref()) {
                (None, _) => String::new(),
                (Some(u), n) => format!(" (uid {u}, {})", user(Some(u), n)),
            };
            writeln!(out, "  {}{uid}: {}", socket(row), unowned_reason(plan, row))?;
        }
    }
    let ready = plan.ready().count();
    let sig = &plan.signals;
    if ready == 0 {
        writeln!(out, "Nothing can be signalled.")?;
    } else {
        let then = match &sig.then {
            Some(t) => format!(
                ", then {} to those still running after {}",
                t.name,
                duration(sig.timeout)
            ),
            None => String::new(),
        };
        let verb = if dry_run { "Would send" } else { "Plan: send" };
        writeln!(
            out,
            "{verb} {} to {}{then}.",
            sig.first.name,
            plural(ready, "process", "processes")
        )?;
    }
    if dry_run {
        writeln!(out, "Dry run: nothing was signalled.")?;
    }
    Ok(())
}

/// The question, on the terminal.
pub fn question(plan: &Plan) -> String {
    let n = plan.ready().count();
    format!(
        "Send {} to {}? [y/N] ",
        plan.signals.first.name,
        if n == 1 {
            "this process".to_string()
        } else {
            format!("these {n} processes")
        }
    )
}

/// The line after a signal went out.
pub fn write_sent(out: &mut dyn Write, sig: &Signal, n: usize, wait: Duration) -> io::Result<()> {
    writeln!(
        out,
        "Sent {} to {}; waiting up to {} for {}.",
        sig.name,
        plural(n, "process", "processes"),
        duration(wait),
        if n == 1 { "it to exit" } else { "them to exit" }
    )?;
    out.flush()
}

fn names(sent: &[Signal]) -> String {
    let v: Vec<&str> = sent.iter().map(|s| s.name.as_str()).collect();
    v.join(", ")
}

fn fate_text(p: &ProcessOutcome) -> String {
    match &p.fate {
        Fate::Exited => format!("exited after {}", names(&p.sent)),
        Fate::Gone => "gone: it exited before it was signalled; nothing was sent".into(),
        Fate::Released => {
            "not signalled: it no longer holds a matching socket (left running)".into()
        }
        Fate::Survived => format!("still running after {}", names(&p.sent)),
        Fate::NotSignalled(s) => format!("not signalled: {}", skip_reason(*s)),
        Fate::Failed(e) => format!("signal failed: {}", escape_str(e)),
    }
}

fn fate_key(f: &Fate) -> &'static str {
    match f {
        Fate::Exited => "exited",
        Fate::Gone => "gone",
        Fate::Released => "released",
        Fate::Survived => "survived",
        Fate::NotSignalled(_) => "not-signalled",
        Fate::Failed(_) => "failed",
    }
}

fn holder_line(out: &mut dyn Write, h: &Holder) -> io::Result<()> {
    let role = if h.target {
        "one of the processes above, still holding it"
    } else {
        "a new holder: something started it again"
    };
    let who = who(h.pid, &h.comm, h.uid, h.user.as_deref());
    writeln!(out, "  {who}: {role}")?;
    if let Some(s) = supervisor(h.container.as_ref(), h.unit.as_ref()) {
        writeln!(out, "      {s}")?;
    }
    Ok(())
}

fn write_after(plan: &Plan, a: &After, out: &mut dyn Write) -> io::Result<()> {
    let subject = match &plan.selection {
        Selection::Port { port, .. } => format!("Port {port}"),
        Selection::Filter { .. } => "The selection".into(),
    };
    if a.free {
        return match plan.selection {
            Selection::Port { .. } => writeln!(out, "{subject} is free."),
            Selection::Filter { .. } => {
                writeln!(out, "No process holds a matching socket any more.")
            }
        };
    }
    let how = if a.taken() {
        "taken again"
    } else {
        "still held"
    };
    writeln!(out, "{subject} is {how}:")?;
    for h in &a.holders {
        holder_line(out, h)?;
    }
    if a.unowned > 0 {
        let why = if plan.owners_hidden {
            "other users' processes are hidden (run as root)"
        } else {
            "a kernel socket"
        };
        writeln!(
            out,
            "  {} with no visible holder: {why}",
            plural(a.unowned, "socket", "sockets")
        )?;
    }
    // The supervisor of a target is the likely one that started it again.
    if a.taken() {
        for t in &plan.targets {
            if let Some(s) = supervisor(t.facts.container.as_ref(), t.facts.unit.as_ref()) {
                writeln!(out, "  pid {} {s}", t.pid)?;
            }
        }
    }
    Ok(())
}

/// What became of each target and of the port.
pub fn write_outcome(plan: &Plan, o: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    for (t, p) in plan.targets.iter().zip(&o.processes) {
        writeln!(
            out,
            "  pid {} {}: {}",
            p.pid,
            escape(t.comm.as_bytes()),
            fate_text(p)
        )?;
    }
    write_after(plan, &o.after, out)
}

/// `key` with the text (invalid UTF-8 replaced), and `key_hex` with the exact bytes when
/// they are not UTF-8.
fn put_text(m: &mut Map<String, Value>, key: &str, t: &[u8]) {
    m.insert(key.into(), String::from_utf8_lossy(t).into());
    if std::str::from_utf8(t).is_err() {
        m.insert(format!("{key}_hex"), hex(t).into());
    }
}

fn signal_json(s: &Signal) -> Value {
    json!({"number": s.number, "name": s.name})
}

fn supervisor_json(c: Option<&Container>, u: Option<&Unit>) -> Value {
    json!({
        "container": c.map(|c| json!({
            "runtime": c.runtime.name(),
            "id": c.id,
            "name": c.name,
        })),
        "unit": u.map(|u| json!({"name": u.name, "user": u.user})),
        "stop": stop_command(c, u),
    })
}

fn socket_json(row: &Row) -> Value {
    serde_json::to_value(SocketJson(row)).unwrap_or(Value::Null)
}

fn target_json(plan: &Plan, t: &Target, outcome: Option<&ProcessOutcome>) -> Value {
    let mut m = Map::new();
    m.insert("pid".into(), t.pid.into());
    put_text(&mut m, "comm", t.comm.as_bytes());
    m.insert("uid".into(), json!(t.uid));
    m.insert("user".into(), json!(t.user));
    m.insert("start_time".into(), json!(t.facts.start_time));
    let args = t.facts.cmdline.as_deref();
    m.insert(
        "cmdline".into(),
        json!(args.map(|a| a.iter().map(|x| x.to_str_lossy()).collect::<Vec<_>>())),
    );
    if let Some(a) = args.filter(|a| a.iter().any(|x| x.to_str().is_none())) {
        let h: Vec<String> = a.iter().map(|x| hex(x.as_bytes())).collect();
        m.insert("cmdline_hex".into(), json!(h));
    }
    m.insert(
        "supervisor".into(),
        supervisor_json(t.facts.container.as_ref(), t.facts.unit.as_ref()),
    );
    let sockets: Vec<Value> = t
        .sockets
        .iter()
        .filter_map(|&(i, fd)| {
            plan.rows
                .get(i)
                .map(|r| json!({"fd": fd, "socket": socket_json(r)}))
        })
        .collect();
    m.insert("sockets".into(), sockets.into());
    m.insert(
        "skip".into(),
        json!(t
            .skip
            .map(|s| json!({"reason": skip_key(s), "message": skip_reason(s)}))),
    );
    m.insert(
        "outcome".into(),
        json!(outcome.map(|p| json!({
            "result": fate_key(&p.fate),
            "signals": p.sent.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            "message": fate_text(p),
        }))),
    );
    Value::Object(m)
}

fn after_json(a: &After) -> Value {
    let holders: Vec<Value> = a
        .holders
        .iter()
        .map(|h| {
            let mut m = Map::new();
            m.insert("pid".into(), h.pid.into());
            put_text(&mut m, "comm", h.comm.as_bytes());
            m.insert("uid".into(), json!(h.uid));
            m.insert("user".into(), json!(h.user));
            m.insert("target".into(), h.target.into());
            m.insert(
                "supervisor".into(),
                supervisor_json(h.container.as_ref(), h.unit.as_ref()),
            );
            Value::Object(m)
        })
        .collect();
    json!({
        "free": a.free,
        "taken": a.taken(),
        "holders": holders,
        "unowned": a.unowned,
    })
}

/// The top level, in this order (`schema` first, as in the listing's document).
#[derive(Serialize)]
struct Doc<'a> {
    schema: u32,
    selection: Value,
    signals: Value,
    dry_run: bool,
    processes: Vec<Value>,
    unowned: Vec<Value>,
    after: Option<Value>,
    exit_status: u8,
    warnings: Vec<WarnJ<'a>>,
}

/// The whole document: `{"schema": 1, "selection", "signals", "dry_run", "processes",
/// "unowned", "after", "exit_status", "warnings"}`. `outcome` is `None` for a dry run or
/// when nothing matched.
pub fn write_json(
    plan: &Plan,
    dry_run: bool,
    outcome: Option<&Outcome>,
    exit_status: u8,
    warnings: &[Warning],
    out: &mut dyn Write,
) -> io::Result<()> {
    let selection = match &plan.selection {
        Selection::Port { port, protos } => json!({
            "port": port,
            "protos": protos.iter().map(|p| p.name()).collect::<Vec<_>>(),
            "filter": Value::Null,
        }),
        Selection::Filter { text } => {
            json!({"port": Value::Null, "protos": Value::Null, "filter": text})
        }
    };
    let processes: Vec<Value> = plan
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| target_json(plan, t, outcome.and_then(|o| o.processes.get(i))))
        .collect();
    let unowned: Vec<Value> = plan
        .unowned
        .iter()
        .filter_map(|&i| plan.rows.get(i))
        .map(|r| json!({"socket": socket_json(r), "reason": unowned_reason(plan, r)}))
        .collect();
    let doc = Doc {
        schema: SCHEMA,
        selection,
        signals: json!({
            "first": signal_json(&plan.signals.first),
            "then": plan.signals.then.as_ref().map(signal_json),
            "timeout_ms": u64::try_from(plan.signals.timeout.as_millis()).unwrap_or(u64::MAX),
        }),
        dry_run,
        processes,
        unowned,
        after: outcome.map(|o| after_json(&o.after)),
        exit_status,
        warnings: warnings_json(warnings),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests;
