//! Joins a snapshot with owners, user names and the port registry into display rows. Pure.

use crate::model::{Owner, Socket};
use crate::registry::Annotation;

/// One socket with everything known about it: what filters match and renderers print.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub sock: Socket,
    /// Processes holding the socket; `None` when the owner scan did not run, empty when it ran
    /// and found none visible.
    pub owners: Option<Vec<Owner>>,
    /// Name of the socket's uid, when known.
    pub user: Option<String>,
    /// What the socket's service port is, when annotated.
    pub service: Option<Annotation>,
}
