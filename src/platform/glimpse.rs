//! What a repeated read of the TCP table (`watch`) uses instead of a whole dump each time:
//! a glimpse of every socket (a BPF TCP iterator, `linux::owners::bpf::glimpse`), and the
//! full records of only the ones the caller finds new or changed (sock_diag's exact
//! lookups, `linux::netlink::Fetcher`); and, once followed, the TCP state changes in
//! between (a BPF program on a tracepoint, `linux::owners::bpf::feed`). Linux with BPF only;
//! elsewhere, or without the privilege, `System::glimpser` says why and the caller reads in
//! full.

use super::System;
use crate::error::{Error, Result};
use crate::model::{Detail, Glimpse, Socket, StateChange};

/// A loaded glimpse program and a netlink socket for the fetches.
pub struct Glimpser {
    #[cfg(target_os = "linux")]
    bpf: super::linux::owners::bpf::glimpse::TcpGlimpse,
    #[cfg(target_os = "linux")]
    fetcher: super::linux::netlink::Fetcher,
    /// The state feed, once `follow` started it.
    #[cfg(target_os = "linux")]
    feed: Option<super::linux::owners::bpf::feed::TcpFeed>,
}

impl std::fmt::Debug for Glimpser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Glimpser")
    }
}

impl System {
    /// A glimpser of this host's network namespace, or why there is none (for
    /// PORTWATCH_DEBUG: the caller reads in full instead, which is never wrong).
    pub fn glimpser(&self) -> std::result::Result<Glimpser, String> {
        let opts = self.options();
        if opts.fixture {
            return Err("a fixture tree has no kernel to glimpse".into());
        }
        if !matches!(opts.backend, super::Backend::Auto | super::Backend::Netlink) {
            return Err("the backend is not netlink".into());
        }
        #[cfg(target_os = "linux")]
        {
            let bpf = super::linux::owners::bpf::glimpse::TcpGlimpse::load()
                .map_err(|e| e.to_string())?;
            let fetcher = super::linux::netlink::Fetcher::new().map_err(|e| e.to_string())?;
            Ok(Glimpser {
                bpf,
                fetcher,
                feed: None,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err("glimpses need Linux".into())
        }
    }
}

impl Glimpser {
    /// A glimpse of every TCP socket, replacing `out`'s contents.
    pub fn glimpse(&mut self, out: &mut Vec<Glimpse>) -> Result<()> {
        out.clear();
        #[cfg(target_os = "linux")]
        {
            self.bpf
                .read(out)
                .map_err(|e| Error::System(format!("the TCP glimpse failed: {e}")))
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(Error::System("glimpses need Linux".into()))
        }
    }

    /// The full records (with the extras `detail` names) of the glimpsed sockets still
    /// there; those gone since are left out.
    pub fn fetch(&mut self, which: &[Glimpse], detail: Detail) -> Result<Vec<Socket>> {
        let mut out = Vec::with_capacity(which.len());
        #[cfg(target_os = "linux")]
        {
            self.fetcher
                .fetch_tcp(which, detail, &mut out)
                .map_err(|e| Error::System(format!("reading sockets by identity: {e}")))?;
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (which, detail);
        }
        Ok(out)
    }

    /// Start following TCP state changes of this network namespace (a BPF program on the
    /// kernel's `inet_sock_set_state` tracepoint writing to a ring buffer); once started,
    /// again is a no-op. Fails, saying why, where the kernel cannot (then glimpse).
    pub fn follow(&mut self) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            if self.feed.is_none() {
                let feed = super::linux::owners::bpf::feed::TcpFeed::start()
                    .map_err(|e| Error::System(format!("the TCP state feed: {e}")))?;
                self.feed = Some(feed);
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(Error::System("the state feed needs Linux".into()))
        }
    }

    /// The state changes since the last call (since `follow` for the first), in the order
    /// the kernel made them, appended to `out`; and how many were lost since the last call
    /// (the ring was full): when not 0, what `out` holds is incomplete.
    pub fn changes(&mut self, out: &mut Vec<StateChange>) -> Result<u64> {
        #[cfg(target_os = "linux")]
        {
            let feed = self
                .feed
                .as_mut()
                .ok_or_else(|| Error::System("the state feed is not followed".into()))?;
            feed.read(out)
                .map_err(|e| Error::System(format!("reading the TCP state feed: {e}")))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = out;
            Err(Error::System("the state feed is not followed".into()))
        }
    }
}
