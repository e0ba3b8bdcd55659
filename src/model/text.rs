//! Untrusted text from the system (process names, unix paths): raw bytes, never assumed UTF-8.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Bytes chosen by someone else. Renderers decide how to escape them; the model keeps them
/// exactly as the kernel gave them. Shared on clone: one process's name is held by every
/// socket it owns (a server with 10k connections keeps one copy). A thin pointer (8 bytes,
/// not a 16-byte `Arc<[u8]>`): every socket holds two endpoints that may be unix names, so
/// this keeps `Endpoint` at 24 bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text(Arc<Box<[u8]>>);

impl Text {
    pub fn new(bytes: impl Into<Box<[u8]>>) -> Self {
        Text(Arc::new(bytes.into()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// UTF-8 view, with U+FFFD for invalid sequences (for matching; never for display).
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The text when it is valid UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_str_lossy())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new(s.as_bytes())
    }
}

impl From<&[u8]> for Text {
    fn from(s: &[u8]) -> Self {
        Text::new(s)
    }
}

impl From<Vec<u8>> for Text {
    fn from(s: Vec<u8>) -> Self {
        Text::new(s)
    }
}
