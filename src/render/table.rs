//! The socket table. On a terminal: tabled, fitted to the width. In a pipe: never truncated,
//! streamed in two passes (widths, then text) so 100k rows cost no per-cell allocations.
//! Details (-i, -m, -o, -e: `detail.rs`) go on continuation lines under each socket on a
//! terminal, wrapped to its width, and at the end of the socket's line in a pipe, so that a
//! grep still finds a socket and its details together.

use super::cells::cell;
use super::detail::{self, Show};
use super::Column;
use crate::model::Row;
use std::io::{self, Write};
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Padding, Style, Width};

/// How to lay out the table.
#[derive(Debug, Clone)]
pub struct TableOpts {
    pub columns: Vec<Column>,
    pub header: bool,
    /// Terminal width to fit into; `None` in a pipe (never truncate).
    pub fit_width: Option<usize>,
    /// Details to print with each socket.
    pub show: Show,
}

/// Columns a tab takes on a terminal.
const TAB: usize = 8;

pub fn write(rows: &[Row], opts: &TableOpts, out: &mut dyn Write) -> io::Result<()> {
    match opts.fit_width {
        Some(w) => write_fitted(rows, opts, w, out),
        None => write_streamed(rows, opts, out),
    }
}

/// Fit to the terminal by truncating only the free-text columns (Process, then Service, then
/// unix-path-heavy address columns last), never the state or numbers: an address cut in the
/// middle would be a lie, a cut process list is marked with `…`.
fn write_fitted(
    rows: &[Row],
    opts: &TableOpts,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    if rows.is_empty() && !opts.header {
        return Ok(());
    }
    let mut b = Builder::with_capacity(rows.len() + 1, opts.columns.len());
    let mut widths: Vec<usize> = opts
        .columns
        .iter()
        .map(|c| if opts.header { c.header().len() } else { 0 })
        .collect();
    if opts.header {
        b.push_record(opts.columns.iter().map(|c| c.header().to_string()));
    }
    for row in rows {
        b.push_record(opts.columns.iter().enumerate().map(|(i, &c)| {
            let mut s = String::new();
            cell(&mut s, row, c);
            widths[i] = widths[i].max(display_width(&s));
            s
        }));
    }
    let limits = shrink(&opts.columns, &widths, width);
    let mut t = b.build();
    t.with(Style::blank()).with(Padding::zero());
    for (i, limit) in limits.into_iter().enumerate() {
        if let Some(w) = limit {
            t.modify(Columns::one(i), Width::truncate(w).suffix("…"));
        }
    }
    let skip = usize::from(opts.header);
    let mut details = String::new();
    for (i, line) in t.to_string().lines().enumerate() {
        writeln!(out, "{}", line.trim_end())?;
        // Cells hold no newlines (they are escaped), so line i is row i - header.
        let Some(row) = i.checked_sub(skip).and_then(|r| rows.get(r)) else {
            continue;
        };
        if opts.show.any() {
            details.clear();
            detail::text(&mut details, row, &opts.show);
            for part in detail::wrap(&details, width.saturating_sub(TAB).max(20)) {
                writeln!(out, "\t{part}")?;
            }
        }
    }
    Ok(())
}

/// Per-column width limits so the row fits `total` (one space between columns), taking
/// width from Process, then Service, then the address columns, each down to a minimum.
pub(super) fn shrink(cols: &[Column], widths: &[usize], total: usize) -> Vec<Option<usize>> {
    let mut limits: Vec<Option<usize>> = vec![None; cols.len()];
    let mut cur: Vec<usize> = widths.to_vec();
    let sum = |cur: &[usize]| cur.iter().sum::<usize>() + cur.len().saturating_sub(1);
    for (target, min) in [
        (Column::Process, 12),
        (Column::Service, 8),
        (Column::Peer, 20),
        (Column::Local, 20),
    ] {
        let over = sum(&cur).saturating_sub(total);
        if over == 0 {
            break;
        }
        if let Some(i) = cols.iter().position(|c| *c == target) {
            let new = cur[i].saturating_sub(over).max(min.min(cur[i]));
            if new < cur[i] {
                cur[i] = new;
                limits[i] = Some(new);
            }
        }
    }
    limits
}

fn write_streamed(rows: &[Row], opts: &TableOpts, out: &mut dyn Write) -> io::Result<()> {
    let cols = &opts.columns;
    let mut widths: Vec<usize> = cols
        .iter()
        .map(|c| if opts.header { c.header().len() } else { 0 })
        .collect();
    let mut buf = String::with_capacity(128);
    for row in rows {
        for (i, &c) in cols.iter().enumerate() {
            buf.clear();
            cell(&mut buf, row, c);
            widths[i] = widths[i].max(display_width(&buf));
        }
    }
    let last = cols.len().saturating_sub(1);
    let mut line = String::with_capacity(256);
    if opts.header {
        for (i, c) in cols.iter().enumerate() {
            pad_into(&mut line, c.header(), widths[i], i == last);
        }
        finish_line(&mut line, out)?;
    }
    for row in rows {
        for (i, &c) in cols.iter().enumerate() {
            buf.clear();
            cell(&mut buf, row, c);
            pad_into(&mut line, &buf, widths[i], i == last);
        }
        if opts.show.any() {
            buf.clear();
            detail::text(&mut buf, row, &opts.show);
            if !buf.is_empty() {
                let end = line.trim_end_matches(' ').len();
                line.truncate(end);
                line.push(' ');
                line.push_str(&buf);
            }
        }
        finish_line(&mut line, out)?;
    }
    Ok(())
}

fn pad_into(line: &mut String, text: &str, width: usize, last: bool) {
    line.push_str(text);
    if !last {
        let n = width.saturating_sub(display_width(text)) + 1;
        line.extend(std::iter::repeat_n(' ', n));
    }
}

fn finish_line(line: &mut String, out: &mut dyn Write) -> io::Result<()> {
    let trimmed = line.trim_end_matches(' ');
    out.write_all(trimmed.as_bytes())?;
    out.write_all(b"\n")?;
    line.clear();
    Ok(())
}

/// Terminal columns taken by already-escaped text (no control characters remain).
pub(super) fn display_width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        tabled::grid::util::string::get_string_width(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_takes_from_process_first() {
        let cols = [
            Column::State,
            Column::Local,
            Column::Peer,
            Column::Service,
            Column::Process,
        ];
        let w = [6, 20, 20, 10, 40];
        // 96 + 4 separators = 100 wide; fit into 80: Process loses 20.
        assert_eq!(
            shrink(&cols, &w, 80),
            vec![None, None, None, None, Some(20)]
        );
        // Into 60: Process down to its minimum 12, then Service to 8; addresses are at
        // their minimum already, so the row stays wider than asked rather than cut an address.
        assert_eq!(
            shrink(&cols, &w, 60),
            vec![None, None, None, Some(8), Some(12)]
        );
        assert_eq!(shrink(&cols, &w, 200), vec![None; 5]);
    }
}
