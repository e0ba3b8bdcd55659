//! The signals that ask a server to stop: SIGTERM (systemd, kill) and SIGINT (Ctrl-C).

use std::io;

/// Installed handlers for the stop signals; from then on those signals no longer kill the
/// process but wake `stopped`.
pub struct Stop {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Stop {
    /// Install the handlers. Call inside a tokio runtime, before announcing readiness: a
    /// signal before this still has its default action.
    pub fn install() -> io::Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Stop {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Stop {})
        }
    }

    /// Wait for a stop signal; returns its name.
    pub async fn stopped(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
