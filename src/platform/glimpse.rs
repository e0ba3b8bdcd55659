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
    /// The feed's ring size.
    #[cfg(target_os = "linux")]
    ring_bytes: u32,
}

#[cfg(target_os = "linux")]
pub use super::linux::owners::bpf::feed::RING_MAX_BYTES as FEED_RING_MAX;
/// The state feed's first ring size (`Glimpser::follow`); it grows when changes are lost,
/// up to `FEED_RING_MAX`.
#[cfg(target_os = "linux")]
use super::linux::owners::bpf::feed::RING_START_BYTES as FEED_RING_START;
#[cfg(not(target_os = "linux"))]
const FEED_RING_START: u32 = 1 << 20;
#[cfg(not(target_os = "linux"))]
pub const FEED_RING_MAX: u32 = 8 << 20;

#[cfg(target_os = "linux")]
fn start_feed(ring_bytes: u32) -> Result<super::linux::owners::bpf::feed::TcpFeed> {
    super::linux::owners::bpf::feed::TcpFeed::start(ring_bytes)
        .map_err(|e| Error::System(format!("the TCP state feed: {e}")))
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
                ring_bytes: FEED_RING_START,
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
    /// kernel's `inet_sock_set_state` tracepoint writing to a ring buffer of
    /// `FEED_RING_START` bytes); once started, again is a no-op. Fails, saying why, where
    /// the kernel cannot (then glimpse).
    pub fn follow(&mut self) -> Result<()> {
        self.follow_with(FEED_RING_START)
    }

    /// `follow` with a first ring of `ring_bytes` (a power of two, whole pages: the kernel
    /// refuses others, and this fails saying so).
    pub fn follow_with(&mut self, ring_bytes: u32) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            if self.feed.is_none() {
                self.feed = Some(start_feed(ring_bytes)?);
                self.ring_bytes = ring_bytes;
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = ring_bytes;
            Err(Error::System("the state feed needs Linux".into()))
        }
    }

    /// After changes were lost: follow on with a ring four times the size (the old feed's
    /// records are to be taken first: they are gone with it). `Ok(None)` when the ring is
    /// as large as it grows, or nothing is followed; an error keeps the old feed.
    pub fn grow_feed(&mut self) -> Result<Option<u32>> {
        #[cfg(target_os = "linux")]
        {
            use super::linux::owners::bpf::feed::grown;
            let (Some(_), Some(bytes)) = (&self.feed, grown(self.ring_bytes)) else {
                return Ok(None);
            };
            // The new feed is attached before the old one goes: a change in between is in
            // one of them, and the caller's next glimpse covers what went with the old.
            self.feed = Some(start_feed(bytes)?);
            self.ring_bytes = bytes;
            Ok(Some(bytes))
        }
        #[cfg(not(target_os = "linux"))]
        {
            Ok(None)
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
