//! The default command: read sockets, join owners/users/services, filter, render.

use crate::config::{Format, ListConfig};
use crate::error::Result;
use crate::join::{self, Row};
use crate::model::{Snapshot, Warning};
use crate::platform::{self, Wanted};
use crate::render::{csv, json, table};
use std::collections::HashSet;
use std::io::Write;

/// The rows a listing shows, and what could not be seen.
pub struct Listing {
    pub rows: Vec<Row>,
    pub warnings: Vec<Warning>,
}

/// Read, join and filter: everything but rendering (also used by `explain`).
pub fn collect(cfg: &ListConfig) -> Result<Listing> {
    let Snapshot {
        mut sockets,
        mut warnings,
    } = platform::read_sockets(&cfg.source, &cfg.query)?;
    // Backends may return more than asked (a kernel without the state filter, netstat2).
    sockets.retain(|s| {
        (cfg.query.states.contains(s.state) || s.state.0 == 0) && join::keep_family(s, cfg.family)
    });
    join::attach_unix_peers(&mut sockets);
    let mut rows: Vec<Row> = sockets.into_iter().map(Row::new).collect();

    let need_owners = cfg.show_owners;
    if need_owners {
        let inodes: HashSet<u64> = rows
            .iter()
            .map(|r| r.sock.inode)
            .filter(|&i| i != 0)
            .collect();
        let uids: HashSet<u32> = rows.iter().filter_map(|r| r.sock.uid).collect();
        let mut map = platform::scan_owners(
            &cfg.source,
            Wanted::Some {
                inodes: &inodes,
                uids: &uids,
            },
        );
        join::attach_owners(&mut rows, &mut map);
        warnings.append(&mut map.warnings);
        warnings.extend(join::owner_visibility_warning(&rows, &map));
    }
    if cfg.extended || matches!(cfg.format, Format::Json | Format::Csv) {
        join::attach_users(&mut rows, platform::user_name);
    }
    join::attach_ifaces(&mut rows, platform::iface_name);
    join::sort_rows(&mut rows);
    Ok(Listing { rows, warnings })
}

pub fn run(cfg: &ListConfig, out: &mut dyn Write) -> Result<()> {
    let listing = collect(cfg)?;
    match &cfg.format {
        Format::Json => json::write(&listing.rows, &listing.warnings, out)?,
        Format::Csv => {
            csv::write(&listing.rows, cfg.header, out)?;
            super::print_warnings(&listing.warnings);
        }
        Format::Table { fit_width } => {
            let opts = table::TableOpts {
                columns: cfg.columns(),
                header: cfg.header,
                fit_width: *fit_width,
            };
            table::write(&listing.rows, &opts, out)?;
            super::print_warnings(&listing.warnings);
        }
    }
    Ok(())
}
