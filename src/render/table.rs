//! The socket table. On a terminal: tabled, fitted to the width. In a pipe: never truncated,
//! streamed in two passes (widths, then text) so 100k rows cost no per-cell allocations.

use super::cells::cell;
use super::Column;
use crate::join::Row;
use std::io::{self, Write};
use tabled::builder::Builder;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::{Padding, Style, Width};

/// How to lay out the table.
#[derive(Debug, Clone)]
pub struct TableOpts {
    pub columns: Vec<Column>,
    pub header: bool,
    /// Terminal width to fit into; `None` in a pipe (never truncate).
    pub fit_width: Option<usize>,
}

pub fn write(rows: &[Row], opts: &TableOpts, out: &mut dyn Write) -> io::Result<()> {
    match opts.fit_width {
        Some(w) => write_fitted(rows, opts, w, out),
        None => write_streamed(rows, opts, out),
    }
}

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
    if opts.header {
        b.push_record(opts.columns.iter().map(|c| c.header().to_string()));
    }
    for row in rows {
        b.push_record(opts.columns.iter().map(|&c| {
            let mut s = String::new();
            cell(&mut s, row, c);
            s
        }));
    }
    let mut t = b.build();
    t.with(Style::blank()).with(Padding::new(0, 1, 0, 0)).with(
        Width::truncate(width)
            .suffix("…")
            .priority(PriorityMax::right()),
    );
    writeln!(out, "{t}")
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
fn display_width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        tabled::grid::util::string::get_string_width(s)
    }
}
