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
/// the namespace and container names, unix-path-heavy address columns last), never the state
/// or numbers: an address cut in the middle would be a lie, a cut name is marked with `…`.
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
        (Column::Netns, 16),
        (Column::Container, 12),
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

/// Rows from which a pipe's table is formatted on several threads: below it, starting them
/// costs more than it saves. Above it (`-tin` on a big host), formatting is most of the
/// user time, and the rows are independent.
const PARALLEL_ROWS: usize = 16_384;
/// Rows formatted per turn (split across the threads): bounds the text held before it is
/// written.
const BLOCK: usize = 32_768;

/// `f` over `rows` split into one chunk per thread (all on this one for small inputs); the
/// results in row order.
fn par_chunks<T: Send>(rows: &[Row], f: impl Fn(&[Row]) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 || rows.len() < PARALLEL_ROWS {
        return vec![f(rows)];
    }
    let chunk = rows.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                s.spawn(move || f(part))
            })
            .collect();
        // A formatting thread cannot fail short of a bug; if one panicked, do its part here.
        handles
            .into_iter()
            .zip(rows.chunks(chunk))
            .map(|(h, part)| h.join().unwrap_or_else(|_| f(part)))
            .collect()
    })
}

fn write_streamed(rows: &[Row], opts: &TableOpts, out: &mut dyn Write) -> io::Result<()> {
    let cols = &opts.columns;
    let header: Vec<usize> = cols
        .iter()
        .map(|c| if opts.header { c.header().len() } else { 0 })
        .collect();
    let widths = par_chunks(rows, |part| {
        let mut widths = header.clone();
        let mut buf = String::with_capacity(128);
        for row in part {
            for (i, &c) in cols.iter().enumerate() {
                buf.clear();
                cell(&mut buf, row, c);
                widths[i] = widths[i].max(display_width(&buf));
            }
        }
        widths
    })
    .into_iter()
    .fold(header.clone(), |a, b| {
        a.iter().zip(&b).map(|(x, y)| *x.max(y)).collect()
    });
    let last = cols.len().saturating_sub(1);
    let mut line = String::with_capacity(256);
    if opts.header {
        for (i, c) in cols.iter().enumerate() {
            pad_into(&mut line, c.header(), widths[i], i == last);
        }
        finish_line(&mut line, out)?;
    }
    for block in rows.chunks(BLOCK) {
        let texts = par_chunks(block, |part| {
            let mut text = String::with_capacity(part.len() * 128);
            let (mut line, mut buf) = (String::with_capacity(256), String::with_capacity(128));
            for row in part {
                row_line(&mut line, &mut buf, row, opts, &widths);
                text.push_str(line.trim_end_matches(' '));
                text.push('\n');
                line.clear();
            }
            text
        });
        for t in texts {
            out.write_all(t.as_bytes())?;
        }
    }
    Ok(())
}

/// One socket's line of the streamed table, details at its end, into `line` (`buf` is
/// scratch space).
fn row_line(line: &mut String, buf: &mut String, row: &Row, opts: &TableOpts, widths: &[usize]) {
    let cols = &opts.columns;
    let last = cols.len().saturating_sub(1);
    for (i, &c) in cols.iter().enumerate() {
        buf.clear();
        cell(buf, row, c);
        pad_into(line, buf, widths[i], i == last);
    }
    if opts.show.any() {
        buf.clear();
        detail::text(buf, row, &opts.show);
        if !buf.is_empty() {
            let end = line.trim_end_matches(' ').len();
            line.truncate(end);
            line.push(' ');
            line.push_str(buf);
        }
    }
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
    fn details_go_under_each_row_on_a_terminal_wrapped() {
        use crate::model::{testing, Extras, SkMem, State, Timer, TimerKind};
        let mut s = testing::tcp(State::ESTABLISHED, "127.0.0.1:5000", "127.0.0.1:80");
        s.cookie = std::num::NonZeroU64::new(0xabc);
        s.extras = Some(Box::new(Extras {
            skmem: Some(SkMem::default()),
            timer: Some(Timer {
                kind: TimerKind::On,
                expires_ms: 200,
                retrans: 1,
            }),
            ..Extras::default()
        }));
        let rows = vec![Row::new(s.clone()), Row::new(s)];
        let show = Show {
            timers: true,
            extended: true,
            memory: true,
            ..Show::default()
        };
        let opts = TableOpts {
            columns: vec![Column::State, Column::Local, Column::Peer],
            header: true,
            fit_width: Some(36),
            show,
        };
        let mut out = Vec::new();
        write(&rows, &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("State"), "{text}");
        assert!(lines[1].starts_with("ESTAB"), "{text}");
        // 36 columns less a tab: the details wrap into 28-column lines (a longer word stands
        // alone on its line).
        let cont: Vec<&str> = lines[2..]
            .iter()
            .take_while(|l| l.starts_with('\t'))
            .copied()
            .collect();
        assert!(cont.len() >= 2, "{text}");
        assert!(
            cont.iter()
                .all(|l| l.len() - 1 <= 28 || !l[1..].contains(' ')),
            "{text}"
        );
        assert_eq!(
            cont.iter().map(|l| &l[1..]).collect::<Vec<_>>().join(" "),
            "timer:(on,200ms,1) sk:abc skmem:(r0,rb0,t0,tb0,f0,w0,o0) !retransmitting(1)"
        );
        assert!(
            lines[2 + cont.len()].starts_with("ESTAB"),
            "second row: {text}"
        );
    }

    #[test]
    fn threaded_pipe_table_is_the_sequential_one() {
        use crate::model::{testing, State};
        let rows: Vec<Row> = (0..PARALLEL_ROWS as u32 * 2 + 7)
            .map(|i| {
                let local = format!("10.{}.{}.1:{}", i % 200, i % 7, i % 60000 + 1);
                Row::new(testing::tcp(State::ESTABLISHED, &local, "127.0.0.1:80"))
            })
            .collect();
        let opts = TableOpts {
            columns: vec![Column::State, Column::Local, Column::Peer],
            header: true,
            fit_width: None,
            show: Show::default(),
        };
        let mut got = Vec::new();
        write(&rows, &opts, &mut got).unwrap();
        // The same table, one row at a time on this thread.
        let w = |c: Column| {
            let cells = rows.iter().map(|r| {
                let mut s = String::new();
                cell(&mut s, r, c);
                s.len()
            });
            cells.max().unwrap().max(c.header().len())
        };
        let widths = [w(Column::State), w(Column::Local), 0];
        let mut want = String::new();
        let (mut line, mut buf) = (String::new(), String::new());
        for (i, c) in opts.columns.iter().enumerate() {
            pad_into(&mut line, c.header(), widths[i], i == 2);
        }
        want.push_str(line.trim_end_matches(' '));
        want.push('\n');
        for r in &rows {
            line.clear();
            row_line(&mut line, &mut buf, r, &opts, &widths);
            want.push_str(line.trim_end_matches(' '));
            want.push('\n');
        }
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }

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
