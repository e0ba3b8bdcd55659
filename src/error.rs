//! Typed errors where callers branch; only main.rs turns them into text and exit codes.
//!
//! Exit statuses: 2 for bad input from the user (flags, filter, files they named), 1 for a
//! system that could not be read or would not let us act. Commands with their own contract
//! (kill's 3, diff's 1 for "differences") map their outcomes in main.rs, not here.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or arguments: exit status 2.
    #[error("{0}")]
    Usage(String),
    /// A filter expression that does not parse: exit status 2. `rendered` already holds the
    /// expression with a caret under the offending token.
    #[error("{rendered}")]
    Filter { rendered: String },
    /// A malformed user file (labels, services, allow list, baseline): exit status 2.
    #[error("{}:{line}: {msg}", path.display())]
    BadFile {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    /// A file the user named could not be read: exit status 2 (it is their input).
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The system could not be read at all (not a per-row problem): exit status 1.
    #[error("{0}")]
    System(String),
    /// Not permitted; `hint` says how to get the permission: exit status 1.
    #[error("{what}: permission denied; {hint}")]
    Permission { what: String, hint: String },
    /// What was asked for no longer exists (a process that exited, a namespace removed):
    /// exit status 1.
    #[error("{0}: no longer exists")]
    Gone(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The process exit status this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Filter { .. } | Error::BadFile { .. } | Error::File { .. } => {
                2
            }
            Error::System(_) | Error::Permission { .. } | Error::Gone(_) | Error::Io(_) => 1,
        }
    }

    /// Whether this is a write to a closed pipe (`portwatch | head -1`): not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
