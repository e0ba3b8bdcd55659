//! The decisions of `kill`, pure: who holds the matched sockets and who is left alone, what a
//! re-check just before the signal means, what is left of the port afterwards, and the exit
//! status.

use crate::model::kill::{
    After, Fate, Holder, Outcome, Plan, ProcessFacts, Selection, Signals, Skip, Target,
};
use crate::model::{Row, Text, Warning};
use std::collections::{BTreeMap, HashSet};

/// One holder of matched sockets, as the owner scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub comm: Text,
    pub uid: Option<u32>,
    /// (index into the rows, fd) of each matched socket it holds.
    pub sockets: Vec<(usize, u32)>,
}

impl Held {
    /// The inodes of the sockets it holds.
    pub fn inodes(&self, rows: &[Row]) -> HashSet<u64> {
        self.sockets
            .iter()
            .filter_map(|&(i, _)| rows.get(i))
            .map(|r| r.sock.inode)
            .collect()
    }
}

/// Every holder of the rows' sockets, by pid. Sockets with inode 0 (TIME-WAIT, request
/// sockets) belong to no process.
pub fn holders(rows: &[Row]) -> BTreeMap<u32, Held> {
    let mut by_pid: BTreeMap<u32, Held> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.sock.inode == 0 {
            continue;
        }
        for o in r.owners.as_deref().unwrap_or_default() {
            let h = by_pid.entry(o.pid).or_insert_with(|| Held {
                comm: o.comm().clone(),
                uid: o.uid(),
                sockets: Vec::new(),
            });
            h.sockets.push((i, o.fd));
        }
    }
    by_pid
}

/// Holders never signalled, whatever the user says.
pub fn skip_for(pid: u32, own_pid: u32, kernel_thread: bool) -> Option<Skip> {
    if pid == own_pid {
        Some(Skip::Itself)
    } else if pid == 1 {
        Some(Skip::Init)
    } else if kernel_thread {
        Some(Skip::KernelThread)
    } else {
        None
    }
}

/// The plan: each holder with its facts and whether it will be signalled (`known` gives the
/// facts read, and any reason found when its pidfd was opened), and the sockets nobody
/// visible holds.
pub fn build(
    selection: Selection,
    signals: Signals,
    rows: Vec<Row>,
    warnings: &[Warning],
    mut known: impl FnMut(u32) -> (ProcessFacts, Option<Skip>),
    user_name: impl Fn(u32) -> Option<String>,
) -> Plan {
    let targets = holders(&rows)
        .into_iter()
        .map(|(pid, h)| {
            let (facts, skip) = known(pid);
            Target {
                pid,
                comm: h.comm,
                uid: h.uid,
                user: h.uid.and_then(&user_name),
                facts,
                sockets: h.sockets,
                skip,
            }
        })
        .collect();
    let unowned = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.owners.as_deref().is_none_or(<[_]>::is_empty))
        .map(|(i, _)| i)
        .collect();
    Plan {
        selection,
        signals,
        rows,
        targets,
        unowned,
        owners_hidden: warnings.iter().any(|w| w.kind == "owners-hidden"),
    }
}

/// The re-check just before a target's signal: its pidfd says whether it is `alive`, its
/// start time now (`start_now`) whether the pid still names the process of the plan, and a
/// fresh listing whether it still `holds` a matching socket. `Err` is what became of it
/// instead of a signal.
pub fn verify(t: &Target, alive: bool, start_now: Option<u64>, holds: bool) -> Result<(), Fate> {
    if !alive || start_now.is_none() || start_now != t.facts.start_time {
        return Err(Fate::Gone);
    }
    if !holds {
        return Err(Fate::Released);
    }
    Ok(())
}

/// What a fresh listing says is left: who holds the matched sockets (and whether each was a
/// target) and how many have no visible holder. Sockets no process holds (inode 0) do not
/// count: they keep no port from being bound by a listener.
pub fn after(
    rows: &[Row],
    targets: &HashSet<u32>,
    user_name: impl Fn(u32) -> Option<String>,
) -> After {
    let held = holders(rows);
    let unowned = rows
        .iter()
        .filter(|r| r.sock.inode != 0 && r.owners.as_deref().is_none_or(<[_]>::is_empty))
        .count();
    After {
        free: held.is_empty() && unowned == 0,
        holders: held
            .into_iter()
            .map(|(pid, h)| Holder {
                pid,
                comm: h.comm,
                uid: h.uid,
                user: h.uid.and_then(&user_name),
                target: targets.contains(&pid),
                container: None,
                unit: None,
            })
            .collect(),
        unowned,
    }
}

/// Whether waiting longer can change `after`: not once every socket left is held only by
/// processes no longer waited for (another process took the port, or a holder that was not
/// signalled), with none of unknown holding.
pub fn settled(after: &After, waiting_for: &HashSet<u32>) -> bool {
    after.unowned == 0 && after.holders.iter().all(|h| !waiting_for.contains(&h.pid))
}

/// The exit status: 1 nothing matched; 3 a target survived, was not (or could not be)
/// signalled, or the port is still held; else 0. A target that exited by itself before its
/// signal counts as exited: the port is what was asked for.
pub fn exit_status(plan: &Plan, outcome: &Outcome) -> u8 {
    if plan.rows.is_empty() {
        return 1;
    }
    let failed = outcome.processes.iter().any(|p| {
        matches!(
            p.fate,
            Fate::Survived | Fate::Failed(_) | Fate::NotSignalled(_)
        )
    });
    if failed || !outcome.after.free {
        3
    } else {
        0
    }
}

#[cfg(test)]
mod tests;
