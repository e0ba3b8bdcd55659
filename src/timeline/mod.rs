//! Sockets over time, pure: a socket's identity across reads and the events between two
//! reads (`watch`); stable identities that survive restarts and the comparison of two
//! listings (`snapshot`, `diff`). Nothing here reads the system or the clock.

mod baseline;
mod compare;
mod events;
mod key;
#[cfg(test)]
mod testrows;

pub use baseline::{parse as parse_baseline, Baseline, KIND as SNAPSHOT_KIND};
pub use compare::{class, compare, summarize, Attrs, Delta, Difference, Ident, Options, What};
pub use events::{diff, differs, in_order, unseen, Change, Compare, Event};
pub use key::{key, Ends, Key, Reading};
