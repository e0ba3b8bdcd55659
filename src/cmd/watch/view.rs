//! The live view's state: the rows on screen with their marks, the sort, pause, scrolling,
//! the filter being typed, help. Pure: events and keys in, a `ViewModel` out; drawing is
//! `render::watch_view`, the terminal is `terminal.rs`.

use super::session::{Flow, Input, Stamped};
use crate::join::listing_order;
use crate::model::Row;
use crate::render::watch_view::{Counts, Mark, ViewModel};
use crate::render::Column;
use crate::timeline::{key, Change, Key, Reading};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

/// For how many reads a mark stays, and a closed row stays on screen.
const KEEP: u64 = 3;

/// The sorts `s` cycles through.
const SORTS: [&str; 6] = [
    "as listed",
    "local port",
    "peer",
    "state",
    "process",
    "recent first",
];

struct Shown {
    row: Row,
    key: Key,
    mark: Mark,
    /// The read that set the mark.
    since: u64,
}

/// What the view shows and how.
pub(super) struct View {
    shown: Vec<Shown>,
    reads: u64,
    sort: usize,
    paused: bool,
    help: bool,
    scroll: usize,
    /// Rows per page (from the terminal's height).
    pub page: usize,
    /// The filter in use, and the one being typed.
    filter: String,
    edit: Option<String>,
    error: Option<String>,
    warning: Option<String>,
    counts: Counts,
    last_read: String,
    pub title: String,
    pub interval: Duration,
    pub columns: Vec<Column>,
    pub color: bool,
}

impl View {
    pub fn new(title: String, filter: String, interval: Duration, columns: Vec<Column>) -> View {
        View {
            shown: Vec::new(),
            reads: 0,
            sort: 0,
            paused: false,
            help: false,
            scroll: 0,
            page: 20,
            filter,
            edit: None,
            error: None,
            warning: None,
            counts: Counts::default(),
            last_read: "-".into(),
            title,
            interval,
            columns,
            color: true,
        }
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// A read: the new rows, marked by this read's events and the last few reads' marks;
    /// closed rows stay (struck) for a few reads. `first` starts over without marks.
    pub fn apply(&mut self, events: &[Stamped], now: &Reading, first: bool, at: &str) {
        self.reads += 1;
        self.last_read = at.to_string();
        let fresh = |since: u64| self.reads - since < KEEP;
        let mut marks: HashMap<Key, (Mark, u64)> = HashMap::new();
        let mut closed: Vec<Shown> = Vec::new();
        if !first {
            for s in self.shown.drain(..) {
                match s.mark {
                    Mark::Closed if fresh(s.since) => closed.push(s),
                    Mark::New | Mark::Changed if fresh(s.since) => {
                        marks.insert(s.key, (s.mark, s.since));
                    }
                    _ => {}
                }
            }
        }
        for e in events {
            let ev = &e.event;
            let mark = match ev.change {
                Change::Opened => Mark::New,
                Change::Changed => Mark::Changed,
                Change::Closed => Mark::Closed,
            };
            match ev.change {
                Change::Opened => self.counts.opened += 1,
                Change::Closed => self.counts.closed += 1,
                Change::Changed => self.counts.changed += 1,
            }
            if ev.change == Change::Closed {
                closed.push(Shown {
                    key: key(&ev.row.sock),
                    row: ev.row.clone(),
                    mark,
                    since: self.reads,
                });
            } else {
                marks.insert(key(&ev.row.sock), (mark, self.reads));
            }
        }
        // A closed row whose socket is back (a short-lived one reported opened and closed)
        // is shown once, closed.
        let gone: std::collections::HashSet<Key> = closed.iter().map(|c| c.key.clone()).collect();
        self.shown = now
            .keyed()
            .filter(|(k, _)| !gone.contains(*k))
            .map(|(k, row)| {
                let (mark, since) = marks.get(k).copied().unwrap_or((Mark::None, 0));
                Shown {
                    row: row.clone(),
                    key: k.clone(),
                    mark,
                    since,
                }
            })
            .chain(closed)
            .collect();
        self.sort_rows();
        self.clamp_scroll();
    }

    pub fn warning(&mut self, message: &str) {
        self.warning = Some(message.to_string());
    }

    /// The loop's answer to a filter typed here: in use, or refused (the old one stays).
    pub fn filter_result(&mut self, result: Result<String, String>) {
        match result {
            Ok(text) => {
                self.filter = text;
                self.edit = None;
                self.error = None;
            }
            // Keep what was typed, to be fixed; the message's first line is the program's
            // "bad filter" prefix, the rest the expression and its caret.
            Err(msg) => {
                let body = msg
                    .strip_prefix("portwatch: ")
                    .and_then(|m| m.split_once('\n'))
                    .map_or(msg.as_str(), |(_, rest)| rest);
                self.error = Some(body.to_string());
            }
        }
    }

    pub fn on_input(&mut self, input: Input) -> Flow {
        match input {
            Event::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            _ => Flow::Continue,
        }
    }

    fn on_key(&mut self, k: KeyEvent) -> Flow {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && k.code == KeyCode::Char('c') {
            return Flow::Quit;
        }
        if let Some(text) = self.edit.as_mut() {
            match k.code {
                KeyCode::Enter => return Flow::Filter(text.clone()),
                KeyCode::Esc => {
                    self.edit = None;
                    self.error = None;
                }
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) if !ctrl => text.push(c),
                _ => {}
            }
            return Flow::Continue;
        }
        if self.help && k.code != KeyCode::Char('q') {
            self.help = false;
            return Flow::Continue;
        }
        let page = self.page.max(1);
        match k.code {
            KeyCode::Char('q') => return Flow::Quit,
            KeyCode::Char(' ') => self.paused = !self.paused,
            KeyCode::Char('/') => self.edit = Some(self.filter.clone()),
            KeyCode::Char('s') => {
                self.sort = (self.sort + 1) % SORTS.len();
                self.sort_rows();
            }
            KeyCode::Char('?') => self.help = true,
            KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Down => self.scroll += 1,
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::PageDown => self.scroll += page,
            KeyCode::Home => self.scroll = 0,
            KeyCode::End => self.scroll = usize::MAX,
            _ => {}
        }
        self.clamp_scroll();
        Flow::Continue
    }

    fn clamp_scroll(&mut self) {
        self.scroll = self
            .scroll
            .min(self.shown.len().saturating_sub(self.page.max(1)));
    }

    fn sort_rows(&mut self) {
        let listed = |a: &Shown, b: &Shown| listing_order(&a.row.sock, &b.row.sock);
        let port = |s: &Shown| s.row.sock.local.as_ref().and_then(|e| e.port());
        let comm = |s: &Shown| {
            let first = s.row.owners.as_ref().and_then(|o| o.first().cloned());
            first.map(|o| (o.comm().clone(), o.pid))
        };
        let order: &dyn Fn(&Shown, &Shown) -> Ordering = match self.sort {
            1 => &|a, b| port(a).cmp(&port(b)).then_with(|| listed(a, b)),
            2 => &|a, b| {
                a.row
                    .sock
                    .remote
                    .cmp(&b.row.sock.remote)
                    .then_with(|| listed(a, b))
            },
            3 => &|a, b| {
                let name = |s: &Shown| s.row.sock.state.name();
                name(a).cmp(name(b)).then_with(|| listed(a, b))
            },
            4 => &|a, b| comm(a).cmp(&comm(b)).then_with(|| listed(a, b)),
            5 => &|a, b| {
                let recent = |s: &Shown| (s.mark == Mark::None, u64::MAX - s.since);
                recent(a).cmp(&recent(b)).then_with(|| listed(a, b))
            },
            _ => &listed,
        };
        self.shown.sort_by(order);
    }

    /// The rows in display order with their marks, for `model`.
    pub fn rows(&self) -> Vec<(Mark, &Row)> {
        self.shown.iter().map(|s| (s.mark, &s.row)).collect()
    }

    /// Everything a frame shows; `rows` from `rows()`.
    pub fn model<'a>(&'a self, rows: &'a [(Mark, &'a Row)]) -> ViewModel<'a> {
        ViewModel {
            title: &self.title,
            interval: self.interval,
            paused: self.paused,
            open: self.shown.iter().filter(|s| s.mark != Mark::Closed).count(),
            counts: self.counts,
            last_read: &self.last_read,
            filter: &self.filter,
            sort: SORTS[self.sort % SORTS.len()],
            columns: &self.columns,
            rows,
            scroll: self.scroll,
            edit: self.edit.as_deref(),
            error: self.error.as_deref(),
            warning: self.warning.as_deref(),
            help: self.help,
            color: self.color,
        }
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
