//! The live view of `watch` (ratatui): a header with counts and the interval, the socket
//! table with each row's mark (new, closed, changed), and a footer with the keys, the filter
//! being typed and its error. Drawn from a finished `ViewModel`; the state and the keys live
//! in `cmd/watch/view.rs`. Cells come from `cells.rs`, so untrusted text is escaped there.

use super::cells::cell;
use super::table::{display_width, shrink};
use super::Column;
use crate::model::Row;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row as TRow, Table};
use ratatui::Frame;
use std::time::Duration;

/// What happened to a row lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    None,
    /// Opened in one of the last few reads.
    New,
    /// Closed in one of the last few reads: shown struck through until it goes.
    Closed,
    /// State or owners changed in one of the last few reads.
    Changed,
}

impl Mark {
    /// The marker column: readable without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::None => " ",
            Mark::New => "+",
            Mark::Closed => "-",
            Mark::Changed => "~",
        }
    }

    fn style(self, color: bool) -> Style {
        let s = Style::default();
        match (self, color) {
            (Mark::None, _) => s,
            (Mark::New, true) => s.fg(Color::Green).add_modifier(Modifier::BOLD),
            (Mark::Closed, true) => s.fg(Color::Red).add_modifier(Modifier::CROSSED_OUT),
            (Mark::Changed, true) => s.fg(Color::Yellow),
            (Mark::New, false) => s.add_modifier(Modifier::BOLD),
            (Mark::Closed, false) => s.add_modifier(Modifier::CROSSED_OUT | Modifier::DIM),
            (Mark::Changed, false) => s.add_modifier(Modifier::ITALIC),
        }
    }
}

/// Totals since the watch started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub opened: u64,
    pub closed: u64,
    pub changed: u64,
}

/// Everything one frame shows.
pub struct ViewModel<'a> {
    /// The command line, e.g. `portwatch watch -tanp`.
    pub title: &'a str,
    pub interval: Duration,
    pub paused: bool,
    /// Open sockets now (closed rows still on screen are not counted).
    pub open: usize,
    pub counts: Counts,
    /// `HH:MM:SS` of the last read.
    pub last_read: &'a str,
    pub filter: &'a str,
    pub sort: &'a str,
    pub columns: &'a [Column],
    /// The rows in display order, with their marks.
    pub rows: &'a [(Mark, &'a Row)],
    /// Index of the first row shown.
    pub scroll: usize,
    /// The filter being typed, when the user pressed `/`.
    pub edit: Option<&'a str>,
    /// Why the last typed filter was refused (the expression and a caret line).
    pub error: Option<&'a str>,
    /// The latest warning, one line.
    pub warning: Option<&'a str>,
    pub help: bool,
    pub color: bool,
}

/// Rows the table can show in a frame of `height` lines (for scrolling by pages).
pub fn table_height(height: u16, m: &ViewModel<'_>) -> usize {
    usize::from(height.saturating_sub(2 + footer_height(m) + 1))
}

pub fn draw(f: &mut Frame<'_>, m: &ViewModel<'_>) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(footer_height(m)),
    ])
    .areas(f.area());
    f.render_widget(Paragraph::new(header(m)), head);
    table(f, body, m);
    f.render_widget(Paragraph::new(footer(m)), foot);
    if m.help {
        help(f);
    }
}

fn header(m: &ViewModel<'_>) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let c = m.counts;
    let mut first = vec![
        Span::styled(m.title.to_string(), bold),
        Span::raw(format!(
            "  every {}  {} open  +{} opened  -{} closed  ~{} changed  last read {}",
            humantime::format_duration(m.interval),
            m.open,
            c.opened,
            c.closed,
            c.changed,
            m.last_read,
        )),
    ];
    if m.paused {
        first.push(Span::styled("  PAUSED", Mark::Closed.style(m.color)));
    }
    let filter = if m.filter.is_empty() {
        "(none)"
    } else {
        m.filter
    };
    vec![
        Line::from(first),
        Line::from(format!("filter: {}   sort: {}", esc(filter), m.sort)),
    ]
}

fn table(f: &mut Frame<'_>, area: Rect, m: &ViewModel<'_>) {
    let visible = m
        .rows
        .iter()
        .skip(m.scroll)
        .take(usize::from(area.height.saturating_sub(1)));
    let mut widths: Vec<usize> = m.columns.iter().map(|c| c.header().len()).collect();
    let mut texts: Vec<(Mark, Vec<String>)> = Vec::new();
    for (mark, row) in visible {
        let cells: Vec<String> = m
            .columns
            .iter()
            .enumerate()
            .map(|(i, &col)| {
                let mut s = String::new();
                cell(&mut s, row, col);
                widths[i] = widths[i].max(display_width(&s));
                s
            })
            .collect();
        texts.push((*mark, cells));
    }
    // As the listing fits a terminal: Process gives width first, then Service, then the
    // addresses; a cut cell ends in `…`. The marker column and the gaps come first.
    let room = usize::from(area.width).saturating_sub(2);
    let limits = shrink(m.columns, &widths, room);
    let fitted: Vec<usize> = widths
        .iter()
        .zip(&limits)
        .map(|(&w, l)| l.map_or(w, |l| l.min(w)))
        .collect();
    let body: Vec<TRow<'_>> = texts
        .into_iter()
        .map(|(mark, cells)| {
            let cells = std::iter::once(mark.symbol().to_string())
                .chain(cells.into_iter().zip(&fitted).map(|(s, &w)| cut(s, w)));
            TRow::new(cells).style(mark.style(m.color))
        })
        .collect();
    let constraints: Vec<Constraint> = std::iter::once(1)
        .chain(fitted.iter().copied())
        .map(|w| Constraint::Length(u16::try_from(w).unwrap_or(u16::MAX)))
        .collect();
    let head = TRow::new(std::iter::once("").chain(m.columns.iter().map(|c| c.header())))
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    f.render_widget(Table::new(body, constraints).header(head), area);
}

/// `s` cut to `width` columns, ending in `…` when it was longer.
fn cut(s: String, width: usize) -> String {
    if display_width(&s) <= width {
        return s;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

fn footer_height(m: &ViewModel<'_>) -> u16 {
    let error = m.error.map_or(0, |e| e.lines().count());
    let warning = u16::from(m.warning.is_some());
    1 + u16::try_from(error).unwrap_or(u16::MAX) + warning
}

fn footer(m: &ViewModel<'_>) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(w) = m.warning {
        lines.push(Line::from(format!("warning: {}", esc(w))));
    }
    if let Some(e) = m.error {
        let style = if m.color {
            Style::default().fg(Color::Red)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        lines.extend(e.lines().map(|l| Line::styled(esc(l), style)));
    }
    lines.push(match m.edit {
        Some(text) => Line::from(format!(
            "filter: {}_   (Enter apply, Esc cancel)",
            esc(text)
        )),
        None => Line::from("q quit  space pause  / filter  s sort  ↑↓ PgUp PgDn scroll  ? help"),
    });
    lines
}

fn help(f: &mut Frame<'_>) {
    let text = [
        "q, Ctrl-C   quit (the terminal is restored)",
        "space       pause / resume reading",
        "/           edit the filter (same language as the command line);",
        "            Enter applies it, Esc cancels; a bad one is shown",
        "            with a caret and the old one stays",
        "s           cycle the sort: as listed, local port, peer, state,",
        "            process, recent changes first",
        "↑ ↓ PgUp PgDn Home End   scroll",
        "?           this help",
        "",
        "+ opened   - closed (shown a few reads)   ~ state or owners changed",
    ];
    let area = f.area();
    let w = 72.min(area.width);
    let h = (u16::try_from(text.len()).unwrap_or(20) + 2).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    let block = Block::default().borders(Borders::ALL).title(" keys ");
    f.render_widget(
        Paragraph::new(text.map(Line::from).to_vec()).block(block),
        r,
    );
}

/// Escape text typed or echoed back (the filter, messages): it reaches the terminal too.
fn esc(s: &str) -> String {
    super::sanitize::escape_str(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, Family, Owner, Owners, Proto, SockType, Socket, State};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use std::net::{IpAddr, Ipv4Addr};

    fn listener(port: u16, comm: &[u8]) -> Row {
        let sock = Socket {
            local: Some(Endpoint::Inet {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port,
            }),
            inode: u64::from(port),
            ..Socket::new(Proto::Tcp, Family::Ipv4, SockType::Stream, State::LISTEN)
        };
        Row {
            owners: Some(Owners::from(vec![Owner::new(42, comm, 3, None)])),
            ..Row::new(sock)
        }
    }

    fn screen(m: &ViewModel<'_>) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(100, 14)).unwrap();
        t.draw(|f| draw(f, m)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    fn model<'a>(rows: &'a [(Mark, &'a Row)], cols: &'a [Column]) -> ViewModel<'a> {
        ViewModel {
            title: "portwatch watch -ltp",
            interval: Duration::from_secs(1),
            paused: false,
            open: 1,
            counts: Counts {
                opened: 1,
                closed: 1,
                changed: 0,
            },
            last_read: "09:00:00",
            filter: "",
            sort: "as listed",
            columns: cols,
            rows,
            scroll: 0,
            edit: None,
            error: None,
            warning: None,
            help: false,
            color: true,
        }
    }

    #[test]
    fn marks_counts_and_escaped_names() {
        let (a, b) = (listener(8080, b"web"), listener(9090, b"evil\x1b[2J\xff"));
        let rows = [(Mark::New, &a), (Mark::Closed, &b)];
        let cols = [Column::State, Column::Local, Column::Process];
        let s = screen(&model(&rows, &cols));
        assert!(
            s[0].contains("every 1s  1 open  +1 opened  -1 closed"),
            "{s:#?}"
        );
        assert!(s[1].starts_with("filter: (none)"), "{s:#?}");
        let new = s.iter().find(|l| l.contains("127.0.0.1:8080")).unwrap();
        assert!(
            new.starts_with('+') && new.contains("web(pid=42,fd=3)"),
            "{new}"
        );
        let closed = s.iter().find(|l| l.contains("127.0.0.1:9090")).unwrap();
        assert!(closed.starts_with('-'), "{closed}");
        assert!(closed.contains("evil\\e[2J\\xff(pid=42"), "{closed}");
        assert!(s.last().unwrap().starts_with("q quit"), "{s:#?}");
    }

    #[test]
    fn the_filter_being_typed_and_its_error() {
        let a = listener(8080, b"web");
        let rows = [(Mark::None, &a)];
        let cols = [Column::Local];
        let m = ViewModel {
            edit: Some("sport = :"),
            error: Some("  sport = :\n           ^ expected a port after ':'"),
            ..model(&rows, &cols)
        };
        let s = screen(&m);
        let n = s.len();
        assert_eq!(s[n - 3], "  sport = :");
        assert_eq!(s[n - 2], "           ^ expected a port after ':'");
        assert!(s[n - 1].starts_with("filter: sport = :_"), "{s:#?}");
        let help = screen(&ViewModel {
            help: true,
            ..model(&rows, &cols)
        });
        assert!(
            help.iter().any(|l| l.contains("space       pause")),
            "{help:#?}"
        );
    }
}
