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
/// Rows formatted per turn (split across the threads) before their text is written: small
/// enough that the text buffers, reused from turn to turn, stay in the cache and need no
/// fresh pages (a `-tin` line is about 400 bytes).
const BLOCK: usize = 4_096;

/// Threads to format a table of `rows` rows on.
fn threads_for(rows: usize) -> usize {
    if rows < PARALLEL_ROWS {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Run `fill` over `rows` split into one chunk per state in `states` (one per thread,
/// kept by the caller between calls so their memory is reused): `states[i]` gets the i-th
/// chunk, in row order. States without a chunk (fewer rows than threads) are left alone.
fn par_fill<S: Send>(rows: &[Row], states: &mut [S], fill: impl Fn(&[Row], &mut S) + Sync) {
    if let [state] = states {
        return fill(rows, state);
    }
    let chunk = rows.len().div_ceil(states.len().max(1)).max(1);
    let parts: Vec<&[Row]> = rows.chunks(chunk).collect();
    let failed: Vec<usize> = std::thread::scope(|s| {
        let fill = &fill;
        let handles: Vec<_> = states
            .iter_mut()
            .zip(&parts)
            .map(|(state, &part)| s.spawn(move || fill(part, state)))
            .collect();
        handles
            .into_iter()
            .enumerate()
            .filter_map(|(i, h)| h.join().is_err().then_some(i))
            .collect()
    });
    // A formatting thread cannot fail short of a bug; if one panicked, do its part here.
    for i in failed {
        fill(parts[i], &mut states[i]);
    }
}

fn write_streamed(rows: &[Row], opts: &TableOpts, out: &mut dyn Write) -> io::Result<()> {
    let cols = &opts.columns;
    let threads = threads_for(rows.len());
    let header: Vec<usize> = cols
        .iter()
        .map(|c| if opts.header { c.header().len() } else { 0 })
        .collect();
    // The cells are formatted twice, here for their widths and below for output: keeping
    // them instead would hold 10 MB more for a 100k-row listing with processes.
    let mut per_thread = vec![header.clone(); threads];
    par_fill(rows, &mut per_thread, |part, widths| {
        let mut buf = String::with_capacity(128);
        for row in part {
            for (w, &c) in widths.iter_mut().zip(cols) {
                buf.clear();
                cell(&mut buf, row, c);
                *w = (*w).max(display_width(&buf));
            }
        }
    });
    let widths = per_thread.into_iter().fold(header.clone(), |a, b| {
        a.iter().zip(&b).map(|(x, y)| *x.max(y)).collect()
    });
    let mut line = String::with_capacity(256);
    if opts.header {
        let names = |text: &mut String, i: usize| text.push_str(cols[i].header());
        push_line(&mut line, names, None, opts, &widths);
        out.write_all(line.as_bytes())?;
    }
    let mut bufs = vec![String::new(); threads];
    for block in rows.chunks(BLOCK) {
        // A short last block may leave a buffer without a chunk: it must say nothing.
        bufs.iter_mut().for_each(String::clear);
        par_fill(block, &mut bufs, |part, text| {
            for (i, row) in part.iter().enumerate() {
                if let Some(x) = part.get(i + 6).and_then(|r| r.sock.extras.as_deref()) {
                    prefetch(x);
                }
                let cells = |text: &mut String, c: usize| cell(text, row, cols[c]);
                push_line(text, cells, Some(row), opts, &widths);
            }
        });
        for t in &bufs {
            out.write_all(t.as_bytes())?;
        }
    }
    Ok(())
}

/// Append one line of the streamed table to `text`: each cell (`cell` appends the i-th)
/// padded to `widths`, without padding after the last non-empty cell, then the row's
/// details.
fn push_line(
    text: &mut String,
    cell: impl Fn(&mut String, usize),
    row: Option<&Row>,
    opts: &TableOpts,
    widths: &[usize],
) {
    let mut end = text.len();
    let mut pad = 0;
    for (i, width) in widths.iter().enumerate() {
        push_spaces(text, pad);
        let start = text.len();
        cell(text, i);
        let w = display_width(text.get(start..).unwrap_or_default());
        if text.len() > start {
            end = text.len();
        }
        pad = width.saturating_sub(w) + 1;
    }
    text.truncate(end);
    if let Some(row) = row.filter(|_| opts.show.any()) {
        // Each detail word comes with its separating space.
        detail::text(text, row, &opts.show);
    }
    text.push('\n');
}

fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = (x as *const T).cast::<i8>();
        let n = std::mem::size_of::<T>();
        let mut off = 0;
        while off < n {
            // SAFETY: a prefetch is a hint: it reads nothing into the program and never
            // faults, whatever the address; SSE is part of every x86_64 target.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            off += 64;
        }
    }
}

fn push_spaces(text: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        text.push_str(&SPACES[..k]);
        n -= k;
    }
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
        // The same table, built the plain way: every cell padded with `format!`, each line
        // trimmed.
        let text = |r: &Row, c: Column| {
            let mut s = String::new();
            cell(&mut s, r, c);
            s
        };
        let w = |c: Column| {
            let cells = rows.iter().map(|r| text(r, c).len());
            cells.max().unwrap().max(c.header().len())
        };
        let (ws, wl) = (w(Column::State), w(Column::Local));
        let line = |a: &str, b: &str, c: &str| {
            format!("{a:<ws$} {b:<wl$} {c}").trim_end().to_string() + "\n"
        };
        let mut want = line("State", "Local Address:Port", "Peer Address:Port");
        for r in &rows {
            want += &line(
                &text(r, Column::State),
                &text(r, Column::Local),
                &text(r, Column::Peer),
            );
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
