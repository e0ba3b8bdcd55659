//! Sockets over time, pure: a socket's identity across reads and the events between two
//! reads (`watch`); stable identities that survive restarts and the comparison of two
//! listings (`snapshot`, `diff`). Nothing here reads the system or the clock.

mod events;
mod key;
#[cfg(test)]
mod testrows;

pub use events::{diff, differs, unseen, Change, Compare, Event};
pub use key::{key, Ends, Key, Reading};
