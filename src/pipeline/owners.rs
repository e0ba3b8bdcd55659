//! The owner step of the pipeline: which inodes to look for, how far to read, and what the
//! result says about sockets with no visible holder.

use super::Request;
use crate::join;
use crate::model::{InodeSet, OwnerMap, OwnerMethod, OwnerScan, Row, State, Wanted, Warning};
use crate::platform::ProcessSource;
use std::collections::HashSet;

/// Whether to read every process's owners while the socket tables are dumped. A listing of
/// every connection (no filter, not listeners only) wants the owners of nearly every socket
/// on the host, so an early stop rarely comes, while the dump (a quarter of `-antp` at 100k
/// sockets) would leave a core idle.
pub(super) fn scan_during_dump(req: &Request) -> bool {
    req.owners && req.filter.is_empty() && req.query.states.contains(State::ESTABLISHED)
}

/// What the owner scan says about itself.
pub(super) struct Scanned {
    pub scan: OwnerScan,
    pub method: OwnerMethod,
    /// Why /proc was read when auto could have used BPF (for PORTWATCH_DEBUG).
    pub note: Option<String>,
}

/// Attach owners to the rows, from `prefetched` (a read of every process) or a scan for the
/// rows' sockets now; says how far and how the scan read (`None`: no socket could have an
/// owner, so no process was read).
pub(super) fn attach(
    req: &Request,
    procs: &dyn ProcessSource,
    rows: &mut [Row],
    warnings: &mut Vec<Warning>,
    prefetched: Option<OwnerMap>,
) -> Option<Scanned> {
    let read = prefetched.is_some() || rows.iter().any(|r| r.sock.inode != 0);
    let mut map = match prefetched {
        Some(map) => map,
        None => scan_for(req, procs, rows),
    };
    join::attach_owners(rows, &map);
    warnings.append(&mut map.warnings);
    warnings.extend(join::owner_visibility_warning(rows, &map));
    read.then(|| Scanned {
        scan: if map.partial {
            OwnerScan::StoppedEarly
        } else {
            OwnerScan::AllProcesses
        },
        method: map.method,
        note: map.method_note.take(),
    })
}

/// The owner scan for the rows' sockets: stopping early unless `all_owners`.
fn scan_for(req: &Request, procs: &dyn ProcessSource, rows: &[Row]) -> OwnerMap {
    let inodes: InodeSet = rows
        .iter()
        .map(|r| r.sock.inode)
        .filter(|&i| i != 0)
        .collect();
    if req.all_owners {
        return procs.scan_owners(Wanted::Some { inodes: &inodes });
    }
    let uids: HashSet<u32> = rows.iter().filter_map(|r| r.sock.uid.get()).collect();
    procs.scan_owners(Wanted::Family {
        inodes: &inodes,
        uids: &uids,
    })
}
