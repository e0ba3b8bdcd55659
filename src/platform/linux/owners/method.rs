//! Which owner scan runs (`--owners`): the BPF iterator or the /proc readlink scan. Both give
//! the same owners; they differ in cost and in what they need.
//!
//! - `bpf` (asked for by name): the program is loaded when the source is made, so a host
//!   that cannot run it is an error before anything is read; every scan uses it.
//! - `proc`: the /proc scan, always.
//! - auto: BPF when it is expected to be the faster one (`bpf::expected_faster`: a small
//!   host is read faster by /proc than BPF loads) and it loads; else /proc, silently. Why
//!   /proc was used is kept in the map's `method_note` for PORTWATCH_DEBUG, as is which
//!   BPF program read (a big host's is another than a small one's: `bpf::Program`).

use super::bpf::{self, OwnerIter, Unavailable};
use crate::model::{OwnerMap, OwnerMethod, Wanted, Warning};
use std::sync::Mutex;

/// The owner scan method of one source, with the BPF program once loaded.
#[derive(Debug)]
pub struct Method {
    /// `None`: auto.
    choice: Option<OwnerMethod>,
    /// The loaded program (or why it would not load), after the first BPF attempt.
    iter: Mutex<Option<Result<OwnerIter, String>>>,
}

impl Method {
    /// The method `choice` asks for (`None`: auto). `Some(Bpf)` loads the program now and
    /// says why it cannot be.
    pub fn new(choice: Option<OwnerMethod>) -> Result<Method, Unavailable> {
        let iter = match choice {
            Some(OwnerMethod::Bpf) => Some(Ok(OwnerIter::load()?)),
            _ => None,
        };
        Ok(Method {
            choice,
            iter: Mutex::new(iter),
        })
    }

    /// The owners of the wanted sockets, by the chosen method; `proc` is the /proc scan.
    pub fn scan(&self, wanted: Wanted<'_>, proc: impl FnOnce(Wanted<'_>) -> OwnerMap) -> OwnerMap {
        if let Wanted::Some { inodes } | Wanted::Family { inodes, .. } = &wanted {
            if inodes.is_empty() {
                // Nothing to look for: /proc answers that without reading, BPF would load.
                return proc(wanted);
            }
        }
        let why_not = match self.choice {
            Some(OwnerMethod::Proc) => return proc(wanted),
            Some(OwnerMethod::Bpf) => match self.bpf_scan(wanted.clone()) {
                Ok(map) => return map,
                Err(why) => {
                    // Asked for by name and loaded, yet the read failed: say so to everyone.
                    let mut map = proc(wanted);
                    map.warnings.push(Warning::new(
                        "owners-bpf-failed",
                        format!("the BPF owner scan failed ({why}); owners were read from /proc"),
                    ));
                    map.method_note = Some(why);
                    return map;
                }
            },
            None if !bpf::expected_faster() => format!(
                "fewer than {} open files on the host: /proc is read faster than BPF loads",
                bpf::pays_from()
            ),
            None => match self.bpf_scan(wanted.clone()) {
                Ok(map) => return map,
                Err(why) => why,
            },
        };
        let mut map = proc(wanted);
        map.method_note = Some(why_not);
        map
    }

    /// Load the BPF program now if a scan would use it (auto, on a host where BPF is
    /// expected to be faster), so that the scan after the dump does not wait for the BTF
    /// pass and the verifier. A failure is kept for the scan to fall back on, silently.
    pub fn prepare(&self) {
        if self.choice.is_some() || !bpf::expected_faster() {
            return;
        }
        let mut slot = self.iter.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| OwnerIter::load().map_err(|e| unavailable(&e)));
    }

    /// A BPF scan with the program loaded once per source; `Err` says why there is none.
    fn bpf_scan(&self, wanted: Wanted<'_>) -> Result<OwnerMap, String> {
        let mut slot = self.iter.lock().unwrap_or_else(|e| e.into_inner());
        let iter = slot.get_or_insert_with(|| OwnerIter::load().map_err(|e| unavailable(&e)));
        let iter = iter.as_mut().map_err(|why| why.clone())?;
        let scan = iter.scan(wanted).map_err(|e| unavailable(&e))?;
        let mut map = scan.owners;
        map.method_note = Some(match (scan.shortcut, scan.reread) {
            (true, _) => "the one-port program (the listeners' own files)".to_string(),
            (false, 0) => iter.program().describe().to_string(),
            (false, n) => format!(
                "{}, and the per-file program for {n} {} with more sockets than one read holds",
                iter.program().describe(),
                if n == 1 { "process" } else { "processes" }
            ),
        });
        Ok(map)
    }
}

fn unavailable(e: &Unavailable) -> String {
    format!("BPF owner scan unavailable: {e}")
}
