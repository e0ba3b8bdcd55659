//! The OS side of `kill`, in order: pidfds opened and checked before the question; after it,
//! each target re-checked and signalled through its pidfd, exits awaited on the pidfds, and
//! the port watched until it is free or taken. Every decision is `plan`'s.

use super::plan;
use crate::error::{Error, Result};
use crate::model::kill::{After, Fate, Outcome, Plan, ProcessFacts, ProcessOutcome, Signal, Skip};
use crate::model::Row;
use crate::platform::process::{self, Handle, Inspector, SignalError};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How often the port is read again while waiting for it to be free.
const POLL: Duration = Duration::from_millis(50);
/// How long the port must stay free before it is called free (or the timeout, if shorter): a
/// supervisor restarts a service within about this (systemd's RestartSec is 100 ms).
const SETTLE: Duration = Duration::from_secs(1);

/// The pidfds of the holders and what was read through them, before the question.
#[derive(Debug, Default)]
pub struct Armed {
    handles: HashMap<u32, Handle>,
    known: HashMap<u32, (ProcessFacts, Option<Skip>)>,
}

impl Armed {
    /// The facts read about `pid`, and why it will not be signalled (if so).
    pub fn known(&mut self, pid: u32) -> (ProcessFacts, Option<Skip>) {
        self.known.remove(&pid).unwrap_or_default()
    }
}

/// Open a pidfd for each holder, then read its facts and check, through the pidfd, that it
/// is the process the owner scan saw: still alive after its fds were read again and found to
/// hold one of the same sockets. A signal 0 says whether the kernel would let us signal it.
/// With `open` false (a fixture tree: no live processes behind the pids) nothing is opened.
pub fn arm(rows: &[Row], inspector: &mut Inspector, own_pid: u32, open: bool) -> Result<Armed> {
    let mut armed = Armed::default();
    for (pid, held) in plan::holders(rows) {
        let handle = if open {
            match process::open(pid) {
                Ok(h) => Some(h),
                Err(SignalError::Gone | SignalError::NotPermitted) => None,
                Err(SignalError::Other(e)) => {
                    return Err(Error::System(format!(
                        "kill: cannot open a pidfd for pid {pid}: {e}"
                    )))
                }
            }
        } else {
            None
        };
        let facts = inspector.facts(pid);
        let mut skip = plan::skip_for(pid, own_pid, facts.kernel_thread);
        if skip.is_none() && open {
            skip = match &handle {
                None => Some(Skip::Gone),
                Some(h) => {
                    let wanted = held.inodes(rows);
                    let holds = inspector
                        .socket_fds(pid)
                        .is_some_and(|fds| fds.iter().any(|(inode, _)| wanted.contains(inode)));
                    // Checked last: alive now means the reads above were of this process.
                    if !holds || facts.start_time.is_none() || h.exited() {
                        Some(Skip::Gone)
                    } else {
                        match h.send(None) {
                            Err(SignalError::NotPermitted) => Some(Skip::NotPermitted),
                            Err(SignalError::Gone) => Some(Skip::Gone),
                            Ok(()) | Err(SignalError::Other(_)) => None,
                        }
                    }
                }
            };
        }
        if let (Some(h), None) = (handle, skip) {
            armed.handles.insert(pid, h);
        }
        armed.known.insert(pid, (facts, skip));
    }
    Ok(armed)
}

/// What `execute` reads and reports through.
pub struct Env<'a> {
    pub inspector: &'a mut Inspector,
    /// The matched sockets now, with every holder (the plan's request, run again).
    pub relist: &'a mut dyn FnMut() -> Result<Vec<Row>>,
    pub user_name: &'a dyn Fn(u32) -> Option<String>,
    /// Told each time a signal went out: the signal, how many processes, the wait after it.
    pub sent: &'a mut dyn FnMut(&Signal, usize, Duration) -> Result<()>,
}

/// Signal the plan's targets and see what became of them and of the port.
pub fn execute(plan: &Plan, armed: &Armed, env: &mut Env<'_>) -> Result<Outcome> {
    let timeout = plan.signals.timeout;
    let first = &plan.signals.first;
    // Who holds a matching socket now: the answer to the question may have come much later.
    let holding: HashSet<u32> = plan::holders(&(env.relist)()?).into_keys().collect();
    let mut outcomes = Vec::with_capacity(plan.targets.len());
    let mut live: Vec<(usize, &Handle)> = Vec::new();
    for t in &plan.targets {
        let mut out = ProcessOutcome {
            pid: t.pid,
            sent: Vec::new(),
            fate: Fate::Gone,
        };
        match (t.skip, armed.handles.get(&t.pid)) {
            (Some(Skip::Gone), _) | (None, None) => {}
            (Some(skip), _) => out.fate = Fate::NotSignalled(skip),
            (None, Some(h)) => {
                let start_now = env.inspector.start_time(t.pid);
                let check = plan::verify(t, !h.exited(), start_now, holding.contains(&t.pid));
                out.fate = match check.and_then(|()| h.send(Some(first)).map_err(fate_of)) {
                    Ok(()) => {
                        out.sent.push(first.clone());
                        live.push((outcomes.len(), h));
                        Fate::Survived
                    }
                    Err(f) => f,
                };
            }
        }
        outcomes.push(out);
    }
    if live.is_empty() {
        let rows = (env.relist)()?;
        let after = after_of(plan, &rows, env);
        return Ok(Outcome {
            processes: outcomes,
            after,
        });
    }

    (env.sent)(first, live.len(), timeout)?;
    let mut alive = wait_all(&live, timeout);
    if let Some(then) = &plan.signals.then {
        let mut sent = 0;
        for (i, h) in &alive {
            match h.send(Some(then)) {
                Ok(()) => {
                    outcomes[*i].sent.push(then.clone());
                    sent += 1;
                }
                // It exited since the wait ended.
                Err(SignalError::Gone) => {}
                Err(e) => outcomes[*i].fate = fate_of(e),
            }
        }
        if sent > 0 {
            (env.sent)(then, sent, timeout)?;
            alive = wait_all(&alive, timeout);
        }
    }
    let survivors: HashSet<usize> = alive.iter().map(|(i, _)| *i).collect();
    for (i, _) in &live {
        if !survivors.contains(i) && outcomes[*i].fate == Fate::Survived {
            outcomes[*i].fate = Fate::Exited;
        }
    }
    let waiting_for: HashSet<u32> = alive.iter().map(|(i, _)| outcomes[*i].pid).collect();
    let after = watch(plan, &waiting_for, env)?;
    Ok(Outcome {
        processes: outcomes,
        after,
    })
}

fn fate_of(e: SignalError) -> Fate {
    match e {
        SignalError::Gone => Fate::Gone,
        SignalError::NotPermitted => Fate::NotSignalled(Skip::NotPermitted),
        SignalError::Other(m) => Fate::Failed(m),
    }
}

/// Wait until every process exited or `timeout` passed; the ones still running.
fn wait_all<'h>(procs: &[(usize, &'h Handle)], timeout: Duration) -> Vec<(usize, &'h Handle)> {
    let deadline = Instant::now() + timeout;
    let mut alive: Vec<(usize, &Handle)> = procs.to_vec();
    while !alive.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let handles: Vec<&Handle> = alive.iter().map(|(_, h)| *h).collect();
        let exited = process::wait_any(&handles, left);
        let mut it = exited.into_iter();
        alive.retain(|_| !it.next().unwrap_or(false));
        if left.is_zero() {
            break;
        }
    }
    alive
}

/// Read the port again until it has been free for a moment (a supervisor restarts a service
/// within about a second), someone else took it, or the timeout passed.
fn watch(plan: &Plan, waiting_for: &HashSet<u32>, env: &mut Env<'_>) -> Result<After> {
    let timeout = plan.signals.timeout;
    let settle = SETTLE.min(timeout);
    let deadline = Instant::now() + timeout;
    let mut free_since: Option<Instant> = None;
    loop {
        let rows = (env.relist)()?;
        let after = after_of(plan, &rows, env);
        let now = Instant::now();
        let done = if after.free {
            let since = *free_since.get_or_insert(now);
            now.duration_since(since) >= settle
        } else {
            free_since = None;
            plan::settled(&after, waiting_for)
        };
        if done || now >= deadline {
            return Ok(after);
        }
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(now)));
    }
}

/// `plan::after`, with the container and unit of holders that were not targets (the hint
/// for a supervisor that restarted the service). A holder with a target's pid but another
/// start time is a new process that reused the pid, not the target.
fn after_of(plan: &Plan, rows: &[Row], env: &mut Env<'_>) -> After {
    let targets: HashSet<u32> = plan.targets.iter().map(|t| t.pid).collect();
    let mut after = plan::after(rows, &targets, env.user_name);
    for h in after.holders.iter_mut().filter(|h| h.target) {
        let start = plan
            .targets
            .iter()
            .find(|t| t.pid == h.pid)
            .and_then(|t| t.facts.start_time);
        h.target = start.is_some() && env.inspector.start_time(h.pid) == start;
    }
    for h in after.holders.iter_mut().filter(|h| !h.target) {
        let f = env.inspector.facts(h.pid);
        h.container = f.container;
        h.unit = f.unit;
    }
    after
}
