//! Typed errors where callers branch; only main.rs turns them into text and exit codes.

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
    /// A malformed user file (labels, services): exit status 2.
    #[error("{}:{line}: {msg}", path.display())]
    BadFile {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    /// The system could not be read at all (not a per-row problem): exit status 1.
    #[error("{0}")]
    Platform(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The process exit status this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Filter { .. } | Error::BadFile { .. } => 2,
            Error::Platform(_) | Error::Io(_) => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
