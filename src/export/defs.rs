//! The metrics `serve` and `export` expose, as data: each family's name, type and help (the
//! exporter's contract with dashboards and alerts), and the samples the builder fills in.

use std::sync::Arc;

/// Every metric name starts with this and `_`.
pub const PREFIX: &str = "portwatch";

/// The Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// Exposed with `_total` appended.
    Counter,
    /// A gauge of 1 whose labels are the information; exposed with `_info` appended.
    Info,
}

/// A metric family's name, type and help, whatever its samples.
#[derive(Debug, PartialEq, Eq)]
pub struct Def {
    /// Without the prefix and the suffix the type adds.
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

impl Def {
    /// The name samples are exposed under: `portwatch_listener_info`.
    pub fn full_name(&self) -> String {
        let suffix = match self.kind {
            Kind::Gauge => "",
            Kind::Counter => "_total",
            Kind::Info => "_info",
        };
        format!("{PREFIX}_{}{suffix}", self.name)
    }
}

pub const LISTENER: Def = Def {
    name: "listener",
    kind: Kind::Info,
    help: "A listening TCP socket or bound UDP socket: one series per address and name of a \
           process holding it (process is empty when no holder could be seen).",
};
pub const QUEUE: Def = Def {
    name: "listener_queue_length",
    kind: Kind::Gauge,
    help: "Connections waiting in a TCP listener's accept queue (ss Recv-Q), summed over the \
           sockets sharing the address (SO_REUSEPORT).",
};
pub const BACKLOG: Def = Def {
    name: "listener_backlog",
    kind: Kind::Gauge,
    help: "The accept queue limit of a TCP listener (ss Send-Q: the listen() backlog), summed \
           over the sockets sharing the address.",
};
pub const CONNECTIONS: Def = Def {
    name: "connections",
    kind: Kind::Gauge,
    help: "Connected TCP and UDP sockets by state, the service of the server side (other: a \
           port no registry layer names) and direction (inbound: this host is the server).",
};
pub const SOCKETS: Def = Def {
    name: "sockets",
    kind: Kind::Gauge,
    help: "Sockets read, by protocol and state.",
};
pub const OWNERS_HIDDEN: Def = Def {
    name: "owners_hidden_sockets",
    kind: Kind::Gauge,
    help: "Sockets whose holding process could not be seen (not permitted, or hidden by a \
           hidepid /proc mount): run as root to see them.",
};
pub const DURATION: Def = Def {
    name: "scrape_duration_seconds",
    kind: Kind::Gauge,
    help: "How long the last collection of sockets and their owners took.",
};
pub const ERROR: Def = Def {
    name: "scrape_error",
    kind: Kind::Gauge,
    help: "1 when the last collection could not read a socket table or the process list \
           (what it could read is still exported), else 0.",
};
pub const BUILD: Def = Def {
    name: "build",
    kind: Kind::Info,
    help: "The portwatch version exporting these metrics.",
};
pub const COLLECTIONS: Def = Def {
    name: "collections",
    kind: Kind::Counter,
    help: "Collections since serve started; scrapes within --min-interval of one reuse it.",
};

/// Every family, in the order they are exposed (`COLLECTIONS` by `serve` only).
pub const DEFS: &[&Def] = &[
    &LISTENER,
    &QUEUE,
    &BACKLOG,
    &CONNECTIONS,
    &SOCKETS,
    &OWNERS_HIDDEN,
    &DURATION,
    &ERROR,
    &BUILD,
    &COLLECTIONS,
];

/// A sample's value: counts stay integers on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
}

/// A label value. Shared: a host's thousands of listeners name a handful of users,
/// addresses, ports and processes, and each distinct value is allocated once.
pub type Label = Arc<str>;

/// One series of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, Label)>,
    pub value: Value,
}

/// A metric family with its samples, ready for the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub def: &'static Def,
    pub samples: Vec<Sample>,
}

impl Family {
    /// The sample whose labels include every `(name, value)` of `want` (for tests and
    /// callers that look one series up).
    pub fn find(&self, want: &[(&str, &str)]) -> Option<&Sample> {
        self.samples.iter().find(|s| {
            want.iter()
                .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && &**lv == *v))
        })
    }
}
