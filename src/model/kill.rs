//! What `portwatch kill` plans and reports (issue #14): the processes holding the matched
//! sockets, why some are left alone, what became of each, and whether the port ended up free.
//! Data only: the decisions are in `crate::kill`, text and JSON in `render::kill`.

use super::{Container, Proto, Row, Text, Unit};
use std::time::Duration;

/// A signal as the platform numbers and names it (`SIGTERM`, `SIGRTMIN+2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub number: i32,
    pub name: String,
}

/// What the command line selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `kill PORT`: the listeners on a local port, for these protocols.
    Port { port: u16, protos: Vec<Proto> },
    /// `kill FILTER...`: what the listing with the same flags and filter shows.
    Filter { text: String },
}

/// What is sent: `first`, then `then` to the processes still running `timeout` later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signals {
    pub first: Signal,
    /// The escalation (SIGKILL by default; `None` with `--signal`).
    pub then: Option<Signal>,
    /// How long to wait for exits after each signal, and for the port to be free.
    pub timeout: Duration,
}

/// Facts about one process, read after its pidfd was opened (so they are that process's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessFacts {
    /// `/proc/PID/stat` field 22, clock ticks after boot: with the pid, it names one process
    /// for the life of the system. `None` when the process is gone.
    pub start_time: Option<u64>,
    /// Its arguments (`/proc/PID/cmdline`); `None` when unreadable, empty for a zombie or a
    /// kernel thread.
    pub cmdline: Option<Vec<Text>>,
    pub kernel_thread: bool,
    /// The container it runs in, when its cgroup names one.
    pub container: Option<Container>,
    /// The systemd unit it runs in, when its cgroup names one.
    pub unit: Option<Unit>,
}

/// Why a holder is not signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// pid 1, the init system: killing it takes the whole system (or container) down.
    Init,
    /// A kernel thread: not a program anyone started.
    KernelThread,
    /// portwatch itself.
    Itself,
    /// The kernel refuses (EPERM): another user's process, and portwatch is not root.
    NotPermitted,
    /// It exited (or its pid now names another process) before it could be signalled.
    Gone,
}

/// One process holding matched sockets.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub pid: u32,
    /// The kernel's command name (`/proc/PID/comm`).
    pub comm: Text,
    /// Real uid of the process.
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub facts: ProcessFacts,
    /// The matched sockets it holds: (index into `Plan::rows`, fd).
    pub sockets: Vec<(usize, u32)>,
    /// Why it will not be signalled; `None`: it will be.
    pub skip: Option<Skip>,
}

/// What `kill` will do, shown before it asks.
#[derive(Debug, Clone)]
pub struct Plan {
    pub selection: Selection,
    pub signals: Signals,
    /// The matched sockets.
    pub rows: Vec<Row>,
    /// Their holders, by pid.
    pub targets: Vec<Target>,
    /// Matched sockets (indices into `rows`) with no visible holder.
    pub unowned: Vec<usize>,
    /// Other users' processes could not be read: `unowned` sockets may have holders nobody
    /// showed us.
    pub owners_hidden: bool,
}

impl Plan {
    /// The targets that will be signalled.
    pub fn ready(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().filter(|t| t.skip.is_none())
    }
}

/// What became of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Exited after the signals in `ProcessOutcome::sent`.
    Exited,
    /// Exited before any signal was sent: nothing was sent to its pid.
    Gone,
    /// Still running, but no longer holds a matching socket: not signalled.
    Released,
    /// Still running after every signal sent.
    Survived,
    /// Not signalled, for this reason.
    NotSignalled(Skip),
    /// The signal could not be sent (the system's error).
    Failed(String),
}

/// One target's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOutcome {
    pub pid: u32,
    /// The signals delivered, in order.
    pub sent: Vec<Signal>,
    pub fate: Fate,
}

/// A process holding a matched socket after the signals: a survivor, or another process
/// that took the port (a supervisor restarted the service).
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub pid: u32,
    pub comm: Text,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// It was one of the plan's targets.
    pub target: bool,
    pub container: Option<Container>,
    pub unit: Option<Unit>,
}

/// The matched sockets once the signals are done.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct After {
    /// No matched socket is left (sockets no process holds, such as TIME-WAIT, not counted).
    pub free: bool,
    /// Who holds what is left, by pid.
    pub holders: Vec<Holder>,
    /// Matched sockets left with no visible holder.
    pub unowned: usize,
}

impl After {
    /// Some process that was not a target holds the port now.
    pub fn taken(&self) -> bool {
        self.holders.iter().any(|h| !h.target)
    }
}

/// What the signals did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// One per target, in the plan's order.
    pub processes: Vec<ProcessOutcome>,
    pub after: After,
}
